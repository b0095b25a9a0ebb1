//! The case model and how register entries move it from state to state.
//!
//! ```text
//!   case-opened ──▶ awaiting-authorization ──case-authorized──▶ authorized ──▶ … ──case-closed──▶ closed
//!                   (emergency: exportable at once, regularized later)
//! ```

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::register::{Entry, EntryKind};

/// The legal ground of a case (AUTH-1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Ground {
    /// Police or judicial requisition, rogatory commission, court order.
    Requisition,
    /// Theft, assault, break-in, accident: preserve before the automatic purge.
    Incident,
    /// A data subject's access request, identity proven.
    AccessRequest,
}

impl Ground {
    pub fn parse(s: &str) -> Option<Ground> {
        match s {
            "requisition" => Some(Ground::Requisition),
            "incident" => Some(Ground::Incident),
            "access-request" => Some(Ground::AccessRequest),
            _ => None,
        }
    }
}

/// A requested time range, UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Range {
    pub start: Timestamp,
    pub end: Timestamp,
}

/// What `case-opened` records (STEP-1, STEP-2): its payload, verbatim.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Opening {
    pub ground: Ground,
    pub requester: String,
    pub organisation: String,
    pub reference: String,
    pub recipient: String,
    pub purpose: String,
    pub cameras: Vec<String>,
    pub ranges: Vec<Range>,
    /// Justification when opened as an emergency (AUTH-3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emergency: Option<String>,
}

/// A document attached to a case, as its `document-attached` payload records it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Document {
    pub sha256: String,
    pub name: String,
    pub size: u64,
    /// `request` for the written request.
    pub role: String,
}

/// How a data subject's identity and the legitimacy of their request were proven (AUTH-5,
/// DEL-2): the `identity-proven` payload, with who signed it and when it was recorded.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IdentityProof {
    /// The kind of document shown (national identity card, passport, residence permit…).
    pub document_kind: String,
    /// Its number or other reference.
    pub document_reference: String,
    /// When the document was checked (UTC).
    pub checked_at: Timestamp,
    /// Why the request is legitimate (the person is on the footage asked for, and how that
    /// was established).
    pub legitimacy: String,
    /// SHA-256 of the scan of the document, attached as a document (role `identity`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scan: Option<String>,
    /// Who checked: the signer of the entry (never a field a client chooses).
    #[serde(default)]
    pub checked_by: String,
    #[serde(default)]
    pub recorded_at: Option<Timestamp>,
}

/// An on-site viewing of an access-request case's footage (DEL-2): the `viewed-on-site`
/// payload, with who held it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Viewing {
    /// When the viewing took place (UTC).
    pub at: Timestamp,
    /// Who attended (the data subject, staff…).
    pub attendees: Vec<String>,
    /// The ranges shown.
    pub ranges: Vec<Range>,
    /// On which screen or client.
    pub screen: String,
    /// The operator who held it and signed the entry.
    #[serde(default)]
    pub held_by: String,
}

/// Where a case stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CaseState {
    AwaitingAuthorization,
    Authorized,
    Closed,
}

/// A case as folded from its register entries.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Case {
    pub id: String,
    pub opened_at: Timestamp,
    /// The operator who opened it (never its authorizer, AUTH-2).
    pub operator: String,
    /// Hash (hex) of the `case-opened` entry, which an approval signs for.
    pub opened_entry: String,
    pub opening: Opening,
    pub state: CaseState,
    pub documents: Vec<Document>,
    /// The authorizer who signed the approval (from its signed statement).
    pub authorized_by: Option<String>,
    pub authorized_at: Option<Timestamp>,
    /// How the requester's authority was verified (AUTH-5), by whom and when.
    pub requester_verified: Option<String>,
    #[serde(default)]
    pub requester_verified_by: Option<String>,
    #[serde(default)]
    pub requester_verified_at: Option<Timestamp>,
    /// Access requests: how the data subject's identity was proven (AUTH-5, DEL-2).
    #[serde(default)]
    pub identity: Option<IdentityProof>,
    /// Access requests: on-site viewings held (DEL-2), oldest first.
    #[serde(default)]
    pub viewings: Vec<Viewing>,
    pub regularized_at: Option<Timestamp>,
    pub closed: Option<String>,
    /// People who started an export of this case (AUTH-2: never its approver).
    #[serde(default)]
    pub export_operators: Vec<String>,
    /// Completed exports, oldest first, with their countersignature and hand-over.
    #[serde(default)]
    pub exports: Vec<ExportFact>,
}

/// A completed export of a case, as its register entries record it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ExportFact {
    pub export_id: String,
    /// The operator who ran and signed it.
    pub operator: String,
    pub completed_at: Option<Timestamp>,
    /// Hash (hex) of its `export-completed` entry, which the countersignature names.
    pub completed_entry: String,
    /// The authorizer who countersigned what was extracted (STEP-5), and when.
    pub countersigned_by: Option<String>,
    pub countersigned_at: Option<Timestamp>,
    /// When it was handed over (`delivered`), and who recorded it.
    pub delivered_at: Option<Timestamp>,
    pub delivered_by: Option<String>,
}

impl Case {
    /// A case from its `case-opened` entry; `None` if the payload does not parse.
    pub fn from_opened(entry: &Entry) -> Option<Case> {
        let opening: Opening = serde_json::from_value(entry.payload.clone()).ok()?;
        Some(Case {
            id: entry.case_id.clone()?,
            opened_at: entry.time,
            operator: entry.actor.clone(),
            opened_entry: hex::encode(entry.hash),
            opening,
            state: CaseState::AwaitingAuthorization,
            documents: Vec::new(),
            ..Case::blank()
        })
    }

    /// An empty case, for building one field by field.
    pub fn blank() -> Case {
        Case {
            id: String::new(),
            opened_at: Timestamp::UNIX_EPOCH,
            operator: String::new(),
            opened_entry: String::new(),
            opening: Opening {
                ground: Ground::Incident,
                requester: String::new(),
                organisation: String::new(),
                reference: String::new(),
                recipient: String::new(),
                purpose: String::new(),
                cameras: Vec::new(),
                ranges: Vec::new(),
                emergency: None,
            },
            state: CaseState::AwaitingAuthorization,
            documents: Vec::new(),
            authorized_by: None,
            authorized_at: None,
            requester_verified: None,
            requester_verified_by: None,
            requester_verified_at: None,
            identity: None,
            viewings: Vec::new(),
            regularized_at: None,
            closed: None,
            export_operators: Vec::new(),
            exports: Vec::new(),
        }
    }

    /// Everyone who started an export of this case.
    pub fn exporters(&self) -> impl Iterator<Item = &str> {
        self.export_operators
            .iter()
            .chain(self.exports.iter().map(|e| &e.operator))
            .map(String::as_str)
    }

    /// Moves the case by one later entry of its own.
    pub fn apply(&mut self, entry: &Entry) {
        let text = |k: &str| {
            entry
                .payload
                .get(k)
                .and_then(|v| v.as_str())
                .map(str::to_owned)
        };
        match entry.kind {
            EntryKind::DocumentAttached => {
                if let Ok(d) = serde_json::from_value::<Document>(entry.payload.clone()) {
                    self.documents.push(d);
                }
            }
            EntryKind::CaseAuthorized => {
                // The signer of the approval statement; older entries: the actor.
                let signer = entry.payload["signed_statement"]["person"]
                    .as_str()
                    .map(str::to_owned);
                self.authorized_by = Some(signer.unwrap_or_else(|| entry.actor.clone()));
                self.authorized_at = Some(entry.time);
                if self.state != CaseState::Closed {
                    self.state = CaseState::Authorized;
                }
            }
            EntryKind::RequesterVerified => {
                self.requester_verified = text("how");
                self.requester_verified_by = Some(entry.actor.clone());
                self.requester_verified_at = Some(entry.time);
            }
            EntryKind::IdentityProven => {
                if let Ok(mut p) = serde_json::from_value::<IdentityProof>(entry.payload.clone()) {
                    p.checked_by = entry.actor.clone();
                    p.recorded_at = Some(entry.time);
                    self.identity = Some(p);
                }
            }
            EntryKind::ViewedOnSite => {
                if let Ok(mut v) = serde_json::from_value::<Viewing>(entry.payload.clone()) {
                    v.held_by = entry.actor.clone();
                    self.viewings.push(v);
                }
            }
            EntryKind::ExportStarted if !self.export_operators.contains(&entry.actor) => {
                self.export_operators.push(entry.actor.clone());
            }
            EntryKind::ExportCompleted => {
                let id = entry.payload["record"]["export_id"].as_str();
                self.exports.push(ExportFact {
                    export_id: id.unwrap_or_default().to_owned(),
                    operator: entry.actor.clone(),
                    completed_at: Some(entry.time),
                    completed_entry: hex::encode(entry.hash),
                    ..ExportFact::default()
                });
            }
            EntryKind::ExportCountersigned => {
                let completed = text("export_completed").unwrap_or_default();
                let by = entry.payload["signed_statement"]["person"]
                    .as_str()
                    .unwrap_or(&entry.actor)
                    .to_owned();
                if let Some(e) = self
                    .exports
                    .iter_mut()
                    .find(|e| e.completed_entry == completed)
                {
                    e.countersigned_by = Some(by);
                    e.countersigned_at = Some(entry.time);
                }
            }
            EntryKind::Delivered => {
                let completed = text("export_completed");
                let id = text("export_id");
                if let Some(e) = self.exports.iter_mut().find(|e| {
                    completed.as_deref() == Some(e.completed_entry.as_str())
                        || (completed.is_none() && id.as_deref() == Some(e.export_id.as_str()))
                }) {
                    e.delivered_at = Some(entry.time);
                    e.delivered_by = Some(entry.actor.clone());
                }
            }
            EntryKind::EmergencyRegularized => self.regularized_at = Some(entry.time),
            EntryKind::CaseClosed => {
                self.closed = text("reason").or(Some(String::new()));
                self.state = CaseState::Closed;
            }
            EntryKind::PeopleChanged
            | EntryKind::ConfigChanged
            | EntryKind::CaseOpened
            | EntryKind::EmergencyStarted
            | EntryKind::ExportStarted
            | EntryKind::ExportFailed
            | EntryKind::ExportInterrupted
            | EntryKind::ExportVerified
            | EntryKind::ReceiptAttached
            | EntryKind::Purged
            | EntryKind::MediaInventoried
            | EntryKind::Checkpoint
            | EntryKind::MediaDestroyed => {}
        }
    }

    /// A data subject's access request (DEL-2: never exported unblurred).
    pub fn is_access_request(&self) -> bool {
        self.opening.ground == Ground::AccessRequest
    }

    pub fn is_emergency(&self) -> bool {
        self.opening.emergency.is_some()
    }

    /// The written request is attached (AUTH-3).
    pub fn has_request(&self) -> bool {
        self.documents.iter().any(|d| d.role == "request")
    }

    /// An emergency still waiting for its authorization and written request.
    pub fn needs_regularization(&self) -> bool {
        self.is_emergency() && self.regularized_at.is_none() && self.state != CaseState::Closed
    }

    /// An emergency whose written request is still absent `hours` after its opening (AUTH-3;
    /// the rule is [`super::policy::request_overdue`]).
    pub fn is_overdue(&self, now: Timestamp, hours: u32) -> bool {
        super::policy::request_overdue(self, now, hours)
    }
}
