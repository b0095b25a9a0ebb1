//! RTP and RTCP packet parsing (RFC 3550) and the ONVIF replay header extension (profile 0xABAC,
//! ONVIF Streaming Specification §6.3). Owns nothing but byte layouts: every field the pull
//! needs is read here once, bounds-checked, so that depacketizers only see payloads.

use bytes::Bytes;
use jiff::{SignedDuration, Timestamp};

/// The ONVIF replay extension carried by every packet that starts an access unit in replay.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OnvifExtension {
    /// NTP time (seconds since 1900 in the upper 32 bits, fraction in the lower 32).
    pub ntp: u64,
    /// C: the access unit is a clean point (a keyframe).
    pub clean_point: bool,
    /// E: last access unit of a contiguous section of recording.
    pub end_of_section: bool,
    /// D: this access unit follows a discontinuity.
    pub discontinuity: bool,
    /// T: terminal access unit: no more data for this track.
    pub terminal: bool,
    /// Low byte of the CSeq of the PLAY that started this transmission.
    pub cseq: u8,
}

/// One parsed RTP packet; `payload` shares the receive buffer (no copy).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RtpPacket {
    pub marker: bool,
    pub payload_type: u8,
    pub sequence: u16,
    pub timestamp: u32,
    pub ssrc: u32,
    pub onvif: Option<OnvifExtension>,
    pub payload: Bytes,
}

/// Why an RTP packet was rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RtpError {
    #[error("RTP packet too short ({0} bytes)")]
    TooShort(usize),
    #[error("RTP version {0} is not 2")]
    Version(u8),
    #[error("RTP header or padding longer than the packet")]
    BadLength,
}

const ONVIF_PROFILE: u16 = 0xABAC;

/// Parses one RTP packet.
pub fn parse_rtp(pkt: Bytes) -> Result<RtpPacket, RtpError> {
    let b = &pkt[..];
    if b.len() < 12 {
        return Err(RtpError::TooShort(b.len()));
    }
    let version = b[0] >> 6;
    if version != 2 {
        return Err(RtpError::Version(version));
    }
    let padding = b[0] & 0x20 != 0;
    let extension = b[0] & 0x10 != 0;
    let csrc_count = usize::from(b[0] & 0x0f);
    let marker = b[1] & 0x80 != 0;
    let payload_type = b[1] & 0x7f;
    let sequence = u16::from_be_bytes([b[2], b[3]]);
    let timestamp = u32::from_be_bytes([b[4], b[5], b[6], b[7]]);
    let ssrc = u32::from_be_bytes([b[8], b[9], b[10], b[11]]);
    let mut start = 12 + 4 * csrc_count;
    let mut onvif = None;
    if extension {
        let h = b.get(start..start + 4).ok_or(RtpError::BadLength)?;
        let profile = u16::from_be_bytes([h[0], h[1]]);
        let words = usize::from(u16::from_be_bytes([h[2], h[3]]));
        let body = b
            .get(start + 4..start + 4 + 4 * words)
            .ok_or(RtpError::BadLength)?;
        if profile == ONVIF_PROFILE && body.len() >= 12 {
            let mut ntp = [0u8; 8];
            ntp.copy_from_slice(&body[..8]);
            let flags = body[8];
            onvif = Some(OnvifExtension {
                ntp: u64::from_be_bytes(ntp),
                clean_point: flags & 0x80 != 0,
                end_of_section: flags & 0x40 != 0,
                discontinuity: flags & 0x20 != 0,
                terminal: flags & 0x10 != 0,
                cseq: body[9],
            });
        }
        start += 4 + 4 * words;
    }
    let mut end = b.len();
    if padding {
        let pad = usize::from(*b.last().ok_or(RtpError::BadLength)?);
        if pad == 0 || pad > end - start.min(end) {
            return Err(RtpError::BadLength);
        }
        end -= pad;
    }
    if start > end {
        return Err(RtpError::BadLength);
    }
    Ok(RtpPacket {
        marker,
        payload_type,
        sequence,
        timestamp,
        ssrc,
        onvif,
        payload: pkt.slice(start..end),
    })
}

/// What the pull needs from RTCP: sender reports (RTP ↔ NTP mapping) and BYE.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RtcpItem {
    SenderReport { ssrc: u32, ntp: u64, rtp: u32 },
    Bye,
}

/// Parses a compound RTCP packet; malformed trailing parts are ignored.
pub fn parse_rtcp(b: &[u8]) -> Vec<RtcpItem> {
    let mut out = Vec::new();
    let mut rest = b;
    while rest.len() >= 4 {
        if rest[0] >> 6 != 2 {
            break;
        }
        let pt = rest[1];
        let len = 4 * (usize::from(u16::from_be_bytes([rest[2], rest[3]])) + 1);
        let Some(p) = rest.get(..len) else { break };
        match pt {
            200 if p.len() >= 20 => {
                let ssrc = u32::from_be_bytes([p[4], p[5], p[6], p[7]]);
                let mut ntp = [0u8; 8];
                ntp.copy_from_slice(&p[8..16]);
                let rtp = u32::from_be_bytes([p[16], p[17], p[18], p[19]]);
                out.push(RtcpItem::SenderReport {
                    ssrc,
                    ntp: u64::from_be_bytes(ntp),
                    rtp,
                });
            }
            203 => out.push(RtcpItem::Bye),
            _ => {}
        }
        rest = &rest[len..];
    }
    out
}

/// Seconds between the NTP epoch (1900) and the Unix epoch (1970).
const NTP_UNIX_OFFSET: i64 = 2_208_988_800;

/// Converts a 64-bit NTP timestamp to an absolute time.
pub fn ntp_to_timestamp(ntp: u64) -> Option<Timestamp> {
    let secs = (ntp >> 32) as i64 - NTP_UNIX_OFFSET;
    let nanos = (((ntp & 0xffff_ffff) * 1_000_000_000 + (1 << 31)) >> 32) as i128;
    Timestamp::from_nanosecond(i128::from(secs) * 1_000_000_000 + nanos).ok()
}

/// Converts an absolute time to a 64-bit NTP timestamp (saturating outside the NTP era).
pub fn timestamp_to_ntp(t: Timestamp) -> u64 {
    let ns = t.as_nanosecond() + i128::from(NTP_UNIX_OFFSET) * 1_000_000_000;
    let secs = ns.div_euclid(1_000_000_000).clamp(0, i128::from(u32::MAX)) as u64;
    let sub = ns.rem_euclid(1_000_000_000) as u64;
    (secs << 32) | ((sub << 32) / 1_000_000_000)
}

/// `t + ticks / rate`, for turning RTP tick differences into absolute times.
pub fn add_ticks(t: Timestamp, ticks: i64, rate: u32) -> Timestamp {
    let nanos = i128::from(ticks) * 1_000_000_000 / i128::from(rate.max(1));
    t.checked_add(SignedDuration::from_nanos(nanos as i64))
        .unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_onvif_extension() {
        let mut p = vec![0x90, 0xe0, 0, 7, 0, 0, 0, 9, 1, 2, 3, 4, 0xab, 0xac, 0, 3];
        p.extend_from_slice(&[0, 0, 0, 10, 0x80, 0, 0, 0, 0xd0, 5, 0, 0]);
        p.extend_from_slice(b"xyz");
        let r = parse_rtp(Bytes::from(p)).unwrap();
        assert!(r.marker);
        assert_eq!(r.payload_type, 0x60);
        assert_eq!(r.sequence, 7);
        assert_eq!(&r.payload[..], b"xyz");
        let e = r.onvif.unwrap();
        assert_eq!(e.ntp, (10 << 32) | 0x8000_0000);
        assert!(e.clean_point && e.end_of_section && !e.discontinuity && e.terminal);
        assert_eq!(e.cseq, 5);
        let t = ntp_to_timestamp(e.ntp).unwrap();
        assert_eq!(t.to_string(), "1900-01-01T00:00:10.5Z");
        assert_eq!(timestamp_to_ntp(t), e.ntp);
    }

    #[test]
    fn rejects_short_and_bad_padding() {
        assert!(parse_rtp(Bytes::from_static(&[0x80; 5])).is_err());
        let p = vec![0xa0, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 50];
        assert_eq!(parse_rtp(Bytes::from(p)), Err(RtpError::BadLength));
    }
}
