//! The fragmented MP4 writer: turns the adapters' [`Event`](scelle_adapters::Event) vocabulary
//! (stream descriptions, access units, gaps) into an ISO BMFF file that streams — `ftyp`, a
//! file-level `meta` with the ONVIF Export File Format boxes (`suep` provenance, `cstb` absolute
//! start time), `moov` with `mvex`, then one `moof` + `mdat` per GOP. Nothing seeks back, so the
//! output can go straight into the seal, and an interrupted export still holds a playable
//! prefix. Sample data is written from the access units' buffers without copying.
//!
//! Decisions: `docs/decisions/0020-mp4-boxes-by-hand-and-mp4-atom-for-reading.md`,
//! `docs/decisions/0021-mp4-onvif-export-boxes.md`.

mod boxes;
mod decode;
mod error;
mod events;
mod fragment;
mod init;
mod writer;

pub use error::Mp4Error;
pub use events::write_events;
pub use scelle_adapters::rtsp::sps::{SpsFacts, h264 as h264_sps, h265 as h265_sps};
pub use writer::{Mp4Summary, Mp4Writer, TrackSummary};

use jiff::Timestamp;

/// Who exported what, written into the ONVIF `suep` box and a `udta` comment. Everything is
/// supplied by the caller (the export pipeline knows the case and the operator); the writer
/// never invents provenance.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Provenance {
    /// The exporting unit (the site server): name, URL, MAC address.
    pub export_unit_name: String,
    pub export_unit_url: String,
    pub export_unit_mac: String,
    /// When the export started; `None` means "now" at the time the header is written.
    pub export_time: Option<Timestamp>,
    /// Name or identifier of the operator performing the export (may be empty).
    pub operator: String,
    /// The case the export belongs to, if any.
    pub case_id: Option<String>,
    /// One entry per stream, matched by position with the streams given to the writer.
    pub sources: Vec<TrackSource>,
}

/// The camera or microphone a track came from (ONVIF `suep` per-track entry).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrackSource {
    pub name: String,
    /// Address of the device, without credentials.
    pub url: String,
    pub mac: String,
    /// Input line token for multi-channel devices.
    pub line: String,
}
