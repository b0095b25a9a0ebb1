//! What must be purged, and when (PUR-1, RET): a pure function of the register's entries, the
//! state directory and a clock, so a test can move time.
//!
//! Items (decision 0050):
//! - **export folders** (`export:<EXPORT-ID>`): every folder an `export-completed` entry
//!   records. Once the case is closed (the end of legitimate use) no copy scelle can still
//!   reach has a reason to exist: due 30 days after `case-closed`. The medium handed to the
//!   recipient is no longer on the server, so its folder is absent and shown as such. An
//!   operator may purge an export earlier on request.
//! - **staged files** (`staged:<CASE>:<NAME>`): anything under `STATE/staging/<CASE>/`; same
//!   deadline, same early purge.
//! - **case documents** (`document:<SHA-256>`): written requests and signed receipts. Kept at
//!   least 5 years after the case's closing (DEL-1, RET); refused before, due then. A document
//!   shared by several cases waits for the last of them.
//!
//! Register entries are never purged: the register refuses deletions.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use jiff::{Span, Timestamp, ToSpan};
use serde::Serialize;

use crate::register::{Entry, EntryKind};

/// Days after the end of legitimate use within which temporary copies are erased (PUR-1).
pub const GRACE_DAYS: i64 = 30;
/// Years a case's documents are kept after its closing (DEL-1).
pub const RETENTION_YEARS: i64 = 5;

/// The server's clock: the one clock of the code base, in the adapters crate (also used to
/// measure devices' clock offsets); tests inject [`FixedClock`].
pub use scelle_adapters::clock::{Clock, FixedClock, SystemClock};

/// What kind of copy an item is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ItemKind {
    Export,
    Staged,
    Document,
}

/// One thing to purge.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Item {
    /// `export:…`, `staged:…:…` or `document:…`: what `purge run ID` takes.
    pub id: String,
    pub kind: ItemKind,
    pub case_id: String,
    pub path: PathBuf,
    /// When it must be gone; `None` while its case is open (no end of use yet).
    pub due: Option<Timestamp>,
    /// Before this, a purge is refused (retention); `None`: purge on request at any time.
    pub not_before: Option<Timestamp>,
    /// The path exists on this server.
    pub present: bool,
}

impl Item {
    /// Due now and still here.
    pub fn is_due(&self, now: Timestamp) -> bool {
        self.present && self.due.is_some_and(|d| d <= now)
    }

    /// Past its deadline and still here: the scheduler could not purge it, someone must act.
    pub fn is_overdue(&self, now: Timestamp) -> bool {
        self.present && self.due.is_some_and(|d| d < now)
    }
}

fn add(t: Timestamp, span: Span) -> Timestamp {
    t.to_zoned(jiff::tz::TimeZone::UTC)
        .checked_add(span)
        .map(|z| z.timestamp())
        .unwrap_or(Timestamp::MAX)
}

/// Every item not yet purged, in register order.
pub fn plan(entries: &[Entry], state_dir: &Path) -> Vec<Item> {
    let mut closed: BTreeMap<String, Option<Timestamp>> = BTreeMap::new();
    let mut purged = std::collections::HashSet::new();
    for e in entries {
        let Some(case) = &e.case_id else { continue };
        match e.kind {
            EntryKind::CaseOpened => {
                closed.insert(case.clone(), None);
            }
            EntryKind::CaseClosed => {
                closed.insert(case.clone(), Some(e.time));
            }
            EntryKind::Purged if e.payload["complete"] != false => {
                if let Some(id) = e.payload["item"].as_str() {
                    purged.insert(id.to_owned());
                }
            }
            EntryKind::PeopleChanged
            | EntryKind::ConfigChanged
            | EntryKind::DocumentAttached
            | EntryKind::RequesterVerified
            | EntryKind::IdentityProven
            | EntryKind::ViewedOnSite
            | EntryKind::CaseAuthorized
            | EntryKind::EmergencyStarted
            | EntryKind::EmergencyRegularized
            | EntryKind::ExportStarted
            | EntryKind::ExportCompleted
            | EntryKind::ExportFailed
            | EntryKind::ExportInterrupted
            | EntryKind::ExportVerified
            | EntryKind::Delivered
            | EntryKind::ReceiptAttached
            | EntryKind::Purged
            | EntryKind::MediaInventoried
            | EntryKind::Checkpoint
            | EntryKind::MediaDestroyed
            | EntryKind::ExportCountersigned => {}
        }
    }
    let closed_at = |case: &str| closed.get(case).copied().flatten();
    let mut items: Vec<Item> = Vec::new();
    let mut documents: BTreeMap<String, (String, Vec<String>)> = BTreeMap::new();
    for e in entries {
        let Some(case) = &e.case_id else { continue };
        match e.kind {
            EntryKind::ExportCompleted => {
                let rec = &e.payload["record"];
                let (Some(export), Some(path)) = (
                    rec["export_id"].as_str(),
                    rec["destination"]["path"].as_str(),
                ) else {
                    continue;
                };
                let path = PathBuf::from(path);
                items.push(Item {
                    id: format!("export:{export}"),
                    kind: ItemKind::Export,
                    case_id: case.clone(),
                    present: path.exists(),
                    path,
                    due: closed_at(case).map(|t| add(t, GRACE_DAYS.days())),
                    not_before: None,
                });
            }
            EntryKind::DocumentAttached => {
                if let Some(sha) = e.payload["sha256"].as_str() {
                    let d = documents
                        .entry(sha.to_owned())
                        .or_insert_with(|| (case.clone(), Vec::new()));
                    if !d.1.contains(case) {
                        d.1.push(case.clone());
                    }
                }
            }
            EntryKind::PeopleChanged
            | EntryKind::ConfigChanged
            | EntryKind::CaseOpened
            | EntryKind::RequesterVerified
            | EntryKind::IdentityProven
            | EntryKind::ViewedOnSite
            | EntryKind::CaseAuthorized
            | EntryKind::EmergencyStarted
            | EntryKind::EmergencyRegularized
            | EntryKind::ExportStarted
            | EntryKind::ExportFailed
            | EntryKind::ExportInterrupted
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
    for (sha, (first_case, cases)) in documents {
        let ends: Option<Vec<Timestamp>> = cases.iter().map(|c| closed_at(c)).collect();
        let kept_until = ends
            .and_then(|v| v.into_iter().max())
            .map(|t| add(t, RETENTION_YEARS.years()));
        let path = state_dir.join("documents").join(&sha);
        items.push(Item {
            id: format!("document:{sha}"),
            kind: ItemKind::Document,
            case_id: first_case,
            present: path.exists(),
            path,
            due: kept_until,
            not_before: Some(kept_until.unwrap_or(Timestamp::MAX)),
        });
    }
    let staging = state_dir.join("staging");
    for case in closed.keys() {
        let Ok(dir) = std::fs::read_dir(staging.join(case)) else {
            continue;
        };
        let mut names: Vec<PathBuf> = dir.filter_map(|e| e.ok().map(|e| e.path())).collect();
        names.sort();
        for path in names {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            items.push(Item {
                id: format!("staged:{case}:{name}"),
                kind: ItemKind::Staged,
                case_id: case.clone(),
                present: true,
                path,
                due: closed_at(case).map(|t| add(t, GRACE_DAYS.days())),
                not_before: None,
            });
        }
    }
    items.retain(|i| !purged.contains(&i.id));
    items
}
