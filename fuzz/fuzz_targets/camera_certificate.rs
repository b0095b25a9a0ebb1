//! A camera's TLS certificate (DER) as `scelle camera probe` describes it, untrusted.
//! The body lives in `fuzz/bodies/camera_certificate.rs`, shared with `tests/fuzz_corpus.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../bodies/camera_certificate.rs"]
mod body;

fuzz_target!(|data: &[u8]| body::run(data));
