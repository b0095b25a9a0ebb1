//! Fuzzes every ONVIF SOAP response parser (and the HTTP Digest challenge parser, the other
//! text an ONVIF device sends scelle) with arbitrary bytes: none may panic or run away.
//! The body lives in `fuzz/bodies/soap_response.rs`, shared with `tests/fuzz_corpus.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../bodies/soap_response.rs"]
mod body;

fuzz_target!(|data: &[u8]| body::run(data));
