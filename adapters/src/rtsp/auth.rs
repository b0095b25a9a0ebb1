//! RTSP authentication (RFC 2617 as RTSP uses it): Basic and Digest (MD5, with or without
//! `qop=auth`). The password is only ever hashed or base64-encoded into the Authorization
//! header; it never reaches a log or an error.

use base64::Engine as _;
use md5::{Digest as _, Md5};

/// A camera account. `Debug` never shows the password.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub user: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// What a 401 asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Challenge {
    Basic,
    Digest {
        realm: String,
        nonce: String,
        opaque: Option<String>,
        qop_auth: bool,
    },
}

/// Parses `WWW-Authenticate`, preferring Digest when both are offered.
pub fn parse_challenge(header: &str) -> Option<Challenge> {
    let lower = header.to_ascii_lowercase();
    if let Some(at) = lower.find("digest ") {
        let params = parse_params(&header[at + 7..]);
        let get = |k: &str| {
            params
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(k))
                .map(|(_, v)| v.clone())
        };
        let algorithm = get("algorithm").unwrap_or_else(|| "MD5".into());
        if !algorithm.eq_ignore_ascii_case("md5") {
            return None;
        }
        return Some(Challenge::Digest {
            realm: get("realm").unwrap_or_default(),
            nonce: get("nonce")?,
            opaque: get("opaque"),
            qop_auth: get("qop")
                .is_some_and(|q| q.split(',').any(|x| x.trim().eq_ignore_ascii_case("auth"))),
        });
    }
    lower.contains("basic").then_some(Challenge::Basic)
}

/// `key=value` / `key="value"` pairs separated by commas.
fn parse_params(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = s.trim_start();
    while !rest.is_empty() {
        let Some(eq) = rest.find('=') else { break };
        let key = rest[..eq].trim().trim_start_matches(',').trim().to_string();
        rest = rest[eq + 1..].trim_start();
        let value;
        if let Some(r) = rest.strip_prefix('"') {
            let end = r.find('"').unwrap_or(r.len());
            value = r[..end].to_string();
            rest = r.get(end + 1..).unwrap_or("");
        } else {
            let end = rest.find(',').unwrap_or(rest.len());
            value = rest[..end].trim().to_string();
            rest = &rest[end..];
        }
        rest = rest.trim_start().trim_start_matches(',').trim_start();
        out.push((key, value));
        // A following scheme name (e.g. ", Basic realm=") has a space before its '='.
        if let Some(sp) = rest.find(' ')
            && rest.find('=').is_some_and(|eq| sp < eq)
        {
            break;
        }
    }
    out
}

fn md5_hex(s: &str) -> String {
    hex::encode(Md5::digest(s.as_bytes()))
}

/// The `Authorization` header value for one request. `nc` counts uses of the nonce.
pub fn authorization(
    challenge: &Challenge,
    creds: &Credentials,
    method: &str,
    uri: &str,
    nc: &mut u32,
) -> String {
    match challenge {
        Challenge::Basic => format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD
                .encode(format!("{}:{}", creds.user, creds.password))
        ),
        Challenge::Digest {
            realm,
            nonce,
            opaque,
            qop_auth,
        } => {
            let ha1 = md5_hex(&format!("{}:{realm}:{}", creds.user, creds.password));
            let ha2 = md5_hex(&format!("{method}:{uri}"));
            let mut h = format!(
                "Digest username=\"{}\", realm=\"{realm}\", nonce=\"{nonce}\", uri=\"{uri}\"",
                creds.user
            );
            if *qop_auth {
                *nc += 1;
                let cnonce = format!("{:016x}", rand::random::<u64>());
                let resp = md5_hex(&format!("{ha1}:{nonce}:{:08x}:{cnonce}:auth:{ha2}", *nc));
                h.push_str(&format!(
                    ", qop=auth, nc={:08x}, cnonce=\"{cnonce}\", response=\"{resp}\"",
                    *nc
                ));
            } else {
                let resp = md5_hex(&format!("{ha1}:{nonce}:{ha2}"));
                h.push_str(&format!(", response=\"{resp}\""));
            }
            if let Some(o) = opaque {
                h.push_str(&format!(", opaque=\"{o}\""));
            }
            h
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_rfc2617_example_without_qop() {
        let ch = parse_challenge(
            "Digest realm=\"testrealm@host.com\", nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"",
        )
        .unwrap();
        let creds = Credentials {
            user: "Mufasa".into(),
            password: "Circle Of Life".into(),
        };
        let mut nc = 0;
        let h = authorization(&ch, &creds, "GET", "/dir/index.html", &mut nc);
        // HA1/HA2 per RFC 2617 §3.5, response without qop.
        let ha1 = md5_hex("Mufasa:testrealm@host.com:Circle Of Life");
        let ha2 = md5_hex("GET:/dir/index.html");
        let want = md5_hex(&format!("{ha1}:dcd98b7102dd2f0e8b11d0f600bfb0c093:{ha2}"));
        assert!(h.contains(&format!("response=\"{want}\"")));
        assert!(h.contains("opaque=\"5ccc069c403ebaf9f0171e9517f40e41\""));
        assert!(!format!("{creds:?}").contains("Circle"));
    }

    #[test]
    fn prefers_digest_and_reads_qop() {
        let ch = parse_challenge(
            "Basic realm=\"x\", Digest realm=\"r\", nonce=\"n\", qop=\"auth,auth-int\"",
        );
        assert_eq!(
            ch,
            Some(Challenge::Digest {
                realm: "r".into(),
                nonce: "n".into(),
                opaque: None,
                qop_auth: true
            })
        );
        assert_eq!(
            parse_challenge("Basic realm=\"cam\""),
            Some(Challenge::Basic)
        );
    }
}
