//! The one H.264/H.265 SPS parser (`scelle_adapters::rtsp::sps`): size, sample-entry facts,
//! VUI and reorder depth.
//! The body lives in `fuzz/bodies/sps.rs`, shared with `tests/fuzz_corpus.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../bodies/sps.rs"]
mod body;

fuzz_target!(|data: &[u8]| body::run(data));
