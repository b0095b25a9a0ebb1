//! Body of the `sdp` fuzz target, shared with `tests/fuzz_corpus.rs` (which replays the
//! saved corpus through it under plain `cargo test`), so both exercise the same code.

use scelle_adapters::rtsp::{sdp, sps};

/// Runs one input.
pub fn run(data: &[u8]) {
    let _ = sps::h264_size(data);
    let _ = sps::h265_size(data);
    if let Ok(d) = sdp::parse(data) {
        for t in &d.tracks {
            if let Some(c) = t.codec {
                let _ = sps::size(c, &t.parameter_sets);
            }
            let _ = sdp::resolve_control("rtsp://127.0.0.1/x", t.control.as_deref());
        }
    }
}
