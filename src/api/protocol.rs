//! Protocol messages: one JSON object per line, each carrying the protocol version `v`.
//!
//! A request is `{"v":1,"id":N,"op":"case-list","args":{...}}`; the daemon answers with zero
//! or more `progress` lines and exactly one final line (`ok`, `error` or `challenge`) carrying
//! the same `id`. The argument and result shapes below are the contract with clients; their
//! JSON names are stable (documented in `docs/PROTOCOL.md`).

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use crate::case::request::{DocumentArg, OpenArgs};

/// The protocol version this build speaks.
pub const PROTOCOL_VERSION: u32 = 1;

/// SSHSIG namespace of identification challenges (distinct from the register's, so a
/// challenge signature can never be replayed as an approval).
pub const IDENTIFY_NAMESPACE: &str = "scelle-identify";

/// Declares [`Op`] from one list of `Variant = "wire-name"`: the enum, [`Op::ALL`] and the
/// names both come from it, so an operation is named once.
macro_rules! ops {
    ($($variant:ident = $name:literal,)*) => {
        /// The operations of the socket protocol, shared by the CLI (which sends them) and the
        /// daemon (which dispatches them with one `match` and no wildcard, so a new operation
        /// is placed by the compiler). On the wire an operation is its name (`docs/PROTOCOL.md`).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Op {
            $($variant,)*
        }

        impl Op {
            /// Every operation, in protocol order.
            pub const ALL: &[Op] = &[$(Op::$variant,)*];

            /// The name on the wire (`case-open`).
            pub const fn name(self) -> &'static str {
                match self {
                    $(Op::$variant => $name,)*
                }
            }
        }
    };
}

ops! {
    Hello = "hello",
    Identify = "identify",
    CaseList = "case-list",
    CaseShow = "case-show",
    CaseOpen = "case-open",
    CaseAttach = "case-attach",
    CaseApprove = "case-approve",
    CaseCountersign = "case-countersign",
    CaseVerifyRequester = "case-verify-requester",
    CaseClose = "case-close",
    CaseExport = "case-export",
    CameraList = "camera-list",
    CameraProbe = "camera-probe",
    CaseReceipt = "case-receipt",
    CaseDelivered = "case-delivered",
    PurgeList = "purge-list",
    PurgeRun = "purge-run",
    RegisterReport = "register-report",
    MediaList = "media-list",
    MediaAdd = "media-add",
    MediaDestroyed = "media-destroyed",
    CaseIdentity = "case-identity",
    CaseViewed = "case-viewed",
    CaseReview = "case-review",
}

impl Op {
    /// The operation a wire name designates, if any.
    pub fn parse(name: &str) -> Option<Op> {
        Op::ALL.iter().copied().find(|op| op.name() == name)
    }
}

impl AsRef<str> for Op {
    fn as_ref(&self) -> &str {
        self.name()
    }
}

impl std::fmt::Display for Op {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A request as it arrives, before its arguments are interpreted.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Envelope {
    pub v: u32,
    pub id: u64,
    pub op: String,
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub args: Value,
}

/// Stable error codes; clients match on these, people read `message`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorCode {
    /// The line is not a JSON request.
    Malformed,
    /// The line is longer than [`crate::api::frame::MAX_FRAME`].
    TooLarge,
    /// `v` is not a version this daemon speaks.
    UnsupportedVersion,
    /// `op` is not known.
    UnknownOp,
    /// `args` do not fit the operation.
    BadArgs,
    /// The caller's Unix account is not in the people list.
    UnknownUser,
    /// The caller must identify first (shared account) or the identification failed.
    NotIdentified,
    /// Policy refused the operation (AUTH-*, STEP-*).
    Refused,
    /// No such case.
    NotFound,
    /// A signature does not verify.
    BadSignature,
    /// Recognised but not available in this build.
    NotImplemented,
    /// The daemon is shutting down.
    ShuttingDown,
    /// The operation ran and failed (an export: source lost, disk full…); the message says
    /// what happened and the register records it.
    Failed,
    /// Anything else (register or disk failure); the journal has the details.
    Internal,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Malformed => "malformed",
            ErrorCode::TooLarge => "too-large",
            ErrorCode::UnsupportedVersion => "unsupported-version",
            ErrorCode::UnknownOp => "unknown-op",
            ErrorCode::BadArgs => "bad-args",
            ErrorCode::UnknownUser => "unknown-user",
            ErrorCode::NotIdentified => "not-identified",
            ErrorCode::Refused => "refused",
            ErrorCode::NotFound => "not-found",
            ErrorCode::BadSignature => "bad-signature",
            ErrorCode::NotImplemented => "not-implemented",
            ErrorCode::ShuttingDown => "shutting-down",
            ErrorCode::Failed => "failed",
            ErrorCode::Internal => "internal",
        }
    }
}

/// An error answer's body.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct ErrorBody {
    pub code: ErrorCode,
    pub message: String,
}

/// A line sent by the daemon.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum Reply {
    /// Final: the operation succeeded.
    Ok { v: u32, id: u64, result: Value },
    /// Final: the operation failed; nothing was changed unless the message says so.
    Error { v: u32, id: u64, error: ErrorBody },
    /// Final: sign `message` (base64) with the SSH key of `person` under `namespace` and send
    /// the signature back (see `docs/PROTOCOL.md`).
    Challenge {
        v: u32,
        id: u64,
        person: String,
        public_key: String,
        namespace: String,
        message: String,
    },
    /// Not final: progress of a long operation; `data` carries structured progress for
    /// operations that have it (`case-export`, see `docs/PROTOCOL.md`).
    Progress {
        v: u32,
        id: u64,
        stage: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        data: Option<Value>,
    },
}

impl Reply {
    pub fn ok(id: u64, result: Value) -> Reply {
        Reply::Ok {
            v: PROTOCOL_VERSION,
            id,
            result,
        }
    }

    pub fn error(id: u64, code: ErrorCode, message: impl Into<String>) -> Reply {
        Reply::Error {
            v: PROTOCOL_VERSION,
            id,
            error: ErrorBody {
                code,
                message: message.into(),
            },
        }
    }

    pub fn progress(id: u64, stage: impl Into<String>) -> Reply {
        Reply::Progress {
            v: PROTOCOL_VERSION,
            id,
            stage: stage.into(),
            data: None,
        }
    }

    /// A progress line with structured `data`.
    pub fn progress_data(id: u64, stage: impl Into<String>, data: Value) -> Reply {
        Reply::Progress {
            v: PROTOCOL_VERSION,
            id,
            stage: stage.into(),
            data: Some(data),
        }
    }

    /// The request id this reply answers.
    pub fn id(&self) -> u64 {
        match self {
            Reply::Ok { id, .. }
            | Reply::Error { id, .. }
            | Reply::Challenge { id, .. }
            | Reply::Progress { id, .. } => *id,
        }
    }

    /// Serialized as one line, newline included.
    pub fn to_line(&self) -> Vec<u8> {
        let mut line = serde_json::to_vec(self).unwrap_or_else(|_| b"{}".to_vec());
        line.push(b'\n');
        line
    }
}

/// `hello`: starts a session; `person` picks one of the people sharing the Unix account.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HelloArgs {
    #[serde(default)]
    pub person: Option<String>,
}

/// `identify`: the signed answer to a challenge.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct IdentifyArgs {
    pub signature: String,
}

/// `case-show`, `case-export`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CaseArgs {
    pub case: String,
}

/// `case-attach`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AttachArgs {
    pub case: String,
    pub request: DocumentArg,
}

/// `case-approve`: without `signature` the daemon answers with a challenge holding the
/// approval statement (namespace `scelle-approve`), valid `valid_hours` (default 72); with
/// `statement` and `signature` (made on site or remotely), the approval is recorded.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ApproveArgs {
    pub case: String,
    #[serde(default)]
    pub valid_hours: Option<u32>,
    #[serde(default)]
    pub statement: Option<String>,
    #[serde(default)]
    pub signature: Option<String>,
}

/// `case-countersign`: as `case-approve`, for an export (default: the case's last completed
/// one), namespace `scelle-countersign`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CountersignArgs {
    pub case: String,
    #[serde(default)]
    pub export: Option<String>,
    #[serde(default)]
    pub valid_hours: Option<u32>,
    #[serde(default)]
    pub statement: Option<String>,
    #[serde(default)]
    pub signature: Option<String>,
}

/// `case-verify-requester`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequesterArgs {
    pub case: String,
    pub how: String,
}

/// `case-close`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CloseArgs {
    pub case: String,
    pub reason: String,
}

/// `camera-probe`: device facts and clock offset; with `range` (`START/END`, as in
/// `case-open`), the plan of that range (what is recorded, what is missing).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ProbeArgs {
    pub camera: String,
    #[serde(default)]
    pub range: Option<String>,
}

/// `case-export`: first call with `to` (runs the export and answers with a challenge holding
/// the `export-completed` statement), then with `export` and `signature` (records it and
/// answers with the record and the password). No `Debug`: it may carry a password.
#[derive(Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ExportArgs {
    pub case: String,
    /// Destination directory (the drive's mount point or a folder on it).
    #[serde(default)]
    pub to: Option<String>,
    /// The operator accepts a drive that is not in the approved list (ENC-3), recorded.
    #[serde(default)]
    pub accept_drive: bool,
    /// A password chosen by the operator (checked by the strength rule); default: generated.
    #[serde(default)]
    pub password: Option<String>,
    /// Second call: the export id the challenge named.
    #[serde(default)]
    pub export: Option<String>,
    /// Second call: the operator's SSHSIG over the challenge's statement.
    #[serde(default)]
    pub signature: Option<String>,
    /// Access requests (DEL-2): why the footage could not be viewed on site (required).
    #[serde(default)]
    pub no_viewing_reason: Option<String>,
    /// Access requests: the requester's track to leave visible, `FILE:TRACK` (or `TRACK`
    /// when the export has one file), from the review sheet of `case-review`.
    #[serde(default)]
    pub keep_track: Vec<String>,
    /// Access requests: blur every face (the default, said explicitly).
    #[serde(default)]
    pub blur_all: bool,
}

/// The chosen password is wiped from memory when the request is dropped.
impl Drop for ExportArgs {
    fn drop(&mut self) {
        if let Some(p) = &mut self.password {
            zeroize::Zeroize::zeroize(p);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_op_has_one_name_documented_in_the_protocol() {
        let doc = include_str!("../../docs/PROTOCOL.md");
        for (i, op) in Op::ALL.iter().enumerate() {
            assert_eq!(Op::parse(op.name()), Some(*op));
            assert!(
                !Op::ALL[..i].iter().any(|o| o.name() == op.name()),
                "{op} named twice"
            );
            assert!(
                doc.contains(&format!("`{op}`")),
                "{op} is not in docs/PROTOCOL.md"
            );
        }
        assert_eq!(Op::parse("case-opened"), None);
    }
}
