//! scelle-adapters: everything that talks to a camera or a recorder.
//!
//! Adapters know nothing of cases, registers or encryption. They turn "camera X, from T0 to T1"
//! into a stream of [`Event`]s: the media description, access units (one encoded picture or
//! audio frame each, with the camera's own time kept beside the server's clock reading) and
//! [`Gap`]s, never hiding a missing second. The export pipeline (in the `scelle` crate) consumes
//! these events to write MP4.

// A `pub` item nothing outside its module tree can reach says `pub(crate)` or less, so dead
// code (a check nobody calls) stays visible.
#![warn(unreachable_pub)]

pub mod clock;
pub mod credentials;
pub mod digest;
pub mod error;
pub mod media;
pub mod onvif;
pub mod playback;
pub mod rtsp;
pub mod segments;
pub mod source;

pub use error::{Error, redact_url};
pub use media::{AccessUnit, Codec, Event, Gap, GapReason, Pace, StreamInfo};
pub use source::{
    BoxFuture, ClockOffset, DeviceInfo, Plan, PullSummary, Recording, Source, TimeRange,
};
