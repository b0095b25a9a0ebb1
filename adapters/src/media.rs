//! Media types shared by every adapter and by the MP4 writer: what a stream is, what an access
//! unit carries, and how a gap is reported. Kept separate from any protocol so that the RTSP
//! client, the segment-folder reader and the MP4 writer agree on one vocabulary.

use bytes::Bytes;
use jiff::Timestamp;

/// The codec of one elementary stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Codec {
    H264,
    H265,
    Aac,
    /// G.711 µ-law (`PCMU`): one byte per sample, as the camera sent it.
    Pcmu,
    /// G.711 A-law (`PCMA`).
    Pcma,
}

impl Codec {
    /// H.264 or H.265; the others are audio.
    pub fn is_video(self) -> bool {
        matches!(self, Codec::H264 | Codec::H265)
    }
}

/// Description of one elementary stream, known before its first access unit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamInfo {
    /// Index of the stream within the pull (0 = first video stream).
    pub index: usize,
    pub codec: Codec,
    /// Ticks per second of [`AccessUnit::pts`] (90 000 for video over RTP).
    pub clock_rate: u32,
    /// Video: parameter sets in decoding order, without start codes or length prefixes
    /// (H.264: SPS, PPS; H.265: VPS, SPS, PPS). Audio: empty.
    pub parameter_sets: Vec<Bytes>,
    /// AAC: the AudioSpecificConfig. Video and G.711: empty.
    pub audio_config: Bytes,
    /// Pixel size when known from the SPS or the SDP.
    pub width: Option<u32>,
    pub height: Option<u32>,
    /// Audio sample rate and channel count when known.
    pub sample_rate: Option<u32>,
    pub channels: Option<u16>,
}

/// One access unit: a whole picture (all its NAL units) or one audio frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessUnit {
    /// Which [`StreamInfo::index`] this belongs to.
    pub stream: usize,
    /// Presentation time in [`StreamInfo::clock_rate`] ticks (RTP timestamps unwrapped to 64
    /// bits and rebased so the pull starts near 0). Units come in decode order, so with
    /// B-frames this goes back and forth within the stream's reorder depth.
    pub pts: i64,
    /// Decode time on the same clock, non-decreasing within a stream, when the source knows it
    /// (a recorded file's `stts`). `None` over RTP, which carries presentation times only: the
    /// MP4 writer then derives decode times from the presentation times and the SPS's reorder
    /// depth (decision 0090).
    pub dts: Option<i64>,
    /// Absolute time of this unit according to the device (ONVIF 0xABAC extension, RTCP sender
    /// report, or the segment's start time), when the device tells it.
    pub device_time: Option<Timestamp>,
    /// The site server's own clock when the unit's last byte arrived.
    pub received_at: Timestamp,
    /// A random access point (IDR/IRAP picture, or any audio frame).
    pub keyframe: bool,
    /// Video: NAL units each prefixed by a 4-byte big-endian length (the MP4 sample format).
    /// Audio: one raw AAC frame, or a run of G.711 samples (one byte each) as received.
    pub data: Bytes,
}

/// Why a span is missing from a pull.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GapReason {
    /// The recorder has no recording for this span (known from search or planning).
    NotRecorded,
    /// RTP sequence numbers skipped: packets were lost in transit.
    PacketLoss { lost_packets: u32 },
    /// The device flagged a discontinuity (ONVIF D bit) or time jumped.
    Discontinuity,
    /// The connection dropped; the span until the resumed pull delivered nothing.
    ConnectionLost,
    /// A segment file that should exist is missing or unreadable.
    SegmentMissing { path: String },
}

/// A span of the requested range for which no media was delivered. In a pull's events and
/// summary its times are on the same clock as the units' [`AccessUnit::device_time`] (the
/// device's, when it tells it; the server's otherwise); a source's [`Plan`](crate::Plan) states
/// its gaps on the server's clock.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Gap {
    pub stream: Option<usize>,
    pub start: Timestamp,
    pub end: Timestamp,
    pub reason: GapReason,
}

/// What a pull yields, in order.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// Streams known: sent once before any access unit, and again if parameters change.
    Streams(Vec<StreamInfo>),
    Unit(AccessUnit),
    Gap(Gap),
    /// How fast the source delivers, sent when a pull asked for faster than real time (RTSP
    /// `Speed`, decision 0093), before the units timed at that speed.
    Pace(Pace),
    /// The requested range (or live duration) is complete.
    End,
}

/// The delivery speed of a pull that asked for faster than real time.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Pace {
    /// Media seconds delivered per second: 1.0 is real time.
    pub speed: f64,
    /// Why the pull is at real time after asking for more (the server ignored `Speed`, its
    /// timestamps could not be trusted, it dropped pictures), for the progress line.
    pub note: Option<String>,
}
