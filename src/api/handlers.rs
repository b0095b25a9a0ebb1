//! What each operation does for an identified caller: argument decoding, the call into
//! [`crate::case`], and the mapping of its typed errors to protocol error codes (in one place,
//! [`case_error_reply`]). Every command is logged with the person and its outcome (REG-3).

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::identify::{self, Caller};
use super::protocol::{
    ApproveArgs, AttachArgs, CaseArgs, CloseArgs, CountersignArgs, DocumentArg, Envelope,
    ErrorCode, ExportArgs, HelloArgs, IDENTIFY_NAMESPACE, IdentifyArgs, OpenArgs, PROTOCOL_VERSION,
    ProbeArgs, Reply, VerifyRequesterArgs,
};
use crate::case::service::Upload;
use crate::case::statement::{APPROVE_NAMESPACE, COUNTERSIGN_NAMESPACE};
use crate::case::{Case, CaseError, policy};
use crate::config::Person;
use crate::daemon::security::TARGET as SECURITY;
use crate::daemon::state::State;
use crate::register::{RegisterError, SIGNATURE_NAMESPACE};

/// Per-connection identification state.
#[derive(Debug)]
pub struct Session {
    pub conn: u64,
    pub uid: u32,
    /// The identified person's id.
    pub person: Option<String>,
    /// Outstanding identification challenge: (person, nonce).
    pending: Option<(String, String)>,
    /// An export verified and waiting for the operator's signature of `export-completed`.
    pending_export: Option<PendingExport>,
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

async fn dispatch(
    state: &Arc<State>,
    session: &mut Session,
    env: Envelope,
    progress: &mpsc::Sender<Reply>,
) -> Reply {
    let id = env.id;
    match env.op.as_str() {
        "hello" => match args::<HelloArgs>(id, env.args) {
            Ok(a) => hello(state, session, id, a.person),
            Err(r) => r,
        },
        "identify" => match args::<IdentifyArgs>(id, env.args) {
            Ok(a) => identify(state, session, id, &a.signature),
            Err(r) => r,
        },
        "case-list"
        | "case-show"
        | "case-open"
        | "case-attach"
        | "case-approve"
        | "case-countersign"
        | "case-verify-requester"
        | "case-close" => {
            let person = match identified(state, session, id) {
                Ok(p) => p,
                Err(r) => return r,
            };
            case_op(state, person, env, progress).await
        }
        "camera-list" | "camera-probe" => {
            let person = match identified(state, session, id) {
                Ok(p) => p,
                Err(r) => return r,
            };
            if let Err(r) = crate::case::policy::may_read(&person) {
                return case_error_reply(id, r.into());
            }
            camera_op(state, env).await
        }
        "case-export" => {
            let person = match identified(state, session, id) {
                Ok(p) => p,
                Err(r) => return r,
            };
            match args::<ExportArgs>(id, env.args) {
                Ok(a) => export_op(state, session, person, id, a, progress).await,
                Err(r) => r,
            }
        }
        "case-receipt" | "case-delivered" | "purge-list" | "purge-run" => {
            let person = match identified(state, session, id) {
                Ok(p) => p,
                Err(r) => return r,
            };
            super::delivery_ops::handle(state, person, id, &env.op, env.args).await
        }
        "case-identity" | "case-viewed" | "case-review" => {
            let person = match identified(state, session, id) {
                Ok(p) => p,
                Err(r) => return r,
            };
            super::access_ops::handle(state, person, id, &env.op, env.args).await
        }
        "register-report" => {
            let person = match identified(state, session, id) {
                Ok(p) => p,
                Err(r) => return r,
            };
            super::report_ops::handle(state, person, id, env.args).await
        }
        "media-list" | "media-add" | "media-destroyed" => {
            let person = match identified(state, session, id) {
                Ok(p) => p,
                Err(r) => return r,
            };
            super::media_ops::handle(state, person, id, &env.op, env.args).await
        }
        other => Reply::error(
            id,
            ErrorCode::UnknownOp,
            format!("unknown operation `{}`", printable(other)),
        ),
    }
}

fn args<T: DeserializeOwned>(id: u64, args: Value) -> Result<T, Reply> {
    let args = if args.is_null() { json!({}) } else { args };
    serde_json::from_value(args)
        .map_err(|e| Reply::error(id, ErrorCode::BadArgs, format!("bad arguments: {e}")))
}

/// Keeps a client-chosen string printable and short in messages and logs.
fn printable(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(64).collect()
}

fn hello(state: &Arc<State>, session: &mut Session, id: u64, wanted: Option<String>) -> Reply {
    let config = state.config();
    match identify::caller(&config, session.uid) {
        Caller::Unknown { uid, account } => unknown_user(id, uid, account.as_deref()),
        Caller::One { person, .. } => {
            if wanted.as_ref().is_some_and(|w| *w != person) {
                return Reply::error(
                    id,
                    ErrorCode::NotIdentified,
                    format!("this Unix account belongs to `{person}` only"),
                );
            }
            session.person = Some(person.clone());
            session.pending = None;
            tracing::info!(target: SECURITY, event = "caller-identified", conn = session.conn,
                uid = session.uid, person = %person, how = "peer-credentials", "caller identified");
            welcome(id, &config, &state.site_key.fingerprint(), &person)
        }
        Caller::Shared { account, people } => {
            let Some(wanted) = wanted else {
                return Reply::error(
                    id,
                    ErrorCode::NotIdentified,
                    format!(
                        "the Unix account `{account}` is shared by {}: say who you are with \
                         `--as PERSON` and sign with your SSH key (agent or `-i KEY`)",
                        people.join(", ")
                    ),
                );
            };
            if !people.contains(&wanted) {
                return Reply::error(
                    id,
                    ErrorCode::NotIdentified,
                    format!(
                        "`{}` does not use the Unix account `{account}`",
                        printable(&wanted)
                    ),
                );
            }
            let Some(p) = config.person(&wanted) else {
                return Reply::error(id, ErrorCode::Internal, "people list changed");
            };
            let nonce = identify::new_nonce();
            let message =
                identify::challenge_message(&state.site_key.fingerprint(), &wanted, &nonce);
            session.pending = Some((wanted.clone(), nonce));
            Reply::Challenge {
                v: PROTOCOL_VERSION,
                id,
                person: wanted,
                public_key: p.public_key.line.clone(),
                namespace: IDENTIFY_NAMESPACE.into(),
                message: B64.encode(message),
            }
        }
    }
}

fn identify(state: &Arc<State>, session: &mut Session, id: u64, signature: &str) -> Reply {
    let Some((person, nonce)) = session.pending.take() else {
        return Reply::error(
            id,
            ErrorCode::NotIdentified,
            "no challenge pending: send hello first",
        );
    };
    let config = state.config();
    let Some(p) = config.person(&person) else {
        return Reply::error(id, ErrorCode::UnknownUser, "no longer in the people list");
    };
    let site = state.site_key.fingerprint();
    match identify::verify_challenge(&p.public_key.key, &site, &person, &nonce, signature) {
        Ok(()) => {
            tracing::info!(target: SECURITY, event = "caller-identified", conn = session.conn,
                uid = session.uid, person = %person, how = "ssh-challenge", "caller identified");
            session.person = Some(person.clone());
            welcome(id, &config, &state.site_key.fingerprint(), &person)
        }
        Err(e) => {
            tracing::warn!(target: SECURITY, event = "identification-failed", conn = session.conn,
                uid = session.uid, person = %person, reason = %e, "identification failed");
            Reply::error(
                id,
                ErrorCode::BadSignature,
                format!("identification failed: {e}"),
            )
        }
    }
}

fn welcome(id: u64, config: &crate::config::Config, site_key: &str, person: &str) -> Reply {
    let p = config.person(person);
    Reply::ok(
        id,
        json!({
            "person": person,
            "name": p.map(|p| p.name.clone()),
            "roles": p.map(|p| p.roles.clone()),
            "site": config.site.name,
            "site_key": site_key,
            "version": env!("CARGO_PKG_VERSION"),
        }),
    )
}

fn unknown_user(id: u64, uid: u32, account: Option<&str>) -> Reply {
    Reply::error(
        id,
        ErrorCode::UnknownUser,
        format!(
            "Unix account {} (uid {uid}) is not in this site's people list (AUTH-4): \
             ask the administrator to add you to the configuration",
            account.map_or_else(|| "?".to_owned(), |a| format!("`{a}`"))
        ),
    )
}

/// The identified person, identifying by peer credentials alone when that suffices.
fn identified(state: &Arc<State>, session: &mut Session, id: u64) -> Result<Person, Reply> {
    let config = state.config();
    if session.person.is_none() {
        match identify::caller(&config, session.uid) {
            Caller::Unknown { uid, account } => {
                return Err(unknown_user(id, uid, account.as_deref()));
            }
            Caller::One { person, .. } => session.person = Some(person),
            Caller::Shared { account, .. } => {
                return Err(Reply::error(
                    id,
                    ErrorCode::NotIdentified,
                    format!(
                        "the Unix account `{account}` is shared: identify first (hello, then \
                         identify with a signed challenge)"
                    ),
                ));
            }
        }
    }
    let person = session.person.as_deref().unwrap_or_default();
    config.person(person).cloned().ok_or_else(|| {
        Reply::error(
            id,
            ErrorCode::UnknownUser,
            format!("`{person}` is no longer in the people list"),
        )
    })
}

async fn case_op(
    state: &Arc<State>,
    person: Person,
    env: Envelope,
    progress: &mpsc::Sender<Reply>,
) -> Reply {
    let id = env.id;
    let op = env.op.clone();
    let state2 = state.clone();
    let progress = progress.clone();
    let config = state.config();
    let tz = jiff::tz::TimeZone::get(&config.site.time_zone.0).unwrap_or(jiff::tz::TimeZone::UTC);
    let hours = config.cases.emergency_regularize_hours;
    let run = move || -> Result<Reply, Reply> {
        let cases = &state2.cases;
        let view = |c: &Case| case_view(c, hours);
        let refused = |r: crate::case::Refusal| case_error_reply(id, r.into());
        let reply = match op.as_str() {
            "case-list" => {
                policy::may_read(&person).map_err(refused)?;
                let list: Vec<Value> = cases.list().iter().map(view).collect();
                Reply::ok(id, json!({ "cases": list }))
            }
            "case-show" => {
                let a: CaseArgs = args(id, env.args)?;
                policy::may_read(&person).map_err(refused)?;
                let case = cases.get(&a.case).map_err(|e| case_error_reply(id, e))?;
                let entries = state2
                    .register
                    .entries(Some(&a.case))
                    .map_err(|e| case_error_reply(id, e.into()))?;
                Reply::ok(id, json!({ "case": view(&case), "entries": entries }))
            }
            "case-open" => {
                let a: OpenArgs = args(id, env.args)?;
                if let Some(unknown) = a.cameras.iter().find(|c| config.camera(c.trim()).is_none())
                {
                    let known: Vec<&str> = config.cameras.iter().map(|c| c.id.as_str()).collect();
                    return Err(Reply::error(
                        id,
                        ErrorCode::BadArgs,
                        format!(
                            "unknown camera `{}`: the configured cameras are {} (`scelle camera list`)",
                            printable(unknown),
                            if known.is_empty() {
                                "none".to_owned()
                            } else {
                                known.join(", ")
                            }
                        ),
                    ));
                }
                let upload = a.request.clone().map(|d| upload(id, d)).transpose()?;
                let send = |stage: &str| {
                    let _ = progress.try_send(Reply::progress(id, stage));
                };
                let case = cases
                    .open(&person, OpenArgs { request: None, ..a }, upload, &tz, &send)
                    .map_err(|e| case_error_reply(id, e))?;
                tracing::info!(target: SECURITY, event = "case-opened", person = %person.id,
                    case = %case.id, ground = ?case.opening.ground,
                    emergency = case.is_emergency(), "case opened");
                Reply::ok(id, json!({ "case": view(&case) }))
            }
            "case-attach" => {
                let a: AttachArgs = args(id, env.args)?;
                let up = upload(id, a.request)?;
                let case = cases
                    .attach(&person, &a.case, up)
                    .map_err(|e| case_error_reply(id, e))?;
                Reply::ok(id, json!({ "case": view(&case) }))
            }
            "case-approve" => {
                let a: ApproveArgs = args(id, env.args)?;
                let now = jiff::Timestamp::now();
                // Any listed person may ask for a statement or submit a signed one.
                policy::may_read(&person).map_err(refused)?;
                match (a.statement, a.signature) {
                    (Some(text), Some(sig)) => {
                        let (case, signer) = cases
                            .approve_signed(
                                &config.people,
                                &state2.site_id(),
                                &a.case,
                                &text,
                                &sig,
                                now,
                            )
                            .map_err(|e| case_error_reply(id, e))?;
                        tracing::info!(target: SECURITY, event = "case-authorized",
                            person = %signer, submitted_by = %person.id, case = %case.id,
                            "case authorized");
                        Reply::ok(id, json!({ "case": view(&case) }))
                    }
                    (None, None) => {
                        let text = cases
                            .approval_statement(&state2.site_id(), &a.case, a.valid_hours, now)
                            .map_err(|e| case_error_reply(id, e))?;
                        statement_challenge(id, &person, APPROVE_NAMESPACE, &text)
                    }
                    _ => {
                        return Err(Reply::error(
                            id,
                            ErrorCode::BadArgs,
                            "give both the statement and its signature, or neither",
                        ));
                    }
                }
            }
            "case-countersign" => {
                let a: CountersignArgs = args(id, env.args)?;
                let now = jiff::Timestamp::now();
                // Any listed person may ask for a statement or submit a signed one.
                policy::may_read(&person).map_err(refused)?;
                match (a.statement, a.signature) {
                    (Some(text), Some(sig)) => {
                        let (case, signer) = cases
                            .countersign_signed(
                                &config.people,
                                &state2.site_id(),
                                &a.case,
                                a.export.as_deref(),
                                &text,
                                &sig,
                                now,
                            )
                            .map_err(|e| case_error_reply(id, e))?;
                        tracing::info!(target: SECURITY, event = "export-countersigned",
                            person = %signer, submitted_by = %person.id, case = %case.id,
                            "export countersigned");
                        Reply::ok(id, json!({ "case": view(&case) }))
                    }
                    (None, None) => {
                        let text = cases
                            .countersign_statement(
                                &state2.site_id(),
                                &a.case,
                                a.export.as_deref(),
                                a.valid_hours,
                                now,
                            )
                            .map_err(|e| case_error_reply(id, e))?;
                        statement_challenge(id, &person, COUNTERSIGN_NAMESPACE, &text)
                    }
                    _ => {
                        return Err(Reply::error(
                            id,
                            ErrorCode::BadArgs,
                            "give both the statement and its signature, or neither",
                        ));
                    }
                }
            }
            "case-verify-requester" => {
                let a: VerifyRequesterArgs = args(id, env.args)?;
                let case = cases
                    .verify_requester(&person, &a.case, &a.how)
                    .map_err(|e| case_error_reply(id, e))?;
                Reply::ok(id, json!({ "case": view(&case) }))
            }
            "case-close" => {
                let a: CloseArgs = args(id, env.args)?;
                let case = cases
                    .close(&person, &a.case, &a.reason)
                    .map_err(|e| case_error_reply(id, e))?;
                if crate::export::pipeline::stop(&case.id, a.reason.trim()) {
                    tracing::warn!(target: SECURITY, event = "export-stopped",
                        person = %person.id, case = %case.id,
                        "case closed during its export: the export is stopped");
                }
                Reply::ok(id, json!({ "case": view(&case) }))
            }
            _ => Reply::error(id, ErrorCode::UnknownOp, "unknown case operation"),
        };
        Ok(reply)
    };
    match tokio::task::spawn_blocking(move || run().unwrap_or_else(|r| r)).await {
        Ok(reply) => reply,
        Err(e) => {
            tracing::error!(error = %e, "case operation panicked");
            Reply::error(id, ErrorCode::Internal, "internal error: see the journal")
        }
    }
}

/// A challenge asking `person` to sign an approval or countersignature statement.
fn statement_challenge(id: u64, person: &Person, namespace: &str, text: &str) -> Reply {
    Reply::Challenge {
        v: PROTOCOL_VERSION,
        id,
        person: person.id.clone(),
        public_key: person.public_key.line.clone(),
        namespace: namespace.into(),
        message: B64.encode(text.as_bytes()),
    }
}

/// `camera-list` and `camera-probe`: open to every identified person (they change nothing).
async fn camera_op(state: &Arc<State>, env: Envelope) -> Reply {
    let id = env.id;
    let config = state.config();
    match env.op.as_str() {
        "camera-list" => {
            let cameras: Vec<crate::camera::Listed> =
                config.cameras.iter().map(Into::into).collect();
            Reply::ok(
                id,
                json!({ "cameras": cameras, "time_zone": config.site.time_zone.0 }),
            )
        }
        _ => {
            let a: ProbeArgs = match args(id, env.args) {
                Ok(a) => a,
                Err(r) => return r,
            };
            let Some(camera) = config.camera(&a.camera) else {
                return Reply::error(
                    id,
                    ErrorCode::NotFound,
                    format!(
                        "no camera `{}` in the configuration (`scelle camera list`)",
                        printable(&a.camera)
                    ),
                );
            };
            let zone = &config.site.time_zone.0;
            let range = match a.range.as_deref().map(|r| {
                let tz = jiff::tz::TimeZone::get(zone).unwrap_or(jiff::tz::TimeZone::UTC);
                crate::case::service::parse_range(r, &tz)
            }) {
                None => None,
                Some(Ok(r)) => Some(scelle_adapters::TimeRange {
                    start: r.start,
                    end: r.end,
                }),
                Some(Err(e)) => return Reply::error(id, ErrorCode::BadArgs, e.to_string()),
            };
            let probe = crate::camera::probe(camera, zone, range).await;
            Reply::ok(id, json!({ "probe": probe, "time_zone": zone }))
        }
    }
}

fn upload(id: u64, d: DocumentArg) -> Result<Upload, Reply> {
    let bytes = B64.decode(d.content.as_bytes()).map_err(|e| {
        Reply::error(
            id,
            ErrorCode::BadArgs,
            format!("document content is not base64: {e}"),
        )
    })?;
    Ok(Upload {
        name: d.name,
        bytes,
    })
}

/// A case as clients see it: the folded case plus what the daemon concludes about it.
fn case_view(case: &Case, hours: u32) -> Value {
    let mut v = serde_json::to_value(case).unwrap_or(Value::Null);
    if let Value::Object(m) = &mut v {
        m.insert(
            "overdue".into(),
            Value::Bool(case.is_overdue(jiff::Timestamp::now(), hours)),
        );
        m.insert("has_request".into(), Value::Bool(case.has_request()));
        m.insert(
            "request_due".into(),
            serde_json::to_value(policy::request_due(case, hours)).unwrap_or(Value::Null),
        );
    }
    v
}

/// The one place where case errors become protocol error codes.
pub fn case_error_reply(id: u64, e: CaseError) -> Reply {
    let code = match &e {
        CaseError::Refused(_) => ErrorCode::Refused,
        CaseError::NotFound(_) => ErrorCode::NotFound,
        CaseError::BadInput(_) => ErrorCode::BadArgs,
        CaseError::BadSignature(_) => ErrorCode::BadSignature,
        CaseError::Statement(_) => ErrorCode::Refused,
        CaseError::Register(RegisterError::SignatureRefused { .. }) => ErrorCode::BadSignature,
        CaseError::Register(_) | CaseError::Io(_) => ErrorCode::Internal,
    };
    if code == ErrorCode::Internal {
        tracing::error!(error = %e, "case operation failed");
    }
    Reply::error(id, code, e.to_string())
}

/// An export verified and waiting for the operator's signature. Dropped unsigned (the client
/// went away), it is closed in the register as interrupted and its files are removed from the
/// drive (listed in the entry), so the same command can be run again.
pub struct PendingExport {
    verified: Option<crate::export::Verified>,
    statement: crate::register::NewEntry,
    register: Arc<crate::register::Register>,
}

impl std::fmt::Debug for PendingExport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingExport").finish_non_exhaustive()
    }
}

impl Drop for PendingExport {
    fn drop(&mut self) {
        let Some(v) = self.verified.take() else {
            return;
        };
        let register = self.register.clone();
        let record = v.record;
        let close = move || {
            let names: Vec<String> = record.files.iter().map(|f| f.file.name.clone()).collect();
            let removed = crate::export::journal::remove_export_files(
                std::path::Path::new(&record.destination.path),
                &names,
            );
            let r = crate::export::journal::append_outcome(
                &register,
                crate::register::EntryKind::ExportInterrupted,
                &record.case_id,
                &record.export_id,
                "verified, but the operator did not sign the export-completed entry \
                 (connection closed): its files were removed, the export is not complete",
                &removed,
            );
            if let Err(e) = r {
                tracing::error!(export = %record.export_id, error = %e, "cannot record the unsigned export");
            }
        };
        match tokio::runtime::Handle::try_current() {
            Ok(h) => {
                h.spawn_blocking(close);
            }
            Err(_) => close(),
        }
    }
}

fn export_error_reply(id: u64, e: crate::export::ExportError) -> Reply {
    use crate::export::ExportError as E;
    let code = match &e {
        E::Refused(_) => ErrorCode::Refused,
        E::BadInput(_) => ErrorCode::BadArgs,
        E::Register(_) => ErrorCode::Internal,
        _ => ErrorCode::Failed,
    };
    Reply::error(id, code, e.to_string())
}

/// `case-export`: first call runs the export and answers with a challenge; the second call
/// carries the operator's signature of `export-completed` and gets the record and password.
async fn export_op(
    state: &Arc<State>,
    session: &mut Session,
    person: Person,
    id: u64,
    a: ExportArgs,
    progress: &mpsc::Sender<Reply>,
) -> Reply {
    if let Some(signature) = &a.signature {
        return export_sign(state, session, &person, id, &a, signature).await;
    }
    let case = match state.cases.check_export(&person, &a.case) {
        Ok(c) => c,
        Err(e) => return case_error_reply(id, e),
    };
    let anonymize = match super::access_ops::export_choice(&person, &case, id, &a) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let Some(to) = a.to.clone() else {
        return Reply::error(
            id,
            ErrorCode::BadArgs,
            format!(
                "missing `--to DIR` (the drive's mount point): say where to export case {}, \
                 which may be exported now",
                case.id
            ),
        );
    };
    let reviewed = anonymize.as_ref().and_then(|x| x.review.clone());
    let (password, generated) = match &a.password {
        // A reviewed export is sealed with the password its review sheet was sealed with.
        _ if reviewed.is_some() => {
            let r = reviewed.as_ref().expect("checked");
            if a.password
                .as_ref()
                .is_some_and(|p| p.as_str() != r.password.as_str())
            {
                return Reply::error(
                    id,
                    ErrorCode::BadArgs,
                    "this export uses the password of its review sheet: leave --password-file out",
                );
            }
            (r.password.clone(), r.password_generated)
        }
        Some(p) => {
            if let Err(weak) = crate::seal::password::check(p) {
                return Reply::error(
                    id,
                    ErrorCode::BadArgs,
                    format!("password refused: {weak}: leave it out and scelle generates one"),
                );
            }
            (zeroize::Zeroizing::new(p.clone()), false)
        }
        None => (crate::seal::password::generate(), true),
    };
    if !crate::export::pipeline::claim(&case.id) {
        return Reply::error(
            id,
            ErrorCode::Refused,
            format!("an export of case {} is already running", case.id),
        );
    }
    let _running = crate::export::pipeline::Running(case.id.clone());
    let req = crate::export::ExportRequest {
        case,
        operator: person.clone(),
        to: std::path::PathBuf::from(to),
        accept_drive: a.accept_drive,
        password,
        password_generated: generated,
        anonymize,
    };
    let prog = crate::export::pipeline::Progress {
        id,
        tx: progress.clone(),
    };
    let result = crate::export::run(
        state.config(),
        state.register.clone(),
        req,
        state.shutdown.clone(),
        prog,
    )
    .await;
    let verified = match result {
        Ok(v) => v,
        Err(e) => return export_error_reply(id, e),
    };
    let statement = crate::export::journal::completed_entry(
        &verified.record,
        &verified.verified_entry,
        &verified.export_started,
        &person.id,
    );
    let message = B64.encode(statement.statement());
    session.pending_export = Some(PendingExport {
        verified: Some(verified),
        statement,
        register: state.register.clone(),
    });
    Reply::Challenge {
        v: PROTOCOL_VERSION,
        id,
        person: person.id.clone(),
        public_key: person.public_key.line.clone(),
        namespace: SIGNATURE_NAMESPACE.into(),
        message,
    }
}

/// Removes a verified export's files and records `export-failed` with `reason`.
async fn abandon(state: &Arc<State>, v: crate::export::Verified, reason: &str) {
    let removed = crate::export::pipeline::remove_files(&v);
    let register = state.register.clone();
    let (case, export) = (v.record.case_id.clone(), v.record.export_id.clone());
    let reason = format!(
        "not completed: {reason}; the export's files were removed, no password was released"
    );
    tracing::warn!(target: SECURITY, event = "export-failed", export = %export, case = %case,
        reason = %reason, "verified export abandoned");
    let r = tokio::task::spawn_blocking(move || {
        crate::export::journal::append_outcome(
            &register,
            crate::register::EntryKind::ExportFailed,
            &case,
            &export,
            &reason,
            &removed,
        )
    })
    .await;
    if !matches!(r, Ok(Ok(_))) {
        tracing::error!("cannot record the abandoned export");
    }
}

async fn export_sign(
    state: &Arc<State>,
    session: &mut Session,
    person: &Person,
    id: u64,
    a: &ExportArgs,
    signature: &str,
) -> Reply {
    let matches = session.pending_export.as_ref().is_some_and(|p| {
        p.verified.as_ref().is_some_and(|v| {
            v.record.case_id == a.case
                && a.export.as_deref().is_none_or(|e| e == v.record.export_id)
        })
    });
    if !matches {
        return Reply::error(
            id,
            ErrorCode::BadArgs,
            "no verified export of this case is waiting for a signature on this connection",
        );
    }
    // Closed (or otherwise no longer exportable) while waiting for the signature: the export
    // stops here, its files are removed and no password is released.
    if let Err(e) = state.cases.check_export(person, &a.case) {
        if let Some(v) = session
            .pending_export
            .take()
            .and_then(|mut p| p.verified.take())
        {
            abandon(state, v, &e.to_string()).await;
        }
        return case_error_reply(id, e);
    }
    let pending = session.pending_export.as_mut().expect("checked above");
    let mut entry = pending.statement.clone();
    if let Err(e) = crate::api::identify::verify_signature(
        &person.public_key.key,
        SIGNATURE_NAMESPACE,
        &entry.statement(),
        signature,
    ) {
        return Reply::error(
            id,
            ErrorCode::BadSignature,
            format!("export signature refused: {e}"),
        );
    }
    entry.signatures.push(crate::register::EntrySignature {
        person: person.id.clone(),
        role: crate::config::Role::Operator.as_str().to_owned(),
        signature: signature.trim().to_owned(),
    });
    let register = state.register.clone();
    let appended = tokio::task::spawn_blocking(move || register.append(entry)).await;
    match appended {
        Ok(Ok(e)) => {
            let Some(v) = pending.verified.take() else {
                return Reply::error(id, ErrorCode::Internal, "export vanished");
            };
            session.pending_export = None;
            crate::export::pipeline::review::forget(&v.record.case_id);
            tracing::info!(target: SECURITY, event = "export-completed", person = %person.id,
                export = %v.record.export_id, case = %v.record.case_id,
                files = v.record.files.len(), drive_serial = %v.record.destination.drive.serial,
                drive_approved = v.record.destination.approved,
                "export completed and signed");
            Reply::ok(
                id,
                json!({
                    "record": v.record,
                    "completed_entry": hex::encode(e.hash),
                    "password": v.password.as_str(),
                }),
            )
        }
        Ok(Err(e)) => {
            tracing::error!(error = %e, "cannot record export-completed");
            Reply::error(id, ErrorCode::Internal, format!("register: {e}"))
        }
        Err(e) => Reply::error(id, ErrorCode::Internal, format!("internal error: {e}")),
    }
}
