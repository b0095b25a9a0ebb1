//! Body of the `export_mp4_scan` fuzz target, shared with `tests/fuzz_corpus.rs` (which replays
//! the saved corpus through it under plain `cargo test`), so both exercise the same code.

/// Runs one input: the export's read-back scanner ends in `Ok` or `Err`, never a panic.
pub fn run(data: &[u8]) {
    let _ = scelle::export::scan::scan(data);
}
