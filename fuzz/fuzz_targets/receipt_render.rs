//! Fuzzes the delivery receipt's layout on arbitrary export records (JSON, as the register's
//! `export-completed` entries carry them): any record that deserializes must render to a PDF
//! without panicking — long names, thousands of gaps, odd times, any Unicode, any "SHA-256".
//! The body lives in `fuzz/bodies/receipt_render.rs`, shared with `tests/fuzz_corpus.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../bodies/receipt_render.rs"]
mod body;

fuzz_target!(|data: &[u8]| body::run(data));
