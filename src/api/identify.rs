//! Who is on the other end of a connection.
//!
//! The kernel gives the peer's uid (SO_PEERCRED); the uid names a Unix account; the people
//! list says who uses that account. One person: identified. Several (a shared technician
//! login): the client names the person and signs a fresh random challenge with that person's
//! SSH key, checked here against the key in the people list. None: refused.

use rand::RngCore;
use ssh_key::PublicKey;

use super::passwd;
use super::protocol::IDENTIFY_NAMESPACE;
use crate::config::Config;
use crate::register::SignatureError;

/// What the peer credentials alone say about a caller.
#[derive(Clone, Debug, PartialEq)]
pub enum Caller {
    /// The uid's account is nobody's in the people list.
    Unknown { uid: u32, account: Option<String> },
    /// Exactly one person uses the account.
    One { account: String, person: String },
    /// Several people share the account; a challenge decides.
    Shared {
        account: String,
        people: Vec<String>,
    },
}

/// Looks the uid up in the account database and the people list.
pub fn caller(config: &Config, uid: u32) -> Caller {
    let Some(account) = passwd::account_of_uid(uid) else {
        return Caller::Unknown { uid, account: None };
    };
    let mut people: Vec<String> = config
        .people_of_account(&account)
        .into_iter()
        .map(|p| p.id.clone())
        .collect();
    match people.len() {
        0 => Caller::Unknown {
            uid,
            account: Some(account),
        },
        1 => Caller::One {
            account,
            person: people.remove(0),
        },
        _ => Caller::Shared { account, people },
    }
}

/// A fresh challenge nonce (32 random bytes, hex).
pub fn new_nonce() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// First line of an identification challenge.
pub const CHALLENGE_HEADER: &str = "scelle identify v1";

/// The exact bytes a person signs to prove who they are on this connection: bound to the
/// site's key fingerprint (`site`), which the client pins on first use.
pub fn challenge_message(site: &str, person: &str, nonce: &str) -> Vec<u8> {
    format!("{CHALLENGE_HEADER}\nsite: {site}\nperson: {person}\nnonce: {nonce}\n").into_bytes()
}

/// Reads a challenge message of the documented form; `(site, person, nonce)`, or `None` for
/// anything else (the client then refuses to sign it).
pub fn parse_challenge(message: &[u8]) -> Option<(String, String, String)> {
    let text = std::str::from_utf8(message).ok()?;
    let rest = text.strip_prefix(CHALLENGE_HEADER)?.strip_prefix('\n')?;
    let mut lines = rest.split_inclusive('\n');
    let mut take = |key: &str| -> Option<String> {
        let l = lines.next()?.strip_suffix('\n')?;
        let v = l.strip_prefix(key)?.strip_prefix(": ")?;
        (!v.is_empty() && !v.chars().any(char::is_control)).then(|| v.to_owned())
    };
    let (site, person, nonce) = (take("site")?, take("person")?, take("nonce")?);
    if lines.next().is_some()
        || nonce.len() != 64
        || !nonce.bytes().all(|b| b.is_ascii_hexdigit())
        || !site.starts_with("SHA256:")
    {
        return None;
    }
    Some((site, person, nonce))
}

/// Checks a challenge answer.
pub fn verify_challenge(
    key: &PublicKey,
    site: &str,
    person: &str,
    nonce: &str,
    armored: &str,
) -> Result<(), SignatureError> {
    crate::register::signature::verify(
        key,
        IDENTIFY_NAMESPACE,
        &challenge_message(site, person, nonce),
        armored,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_documented_challenge_form_parses() {
        let nonce = "ab".repeat(32);
        let m = challenge_message("SHA256:xyz", "arthur", &nonce);
        assert_eq!(
            parse_challenge(&m),
            Some(("SHA256:xyz".into(), "arthur".into(), nonce.clone()))
        );
        // A register statement, an approval, extra lines, a short nonce: refused.
        for bad in [
            b"scelle-register v1\nkind: case-authorized\n".to_vec(),
            format!("scelle identify v1\nsite: SHA256:x\nperson: a\nnonce: {nonce}\nextra: 1\n")
                .into_bytes(),
            b"scelle identify v1\nsite: SHA256:x\nperson: a\nnonce: 12\n".to_vec(),
            format!("scelle identify v1\nperson: a\nnonce: {nonce}\n").into_bytes(),
        ] {
            assert_eq!(
                parse_challenge(&bad),
                None,
                "{}",
                String::from_utf8_lossy(&bad)
            );
        }
    }
}
