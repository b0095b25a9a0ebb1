//! What the `depacketize_h264` and `depacketize_h265` bodies share: the input is a sequence of
//! RTP packets, each preceded by a 2-byte length; every access unit produced must be
//! well-formed length-prefixed NAL units, whatever the codec.

use bytes::Bytes;
use scelle_adapters::rtsp::au::{DepacketizeError, Frame};
use scelle_adapters::rtsp::{h264, h265, rtp};

/// The depacketizer calls the body makes (both codecs have them as inherent methods).
pub trait Depacketizer {
    fn push(&mut self, pkt: &rtp::RtpPacket) -> Result<(), DepacketizeError>;
    fn lost(&mut self);
    fn flush(&mut self);
    fn pop(&mut self) -> Option<Frame>;
}

macro_rules! depacketizer {
    ($($t:ty),*) => {$(
        impl Depacketizer for $t {
            fn push(&mut self, pkt: &rtp::RtpPacket) -> Result<(), DepacketizeError> {
                <$t>::push(self, pkt)
            }
            fn lost(&mut self) {
                <$t>::lost(self)
            }
            fn flush(&mut self) {
                <$t>::flush(self)
            }
            fn pop(&mut self) -> Option<Frame> {
                <$t>::pop(self)
            }
        }
    )*};
}

depacketizer!(h264::Depacketizer, h265::Depacketizer);

/// Runs one input through `d`.
pub fn run(mut d: impl Depacketizer, data: &[u8]) {
    let mut rest = data;
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

/// Every unit ready is a run of whole length-prefixed NAL units.
fn check(d: &mut impl Depacketizer) {
    while let Some(f) = d.pop() {
        let mut au = &f.data[..];
        while !au.is_empty() {
            assert!(au.len() >= 4);
            let n = u32::from_be_bytes([au[0], au[1], au[2], au[3]]) as usize;
            assert!(au.len() >= 4 + n);
            au = &au[4 + n..];
        }
    }
}
