//! RTSP authentication: which scheme to answer a `401` with, and the `Authorization` header.
//! Digest (MD5 or SHA-256, [`crate::digest`], shared with the ONVIF client) whenever the server
//! offers it; Basic only when it is all the server offers, and then only over TLS or when the
//! camera's entry allows it with a reason (the password would otherwise cross the network in
//! clear, base64 being no protection). The password never reaches a log or an error.

use base64::Engine as _;
use zeroize::Zeroizing;

pub use crate::credentials::Credentials;
use crate::digest;

/// What a 401 asked for, as scelle will answer it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Challenge {
    Basic,
    Digest(digest::Challenge),
}

/// Parses `WWW-Authenticate` (one value, possibly holding several challenges): the strongest
/// Digest when one is offered, else Basic when offered.
pub fn parse_challenge(header: &str) -> Option<Challenge> {
    if let Some(d) = digest::best([header]) {
        return Some(Challenge::Digest(d));
    }
    digest::offers_basic([header]).then_some(Challenge::Basic)
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
        Challenge::Basic => {
            let pair = Zeroizing::new(format!("{}:{}", creds.user, creds.password()));
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(pair.as_bytes())
            )
        }
        Challenge::Digest(d) => {
            *nc += 1;
            d.authorization(creds, method, uri, *nc)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefers_digest_and_reads_basic_alone() {
        let ch = parse_challenge(
            "Basic realm=\"x\", Digest realm=\"r\", nonce=\"n\", qop=\"auth,auth-int\"",
        );
        match ch {
            Some(Challenge::Digest(d)) => assert!(d.qop_auth && d.nonce == "n"),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            parse_challenge("Basic realm=\"cam\""),
            Some(Challenge::Basic)
        );
        assert_eq!(parse_challenge("Negotiate abc"), None);
    }

    #[test]
    fn basic_header_and_no_password_in_debug() {
        let creds = Credentials::new("admin", "s3cret");
        let mut nc = 0;
        let h = authorization(&Challenge::Basic, &creds, "DESCRIBE", "rtsp://h/", &mut nc);
        assert_eq!(h, "Basic YWRtaW46czNjcmV0");
        assert!(!format!("{creds:?}").contains("s3cret"));
    }
}
