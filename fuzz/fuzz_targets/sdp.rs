//! SDP from a DESCRIBE answer, and the SPS size parsers (fed the raw input and the SDP's
//! parameter sets).
#![no_main]

use libfuzzer_sys::fuzz_target;
use scelle_adapters::rtsp::{sdp, sps};

fuzz_target!(|data: &[u8]| {
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
});
