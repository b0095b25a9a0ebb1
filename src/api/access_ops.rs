//! The operations of access requests (issue 18, DEL-2): `case-identity` (how the data
//! subject's identity and the legitimacy of the request were proven, AUTH-5) and
//! `case-viewed` (an on-site viewing). Both are register entries by the caller, signed with
//! their SSH key like `export-completed`: the first call answers with a challenge holding the
//! entry's statement (namespace `scelle-register`), the second carries the same arguments and
//! the signature and records it. `case-review` makes the sealed review sheet of the faces
//! (decision 0151) and [`export_choice`] turns `case-export`'s access-request arguments into
//! what the export hands over. The rules are in [`crate::case::policy`]; decision 0150.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::{Value, json};

use super::blocking_ops::args;
use super::protocol::{DocumentArg, ErrorCode, Op, Reply};
use crate::case::model::Range;
use crate::case::policy::Handover;
use crate::case::service::Upload;
use crate::case::{Case, Refusal, policy};
use crate::config::{Person, Role};
use crate::daemon::state::State;
use crate::export::pipeline::Anonymize;
use crate::register::{EntryKind, NewEntry, SIGNATURE_NAMESPACE};

/// A time a person states may be this far ahead of the daemon's clock (clocks drift).
const FUTURE_SKEW_SECS: i64 = 300;
/// Longest free text of these operations.
const MAX_TEXT: usize = 2000;

/// `case-identity`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityArgs {
    pub case: String,
    /// National identity card, passport, residence permit…
    pub document_kind: String,
    /// The document's number or other reference.
    pub document_reference: String,
    /// When it was checked: RFC 3339, or civil time in the site's zone.
    pub checked_at: String,
    /// Why the request is legitimate.
    pub legitimacy: String,
    /// The scan of the document, attached like the written request.
    #[serde(default)]
    pub scan: Option<DocumentArg>,
    /// Second call: the caller's SSHSIG over the challenge's statement.
    #[serde(default)]
    pub signature: Option<String>,
}

/// `case-viewed`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ViewedArgs {
    pub case: String,
    /// When the viewing took place.
    pub at: String,
    /// Who attended.
    pub attendees: Vec<String>,
    /// The ranges shown (`START/END`); empty: every range of the case.
    #[serde(default)]
    pub ranges: Vec<String>,
    /// On which screen or client.
    pub screen: String,
    #[serde(default)]
    pub signature: Option<String>,
}

/// `case-review`. No `Debug`: it may carry a password.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewArgs {
    pub case: String,
    /// The export's password, chosen by the operator (checked by the strength rule);
    /// default: generated and returned once.
    #[serde(default)]
    pub password: Option<String>,
}

impl Drop for ReviewArgs {
    fn drop(&mut self) {
        if let Some(p) = &mut self.password {
            zeroize::Zeroize::zeroize(p);
        }
    }
}

/// Runs one of this file's operations for `person`.
pub(super) async fn handle(
    state: &Arc<State>,
    person: Person,
    id: u64,
    op: Op,
    a: Value,
    progress: &tokio::sync::mpsc::Sender<Reply>,
) -> Reply {
    if op == Op::CaseReview {
        #[cfg(feature = "anonymize")]
        return match review(state, &person, id, a, progress).await {
            Ok(r) | Err(r) => r,
        };
        #[cfg(not(feature = "anonymize"))]
        let _ = progress;
        #[cfg(not(feature = "anonymize"))]
        return Reply::error(
            id,
            ErrorCode::Failed,
            crate::export::pipeline::ANONYMIZE_MISSING,
        );
    }
    let state = state.clone();
    let run = move || match op {
        Op::CaseIdentity => identity(&state, &person, id, a),
        Op::CaseViewed => viewed(&state, &person, id, a),
        other => Err(Reply::error(
            id,
            ErrorCode::UnknownOp,
            format!("`{}` is not an access-request operation", other.name()),
        )),
    };
    super::blocking_ops::run(id, "access request", run).await
}

fn bad(id: u64, message: impl Into<String>) -> Reply {
    Reply::error(id, ErrorCode::BadArgs, message)
}

/// A required one-line-or-more text: trimmed, not empty, not huge.
fn needed(id: u64, what: &str, v: &str) -> Result<String, Reply> {
    let t = v.trim();
    if t.is_empty() {
        return Err(bad(id, format!("the {what} is missing")));
    }
    if t.len() > MAX_TEXT {
        return Err(bad(
            id,
            format!("the {what} is longer than {MAX_TEXT} bytes"),
        ));
    }
    Ok(t.to_owned())
}

/// A stated time: in the site's zone unless it says otherwise, not in the future.
fn stated_time(state: &State, id: u64, what: &str, text: &str) -> Result<Timestamp, Reply> {
    let tz = jiff::tz::TimeZone::get(&state.config().site.time_zone.0)
        .unwrap_or(jiff::tz::TimeZone::UTC);
    let t = super::delivery_ops::parse_at(text, &tz).ok_or_else(|| {
        bad(
            id,
            format!(
                "bad {what} `{}`: expected 2026-11-23T15:30 (site time) or 2026-11-23T14:30:00Z",
                text.chars()
                    .filter(|c| !c.is_control())
                    .take(40)
                    .collect::<String>()
            ),
        )
    })?;
    if t.as_second() > Timestamp::now().as_second() + FUTURE_SKEW_SECS {
        return Err(bad(id, format!("the {what} {t} is in the future")));
    }
    Ok(t)
}

/// The challenge asking `person` to sign `entry`'s statement.
fn challenge(id: u64, person: &Person, entry: &NewEntry) -> Reply {
    super::handlers::challenge(id, person, SIGNATURE_NAMESPACE, &entry.statement())
}

/// The role an operator-or-authorizer signs in: operator when they hold it.
fn acting_role(person: &Person) -> Role {
    if person.has(Role::Operator) {
        Role::Operator
    } else {
        Role::Authorizer
    }
}

fn case_reply(id: u64, case: &Case) -> Reply {
    Reply::ok(id, json!({ "case": case }))
}

fn identity(state: &State, person: &Person, id: u64, v: Value) -> Result<Reply, Reply> {
    let a: IdentityArgs = args(id, v)?;
    let kind = needed(id, "document kind (--document-kind)", &a.document_kind)?;
    let reference = needed(
        id,
        "document reference (--document-ref)",
        &a.document_reference,
    )?;
    let legitimacy = needed(
        id,
        "legitimacy of the request (--legitimacy)",
        &a.legitimacy,
    )?;
    let checked_at = stated_time(state, id, "check time (--at)", &a.checked_at)?;
    let scan = match a.scan {
        Some(d) => {
            let bytes = B64
                .decode(d.content.as_bytes())
                .map_err(|e| bad(id, format!("the scan's content is not base64: {e}")))?;
            if bytes.is_empty() {
                return Err(bad(id, "the scan is empty"));
            }
            Some(Upload {
                name: d.name,
                bytes,
            })
        }
        None => None,
    };
    let scan_sha = scan
        .as_ref()
        .map(|u| hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&u.bytes)));
    let mut payload = json!({
        "document_kind": kind,
        "document_reference": reference,
        "checked_at": checked_at,
        "legitimacy": legitimacy,
    });
    if let Some(sha) = &scan_sha {
        payload["scan"] = json!(sha);
    }
    let entry = NewEntry::new(
        EntryKind::IdentityProven,
        Some(&a.case),
        &person.id,
        payload,
    );
    let cases = &state.cases;
    let err = |e| super::error_codes::case_error_reply(id, e);
    let Some(signature) = a.signature else {
        cases
            .check(person, &a.case, &policy::may_prove_identity)
            .map_err(err)?;
        return Ok(challenge(id, person, &entry));
    };
    let case = cases
        .record_signed(
            person,
            &a.case,
            &policy::may_prove_identity,
            entry,
            acting_role(person),
            &signature,
            scan.map(|u| (u, "identity")),
        )
        .map_err(err)?;
    tracing::info!(target: crate::security_log::TARGET, event = "identity-proven",
        person = %person.id, case = %case.id, scan = scan_sha.is_some(),
        "data subject's identity recorded");
    Ok(case_reply(id, &case))
}

fn viewed(state: &State, person: &Person, id: u64, v: Value) -> Result<Reply, Reply> {
    let a: ViewedArgs = args(id, v)?;
    let at = stated_time(state, id, "viewing time (--at)", &a.at)?;
    let screen = needed(id, "screen or client (--screen)", &a.screen)?;
    let attendees = a
        .attendees
        .iter()
        .map(|p| needed(id, "attendee (--attendee)", p))
        .collect::<Result<Vec<_>, _>>()?;
    if attendees.is_empty() {
        return Err(bad(id, "say who attended (--attendee, repeat for several)"));
    }
    let tz = jiff::tz::TimeZone::get(&state.config().site.time_zone.0)
        .unwrap_or(jiff::tz::TimeZone::UTC);
    let shown = a
        .ranges
        .iter()
        .map(|r| crate::case::service::parse_range(r, &tz))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(id, e.to_string()))?;
    let cases = &state.cases;
    let err = |e| super::error_codes::case_error_reply(id, e);
    let case = cases.get(&a.case).map_err(err)?;
    let ranges = if shown.is_empty() {
        case.opening.ranges.clone()
    } else {
        shown
    };
    let payload = json!({ "at": at, "attendees": attendees, "ranges": ranges, "screen": screen });
    let entry = NewEntry::new(EntryKind::ViewedOnSite, Some(&a.case), &person.id, payload);
    // Only the case's own footage is shown.
    let check = move |p: &Person, c: &Case| -> Result<(), Refusal> {
        policy::may_record_viewing(p, c)?;
        within(c, &ranges)
    };
    let Some(signature) = a.signature else {
        cases.check(person, &a.case, &check).map_err(err)?;
        return Ok(challenge(id, person, &entry));
    };
    let case = cases
        .record_signed(
            person,
            &a.case,
            &check,
            entry,
            Role::Operator,
            &signature,
            None,
        )
        .map_err(err)?;
    tracing::info!(target: crate::security_log::TARGET, event = "viewed-on-site",
        person = %person.id, case = %case.id, "on-site viewing recorded");
    Ok(case_reply(id, &case))
}

/// Every range shown lies inside one of the case's ranges.
fn within(case: &Case, shown: &[Range]) -> Result<(), Refusal> {
    for r in shown {
        if !case
            .opening
            .ranges
            .iter()
            .any(|c| c.start <= r.start && r.end <= c.end)
        {
            return Err(Refusal::Incomplete(format!(
                "the range {}/{} is not footage of case {}: only its own ranges are shown",
                r.start, r.end, case.id
            )));
        }
    }
    Ok(())
}

/// What an export of `case` hands over, from the operator's arguments (DEL-2): `None` for the
/// original (not an access request), else how it is anonymized. Refused: an access request
/// without the reason on-site viewing was not possible, a kept track without a review made by
/// the caller, a track the review does not have, track choices on another ground.
pub fn export_choice(
    person: &Person,
    case: &Case,
    id: u64,
    a: &super::protocol::ExportArgs,
) -> Result<Option<Anonymize>, Reply> {
    let err = |e: crate::case::CaseError| super::error_codes::case_error_reply(id, e);
    let handover = policy::may_export_as(person, case, a.no_viewing_reason.as_deref())
        .map_err(|r| err(r.into()))?;
    if handover == Handover::Original {
        if !a.keep_track.is_empty() || a.blur_all || a.no_viewing_reason.is_some() {
            return Err(bad(
                id,
                format!(
                    "case {} is not an access request: --keep-track, --blur-all and \
                     --no-viewing-reason are for access requests",
                    case.id
                ),
            ));
        }
        return Ok(None);
    }
    anonymized_choice(person, case, id, a)
}

/// A build without the face detector refuses every access-request export (decision 0150).
#[cfg(not(feature = "anonymize"))]
fn anonymized_choice(
    _person: &Person,
    _case: &Case,
    id: u64,
    _a: &super::protocol::ExportArgs,
) -> Result<Option<Anonymize>, Reply> {
    Err(Reply::error(
        id,
        ErrorCode::Refused,
        format!("refused: {}", crate::export::pipeline::ANONYMIZE_MISSING),
    ))
}

/// How an access-request export is anonymized: the track choice checked against the review.
#[cfg(feature = "anonymize")]
fn anonymized_choice(
    person: &Person,
    case: &Case,
    id: u64,
    a: &super::protocol::ExportArgs,
) -> Result<Option<Anonymize>, Reply> {
    if a.blur_all && !a.keep_track.is_empty() {
        return Err(bad(id, "choose --keep-track or --blur-all, not both"));
    }
    let review = crate::export::pipeline::review::of(&case.id, &person.id)
        .map_err(|e| Reply::error(id, ErrorCode::Refused, e.to_string()))?;
    let files = case.opening.cameras.len() * case.opening.ranges.len();
    let mut keep = Vec::new();
    for k in &a.keep_track {
        let (file, track) = match k.split_once(':') {
            Some((f, t)) => (f.trim().parse::<usize>().ok(), t.trim().parse::<u32>().ok()),
            None if files == 1 => (Some(1), k.trim().parse::<u32>().ok()),
            None => (None, None),
        };
        let (Some(file), Some(track)) = (file, track) else {
            return Err(bad(
                id,
                format!(
                    "--keep-track `{}`: expected FILE:TRACK as on the review sheet (e.g. 1:2)",
                    k.chars()
                        .filter(|c| !c.is_control())
                        .take(20)
                        .collect::<String>()
                ),
            ));
        };
        let Some(r) = &review else {
            return Err(Reply::error(
                id,
                ErrorCode::Refused,
                format!(
                    "refused: no review of case {} by {} is held: a track is kept only as chosen \
                     on your own review sheet (`scelle case review {}`), within {} minutes",
                    case.id,
                    person.id,
                    case.id,
                    crate::export::pipeline::review::REVIEW_TTL.as_secs() / 60
                ),
            ));
        };
        match r.tracks_of(file) {
            Some(t) if t.contains(&track) => {}
            Some(t) => {
                return Err(bad(
                    id,
                    format!(
                        "file {file} of the review has no track {track} (tracks: {})",
                        t.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
                    ),
                ));
            }
            None => {
                return Err(bad(
                    id,
                    format!("the review has no file {file} (1 to {files})"),
                ));
            }
        }
        if keep.iter().any(|(f, _)| *f == file) {
            return Err(bad(
                id,
                format!("one track per file: file {file} named twice"),
            ));
        }
        keep.push((file, track));
    }
    Ok(Some(Anonymize {
        no_viewing_reason: a
            .no_viewing_reason
            .clone()
            .unwrap_or_default()
            .trim()
            .to_owned(),
        keep,
        confirmed_by: person.id.clone(),
        // Only a kept track needs the reviewed footage; blurring everyone pulls afresh
        // unless a review is held (then its footage and its password are used).
        review,
    }))
}

/// `case-review`: pulls and analyzes the footage, holds it, answers with the sealed sheet.
#[cfg(feature = "anonymize")]
async fn review(
    state: &Arc<State>,
    person: &Person,
    id: u64,
    v: Value,
    progress: &tokio::sync::mpsc::Sender<Reply>,
) -> Result<Reply, Reply> {
    let a: ReviewArgs = args(id, v)?;
    let case = state
        .cases
        .check(person, &a.case, &policy::may_review)
        .map_err(|e| super::error_codes::case_error_reply(id, e))?;
    let (password, generated) = match &a.password {
        Some(p) => {
            if let Err(weak) = crate::seal::password::check(p) {
                return Err(bad(
                    id,
                    format!("password refused: {weak}: leave it out and scelle generates one"),
                ));
            }
            (zeroize::Zeroizing::new(p.clone()), false)
        }
        None => (crate::seal::password::generate(), true),
    };
    if !crate::export::pipeline::claim(&case.id) {
        return Err(Reply::error(
            id,
            ErrorCode::Refused,
            format!("an export or review of case {} is already running", case.id),
        ));
    }
    let _running = crate::export::pipeline::Running(case.id.clone());
    let config = state.config();
    let prog = super::export_ops::progress_lines(id, progress);
    let made = crate::export::pipeline::review::make(
        &config,
        &case,
        person,
        password.clone(),
        generated,
        state.shutdown.child_token(),
        prog,
    )
    .await
    .map_err(|e| Reply::error(id, ErrorCode::Failed, e.to_string()))?;
    let (review, sealed) = made;
    let files: Vec<Value> = review
        .clips
        .iter()
        .map(|c| {
            let a = &c.analysis;
            // Where each track's face is on its first frame: what the sheet's thumbnail shows,
            // for programs that choose (the tests) as the operator does by eye.
            let tracks: Vec<Value> = a
                .tracks
                .iter()
                .map(|t| {
                    let s = &t.summary;
                    let at = a
                        .boxes_at(s.first_frame, 0, None)
                        .into_iter()
                        .find(|(id, _)| *id == s.id)
                        .map(|(_, b)| [b.x1, b.y1, b.x2, b.y2]);
                    json!({ "track": s.id, "first_frame": s.first_frame,
                            "last_frame": s.last_frame, "detections": s.detections,
                            "best_score": s.best_score, "box_at_first_frame": at })
                })
                .collect();
            json!({ "file": c.position, "camera": c.camera, "range": c.range,
                    "frames": a.frames, "width": a.info.width, "height": a.info.height,
                    "tracks": tracks })
        })
        .collect();
    let review = crate::export::pipeline::review::hold(review)
        .map_err(|e| Reply::error(id, ErrorCode::Refused, e.to_string()))?;
    tracing::info!(target: crate::security_log::TARGET, event = "faces-reviewed",
        person = %person.id, case = %case.id, files = review.clips.len(),
        "face review made and held in memory");
    let mut result = json!({
        "case": case.id,
        "file_name": format!("{}-review.html.scelle", case.id),
        "sheet": B64.encode(&sealed),
        "files": files,
        "valid_minutes": crate::export::pipeline::review::REVIEW_TTL.as_secs() / 60,
    });
    if generated {
        result["password"] = json!(password.as_str());
    }
    Ok(Reply::ok(id, result))
}
