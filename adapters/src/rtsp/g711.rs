//! G.711 RTP depacketizer (RFC 3551 §4.5.14, static payload types 0 `PCMU` and 8 `PCMA`, or
//! dynamic ones named so in the SDP): one byte per sample, so a packet's payload is a run of
//! samples starting at its RTP timestamp. Each packet becomes one audio unit, kept as the
//! camera sent it (the MP4 stores the same bytes in a `ulaw`/`alaw` sample entry, decision 0094).

use std::collections::VecDeque;

use super::au::{DepacketizeError, Frame, MAX_ACCESS_UNIT};
use super::rtp::RtpPacket;

/// Turns G.711 RTP packets into runs of samples.
#[derive(Debug, Default)]
pub struct Depacketizer {
    /// Samples per sample period: the SDP's channel count (1 unless it says otherwise). A
    /// payload that is not a whole number of periods is damaged.
    channels: usize,
    ready: VecDeque<Frame>,
}

impl Depacketizer {
    pub fn new(channels: u16) -> Self {
        Depacketizer {
            channels: usize::from(channels.max(1)),
            ready: VecDeque::new(),
        }
    }

    /// Feeds one packet.
    pub fn push(&mut self, pkt: &RtpPacket) -> Result<(), DepacketizeError> {
        if pkt.payload.is_empty() {
            return Err(DepacketizeError::Empty);
        }
        if pkt.payload.len() > MAX_ACCESS_UNIT {
            return Err(DepacketizeError::TooLarge(MAX_ACCESS_UNIT));
        }
        if !pkt.payload.len().is_multiple_of(self.channels) {
            return Err(DepacketizeError::Truncated("G.711 sample period"));
        }
        self.ready.push_back(Frame {
            timestamp: pkt.timestamp,
            keyframe: true,
            data: pkt.payload.clone(),
            onvif: pkt.onvif,
            new_parameters: false,
        });
        Ok(())
    }

    /// Nothing spans packets: a loss drops nothing here.
    pub fn lost(&mut self) {}

    pub fn flush(&mut self) {}

    pub fn pop(&mut self) -> Option<Frame> {
        self.ready.pop_front()
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    fn packet(ts: u32, payload: &[u8]) -> RtpPacket {
        RtpPacket {
            marker: false,
            payload_type: 0,
            sequence: 1,
            timestamp: ts,
            ssrc: 1,
            onvif: None,
            payload: Bytes::copy_from_slice(payload),
        }
    }

    #[test]
    fn each_packet_is_one_run_of_samples() {
        let mut d = Depacketizer::new(1);
        d.push(&packet(160, &[0xff; 160])).unwrap();
        d.push(&packet(320, &[0x7f; 80])).unwrap();
        let a = d.pop().unwrap();
        let b = d.pop().unwrap();
        assert_eq!((a.timestamp, a.data.len(), a.keyframe), (160, 160, true));
        assert_eq!((b.timestamp, b.data.len()), (320, 80));
        assert!(d.pop().is_none());
    }

    #[test]
    fn damaged_payloads_are_refused() {
        let mut d = Depacketizer::new(2);
        assert_eq!(d.push(&packet(0, &[])), Err(DepacketizeError::Empty));
        assert!(d.push(&packet(0, &[1, 2, 3])).is_err());
        assert!(d.push(&packet(0, &[1, 2, 3, 4])).is_ok());
    }
}
