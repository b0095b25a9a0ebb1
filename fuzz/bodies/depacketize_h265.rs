//! Body of the `depacketize_h265` fuzz target, shared with `tests/fuzz_corpus.rs` (which replays the
//! saved corpus through it under plain `cargo test`), so both exercise the same code. The loop
//! and the checks are the H.264 and H.265 bodies' common part (`depacketize.rs`).

// Each fuzz target compiles its body alone; tests/fuzz_corpus.rs loads both bodies, hence the
// common part twice there.
#[allow(clippy::duplicate_mod)]
#[path = "depacketize.rs"]
mod common;

/// Runs one input.
pub fn run(data: &[u8]) {
    common::run(scelle_adapters::rtsp::h265::Depacketizer::new(), data);
}
