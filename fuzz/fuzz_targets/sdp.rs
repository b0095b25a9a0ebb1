//! SDP from a DESCRIBE answer.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scelle_adapters::rtsp::sdp;

fuzz_target!(|data: &[u8]| {
    if let Ok(d) = sdp::parse(data) {
        for t in &d.tracks {
            let _ = sdp::resolve_control("rtsp://127.0.0.1/x", t.control.as_deref());
        }
    }
});
