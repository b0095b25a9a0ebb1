//! Body of the `soap_response` fuzz target, shared with `tests/fuzz_corpus.rs` (which replays the
//! saved corpus through it under plain `cargo test`), so both exercise the same code.

use scelle_adapters::digest::Challenge;
use scelle_adapters::onvif::parse;

/// Runs one input.
pub fn run(data: &[u8]) {
    parse::all(data);
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = Challenge::parse(s);
    }
}
