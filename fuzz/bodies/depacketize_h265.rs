//! Body of the `depacketize_h265` fuzz target, shared with `tests/fuzz_corpus.rs` (which replays the
//! saved corpus through it under plain `cargo test`), so both exercise the same code.

use bytes::Bytes;
use scelle_adapters::rtsp::{h265, rtp};

/// Runs one input.
pub fn run(data: &[u8]) {
    let mut d = h265::Depacketizer::new();
    let mut rest = data;
    let check = |d: &mut h265::Depacketizer| {
        while let Some(f) = d.pop() {
            let mut au = &f.data[..];
            while !au.is_empty() {
                assert!(au.len() >= 4);
                let n = u32::from_be_bytes([au[0], au[1], au[2], au[3]]) as usize;
                assert!(au.len() >= 4 + n);
                au = &au[4 + n..];
            }
        }
    };
    while rest.len() >= 2 {
        let n = usize::from(u16::from_be_bytes([rest[0], rest[1]])).min(rest.len() - 2);
        let pkt = Bytes::copy_from_slice(&rest[2..2 + n]);
        rest = &rest[2 + n..];
        match rtp::parse_rtp(pkt) {
            Ok(p) => {
                if p.sequence % 7 == 0 {
                    d.lost();
                }
                let _ = d.push(&p);
            }
            Err(_) => d.lost(),
        }
        check(&mut d);
    }
    d.flush();
    check(&mut d);
}
