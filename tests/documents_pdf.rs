//! The two documents for outsiders (issue 17) on a realistic register: a case opened as an
//! emergency and regularized, with two completed exports and a failed one, a countersignature,
//! a hand-over and a purge, and a second case awaiting approval; people with accents,
//! apostrophes and Cyrillic names; entries signed with real `ssh-keygen` keys.
//!
//! The register report (through the real `scelle` binary) and the receipt are read back with
//! poppler's `pdftotext` (every field), `pdffonts` (every font embedded) and `pdfinfo`
//! (PDF/A metadata), and rendered with `pdftoppm` (`DOCS_PNG_DIR` keeps the pages for a look).

mod register_support;

use std::path::{Path, PathBuf};
use std::process::Command;

use register_support::{Person, scelle};
use scelle::receipt::{Lang, Receipt, render};
use scelle::register::{Entry, EntryKind, NewEntry, PersonRecord, Register};
use serde_json::{Value, json};

const CASE: &str = "2026-0001";
const OTHER: &str = "2026-0002";
const ORGANISATION: &str = "Gendarmerie nationale — Brigade de Saint-Étienne-de-Saint-Geoirs (Compagnie de La Tour-du-Pin)";
const OPERATOR: &str = "Élodie O’Brien-Lefèvre";
const AUTHORIZER: &str = "Anne-Laure d'Harcourt";
const AUDITOR: &str = "Ольга Ковальчук";
const RECIPIENT: &str = "Adjudant Sophie Marchetti-Żuławska";

fn sha(seed: u8) -> String {
    format!("{seed:02x}").repeat(32)
}

struct History {
    reg: Register,
    db: PathBuf,
    operator: Person,
    authorizer: Person,
    scan_sha: String,
}

fn record(name: &str, id: &str, roles: &[&str], p: &Person) -> PersonRecord {
    PersonRecord {
        id: id.into(),
        name: name.into(),
        unix_account: id.into(),
        roles: roles.iter().map(|r| (*r).to_owned()).collect(),
        public_key: p.public_key.clone(),
    }
}

fn append(reg: &Register, mut e: NewEntry, signer: Option<(&Person, &str)>) -> Entry {
    if let Some((p, role)) = signer {
        let s = p.sign(&e, role);
        e.signatures.push(s);
    }
    reg.append(e).unwrap()
}

fn export_record(id: &str, head: &Value, files: &[(&str, &str, u8)]) -> Value {
    json!({
        "format": 1, "export_id": id, "case_id": CASE,
        "case_reference": "PV 2026/004512", "operator": "elodie",
        "site_name": "Entrepôt de Vénissieux", "time_zone": "Europe/Paris",
        "started_at": "2026-11-23T10:00:00Z", "finished_at": "2026-11-23T10:04:00Z",
        "register_head": head,
        "destination": {"path": "/media/cle/PV_2026_004512",
            "drive": {"device": "/dev/sdb1", "mount_point": "/media/cle", "fs_type": "exfat",
                      "vendor": "Kingston", "model": "IronKey D300", "serial": "KS-778899"},
            "approved": true, "accepted_by_operator": false,
            "certification": "CSPN-2023/12"},
        "files": files.iter().enumerate().map(|(i, (cam, name, seed))| json!({
            "file": {"name": format!("{cam}_20261120T140000Z_20261120T143000Z.mp4.scelle"),
                     "size": 1_234_567 + i as u64, "sha256": sha(*seed)},
            "camera": cam, "camera_name": name,
            "requested": {"start": "2026-11-20T14:00:00Z", "end": "2026-11-20T14:30:00Z"},
            "covered": [{"start": "2026-11-20T14:00:00Z", "end": "2026-11-20T14:30:00Z"}],
            "gaps": if i == 0 { json!([{"start": "2026-11-20T14:10:00Z",
                "end": "2026-11-20T14:10:30Z", "reason": "not-recorded"}]) } else { json!([]) },
            "covered_seconds": 1770.0, "frames": 45000, "tracks": ["H.264 1920x1080"],
            "start_from_device": true,
            "clock_offset": {"measured_at": "2026-11-23T09:00:00Z", "offset_ms": 1250,
                             "uncertainty_ms": 20},
        })).collect::<Vec<_>>(),
        "manifest": {"name": "manifest.json.scelle", "size": 2345, "sha256": sha(0xab)},
    })
}

fn history(dir: &Path) -> History {
    let admin = Person::new(dir, "admin", &["admin"]);
    let operator = Person::new(dir, "elodie", &["operator"]);
    let authorizer = Person::new(dir, "anne", &["authorizer"]);
    let auditor = Person::new(dir, "olga", &["auditor"]);
    let db = dir.join("register.db");
    let reg = Register::open(&db).unwrap();
    let people = |with_auditor: bool| {
        let mut list = vec![
            record("Admin Système", "admin", &["admin"], &admin),
            record(OPERATOR, "elodie", &["operator"], &operator),
            record(AUTHORIZER, "anne", &["authorizer"], &authorizer),
        ];
        if with_auditor {
            list.push(record(AUDITOR, "olga", &["auditor"], &auditor));
        }
        json!({ "people": list })
    };
    append(
        &reg,
        NewEntry::new(EntryKind::PeopleChanged, None, "admin", people(false)),
        Some((&admin, "admin")),
    );
    append(
        &reg,
        NewEntry::new(
            EntryKind::ConfigChanged,
            None,
            "scelle",
            json!({"site": {"id": "venissieux", "name": "Entrepôt de Vénissieux",
                "controller": "SAS Entrepôts du Rhône", "address": "12 rue de l'Industrie, 69200 Vénissieux",
                "dpo_contact": "dpo@entrepots-rhone.fr", "level": "renforce"},
                "time_zone": "Europe/Paris", "emergency_regularize_hours": 72}),
        ),
        None,
    );
    append(
        &reg,
        NewEntry::new(EntryKind::PeopleChanged, None, "admin", people(true)),
        Some((&admin, "admin")),
    );
    let op = Some((&operator, "operator"));
    let opened = append(
        &reg,
        NewEntry::new(
            EntryKind::CaseOpened,
            Some(CASE),
            "elodie",
            json!({"ground": "requisition", "requester": "Adjudant-chef Karim Benali",
                "organisation": ORGANISATION, "reference": "PV 2026/004512",
                "recipient": RECIPIENT, "purpose": "enquête sur un vol avec effraction",
                "cameras": ["quai-1", "entree"],
                "ranges": [{"start": "2026-11-20T14:00:00Z", "end": "2026-11-20T14:30:00Z"}],
                "emergency": "purge automatique des enregistrements dans 6 heures"}),
        ),
        op,
    );
    append(
        &reg,
        NewEntry::new(
            EntryKind::EmergencyStarted,
            Some(CASE),
            "elodie",
            json!({"justification": "purge automatique des enregistrements dans 6 heures"}),
        ),
        op,
    );
    let head = serde_json::to_value(reg.head().unwrap()).unwrap();
    let files = [
        ("quai-1", "Quai de chargement", 0x10),
        ("entree", "Entrée principale", 0x11),
    ];
    let mut completed = Vec::new();
    for (id, seed) in [("EXP-20261123-01", 0x10u8), ("EXP-20261123-02", 0x20u8)] {
        append(
            &reg,
            NewEntry::new(
                EntryKind::ExportStarted,
                Some(CASE),
                "elodie",
                json!({"export_id": id, "folder": "/media/cle/PV_2026_004512",
                    "drive": {"vendor": "Kingston", "model": "IronKey D300", "serial": "KS-778899"},
                    "approved_drive": true}),
            ),
            op,
        );
        let f: Vec<(&str, &str, u8)> = files
            .iter()
            .map(|(c, n, s)| (*c, *n, s + seed - 0x10))
            .collect();
        let e = append(
            &reg,
            NewEntry::new(
                EntryKind::ExportCompleted,
                Some(CASE),
                "elodie",
                json!({"record": export_record(id, &head, &f), "verified_entry": "00".repeat(32),
                       "export_started": "00".repeat(32)}),
            ),
            op,
        );
        completed.push(e);
    }
    append(
        &reg,
        NewEntry::new(
            EntryKind::ExportStarted,
            Some(CASE),
            "elodie",
            json!({"export_id": "EXP-20261123-03", "folder": "/media/usb/PV_2026_004512",
                "drive": {"vendor": "", "model": "USB DISK 3.0", "serial": ""},
                "approved_drive": false, "accepted_by_operator": true}),
        ),
        op,
    );
    append(
        &reg,
        NewEntry::new(
            EntryKind::ExportFailed,
            Some(CASE),
            "scelle",
            json!({"export_id": "EXP-20261123-03", "reason": "the drive was removed",
                   "removed_files": ["a.partial"]}),
        ),
        None,
    );
    append(
        &reg,
        NewEntry::new(
            EntryKind::DocumentAttached,
            Some(CASE),
            "elodie",
            json!({"sha256": sha(0x77), "name": "réquisition-signée.pdf", "size": 1000, "role": "request"}),
        ),
        op,
    );
    append(
        &reg,
        NewEntry::new(
            EntryKind::CaseAuthorized,
            Some(CASE),
            "scelle",
            json!({"case_opened": hex::encode(opened.hash), "requests": [sha(0x77)],
                   "signed_statement": {"person": "anne", "case": CASE}}),
        ),
        Some((&authorizer, "authorizer")),
    );
    append(
        &reg,
        NewEntry::new(
            EntryKind::EmergencyRegularized,
            Some(CASE),
            "scelle",
            json!({"authorized_by": "anne", "requests": [sha(0x77)]}),
        ),
        None,
    );
    append(
        &reg,
        NewEntry::new(
            EntryKind::RequesterVerified,
            Some(CASE),
            "elodie",
            json!({"how": "rappel du standard de la brigade au numéro de l'annuaire officiel"}),
        ),
        op,
    );
    append(
        &reg,
        NewEntry::new(
            EntryKind::ExportCountersigned,
            Some(CASE),
            "scelle",
            json!({"export_completed": hex::encode(completed[0].hash),
                   "signed_statement": {"person": "anne"}}),
        ),
        Some((&authorizer, "authorizer")),
    );
    let scan_sha = sha(0x5c);
    append(
        &reg,
        NewEntry::new(
            EntryKind::Delivered,
            Some(CASE),
            "elodie",
            json!({"at": "2026-11-23T14:30:00Z", "export_id": "EXP-20261123-01",
                   "signed_receipt": scan_sha, "recipient": RECIPIENT,
                   "organisation": ORGANISATION, "export_completed": hex::encode(completed[0].hash)}),
        ),
        op,
    );
    append(
        &reg,
        NewEntry::new(
            EntryKind::CaseClosed,
            Some(CASE),
            "elodie",
            json!({"reason": "procédure transmise au parquet"}),
        ),
        op,
    );
    append(
        &reg,
        NewEntry::new(
            EntryKind::Purged,
            Some(CASE),
            "elodie",
            json!({"item": "export:EXP-20261123-02", "kind": "export",
                "path": "/media/service/PV_2026_004512", "on_request": true, "complete": true,
                "method": "sealed files: wrapped key overwritten first; every byte overwritten \
                           with random data, fsync, unlink, fsync of the folder",
                "files": [{"path": "/x", "size": 10, "sha256": sha(0x20), "sealed": true}],
                "bytes": 10}),
        ),
        op,
    );
    append(
        &reg,
        NewEntry::new(
            EntryKind::CaseOpened,
            Some(OTHER),
            "elodie",
            json!({"ground": "access-request", "requester": "Jean Dupont",
                "organisation": "", "reference": "DA-2026-07", "recipient": "Jean Dupont",
                "purpose": "droit d'accès", "cameras": ["entree"],
                "ranges": [{"start": "2026-11-21T08:00:00Z", "end": "2026-11-21T08:15:00Z"}]}),
        ),
        op,
    );
    History {
        reg,
        db,
        operator,
        authorizer,
        scan_sha,
    }
}

fn pdftotext(pdf: &Path) -> String {
    let out = Command::new("pdftotext")
        .args(["-layout", "-enc", "UTF-8"])
        .arg(pdf)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) runs");
    assert!(out.status.success(), "pdftotext: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// Every font of the PDF is embedded (`pdffonts`: the `emb` column says `yes`).
fn assert_fonts_embedded(pdf: &Path) {
    let out = Command::new("pdffonts").arg(pdf).output().unwrap();
    assert!(out.status.success(), "pdffonts: {out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    let fonts: Vec<&str> = text.lines().skip(2).collect();
    assert!(!fonts.is_empty(), "no fonts:\n{text}");
    for l in &fonts {
        let cols: Vec<&str> = l.split_whitespace().collect();
        // name type encoding emb sub uni object ID: `emb` is the fourth column from the end.
        let emb = cols[cols.len() - 5];
        assert_eq!(emb, "yes", "font not embedded: {l}\n{text}");
        assert!(l.contains("DejaVu"), "{l}");
    }
}

fn assert_pdf_a(pdf: &Path) {
    let out = Command::new("pdfinfo")
        .arg("-meta")
        .arg(pdf)
        .output()
        .unwrap();
    let meta = String::from_utf8_lossy(&out.stdout);
    assert!(
        meta.contains("pdfaid:part") && meta.contains('2'),
        "no PDF/A-2 identification:\n{meta}"
    );
    assert!(meta.contains("pdfaid:conformance"), "{meta}");
}

/// `pdftoppm` renders every page; `DOCS_PNG_DIR` keeps them.
fn render_pages(pdf: &Path, name: &str) -> usize {
    let dir = std::env::var_os("DOCS_PNG_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| pdf.parent().unwrap().to_owned());
    std::fs::create_dir_all(&dir).unwrap();
    let out = Command::new("pdftoppm")
        .args(["-png", "-r", "80"])
        .arg(pdf)
        .arg(dir.join(name))
        .output()
        .expect("pdftoppm runs");
    assert!(out.status.success(), "pdftoppm: {out:?}");
    assert!(out.stderr.is_empty(), "pdftoppm complains: {out:?}");
    std::fs::read_dir(&dir)
        .unwrap()
        .filter(|e| {
            let n = e
                .as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .into_owned();
            n.starts_with(name) && n.ends_with(".png")
        })
        .count()
}

fn assert_has(text: &str, want: &[&str]) {
    // pdftotext -layout may break a long value across lines: compare with collapsed spaces.
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let missing: Vec<&&str> = want
        .iter()
        .filter(|w| !flat.contains(&w.split_whitespace().collect::<Vec<_>>().join(" ")))
        .collect();
    assert!(missing.is_empty(), "missing {missing:?} in:\n{text}");
}

fn report(db: &Path, format: &str, lang: &str, out: &Path) {
    let o = scelle(&[
        "register",
        "report",
        "--format",
        format,
        "--lang",
        lang,
        "--db",
        db.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn the_register_report_states_every_fact_in_french() {
    let dir = tempfile::tempdir().unwrap();
    let h = history(dir.path());
    let pdf = dir.path().join("registre.pdf");
    report(&h.db, "pdf", "fr", &pdf);
    let text = pdftotext(&pdf);
    let head = h.reg.head().unwrap().to_text();
    assert_has(
        &text,
        &[
            "Registre des extractions vidéo",
            // Site and controller.
            "Entrepôt de Vénissieux",
            "SAS Entrepôts du Rhône",
            "12 rue de l'Industrie, 69200 Vénissieux",
            "dpo@entrepots-rhone.fr",
            "renforcé",
            "AES-256-GCM",
            "SHA-256",
            "Argon2id",
            // People and changes, by name and role.
            OPERATOR,
            AUTHORIZER,
            AUDITOR,
            "ajout : Ольга Ковальчук (auditeur)",
            "Admin Système",
            // Summary.
            "Synthèse des dossiers (2)",
            "respectés",
            // Case section.
            "Dossier 2026-0001 — Réquisition judiciaire",
            "PV 2026/004512",
            "Adjudant-chef Karim Benali",
            ORGANISATION,
            RECIPIENT,
            "enquête sur un vol avec effraction",
            "réquisition-signée.pdf",
            &sha(0x77),
            "ouverte en urgence le",
            "purge automatique des enregistrements dans 6 heures",
            "régularisée le",
            "Anne-Laure d'Harcourt (autorisation)",
            "déclaration signée avec sa clé SSH",
            "rappel du standard de la brigade",
            "Élodie O’Brien-Lefèvre (opérateur)",
            // Exports: two completed, one failed.
            "Extraction 1 / 3 : EXP-20261123-01 — terminée et vérifiée",
            "Extraction 2 / 3 : EXP-20261123-02 — terminée et vérifiée",
            "Extraction 3 / 3 : EXP-20261123-03 — ÉCHOUÉE — aucun fichier remis",
            "the drive was removed",
            "numéro de série non communiqué par le support",
            "Kingston IronKey D300, n° de série KS-778899, support chiffré agréé, certification CSPN-2023/12",
            "quai-1_20261120T140000Z_20261120T143000Z.mp4.scelle",
            "Quai de chargement (quai-1)",
            "2026-11-20 15:00:00 +01:00 → 2026-11-20 15:30:00 +01:00",
            "2026-11-20 15:10:00 +01:00 → 2026-11-20 15:10:30 +01:00 (30 s, non enregistré)",
            "+1.250 s (± 20 ms)",
            "H.264 1920x1080",
            &sha(0x10),
            &sha(0x21),
            &sha(0xab),
            "signée (SSH) par Élodie O’Brien-Lefèvre (opérateur)",
            "contresignée par Anne-Laure d'Harcourt (autorisation)",
            // Hand-over.
            "remise à Adjudant Sophie Marchetti-Żuławska",
            "2026-11-23 15:30:00 +01:00",
            "2026-0001/EXP-20261123-01",
            &h.scan_sha,
            // Purge and closing.
            "copie de l'extraction EXP-20261123-02",
            "effacement sécurisé",
            "procédure transmise au parquet",
            "purge de EXP-20261123-02 sous 30 jours après clôture : respecté",
            "régularisation de l'urgence sous 72 h : respecté",
            // The second case.
            "Dossier 2026-0002 — Demande d'accès (RGPD art. 15)",
            "ouvert, autorisation attendue",
            "AUCUNE AUTORISATION ENREGISTRÉE",
            // Media.
            "Supports amovibles",
            "KS-778899",
        ],
    );
    // No raw codes.
    for code in [
        "requisition",
        "export-completed",
        "urgence / emergency",
        "Autorisation : scelle",
    ] {
        assert!(!text.contains(code), "raw {code:?} in the report:\n{text}");
    }
    // The head, the site key line and the verification on every page.
    let pages = text.split('\u{c}').filter(|p| !p.trim().is_empty()).count();
    assert!(pages >= 3, "{pages} pages");
    for (i, page) in text
        .split('\u{c}')
        .filter(|p| !p.trim().is_empty())
        .enumerate()
    {
        assert_has(
            page,
            &[
                &format!("Tête du registre : {head}"),
                "clé du site :",
                "registre vérifié",
                &format!("Page {} / {pages}", i + 1),
            ],
        );
    }
    assert_fonts_embedded(&pdf);
    assert_pdf_a(&pdf);
    assert_eq!(render_pages(&pdf, "registre"), pages);
}

#[test]
fn the_register_report_in_english_csv_and_json_carry_the_same_facts() {
    let dir = tempfile::tempdir().unwrap();
    let h = history(dir.path());
    let pdf = dir.path().join("register.pdf");
    report(&h.db, "pdf", "en", &pdf);
    let text = pdftotext(&pdf);
    assert_has(
        &text,
        &[
            "Video extraction register",
            "Data controller",
            "SAS Entrepôts du Rhône",
            "Summary of the cases (2)",
            "Judicial requisition",
            "countersigned by Anne-Laure d'Harcourt (authorizer)",
            "handed over to Adjudant Sophie Marchetti-Żuławska",
            "FAILED — no file handed over",
            "register verified",
        ],
    );
    render_pages(&pdf, "register-en");

    let csv_path = dir.path().join("registre.csv");
    report(&h.db, "csv", "fr", &csv_path);
    let csv = std::fs::read_to_string(&csv_path).unwrap();
    // One row per export: three for the first case, one for the case without export.
    let rows: Vec<&str> = csv
        .split("\r\n")
        .filter(|l| l.starts_with("2026-000"))
        .collect();
    assert_eq!(rows.len(), 4, "{csv}");
    assert!(rows[0].contains("EXP-20261123-01") && rows[1].contains("EXP-20261123-02"));
    assert!(rows[2].contains("ÉCHOUÉE"));
    for want in [
        ORGANISATION,
        "Anne-Laure d'Harcourt (autorisation)",
        &h.scan_sha,
        "CSPN-2023/12",
        "Supports amovibles (inventaire et destruction)",
        "Empreinte de la clé du site",
        "registre vérifié",
    ] {
        assert!(csv.contains(want), "{want:?} not in CSV:\n{csv}");
    }

    let json_path = dir.path().join("registre.json");
    report(&h.db, "json", "fr", &json_path);
    let doc: Value = serde_json::from_slice(&std::fs::read(&json_path).unwrap()).unwrap();
    assert_eq!(doc["cases"].as_array().unwrap().len(), 2);
    assert_eq!(doc["cases"][0]["exports"].as_array().unwrap().len(), 3);
    assert_eq!(doc["rows"].as_array().unwrap().len(), 4);
    assert_eq!(doc["site"]["controller"], "SAS Entrepôts du Rhône");
    assert_eq!(doc["people"].as_array().unwrap().len(), 4);
    assert_eq!(doc["people_changes"].as_array().unwrap().len(), 2);
    assert!(doc["media"].as_array().is_some_and(|m| !m.is_empty()));
    assert_eq!(
        doc["cases"][0]["exports"][0]["receipt_reference"],
        "2026-0001/EXP-20261123-01"
    );
    assert!(doc["register"]["integrity_failure"].is_null());
    let _ = (&h.operator, &h.authorizer);
}

#[test]
fn the_receipt_states_every_fact() {
    let dir = tempfile::tempdir().unwrap();
    let h = history(dir.path());
    let r = Receipt::from_register(
        &h.reg,
        CASE,
        Some("EXP-20261123-01"),
        None,
        Some("2026-11-23T14:30:00Z".parse().unwrap()),
    )
    .unwrap();
    let pdf = dir.path().join("recu.pdf");
    std::fs::write(&pdf, render(&r, Lang::Fr)).unwrap();
    let text = pdftotext(&pdf);
    assert_has(
        &text,
        &[
            "Récépissé de remise d'extraits vidéo",
            "Référence du récépissé",
            "2026-0001/EXP-20261123-01",
            "ATTENTION — extraction réalisée en urgence",
            "purge automatique des enregistrements dans 6 heures",
            "régularisée le",
            "SAS Entrepôts du Rhône",
            "dpo@entrepots-rhone.fr",
            "Référence de la demande",
            "PV 2026/004512",
            ORGANISATION,
            "Anne-Laure d'Harcourt (autorisation)",
            "rappel du standard de la brigade",
            "Remis par",
            "Élodie O’Brien-Lefèvre (opérateur)",
            RECIPIENT,
            "Organisme du destinataire",
            "Grade",
            "Matricule",
            "Service ou unité",
            "Kingston IronKey D300, n° de série KS-778899, support chiffré agréé, certification CSPN-2023/12",
            "/media/cle/PV_2026_004512",
            "AES-256-GCM",
            "Argon2id",
            "contresignée par Anne-Laure d'Harcourt",
            "MP4 (H.264 1920x1080), chiffré dans un conteneur scelle (.scelle)",
            &sha(0x10),
            &sha(0xab),
            "OUVRIR.html",
            "scelle open FICHIER",
            "Fait à",
            "des 2 fichiers décrits",
            "paraphes du remettant",
        ],
    );
    for bad in ["FORMAT.md", "Procès-verbal", "fichier(s)"] {
        assert!(!text.contains(bad), "{bad:?} on the receipt:\n{text}");
    }
    assert_fonts_embedded(&pdf);
    assert_pdf_a(&pdf);
    render_pages(&pdf, "recu");
}

#[test]
fn an_access_request_receipt_warns_about_third_parties() {
    let dir = tempfile::tempdir().unwrap();
    let h = history(dir.path());
    // Give the access-request case an export so it has a receipt.
    let head = serde_json::to_value(h.reg.head().unwrap()).unwrap();
    let mut rec = export_record("EXP-DA-1", &head, &[("entree", "Entrée", 0x40)]);
    rec["case_id"] = json!(OTHER);
    let mut e = NewEntry::new(
        EntryKind::ExportCompleted,
        Some(OTHER),
        "elodie",
        json!({"record": rec, "verified_entry": "00".repeat(32)}),
    );
    let s = h.operator.sign(&e, "operator");
    e.signatures.push(s);
    h.reg.append(e).unwrap();
    let r = Receipt::from_register(&h.reg, OTHER, None, None, None).unwrap();
    let pdf = dir.path().join("recu-da.pdf");
    std::fs::write(&pdf, render(&r, Lang::En)).unwrap();
    let text = pdftotext(&pdf);
    assert_has(
        &text,
        &[
            "Receipt for the hand-over of video extracts",
            "WARNING — a data subject's access request",
            "NO APPROVAL RECORDED",
            "the file described",
        ],
    );
}
