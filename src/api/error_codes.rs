//! The one mapping from errors to socket error codes: every error an operation can answer
//! with says its [`ErrorCode`] here, matched without a wildcard so a new error kind is placed
//! by the compiler, and [`error_reply`] turns it into the reply (logging the internal ones,
//! whose details belong in the journal).

use super::protocol::{ErrorCode, Reply};
use crate::case::CaseError;
use crate::export::ExportError;
use crate::inventory::record::MediaError;
use crate::purge::PurgeError;
use crate::receipt::ReceiptError;
use crate::receipt::delivery::DeliveryError;
use crate::register::RegisterError;

/// An error a socket operation answers with.
pub(super) trait SocketError: std::fmt::Display {
    /// What failed, for the journal when the error is internal.
    const WHAT: &'static str;

    fn code(&self) -> ErrorCode;

    /// The message sent to the client (default: the error's text).
    fn message(&self) -> String {
        self.to_string()
    }
}

/// The reply to request `id` failing with `e`.
pub(super) fn error_reply<E: SocketError>(id: u64, e: E) -> Reply {
    let code = e.code();
    if code == ErrorCode::Internal {
        tracing::error!(error = %e, "{} failed", E::WHAT);
    }
    Reply::error(id, code, e.message())
}

/// [`error_reply`] for the case workflow's errors (the policy gate's refusals included).
pub fn case_error_reply(id: u64, e: CaseError) -> Reply {
    error_reply(id, e)
}

impl SocketError for CaseError {
    const WHAT: &'static str = "case operation";

    fn code(&self) -> ErrorCode {
        match self {
            CaseError::Refused(_) | CaseError::Statement(_) => ErrorCode::Refused,
            CaseError::NotFound(_) => ErrorCode::NotFound,
            CaseError::BadInput(_) => ErrorCode::BadArgs,
            CaseError::BadSignature(_)
            | CaseError::Register(RegisterError::SignatureRefused { .. }) => {
                ErrorCode::BadSignature
            }
            CaseError::Register(_) | CaseError::Io(_) => ErrorCode::Internal,
        }
    }
}

impl SocketError for ExportError {
    const WHAT: &'static str = "export";

    fn code(&self) -> ErrorCode {
        match self {
            ExportError::Refused(_) => ErrorCode::Refused,
            ExportError::BadInput(_) => ErrorCode::BadArgs,
            ExportError::Register(_) => ErrorCode::Internal,
            ExportError::Source { .. }
            | ExportError::Io { .. }
            | ExportError::NoSpace { .. }
            | ExportError::Write { .. }
            | ExportError::Verify { .. }
            | ExportError::Interrupted(_) => ErrorCode::Failed,
        }
    }
}

impl SocketError for ReceiptError {
    const WHAT: &'static str = "receipt";

    fn code(&self) -> ErrorCode {
        match self {
            ReceiptError::NoCase(_) | ReceiptError::NoExport(..) => ErrorCode::NotFound,
            ReceiptError::BadEntry { .. } | ReceiptError::Register(_) => ErrorCode::Internal,
        }
    }
}

impl SocketError for DeliveryError {
    const WHAT: &'static str = "hand-over";

    fn code(&self) -> ErrorCode {
        match self {
            DeliveryError::Refused(_) | DeliveryError::Policy(_) => ErrorCode::Refused,
            DeliveryError::BadInput(_) => ErrorCode::BadArgs,
            DeliveryError::Case(e) => e.code(),
        }
    }
}

impl SocketError for PurgeError {
    const WHAT: &'static str = "purge";

    fn code(&self) -> ErrorCode {
        match self {
            PurgeError::NotFound(_) | PurgeError::Absent { .. } => ErrorCode::NotFound,
            PurgeError::Retained { .. } => ErrorCode::Refused,
            PurgeError::Io { .. } | PurgeError::Register(_) => ErrorCode::Internal,
        }
    }
}

impl SocketError for MediaError {
    const WHAT: &'static str = "media operation";

    fn code(&self) -> ErrorCode {
        match self {
            MediaError::Refused(_) => ErrorCode::Refused,
            MediaError::BadInput(_) => ErrorCode::BadArgs,
            MediaError::NotFound(_) => ErrorCode::NotFound,
            MediaError::Register(_) => ErrorCode::Internal,
        }
    }

    fn message(&self) -> String {
        match self {
            MediaError::Refused(_) => format!("refused: {self}"),
            MediaError::BadInput(_) | MediaError::NotFound(_) | MediaError::Register(_) => {
                self.to_string()
            }
        }
    }
}
