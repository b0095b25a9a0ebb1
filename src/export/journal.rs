//! The register entries of an export (`export-started`, `export-verified`, `export-completed`,
//! `export-failed`, `export-interrupted`) and the start-up sweep that closes the exports a crash
//! left open: an `export-started` with no outcome gets an `export-interrupted` entry, and every
//! file that export may have written in its folder (its planned files, verified or not, their
//! `.partial`s, the manifest and the texts) is removed when the drive is still there, then the
//! folder itself if that leaves it empty; the entry lists them, so a retry of the same command
//! finds a clean folder. Decision 0091.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Value, json};

use super::PARTIAL_SUFFIX;
use crate::case::ExportRecord;
use crate::drive::export_id_of;
use crate::register::{Entry, EntryKind, NewEntry, Register, RegisterError};

/// The `export-completed` entry the operator signs.
pub fn completed_entry(
    record: &ExportRecord,
    verified: &[u8; 32],
    started: &[u8; 32],
    operator: &str,
) -> NewEntry {
    NewEntry::new(
        EntryKind::ExportCompleted,
        Some(&record.case_id),
        operator,
        json!({ "record": record, "verified_entry": hex::encode(verified),
                "export_started": hex::encode(started) }),
    )
}

/// Appends an `export-failed` or `export-interrupted` entry.
pub fn append_outcome(
    register: &Register,
    kind: EntryKind,
    case_id: &str,
    export_id: &str,
    reason: &str,
    removed: &[String],
) -> Result<Entry, RegisterError> {
    let started = register.export_started(export_id)?.map(hex::encode);
    register.append(NewEntry::new(
        kind,
        Some(case_id),
        "scelle",
        json!({ "export_id": export_id, "reason": reason, "removed_files": removed,
                "export_started": started }),
    ))
}

/// Closes every export started but never finished (crash, SIGKILL, power loss). Returns the
/// export ids it closed.
pub fn close_interrupted(register: &Register) -> Result<Vec<String>, RegisterError> {
    let mut open: BTreeMap<String, Entry> = BTreeMap::new();
    for e in register.entries_of_kinds(&[
        EntryKind::ExportStarted,
        EntryKind::ExportCompleted,
        EntryKind::ExportFailed,
        EntryKind::ExportInterrupted,
    ])? {
        match e.kind {
            EntryKind::ExportStarted => {
                if let Some(id) = export_id_of(&e) {
                    open.insert(id, e);
                }
            }
            EntryKind::ExportCompleted | EntryKind::ExportFailed | EntryKind::ExportInterrupted => {
                if let Some(id) = export_id_of(&e) {
                    open.remove(&id);
                }
            }
            EntryKind::PeopleChanged
            | EntryKind::ConfigChanged
            | EntryKind::CaseOpened
            | EntryKind::DocumentAttached
            | EntryKind::RequesterVerified
            | EntryKind::IdentityProven
            | EntryKind::ViewedOnSite
            | EntryKind::CaseAuthorized
            | EntryKind::EmergencyStarted
            | EntryKind::EmergencyRegularized
            | EntryKind::ExportVerified
            | EntryKind::Delivered
            | EntryKind::ReceiptAttached
            | EntryKind::Purged
            | EntryKind::MediaInventoried
            | EntryKind::CaseClosed
            | EntryKind::Checkpoint
            | EntryKind::MediaDestroyed
            | EntryKind::ExportCountersigned => {}
        }
    }
    let mut closed = Vec::new();
    for (id, started) in open {
        let folder = started
            .payload
            .get("folder")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let planned: Vec<String> = started
            .payload
            .get("files")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        let removed = if folder.is_empty() {
            Vec::new()
        } else {
            remove_export_files(Path::new(folder), &planned)
        };
        append_outcome(
            register,
            EntryKind::ExportInterrupted,
            started.case_id.as_deref().unwrap_or_default(),
            &id,
            "the daemon stopped during the export (crash, kill or power loss); found at start-up",
            &removed,
        )?;
        tracing::warn!(target: crate::security_log::TARGET, event = "export-interrupted",
            export = %id, removed = removed.len(),
            "export interrupted by a crash: its files were removed and recorded in the register");
        closed.push(id);
    }
    Ok(closed)
}

/// What every export writes next to its MP4 files (see `pipeline::finish`).
pub const EXPORT_TEXTS: [&str; 5] = [
    "manifest.json.scelle",
    "LISEZMOI.txt",
    "README.txt",
    "SHA256SUMS.txt",
    super::page::FILE_NAME,
];

/// Removes from `folder` what an interrupted export may have written there: each of `planned`
/// and [`EXPORT_TEXTS`], final or `.partial`, then `folder` itself if it is left empty (listed
/// as `NAME/`). Names are never taken from the folder's listing, so files of other exports stay.
/// The folder is opened without following any symlink in its path (it was recorded canonical),
/// and the files are removed relative to it: a folder replaced by a link into the state
/// directory removes nothing there (issue 15). Returns what was removed.
pub fn remove_export_files(folder: &Path, planned: &[String]) -> Vec<String> {
    use rustix::fs::{AtFlags, Mode, OFlags, ResolveFlags};
    let mut removed = Vec::new();
    let fd = match rustix::fs::openat2(
        rustix::fs::CWD,
        folder,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
        ResolveFlags::NO_SYMLINKS,
    ) {
        Ok(fd) => fd,
        Err(rustix::io::Errno::NOENT) => return removed,
        Err(e) => {
            tracing::warn!(folder = %folder.display(), error = %e,
                "an interrupted export's folder is no longer a plain directory; nothing removed");
            return removed;
        }
    };
    let names = planned
        .iter()
        .map(String::as_str)
        .chain(EXPORT_TEXTS)
        .filter(|n| !n.is_empty() && !n.contains('/') && *n != "." && *n != "..");
    for name in names {
        for candidate in [name.to_owned(), format!("{name}{PARTIAL_SUFFIX}")] {
            if rustix::fs::unlinkat(&fd, candidate.as_str(), AtFlags::empty()).is_ok() {
                removed.push(candidate);
            }
        }
    }
    if std::fs::remove_dir(folder).is_ok() {
        let name = folder
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        removed.push(format!("{name}/"));
    }
    removed
}
