//! Access-unit assembly shared by the H.264 and H.265 depacketizers: NAL units are appended in
//! the MP4 sample format (4-byte big-endian length + NAL) straight into one buffer, fragments
//! included, so each payload byte is copied exactly once between the socket and the consumer.
//! An access unit ends at the RTP marker bit or when the RTP timestamp changes.

use std::collections::VecDeque;

use bytes::{BufMut, Bytes, BytesMut};

use super::rtp::{OnvifExtension, RtpPacket};

/// One depacketized access unit, still in RTP time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    pub timestamp: u32,
    pub keyframe: bool,
    /// Video: length-prefixed NAL units. Audio: one raw frame.
    pub data: Bytes,
    /// The ONVIF replay extension of the unit's first packet carrying one, with the E and T
    /// bits of any of its packets.
    pub onvif: Option<OnvifExtension>,
    /// Parameter sets seen in this unit differ from the previous ones.
    pub new_parameters: bool,
}

/// Why a payload could not be depacketized. The unit it belonged to is dropped and reported as
/// a gap by the caller.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DepacketizeError {
    #[error("empty RTP payload")]
    Empty,
    #[error("truncated {0}")]
    Truncated(&'static str),
    #[error("fragment without its start")]
    OrphanFragment,
    #[error("unsupported NAL packet type {0}")]
    UnsupportedType(u8),
    #[error("access unit larger than {0} bytes")]
    TooLarge(usize),
}

/// Bounds one access unit so a hostile stream cannot grow memory without end.
pub const MAX_ACCESS_UNIT: usize = 64 << 20;

/// Builds length-prefixed access units from NAL units and NAL fragments.
#[derive(Debug, Default)]
pub struct AuBuilder {
    buf: BytesMut,
    timestamp: Option<u32>,
    keyframe: bool,
    onvif: Option<OnvifExtension>,
    new_parameters: bool,
    /// Offset of the length prefix of a fragmented NAL in progress.
    fragment_at: Option<usize>,
    /// The unit lost a part: it is dropped at its boundary instead of emitted.
    damaged: bool,
    ready: VecDeque<Frame>,
}

impl AuBuilder {
    /// Called before a packet's payload: closes the previous unit if the timestamp moved on.
    pub fn begin_packet(&mut self, pkt: &RtpPacket) {
        if self.timestamp.is_some_and(|t| t != pkt.timestamp) {
            self.finish();
        }
        self.timestamp = Some(pkt.timestamp);
        match (&mut self.onvif, pkt.onvif) {
            (None, ext) => self.onvif = ext,
            // The extension must be in a unit's first packet; servers may repeat it, and
            // GStreamer sets E (end of section) and T (terminal) on the unit's last packet:
            // those two belong to the whole unit.
            (Some(first), Some(later)) => {
                first.end_of_section |= later.end_of_section;
                first.terminal |= later.terminal;
            }
            (Some(_), None) => {}
        }
    }

    /// Called after a packet's payload.
    pub fn end_packet(&mut self, pkt: &RtpPacket) {
        if pkt.marker {
            self.finish();
        }
    }

    /// Appends one whole NAL unit.
    pub fn push_nal(&mut self, nal: &[u8]) -> Result<(), DepacketizeError> {
        if self.fragment_at.is_some() {
            // A new NAL while a fragmented one is open: the fragment's end was lost.
            self.abandon_fragment();
        }
        self.check_size(nal.len())?;
        self.buf.put_u32(nal.len() as u32);
        self.buf.put_slice(nal);
        Ok(())
    }

    /// Starts a fragmented NAL with its reconstructed header.
    /// One fragmentation-unit packet (H.264 FU-A, H.265 FU): `header` is the rebuilt NAL
    /// header, `body` the fragment; `keyframe` marks the unit when a start fragment opens an
    /// IDR/IRAP NAL. A packet with both start and end bits is a whole NAL.
    pub fn fragment(
        &mut self,
        header: &[u8],
        body: &[u8],
        start: bool,
        end: bool,
        keyframe: bool,
    ) -> Result<(), DepacketizeError> {
        if !start {
            return self.continue_fragment(body, end);
        }
        if keyframe {
            self.mark_keyframe();
        }
        self.start_fragment(header, body)?;
        if end {
            self.continue_fragment(&[], true)?;
        }
        Ok(())
    }

    pub fn start_fragment(&mut self, header: &[u8], body: &[u8]) -> Result<(), DepacketizeError> {
        if self.fragment_at.is_some() {
            self.abandon_fragment();
        }
        self.check_size(header.len() + body.len())?;
        self.fragment_at = Some(self.buf.len());
        self.buf.put_u32(0);
        self.buf.put_slice(header);
        self.buf.put_slice(body);
        Ok(())
    }

    /// Continues (and with `end`, closes) the open fragmented NAL.
    pub fn continue_fragment(&mut self, body: &[u8], end: bool) -> Result<(), DepacketizeError> {
        let Some(at) = self.fragment_at else {
            self.damaged = true;
            return Err(DepacketizeError::OrphanFragment);
        };
        self.check_size(body.len())?;
        self.buf.put_slice(body);
        if end {
            let len = (self.buf.len() - at - 4) as u32;
            self.buf[at..at + 4].copy_from_slice(&len.to_be_bytes());
            self.fragment_at = None;
        }
        Ok(())
    }

    /// The unit holds a random access point.
    pub fn mark_keyframe(&mut self) {
        self.keyframe = true;
    }

    /// The unit carries parameter sets that differ from the previous ones.
    pub fn mark_new_parameters(&mut self) {
        self.new_parameters = true;
    }

    /// Sequence numbers skipped: the unit in progress is incomplete and will be dropped.
    pub fn lost(&mut self) {
        if self.timestamp.is_some() {
            self.damaged = true;
        }
    }

    /// Drops the unit in progress (after a depacketization error).
    pub fn damage(&mut self) {
        self.damaged = true;
    }

    fn abandon_fragment(&mut self) {
        if let Some(at) = self.fragment_at.take() {
            self.buf.truncate(at);
            self.damaged = true;
        }
    }

    fn check_size(&mut self, add: usize) -> Result<(), DepacketizeError> {
        if self.buf.len() + add + 4 > MAX_ACCESS_UNIT {
            self.damaged = true;
            return Err(DepacketizeError::TooLarge(MAX_ACCESS_UNIT));
        }
        Ok(())
    }

    /// Closes the unit in progress: emitted if whole, dropped if damaged.
    pub fn finish(&mut self) {
        self.abandon_fragment();
        let data = self.buf.split().freeze();
        if let Some(timestamp) = self.timestamp.take()
            && !self.damaged
            && !data.is_empty()
        {
            self.ready.push_back(Frame {
                timestamp,
                keyframe: self.keyframe,
                data,
                onvif: self.onvif,
                new_parameters: self.new_parameters,
            });
        }
        self.keyframe = false;
        self.onvif = None;
        self.new_parameters = false;
        self.damaged = false;
        self.timestamp = None;
    }

    /// The next completed unit, oldest first.
    pub fn pop(&mut self) -> Option<Frame> {
        self.ready.pop_front()
    }
}

/// Keeps the latest copy of each parameter set and tells whether one changed.
#[derive(Debug, Default, Clone)]
pub struct ParameterSets {
    pub sets: Vec<Option<Bytes>>,
}

impl ParameterSets {
    pub fn new(kinds: usize) -> Self {
        ParameterSets {
            sets: vec![None; kinds],
        }
    }

    /// Stores `nal` as kind `i`; true if it differs from what was known.
    pub fn update(&mut self, i: usize, nal: &[u8]) -> bool {
        match &self.sets[i] {
            Some(old) if old[..] == *nal => false,
            _ => {
                self.sets[i] = Some(Bytes::copy_from_slice(nal));
                true
            }
        }
    }

    /// All sets in order, if every kind is known.
    pub fn complete(&self) -> Option<Vec<Bytes>> {
        self.sets.iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(marker: bool, ext: Option<(bool, bool)>) -> RtpPacket {
        RtpPacket {
            marker,
            payload_type: 96,
            sequence: 1,
            timestamp: 9000,
            ssrc: 7,
            onvif: ext.map(|(end_of_section, terminal)| OnvifExtension {
                ntp: 1 << 32,
                clean_point: true,
                end_of_section,
                discontinuity: false,
                terminal,
                cseq: 3,
            }),
            payload: Bytes::new(),
        }
    }

    fn unit(packets: &[RtpPacket]) -> Frame {
        let mut au = AuBuilder::default();
        for p in packets {
            au.begin_packet(p);
            au.push_nal(&[0x65, 0x88]).unwrap();
            au.end_packet(p);
        }
        au.pop().expect("one unit")
    }

    #[test]
    fn the_end_of_section_bit_of_any_packet_belongs_to_the_unit() {
        // GStreamer: every packet carries the extension, E on the last one of the range.
        let f = unit(&[
            packet(false, Some((false, false))),
            packet(true, Some((true, false))),
        ]);
        let ext = f.onvif.unwrap();
        assert!(ext.end_of_section && !ext.terminal && ext.clean_point);
        assert_eq!(ext.ntp, 1 << 32);
        // T likewise; a later packet without the extension changes nothing.
        let f = unit(&[
            packet(false, Some((false, false))),
            packet(false, Some((false, true))),
            packet(true, None),
        ]);
        assert!(f.onvif.unwrap().terminal);
        // The first packet's flags stand when no later packet adds one.
        let f = unit(&[packet(false, Some((false, false))), packet(true, None)]);
        assert!(!f.onvif.unwrap().end_of_section);
        assert!(unit(&[packet(true, None)]).onvif.is_none());
    }
}
