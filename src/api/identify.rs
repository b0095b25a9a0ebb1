//! Who is on the other end of a connection.
//!
//! The kernel gives the peer's uid (SO_PEERCRED); the uid names a Unix account; the people
//! list says who uses that account. One person: identified. Several (a shared technician
//! login): the client names the person and signs a fresh random challenge with that person's
//! SSH key, checked here against the key in the people list. None: refused.

use rand::RngCore;
use ssh_key::{PublicKey, SshSig};

use super::passwd;
use super::protocol::IDENTIFY_NAMESPACE;
use crate::config::Config;

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

/// The exact bytes a person signs to prove who they are on this connection.
pub fn challenge_message(person: &str, nonce: &str) -> Vec<u8> {
    format!("scelle identify v1\nperson: {person}\nnonce: {nonce}\n").into_bytes()
}

/// Why a signature was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum SignatureError {
    #[error("the signature is not an armored SSH signature: {0}")]
    Format(String),
    #[error("the signature was not made with the key listed for this person")]
    WrongKey,
    #[error("the signature does not match the signed statement: {0}")]
    Mismatch(String),
}

/// Checks an armored SSHSIG over `message` under `namespace` against `key`.
pub fn verify_signature(
    key: &PublicKey,
    namespace: &str,
    message: &[u8],
    armored: &str,
) -> Result<(), SignatureError> {
    let sig =
        SshSig::from_pem(armored.trim()).map_err(|e| SignatureError::Format(e.to_string()))?;
    if sig.public_key() != key.key_data() {
        return Err(SignatureError::WrongKey);
    }
    key.verify(namespace, message, &sig)
        .map_err(|e| SignatureError::Mismatch(e.to_string()))
}

/// Checks a challenge answer.
pub fn verify_challenge(
    key: &PublicKey,
    person: &str,
    nonce: &str,
    armored: &str,
) -> Result<(), SignatureError> {
    verify_signature(
        key,
        IDENTIFY_NAMESPACE,
        &challenge_message(person, nonce),
        armored,
    )
}
