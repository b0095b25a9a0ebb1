//! `OUVRIR.html`, the recipient's page written into every export folder (issue 16): one
//! self-contained HTML file that checks, decrypts and plays the export in a browser, offline.
//!
//! The page's source is in `page/` at the repository root (readable HTML, CSS and JavaScript,
//! and the vendored `hash-wasm` files with their licence and checksums); this module assembles
//! it, at build time through `include_str!`, into one file whose Content-Security-Policy allows
//! exactly its own inline scripts and style (by SHA-256) and WebAssembly compilation, and no
//! request of any kind. Decisions: `docs/decisions/0100-recipient-page.md`.

use std::sync::LazyLock;

use base64::Engine;
use sha2::{Digest, Sha256};

/// Name of the page in the export folder.
pub const FILE_NAME: &str = "OUVRIR.html";

const TEMPLATE: &str = include_str!("../../page/src/page.html");
const STYLE: &str = include_str!("../../page/src/page.css");
const SCRIPT: &str = include_str!("../../page/src/page.js");
const HASHWASM_SHA256: &str = include_str!("../../page/vendor/hash-wasm/sha256.umd.min.js");
const HASHWASM_ARGON2: &str = include_str!("../../page/vendor/hash-wasm/argon2.umd.min.js");

/// `'sha256-…'`, the CSP source expression of an inline script or style.
fn csp_hash(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

/// The Content-Security-Policy of the page: nothing may be fetched or sent (`default-src
/// 'none'`, no `connect-src`, no form action), scripts and style only the inline ones by hash,
/// WebAssembly compilation for `hash-wasm`, `blob:` only for the video element (Media Source
/// Extensions) and the Argon2id and SHA-256 workers the page makes from its own scripts.
pub fn content_security_policy() -> String {
    let scripts = [HASHWASM_SHA256, HASHWASM_ARGON2, SCRIPT]
        .map(csp_hash)
        .join(" ");
    format!(
        "default-src 'none'; script-src {scripts} 'wasm-unsafe-eval'; style-src {}; \
         media-src blob:; worker-src blob:; img-src 'none'; connect-src 'none'; \
         form-action 'none'; base-uri 'none'",
        csp_hash(STYLE)
    )
}

static PAGE: LazyLock<String> = LazyLock::new(|| {
    // The policy goes inside an attribute: it holds no `"` (checked by a test).
    let page = TEMPLATE
        .replacen("{{CSP}}", &content_security_policy(), 1)
        .replacen("{{STYLE}}", STYLE, 1)
        .replacen("{{HASHWASM_SHA256}}", HASHWASM_SHA256, 1)
        .replacen("{{HASHWASM_ARGON2}}", HASHWASM_ARGON2, 1);
    // The application script last: its text is not searched for placeholders afterwards.
    page.replacen("{{SCRIPT}}", SCRIPT, 1)
});

/// The assembled page.
pub fn html() -> &'static str {
    &PAGE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_is_self_contained_and_its_policy_matches_its_scripts() {
        let page = html();
        assert!(!page.contains("{{"), "a placeholder was left");
        let csp = content_security_policy();
        assert!(!csp.contains('"'));
        assert!(page.contains(&csp));
        // Every inline script and the style are in the policy, byte for byte.
        for (open, close) in [("<script id=\"", "</script>"), ("<style>", "</style>")] {
            let mut rest = page;
            while let Some(at) = rest.find(open) {
                let body_start = at + rest[at..].find('>').unwrap() + 1;
                let body_end = body_start + rest[body_start..].find(close).unwrap();
                assert!(csp.contains(&csp_hash(&rest[body_start..body_end])));
                rest = &rest[body_end..];
            }
        }
        // No address the browser could fetch, and the scripts cannot end their element early.
        for needle in ["src=\"", "href=\"", "<link", "<iframe", "<img"] {
            assert!(!page.contains(needle), "{needle} in the page");
        }
        for own in [TEMPLATE, SCRIPT, STYLE] {
            assert!(!own.contains("http://") && !own.contains("https://"));
        }
        for s in [SCRIPT, HASHWASM_SHA256, HASHWASM_ARGON2, STYLE] {
            assert!(!s.contains("</script") && !s.contains("</style"));
        }
        // The export tests look for an MP4 signature in every file of the folder.
        assert!(!page.contains("ftyp"));
    }

    #[test]
    fn vendored_files_match_their_checksums() {
        let sums = include_str!("../../page/vendor/hash-wasm/SHA256SUMS");
        for (name, text) in [
            ("argon2.umd.min.js", HASHWASM_ARGON2),
            ("sha256.umd.min.js", HASHWASM_SHA256),
        ] {
            let line = sums.lines().find(|l| l.ends_with(name)).unwrap();
            assert_eq!(
                &line[..64],
                hex::encode(Sha256::digest(text.as_bytes())),
                "{name} differs from page/vendor/hash-wasm/SHA256SUMS"
            );
        }
    }
}
