//! Fuzzes the control socket's frame decoder: whatever the bytes, `decode` returns a request
//! or a typed error, never panics; a decoded request re-encodes and decodes to itself.
//! The body lives in `fuzz/bodies/socket_frame.rs`, shared with `tests/fuzz_corpus.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../bodies/socket_frame.rs"]
mod body;

fuzz_target!(|data: &[u8]| body::run(data));
