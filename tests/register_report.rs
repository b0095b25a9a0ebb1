//! `scelle register report|head|backup` on a real register: CSV and JSON content, the PDF read
//! back with poppler's `pdftotext`, date filters, English headings, and a verified backup.

mod register_support;

use std::path::{Path, PathBuf};
use std::process::Command;

use register_support::{Site, scelle, sqlite3_ok};
use scelle::register::{Register, SiteKey};

fn make_register(dir: &Path) -> PathBuf {
    let db = dir.join("register.db");
    let reg = Register::open(&db).unwrap();
    let site = Site::new(dir);
    reg.append(site.people_entry()).unwrap();
    site.record_case(&reg, "2026-0001");
    site.record_case(&reg, "2026-0002");
    reg.checkpoint(&SiteKey::load_or_create(&dir.join("site_key")).unwrap())
        .unwrap();
    db
}

fn run_ok(args: &[&str]) -> String {
    let out = scelle(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn csv_report_in_french_and_english() {
    let dir = tempfile::tempdir().unwrap();
    let db = make_register(dir.path());
    let db = db.to_str().unwrap();
    let csv = run_ok(&["register", "report", "--format", "csv", "--db", db]);
    let lines: Vec<&str> = csv.split("\r\n").collect();
    assert!(
        lines[0].starts_with("Dossier,Ouverture,Ouvert par,Fondement,Référence,Demandeur"),
        "{csv}"
    );
    let rows: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| l.starts_with("2026-"))
        .collect();
    assert_eq!(rows.len(), 2, "one row per export:\n{csv}");
    let row = rows[0];
    for needle in [
        "2026-0001",
        "olivier Dupont (opérateur)",
        "anne Dupont (autorisation)",
        "Réquisition judiciaire",
        "\"OPJ Martin, commissariat de Lyon 3e\"",
        "caisse-1, entrée",
    ] {
        assert!(row.contains(needle), "{needle:?} not in {row}");
    }
    assert!(csv.contains("Supports amovibles"), "media section:\n{csv}");
    let en = run_ok(&[
        "register", "report", "--format", "csv", "--lang", "en", "--db", db,
    ]);
    assert!(en.starts_with("Case,Opened,Opened by,Legal ground"), "{en}");
}

#[test]
fn json_report_and_date_filters() {
    let dir = tempfile::tempdir().unwrap();
    let db = make_register(dir.path());
    let db = db.to_str().unwrap();
    let today = jiff::Timestamp::now().strftime("%Y-%m-%d").to_string();
    let out = run_ok(&[
        "register", "report", "--format", "json", "--from", &today, "--to", &today, "--db", db,
    ]);
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["cases"].as_array().unwrap().len(), 2);
    assert_eq!(doc["cases"][1]["case_id"], "2026-0002");
    assert!(
        doc["cases"][1]["approval"]
            .as_str()
            .unwrap()
            .starts_with("anne Dupont (autorisation)")
    );
    assert_eq!(doc["register"]["entries"], 12);
    assert!(doc["register"]["integrity_failure"].is_null());
    assert!(
        doc["register"]["site_key"]
            .as_str()
            .unwrap()
            .starts_with("SHA256:")
    );
    assert_eq!(doc["columns"]["export_operator"], "Opérateur");
    let out = run_ok(&[
        "register",
        "report",
        "--format",
        "json",
        "--to",
        "2020-01-01",
        "--db",
        db,
    ]);
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["cases"].as_array().unwrap().len(), 0);
}

#[test]
fn pdf_report_reads_back_with_pdftotext() {
    let dir = tempfile::tempdir().unwrap();
    let db = make_register(dir.path());
    let pdf = dir.path().join("registre.pdf");
    run_ok(&[
        "register",
        "report",
        "--format",
        "pdf",
        "--db",
        db.to_str().unwrap(),
        "-o",
        pdf.to_str().unwrap(),
    ]);
    let bytes = std::fs::read(&pdf).unwrap();
    if let Some(keep) = std::env::var_os("SCELLE_KEEP_PDF") {
        std::fs::copy(&pdf, keep).unwrap();
    }
    assert!(bytes.starts_with(b"%PDF-"));
    let out = Command::new("pdftotext")
        .arg("-layout")
        .arg(&pdf)
        .arg("-")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    for needle in [
        "Registre des extractions vidéo",
        "registre vérifié",
        "Dossier 2026-0001",
        "Dossier 2026-0002",
        "Opérateur",
        "olivier Dupont (opérateur)",
        "Autorisation",
        "anne Dupont (autorisation)",
        "Caméras",
        "caisse-1, entrée",
        "OPJ Martin, commissariat de Lyon 3e",
        "SHA256:",
    ] {
        assert!(text.contains(needle), "{needle:?} not in PDF text:\n{text}");
    }
}

#[test]
fn report_on_a_tampered_register_says_so_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    let db = make_register(dir.path());
    sqlite3_ok(
        &db,
        "DROP TRIGGER entries_append_only_update;
         UPDATE entries SET actor = 'mallory' WHERE seq = 3;",
    );
    let out = scelle(&[
        "register",
        "report",
        "--format",
        "json",
        "--db",
        db.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(4));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        doc["register"]["integrity_failure"]
            .as_str()
            .unwrap()
            .contains("entry 3")
    );
}

#[test]
fn head_and_backup() {
    let dir = tempfile::tempdir().unwrap();
    let db = make_register(dir.path());
    let dbs = db.to_str().unwrap();
    let head = run_ok(&["register", "head", "--db", dbs]);
    let expected = Register::open(&db).unwrap().head().unwrap();
    assert_eq!(head.trim(), expected.to_text());
    let copy = dir.path().join("copy.db");
    let out = run_ok(&[
        "register",
        "backup",
        "--db",
        dbs,
        "--to",
        copy.to_str().unwrap(),
    ]);
    assert!(out.contains("12 entries"), "{out}");
    let verify = run_ok(&[
        "register",
        "verify",
        "--db",
        copy.to_str().unwrap(),
        "--head",
        head.trim(),
    ]);
    assert!(verify.starts_with("register OK: 12 entries"));
    // A second backup to the same file is refused rather than overwriting.
    let again = scelle(&[
        "register",
        "backup",
        "--db",
        dbs,
        "--to",
        copy.to_str().unwrap(),
    ]);
    assert_eq!(again.status.code(), Some(1));
    // A missing database is an error, not an empty register.
    let missing = scelle(&[
        "register",
        "verify",
        "--db",
        dir.path().join("nope.db").to_str().unwrap(),
    ]);
    assert_eq!(missing.status.code(), Some(1));
    // Another SQLite database is not mistaken for an empty register.
    let other = dir.path().join("other.db");
    sqlite3_ok(&other, "CREATE TABLE t (x INTEGER);");
    let out = scelle(&["register", "verify", "--db", other.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a scelle register"));
}

#[test]
fn cli_sees_entries_still_in_the_wal_of_a_running_daemon() {
    let dir = tempfile::tempdir().unwrap();
    let db = make_register(dir.path());
    // The "daemon" keeps its connection open and appends; nothing is checkpointed yet.
    let reg = Register::open(&db).unwrap();
    reg.append(scelle::register::NewEntry::new(
        scelle::register::EntryKind::ConfigChanged,
        None,
        "scelle",
        serde_json::json!({"retention_days": 30}),
    ))
    .unwrap();
    let head = reg.head().unwrap();
    assert!(dir.path().join("register.db-wal").exists());
    let out = run_ok(&["register", "head", "--db", db.to_str().unwrap()]);
    assert_eq!(out.trim(), head.to_text());
    let out = run_ok(&[
        "register",
        "verify",
        "--db",
        db.to_str().unwrap(),
        "--head",
        &head.to_text(),
    ]);
    assert!(out.starts_with("register OK: 13 entries"), "{out}");
}
