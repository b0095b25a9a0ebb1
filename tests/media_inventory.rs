//! `scelle media list|add|destroyed` end to end (PUR-4): the real daemon, the real CLI, export
//! entries appended to the daemon's register as the export pipeline writes them, and the
//! register verified afterwards.

mod daemon_support;

use std::process::{Command, Output};

use daemon_support::{BIN, Daemon, stderr};
use scelle::register::{EntryKind, NewEntry, Register};
use serde_json::{Value, json};

fn media(d: &Daemon, person: &str, args: &[&str]) -> Output {
    d.cli("media", person, args)
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn list(d: &Daemon, person: &str) -> Value {
    let out = media(d, person, &["--json", "list"]);
    assert!(out.status.success(), "{}\n{}", stderr(&out), d.log_text());
    serde_json::from_slice::<Value>(&out.stdout).unwrap()["inventory"].clone()
}

fn medium<'a>(inv: &'a Value, serial: &str) -> &'a Value {
    inv["media"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|m| m["serial"] == serial)
        .unwrap_or_else(|| panic!("no medium {serial} in {inv:#}"))
}

/// An `export-started` entry naming a drive, as the export pipeline appends it.
fn export_started(d: &Daemon, case: &str, export: &str, serial: &str) {
    let reg = d.register_writer();
    reg.append(NewEntry::new(
        EntryKind::ExportStarted,
        Some(case),
        "paul",
        json!({
            "export_id": export,
            "destination": "/media/k",
            "folder": "",
            "drive": {"device": "/dev/sdz1", "mount_point": "/media/k", "fs_type": "exfat",
                      "vendor": "Kingston", "model": "DataTraveler 2000", "serial": serial,
                      "fs_uuid": "1234-ABCD"},
            "approved_drive": false,
            "accepted_by_operator": true,
        }),
    ))
    .unwrap();
}

#[test]
fn inventory_exports_and_destruction_through_the_daemon() {
    let d = Daemon::start();

    // Empty inventory.
    let out = media(&d, "arthur", &["list"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("no medium inventoried"),
        "{}",
        stdout(&out)
    );

    // An operator inventories a key.
    let out = media(
        &d,
        "paul",
        &[
            "add",
            "--serial",
            "KS-001",
            "--vendor",
            "Kingston",
            "--model",
            "DataTraveler 2000",
            "--label",
            "clé rouge n°1",
        ],
    );
    assert!(out.status.success(), "{}\n{}", stderr(&out), d.log_text());
    assert!(
        stdout(&out).contains("inventoried MED-0001"),
        "{}",
        stdout(&out)
    );

    // The same serial again, and no serial at all: refused.
    let out = media(&d, "olivia", &["add", "--serial", "KS-001", "--model", "x"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("already inventoried as MED-0001"),
        "{}",
        stderr(&out)
    );
    let out = media(&d, "paul", &["add", "--model", "DataTraveler 2000"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("serial"), "{}", stderr(&out));

    // From a mounted path: the daemon reads the drive's identity (test disks rarely expose a
    // serial, so one is given; it takes precedence over what sysfs says).
    let out = media(
        &d,
        "olivia",
        &[
            "--json",
            "add",
            "--from",
            d.dir.path().to_str().unwrap(),
            "--serial",
            "DISK-LAB",
            "--label",
            "disque de test",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let added: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(added["media"]["inventory_id"], "MED-0002");
    assert_eq!(added["media"]["serial"], "DISK-LAB");
    // A relative path is refused.
    let out = media(&d, "olivia", &["add", "--from", "relative/dir"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));

    // Exports went to the key, and to a drive nobody inventoried.
    let case = d.open_case("olivia");
    export_started(&d, &case, "EXP-T-1", "KS-001");
    export_started(&d, &case, "EXP-T-2", "KS-001");
    export_started(&d, &case, "EXP-T-3", "STRANGER-9");
    export_started(&d, &case, "EXP-T-4", "");

    let inv = list(&d, "arthur");
    let key = medium(&inv, "KS-001");
    assert_eq!(key["inventory_id"], "MED-0001");
    assert_eq!(key["label"], "clé rouge n°1");
    assert_eq!(key["inventoried_by"], "paul");
    assert_eq!(key["exports"], 2);
    assert_eq!(key["cases"], json!([case]));
    assert!(key["first_use"].is_string() && key["destroyed"].is_null());
    let stranger = medium(&inv, "STRANGER-9");
    assert!(stranger["inventory_id"].is_null());
    assert_eq!(stranger["exports"], 1);
    assert_eq!(inv["exports_without_serial"], 1);
    let table = stdout(&media(&d, "paul", &["list"]));
    assert!(table.contains("NOT INVENTORIED"), "{table}");
    assert!(
        table.contains("went to a drive that exposed no serial"),
        "{table}"
    );

    // Destruction: not for an operator; the authorizer records it.
    let destroy = |person: &str, extra: &[&str]| {
        let mut args = vec![
            "destroyed",
            "--certificate",
            "CERT-2026-77",
            "--method",
            "broyage",
        ];
        args.extend_from_slice(extra);
        media(&d, person, &args)
    };
    let out = destroy("paul", &["--serial", "KS-001", "--on", "2026-11-20"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("refused"), "{}", stderr(&out));
    let out = destroy("arthur", &["--serial", "KS-001", "--on", "2099-01-01"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("future"), "{}", stderr(&out));
    let out = media(
        &d,
        "arthur",
        &[
            "destroyed",
            "--serial",
            "KS-001",
            "--certificate",
            " ",
            "--on",
            "2026-11-20",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let out = destroy("arthur", &["--serial", "STRANGER-9", "--on", "2026-11-20"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("no inventoried medium"),
        "{}",
        stderr(&out)
    );
    let out = destroy("arthur", &["--id", "MED-0001", "--on", "2026-11-20"]);
    assert!(out.status.success(), "{}\n{}", stderr(&out), d.log_text());
    assert!(stdout(&out).contains("CERT-2026-77"), "{}", stdout(&out));
    let out = destroy("arthur", &["--serial", "KS-001", "--on", "2026-11-20"]);
    assert!(
        stderr(&out).contains("already recorded as destroyed"),
        "{}",
        stderr(&out)
    );

    let inv = list(&d, "paul");
    let key = medium(&inv, "KS-001");
    assert_eq!(key["destroyed"]["certificate"], "CERT-2026-77");
    assert_eq!(key["destroyed"]["destroyed_on"], "2026-11-20");
    assert_eq!(key["destroyed"]["recorded_by"], "arthur");
    let table = stdout(&media(&d, "paul", &["list"]));
    assert!(
        table.contains("2026-11-20 (certificate CERT-2026-77)"),
        "{table}"
    );

    // The daemon refuses to export to it: what the export pipeline asks before writing.
    let reg = Register::open_read_only(&d.register_path()).unwrap();
    let destroyed = scelle::inventory::destruction_of(&reg, "KS-001").unwrap();
    let drive = scelle::drive::DriveIdentity {
        serial: "KS-001".into(),
        mount_point: "/media/k".into(),
        ..Default::default()
    };
    let e = scelle::export::destination::refuse_destroyed(&drive, destroyed.as_ref()).unwrap_err();
    assert!(e.to_string().contains("destroyed"), "{e}");

    // Entries are site-level, by the person; the register verifies.
    let entries = reg.entries(None).unwrap();
    let inventoried: Vec<_> = entries
        .iter()
        .filter(|e| e.kind == EntryKind::MediaInventoried)
        .collect();
    assert_eq!(inventoried.len(), 2);
    assert!(inventoried.iter().all(|e| e.case_id.is_none()));
    assert_eq!(inventoried[0].actor, "paul");
    assert_eq!(inventoried[0].payload["by"], "paul");
    let destroyed: Vec<_> = entries
        .iter()
        .filter(|e| e.kind == EntryKind::MediaDestroyed)
        .collect();
    assert_eq!(destroyed.len(), 1);
    assert_eq!(destroyed[0].actor, "arthur");
    assert!(destroyed[0].case_id.is_none());
    let out = Command::new(BIN)
        .args(["register", "verify", "--db"])
        .arg(d.register_path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));

    // The CNIL report lists the inventory: JSON (English) and PDF (French).
    let out = Command::new(BIN)
        .args([
            "register", "report", "--format", "json", "--lang", "en", "--db",
        ])
        .arg(d.register_path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        report["media_columns"]["destroyed"],
        "Destroyed (date, certificate)"
    );
    let rows = report["media"].as_array().unwrap();
    let key = rows.iter().find(|r| r["serial"] == "KS-001").unwrap();
    assert_eq!(key["inventory_id"], "MED-0001");
    assert!(key["exports"].as_str().unwrap().starts_with("2 ("), "{key}");
    assert!(
        key["destroyed"]
            .as_str()
            .unwrap()
            .starts_with("2026-11-20, certificate CERT-2026-77"),
        "{key}"
    );
    let stranger = rows.iter().find(|r| r["serial"] == "STRANGER-9").unwrap();
    assert_eq!(stranger["inventory_id"], "NOT INVENTORIED");
    let pdf = d.dir.path().join("registre.pdf");
    let out = Command::new(BIN)
        .args(["register", "report", "--format", "pdf", "-o"])
        .arg(&pdf)
        .arg("--db")
        .arg(d.register_path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = Command::new("pdftotext")
        .args(["-layout", "-enc", "UTF-8"])
        .arg(&pdf)
        .arg("-")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    for want in [
        "Supports amovibles",
        "MED-0001",
        "clé rouge",
        "CERT-2026-77",
        "NON INVENTORIÉ",
    ] {
        assert!(text.contains(want), "missing {want:?}:\n{text}");
    }
}
