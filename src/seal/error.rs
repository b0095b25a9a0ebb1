//! The container's typed errors: one kind per way a sealed file can fail, so the CLI, the export
//! pipeline and tests can match on *what* failed (wrong password, which chunk, truncation...)
//! rather than on message text. Messages name the chunk and say what to do; they never carry a
//! password, a key or plaintext.

use crate::error::{Exit, ExitStatus};

/// Everything that can go wrong writing, reading or checking a sealed container.
///
/// Chunks are numbered from 0, as in the nonce counter (`docs/FORMAT.md`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SealError {
    /// The first bytes are not the container magic.
    #[error("not a scelle container (bad magic bytes): check that this is the sealed file")]
    NotAContainer,
    /// A format version this build does not know.
    #[error("unknown container version {found} (this scelle reads version 1): use a newer scelle")]
    UnknownVersion { found: u16 },
    /// A header field that must hold a fixed or bounded value does not.
    #[error("malformed container header: {reason}; the file is damaged")]
    MalformedHeader { reason: &'static str },
    /// Argon2id parameters outside the bounds a reader accepts (checked before any work).
    #[error(
        "key derivation parameter {name} = {value} is outside [{min}, {max}]: \
         the header is damaged or forged; refusing to run the key derivation"
    )]
    KdfOutOfBounds {
        name: &'static str,
        value: u64,
        min: u64,
        max: u64,
    },
    /// The password does not unwrap the file key, or the authenticated header was changed.
    #[error("wrong password, or the container header is damaged: check the password and retry")]
    WrongPassword,
    /// The encrypted metadata block failed authentication.
    #[error("the encrypted metadata block failed authentication: the file is damaged")]
    MetadataTampered,
    /// The metadata decrypted but is not valid JSON of the expected shape.
    #[error("the metadata block is not valid: {reason}")]
    MetadataInvalid { reason: String },
    /// The file ends before the final chunk: `after_chunk` intact chunks were read.
    #[error(
        "the container is truncated: it ends after {after_chunk} intact chunk(s), \
         the final chunk is missing; copy the file again"
    )]
    Truncated { after_chunk: u64 },
    /// A chunk failed authentication (modified, or cut in the middle).
    #[error("chunk {chunk} failed authentication: the file is damaged or was modified")]
    Tampered { chunk: u64 },
    /// The chunk at position `chunk` is the genuine chunk `found`, from later in the file.
    #[error("chunks are out of order: position {chunk} holds chunk {found}; the file was modified")]
    Reordered { chunk: u64, found: u64 },
    /// The chunk at position `chunk` is a second copy of chunk `copy_of`.
    #[error("chunk {copy_of} appears again at position {chunk}: the file was modified")]
    Duplicated { chunk: u64, copy_of: u64 },
    /// Bytes follow the authenticated final chunk.
    #[error("data follows the final chunk (after {after_chunk} chunks): the file was modified")]
    TrailingData { after_chunk: u64 },
    /// A value given to the writer is unusable (metadata too large, bad chunk size...).
    #[error("invalid sealing request: {reason}")]
    InvalidRequest { reason: String },
    /// More chunks than the 32-bit nonce counter allows.
    #[error("input too large for one container (more than 2^32 chunks)")]
    TooLarge,
    /// The writer's hashing thread stopped unexpectedly.
    #[error(
        "the sealing thread (SHA-256) stopped unexpectedly; the container is incomplete, seal again"
    )]
    WorkerLost,
    /// Reading or writing the underlying file failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}

impl SealError {
    /// True for the kinds that mean "the bytes are not what was sealed".
    pub fn is_integrity(&self) -> bool {
        matches!(
            self,
            SealError::NotAContainer
                | SealError::UnknownVersion { .. }
                | SealError::MalformedHeader { .. }
                | SealError::KdfOutOfBounds { .. }
                | SealError::MetadataTampered
                | SealError::MetadataInvalid { .. }
                | SealError::Truncated { .. }
                | SealError::Tampered { .. }
                | SealError::Reordered { .. }
                | SealError::Duplicated { .. }
                | SealError::TrailingData { .. }
        )
    }

    /// Recovers a typed error carried inside an `io::Error` by the `Read`/`Write` impls.
    pub fn from_io(err: std::io::Error) -> SealError {
        if err
            .get_ref()
            .is_some_and(|inner| inner.downcast_ref::<SealError>().is_some())
        {
            // Checked just above: the inner error is a SealError.
            match err.into_inner().map(|b| b.downcast::<SealError>()) {
                Some(Ok(seal)) => *seal,
                _ => SealError::WorkerLost,
            }
        } else {
            SealError::Io(err)
        }
    }

    /// Wraps this error in an `io::Error` (for the `Read`/`Write` impls).
    pub(crate) fn into_io(self) -> std::io::Error {
        match self {
            SealError::Io(e) => e,
            other => std::io::Error::new(std::io::ErrorKind::InvalidData, other),
        }
    }
}

impl ExitStatus for SealError {
    fn exit(&self) -> Exit {
        match self {
            SealError::WrongPassword => Exit::WrongPassword,
            e if e.is_integrity() => Exit::Integrity,
            _ => Exit::Failure,
        }
    }
}
