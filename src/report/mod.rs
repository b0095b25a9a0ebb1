//! The register report, above the register it reads: the register as an auditor (the CNIL) reads it
//! (REG-1, REG-2, issue 17), a document that stands on its own, made from the register alone. It
//! states the register's head, the site key's fingerprint and the verification result, the site and
//! its data controller, the people list and its changes, a summary table of the cases, then one
//! section per case and one block per export ([`facts`]); the removable media close it ([`media`]).
//!
//! Three renderings carry the same facts: PDF ([`pdf`], French by default, English on
//! request), CSV (one row per export, then the media section) and JSON (the whole structure).

pub mod facts;
pub mod media;
pub mod pdf;

use serde::Serialize;
use serde_json::Value;

pub use facts::{CaseFacts, ExportFacts, Facts};

use crate::register::{Entry, EntryKind};
pub use crate::wording::{Lang, tr};

/// UTC `YYYY-MM-DD HH:MM:SS`.
pub fn format_time(t: jiff::Timestamp) -> String {
    t.strftime("%Y-%m-%d %H:%M:%S").to_string()
}

/// What the report says about the chain it was built from.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ReportHeader {
    pub generated: String,
    /// `SEQ:HEX` of the last entry.
    pub head: String,
    pub entries: u64,
    /// `None` when the chain verified; the failure otherwise.
    pub integrity_failure: Option<String>,
    /// OpenSSH fingerprint (`SHA256:…`) of the site key the register's checkpoints carry.
    #[serde(default)]
    pub site_key: Option<String>,
}

impl ReportHeader {
    /// The header of a report on `entries`, verified (`Ok`) or not (`Err(reason)`).
    pub fn of(entries: &[Entry], verified: Result<(), String>) -> ReportHeader {
        let head = entries
            .last()
            .map(|e| e.head())
            .unwrap_or(crate::register::Head::GENESIS);
        ReportHeader {
            generated: format_time(jiff::Timestamp::now()),
            head: head.to_text(),
            entries: entries.len() as u64,
            integrity_failure: verified.err(),
            site_key: site_key_fingerprint(entries),
        }
    }

    /// The verification result in words.
    pub fn integrity(&self, lang: Lang) -> String {
        match &self.integrity_failure {
            None => tr(
                lang,
                "registre vérifié : chaîne, empreintes et signatures intactes",
                "register verified: chain, hashes and signatures intact",
            )
            .to_owned(),
            Some(f) => format!(
                "{} {f}",
                tr(lang, "ÉCHEC DE LA VÉRIFICATION :", "VERIFICATION FAILED:")
            ),
        }
    }
}

/// The fingerprint of the last site key the register names (checkpoints and `config-changed`
/// entries carry its public key).
pub fn site_key_fingerprint(entries: &[Entry]) -> Option<String> {
    let line = entries.iter().rev().find_map(|e| {
        matches!(e.kind, EntryKind::Checkpoint | EntryKind::ConfigChanged)
            .then(|| e.payload.get("site_key").and_then(Value::as_str))
            .flatten()
    })?;
    let key = ssh_key::PublicKey::from_openssh(line).ok()?;
    Some(key.fingerprint(ssh_key::HashAlg::Sha256).to_string())
}

/// The whole report.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub register: ReportHeader,
    #[serde(flatten)]
    pub facts: Facts,
    pub media: Vec<media::MediaRow>,
    #[serde(skip)]
    pub lang: Lang,
}

impl Report {
    /// The report on `entries` (oldest first) for the cases opened within `[from, to]`.
    pub fn new(
        entries: &[Entry],
        verified: Result<(), String>,
        from: Option<jiff::civil::Date>,
        to: Option<jiff::civil::Date>,
        lang: Lang,
    ) -> Report {
        Report {
            register: ReportHeader::of(entries, verified),
            facts: facts::facts(entries, from, to, lang, jiff::Timestamp::now()),
            media: media::media_rows(entries, lang),
            lang,
        }
    }

    /// JSON: the header, the site, the people and their changes, the cases with their
    /// exports, the media, plus `rows` (the CSV's rows, one per export) and the headings of
    /// both (`columns`, `media_columns`).
    pub fn to_json(&self) -> String {
        let mut doc = serde_json::to_value(self).unwrap_or(Value::Null);
        if let Value::Object(m) = &mut doc {
            let columns: serde_json::Map<String, Value> = COLUMNS
                .iter()
                .map(|k| ((*k).to_owned(), Value::String(heading(k, self.lang).into())))
                .collect();
            m.insert("columns".into(), Value::Object(columns));
            let media_columns: serde_json::Map<String, Value> = media::MEDIA_COLUMNS
                .iter()
                .map(|k| {
                    let h = media::media_heading(k, self.lang);
                    ((*k).to_owned(), Value::String(h.into()))
                })
                .collect();
            m.insert("media_columns".into(), Value::Object(media_columns));
            let rows: Vec<Value> = rows(&self.facts, self.lang)
                .into_iter()
                .map(|r| {
                    Value::Object(
                        COLUMNS
                            .iter()
                            .zip(r)
                            .map(|(k, v)| ((*k).to_owned(), Value::String(v)))
                            .collect(),
                    )
                })
                .collect();
            m.insert("rows".into(), Value::Array(rows));
        }
        serde_json::to_string_pretty(&doc).unwrap_or_default()
    }

    /// RFC 4180 CSV (CRLF line ends): the register's header lines, the export rows with
    /// their headings, a blank line, then the media section with its headings.
    pub fn to_csv(&self) -> String {
        let lang = self.lang;
        let mut out = String::new();
        let mut line = |cells: &[&str]| {
            for (i, c) in cells.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                csv_field(&mut out, c);
            }
            out.push_str("\r\n");
        };
        let head: Vec<&str> = COLUMNS.iter().map(|k| heading(k, lang)).collect();
        line(&head);
        for r in rows(&self.facts, self.lang) {
            let cells: Vec<&str> = r.iter().map(String::as_str).collect();
            line(&cells);
        }
        line(&[]);
        line(&[media::media_title(lang)]);
        let mh: Vec<&str> = media::MEDIA_COLUMNS
            .iter()
            .map(|k| media::media_heading(k, lang))
            .collect();
        line(&mh);
        for m in &self.media {
            let cells: Vec<&str> = media::MEDIA_COLUMNS.iter().map(|k| m.cell(k)).collect();
            line(&cells);
        }
        line(&[]);
        let integrity = self.register.integrity(lang);
        line(&[
            tr(lang, "Tête du registre", "Register head"),
            &self.register.head,
        ]);
        line(&[
            tr(lang, "Empreinte de la clé du site", "Site key fingerprint"),
            self.register.site_key.as_deref().unwrap_or("-"),
        ]);
        line(&[tr(lang, "Vérification", "Verification"), &integrity]);
        out
    }
}

/// The column keys of the export rows, in order.
pub const COLUMNS: [&str; 32] = [
    "case_id",
    "opened",
    "opened_by",
    "ground",
    "reference",
    "requester",
    "organisation",
    "recipient",
    "purpose",
    "cameras",
    "ranges",
    "written_request",
    "emergency",
    "approval",
    "requester_check",
    "export_id",
    "export_status",
    "export_operator",
    "export_started",
    "export_finished",
    "drive",
    "files",
    "gaps",
    "clock_offsets",
    "links",
    "manifest",
    "countersignature",
    "delivery",
    "purges",
    "closing",
    "case_status",
    "deadlines",
];

/// The heading of column `key` in `lang`.
pub fn heading(key: &str, lang: Lang) -> &'static str {
    let (fr, en) = match key {
        "case_id" => ("Dossier", "Case"),
        "opened" => ("Ouverture", "Opened"),
        "opened_by" => ("Ouvert par", "Opened by"),
        "ground" => ("Fondement", "Legal ground"),
        "reference" => ("Référence", "Reference"),
        "requester" => ("Demandeur", "Requester"),
        "organisation" => ("Organisme du demandeur", "Requester's organisation"),
        "recipient" => ("Destinataire", "Recipient"),
        "purpose" => ("Objet", "Purpose"),
        "cameras" => ("Caméras", "Cameras"),
        "ranges" => ("Plages demandées", "Requested ranges"),
        "written_request" => ("Demande écrite", "Written request"),
        "emergency" => ("Urgence", "Emergency"),
        "approval" => ("Autorisation", "Approval"),
        "requester_check" => (
            "Vérification de l'habilitation du demandeur",
            "Requester's authority checked",
        ),
        "export_id" => ("Extraction", "Export"),
        "export_status" => ("État de l'extraction", "Export status"),
        "export_operator" => ("Opérateur", "Operator"),
        "export_started" => ("Début", "Started"),
        "export_finished" => ("Fin", "Finished"),
        "drive" => ("Support", "Drive"),
        "files" => ("Fichiers et empreintes SHA-256", "Files and SHA-256"),
        "gaps" => ("Lacunes", "Gaps"),
        "clock_offsets" => ("Décalages d'horloge", "Clock offsets"),
        "links" => ("Liaisons caméras", "Camera links"),
        "manifest" => ("Manifeste (SHA-256)", "Manifest (SHA-256)"),
        "countersignature" => ("Contreseing", "Countersignature"),
        "delivery" => ("Remise", "Hand-over"),
        "purges" => ("Purges", "Purges"),
        "closing" => ("Clôture", "Closing"),
        "case_status" => ("État du dossier", "Case status"),
        "deadlines" => ("Délais", "Deadlines"),
        _ => ("?", "?"),
    };
    tr(lang, fr, en)
}

/// Files of an export as one cell: `name (camera, range, codecs) size o SHA-256 hex`.
pub fn files_text(x: &ExportFacts, lang: Lang) -> String {
    x.files
        .iter()
        .map(|f| {
            format!(
                "{} — {} — {} — {} {} {} — SHA-256 {}",
                f.name,
                f.camera,
                f.range,
                f.size,
                tr(lang, "octets", "bytes"),
                f.codecs,
                f.sha256
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// One row per export (a case without export gets one row with its export cells empty).
pub fn rows(facts: &Facts, lang: Lang) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for c in &facts.cases {
        let purges = c
            .purges
            .iter()
            .map(|p| format!("{} — {} — {} — {}", p.at, p.by, p.what, p.method))
            .collect::<Vec<_>>()
            .join("\n");
        let case_cells = |x: Option<&ExportFacts>| -> Vec<String> {
            let lang_files = |x: &ExportFacts| files_text(x, lang);
            let per_file = |x: &ExportFacts, what: &dyn Fn(&facts::FileFacts) -> String| {
                x.files
                    .iter()
                    .map(|f| format!("{}: {}", f.name, what(f)))
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            vec![
                c.case_id.clone(),
                c.opened.clone(),
                c.opened_by.clone(),
                c.ground.clone(),
                c.reference.clone(),
                c.requester.clone(),
                c.organisation.clone(),
                c.recipient.clone(),
                c.purpose.clone(),
                c.cameras.clone(),
                c.ranges.clone(),
                c.written_request.clone(),
                c.emergency.clone(),
                c.approval.clone(),
                c.requester_check.clone(),
                x.map(|x| x.export_id.clone()).unwrap_or_default(),
                x.map(|x| x.status.clone()).unwrap_or_default(),
                x.map(|x| x.operator.clone()).unwrap_or_default(),
                x.map(|x| x.started.clone()).unwrap_or_default(),
                x.map(|x| x.finished.clone()).unwrap_or_default(),
                x.map(|x| x.drive.clone()).unwrap_or_default(),
                x.map(lang_files).unwrap_or_default(),
                x.map(|x| per_file(x, &|f| f.gaps.clone()))
                    .unwrap_or_default(),
                x.map(|x| per_file(x, &|f| f.clock_offset.clone()))
                    .unwrap_or_default(),
                x.map(|x| per_file(x, &|f| f.link.clone()))
                    .unwrap_or_default(),
                x.map(|x| x.manifest_sha256.clone()).unwrap_or_default(),
                x.map(|x| x.countersignature.clone()).unwrap_or_default(),
                x.map(|x| {
                    if x.delivery.is_empty() {
                        String::new()
                    } else {
                        format!(
                            "{} — {} {} — SHA-256 {}",
                            x.delivery,
                            tr(lang, "récépissé", "receipt"),
                            x.receipt_reference,
                            x.signed_receipt_sha256
                        )
                    }
                })
                .unwrap_or_default(),
                purges.clone(),
                c.closing.clone(),
                c.status.clone(),
                c.deadlines.clone(),
            ]
        };
        if c.exports.is_empty() {
            out.push(case_cells(None));
        }
        for x in &c.exports {
            out.push(case_cells(Some(x)));
        }
    }
    out
}

fn csv_field(out: &mut String, field: &str) {
    if field.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&field.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(field);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_what_needs_quoting() {
        let mut out = String::new();
        csv_field(&mut out, "a,b");
        out.push(',');
        csv_field(&mut out, "say \"hi\"");
        assert_eq!(out, "\"a,b\",\"say \"\"hi\"\"\"");
    }
}
