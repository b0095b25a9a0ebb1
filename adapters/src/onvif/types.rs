//! What the ONVIF calls scelle makes return, as plain Rust values. Times are kept as the device
//! wrote them (device clock, UTC); converting to the site server's clock is the caller's job,
//! with the measured [`crate::ClockOffset`].

use jiff::Timestamp;

/// GetSystemDateAndTime.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SystemDateAndTime {
    /// The device's UTC clock (one-second resolution). `None` when the device only gave local
    /// time without a usable zone.
    pub utc: Option<Timestamp>,
    /// The POSIX TZ string the device reports (e.g. `CET-1CEST,M3.5.0,M10.5.0/3`).
    pub tz: Option<String>,
    /// `true` when the device says it follows NTP.
    pub ntp: bool,
}

/// One service from GetServices (or a capability from GetCapabilities).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Service {
    pub namespace: String,
    pub xaddr: String,
}

/// The service addresses scelle needs, found through GetServices/GetCapabilities.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServiceMap {
    pub media: Option<String>,
    pub recording: Option<String>,
    pub search: Option<String>,
    pub replay: Option<String>,
}

/// A media profile (GetProfiles).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Profile {
    pub token: String,
    pub name: String,
    pub encoding: Option<String>,
    pub width: Option<u32>,
    pub height: Option<u32>,
}

/// The kind of a recording track.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrackKind {
    Video,
    Audio,
    Metadata,
    Other,
}

impl TrackKind {
    pub(crate) fn parse(s: &str) -> TrackKind {
        match s.trim() {
            "Video" => TrackKind::Video,
            "Audio" => TrackKind::Audio,
            "Metadata" => TrackKind::Metadata,
            _ => TrackKind::Other,
        }
    }
}

/// A recording as configured on the device (GetRecordings).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordingItem {
    pub token: String,
    pub source_name: String,
    pub content: String,
    pub tracks: Vec<(String, TrackKind)>,
}

/// A track of a recording with the span it holds data for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrackInformation {
    pub token: String,
    pub kind: TrackKind,
    pub data_from: Option<Timestamp>,
    pub data_to: Option<Timestamp>,
}

/// A recording found by a search, or from GetRecordingInformation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordingInformation {
    pub token: String,
    pub source_name: String,
    pub earliest: Option<Timestamp>,
    pub latest: Option<Timestamp>,
    pub tracks: Vec<TrackInformation>,
    /// `Recording`, `Stopped`, … as the device says.
    pub status: String,
}

/// Where a search stands (GetRecordingSearchResults).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SearchState {
    Queued,
    Searching,
    Completed,
    Unknown,
}

/// One page of search results.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchPage {
    pub state: SearchState,
    pub recordings: Vec<RecordingInformation>,
}

/// GetRecordingSummary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordingSummary {
    pub data_from: Option<Timestamp>,
    pub data_until: Option<Timestamp>,
    pub number_recordings: u32,
}

/// A SOAP fault, with the ONVIF subcode that says what went wrong (e.g. `ter:NoProfile`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SoapFault {
    /// `Sender` or `Receiver` (prefix removed).
    pub code: String,
    /// The most specific subcode, prefix removed (e.g. `NotAuthorized`, `NoRecording`).
    pub subcode: Option<String>,
    pub reason: String,
}
