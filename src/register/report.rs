//! The register as an auditor reads it (REG-1, REG-2): one row per case, gathered from its
//! entries, rendered as CSV, JSON or PDF ([`pdf`]) with French (default) or English headings.
//!
//! Rows are read leniently from the payload keys documented in `docs/REGISTER.md`
//! (`ground`, `requester`, `recipient`, `purpose`, `cameras`, `ranges`, `format`, `files`,
//! `purge_by`): a key missing from every entry of a case leaves its cell empty.

pub mod media;
pub mod pdf;

use serde::Serialize;
use serde_json::Value;

use super::entry::{Entry, EntryKind};

/// The heading language.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Fr,
    En,
}

/// One case as the report shows it. Times are UTC, `YYYY-MM-DD HH:MM:SS`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CaseRow {
    pub case_id: String,
    pub opened: String,
    pub exported: String,
    pub operator: String,
    pub authorizer: String,
    pub ground: String,
    pub requester: String,
    pub recipient: String,
    pub purpose: String,
    pub cameras: String,
    pub ranges: String,
    pub format: String,
    pub files: String,
    pub purge: String,
    pub status: String,
    pub entries: String,
}

/// The column keys, in order.
pub const COLUMNS: [&str; 16] = [
    "case_id",
    "opened",
    "exported",
    "operator",
    "authorizer",
    "ground",
    "requester",
    "recipient",
    "purpose",
    "cameras",
    "ranges",
    "format",
    "files",
    "purge",
    "status",
    "entries",
];

/// The heading of column `key` in `lang`.
pub fn heading(key: &str, lang: Lang) -> &'static str {
    let (fr, en) = match key {
        "case_id" => ("Dossier", "Case"),
        "opened" => ("Ouverture (UTC)", "Opened (UTC)"),
        "exported" => (
            "Date et heure de l'extraction (UTC)",
            "Export date and time (UTC)",
        ),
        "operator" => ("Opérateur", "Operator"),
        "authorizer" => ("Autorisation", "Authorizer"),
        "ground" => ("Fondement", "Legal ground"),
        "requester" => ("Demandeur", "Requester"),
        "recipient" => ("Destinataire", "Recipient"),
        "purpose" => ("Finalité", "Purpose"),
        "cameras" => ("Caméras", "Cameras"),
        "ranges" => ("Plages horaires", "Time ranges"),
        "format" => ("Format", "Format"),
        "files" => ("Fichiers et empreintes SHA-256", "Files and SHA-256 hashes"),
        "purge" => ("Purge", "Purge"),
        "status" => ("Dernier état", "Last state"),
        "entries" => ("Entrées du registre", "Register entries"),
        _ => ("?", "?"),
    };
    match lang {
        Lang::Fr => fr,
        Lang::En => en,
    }
}

impl CaseRow {
    /// The cell of column `key`.
    pub fn cell(&self, key: &str) -> &str {
        match key {
            "case_id" => &self.case_id,
            "opened" => &self.opened,
            "exported" => &self.exported,
            "operator" => &self.operator,
            "authorizer" => &self.authorizer,
            "ground" => &self.ground,
            "requester" => &self.requester,
            "recipient" => &self.recipient,
            "purpose" => &self.purpose,
            "cameras" => &self.cameras,
            "ranges" => &self.ranges,
            "format" => &self.format,
            "files" => &self.files,
            "purge" => &self.purge,
            "status" => &self.status,
            "entries" => &self.entries,
            _ => "",
        }
    }
}

/// UTC `YYYY-MM-DD HH:MM:SS`.
pub fn format_time(t: jiff::Timestamp) -> String {
    t.strftime("%Y-%m-%d %H:%M:%S").to_string()
}

/// A payload value as one line of text: strings as is, lists joined with `; `, objects as
/// `key: value` pairs, file records as `name (size octets) sha256`.
pub fn value_text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(items) => items
            .iter()
            .map(value_text)
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join("; "),
        Value::Object(map) => {
            if let (Some(start), Some(end)) = (map.get("start"), map.get("end")) {
                let camera = map
                    .get("camera")
                    .map(|c| format!("{}: ", value_text(c)))
                    .unwrap_or_default();
                return format!("{camera}{} → {}", value_text(start), value_text(end));
            }
            if let Some(sha) = map.get("sha256") {
                let name = map.get("name").or(map.get("path")).map(value_text);
                let size = map.get("size").map(value_text);
                return format!(
                    "{}{} sha256:{}",
                    name.unwrap_or_default(),
                    size.map(|s| format!(" ({s} o)")).unwrap_or_default(),
                    value_text(sha)
                );
            }
            map.iter()
                .map(|(k, v)| format!("{k}: {}", value_text(v)))
                .collect::<Vec<_>>()
                .join(", ")
        }
        other => other.to_string(),
    }
}

fn set_from(cell: &mut String, payload: &Value, key: &str) {
    if let Some(v) = payload.get(key) {
        let text = value_text(v);
        if !text.is_empty() {
            *cell = text;
        }
    }
}

/// Gathers the rows of every case in `entries` (oldest first), in order of opening, keeping
/// the cases opened within `[from, to]` (UTC dates, inclusive).
pub fn case_rows(
    entries: &[Entry],
    from: Option<jiff::civil::Date>,
    to: Option<jiff::civil::Date>,
) -> Vec<CaseRow> {
    let mut order: Vec<String> = Vec::new();
    let mut rows: std::collections::HashMap<String, (jiff::Timestamp, CaseRow)> =
        std::collections::HashMap::new();
    for e in entries {
        let Some(case) = &e.case_id else { continue };
        let (_, row) = rows.entry(case.clone()).or_insert_with(|| {
            order.push(case.clone());
            (
                e.time,
                CaseRow {
                    case_id: case.clone(),
                    opened: format_time(e.time),
                    ..CaseRow::default()
                },
            )
        });
        let p = &e.payload;
        for (key, cell) in [
            ("ground", &mut row.ground),
            ("requester", &mut row.requester),
            ("recipient", &mut row.recipient),
            ("purpose", &mut row.purpose),
            ("cameras", &mut row.cameras),
            ("ranges", &mut row.ranges),
            ("format", &mut row.format),
            ("files", &mut row.files),
            ("purge_by", &mut row.purge),
        ] {
            set_from(cell, p, key);
        }
        // An export's record (`export-completed`: `{record, verified_entry}`) nests its files:
        // the report lists each sealed file with its size and SHA-256, and the manifest.
        if e.kind == EntryKind::ExportCompleted
            && let Some(record) = p.get("record")
        {
            let mut files: Vec<Value> = record["files"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|f| f.get("file").cloned())
                .collect();
            files.extend(record.get("manifest").filter(|m| !m.is_null()).cloned());
            set_from(
                &mut row.files,
                &serde_json::json!({ "files": files }),
                "files",
            );
            row.format = "MP4 (fragmented), scelle sealed container v1".to_owned();
        }
        match e.kind {
            EntryKind::CaseOpened if row.operator.is_empty() => row.operator = e.actor.clone(),
            EntryKind::ExportStarted => {
                row.operator = e.actor.clone();
                if row.exported.is_empty() {
                    row.exported = format_time(e.time);
                }
            }
            EntryKind::ExportCompleted => {
                row.operator = e.actor.clone();
                row.exported = format_time(e.time);
            }
            EntryKind::CaseAuthorized | EntryKind::EmergencyRegularized => {
                // The approval's signer (daemon entries name them in their payload).
                let p = &e.payload;
                row.authorizer = p["signed_statement"]["person"]
                    .as_str()
                    .or(p["authorized_by"].as_str())
                    .unwrap_or(&e.actor)
                    .to_owned();
            }
            EntryKind::Purged => {
                row.purge = format!("{} ({})", format_time(e.time), e.actor);
            }
            _ => {}
        }
        if e.kind == EntryKind::EmergencyStarted && row.authorizer.is_empty() {
            row.authorizer = "urgence / emergency".to_owned();
        }
        row.status = e.kind.as_str().to_owned();
        if !row.entries.is_empty() {
            row.entries.push_str(", ");
        }
        row.entries.push_str(&e.seq.to_string());
    }
    order
        .into_iter()
        .filter_map(|case| rows.remove(&case))
        .filter(|(opened, _)| {
            let date = opened.to_zoned(jiff::tz::TimeZone::UTC).date();
            from.is_none_or(|f| date >= f) && to.is_none_or(|t| date <= t)
        })
        .map(|(_, row)| row)
        .collect()
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

/// RFC 4180 CSV (CRLF line ends), headings first.
pub fn to_csv(rows: &[CaseRow], lang: Lang) -> String {
    let mut out = String::new();
    for (i, key) in COLUMNS.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        csv_field(&mut out, heading(key, lang));
    }
    out.push_str("\r\n");
    for row in rows {
        for (i, key) in COLUMNS.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            csv_field(&mut out, row.cell(key));
        }
        out.push_str("\r\n");
    }
    out
}

/// What the report says about the chain it was built from.
#[derive(Clone, Debug, Serialize)]
pub struct ReportHeader {
    pub generated: String,
    pub head: String,
    pub entries: u64,
    /// `None` when the chain verified; the failure otherwise.
    pub integrity_failure: Option<String>,
}

/// JSON: the header, the headings in `lang`, and the rows.
pub fn to_json(header: &ReportHeader, rows: &[CaseRow], lang: Lang) -> String {
    let columns: serde_json::Map<String, Value> = COLUMNS
        .iter()
        .map(|k| ((*k).to_owned(), Value::String(heading(k, lang).to_owned())))
        .collect();
    let doc = serde_json::json!({
        "register": header,
        "columns": columns,
        "cases": rows,
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}

/// JSON as [`to_json`], plus the removable-media section (`media_columns`, `media`).
pub fn to_json_with_media(
    header: &ReportHeader,
    rows: &[CaseRow],
    media_rows: &[media::MediaRow],
    lang: Lang,
) -> String {
    let columns: serde_json::Map<String, Value> = COLUMNS
        .iter()
        .map(|k| ((*k).to_owned(), Value::String(heading(k, lang).to_owned())))
        .collect();
    let media_columns: serde_json::Map<String, Value> = media::MEDIA_COLUMNS
        .iter()
        .map(|k| {
            let h = media::media_heading(k, lang);
            ((*k).to_owned(), Value::String(h.to_owned()))
        })
        .collect();
    let doc = serde_json::json!({
        "register": header,
        "columns": columns,
        "cases": rows,
        "media_columns": media_columns,
        "media": media_rows,
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry(seq: u64, kind: EntryKind, case: &str, actor: &str, payload: Value) -> Entry {
        Entry {
            seq,
            time: format!("2026-11-{:02}T10:00:00Z", 10 + seq)
                .parse()
                .unwrap(),
            kind,
            case_id: Some(case.into()),
            actor: actor.into(),
            payload,
            statement: String::new(),
            prev_hash: [0; 32],
            hash: [0; 32],
            signatures: vec![],
        }
    }

    #[test]
    fn emergency_then_regularized_case() {
        let entries = vec![
            entry(
                1,
                EntryKind::CaseOpened,
                "u1",
                "olivier",
                json!({"ground": "incident"}),
            ),
            entry(
                2,
                EntryKind::EmergencyStarted,
                "u1",
                "olivier",
                json!({"justification": "purge imminente"}),
            ),
            entry(
                3,
                EntryKind::ExportCompleted,
                "u1",
                "olivier",
                json!({"format": "mp4"}),
            ),
            entry(4, EntryKind::EmergencyRegularized, "u1", "anne", json!({})),
            entry(5, EntryKind::Purged, "u1", "olivier", json!({})),
        ];
        let rows = case_rows(&entries, None, None);
        assert_eq!(rows.len(), 1);
        let r = &rows[0];
        assert_eq!(r.format, "mp4");
        assert_eq!(r.authorizer, "anne");
        assert_eq!(r.exported, "2026-11-13 10:00:00");
        assert_eq!(r.purge, "2026-11-15 10:00:00 (olivier)");
        assert_eq!(r.status, "purged");
        assert_eq!(r.entries, "1, 2, 3, 4, 5");
        let from = Some("2026-11-12".parse().unwrap());
        assert!(case_rows(&entries, from, None).is_empty());
    }

    #[test]
    fn an_export_record_lists_its_files_and_manifest() {
        let record = json!({
            "files": [
                {"file": {"name": "cam1_a.mp4.scelle", "size": 1234, "sha256": "ab12"}},
                {"file": {"name": "cam2_a.mp4.scelle", "size": 99, "sha256": "cd34"}},
            ],
            "manifest": {"name": "manifest.json.scelle", "size": 7, "sha256": "ef56"},
        });
        let entries = vec![entry(
            1,
            EntryKind::ExportCompleted,
            "u1",
            "olivier",
            json!({"record": record, "verified_entry": "00"}),
        )];
        let r = &case_rows(&entries, None, None)[0];
        for want in [
            "cam1_a.mp4.scelle",
            "1234",
            "ab12",
            "cam2_a.mp4.scelle",
            "cd34",
            "ef56",
        ] {
            assert!(r.files.contains(want), "{want} in {}", r.files);
        }
        assert!(r.format.starts_with("MP4"), "{}", r.format);
    }

    #[test]
    fn csv_quotes_what_needs_quoting() {
        let row = CaseRow {
            case_id: "a,b".into(),
            requester: "say \"hi\"".into(),
            ..CaseRow::default()
        };
        let csv = to_csv(&[row], Lang::En);
        assert!(csv.contains("\"a,b\""));
        assert!(csv.contains("\"say \"\"hi\"\"\""));
    }
}
