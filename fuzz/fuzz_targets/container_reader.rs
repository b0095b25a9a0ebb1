//! Fuzzes the sealed-container reader on untrusted bytes: the structure check (header bounds,
//! layout), the streaming reader and random access. Argon2 is kept out of the loop: the keys
//! of one fixed container are unlocked once, and inputs whose first byte is odd get that
//! container's header and metadata prepended, so the fuzzer reaches the chunk logic.
//! The body lives in `fuzz/bodies/container_reader.rs`, shared with `tests/fuzz_corpus.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../bodies/container_reader.rs"]
mod body;

fuzz_target!(|data: &[u8]| body::run(data));
