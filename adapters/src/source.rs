//! The [`Source`] trait: what every adapter (ONVIF replay, vendor playback URL, plain RTSP,
//! recorded-segment folder) offers the export pipeline. It is the seam for tests: the pipeline
//! is tested against real sources or small fakes of this trait, never against mocks of internals.

use std::future::Future;
use std::pin::Pin;

use jiff::Timestamp;
use tokio::sync::mpsc;

use crate::{Error, Event, Gap};

/// A boxed future, so that `dyn Source` is usable.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A half-open span of absolute time `[start, end)`, UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TimeRange {
    pub start: Timestamp,
    pub end: Timestamp,
}

/// What a device says it is.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DeviceInfo {
    pub vendor: String,
    pub model: String,
    pub serial: String,
    pub firmware: String,
}

/// The device's clock against the site server's (FLD-1): `device = server + offset`, known to
/// within `± uncertainty` (half the request's round trip).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ClockOffset {
    /// The server's clock when the measurement was taken.
    pub measured_at: Timestamp,
    pub offset_ms: i64,
    pub uncertainty_ms: u64,
}

/// What is recorded and what is missing in a requested range, known before pulling.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Plan {
    pub requested: TimeRange,
    /// Spans the device holds recordings for, clipped to the request, in order.
    pub recorded: Vec<TimeRange>,
    /// Spans of the request with no recording.
    pub missing: Vec<Gap>,
}

/// A recording a device holds, as `scelle camera probe` lists it: its whole span, as the device
/// reports it (quirks such as a start in 1970 are shown as read; planning decides what to trust).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Recording {
    /// The device's token or name for it.
    pub id: String,
    /// What it records (source name), when the device says.
    pub source: String,
    pub start: Option<Timestamp>,
    pub end: Option<Timestamp>,
    /// `Recording`, `Stopped`… as the device says; empty when unknown.
    pub status: String,
    /// Spans actually recorded inside, when the device tells them apart (segment folders).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub spans: Vec<TimeRange>,
}

/// How a pull ended.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PullSummary {
    pub units: u64,
    pub bytes: u64,
    pub gaps: Vec<Gap>,
}

/// A place footage can be pulled from.
pub trait Source: Send + Sync {
    /// Device facts (vendor, model, serial, firmware).
    fn describe(&self) -> BoxFuture<'_, Result<DeviceInfo, Error>>;
    /// Measure the device clock against the server's.
    fn clock_offset(&self) -> BoxFuture<'_, Result<ClockOffset, Error>>;
    /// The recordings the device holds and their time spans. Sources that cannot search (a
    /// playback URL) answer [`Error::Unsupported`].
    fn recordings(&self) -> BoxFuture<'_, Result<Vec<Recording>, Error>> {
        Box::pin(async move {
            Err(Error::Unsupported {
                what: "listing recordings".into(),
                why: "this kind of source cannot search its recordings: probe a range instead"
                    .into(),
            })
        })
    }
    /// What is recorded and missing in `range`.
    fn plan(&self, range: TimeRange) -> BoxFuture<'_, Result<Plan, Error>>;
    /// Stream `range` into `tx` ([`Event::Streams`] first, then units and gaps, then
    /// [`Event::End`]). The channel is bounded: a slow consumer slows the pull, memory stays flat.
    fn pull(
        &self,
        range: TimeRange,
        tx: mpsc::Sender<Event>,
    ) -> BoxFuture<'_, Result<PullSummary, Error>>;
}
