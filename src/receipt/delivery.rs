//! The hand-over (DEL-1): the scan of the signed receipt goes back into the case file, stored
//! by SHA-256 like any case document, and a `delivered` register entry references it.
//!
//! Two entries, in order: `document-attached` (role `signed-receipt`, so the scan is listed
//! with the case's documents and kept as long as they are) and `delivered` (`at`, the export
//! handed over, the scan's SHA-256, the recipient).

use jiff::Timestamp;
use serde_json::json;

use crate::case::policy::{self, Refusal};
use crate::case::service::Upload;
use crate::case::{Case, CaseError, Cases};
use crate::config::Person;
use crate::register::{EntryKind, NewEntry};

/// The role of a signed receipt among a case's documents.
pub const SIGNED_RECEIPT_ROLE: &str = "signed-receipt";

/// Why a hand-over was not recorded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeliveryError {
    #[error("refused: {0}")]
    Refused(String),
    #[error("{0}")]
    BadInput(String),
    #[error(transparent)]
    Case(#[from] CaseError),
    #[error("refused: {0}")]
    Policy(#[from] Refusal),
}

/// Records that case `id`'s last completed export was handed over at `at` (default: now),
/// with the scan of the signed receipt.
pub fn record(
    cases: &Cases,
    person: &Person,
    id: &str,
    scan: Upload,
    at: Option<Timestamp>,
    now: Timestamp,
) -> Result<Case, DeliveryError> {
    let case = cases.get(id)?;
    // AUTH-5 requester check, STEP-5 countersignature, operator role: the policy gate.
    policy::may_deliver(person, &case)?;
    let export = policy::export_of(&case, None)?;
    let at = at.unwrap_or(now);
    if at.as_second() > now.as_second() + 300 {
        return Err(DeliveryError::BadInput(format!(
            "the hand-over date {at} is in the future: give the date it happened (--at)"
        )));
    }
    // A date alone means midnight: a hand-over the day the case was opened is fine.
    if at.as_second() + 24 * 3600 < case.opened_at.as_second() {
        return Err(DeliveryError::BadInput(format!(
            "the hand-over date {at} is before the case was opened ({})",
            case.opened_at
        )));
    }
    if scan.bytes.is_empty() {
        return Err(DeliveryError::BadInput(
            "the scan of the signed receipt is empty".into(),
        ));
    }
    let sha256 = cases
        .documents()
        .put(&scan.bytes)
        .map_err(|e| DeliveryError::Case(e.into()))?;
    let name = std::path::Path::new(&scan.name)
        .file_name()
        .map(|n| n.to_string_lossy().replace(['\n', '\r'], " "))
        .unwrap_or_else(|| "signed-receipt".into());
    let attached = NewEntry::new(
        EntryKind::DocumentAttached,
        Some(id),
        &person.id,
        json!({ "sha256": sha256, "name": name, "size": scan.bytes.len() as u64,
                "role": SIGNED_RECEIPT_ROLE }),
    );
    let delivered = NewEntry::new(
        EntryKind::Delivered,
        Some(id),
        &person.id,
        json!({
            "at": at,
            "export_id": export.export_id,
            "export_completed": export.completed_entry,
            "signed_receipt": sha256,
            "recipient": case.opening.recipient,
            "organisation": case.opening.organisation,
        }),
    );
    Ok(cases.record(id, vec![attached, delivered])?)
}
