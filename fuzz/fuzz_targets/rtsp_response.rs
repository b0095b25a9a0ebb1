//! RTSP stream framing and response parsing: arbitrary bytes from a server, split into
//! responses and interleaved frames, plus the WWW-Authenticate challenge parser.
//! The body lives in `fuzz/bodies/rtsp_response.rs`, shared with `tests/fuzz_corpus.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../bodies/rtsp_response.rs"]
mod body;

fuzz_target!(|data: &[u8]| body::run(data));
