//! RTSP stream framing and response parsing: arbitrary bytes from a server, split into
//! responses and interleaved frames, plus the WWW-Authenticate challenge parser.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use scelle_adapters::rtsp::{auth, conn};

fuzz_target!(|data: &[u8]| {
    let mut buf = BytesMut::from(data);
    while let Ok(Some(_)) = conn::split_message(&mut buf) {}
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = auth::parse_challenge(s);
    }
});
