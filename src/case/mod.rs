//! Cases: the model, the state machine and every authorization check (AUTH-1…5, STEP-1/2).
//!
//! A case is never stored apart from the register: its state is the fold of its register
//! entries ([`model::Case::apply`]), so what the daemon believes and what an auditor reads
//! cannot disagree. [`policy`] holds the checks as pure functions a test can call;
//! [`service::Cases`] applies them, appends the entries and keeps the folded cases in memory.
//! Attached documents are stored by SHA-256 ([`documents`]). [`export_record`] is the fact an
//! export leaves in the register, which the case shows and the export pipeline writes.

pub mod documents;
pub mod export_record;
pub mod model;
pub mod policy;
pub mod request;
pub mod service;
pub mod statement;

pub use export_record::{ExportRecord, ExportedFile, FileDigest};
pub use model::{Case, CaseState, Ground};
pub use policy::Refusal;
pub use service::{CaseError, Cases, SiteId};
