//! The register folded into what the report states (issue 17): the site and controller, the
//! people list and each of its changes, then per case its opening, written request or
//! emergency, approval, requester check, each export (with its countersignature and hand-over),
//! purges and closing, and whether its deadlines were met.
//!
//! Everything comes from the entries alone, and every value is already spelled for people in
//! the report's language (names with their role, dates in the site's zone with the UTC
//! offset, French labels instead of the register's codes), so the PDF, the CSV and the JSON
//! say the same thing.

use std::collections::HashMap;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::Serialize;
use serde_json::Value;

use super::{Lang, tr};
use crate::register::{Entry, EntryKind};

/// Days after the end of legitimate use within which a copy must be purged (PROC-RGPD-001 §04).
pub const PURGE_DAYS: i64 = 30;
/// Hours an emergency has to be regularized when the register does not record the setting.
pub const DEFAULT_REGULARIZE_HOURS: i64 = 72;

/// The site and its controller, from the last `config-changed` entry carrying `site`.
#[derive(Clone, Debug, Default, Serialize)]
pub struct SiteFacts {
    pub id: String,
    pub name: String,
    pub controller: String,
    pub address: String,
    pub dpo_contact: String,
    pub level: String,
    pub time_zone: String,
    /// When the register recorded this identity.
    pub recorded: String,
}

/// A person of the list in force at the end of the report.
#[derive(Clone, Debug, Serialize)]
pub struct PersonFacts {
    pub id: String,
    pub name: String,
    pub roles: String,
}

/// One change of the people list.
#[derive(Clone, Debug, Serialize)]
pub struct PeopleChange {
    pub entry: u64,
    pub at: String,
    pub by: String,
    /// What changed, one line each (`ajout : Anne Martin (autorisation)`).
    pub changes: Vec<String>,
}

/// A file of an export.
#[derive(Clone, Debug, Serialize)]
pub struct FileFacts {
    pub name: String,
    pub camera: String,
    pub range: String,
    pub recorded: String,
    pub gaps: String,
    pub clock_offset: String,
    /// How the camera's link was secured (ENC-5): "liaison chiffrée (TLS, empreinte …)".
    pub link: String,
    pub codecs: String,
    pub size: u64,
    pub sha256: String,
}

/// One export of a case.
#[derive(Clone, Debug, Serialize)]
pub struct ExportFacts {
    pub export_id: String,
    pub status: String,
    pub operator: String,
    pub started: String,
    pub finished: String,
    pub drive: String,
    pub folder: String,
    pub files: Vec<FileFacts>,
    pub manifest_sha256: String,
    /// Why it failed or was interrupted.
    pub failure: String,
    pub operator_signature: String,
    pub countersignature: String,
    pub delivery: String,
    /// The receipt's reference (`CASE/EXPORT`), printed on the receipt.
    pub receipt_reference: String,
    pub signed_receipt_sha256: String,
}

/// One purge of a case's copies.
#[derive(Clone, Debug, Serialize)]
pub struct PurgeFacts {
    pub entry: u64,
    pub at: String,
    pub by: String,
    pub what: String,
    pub method: String,
}

/// One case.
#[derive(Clone, Debug, Serialize)]
pub struct CaseFacts {
    pub case_id: String,
    pub opened: String,
    pub opened_by: String,
    pub ground: String,
    pub reference: String,
    pub requester: String,
    pub organisation: String,
    pub recipient: String,
    pub purpose: String,
    pub cameras: String,
    pub ranges: String,
    pub written_request: String,
    pub emergency: String,
    pub approval: String,
    pub requester_check: String,
    pub exports: Vec<ExportFacts>,
    pub purges: Vec<PurgeFacts>,
    pub closing: String,
    /// When the case was closed (empty while open).
    pub closed: String,
    pub status: String,
    pub deadlines: String,
    /// `false` when a deadline was missed.
    pub deadlines_met: bool,
    /// Sequence numbers of the case's entries.
    pub entries: String,
    #[serde(skip)]
    pub(crate) opened_at: Option<Timestamp>,
}

/// Everything the report states besides the register's header.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Facts {
    pub site: SiteFacts,
    pub people: Vec<PersonFacts>,
    pub people_changes: Vec<PeopleChange>,
    pub cases: Vec<CaseFacts>,
}

/// A role's name for people.
pub fn role_label(lang: Lang, role: &str) -> String {
    match role {
        "operator" => tr(lang, "opérateur", "operator"),
        "authorizer" => tr(lang, "autorisation", "authorizer"),
        "auditor" => tr(lang, "auditeur", "auditor"),
        other => other,
    }
    .to_owned()
}

/// A ground's name for people.
pub fn ground_label(lang: Lang, ground: &str) -> String {
    match ground {
        "requisition" => tr(lang, "Réquisition judiciaire", "Judicial requisition"),
        "incident" => tr(
            lang,
            "Incident (conservation de preuve)",
            "Incident (evidence preservation)",
        ),
        "access-request" => tr(
            lang,
            "Demande d'accès (RGPD art. 15)",
            "Access request (GDPR art. 15)",
        ),
        other => other,
    }
    .to_owned()
}

fn level_label(lang: Lang, level: &str) -> String {
    match level {
        "renforce" => tr(lang, "renforcé", "reinforced"),
        "premium" => "premium",
        "" => "",
        _ => "standard",
    }
    .to_owned()
}

/// `YYYY-MM-DD HH:MM:SS +01:00` in `tz`.
pub fn local_time(t: Timestamp, tz: &TimeZone) -> String {
    t.to_zoned(tz.clone())
        .strftime("%Y-%m-%d %H:%M:%S %:z")
        .to_string()
}

fn text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Who people are, by id, from every `people-changed` entry (the latest name wins; people
/// since removed keep theirs).
struct Names {
    names: HashMap<String, (String, Vec<String>)>,
    lang: Lang,
}

impl Names {
    fn name(&self, id: &str) -> String {
        if id == "scelle" {
            return tr(self.lang, "scelle (automatique)", "scelle (automatic)").to_owned();
        }
        match self.names.get(id) {
            Some((name, _)) => name.clone(),
            None => id.to_owned(),
        }
    }

    /// `Name (role)`, the role being the one the person acted in.
    fn who(&self, id: &str, role: &str) -> String {
        if id == "scelle" {
            return self.name(id);
        }
        format!("{} ({})", self.name(id), role_label(self.lang, role))
    }

    fn roles(&self, id: &str) -> Vec<String> {
        self.names
            .get(id)
            .map(|(_, r)| r.clone())
            .unwrap_or_default()
    }

    /// The role of `id` among `wanted`, else its first.
    fn role_of(&self, id: &str, wanted: &str) -> String {
        let roles = self.roles(id);
        if roles.iter().any(|r| r == wanted) {
            wanted.to_owned()
        } else {
            roles
                .into_iter()
                .next()
                .unwrap_or_else(|| wanted.to_owned())
        }
    }
}

/// A case being folded.
struct Fold {
    facts: CaseFacts,
    emergency_started: Option<(Timestamp, String, String)>,
    regularized: Option<Timestamp>,
    closed_at: Option<Timestamp>,
    exports: Vec<(String, Option<Timestamp>, bool)>,
    purged_exports: HashMap<String, Timestamp>,
    /// Export id by the hash (hex) of its `export-completed` entry.
    completed: HashMap<String, String>,
}

/// Folds `entries` (oldest first) into the report's facts, keeping the cases opened within
/// `[from, to]` (UTC dates, inclusive); `now` judges deadlines still running.
pub fn facts(
    entries: &[Entry],
    from: Option<jiff::civil::Date>,
    to: Option<jiff::civil::Date>,
    lang: Lang,
    now: Timestamp,
) -> Facts {
    let mut names = Names {
        names: HashMap::new(),
        lang,
    };
    let mut site = SiteFacts::default();
    let mut tz = TimeZone::UTC;
    let mut regularize_hours = DEFAULT_REGULARIZE_HOURS;
    // A first pass for names and the zone: a case's entries may precede a later renaming.
    for e in entries {
        match e.kind {
            EntryKind::PeopleChanged => {
                for p in e.payload["people"].as_array().into_iter().flatten() {
                    let roles = p["roles"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|r| r.as_str().map(str::to_owned))
                        .collect();
                    names
                        .names
                        .insert(text(&p["id"]), (text(&p["name"]), roles));
                }
            }
            EntryKind::ConfigChanged if e.payload.get("site").is_some() => {
                if let Ok(z) = TimeZone::get(&text(&e.payload["time_zone"])) {
                    tz = z;
                }
                if let Some(h) = e.payload["emergency_regularize_hours"].as_i64() {
                    regularize_hours = h;
                }
            }
            EntryKind::ConfigChanged
            | EntryKind::CaseOpened
            | EntryKind::DocumentAttached
            | EntryKind::RequesterVerified
            | EntryKind::IdentityProven
            | EntryKind::ViewedOnSite
            | EntryKind::CaseAuthorized
            | EntryKind::EmergencyStarted
            | EntryKind::EmergencyRegularized
            | EntryKind::ExportStarted
            | EntryKind::ExportCompleted
            | EntryKind::ExportFailed
            | EntryKind::ExportInterrupted
            | EntryKind::ExportVerified
            | EntryKind::Delivered
            | EntryKind::ReceiptAttached
            | EntryKind::Purged
            | EntryKind::MediaInventoried
            | EntryKind::CaseClosed
            | EntryKind::Checkpoint
            | EntryKind::MediaDestroyed
            | EntryKind::ExportCountersigned => {}
        }
    }
    let when = |t: Timestamp| local_time(t, &tz);

    let mut people: Vec<PersonFacts> = Vec::new();
    let mut changes = Vec::new();
    let mut previous: Option<HashMap<String, (String, Vec<String>)>> = None;
    let mut order: Vec<String> = Vec::new();
    let mut cases: HashMap<String, Fold> = HashMap::new();

    for e in entries {
        match e.kind {
            EntryKind::PeopleChanged => {
                let mut list: Vec<(String, String, Vec<String>)> = Vec::new();
                for p in e.payload["people"].as_array().into_iter().flatten() {
                    let roles: Vec<String> = p["roles"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|r| r.as_str().map(str::to_owned))
                        .collect();
                    list.push((text(&p["id"]), text(&p["name"]), roles));
                }
                let roles_text = |roles: &[String]| {
                    roles
                        .iter()
                        .map(|r| role_label(lang, r))
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                let mut lines = Vec::new();
                let before = previous.take().unwrap_or_default();
                for (id, name, roles) in &list {
                    match before.get(id) {
                        None => lines.push(format!(
                            "{} : {name} ({})",
                            tr(lang, "ajout", "added"),
                            roles_text(roles)
                        )),
                        Some((old_name, old_roles)) if old_name != name || old_roles != roles => {
                            lines.push(format!(
                                "{} : {name} ({}), {} {old_name} ({})",
                                tr(lang, "modification", "changed"),
                                roles_text(roles),
                                tr(lang, "auparavant", "was"),
                                roles_text(old_roles)
                            ))
                        }
                        Some(_) => {}
                    }
                }
                for (id, (name, roles)) in &before {
                    if !list.iter().any(|(i, _, _)| i == id) {
                        lines.push(format!(
                            "{} : {name} ({})",
                            tr(lang, "retrait", "removed"),
                            roles_text(roles)
                        ));
                    }
                }
                if lines.is_empty() {
                    lines.push(
                        tr(lang, "clés publiques mises à jour", "public keys updated").into(),
                    );
                }
                changes.push(PeopleChange {
                    entry: e.seq,
                    at: when(e.time),
                    by: names.name(&e.actor),
                    changes: lines,
                });
                people = list
                    .iter()
                    .map(|(id, name, roles)| PersonFacts {
                        id: id.clone(),
                        name: name.clone(),
                        roles: roles_text(roles),
                    })
                    .collect();
                previous = Some(
                    list.into_iter()
                        .map(|(id, name, roles)| (id, (name, roles)))
                        .collect(),
                );
            }
            EntryKind::ConfigChanged if e.payload.get("site").is_some() => {
                let s = &e.payload["site"];
                site = SiteFacts {
                    id: text(&s["id"]),
                    name: text(&s["name"]),
                    controller: text(&s["controller"]),
                    address: text(&s["address"]),
                    dpo_contact: text(&s["dpo_contact"]),
                    level: level_label(lang, &text(&s["level"])),
                    time_zone: text(&e.payload["time_zone"]),
                    recorded: when(e.time),
                };
            }
            EntryKind::ConfigChanged
            | EntryKind::CaseOpened
            | EntryKind::DocumentAttached
            | EntryKind::RequesterVerified
            | EntryKind::IdentityProven
            | EntryKind::ViewedOnSite
            | EntryKind::CaseAuthorized
            | EntryKind::EmergencyStarted
            | EntryKind::EmergencyRegularized
            | EntryKind::ExportStarted
            | EntryKind::ExportCompleted
            | EntryKind::ExportFailed
            | EntryKind::ExportInterrupted
            | EntryKind::ExportVerified
            | EntryKind::Delivered
            | EntryKind::ReceiptAttached
            | EntryKind::Purged
            | EntryKind::MediaInventoried
            | EntryKind::CaseClosed
            | EntryKind::Checkpoint
            | EntryKind::MediaDestroyed
            | EntryKind::ExportCountersigned => {}
        }
        let Some(case_id) = &e.case_id else { continue };
        if e.kind == EntryKind::CaseOpened && !cases.contains_key(case_id) {
            order.push(case_id.clone());
            cases.insert(case_id.clone(), open(e, &names, &when, lang));
            continue;
        }
        let Some(fold) = cases.get_mut(case_id) else {
            continue;
        };
        apply(fold, e, &names, &when, lang);
    }

    let cases = order
        .into_iter()
        .filter_map(|id| cases.remove(&id))
        .filter(|f| {
            let date = f.facts.opened_at.map(|t| t.to_zoned(TimeZone::UTC).date());
            date.is_none_or(|d| from.is_none_or(|f| d >= f) && to.is_none_or(|t| d <= t))
        })
        .map(|f| finish(f, lang, now, regularize_hours, &when))
        .collect();
    Facts {
        site,
        people,
        people_changes: changes,
        cases,
    }
}

fn open(e: &Entry, names: &Names, when: &dyn Fn(Timestamp) -> String, lang: Lang) -> Fold {
    let p = &e.payload;
    let cameras = p["cameras"]
        .as_array()
        .into_iter()
        .flatten()
        .map(text)
        .collect::<Vec<_>>()
        .join(", ");
    let ranges = p["ranges"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| {
            let s: Timestamp = r["start"].as_str()?.parse().ok()?;
            let t: Timestamp = r["end"].as_str()?.parse().ok()?;
            Some(format!("{} → {}", when(s), when(t)))
        })
        .collect::<Vec<_>>()
        .join("\n");
    let emergency = p["emergency"].as_str().map(str::to_owned);
    Fold {
        facts: CaseFacts {
            case_id: e.case_id.clone().unwrap_or_default(),
            opened: when(e.time),
            opened_by: names.who(&e.actor, "operator"),
            ground: ground_label(lang, &text(&p["ground"])),
            reference: text(&p["reference"]),
            requester: text(&p["requester"]),
            organisation: text(&p["organisation"]),
            recipient: text(&p["recipient"]),
            purpose: text(&p["purpose"]),
            cameras,
            ranges,
            written_request: String::new(),
            emergency: String::new(),
            approval: String::new(),
            requester_check: String::new(),
            exports: Vec::new(),
            purges: Vec::new(),
            closing: String::new(),
            closed: String::new(),
            status: String::new(),
            deadlines: String::new(),
            deadlines_met: true,
            entries: e.seq.to_string(),
            opened_at: Some(e.time),
        },
        emergency_started: emergency.map(|j| (e.time, names.who(&e.actor, "operator"), j)),
        regularized: None,
        closed_at: None,
        exports: Vec::new(),
        purged_exports: HashMap::new(),
        completed: HashMap::new(),
    }
}

/// The person who signed `e` in `role`: the remote approval's signed statement, else a
/// signature in that role, else the entry's actor.
fn signer(e: &Entry, role: &str) -> String {
    if let Some(p) = e.payload["signed_statement"]["person"].as_str() {
        return p.to_owned();
    }
    e.signatures
        .iter()
        .find(|s| s.role == role)
        .map(|s| s.person.clone())
        .unwrap_or_else(|| e.actor.clone())
}

fn export_index(fold: &mut Fold, export_id: &str) -> usize {
    if let Some(i) = fold
        .facts
        .exports
        .iter()
        .position(|x| x.export_id == export_id)
    {
        return i;
    }
    fold.facts.exports.push(ExportFacts {
        export_id: export_id.to_owned(),
        status: String::new(),
        operator: String::new(),
        started: String::new(),
        finished: String::new(),
        drive: String::new(),
        folder: String::new(),
        files: Vec::new(),
        manifest_sha256: String::new(),
        failure: String::new(),
        operator_signature: String::new(),
        countersignature: String::new(),
        delivery: String::new(),
        receipt_reference: String::new(),
        signed_receipt_sha256: String::new(),
    });
    fold.exports.push((export_id.to_owned(), None, false));
    fold.facts.exports.len() - 1
}

/// The drive as people read it: vendor and model, serial (or its absence), approval and
/// certification.
pub fn drive_text(lang: Lang, drive: &Value, approved: bool, accepted: bool, cert: &str) -> String {
    let name = format!("{} {}", text(&drive["vendor"]), text(&drive["model"]))
        .trim()
        .to_owned();
    let mut out = if name.is_empty() {
        tr(lang, "support non identifié", "unidentified drive").to_owned()
    } else {
        name
    };
    let serial = text(&drive["serial"]);
    if serial.is_empty() {
        out.push_str(tr(
            lang,
            ", numéro de série non communiqué par le support",
            ", the drive reports no serial number",
        ));
    } else {
        out.push_str(&format!(", {} {serial}", tr(lang, "n° de série", "serial")));
    }
    if approved {
        out.push_str(tr(
            lang,
            ", support chiffré agréé",
            ", approved encrypted drive",
        ));
    } else if accepted {
        out.push_str(tr(
            lang,
            ", support hors liste accepté par l'opérateur",
            ", drive outside the approved list, accepted by the operator",
        ));
    }
    if !cert.is_empty() {
        out.push_str(&format!(
            ", {} {cert}",
            tr(lang, "certification", "certification")
        ));
    }
    out
}

fn apply(
    fold: &mut Fold,
    e: &Entry,
    names: &Names,
    when: &dyn Fn(Timestamp) -> String,
    lang: Lang,
) {
    let f = &mut fold.facts;
    f.entries.push_str(&format!(", {}", e.seq));
    let p = &e.payload;
    match e.kind {
        EntryKind::DocumentAttached if p["role"] == "request" => {
            if !f.written_request.is_empty() {
                f.written_request.push('\n');
            }
            f.written_request.push_str(&format!(
                "{} ({} {}), SHA-256 {}",
                text(&p["name"]),
                tr(lang, "joint le", "attached"),
                when(e.time),
                text(&p["sha256"])
            ));
        }
        EntryKind::EmergencyStarted if fold.emergency_started.is_none() => {
            fold.emergency_started = Some((
                e.time,
                names.who(&e.actor, "operator"),
                text(&p["justification"]),
            ));
        }
        EntryKind::EmergencyRegularized => fold.regularized = Some(e.time),
        EntryKind::CaseAuthorized => {
            let who = signer(e, "authorizer");
            let remote = p["signed_statement"].is_object();
            f.approval = format!(
                "{}, {} {}{}",
                names.who(&who, "authorizer"),
                tr(lang, "le", "on"),
                when(e.time),
                if remote {
                    tr(
                        lang,
                        " (déclaration signée avec sa clé SSH)",
                        " (statement signed with their SSH key)",
                    )
                } else if e.signatures.iter().any(|s| s.person == who) {
                    tr(lang, " (signature SSH)", " (SSH signature)")
                } else {
                    ""
                }
            );
        }
        EntryKind::IdentityProven => {
            let scan = p["scan"].as_str().map(|h| {
                format!(
                    " ; {} {}",
                    tr(lang, "scan joint, SHA-256", "scan attached, SHA-256"),
                    h
                )
            });
            f.requester_check = format!(
                "{} {} n° {}, {} {}, {} {} ({}){} — {} {}",
                tr(lang, "Identité prouvée :", "Identity proven:"),
                text(&p["document_kind"]),
                text(&p["document_reference"]),
                tr(lang, "vérifiée le", "checked on"),
                p["checked_at"]
                    .as_str()
                    .and_then(|t| t.parse::<Timestamp>().ok())
                    .map_or_else(|| text(&p["checked_at"]), when),
                tr(lang, "par", "by"),
                names.who(&e.actor, &names.role_of(&e.actor, "operator")),
                tr(lang, "signature SSH", "SSH signature"),
                scan.unwrap_or_default(),
                tr(lang, "légitimité :", "legitimacy:"),
                text(&p["legitimacy"]),
            );
        }
        EntryKind::ViewedOnSite => {
            let line = format!(
                "{} {} {} {} ({}), {} {}",
                tr(lang, "Visionnage sur place le", "Viewed on site on"),
                p["at"]
                    .as_str()
                    .and_then(|t| t.parse::<Timestamp>().ok())
                    .map_or_else(|| text(&p["at"]), when),
                tr(lang, "sur", "on"),
                text(&p["screen"]),
                p["attendees"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(text)
                    .collect::<Vec<_>>()
                    .join(", "),
                tr(lang, "tenu par", "held by"),
                names.who(&e.actor, "operator"),
            );
            if f.requester_check.is_empty() {
                f.requester_check = line;
            } else {
                f.requester_check = format!("{}\n{line}", f.requester_check);
            }
        }
        EntryKind::RequesterVerified => {
            f.requester_check = format!(
                "{} — {} {}, {} {}",
                text(&p["how"]),
                tr(lang, "vérifié par", "checked by"),
                names.who(&e.actor, &names.role_of(&e.actor, "operator")),
                tr(lang, "le", "on"),
                when(e.time)
            );
        }
        EntryKind::ExportStarted => {
            let id = text(&p["export_id"]);
            let i = export_index(fold, &id);
            fold.exports[i].1 = Some(e.time);
            let x = &mut fold.facts.exports[i];
            x.status = tr(
                lang,
                "en cours (pas de fin enregistrée)",
                "running (no end recorded)",
            )
            .into();
            x.operator = names.who(&e.actor, "operator");
            x.started = when(e.time);
            x.drive = drive_text(
                lang,
                &p["drive"],
                p["approved_drive"] == true,
                p["accepted_by_operator"] == true,
                "",
            );
            x.folder = text(&p["folder"]);
        }
        EntryKind::ExportCompleted | EntryKind::ExportVerified => {
            let r = &p["record"];
            let id = text(&r["export_id"]);
            let i = export_index(fold, &id);
            fold.exports[i].2 = true;
            if e.kind == EntryKind::ExportCompleted {
                fold.completed.insert(hex::encode(e.hash), id.clone());
            }
            let x = &mut fold.facts.exports[i];
            export_record(x, r, names, when, lang);
            if e.kind == EntryKind::ExportCompleted {
                x.status = tr(lang, "terminée et vérifiée", "completed and verified").into();
                x.finished = r["finished_at"]
                    .as_str()
                    .and_then(|t| t.parse::<Timestamp>().ok())
                    .map_or_else(|| when(e.time), when);
                let op = text(&r["operator"]);
                x.operator_signature = match e.signatures.iter().find(|s| s.role == "operator") {
                    Some(s) => format!(
                        "{} {}",
                        tr(lang, "signée (SSH) par", "signed (SSH) by"),
                        names.who(&s.person, "operator")
                    ),
                    None => format!(
                        "{} ({})",
                        tr(lang, "non signée", "not signed"),
                        names.who(&op, "operator")
                    ),
                };
            } else if x.status.is_empty() || !x.finished.is_empty() {
                x.status = tr(lang, "vérifiée", "verified").into();
            }
        }
        EntryKind::ExportFailed | EntryKind::ExportInterrupted => {
            let id = text(&p["export_id"]);
            let i = export_index(fold, &id);
            let x = &mut fold.facts.exports[i];
            x.status = if e.kind == EntryKind::ExportFailed {
                tr(
                    lang,
                    "ÉCHOUÉE — aucun fichier remis",
                    "FAILED — no file handed over",
                )
            } else {
                tr(
                    lang,
                    "INTERROMPUE — aucun fichier remis",
                    "INTERRUPTED — no file handed over",
                )
            }
            .into();
            x.finished = when(e.time);
            x.failure = text(&p["reason"]);
            x.files.clear();
            x.manifest_sha256.clear();
        }
        EntryKind::ExportCountersigned => {
            let who = signer(e, "authorizer");
            let completed = text(&p["export_completed"]);
            let line = format!(
                "{} {}, {} {}",
                tr(lang, "contresignée par", "countersigned by"),
                names.who(&who, "authorizer"),
                tr(lang, "le", "on"),
                when(e.time)
            );
            // The export it countersigns: by its `export-completed` entry, by id when given,
            // else the last completed one.
            let id = fold
                .completed
                .get(&completed)
                .cloned()
                .or_else(|| p["export_id"].as_str().map(str::to_owned))
                .or_else(|| {
                    fold.exports
                        .iter()
                        .rev()
                        .find(|(_, _, done)| *done)
                        .map(|(id, _, _)| id.clone())
                });
            if let Some(id) = id {
                let i = export_index(fold, &id);
                fold.facts.exports[i].countersignature = if completed.is_empty() {
                    line
                } else {
                    format!("{line} ({} {completed})", tr(lang, "entrée", "entry"))
                };
            }
        }
        EntryKind::Delivered => {
            let id = text(&p["export_id"]);
            let at = p["at"]
                .as_str()
                .and_then(|t| t.parse::<Timestamp>().ok())
                .unwrap_or(e.time);
            let i = export_index(fold, &id);
            let x = &mut fold.facts.exports[i];
            // `organisation` in a `delivered` payload is the requester's (shown with the
            // request); only a recipient's own organisation goes next to the recipient.
            let organisation = text(&p["recipient_organisation"]);
            x.delivery = format!(
                "{} {}{}, {} {}, {} {}",
                tr(lang, "remise à", "handed over to"),
                text(&p["recipient"]),
                if organisation.is_empty() {
                    String::new()
                } else {
                    format!(" ({organisation})")
                },
                tr(lang, "le", "on"),
                when(at),
                tr(lang, "enregistrée par", "recorded by"),
                names.who(&e.actor, "operator")
            );
            x.receipt_reference = format!("{}/{id}", fold.facts.case_id);
            x.signed_receipt_sha256 = text(&p["signed_receipt"]);
        }
        EntryKind::Purged => {
            let item = text(&p["item"]);
            let files = p["files"].as_array().map_or(0, Vec::len);
            let bytes = p["bytes"].as_u64().unwrap_or(0);
            let what = match (text(&p["kind"]).as_str(), item.split_once(':')) {
                ("export", Some((_, id))) => {
                    fold.purged_exports.insert(id.to_owned(), e.time);
                    format!(
                        "{} {id} {} ({files} {}, {bytes} {})",
                        tr(lang, "copie de l'extraction", "copy of export"),
                        tr(
                            lang,
                            "sur le serveur ou un support de service",
                            "on the server or a service drive"
                        ),
                        tr(lang, "fichiers", "files"),
                        tr(lang, "octets", "bytes")
                    )
                }
                ("staged", _) => format!(
                    "{} ({files} {}, {bytes} {})",
                    tr(
                        lang,
                        "fichiers de travail temporaires",
                        "temporary working files"
                    ),
                    tr(lang, "fichiers", "files"),
                    tr(lang, "octets", "bytes")
                ),
                ("document", Some((_, sha))) => format!(
                    "{} SHA-256 {sha}",
                    tr(lang, "document du dossier", "case document")
                ),
                _ => item.clone(),
            };
            let mut what = what;
            if p["on_request"] == true {
                what.push_str(tr(lang, ", sur demande", ", on request"));
            }
            if p["complete"] == false {
                what.push_str(&format!(
                    " — {} {}",
                    tr(lang, "INCOMPLÈTE :", "INCOMPLETE:"),
                    text(&p["error"])
                ));
            }
            let method = if text(&p["method"]).starts_with("sealed files") {
                tr(
                    lang,
                    "effacement sécurisé : clé de chiffrement des fichiers scellés détruite, \
                     chaque octet réécrit avec des données aléatoires, puis suppression",
                    "secure erasure: the sealed files' wrapped key destroyed, every byte \
                     overwritten with random data, then deleted",
                )
                .to_owned()
            } else {
                text(&p["method"])
            };
            f.purges.push(PurgeFacts {
                entry: e.seq,
                at: when(e.time),
                by: names.who(&e.actor, "operator"),
                what,
                method,
            });
        }
        EntryKind::CaseClosed => {
            fold.closed_at = Some(e.time);
            f.closed = when(e.time);
            let reason = text(&p["reason"]);
            f.closing = format!(
                "{} {}, {}{}",
                tr(lang, "le", "on"),
                when(e.time),
                names.who(&e.actor, &names.role_of(&e.actor, "operator")),
                if reason.is_empty() {
                    String::new()
                } else {
                    format!(" : {reason}")
                }
            );
        }
        EntryKind::PeopleChanged
        | EntryKind::ConfigChanged
        | EntryKind::CaseOpened
        | EntryKind::DocumentAttached
        | EntryKind::EmergencyStarted
        | EntryKind::ReceiptAttached
        | EntryKind::MediaInventoried
        | EntryKind::Checkpoint
        | EntryKind::MediaDestroyed => {}
    }
}

fn export_record(
    x: &mut ExportFacts,
    r: &Value,
    names: &Names,
    when: &dyn Fn(Timestamp) -> String,
    lang: Lang,
) {
    let ts = |v: &Value| v.as_str().and_then(|t| t.parse::<Timestamp>().ok());
    if let Some(t) = ts(&r["started_at"]) {
        x.started = when(t);
    }
    let d = &r["destination"];
    x.drive = drive_text(
        lang,
        &d["drive"],
        d["approved"] == true,
        d["accepted_by_operator"] == true,
        &text(&d["certification"]),
    );
    x.folder = text(&d["path"]);
    x.operator = names.who(&text(&r["operator"]), "operator");
    x.manifest_sha256 = text(&r["manifest"]["sha256"]);
    x.files = r["files"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| {
            let range = match (ts(&f["requested"]["start"]), ts(&f["requested"]["end"])) {
                (Some(s), Some(e)) => format!("{} → {}", when(s), when(e)),
                _ => String::new(),
            };
            let gaps: Vec<String> = f["gaps"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|g| {
                    let (s, e) = (ts(&g["start"])?, ts(&g["end"])?);
                    let secs = (e.as_millisecond() - s.as_millisecond()) as f64 / 1000.0;
                    Some(format!(
                        "{} → {} ({} s, {})",
                        when(s),
                        when(e),
                        secs,
                        gap_reason(lang, &g["reason"])
                    ))
                })
                .collect();
            let clock = &f["clock_offset"];
            let clock_offset = match clock["offset_ms"].as_i64() {
                Some(ms) => format!(
                    "{}{}.{:03} s (± {} ms), {} {}",
                    if ms < 0 { "-" } else { "+" },
                    ms.unsigned_abs() / 1000,
                    ms.unsigned_abs() % 1000,
                    text(&clock["uncertainty_ms"]),
                    tr(lang, "mesuré le", "measured"),
                    ts(&clock["measured_at"]).map(when).unwrap_or_default()
                ),
                None => tr(lang, "non mesuré", "not measured").into(),
            };
            FileFacts {
                name: text(&f["file"]["name"]),
                camera: format!("{} ({})", text(&f["camera_name"]), text(&f["camera"])),
                range,
                recorded: {
                    let requested = match (ts(&f["requested"]["start"]), ts(&f["requested"]["end"]))
                    {
                        (Some(s), Some(e)) => {
                            (e.as_millisecond() - s.as_millisecond()) as f64 / 1000.0
                        }
                        _ => 0.0,
                    };
                    format!(
                        "{} {} {}",
                        crate::wording::duration(f["covered_seconds"].as_f64().unwrap_or(0.0)),
                        tr(lang, "sur", "of"),
                        crate::wording::duration(requested)
                    )
                },
                gaps: if gaps.is_empty() {
                    tr(lang, "aucune", "none").into()
                } else {
                    gaps.join("\n")
                },
                clock_offset,
                link: crate::wording::link(
                    lang,
                    serde_json::from_value::<crate::config::LinkSecurity>(f["link"].clone())
                        .ok()
                        .as_ref(),
                ),
                codecs: {
                    let codecs = f["tracks"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(text)
                        .collect::<Vec<_>>()
                        .join(", ");
                    if f["anonymized"].is_object() {
                        format!(
                            "{codecs} — {}",
                            crate::wording::anonymized(lang, &f["anonymized"])
                        )
                    } else {
                        codecs
                    }
                },
                size: f["file"]["size"].as_u64().unwrap_or(0),
                sha256: text(&f["file"]["sha256"]),
            }
        })
        .collect();
}

fn gap_reason(lang: Lang, r: &Value) -> String {
    let kind = r
        .as_str()
        .map(str::to_owned)
        .or_else(|| r["kind"].as_str().map(str::to_owned))
        .or_else(|| r.as_object().and_then(|m| m.keys().next().cloned()))
        .unwrap_or_default();
    match kind.as_str() {
        "not-recorded" | "not_recorded" | "NotRecorded" => {
            tr(lang, "non enregistré", "not recorded")
        }
        "packet-loss" | "packet_loss" | "PacketLoss" => tr(lang, "paquets perdus", "packets lost"),
        "discontinuity" | "Discontinuity" => tr(lang, "discontinuité", "discontinuity"),
        "connection-lost" | "connection_lost" | "ConnectionLost" => {
            tr(lang, "connexion perdue", "connection lost")
        }
        "segment-missing" | "segment_missing" | "SegmentMissing" => {
            tr(lang, "segment manquant", "segment missing")
        }
        _ => tr(lang, "lacune", "gap"),
    }
    .to_owned()
}

fn finish(
    mut fold: Fold,
    lang: Lang,
    now: Timestamp,
    regularize_hours: i64,
    when: &dyn Fn(Timestamp) -> String,
) -> CaseFacts {
    let mut deadlines: Vec<String> = Vec::new();
    let mut met = true;
    let f = &mut fold.facts;
    if f.written_request.is_empty() {
        f.written_request = tr(
            lang,
            "aucune demande écrite jointe",
            "no written request attached",
        )
        .into();
    }
    if let Some((at, by, justification)) = &fold.emergency_started {
        let limit = at.as_second() + regularize_hours * 3600;
        let regularized = match fold.regularized {
            Some(r) => {
                let ok = r.as_second() <= limit;
                met &= ok;
                deadlines.push(format!(
                    "{} {} h : {}",
                    tr(
                        lang,
                        "régularisation de l'urgence sous",
                        "emergency regularized within"
                    ),
                    regularize_hours,
                    if ok {
                        tr(lang, "respecté", "met")
                    } else {
                        tr(lang, "DÉPASSÉ", "MISSED")
                    }
                ));
                format!(
                    "{} {}",
                    tr(lang, "régularisée le", "regularized on"),
                    when(r)
                )
            }
            None => {
                let late = now.as_second() > limit;
                met &= !late;
                deadlines.push(format!(
                    "{} {} h : {}",
                    tr(
                        lang,
                        "régularisation de l'urgence sous",
                        "emergency regularization within"
                    ),
                    regularize_hours,
                    if late {
                        tr(lang, "DÉPASSÉ, non régularisée", "MISSED, not regularized")
                    } else {
                        tr(lang, "en cours", "running")
                    }
                ));
                tr(lang, "NON RÉGULARISÉE", "NOT REGULARIZED").into()
            }
        };
        f.emergency = format!(
            "{} {} {} {by} — {} {}{justification}{} — {regularized}",
            tr(lang, "ouverte en urgence le", "opened as an emergency on"),
            when(*at),
            tr(lang, "par", "by"),
            tr(lang, "justification :", "justification:"),
            tr(lang, "« ", "“"),
            tr(lang, " »", "”"),
        );
    } else {
        f.emergency = tr(lang, "non", "no").into();
    }
    if f.approval.is_empty() {
        f.approval = tr(
            lang,
            "AUCUNE AUTORISATION ENREGISTRÉE",
            "NO APPROVAL RECORDED",
        )
        .into();
    }
    if f.requester_check.is_empty() {
        f.requester_check = tr(lang, "non enregistrée", "not recorded").into();
    }
    if let Some(closed) = fold.closed_at {
        let limit = closed.as_second() + PURGE_DAYS * 86_400;
        for (id, _, completed) in &fold.exports {
            if !completed {
                continue;
            }
            let x = f.exports.iter().find(|x| &x.export_id == id);
            let delivered = x.is_some_and(|x| !x.delivery.is_empty());
            let verdict = match fold.purged_exports.get(id) {
                Some(t) if t.as_second() <= limit => tr(lang, "respecté", "met").to_owned(),
                Some(_) => {
                    met = false;
                    tr(lang, "DÉPASSÉ", "MISSED").to_owned()
                }
                None if delivered => tr(
                    lang,
                    "support remis au destinataire, aucune copie restante enregistrée",
                    "drive handed over, no remaining copy recorded",
                )
                .to_owned(),
                None if now.as_second() > limit => {
                    met = false;
                    tr(
                        lang,
                        "DÉPASSÉ, pas de purge enregistrée",
                        "MISSED, no purge recorded",
                    )
                    .to_owned()
                }
                None => tr(lang, "en cours", "running").to_owned(),
            };
            deadlines.push(format!(
                "{} {id} {} {PURGE_DAYS} {} : {verdict}",
                tr(lang, "purge de", "purge of"),
                tr(lang, "sous", "within"),
                tr(lang, "jours après clôture", "days of closing")
            ));
        }
    }
    f.status = if fold.closed_at.is_some() {
        tr(lang, "clos", "closed")
    } else if f.approval.starts_with(tr(lang, "AUCUNE", "NO APPROVAL")) {
        if fold.emergency_started.is_some() {
            tr(
                lang,
                "ouvert en urgence, autorisation attendue",
                "open as an emergency, awaiting approval",
            )
        } else {
            tr(
                lang,
                "ouvert, autorisation attendue",
                "open, awaiting approval",
            )
        }
    } else {
        tr(lang, "ouvert, autorisé", "open, authorized")
    }
    .into();
    if f.closing.is_empty() {
        f.closing = tr(lang, "dossier non clos", "case not closed").into();
    }
    f.deadlines = if deadlines.is_empty() {
        tr(lang, "aucun délai applicable", "no deadline applies").into()
    } else {
        deadlines.join("\n")
    };
    f.deadlines_met = met;
    fold.facts
}
