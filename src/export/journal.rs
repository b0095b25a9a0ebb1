//! The register entries of an export (`export-started`, `export-verified`, `export-completed`,
//! `export-failed`, `export-interrupted`) and the start-up sweep that closes the exports a crash
//! left open: an `export-started` with no outcome gets an `export-interrupted` entry, and the
//! `.partial` files of its folder are removed when the drive is still there.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Value, json};

use super::PARTIAL_SUFFIX;
use super::record::ExportRecord;
use crate::register::{Entry, EntryKind, NewEntry, Register, RegisterError};

/// The id of the export an entry is about, if it is an export entry.
pub fn export_id_of(e: &Entry) -> Option<String> {
    let p = &e.payload;
    let id = p
        .get("export_id")
        .or_else(|| p.get("record").and_then(|r| r.get("export_id")))?;
    id.as_str().map(str::to_owned)
}

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
            _ => {}
        }
    }
    let mut closed = Vec::new();
    for (id, started) in open {
        let folder = started
            .payload
            .get("folder")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let removed = if folder.is_empty() {
            Vec::new()
        } else {
            remove_partials(Path::new(folder))
        };
        append_outcome(
            register,
            EntryKind::ExportInterrupted,
            started.case_id.as_deref().unwrap_or_default(),
            &id,
            "the daemon stopped during the export (crash, kill or power loss); found at start-up",
            &removed,
        )?;
        tracing::warn!(target: crate::daemon::security::TARGET, event = "export-interrupted",
            export = %id, removed = removed.len(),
            "export interrupted by a crash: recorded in the register");
        closed.push(id);
    }
    Ok(closed)
}

/// Removes the `*.partial` files of `folder` (ciphertext only); returns their names.
pub fn remove_partials(folder: &Path) -> Vec<String> {
    let mut removed = Vec::new();
    if let Ok(dir) = std::fs::read_dir(folder) {
        for e in dir.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.ends_with(PARTIAL_SUFFIX) && std::fs::remove_file(e.path()).is_ok() {
                removed.push(name);
            }
        }
    }
    removed
}
