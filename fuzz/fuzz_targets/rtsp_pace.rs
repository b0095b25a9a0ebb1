//! The `rtsp_pace` fuzz target; its body lives in `fuzz/bodies/rtsp_pace.rs`, shared with
//! `tests/fuzz_corpus.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../bodies/rtsp_pace.rs"]
mod body;

fuzz_target!(|data: &[u8]| body::run(data));
