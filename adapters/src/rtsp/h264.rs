//! H.264 RTP depacketizer (RFC 6184, non-interleaved mode): single NAL unit packets, STAP-A and
//! FU-A, producing length-prefixed access units and tracking SPS/PPS. Interleaved-mode packets
//! (STAP-B, MTAP, FU-B) are refused: no camera sends them over RTSP/TCP.

use bytes::Bytes;

use super::au::{AuBuilder, DepacketizeError, Frame, ParameterSets};
use super::rtp::RtpPacket;

const SPS: u8 = 7;
const PPS: u8 = 8;

/// Turns H.264 RTP packets into access units.
#[derive(Debug)]
pub struct Depacketizer {
    au: AuBuilder,
    params: ParameterSets,
}

impl Default for Depacketizer {
    fn default() -> Self {
        Self::new()
    }
}

impl Depacketizer {
    pub fn new() -> Self {
        Depacketizer {
            au: AuBuilder::default(),
            params: ParameterSets::new(2),
        }
    }

    /// Seeds the parameter sets from the SDP's `sprop-parameter-sets`.
    pub fn with_parameter_sets(mut self, sets: &[Bytes]) -> Self {
        for s in sets {
            if let Some(&h) = s.first() {
                self.note_parameter(h & 0x1f, s);
            }
        }
        self
    }

    /// SPS then PPS, once both are known.
    pub fn parameter_sets(&self) -> Option<Vec<Bytes>> {
        self.params.complete()
    }

    fn note_parameter(&mut self, kind: u8, nal: &[u8]) -> bool {
        let i = match kind {
            SPS => 0,
            PPS => 1,
            _ => return false,
        };
        self.params.update(i, nal)
    }

    fn note_nal(&mut self, nal: &[u8]) {
        let kind = nal[0] & 0x1f;
        if kind == 5 {
            self.au.mark_keyframe();
        }
        if self.note_parameter(kind, nal) {
            self.au.mark_new_parameters();
        }
    }

    /// Feeds one packet. On error the access unit in progress is dropped.
    pub fn push(&mut self, pkt: &RtpPacket) -> Result<(), DepacketizeError> {
        self.au.begin_packet(pkt);
        let r = self.payload(&pkt.payload);
        if r.is_err() {
            self.au.damage();
        }
        self.au.end_packet(pkt);
        r
    }

    fn payload(&mut self, p: &[u8]) -> Result<(), DepacketizeError> {
        let &h = p.first().ok_or(DepacketizeError::Empty)?;
        match h & 0x1f {
            1..=23 => {
                self.note_nal(p);
                self.au.push_nal(p)
            }
            24 => {
                let mut rest = &p[1..];
                while !rest.is_empty() {
                    if rest.len() < 2 {
                        return Err(DepacketizeError::Truncated("STAP-A size"));
                    }
                    let n = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
                    let nal = rest
                        .get(2..2 + n)
                        .ok_or(DepacketizeError::Truncated("STAP-A unit"))?;
                    if nal.is_empty() {
                        return Err(DepacketizeError::Truncated("STAP-A unit"));
                    }
                    self.note_nal(nal);
                    self.au.push_nal(nal)?;
                    rest = &rest[2 + n..];
                }
                Ok(())
            }
            28 => {
                let &fu = p.get(1).ok_or(DepacketizeError::Truncated("FU-A header"))?;
                let (start, end) = (fu & 0x80 != 0, fu & 0x40 != 0);
                let header = (h & 0xe0) | (fu & 0x1f);
                self.au
                    .fragment(&[header], &p[2..], start, end, fu & 0x1f == 5)
            }
            t => Err(DepacketizeError::UnsupportedType(t)),
        }
    }

    /// Sequence numbers were skipped before the next packet.
    pub fn lost(&mut self) {
        self.au.lost();
    }

    /// Closes the unit in progress (end of stream).
    pub fn flush(&mut self) {
        self.au.finish();
    }

    pub fn pop(&mut self) -> Option<Frame> {
        self.au.pop()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkt(seq: u16, ts: u32, marker: bool, payload: &[u8]) -> RtpPacket {
        RtpPacket {
            marker,
            payload_type: 96,
            sequence: seq,
            timestamp: ts,
            ssrc: 1,
            onvif: None,
            payload: Bytes::copy_from_slice(payload),
        }
    }

    #[test]
    fn stap_a_and_fu_a_make_one_keyframe() {
        let mut d = Depacketizer::new();
        d.push(&pkt(1, 0, false, &[24, 0, 2, 0x67, 1, 0, 2, 0x68, 2]))
            .unwrap();
        d.push(&pkt(2, 0, false, &[0x7c, 0x85, 0xaa])).unwrap();
        d.push(&pkt(3, 0, true, &[0x7c, 0x45, 0xbb])).unwrap();
        let f = d.pop().unwrap();
        assert!(f.keyframe && f.new_parameters);
        assert_eq!(
            &f.data[..],
            &[
                0, 0, 0, 2, 0x67, 1, 0, 0, 0, 2, 0x68, 2, 0, 0, 0, 3, 0x65, 0xaa, 0xbb
            ]
        );
        assert_eq!(d.parameter_sets().unwrap().len(), 2);
        d.push(&pkt(4, 3600, true, &[0x41, 9])).unwrap();
        let f = d.pop().unwrap();
        assert!(!f.keyframe && !f.new_parameters);
        assert_eq!(f.timestamp, 3600);
    }

    #[test]
    fn lost_fragment_drops_the_unit() {
        let mut d = Depacketizer::new();
        d.push(&pkt(1, 0, false, &[0x7c, 0x85, 0xaa])).unwrap();
        d.lost();
        d.push(&pkt(3, 0, true, &[0x7c, 0x45, 0xbb])).unwrap();
        assert!(d.pop().is_none());
        assert!(d.push(&pkt(4, 9, true, &[0x7c, 0x05, 0xbb])).is_err());
        assert!(d.pop().is_none());
        d.push(&pkt(5, 10, true, &[0x41, 1])).unwrap();
        assert_eq!(d.pop().unwrap().timestamp, 10);
    }
}
