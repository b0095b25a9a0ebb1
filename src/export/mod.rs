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
pub mod scan;
pub mod sealed;
pub mod texts;

pub use pipeline::{ExportRequest, Verified, run};

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
    #[error("camera `{camera}`: {step}{source}")]
    Source {
        camera: String,
        step: SourceStep,
        /// Boxed: the adapters' error is large and an export error travels far.
        #[source]
        source: Box<scelle_adapters::Error>,
    },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("no space left on the destination drive while writing {path}: use a larger drive")]
    NoSpace { path: PathBuf },
    /// `camera` is `-` for the manifest.
    #[error("camera `{camera}`: {source}")]
    Write {
        camera: String,
        #[source]
        source: WriteError,
    },
    #[error("verification of {file} failed: {source}")]
    Verify {
        file: String,
        #[source]
        source: VerifyError,
    },
    #[error("interrupted: {0}")]
    Interrupted(String),
    #[error("register: {0}")]
    Register(#[from] RegisterError),
}

/// Where a source failed: building it from the configuration, or pulling from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SourceStep {
    Build,
    Pull,
}

impl std::fmt::Display for SourceStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SourceStep::Build => Ok(()),
            SourceStep::Pull => f.write_str("the pull failed: "),
        }
    }
}

/// Why a file could not be written (its I/O errors are [`ExportError::Io`]).
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("{0}")]
    Mp4(#[from] crate::mp4::Mp4Error),
    #[error("{0}")]
    Seal(#[from] crate::seal::SealError),
    #[error("manifest: {0}")]
    Manifest(#[from] serde_json::Error),
    /// Decoding, face detection, masking or re-encoding of an access-request export.
    #[cfg(feature = "anonymize")]
    #[error("anonymization: {0}")]
    Anonymize(#[from] crate::anonymize::AnonymizeError),
}

/// Why a file read back from the drive does not hold.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The container does not open or a chunk does not authenticate.
    /// An anonymized file does not hold as many pictures as the engine rendered.
    #[error("read back {read} video frames, the anonymizer rendered {rendered}")]
    Frames { read: u64, rendered: u64 },
    /// An anonymized file read back into memory does not decode (ffprobe's words).
    #[error("{0}")]
    Probe(String),
    #[error("{0}")]
    Seal(#[from] crate::seal::SealError),
    /// Reading the plaintext through the container failed.
    #[error("{0}")]
    Read(#[from] std::io::Error),
    /// The MP4 does not parse as it streams out.
    #[error("{0}")]
    Scan(#[from] scan::ScanError),
    #[error(
        "read back {read} bytes with SHA-256 {read_sha}, but {written} bytes with SHA-256 \
         {written_sha} were written"
    )]
    Digest {
        read: u64,
        read_sha: String,
        written: u64,
        written_sha: String,
    },
    #[error(
        "read back {read_fragments} fragments and {read_samples} samples, the writer wrote \
         {written_fragments} and {written_samples}"
    )]
    Counts {
        read_fragments: u64,
        read_samples: u64,
        written_fragments: u64,
        written_samples: u64,
    },
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
