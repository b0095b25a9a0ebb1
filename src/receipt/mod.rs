//! The delivery receipt (DEL-1, issue 8): the paper both parties sign when the evidence
//! changes hands, as an A4 PDF, French by default, English on request.
//!
//! It states the case, the legal ground, who hands over and who receives, and for every file
//! of the export its camera, time range (site time zone and UTC), duration, gaps, recorder
//! clock offset, size and SHA-256, the register's head when the export started, and a QR code
//! carrying the manifest's SHA-256, so the recipient can check each file before opening it.
//!
//! [`Receipt::from_register`] gathers the facts from the register alone (the case's entries,
//! its chosen `export-completed` record, the people list and the site's identity): the receipt
//! never says anything the register does not, and states the approval, the requester check and
//! any emergency exactly as the register report does (both fold the entries with
//! [`crate::report::facts`]). [`render`] lays it out ([`layout`], [`qr`]) as an
//! archival PDF with embedded fonts (decision 0120).

pub mod delivery;
pub mod layout;
pub mod qr;
mod render;

use jiff::Timestamp;
use serde::Deserialize;

use crate::case::ExportRecord;
use crate::case::model::Opening;
use crate::error::{Exit, ExitStatus};
use crate::register::{Entry, EntryKind, Register, RegisterError};
pub use crate::wording::Lang;
pub use render::render;

/// Why a receipt could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReceiptError {
    #[error("no case {0} in the register: `scelle case list` shows the cases")]
    NoCase(String),
    #[error(
        "case {0} has no completed export{1}: a receipt describes an export, run `scelle case export` first"
    )]
    NoExport(String, String),
    #[error("the register entry #{seq} does not hold a readable {what}: {reason}")]
    BadEntry {
        seq: u64,
        what: &'static str,
        reason: String,
    },
    #[error("register: {0}")]
    Register(#[from] RegisterError),
}

impl ExitStatus for ReceiptError {
    fn exit(&self) -> Exit {
        match self {
            ReceiptError::NoCase(_) | ReceiptError::NoExport(..) => Exit::Usage,
            _ => Exit::Failure,
        }
    }
}

/// Everything a receipt prints.
#[derive(Clone, Debug)]
pub struct Receipt {
    pub case_id: String,
    pub opening: Opening,
    /// When the evidence is handed over (printed in the site's zone and UTC).
    pub handover_at: Timestamp,
    /// Who hands over: person id and full name.
    pub handed_over_by: (String, String),
    pub record: ExportRecord,
    /// Sequence number of the `export-completed` entry the receipt was made from.
    pub completed_seq: u64,
    /// The register entries the receipt's other facts come from: the case's own, the people
    /// list's changes and the site's identity (empty: those facts print as not recorded).
    pub entries: Vec<Entry>,
    /// The register's head when the receipt was made: after its own `export-completed` (and
    /// `delivered`, for a receipt printed after the hand-over), so every receipt is a witness
    /// of the register holding its export (`scelle register verify --witness`).
    pub register_head: crate::register::Head,
}

#[derive(Deserialize)]
struct Completed {
    record: ExportRecord,
}

impl Receipt {
    /// Gathers a case's receipt from the register: its opening, and its export `export_id`
    /// (default: the last completed one). `handed_over_by` defaults to the export's operator,
    /// `handover_at` to now.
    pub fn from_register(
        register: &Register,
        case_id: &str,
        export_id: Option<&str>,
        handed_over_by: Option<&str>,
        handover_at: Option<Timestamp>,
    ) -> Result<Receipt, ReceiptError> {
        let all = register.entries(None)?;
        let entries: Vec<Entry> = all
            .into_iter()
            .filter(|e| {
                e.case_id.as_deref() == Some(case_id)
                    || e.kind == EntryKind::PeopleChanged
                    || (e.kind == EntryKind::ConfigChanged
                        && (e.payload.get("site").is_some() || e.payload.get("site_key").is_some()))
            })
            .collect();
        let opened = entries
            .iter()
            .find(|e| e.kind == EntryKind::CaseOpened)
            .ok_or_else(|| ReceiptError::NoCase(case_id.to_owned()))?;
        let opening: Opening =
            serde_json::from_value(opened.payload.clone()).map_err(|e| ReceiptError::BadEntry {
                seq: opened.seq,
                what: "case opening",
                reason: e.to_string(),
            })?;
        let mut found = None;
        for e in entries
            .iter()
            .filter(|e| e.kind == EntryKind::ExportCompleted)
        {
            let c: Completed = serde_json::from_value(e.payload.clone()).map_err(|err| {
                ReceiptError::BadEntry {
                    seq: e.seq,
                    what: "export record",
                    reason: err.to_string(),
                }
            })?;
            if export_id.is_none_or(|id| id == c.record.export_id) {
                found = Some((e.seq, c.record));
            }
        }
        let (completed_seq, record) = found.ok_or_else(|| {
            ReceiptError::NoExport(
                case_id.to_owned(),
                export_id.map(|id| format!(" {id}")).unwrap_or_default(),
            )
        })?;
        let who = handed_over_by.unwrap_or(&record.operator).to_owned();
        let name = register
            .people()?
            .into_iter()
            .find(|p| p.id == who)
            .map(|p| p.name)
            .unwrap_or_else(|| who.clone());
        Ok(Receipt {
            case_id: case_id.to_owned(),
            opening,
            handover_at: handover_at.unwrap_or_else(Timestamp::now),
            handed_over_by: (who, name),
            record,
            completed_seq,
            entries,
            register_head: register.head()?,
        })
    }
}
