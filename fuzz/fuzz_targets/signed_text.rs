//! Fuzzes the readers of signed texts (identification challenges, approval and
//! countersignature statements): never a panic; a parsed challenge rebuilds to its bytes.
//! The body lives in `fuzz/bodies/signed_text.rs`, shared with `tests/fuzz_corpus.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../bodies/signed_text.rs"]
mod body;

fuzz_target!(|data: &[u8]| body::run(data));
