//! `register-report`: the register report (issue 17) through the daemon, for an auditor who
//! has no access to the database file. The daemon verifies its own register, folds it and
//! renders the report (PDF, CSV or JSON) on a blocking thread; the CLI writes it.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::Deserialize;
use serde_json::{Value, json};

use super::blocking_ops::{args, gate};
use super::protocol::{ErrorCode, Reply};
use crate::case::policy;
use crate::config::Person;
use crate::daemon::state::State;
use crate::report::{self, Lang, Report};
use crate::security_log::TARGET as SECURITY;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportArgs {
    /// `pdf` (default), `csv` or `json`.
    #[serde(default)]
    pub format: Option<String>,
    /// `fr` (default) or `en`.
    #[serde(default)]
    pub lang: Option<String>,
    /// Cases opened on or after this UTC date (`YYYY-MM-DD`).
    #[serde(default)]
    pub from: Option<String>,
    /// Cases opened on or before this UTC date.
    #[serde(default)]
    pub to: Option<String>,
}

/// Runs `register-report` for `person`.
pub async fn handle(state: &Arc<State>, person: Person, id: u64, a: Value) -> Reply {
    let state = state.clone();
    super::blocking_ops::run(id, "register report", move || {
        report_op(&state, &person, id, a)
    })
    .await
}

fn bad(id: u64, message: String) -> Reply {
    Reply::error(id, ErrorCode::BadArgs, message)
}

fn date(id: u64, text: Option<&str>) -> Result<Option<jiff::civil::Date>, Reply> {
    text.map(|t| {
        t.parse()
            .map_err(|_| bad(id, format!("bad date `{t}`: expected YYYY-MM-DD")))
    })
    .transpose()
}

fn report_op(state: &State, person: &Person, id: u64, a: Value) -> Result<Reply, Reply> {
    let a: ReportArgs = args(id, a)?;
    gate(id, policy::may_read_register_report(person))?;
    let lang = match a.lang.as_deref() {
        None | Some("fr") => Lang::Fr,
        Some("en") => Lang::En,
        Some(other) => return Err(bad(id, format!("unknown language `{other}`: fr or en"))),
    };
    let format = a.format.as_deref().unwrap_or("pdf");
    if !matches!(format, "pdf" | "csv" | "json") {
        return Err(bad(
            id,
            format!("unknown format `{format}`: pdf, csv or json"),
        ));
    }
    let (from, to) = (date(id, a.from.as_deref())?, date(id, a.to.as_deref())?);
    let internal = |e: crate::register::RegisterError| {
        tracing::error!(error = %e, "register report failed");
        Reply::error(id, ErrorCode::Internal, format!("register: {e}"))
    };
    let verified = state.register.verify(None);
    let entries = state.register.entries(None).map_err(internal)?;
    let rep = Report::new(
        &entries,
        verified.as_ref().map(|_| ()).map_err(|e| e.to_string()),
        from,
        to,
        lang,
    );
    let bytes = match format {
        "csv" => rep.to_csv().into_bytes(),
        "json" => rep.to_json().into_bytes(),
        _ => report::pdf::to_pdf(&rep),
    };
    tracing::info!(target: SECURITY, event = "register-report", person = %person.id,
        format, cases = rep.facts.cases.len(), bytes = bytes.len(),
        verified = rep.register.integrity_failure.is_none(), "register report made");
    Ok(Reply::ok(
        id,
        json!({
            "format": format,
            "file_name": format!("registre.{format}"),
            "head": rep.register.head,
            "integrity_failure": rep.register.integrity_failure,
            "content": B64.encode(&bytes),
        }),
    ))
}
