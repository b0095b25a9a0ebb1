//! Body of the `camera_certificate` fuzz target, shared with `tests/fuzz_corpus.rs` (which
//! replays the saved corpus through it under plain `cargo test`): the certificate a camera
//! presents, read for `scelle camera probe` before anything trusts it.

/// Runs one input.
pub fn run(data: &[u8]) {
    let info = scelle_adapters::rtsp::tls::describe("fuzz:0".into(), data);
    assert!(info.fingerprint.starts_with("sha256:"));
}
