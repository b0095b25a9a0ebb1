//! The requests `case` takes, as they travel on the socket (`case-open`): `case` owns their
//! shape because it is the one reading them; `api::protocol` re-exports them beside the other
//! operations' arguments. Field names are part of the protocol (`docs/PROTOCOL.md`).

use serde::{Deserialize, Serialize};

/// A document sent inline (the written request, AUTH-3).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentArg {
    /// File name as the client had it (kept for people, not trusted as a path).
    pub name: String,
    /// Base64 (standard alphabet) content.
    pub content: String,
}

/// `case-open`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OpenArgs {
    /// `requisition`, `incident` or `access-request` (AUTH-1).
    pub ground: String,
    pub requester: String,
    pub organisation: String,
    pub reference: String,
    pub recipient: String,
    pub purpose: String,
    pub cameras: Vec<String>,
    /// `START/END`, RFC 3339 with offset, or civil time in the site's time zone.
    pub ranges: Vec<String>,
    #[serde(default)]
    pub request: Option<DocumentArg>,
    /// Justification of an emergency opened before the written request (AUTH-3).
    #[serde(default)]
    pub emergency: Option<String>,
}
