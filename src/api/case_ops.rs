//! The `case-*` operations but `case-export` ([`super::export_ops`]): argument decoding, the
//! call into [`crate::case`] (whose policy gate decides), run on a blocking thread by the
//! dispatcher because the register is synchronous, and the case as clients see it.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use jiff::tz::TimeZone;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::blocking_ops::args;
use super::error_codes::case_error_reply;
use super::handlers::printable;
use super::protocol::{
    ApproveArgs, AttachArgs, CaseArgs, CloseArgs, CountersignArgs, DocumentArg, ErrorCode,
    OpenArgs, Reply, VerifyRequesterArgs,
};
use crate::case::service::Upload;
use crate::case::statement::{APPROVE_NAMESPACE, COUNTERSIGN_NAMESPACE};
use crate::case::{Case, CaseError, Refusal, policy};
use crate::config::{Config, Person};
use crate::daemon::state::State;
use crate::security_log::TARGET as SECURITY;

fn site_zone(config: &Config) -> TimeZone {
    TimeZone::get(&config.site.time_zone.0).unwrap_or(TimeZone::UTC)
}

/// `case-list`.
pub(super) fn list(state: &State, person: &Person, id: u64) -> Result<Reply, Reply> {
    let hours = state.config().cases.emergency_regularize_hours;
    let refused = |r: Refusal| case_error_reply(id, r.into());
    policy::may_read(person).map_err(refused)?;
    let list: Vec<Value> = state
        .cases
        .list()
        .iter()
        .map(|c| case_view(c, hours))
        .collect();
    Ok(Reply::ok(id, json!({ "cases": list })))
}

/// `case-show`.
pub(super) fn show(state: &State, person: &Person, id: u64, raw: Value) -> Result<Reply, Reply> {
    let hours = state.config().cases.emergency_regularize_hours;
    let refused = |r: Refusal| case_error_reply(id, r.into());
    let a: CaseArgs = args(id, raw)?;
    policy::may_read(person).map_err(refused)?;
    let case = state
        .cases
        .get(&a.case)
        .map_err(|e| case_error_reply(id, e))?;
    let entries = state
        .register
        .entries(Some(&a.case))
        .map_err(|e| case_error_reply(id, e.into()))?;
    Ok(Reply::ok(
        id,
        json!({ "case": case_view(&case, hours), "entries": entries }),
    ))
}

/// `case-open`.
pub(super) fn open(
    state: &State,
    person: &Person,
    id: u64,
    raw: Value,
    progress: &mpsc::Sender<Reply>,
) -> Result<Reply, Reply> {
    let config = state.config();
    let tz = site_zone(&config);
    let hours = config.cases.emergency_regularize_hours;
    let a: OpenArgs = args(id, raw)?;
    if let Some(unknown) = a.cameras.iter().find(|c| config.camera(c.trim()).is_none()) {
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
    let case = state
        .cases
        .open(person, OpenArgs { request: None, ..a }, upload, &tz, &send)
        .map_err(|e| case_error_reply(id, e))?;
    tracing::info!(target: SECURITY, event = "case-opened", person = %person.id,
        case = %case.id, ground = ?case.opening.ground,
        emergency = case.is_emergency(), "case opened");
    Ok(Reply::ok(id, json!({ "case": case_view(&case, hours) })))
}

/// `case-attach`.
pub(super) fn attach(state: &State, person: &Person, id: u64, raw: Value) -> Result<Reply, Reply> {
    let hours = state.config().cases.emergency_regularize_hours;
    let a: AttachArgs = args(id, raw)?;
    let up = upload(id, a.request)?;
    let case = state
        .cases
        .attach(person, &a.case, up)
        .map_err(|e| case_error_reply(id, e))?;
    Ok(Reply::ok(id, json!({ "case": case_view(&case, hours) })))
}

/// `case-approve`.
pub(super) fn approve(state: &State, person: &Person, id: u64, raw: Value) -> Result<Reply, Reply> {
    let config = state.config();
    let a: ApproveArgs = args(id, raw)?;
    let now = jiff::Timestamp::now();
    let site = state.site_id();
    let statement = Statement {
        namespace: APPROVE_NAMESPACE,
        event: "case-authorized",
        done: "case authorized",
    };
    statement.run(
        state,
        person,
        id,
        (a.statement, a.signature),
        || {
            state
                .cases
                .approval_statement(&site, &a.case, a.valid_hours, now)
        },
        |text, sig| {
            state
                .cases
                .approve_signed(&config.people, &site, &a.case, text, sig, now)
        },
    )
}

/// `case-countersign`.
pub(super) fn countersign(
    state: &State,
    person: &Person,
    id: u64,
    raw: Value,
) -> Result<Reply, Reply> {
    let config = state.config();
    let a: CountersignArgs = args(id, raw)?;
    let now = jiff::Timestamp::now();
    let site = state.site_id();
    let export = a.export.as_deref();
    let statement = Statement {
        namespace: COUNTERSIGN_NAMESPACE,
        event: "export-countersigned",
        done: "export countersigned",
    };
    statement.run(
        state,
        person,
        id,
        (a.statement, a.signature),
        || {
            state
                .cases
                .countersign_statement(&site, &a.case, export, a.valid_hours, now)
        },
        |text, sig| {
            state
                .cases
                .countersign_signed(&config.people, &site, &a.case, export, text, sig, now)
        },
    )
}

/// A signed statement's two steps (`case-approve`, `case-countersign`): without statement and
/// signature, the statement to sign as a challenge; with both, the signed statement recorded.
/// Any listed person may ask for a statement or submit a signed one: the signer's authority
/// is the case workflow's to check.
struct Statement {
    namespace: &'static str,
    /// The security event logged when it is recorded, and its message.
    event: &'static str,
    done: &'static str,
}

impl Statement {
    fn run(
        &self,
        state: &State,
        person: &Person,
        id: u64,
        given: (Option<String>, Option<String>),
        ask: impl FnOnce() -> Result<String, CaseError>,
        submit: impl FnOnce(&str, &str) -> Result<(Case, String), CaseError>,
    ) -> Result<Reply, Reply> {
        policy::may_read(person).map_err(|r| case_error_reply(id, r.into()))?;
        match given {
            (Some(text), Some(sig)) => {
                let (case, signer) = submit(&text, &sig).map_err(|e| case_error_reply(id, e))?;
                tracing::info!(target: SECURITY, event = self.event,
                    person = %signer, submitted_by = %person.id, case = %case.id, "{}", self.done);
                let hours = state.config().cases.emergency_regularize_hours;
                Ok(Reply::ok(id, json!({ "case": case_view(&case, hours) })))
            }
            (None, None) => {
                let text = ask().map_err(|e| case_error_reply(id, e))?;
                Ok(super::handlers::challenge(
                    id,
                    person,
                    self.namespace,
                    text.as_bytes(),
                ))
            }
            (Some(_), None) | (None, Some(_)) => Err(Reply::error(
                id,
                ErrorCode::BadArgs,
                "give both the statement and its signature, or neither",
            )),
        }
    }
}

/// `case-verify-requester`.
pub(super) fn verify_requester(
    state: &State,
    person: &Person,
    id: u64,
    raw: Value,
) -> Result<Reply, Reply> {
    let hours = state.config().cases.emergency_regularize_hours;
    let a: VerifyRequesterArgs = args(id, raw)?;
    let case = state
        .cases
        .verify_requester(person, &a.case, &a.how)
        .map_err(|e| case_error_reply(id, e))?;
    Ok(Reply::ok(id, json!({ "case": case_view(&case, hours) })))
}

/// `case-close`.
pub(super) fn close(state: &State, person: &Person, id: u64, raw: Value) -> Result<Reply, Reply> {
    let hours = state.config().cases.emergency_regularize_hours;
    let a: CloseArgs = args(id, raw)?;
    let case = state
        .cases
        .close(person, &a.case, &a.reason)
        .map_err(|e| case_error_reply(id, e))?;
    if crate::export::pipeline::stop(&case.id, a.reason.trim()) {
        tracing::warn!(target: SECURITY, event = "export-stopped",
            person = %person.id, case = %case.id,
            "case closed during its export: the export is stopped");
    }
    Ok(Reply::ok(id, json!({ "case": case_view(&case, hours) })))
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
pub(super) fn case_view(case: &Case, hours: u32) -> Value {
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
