//! The `depacketize_g711` fuzz target; its body lives in `fuzz/bodies/depacketize_g711.rs`, shared with
//! `tests/fuzz_corpus.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../bodies/depacketize_g711.rs"]
mod body;

fuzz_target!(|data: &[u8]| body::run(data));
