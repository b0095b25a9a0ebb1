//! The texts an authorizer signs with standard tools (`ssh-keygen -Y sign`): the approval of a
//! case (namespace `scelle-approve`, AUTH-2) and the countersignature of an export (namespace
//! `scelle-countersign`, STEP-5).
//!
//! Each is plain UTF-8, one `key: value` per line, deterministic: the daemon rebuilds the text
//! from the case as it stands and the expiry the text names, and accepts a signature only over
//! exactly those bytes. So a statement printed for another case, another site, or a case that
//! changed since (a camera added, a range widened) is refused, as is one past its expiry.
//! Forms: `docs/PROTOCOL.md`.

use jiff::Timestamp;

use super::model::Case;
use crate::case::ExportRecord;

/// SSHSIG namespace of approvals.
pub const APPROVE_NAMESPACE: &str = "scelle-approve";
/// SSHSIG namespace of countersignatures.
pub const COUNTERSIGN_NAMESPACE: &str = "scelle-countersign";
/// First line of an approval statement.
pub const APPROVE_HEADER: &str = "scelle approval v1";
/// First line of a countersignature statement.
pub const COUNTERSIGN_HEADER: &str = "scelle countersignature v1";
/// Default validity of a printed statement.
pub const DEFAULT_VALID_HOURS: u32 = 72;
/// Longest validity accepted (a signed statement should not wait weeks).
pub const MAX_VALID_HOURS: u32 = 30 * 24;

/// A value on one line: control characters (newlines) become spaces.
fn line(v: &str) -> String {
    v.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_owned()
}

/// The approval of `case` on site `site` (its key fingerprint), valid until `expires`.
pub fn approval(site: &str, site_name: &str, case: &Case, expires: Timestamp) -> String {
    let o = &case.opening;
    let mut t = format!(
        "{APPROVE_HEADER}\nsite: {}\nsite-name: {}\ncase: {}\ncase-opened: {}\n",
        line(site),
        line(site_name),
        line(&case.id),
        case.opened_entry
    );
    t += &format!(
        "ground: {}\n",
        serde_json::to_value(o.ground)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    );
    t += &format!(
        "requester: {} ({}), reference {}\n",
        line(&o.requester),
        line(&o.organisation),
        line(&o.reference)
    );
    t += &format!("purpose: {}\n", line(&o.purpose));
    for c in &o.cameras {
        t += &format!("camera: {}\n", line(c));
    }
    for r in &o.ranges {
        t += &format!("range: {}/{}\n", r.start, r.end);
    }
    t += &format!("recipient: {}\n", line(&o.recipient));
    if let Some(e) = &o.emergency {
        t += &format!("emergency: {}\n", line(e));
    }
    for d in case.documents.iter().filter(|d| d.role == "request") {
        t += &format!("written-request: sha256:{}\n", d.sha256);
    }
    t += &format!("expires: {expires}\n");
    t
}

/// The countersignature of the export recorded by `record`, whose `export-completed` entry
/// hashes to `completed` (hex): the files and their SHA-256, what was pulled, the gaps.
pub fn countersignature(
    site: &str,
    site_name: &str,
    case: &Case,
    record: &ExportRecord,
    completed: &str,
    expires: Timestamp,
) -> String {
    let mut t = format!(
        "{COUNTERSIGN_HEADER}\nsite: {}\nsite-name: {}\ncase: {}\nexport: {}\nexport-completed: {}\n\
         operator: {}\n",
        line(site),
        line(site_name),
        line(&case.id),
        line(&record.export_id),
        completed,
        line(&record.operator)
    );
    for f in &record.files {
        t += &format!(
            "file: {} sha256:{} bytes:{}\n",
            line(&f.file.name),
            f.file.sha256,
            f.file.size
        );
        t += &format!(
            "requested: {} {}/{}\n",
            line(&f.camera),
            f.requested.start,
            f.requested.end
        );
        for c in &f.covered {
            t += &format!("pulled: {} {}/{}\n", line(&f.camera), c.start, c.end);
        }
        for g in &f.gaps {
            let v = serde_json::to_value(g).unwrap_or_default();
            // The kind of gap (`not-recorded`, `segment-missing`…), not its details.
            let reason = match v.get("reason") {
                Some(serde_json::Value::String(r)) => r.clone(),
                Some(serde_json::Value::Object(m)) => m.keys().next().cloned().unwrap_or_default(),
                _ => String::new(),
            };
            t += &format!(
                "gap: {} {}/{} {}\n",
                line(&f.camera),
                v["start"].as_str().unwrap_or_default(),
                v["end"].as_str().unwrap_or_default(),
                line(&reason)
            );
        }
    }
    if let Some(m) = &record.manifest {
        t += &format!(
            "manifest: {} sha256:{} bytes:{}\n",
            line(&m.name),
            m.sha256,
            m.size
        );
    }
    t += &format!("expires: {expires}\n");
    t
}

/// The value of the first `key: ` line of a statement.
pub fn field<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines()
        .find_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix(": ")))
}

/// The expiry a statement names.
pub fn expires(text: &str) -> Option<Timestamp> {
    field(text, "expires")?.parse().ok()
}

/// The expiry of a statement printed at `now`, valid `hours` (bounded by [`MAX_VALID_HOURS`]),
/// to the second.
pub fn expiry(now: Timestamp, hours: Option<u32>) -> Timestamp {
    let h = hours
        .unwrap_or(DEFAULT_VALID_HOURS)
        .clamp(1, MAX_VALID_HOURS);
    Timestamp::from_second(now.as_second() + i64::from(h) * 3600).unwrap_or(now)
}

/// Plain words for a person about to sign `text` (French or English), from its lines.
pub fn plain_words(text: &str, french: bool) -> String {
    let mut out = String::new();
    let head = text.lines().next().unwrap_or_default();
    let (what, labels): (&str, &[(&str, &str, &str)]) = if head == APPROVE_HEADER {
        (
            if french {
                "Vous AUTORISEZ l'extraction suivante :"
            } else {
                "You AUTHORIZE this extraction:"
            },
            &[
                ("site-name", "Site", "Site"),
                ("site", "Clé du site", "Site key"),
                ("case", "Dossier", "Case"),
                ("ground", "Motif", "Ground"),
                ("requester", "Demandeur", "Requester"),
                ("purpose", "Finalité", "Purpose"),
                ("camera", "Caméra", "Camera"),
                ("range", "Plage (UTC)", "Range (UTC)"),
                ("recipient", "Destinataire", "Recipient"),
                ("emergency", "Urgence", "Emergency"),
                ("written-request", "Demande écrite", "Written request"),
                ("expires", "Valable jusqu'au (UTC)", "Valid until (UTC)"),
            ],
        )
    } else if head == COUNTERSIGN_HEADER {
        (
            if french {
                "Vous CONTRESIGNEZ ce qui a été effectivement extrait :"
            } else {
                "You COUNTERSIGN what was actually extracted:"
            },
            &[
                ("site-name", "Site", "Site"),
                ("site", "Clé du site", "Site key"),
                ("case", "Dossier", "Case"),
                ("export", "Export", "Export"),
                ("operator", "Opérateur", "Operator"),
                ("file", "Fichier", "File"),
                ("requested", "Demandé", "Requested"),
                ("pulled", "Extrait", "Pulled"),
                ("gap", "Lacune", "Gap"),
                ("manifest", "Manifeste", "Manifest"),
                ("expires", "Valable jusqu'au (UTC)", "Valid until (UTC)"),
            ],
        )
    } else {
        return text.to_owned();
    };
    out += what;
    out.push('\n');
    for l in text.lines().skip(1) {
        let Some((k, v)) = l.split_once(": ") else {
            continue;
        };
        let label = labels
            .iter()
            .find(|(key, ..)| *key == k)
            .map(|(_, fr, en)| if french { *fr } else { *en })
            .unwrap_or(k);
        out += &format!("  {label:<24} {v}\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::model::{Opening, Range};

    fn case() -> Case {
        let t: Timestamp = "2026-11-20T09:00:00Z".parse().unwrap();
        let u: Timestamp = "2026-11-20T09:30:00Z".parse().unwrap();
        Case {
            id: "2026-0001".into(),
            opened_entry: "ab".repeat(32),
            opening: Opening {
                ground: crate::case::Ground::Requisition,
                requester: "Capitaine\nMartin".into(),
                organisation: "Commissariat".into(),
                reference: "PV 1".into(),
                recipient: "OPJ".into(),
                purpose: "vol".into(),
                cameras: vec!["entree".into()],
                ranges: vec![Range { start: t, end: u }],
                emergency: None,
            },
            ..Case::blank()
        }
    }

    #[test]
    fn an_approval_names_the_site_the_case_and_its_opening_and_expires() {
        let exp: Timestamp = "2026-11-23T09:00:00Z".parse().unwrap();
        let t = approval("SHA256:abc", "Magasin", &case(), exp);
        assert!(t.starts_with("scelle approval v1\nsite: SHA256:abc\n"));
        assert_eq!(field(&t, "case"), Some("2026-0001"));
        assert_eq!(field(&t, "case-opened"), Some("ab".repeat(32).as_str()));
        assert!(t.contains("requester: Capitaine Martin (Commissariat), reference PV 1\n"));
        assert!(t.contains("range: 2026-11-20T09:00:00Z/2026-11-20T09:30:00Z\n"));
        assert_eq!(expires(&t), Some(exp));
        assert!(plain_words(&t, true).contains("Vous AUTORISEZ"));
        assert!(plain_words(&t, false).contains("Camera"));
    }

    #[test]
    fn a_countersignature_lists_files_pulled_spans_and_gaps() {
        let record: ExportRecord = serde_json::from_value(serde_json::json!({
            "format": 1, "export_id": "EXP-1", "case_id": "2026-0001", "case_reference": "PV 1",
            "operator": "paul", "site_name": "S", "time_zone": "Europe/Paris",
            "started_at": "2026-11-23T10:00:00Z", "finished_at": "2026-11-23T10:01:00Z",
            "register_head": {"seq": 3, "hash": "00".repeat(32)},
            "destination": {"path": "/media/x/PV_1", "drive": {"device": "/dev/sdb1",
                "mount_point": "/media/x", "fs_type": "exfat", "vendor": "V", "model": "M",
                "serial": "S1"}, "approved": true, "accepted_by_operator": false},
            "files": [{"file": {"name": "c.mp4.scelle", "size": 10, "sha256": "aa".repeat(32)},
                "camera": "c", "camera_name": "C",
                "requested": {"start": "2026-11-20T09:00:00Z", "end": "2026-11-20T09:00:40Z"},
                "covered": [{"start": "2026-11-20T09:00:00Z", "end": "2026-11-20T09:00:20Z"}],
                "gaps": [{"stream": null, "start": "2026-11-20T09:00:20Z",
                          "end": "2026-11-20T09:00:40Z",
                          "reason": {"segment-missing": {"path": "/srv/nvr/x.mp4"}}}],
                "covered_seconds": 20.0, "frames": 500, "tracks": ["H.264"],
                "start_from_device": true}],
        }))
        .unwrap();
        let exp: Timestamp = "2026-11-24T09:00:00Z".parse().unwrap();
        let t = countersignature("SHA256:abc", "S", &case(), &record, &"cd".repeat(32), exp);
        assert!(t.starts_with("scelle countersignature v1\n"), "{t}");
        assert_eq!(
            field(&t, "export-completed"),
            Some("cd".repeat(32).as_str())
        );
        assert!(t.contains(&format!(
            "file: c.mp4.scelle sha256:{} bytes:10\n",
            "aa".repeat(32)
        )));
        assert!(
            t.contains("pulled: c 2026-11-20T09:00:00Z/2026-11-20T09:00:20Z\n"),
            "{t}"
        );
        assert!(
            t.contains("gap: c 2026-11-20T09:00:20Z/2026-11-20T09:00:40Z segment-missing\n"),
            "{t}"
        );
        assert!(plain_words(&t, true).contains("Lacune"));
    }

    #[test]
    fn expiry_is_bounded() {
        let now: Timestamp = "2026-11-20T09:00:00Z".parse().unwrap();
        assert_eq!(expiry(now, None).to_string(), "2026-11-23T09:00:00Z");
        assert_eq!(
            expiry(now, Some(100_000)).to_string(),
            "2026-12-20T09:00:00Z"
        );
    }
}
