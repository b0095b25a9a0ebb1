//! One sealed file of an export: written through `mp4 → SealWriter → File` (the file created
//! with `O_EXCL` under a `.partial` name, so the MP4 exists only inside the writer chain), made
//! durable with `fsync`, dropped from the page cache, then read back from the drive and checked:
//! every chunk authenticated, the SHA-256 of the ciphertext recomputed and compared, and the
//! MP4 scanned as it streams out of the reader. Only then is the file renamed to its final name.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use rustix::fs::Advice;
use scelle_adapters::Event;

use super::folder::ExportDir;
use super::scan::{Mp4Scan, scan};
use super::{ExportError, PARTIAL_SUFFIX, VerifyError};
use crate::mp4::{Mp4Error, Mp4Summary, Provenance, write_events};
use crate::seal::{Hashing, Metadata, SealError, SealParams, SealReader, SealSummary, SealWriter};

/// The `.partial` path of `final_path`.
pub fn partial_of(final_path: &Path) -> PathBuf {
    let mut s = final_path.as_os_str().to_owned();
    s.push(PARTIAL_SUFFIX);
    PathBuf::from(s)
}

/// The file name of `path`, a file of the export folder `dir`.
fn name_in<'a>(dir: &ExportDir, path: &'a Path) -> Result<&'a str, ExportError> {
    match (path.parent(), path.file_name().and_then(|n| n.to_str())) {
        (Some(parent), Some(name)) if parent == dir.path() => Ok(name),
        _ => Err(ExportError::BadInput(format!(
            "{} is not a file of the export folder {}",
            path.display(),
            dir.path().display()
        ))),
    }
}

/// Creates `path` exclusively in the export folder (`O_EXCL | O_NOFOLLOW` relative to the
/// folder's descriptor): an existing file is never overwritten, a symlink never followed.
pub fn create_exclusive(dir: &ExportDir, path: &Path) -> Result<File, ExportError> {
    dir.create_in_export_dir(name_in(dir, path)?)
}

/// Flushes `file` to the drive and drops its pages from the cache, so the read-back reads the
/// drive, not memory.
fn durable_and_uncached(file: &File, path: &Path) -> Result<(), ExportError> {
    file.sync_all().map_err(|e| ExportError::io(path, e))?;
    let _ = rustix::fs::fadvise(file, 0, None, Advice::DontNeed);
    Ok(())
}

/// How a file is sealed: the export's password, the container parameters, its metadata.
pub struct Sealing<'a> {
    pub password: &'a str,
    pub params: &'a SealParams,
    pub metadata: &'a Metadata,
}

/// Writes the events as a sealed fragmented MP4 at `partial`.
pub fn write_mp4(
    events: impl IntoIterator<Item = Event>,
    dir: &ExportDir,
    partial: &Path,
    sealing: Sealing<'_>,
    provenance: Provenance,
    fallback_start: Timestamp,
    camera: &str,
) -> Result<(Mp4Summary, SealSummary), ExportError> {
    let file = create_exclusive(dir, partial)?;
    let sealer = SealWriter::new(
        file,
        sealing.password.as_bytes(),
        sealing.metadata,
        sealing.params,
    )
    .map_err(|e| seal_err(partial, camera, e))?;
    let (sealer, mp4) =
        write_events(events, sealer, provenance, fallback_start).map_err(|e| match e {
            Mp4Error::Io(io) => ExportError::io(partial, io),
            other => ExportError::Write {
                camera: camera.to_owned(),
                source: other.into(),
            },
        })?;
    let (seal, file) = sealer
        .finish_into_inner()
        .map_err(|e| seal_err(partial, camera, e))?;
    durable_and_uncached(&file, partial)?;
    Ok((mp4, seal))
}

fn seal_err(partial: &Path, camera: &str, e: SealError) -> ExportError {
    match e {
        SealError::Io(io) => ExportError::io(partial, io),
        other => ExportError::Write {
            camera: camera.to_owned(),
            source: other.into(),
        },
    }
}

/// Seals `bytes` (the manifest) at `partial`.
pub fn write_bytes(
    bytes: &[u8],
    dir: &ExportDir,
    partial: &Path,
    password: &str,
    params: &SealParams,
    metadata: &Metadata,
) -> Result<SealSummary, ExportError> {
    let file = create_exclusive(dir, partial)?;
    let io_err = |e: SealError| seal_err(partial, "-", e);
    let mut sealer =
        SealWriter::new(file, password.as_bytes(), metadata, params).map_err(io_err)?;
    sealer
        .write_all(bytes)
        .map_err(|e| ExportError::io(partial, e))?;
    let (seal, file) = sealer.finish_into_inner().map_err(io_err)?;
    durable_and_uncached(&file, partial)?;
    Ok(seal)
}

/// Reads `path` back from the drive: authenticates every chunk, recomputes the ciphertext's
/// SHA-256 and compares it with `expected`; for an MP4, scans it as it streams out.
pub fn verify(
    dir: &ExportDir,
    path: &Path,
    password: &str,
    expected: &SealSummary,
    mp4: bool,
) -> Result<Option<Mp4Scan>, ExportError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let fail = |source: VerifyError| ExportError::Verify {
        file: name.clone(),
        source,
    };
    let file = dir.open_read(name_in(dir, path)?)?;
    let _ = rustix::fs::fadvise(&file, 0, None, Advice::DontNeed);
    let mut hashing = Hashing::new(file);
    let found = {
        let mut reader =
            SealReader::new(&mut hashing, password.as_bytes()).map_err(|e| fail(e.into()))?;
        let found = if mp4 {
            Some(scan(&mut reader).map_err(|e| fail(e.into()))?)
        } else {
            None
        };
        io::copy(&mut reader, &mut io::sink()).map_err(|e| fail(e.into()))?;
        found
    };
    let (sha, bytes) = hashing.finish().map_err(|e| ExportError::io(path, e))?;
    if sha != expected.sha256 || bytes != expected.bytes {
        return Err(fail(VerifyError::Digest {
            read: bytes,
            read_sha: hex::encode(sha),
            written: expected.bytes,
            written_sha: hex::encode(expected.sha256),
        }));
    }
    Ok(found)
}

/// Renames `partial` to `final_path` in the export folder (never over an existing file) and
/// makes the rename durable.
pub fn promote(dir: &ExportDir, partial: &Path, final_path: &Path) -> Result<(), ExportError> {
    dir.rename(name_in(dir, partial)?, name_in(dir, final_path)?)
}
