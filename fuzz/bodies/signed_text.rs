//! Body of the `signed_text` fuzz target, shared with `tests/fuzz_corpus.rs`: the texts a
//! person's signature covers, read from untrusted bytes — an identification challenge as the
//! client reads it from whatever answers on the socket, a statement as the daemon reads a
//! submitted one (its `expires:` and fields), and the plain-words rendering shown before
//! signing. None may panic; a challenge that parses rebuilds to the same bytes.

use scelle::api::identify::{challenge_message, parse_challenge};
use scelle::case::statement::{expires, field, plain_words};

/// Runs one input.
pub fn run(data: &[u8]) {
    if let Some((site, person, nonce)) = parse_challenge(data) {
        assert_eq!(challenge_message(&site, &person, &nonce), data);
    }
    let text = String::from_utf8_lossy(data);
    let _ = expires(&text);
    let _ = field(&text, "case");
    let _ = plain_words(&text, true);
    let _ = plain_words(&text, false);
}
