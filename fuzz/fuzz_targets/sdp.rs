//! SDP from a DESCRIBE answer, and the SPS size parsers (fed the raw input and the SDP's
//! parameter sets).
//! The body lives in `fuzz/bodies/sdp.rs`, shared with `tests/fuzz_corpus.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../bodies/sdp.rs"]
mod body;

fuzz_target!(|data: &[u8]| body::run(data));
