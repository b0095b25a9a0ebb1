//! RTP packets (header, extensions, padding) through the H264 depacketizer. The input is a
//! sequence of packets, each preceded by a 2-byte length. Every access unit produced must be
//! well-formed length-prefixed NAL units.
//! The body lives in `fuzz/bodies/depacketize_h264.rs`, shared with `tests/fuzz_corpus.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../bodies/depacketize_h264.rs"]
mod body;

fuzz_target!(|data: &[u8]| body::run(data));
