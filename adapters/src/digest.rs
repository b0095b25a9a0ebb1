//! HTTP Digest authentication (RFC 7616, compatible with RFC 2617), the one implementation used
//! by both the ONVIF SOAP client (HTTP) and the RTSP client (RTSP reuses HTTP's scheme): MD5 and
//! SHA-256, with `qop=auth` or without `qop`. `auth-int` and other algorithms are not offered by
//! cameras in practice and make a challenge unusable (`None`), so the caller reports refused
//! authentication instead of sending something the device cannot check.
//!
//! `WWW-Authenticate` may carry several challenges in one value (`Basic realm="x", Digest …`, as
//! RTSP servers' repeated headers end up once joined); [`challenges`] splits them, and [`best`]
//! picks the strongest Digest offered (SHA-256 over MD5). The password only ever enters a hash
//! input kept in [`Zeroizing`] memory; it never reaches a header, a log or an error.

use md5::Md5;
use rand::RngCore as _;
use sha2::{Digest as _, Sha256};
use zeroize::Zeroizing;

use crate::credentials::Credentials;

/// A parsed `WWW-Authenticate: Digest` challenge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Challenge {
    pub realm: String,
    pub nonce: String,
    pub opaque: Option<String>,
    pub algorithm: Algorithm,
    /// `true` when the server offers `qop=auth`.
    pub qop_auth: bool,
}

/// The hash a challenge asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Algorithm {
    Md5,
    Sha256,
}

impl Algorithm {
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Sha256 => "SHA-256",
        }
    }
}

/// Splits one header value into its challenges: `(scheme, parameters)`. A new challenge starts
/// at the beginning or after a comma outside quotes, with a word followed by a space rather
/// than by `=` (parameters are `key=value`).
pub fn challenges(header: &str) -> Vec<(&str, &str)> {
    let bytes = header.as_bytes();
    let mut starts = Vec::new();
    let mut in_quotes = false;
    let mut escaped = false;
    let mut at_boundary = true;
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if in_quotes {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_quotes = false,
                _ => {}
            }
            i += 1;
            continue;
        }
        if c == b'"' {
            in_quotes = true;
            at_boundary = false;
        } else if c == b',' {
            at_boundary = true;
        } else if at_boundary && !c.is_ascii_whitespace() {
            at_boundary = false;
            let word_end = header[i..]
                .find(|ch: char| ch.is_ascii_whitespace() || ch == '=' || ch == ',')
                .map_or(header.len(), |e| i + e);
            let rest = &header[word_end..];
            let is_scheme = word_end > i
                && match rest.chars().next() {
                    None | Some(',') => true,
                    Some(ch) if ch.is_ascii_whitespace() => !rest.trim_start().starts_with('='),
                    Some(_) => false,
                };
            if is_scheme {
                starts.push((i, word_end));
            }
            i = word_end.max(i + 1);
            continue;
        }
        i += 1;
    }
    let mut out = Vec::with_capacity(starts.len());
    for (n, &(s, e)) in starts.iter().enumerate() {
        let end = starts.get(n + 1).map_or(header.len(), |next| next.0);
        let params = header[e..end].trim().trim_end_matches(',').trim();
        out.push((&header[s..e], params));
    }
    out
}

/// Splits `k=v, k="v, w"` parameters (quoted strings with `\` escapes).
fn params(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = s.trim();
    while !rest.is_empty() {
        let Some(eq) = rest.find('=') else { break };
        let key = rest[..eq]
            .trim()
            .trim_start_matches(',')
            .trim()
            .to_ascii_lowercase();
        rest = rest[eq + 1..].trim_start();
        let value;
        if let Some(r) = rest.strip_prefix('"') {
            let mut v = String::new();
            let mut chars = r.char_indices();
            let mut end = r.len();
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, n)) = chars.next() {
                            v.push(n);
                        }
                    }
                    '"' => {
                        end = i + 1;
                        break;
                    }
                    c => v.push(c),
                }
            }
            value = v;
            rest = r.get(end..).unwrap_or("");
        } else {
            let end = rest.find(',').unwrap_or(rest.len());
            value = rest[..end].trim().to_string();
            rest = &rest[end..];
        }
        rest = rest.trim_start().trim_start_matches(',').trim_start();
        out.push((key, value));
    }
    out
}

/// The strongest usable Digest challenge among header values (SHA-256 before MD5; the first
/// offered among equals).
pub fn best<'a>(values: impl IntoIterator<Item = &'a str>) -> Option<Challenge> {
    let mut found: Option<Challenge> = None;
    for v in values {
        for (scheme, p) in challenges(v) {
            if !scheme.eq_ignore_ascii_case("digest") {
                continue;
            }
            if let Some(c) = Challenge::from_params(p)
                && found.as_ref().is_none_or(|f| c.algorithm > f.algorithm)
            {
                found = Some(c);
            }
        }
    }
    found
}

/// Whether any of the header values offers the `Basic` scheme.
pub fn offers_basic<'a>(values: impl IntoIterator<Item = &'a str>) -> bool {
    values.into_iter().any(|v| {
        challenges(v)
            .iter()
            .any(|(s, _)| s.eq_ignore_ascii_case("basic"))
    })
}

impl Challenge {
    /// Parses one header value; the strongest usable Digest challenge in it, if any.
    pub fn parse(header: &str) -> Option<Challenge> {
        best([header])
    }

    fn from_params(p: &str) -> Option<Challenge> {
        let p = params(p);
        let get = |k: &str| p.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let algorithm = match get("algorithm").as_deref().map(str::to_ascii_uppercase) {
            None => Algorithm::Md5,
            Some(a) if a == "MD5" => Algorithm::Md5,
            Some(a) if a == "SHA-256" => Algorithm::Sha256,
            Some(_) => return None,
        };
        let qop = get("qop");
        if let Some(q) = &qop
            && !q.split(',').any(|q| q.trim().eq_ignore_ascii_case("auth"))
        {
            return None;
        }
        Some(Challenge {
            realm: get("realm").unwrap_or_default(),
            nonce: get("nonce")?,
            opaque: get("opaque"),
            algorithm,
            qop_auth: qop.is_some(),
        })
    }

    fn hash(&self, s: &[u8]) -> String {
        match self.algorithm {
            Algorithm::Md5 => hex::encode(Md5::digest(s)),
            Algorithm::Sha256 => hex::encode(Sha256::digest(s)),
        }
    }

    /// The `Authorization` header value for one request. `nc` counts uses of this nonce.
    pub fn authorization(&self, creds: &Credentials, method: &str, uri: &str, nc: u32) -> String {
        let mut cnonce = [0u8; 8];
        rand::thread_rng().fill_bytes(&mut cnonce);
        self.authorization_with_cnonce(creds, method, uri, nc, &hex::encode(cnonce))
    }

    pub(crate) fn authorization_with_cnonce(
        &self,
        creds: &Credentials,
        method: &str,
        uri: &str,
        nc: u32,
        cnonce: &str,
    ) -> String {
        let user = &creds.user;
        let secret = Zeroizing::new(format!("{user}:{}:{}", self.realm, creds.password()));
        let ha1 = Zeroizing::new(self.hash(secret.as_bytes()));
        let ha2 = self.hash(format!("{method}:{uri}").as_bytes());
        let mut h = format!(
            "Digest username=\"{}\", realm=\"{}\", nonce=\"{}\", uri=\"{uri}\", algorithm={}",
            quote(user),
            quote(&self.realm),
            quote(&self.nonce),
            self.algorithm.name()
        );
        if self.qop_auth {
            let nc = format!("{nc:08x}");
            let input = Zeroizing::new(format!(
                "{}:{}:{nc}:{cnonce}:auth:{ha2}",
                ha1.as_str(),
                self.nonce
            ));
            let response = self.hash(input.as_bytes());
            h.push_str(&format!(
                ", qop=auth, nc={nc}, cnonce=\"{cnonce}\", response=\"{response}\""
            ));
        } else {
            let input = Zeroizing::new(format!("{}:{}:{ha2}", ha1.as_str(), self.nonce));
            let response = self.hash(input.as_bytes());
            h.push_str(&format!(", response=\"{response}\""));
        }
        if let Some(o) = &self.opaque {
            h.push_str(&format!(", opaque=\"{}\"", quote(o)));
        }
        h
    }
}

/// Escapes `"` and `\` for a quoted-string.
fn quote(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mufasa() -> Credentials {
        Credentials::new("Mufasa", "Circle Of Life")
    }

    #[test]
    fn rfc2617_example_with_qop() {
        // RFC 2617 §3.5.
        let c = Challenge::parse(
            r#"Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41""#,
        )
        .unwrap();
        let h = c.authorization_with_cnonce(&mufasa(), "GET", "/dir/index.html", 1, "0a4f113b");
        assert!(
            h.contains("response=\"6629fae49393a05397450978507c4ef1\""),
            "{h}"
        );
        assert!(h.contains("opaque=\"5ccc069c403ebaf9f0171e9517f40e41\""));
        assert!(!h.contains("Circle"));
    }

    #[test]
    fn rfc2617_example_without_qop() {
        let c = Challenge::parse(
            "Digest realm=\"testrealm@host.com\", nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\"",
        )
        .unwrap();
        let h = c.authorization_with_cnonce(&mufasa(), "GET", "/dir/index.html", 1, "x");
        let md5 = |s: &str| hex::encode(Md5::digest(s.as_bytes()));
        let ha1 = md5("Mufasa:testrealm@host.com:Circle Of Life");
        let ha2 = md5("GET:/dir/index.html");
        let want = md5(&format!("{ha1}:dcd98b7102dd2f0e8b11d0f600bfb0c093:{ha2}"));
        assert!(h.contains(&format!("response=\"{want}\"")), "{h}");
        assert!(!h.contains("qop"), "{h}");
    }

    #[test]
    fn rfc7616_sha256_example() {
        // RFC 7616 §3.9.1, SHA-256 response.
        let c = Challenge::parse(
            r#"Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS""#,
        )
        .unwrap();
        assert_eq!(c.algorithm, Algorithm::Sha256);
        let h = c.authorization_with_cnonce(
            &Credentials::new("Mufasa", "Circle of Life"),
            "GET",
            "/dir/index.html",
            1,
            "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
        );
        assert!(
            h.contains(
                "response=\"753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1\""
            ),
            "{h}"
        );
    }

    #[test]
    fn prefers_sha256_and_digest_over_basic() {
        let v = "Basic realm=\"x\", Digest realm=\"r\", nonce=\"n1\", qop=\"auth,auth-int\", Digest realm=\"r\", nonce=\"n2\", algorithm=SHA-256";
        let c = best([v]).unwrap();
        assert_eq!((c.algorithm, c.nonce.as_str()), (Algorithm::Sha256, "n2"));
        assert!(offers_basic([v]));
        // Two separate header values, as HTTP and RTSP servers send them.
        let c = best(["Digest realm=\"r\", nonce=\"a\"", "Basic realm=\"r\""]).unwrap();
        assert_eq!((c.algorithm, c.nonce.as_str()), (Algorithm::Md5, "a"));
        assert!(best(["Basic realm=\"cam\""]).is_none());
        assert!(offers_basic(["Basic realm=\"cam, Digest x\""]));
        assert!(!offers_basic(["Digest realm=\"Basic x\", nonce=\"n\""]));
    }

    #[test]
    fn odd_headers_neither_panic_nor_loop() {
        for h in [
            "",
            "=",
            ",",
            "\"",
            "é Digest",
            "Digest é=\"x\", nonce=ñ",
            ",,, Digest , =",
            "Digest nonce=\"a\\\"b\", realm=",
            "Basic",
            "Digest nonce",
            "Digest  nonce = \"x\"",
            "\u{1F600}, Basic \u{1F600}",
        ] {
            let _ = best([h]);
            let _ = offers_basic([h]);
            let _ = challenges(h);
        }
        assert_eq!(best(["Digest nonce=\"a\\\"b\""]).unwrap().nonce, "a\"b");
    }

    #[test]
    fn refuses_unusable_challenges() {
        assert!(Challenge::parse("Basic realm=\"x\"").is_none());
        assert!(Challenge::parse("Digest realm=\"x\"").is_none());
        assert!(
            Challenge::parse("Digest realm=\"x\", nonce=\"n\", algorithm=SHA-512-256").is_none()
        );
        assert!(Challenge::parse("Digest realm=\"x\", nonce=\"n\", qop=\"auth-int\"").is_none());
        assert!(Challenge::parse("").is_none());
        assert!(Challenge::parse("\"unterminated, Digest").is_none());
    }
}
