//! H.265 RTP depacketizer (RFC 7798, without DONL): single NAL unit packets, aggregation
//! packets (AP) and fragmentation units (FU), producing length-prefixed access units and
//! tracking VPS/SPS/PPS. PACI packets are refused.

use bytes::Bytes;

use super::au::{AuBuilder, DepacketizeError, Frame, ParameterSets};
use super::rtp::RtpPacket;

const VPS: u8 = 32;
const SPS: u8 = 33;
const PPS: u8 = 34;
const AP: u8 = 48;
const FU: u8 = 49;

fn nal_type(first: u8) -> u8 {
    (first >> 1) & 0x3f
}

/// Turns H.265 RTP packets into access units.
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
            params: ParameterSets::new(3),
        }
    }

    /// Seeds the parameter sets from the SDP's `sprop-vps`/`sprop-sps`/`sprop-pps`.
    pub fn with_parameter_sets(mut self, sets: &[Bytes]) -> Self {
        for s in sets {
            if let Some(&h) = s.first() {
                self.note_parameter(nal_type(h), s);
            }
        }
        self
    }

    /// VPS, SPS, PPS once all three are known.
    pub fn parameter_sets(&self) -> Option<Vec<Bytes>> {
        self.params.complete()
    }

    fn note_parameter(&mut self, kind: u8, nal: &[u8]) -> bool {
        let i = match kind {
            VPS => 0,
            SPS => 1,
            PPS => 2,
            _ => return false,
        };
        self.params.update(i, nal)
    }

    fn note_nal(&mut self, nal: &[u8]) {
        let kind = nal_type(nal[0]);
        if (16..=21).contains(&kind) {
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
        if p.len() < 3 {
            return Err(DepacketizeError::Truncated("payload header"));
        }
        match nal_type(p[0]) {
            0..=47 => {
                self.note_nal(p);
                self.au.push_nal(p)
            }
            AP => {
                let mut rest = &p[2..];
                while !rest.is_empty() {
                    if rest.len() < 2 {
                        return Err(DepacketizeError::Truncated("AP size"));
                    }
                    let n = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
                    let nal = rest
                        .get(2..2 + n)
                        .ok_or(DepacketizeError::Truncated("AP unit"))?;
                    if nal.len() < 2 {
                        return Err(DepacketizeError::Truncated("AP unit"));
                    }
                    self.note_nal(nal);
                    self.au.push_nal(nal)?;
                    rest = &rest[2 + n..];
                }
                Ok(())
            }
            FU => {
                let fu = p[2];
                let (start, end) = (fu & 0x80 != 0, fu & 0x40 != 0);
                let kind = fu & 0x3f;
                let header = [(p[0] & 0x81) | (kind << 1), p[1]];
                self.au
                    .fragment(&header, &p[3..], start, end, (16..=21).contains(&kind))
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

    fn pkt(ts: u32, marker: bool, payload: &[u8]) -> RtpPacket {
        RtpPacket {
            marker,
            payload_type: 96,
            sequence: 0,
            timestamp: ts,
            ssrc: 1,
            onvif: None,
            payload: Bytes::copy_from_slice(payload),
        }
    }

    #[test]
    fn ap_and_fu_make_one_irap() {
        let mut d = Depacketizer::new();
        // AP with VPS, SPS, PPS.
        d.push(&pkt(
            0,
            false,
            &[96, 1, 0, 3, 64, 1, 7, 0, 3, 66, 1, 8, 0, 3, 68, 1, 9],
        ))
        .unwrap();
        // FU of an IDR_W_RADL (19): start, then end.
        d.push(&pkt(0, false, &[98, 1, 0x80 | 19, 0xaa])).unwrap();
        d.push(&pkt(0, true, &[98, 1, 0x40 | 19, 0xbb])).unwrap();
        let f = d.pop().unwrap();
        assert!(f.keyframe && f.new_parameters);
        assert!(f.data.ends_with(&[0, 0, 0, 4, 38, 1, 0xaa, 0xbb]));
        assert_eq!(d.parameter_sets().unwrap().len(), 3);
        d.push(&pkt(3000, true, &[2, 1, 5])).unwrap();
        assert!(!d.pop().unwrap().keyframe);
    }
}
