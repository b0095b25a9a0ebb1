//! Fuzzes the export's read-back MP4 scanner (`scelle::export::scan`), which parses what comes
//! back from a removable drive during verification: any input must end in `Ok` or `Err`, never
//! a panic or an unbounded allocation.
//! The body lives in `fuzz/bodies/export_mp4_scan.rs`, shared with `tests/fuzz_corpus.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../bodies/export_mp4_scan.rs"]
mod body;

fuzz_target!(|data: &[u8]| body::run(data));
