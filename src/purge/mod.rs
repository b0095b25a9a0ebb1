//! Purge of temporary copies (PUR-1…4, issue 8): every copy scelle knows of has a deadline
//! ([`plan`]), is erased by overwriting, key first for sealed files ([`erase`]), and each
//! purge is recorded in the register, one `purged` entry per item, by the person (or the
//! daemon's scheduler, actor `scelle`) who did it.
//!
//! A case's documents are kept at least 5 years after its closing: an earlier purge is
//! refused with [`PurgeError::Retained`]. Register entries are never purged.

pub mod erase;
pub mod plan;

use std::path::Path;

use jiff::Timestamp;
use serde_json::json;

use crate::error::{Exit, ExitStatus};
use crate::register::{Entry, EntryKind, NewEntry, Register, RegisterError};
pub use plan::{Clock, FixedClock, Item, ItemKind, SystemClock};

/// Why a purge did not happen.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PurgeError {
    #[error("no purge item `{0}` (already purged, or unknown): `scelle purge list` shows them")]
    NotFound(String),
    #[error(
        "refused: {item} is a case document, kept at least 5 years after the case is closed \
         (until {until}); it cannot be purged earlier"
    )]
    Retained { item: String, until: String },
    #[error(
        "{item}: {path} is not on this server (medium handed over or not mounted): mount it \
         and run `scelle purge run {item}` again"
    )]
    Absent { item: String, path: String },
    #[error("cannot erase {path}: {source}; nothing was recorded, run the purge again")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("register: {0}")]
    Register(#[from] RegisterError),
}

impl ExitStatus for PurgeError {
    fn exit(&self) -> Exit {
        match self {
            PurgeError::NotFound(_) => Exit::Usage,
            _ => Exit::Failure,
        }
    }
}

/// The items not yet purged, as of the register now.
pub fn items(register: &Register, state_dir: &Path) -> Result<Vec<Item>, PurgeError> {
    Ok(plan::plan(&register.entries(None)?, state_dir))
}

/// Purges one item now (on request, or because it is due): refuses documents still under
/// retention, erases, and records one `purged` entry by `actor`.
pub fn purge(
    register: &Register,
    item: &Item,
    actor: &str,
    now: Timestamp,
) -> Result<Entry, PurgeError> {
    if let Some(until) = item.not_before
        && now < until
    {
        let until = if until == Timestamp::MAX {
            "5 years after the case is closed; it is still open".to_owned()
        } else {
            until.strftime("%Y-%m-%d").to_string()
        };
        return Err(PurgeError::Retained {
            item: item.id.clone(),
            until,
        });
    }
    if !item.present || !item.path.exists() {
        return Err(PurgeError::Absent {
            item: item.id.clone(),
            path: item.path.display().to_string(),
        });
    }
    let mut files = Vec::new();
    let outcome = erase::erase_tree_into(&item.path, &mut files);
    let failure = outcome.as_ref().err().map(|e| e.to_string());
    if failure.is_some() && files.is_empty() {
        return Err(PurgeError::Io {
            path: item.path.display().to_string(),
            source: outcome.expect_err("failure is some"),
        });
    }
    // Whatever was destroyed is recorded, even when a later file failed (PUR-3); such a
    // partial entry (`complete: false`) leaves the item in the plan until it is finished.
    let bytes: u64 = files.iter().map(|f| f.size).sum();
    let on_request = item.due.is_none_or(|d| d > now);
    let entry = register.append(NewEntry::new(
        EntryKind::Purged,
        Some(&item.case_id),
        actor,
        json!({
            "item": item.id,
            "kind": item.kind,
            "path": item.path,
            "due": item.due,
            "on_request": on_request,
            "complete": failure.is_none(),
            "error": failure,
            "method": "sealed files: wrapped key overwritten first; every byte overwritten \
                       with random data, fsync, unlink, fsync of the folder",
            "files": files.iter().map(|f| json!({
                "path": f.path, "size": f.size, "sha256": f.sha256, "sealed": f.sealed,
            })).collect::<Vec<_>>(),
            "bytes": bytes,
        }),
    ))?;
    if let Err(source) = outcome {
        tracing::error!(target: crate::security_log::TARGET, event = "purge-failed",
            item = %item.id, case = %item.case_id, erased = files.len(),
            error = %source, "purge stopped part-way; what was erased is recorded");
        return Err(PurgeError::Io {
            path: item.path.display().to_string(),
            source,
        });
    }
    tracing::info!(target: crate::security_log::TARGET, event = "purged",
        item = %item.id, case = %item.case_id, actor, files = files.len(), bytes, "purged");
    Ok(entry)
}

/// Purges the item `id` now, on request.
pub fn purge_one(
    register: &Register,
    state_dir: &Path,
    id: &str,
    actor: &str,
    clock: &dyn Clock,
) -> Result<Entry, PurgeError> {
    let item = items(register, state_dir)?
        .into_iter()
        .find(|i| i.id == id)
        .ok_or_else(|| PurgeError::NotFound(id.to_owned()))?;
    purge(register, &item, actor, clock.now())
}

/// Each item a pass tried, and what came of it.
pub type Outcomes = Vec<(Item, Result<Entry, PurgeError>)>;

/// One pass of the scheduler: purges every item due, and returns what happened to each.
pub fn run_due(
    register: &Register,
    state_dir: &Path,
    actor: &str,
    clock: &dyn Clock,
) -> Result<Outcomes, PurgeError> {
    let now = clock.now();
    Ok(items(register, state_dir)?
        .into_iter()
        .filter(|i| i.is_due(now))
        .map(|i| {
            let r = purge(register, &i, actor, now);
            (i, r)
        })
        .collect())
}

/// What one scheduler tick did.
#[derive(Debug, Default)]
pub struct Tick {
    pub purged: Vec<String>,
    pub failed: Vec<(String, String)>,
    /// Items past their deadline still here after the tick (absent media are not counted:
    /// the copy went with the recipient or the drive is not mounted).
    pub overdue: Vec<Item>,
}

/// One tick of the daemon's purge scheduler: purges what is due (actor `scelle`), then logs
/// every item still overdue at error level, every tick, until someone acts (PUR-1).
pub fn tick(register: &Register, state_dir: &Path, clock: &dyn Clock) -> Result<Tick, PurgeError> {
    let mut t = Tick::default();
    for (item, r) in run_due(register, state_dir, "scelle", clock)? {
        match r {
            Ok(_) => t.purged.push(item.id),
            Err(e) => {
                tracing::error!(item = %item.id, case = %item.case_id, error = %e,
                    "scheduled purge failed (PUR-1)");
                t.failed.push((item.id, e.to_string()));
            }
        }
    }
    let now = clock.now();
    t.overdue = items(register, state_dir)?
        .into_iter()
        .filter(|i| i.is_overdue(now))
        .collect();
    for i in &t.overdue {
        tracing::error!(target: crate::security_log::TARGET, event = "purge-overdue",
            item = %i.id, case = %i.case_id, path = %i.path.display(),
            due = ?i.due, "PURGE OVERDUE (PUR-1): a temporary copy outlived its deadline; \
            `scelle purge run` it");
    }
    Ok(t)
}
