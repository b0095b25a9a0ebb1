//! Body of the `sps` fuzz target, shared with `tests/fuzz_corpus.rs` (which replays the saved
//! corpus through it under plain `cargo test`), so both exercise the same code.

use scelle_adapters::Codec;
use scelle_adapters::rtsp::sps;

/// Runs one input as an H.264 and as an H.265 SPS, alone and among parameter sets.
pub fn run(data: &[u8]) {
    let _ = sps::h264(data);
    let _ = sps::h265(data);
    let sets = [bytes::Bytes::copy_from_slice(data)];
    let _ = sps::facts(Codec::H264, &sets);
    let _ = sps::facts(Codec::H265, &sets);
}
