//! The operations of issue 8: `case-receipt`, `case-delivered`, `purge-list`, `purge-run`.
//! Argument decoding, the role checks, the call into [`crate::receipt`] / [`crate::purge`]
//! (run on a blocking thread by the dispatcher: the register is synchronous); their errors
//! map to protocol codes in [`super::error_codes`].

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::Deserialize;
use serde_json::{Value, json};

use super::blocking_ops::{args, gate};
use super::error_codes::error_reply;
use super::protocol::{DocumentArg, ErrorCode, Reply};
use crate::case::policy;
use crate::case::service::Upload;
use crate::config::Person;
use crate::daemon::state::State;
use crate::purge::{self, SystemClock};
use crate::receipt::delivery;
use crate::receipt::{Lang, Receipt};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiptArgs {
    pub case: String,
    /// `fr` (default) or `en`.
    #[serde(default)]
    pub lang: Option<String>,
    /// Export id; default: the case's last completed export.
    #[serde(default)]
    pub export: Option<String>,
    /// Hand-over date printed on the receipt; default: now.
    #[serde(default)]
    pub at: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveredArgs {
    pub case: String,
    pub signed_receipt: DocumentArg,
    #[serde(default)]
    pub at: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PurgeRunArgs {
    /// One item, purged now on request; absent: every item due.
    #[serde(default)]
    pub item: Option<String>,
}

/// `DATE`: an RFC 3339 instant, a civil date-time or a date (midnight) in the site's zone.
pub fn parse_at(text: &str, tz: &TimeZone) -> Option<Timestamp> {
    let t = text.trim();
    if let Ok(ts) = t.parse::<Timestamp>() {
        return Some(ts);
    }
    if let Ok(dt) = t.parse::<jiff::civil::DateTime>() {
        return dt.to_zoned(tz.clone()).ok().map(|z| z.timestamp());
    }
    let d: jiff::civil::Date = t.parse().ok()?;
    d.to_zoned(tz.clone()).ok().map(|z| z.timestamp())
}

fn at(id: u64, text: Option<&str>, tz: &TimeZone) -> Result<Option<Timestamp>, Reply> {
    text.map(|t| {
        parse_at(t, tz).ok_or_else(|| {
            Reply::error(
                id,
                ErrorCode::BadArgs,
                format!(
                    "bad date `{t}`: expected 2026-11-23, 2026-11-23T15:30 (site time) or \
                     2026-11-23T14:30:00Z"
                ),
            )
        })
    })
    .transpose()
}

fn site_zone(state: &State) -> TimeZone {
    TimeZone::get(&state.config().site.time_zone.0).unwrap_or(TimeZone::UTC)
}

pub(super) fn receipt(state: &State, person: &Person, id: u64, a: Value) -> Result<Reply, Reply> {
    let a: ReceiptArgs = args(id, a)?;
    gate(id, policy::may_print_receipt(person))?;
    let lang = match a.lang.as_deref() {
        None | Some("fr") => Lang::Fr,
        Some("en") => Lang::En,
        Some(other) => {
            return Err(Reply::error(
                id,
                ErrorCode::BadArgs,
                format!("unknown language `{other}`: fr or en"),
            ));
        }
    };
    let handover = at(id, a.at.as_deref(), &site_zone(state))?;
    let r = Receipt::from_register(
        &state.register,
        &a.case,
        a.export.as_deref(),
        None,
        handover,
    )
    .map_err(|e| error_reply(id, e))?;
    let pdf = crate::receipt::render(&r, lang);
    tracing::info!(target: crate::security_log::TARGET, event = "receipt-made",
        person = %person.id, case = %a.case, export = %r.record.export_id,
        bytes = pdf.len(), "delivery receipt made");
    Ok(Reply::ok(
        id,
        json!({
            "case": a.case,
            "export_id": r.record.export_id,
            "file_name": format!("{}-recu.pdf", a.case),
            "pdf": B64.encode(&pdf),
        }),
    ))
}

pub(super) fn delivered(state: &State, person: &Person, id: u64, a: Value) -> Result<Reply, Reply> {
    let a: DeliveredArgs = args(id, a)?;
    let when = at(id, a.at.as_deref(), &site_zone(state))?;
    let bytes = B64
        .decode(a.signed_receipt.content.as_bytes())
        .map_err(|e| {
            Reply::error(
                id,
                ErrorCode::BadArgs,
                format!("the scan's content is not base64: {e}"),
            )
        })?;
    let scan = Upload {
        name: a.signed_receipt.name,
        bytes,
    };
    let case = delivery::record(&state.cases, person, &a.case, scan, when, Timestamp::now())
        .map_err(|e| error_reply(id, e))?;
    tracing::info!(target: crate::security_log::TARGET, event = "handed-over",
        person = %person.id, case = %case.id, "hand-over recorded");
    Ok(Reply::ok(id, json!({ "case": case })))
}

pub(super) fn purge_list(state: &State, person: &Person, id: u64) -> Result<Reply, Reply> {
    gate(id, policy::may_read(person))?;
    let dir = state.config().daemon.state_dir.clone();
    let items = purge::items(&state.register, &dir).map_err(|e| error_reply(id, e))?;
    let now = Timestamp::now();
    let list: Vec<Value> = items
        .iter()
        .map(|i| {
            let mut v = serde_json::to_value(i).unwrap_or(Value::Null);
            if let Value::Object(m) = &mut v {
                m.insert("due_now".into(), Value::Bool(i.is_due(now)));
                m.insert("overdue".into(), Value::Bool(i.is_overdue(now)));
            }
            v
        })
        .collect();
    Ok(Reply::ok(id, json!({ "now": now, "items": list })))
}

pub(super) fn purge_run(state: &State, person: &Person, id: u64, a: Value) -> Result<Reply, Reply> {
    let a: PurgeRunArgs = args(id, a)?;
    gate(id, policy::may_purge(person))?;
    let dir = state.config().daemon.state_dir.clone();
    let summary = |item: &str, e: &crate::register::Entry| {
        json!({ "item": item, "entry": e.seq, "bytes": e.payload["bytes"],
                "files": e.payload["files"].as_array().map_or(0, Vec::len) })
    };
    match a.item {
        Some(item) => {
            let e = purge::purge_one(&state.register, &dir, &item, &person.id, &SystemClock)
                .map_err(|e| error_reply(id, e))?;
            Ok(Reply::ok(
                id,
                json!({ "purged": [summary(&item, &e)], "failed": [] }),
            ))
        }
        None => {
            let done = purge::run_due(&state.register, &dir, &person.id, &SystemClock)
                .map_err(|e| error_reply(id, e))?;
            let mut purged = Vec::new();
            let mut failed = Vec::new();
            for (item, r) in done {
                match r {
                    Ok(e) => purged.push(summary(&item.id, &e)),
                    Err(e) => failed.push(json!({ "item": item.id, "error": e.to_string() })),
                }
            }
            Ok(Reply::ok(id, json!({ "purged": purged, "failed": failed })))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_at;
    use jiff::tz::TimeZone;

    #[test]
    fn dates_are_read_in_the_site_zone() {
        let paris = TimeZone::get("Europe/Paris").unwrap();
        let t = |s| parse_at(s, &paris).map(|t| t.to_string());
        assert_eq!(t("2026-11-23").as_deref(), Some("2026-11-22T23:00:00Z"));
        assert_eq!(
            t("2026-11-23T15:30").as_deref(),
            Some("2026-11-23T14:30:00Z")
        );
        assert_eq!(
            t("2026-11-23T14:30:00Z").as_deref(),
            Some("2026-11-23T14:30:00Z")
        );
        assert_eq!(t("hier"), None);
    }
}
