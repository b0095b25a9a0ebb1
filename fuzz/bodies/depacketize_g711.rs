//! Body of the `depacketize_g711` fuzz target, shared with `tests/fuzz_corpus.rs`. The input is
//! a channel count byte, then RTP packets each preceded by a 2-byte length; every unit produced
//! must be the packet's payload, a whole number of sample periods, with its timestamp.

use bytes::Bytes;
use scelle_adapters::rtsp::{g711, rtp};

/// Runs one input.
pub fn run(data: &[u8]) {
    let Some((&channels, mut rest)) = data.split_first() else {
        return;
    };
    let channels = u16::from(channels % 4);
    let mut d = g711::Depacketizer::new(channels);
    while rest.len() >= 2 {
        let n = usize::from(u16::from_be_bytes([rest[0], rest[1]])).min(rest.len() - 2);
        let pkt = Bytes::copy_from_slice(&rest[2..2 + n]);
        rest = &rest[2 + n..];
        let Ok(p) = rtp::parse_rtp(pkt) else {
            d.lost();
            continue;
        };
        if d.push(&p).is_ok() {
            let f = d.pop().expect("a unit per accepted packet");
            assert_eq!(f.timestamp, p.timestamp);
            assert_eq!(f.data, p.payload);
            assert!(!f.data.is_empty());
            assert_eq!(f.data.len() % usize::from(channels.max(1)), 0);
        }
        assert!(d.pop().is_none());
    }
    d.flush();
}
