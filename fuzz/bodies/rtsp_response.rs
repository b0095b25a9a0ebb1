//! Body of the `rtsp_response` fuzz target, shared with `tests/fuzz_corpus.rs` (which replays the
//! saved corpus through it under plain `cargo test`), so both exercise the same code.

use bytes::BytesMut;
use scelle_adapters::rtsp::{auth, conn};

/// Runs one input.
pub fn run(data: &[u8]) {
    let mut buf = BytesMut::from(data);
    while let Ok(Some(_)) = conn::split_message(&mut buf) {}
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = auth::parse_challenge(s);
    }
}
