//! What one export produced: the facts the sealed manifest, the register entries
//! (`export-verified`, `export-completed`) and the delivery receipt are made of.
//!
//! These types are serialized into the register and into manifests that outlive this build:
//! their JSON field names are stable (rename, never remove; add fields with `#[serde(default)]`).
//! No secret is ever part of a record: the export's password is shown once to the operator and
//! stored nowhere.

use jiff::Timestamp;
use scelle_adapters::{ClockOffset, DeviceInfo, Gap, TimeRange};
use serde::{Deserialize, Serialize};

use crate::drive::DriveIdentity;
use crate::register::Head;

/// Manifest format version written in [`ExportRecord::format`].
pub const RECORD_FORMAT: u32 = 1;

/// An export, complete and verified.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExportRecord {
    /// [`RECORD_FORMAT`].
    pub format: u32,
    /// Unique id of this export (`EXP-…`), several exports of one case are possible.
    pub export_id: String,
    pub case_id: String,
    /// The case's external reference (requisition number…), also the export folder's name.
    pub case_reference: String,
    /// Person id of the operator who ran it.
    pub operator: String,
    pub site_name: String,
    /// IANA zone used for every local time shown to people.
    pub time_zone: String,
    pub started_at: Timestamp,
    pub finished_at: Timestamp,
    /// The register's head when the export started.
    pub register_head: Head,
    pub destination: Destination,
    /// One per camera × requested range.
    pub files: Vec<ExportedFile>,
    /// The sealed manifest file (absent inside the manifest itself, which cannot hash itself).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest: Option<FileDigest>,
}

/// Where the export was written.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Destination {
    /// The export folder: `<--to>/<case reference>`.
    pub path: String,
    pub drive: DriveIdentity,
    /// The drive is in the configured list of approved encrypted drives (ENC-3).
    pub approved: bool,
    /// The operator accepted a drive not in that list (`--accept-drive`).
    pub accepted_by_operator: bool,
    /// The approved drive's certification from the configuration (`CSPN-2023/12`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certification: Option<String>,
}

/// A file of the export folder: name (relative to the folder), size and SHA-256 of its bytes
/// as stored (for sealed files: of the ciphertext, which the recipient checks before opening).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileDigest {
    pub name: String,
    pub size: u64,
    /// Lowercase hex.
    pub sha256: String,
}

/// One sealed MP4: one camera, one requested range.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExportedFile {
    pub file: FileDigest,
    /// Camera id in the configuration, and its human name.
    pub camera: String,
    pub camera_name: String,
    pub requested: TimeRange,
    /// Spans actually in the file, in order, on the server's clock (UTC): the file itself keeps
    /// the device's own times, mapped here through `clock_offset` when the device gave times.
    pub covered: Vec<TimeRange>,
    /// Spans of the request with no footage, and why.
    pub gaps: Vec<Gap>,
    /// Seconds of footage covered (sum of `covered`).
    pub covered_seconds: f64,
    /// Video frames (samples of the first track).
    pub frames: u64,
    /// Codecs, e.g. `["H.264 1920x1080", "AAC 16000 Hz"]`.
    pub tracks: Vec<String>,
    /// `true` when the file's start time is the device's own; `false` if the server's was used.
    pub start_from_device: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<DeviceInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock_offset: Option<ClockOffset>,
    /// How the link to the camera was secured (ENC-5): TLS or not, with which pinned
    /// certificate or CA file, and the configured reason of any exception. Absent in records
    /// made before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<crate::config::LinkSecurity>,
    /// For an access request (DEL-2): the file holds the footage with third parties' faces
    /// blurred and no audio, never the original; how it was done. Absent: the original.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anonymized: Option<Anonymized>,
}

/// How one file of an access-request export was anonymized (DEL-2, decision 0150): the
/// engine's summary (`crate::anonymize::Summary`), the requester's track kept visible if the
/// operator chose one, and why the footage was not viewed on site instead.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Anonymized {
    /// The face detector and its runtime.
    pub detector: String,
    /// SHA-256 of the model file, checked at load.
    pub model_sha256: String,
    /// Thresholds and masking parameters (`crate::anonymize::Params`).
    pub params: serde_json::Value,
    /// Frames decoded, rendered and encoded; frames the detector ran on.
    pub frames: u64,
    pub frames_detected: u64,
    /// Face tracks found, and blurred (all but the kept one).
    pub tracks_found: usize,
    pub tracks_blurred: usize,
    /// The requester's track left visible (its number on the review sheet), if any.
    #[serde(default)]
    pub kept_track: Option<u32>,
    /// Who chose the kept track (or that everyone be blurred): the operator who ran the
    /// export and signs its `export-completed` entry.
    pub confirmed_by: String,
    /// Face boxes masked over all frames.
    pub boxes_masked: u64,
    /// What became of the audio: `removed` (third parties' voices).
    pub audio: String,
    /// Why the footage could not be viewed on site (DEL-2).
    pub no_viewing_reason: String,
}
