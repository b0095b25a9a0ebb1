//! Fuzzes the recorded-segment reader (untrusted MP4 bytes from a recorder's share) and, with
//! whatever streams it yields, the MP4 writer's SPS parsing and sample-entry writing.
//! The body lives in `fuzz/bodies/mp4_segment_reader.rs`, shared with `tests/fuzz_corpus.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../bodies/mp4_segment_reader.rs"]
mod body;

fuzz_target!(|data: &[u8]| body::run(data));
