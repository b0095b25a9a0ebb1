//! AAC RTP depacketizer (RFC 3640, `mpeg4-generic`, AAC-hbr/lbr modes): AU headers give each
//! frame's size; several frames per packet get consecutive timestamps (1024 samples apart); a
//! frame larger than one packet is reassembled until the marker bit.

use std::collections::VecDeque;

use bytes::{Bytes, BytesMut};

use super::au::{DepacketizeError, Frame, MAX_ACCESS_UNIT};
use super::rtp::RtpPacket;

/// Turns AAC RTP packets into raw AAC frames.
#[derive(Debug)]
pub struct Depacketizer {
    size_length: u32,
    index_length: u32,
    fragment: Option<(u32, usize, BytesMut)>,
    ready: VecDeque<Frame>,
}

impl Depacketizer {
    /// `size_length`/`index_length` from the SDP fmtp (`sizelength`, `indexlength`).
    pub fn new(size_length: u32, index_length: u32) -> Self {
        Depacketizer {
            size_length: size_length.clamp(1, 16),
            index_length: index_length.min(16),
            fragment: None,
            ready: VecDeque::new(),
        }
    }

    /// Feeds one packet.
    pub fn push(&mut self, pkt: &RtpPacket) -> Result<(), DepacketizeError> {
        let p = &pkt.payload[..];
        if p.len() < 2 {
            return Err(DepacketizeError::Truncated("AU-headers-length"));
        }
        let header_bits = u32::from(u16::from_be_bytes([p[0], p[1]]));
        let header_bytes = header_bits.div_ceil(8) as usize;
        let headers = p
            .get(2..2 + header_bytes)
            .ok_or(DepacketizeError::Truncated("AU headers"))?;
        let mut data = &p[2 + header_bytes..];
        let per = self.size_length + self.index_length;
        let count = header_bits / per.max(1);
        if count == 0 {
            return Err(DepacketizeError::Truncated("AU header"));
        }
        let mut bit = 0u32;
        for i in 0..count {
            let size = read_bits(headers, bit, self.size_length) as usize;
            bit += per;
            if let Some((ts, want, mut buf)) = self.fragment.take() {
                // Continuation of a fragmented frame: the whole payload belongs to it.
                if ts != pkt.timestamp || want != size {
                    return Err(DepacketizeError::OrphanFragment);
                }
                buf.extend_from_slice(data);
                if buf.len() >= want || pkt.marker {
                    buf.truncate(want);
                    self.emit(ts, buf.freeze(), pkt);
                } else {
                    self.fragment = Some((ts, want, buf));
                }
                return Ok(());
            }
            if size > MAX_ACCESS_UNIT {
                return Err(DepacketizeError::TooLarge(MAX_ACCESS_UNIT));
            }
            let ts = pkt.timestamp.wrapping_add(i * 1024);
            if data.len() < size {
                if count == 1 && !pkt.marker {
                    self.fragment = Some((ts, size, BytesMut::from(data)));
                    return Ok(());
                }
                return Err(DepacketizeError::Truncated("AAC frame"));
            }
            let frame = pkt.payload.slice_ref(&data[..size]);
            self.emit(ts, frame, pkt);
            data = &data[size..];
        }
        Ok(())
    }

    fn emit(&mut self, timestamp: u32, data: Bytes, pkt: &RtpPacket) {
        self.ready.push_back(Frame {
            timestamp,
            keyframe: true,
            data,
            onvif: pkt.onvif,
            new_parameters: false,
        });
    }

    /// Sequence numbers were skipped: a frame being reassembled is lost.
    pub fn lost(&mut self) {
        self.fragment = None;
    }

    pub fn flush(&mut self) {
        self.fragment = None;
    }

    pub fn pop(&mut self) -> Option<Frame> {
        self.ready.pop_front()
    }
}

fn read_bits(b: &[u8], start: u32, n: u32) -> u32 {
    let mut v = 0u32;
    for i in start..start + n {
        let byte = b.get((i / 8) as usize).copied().unwrap_or(0);
        v = (v << 1) | u32::from((byte >> (7 - i % 8)) & 1);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_frames_in_one_packet() {
        let mut d = Depacketizer::new(13, 3);
        // headers-length 32 bits: sizes 2 and 1.
        let payload = [0, 32, 0, 16, 0, 8, 0xa, 0xb, 0xc];
        let pkt = RtpPacket {
            marker: true,
            payload_type: 97,
            sequence: 1,
            timestamp: 100,
            ssrc: 1,
            onvif: None,
            payload: Bytes::copy_from_slice(&payload),
        };
        d.push(&pkt).unwrap();
        let a = d.pop().unwrap();
        let b = d.pop().unwrap();
        assert_eq!((&a.data[..], a.timestamp), (&[0xa, 0xb][..], 100));
        assert_eq!((&b.data[..], b.timestamp), (&[0xc][..], 1124));
    }
}
