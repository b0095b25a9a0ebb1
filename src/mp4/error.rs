//! Errors of the MP4 writer, as kinds a caller can match.

use std::io;

use crate::error::{Exit, ExitStatus};

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Mp4Error {
    #[error("writing the MP4 failed: {0}")]
    Io(#[from] io::Error),
    #[error("stream {stream} cannot be written: {why}")]
    BadStream { stream: usize, why: String },
    #[error("access unit for stream {stream}, which was never described")]
    UnknownStream { stream: usize },
    #[error(
        "stream {stream} went back in time (pts {pts} after {previous}); the source must deliver units in order"
    )]
    NonMonotonic {
        stream: usize,
        pts: i64,
        previous: i64,
    },
    #[error("the streams changed mid-export ({why}); start a new file for the new streams")]
    StreamsChanged { why: String },
    #[error(
        "the source delivered no stream description, so there is no MP4 to write ({} gap(s) reported)",
        gaps.len()
    )]
    NoStreams { gaps: Vec<scelle_adapters::Gap> },
}

impl ExitStatus for Mp4Error {
    fn exit(&self) -> Exit {
        Exit::Failure
    }
}
