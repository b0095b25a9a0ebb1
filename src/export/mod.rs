//! The export pipeline (issue 7): case → sources → fragmented MP4 → sealed containers on the
//! destination drive → read-back verification → register entries.
//!
//! [`record`] is the contract shared with the rest of the crate: what an export produced, as
//! the sealed manifest, the register's `export-verified` / `export-completed` payloads and the
//! delivery receipt all state it. [`destination`] checks the drive before anything is written,
//! [`sealed`] writes and verifies one container (plaintext only ever exists inside the writer
//! chain), [`pipeline`] runs the cameras in parallel, [`journal`] writes the register entries
//! and finds exports a crash interrupted, [`texts`] writes the recipient's instructions.
//! Decisions: `docs/decisions/0040-export-pipeline.md`.

pub mod destination;
pub mod folder;
pub mod journal;
pub mod page;
pub mod pipeline;
pub mod record;
pub mod scan;
pub mod sealed;
pub mod texts;

pub use pipeline::{ExportRequest, Verified, run};
pub use record::{Anonymized, DriveIdentity, ExportRecord, ExportedFile, FileDigest};

use std::path::{Path, PathBuf};

use crate::error::{Exit, ExitStatus};
use crate::register::RegisterError;

/// Suffix of a file still being written or verified.
pub const PARTIAL_SUFFIX: &str = ".partial";

/// Why an export did not happen or did not finish.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExportError {
    /// Policy or destination check refused it before anything was written.
    #[error("refused: {0}")]
    Refused(String),
    #[error("{0}")]
    BadInput(String),
    #[error("camera `{camera}`: {message}")]
    Source { camera: String, message: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("no space left on the destination drive while writing {path}: use a larger drive")]
    NoSpace { path: PathBuf },
    #[error("camera `{camera}`: {message}")]
    Write { camera: String, message: String },
    #[error("verification of {file} failed: {reason}")]
    Verify { file: String, reason: String },
    #[error("interrupted: {0}")]
    Interrupted(String),
    #[error("register: {0}")]
    Register(#[from] RegisterError),
}

impl ExportError {
    pub fn io(path: &Path, source: std::io::Error) -> ExportError {
        if source.raw_os_error() == Some(28) {
            return ExportError::NoSpace {
                path: path.to_owned(),
            };
        }
        ExportError::Io {
            path: path.to_owned(),
            source,
        }
    }
}

impl ExitStatus for ExportError {
    fn exit(&self) -> Exit {
        match self {
            ExportError::BadInput(_) => Exit::Usage,
            _ => Exit::Failure,
        }
    }
}
