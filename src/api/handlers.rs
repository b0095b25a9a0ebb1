//! The dispatcher: one request in, its final reply out. [`dispatch`] matches the operation
//! ([`Op`], no wildcard) to its handler, in one file per concern: [`super::identity_ops`]
//! (who the caller is), [`super::case_ops`], [`super::export_ops`], [`super::camera_ops`],
//! [`super::delivery_ops`] (receipt, hand-over, purge), [`super::media_ops`],
//! [`super::report_ops`]; errors become codes in [`super::error_codes`]. Every command is
//! logged with the person and its outcome (REG-3).

use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::export_ops::PendingExport;
use super::protocol::{
    Envelope, ErrorCode, ExportArgs, HelloArgs, IdentifyArgs, Op, PROTOCOL_VERSION, ProbeArgs,
    Reply,
};
use super::{
    blocking_ops, camera_ops, case_ops, delivery_ops, export_ops, identity_ops, media_ops,
    report_ops,
};
use crate::config::Person;
use crate::daemon::state::State;
use crate::security_log::TARGET as SECURITY;

/// Per-connection identification state.
#[derive(Debug)]
pub struct Session {
    pub conn: u64,
    pub uid: u32,
    /// The identified person's id.
    pub person: Option<String>,
    /// Outstanding identification challenge: (person, nonce).
    pub(super) pending: Option<(String, String)>,
    /// An export verified and waiting for the operator's signature of `export-completed`.
    pub(super) pending_export: Option<PendingExport>,
}

impl Session {
    pub fn new(conn: u64, uid: u32) -> Session {
        Session {
            conn,
            uid,
            person: None,
            pending: None,
            pending_export: None,
        }
    }
}

/// Handles one request and returns its final reply; progress goes to `progress`.
pub async fn handle(
    state: &Arc<State>,
    session: &mut Session,
    env: Envelope,
    progress: &mpsc::Sender<Reply>,
) -> Reply {
    let id = env.id;
    let op = env.op.clone();
    let reply = dispatch(state, session, env, progress).await;
    let who = session.person.as_deref().unwrap_or("-");
    match &reply {
        Reply::Error { error, .. } if error.code == ErrorCode::Refused => tracing::warn!(
            target: SECURITY, event = "command-refused",
            conn = session.conn, uid = session.uid, person = who, op = %op, id,
            outcome = "refused", reason = %error.message, "command refused"
        ),
        Reply::Error { error, .. } if error.code == ErrorCode::BadSignature => tracing::warn!(
            target: SECURITY, event = "signature-refused",
            conn = session.conn, uid = session.uid, person = who, op = %op, id,
            outcome = "bad-signature", reason = %error.message, "signature refused"
        ),
        Reply::Error { error, .. } if error.code == ErrorCode::UnknownUser => {
            // Once a minute per uid, with the count: a flood does not flood the journal.
            if let Some(skipped) = super::limits::refusals().allow(session.uid, "unknown-user") {
                tracing::warn!(
                    target: SECURITY, event = "unknown-user",
                    conn = session.conn, uid = session.uid, op = %op, id,
                    outcome = "unknown-user", refused_since_last_logged = skipped,
                    "caller not in the people list"
                )
            }
        }
        Reply::Error { error, .. } => tracing::warn!(
            conn = session.conn, uid = session.uid, person = who, op = %op, id,
            outcome = error.code.as_str(), reason = %error.message, "command failed"
        ),
        Reply::Challenge { .. } => tracing::info!(
            conn = session.conn, uid = session.uid, person = who, op = %op, id,
            outcome = "challenge", "command needs a signature"
        ),
        _ => tracing::info!(
            conn = session.conn, uid = session.uid, person = who, op = %op, id,
            outcome = "ok", "command done"
        ),
    }
    reply
}

/// The one place an operation's name is matched: each operation, identified caller first
/// (but `hello` and `identify`, which identify it), to its handler. The `case-*`, receipt,
/// purge, media and report operations run on a blocking thread (the register is synchronous).
async fn dispatch(
    state: &Arc<State>,
    session: &mut Session,
    env: Envelope,
    progress: &mpsc::Sender<Reply>,
) -> Reply {
    let id = env.id;
    let Some(op) = Op::parse(&env.op) else {
        return Reply::error(
            id,
            ErrorCode::UnknownOp,
            format!("unknown operation `{}`", printable(&env.op)),
        );
    };
    let raw = env.args;
    // The identified person, or the reply that says why not.
    macro_rules! person {
        () => {
            match identity_ops::identified(state, session, id) {
                Ok(p) => p,
                Err(r) => return r,
            }
        };
    }
    // Runs `$f(&state, &person, id, …)` on a blocking thread, `$what` naming it if it panics.
    macro_rules! blocking {
        ($what:literal, $f:path $(, $extra:expr)*) => {{
            let (state, person) = (state.clone(), person!());
            blocking_ops::run(id, $what, move || $f(&state, &person, id $(, $extra)*)).await
        }};
    }
    match op {
        Op::Hello => match args::<HelloArgs>(id, raw) {
            Ok(a) => identity_ops::hello(state, session, id, a.person),
            Err(r) => r,
        },
        Op::Identify => match args::<IdentifyArgs>(id, raw) {
            Ok(a) => identity_ops::identify(state, session, id, &a.signature),
            Err(r) => r,
        },
        Op::CaseList => blocking!("case", case_ops::list),
        Op::CaseShow => blocking!("case", case_ops::show, raw),
        Op::CaseOpen => {
            let progress = progress.clone();
            blocking!("case", case_ops::open, raw, &progress)
        }
        Op::CaseAttach => blocking!("case", case_ops::attach, raw),
        Op::CaseApprove => blocking!("case", case_ops::approve, raw),
        Op::CaseCountersign => blocking!("case", case_ops::countersign, raw),
        Op::CaseVerifyRequester => blocking!("case", case_ops::verify_requester, raw),
        Op::CaseClose => blocking!("case", case_ops::close, raw),
        Op::CaseExport => {
            let person = person!();
            match args::<ExportArgs>(id, raw) {
                Ok(a) => export_ops::export_op(state, session, person, id, a, progress).await,
                Err(r) => r,
            }
        }
        Op::CameraList => camera_ops::list(&state.config(), &person!(), id),
        Op::CameraProbe => match args::<ProbeArgs>(id, raw) {
            Ok(a) => camera_ops::probe(&state.config(), &person!(), id, a).await,
            Err(r) => r,
        },
        Op::CaseReceipt => blocking!("receipt/purge", delivery_ops::receipt, raw),
        Op::CaseDelivered => blocking!("receipt/purge", delivery_ops::delivered, raw),
        Op::PurgeList => blocking!("receipt/purge", delivery_ops::purge_list),
        Op::PurgeRun => blocking!("receipt/purge", delivery_ops::purge_run, raw),
        Op::RegisterReport => {
            let person = person!();
            report_ops::handle(state, person, id, raw).await
        }
        Op::MediaList => blocking!("media", media_ops::list),
        Op::MediaAdd => blocking!("media", media_ops::add, raw),
        Op::MediaDestroyed => blocking!("media", media_ops::destroyed, raw),
        Op::CaseIdentity | Op::CaseViewed | Op::CaseReview => {
            let person = person!();
            super::access_ops::handle(state, person, id, op, raw, progress).await
        }
    }
}

fn args<T: DeserializeOwned>(id: u64, args: Value) -> Result<T, Reply> {
    let args = if args.is_null() { json!({}) } else { args };
    serde_json::from_value(args)
        .map_err(|e| Reply::error(id, ErrorCode::BadArgs, format!("bad arguments: {e}")))
}

/// The challenge asking `person` to sign `message` (SSHSIG, in `namespace`) with their key.
pub(super) fn challenge(id: u64, person: &Person, namespace: &str, message: &[u8]) -> Reply {
    use base64::Engine as _;
    Reply::Challenge {
        v: PROTOCOL_VERSION,
        id,
        person: person.id.clone(),
        public_key: person.public_key.line.clone(),
        namespace: namespace.into(),
        message: base64::engine::general_purpose::STANDARD.encode(message),
    }
}

/// Keeps a client-chosen string printable and short in messages and logs.
pub(super) fn printable(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(64).collect()
}
