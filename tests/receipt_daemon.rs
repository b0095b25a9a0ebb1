//! `scelle case receipt`, `scelle case delivered`, `scelle purge list|run` end to end: the real
//! daemon, the real CLI, a completed export appended to the daemon's register (signed by the
//! operator's real `ssh-keygen` key) as the export pipeline does, and `pdftotext` on the PDF.

mod daemon_support;

use std::process::{Command, Output};

use daemon_support::{BIN, Daemon, account, keygen, stderr};
use scelle::register::signature::sign_with_key;
use scelle::register::{EntryKind, EntrySignature, NewEntry, Register};
use serde_json::json;

fn purge(d: &Daemon, person: &str, args: &[&str]) -> Output {
    d.cli("purge", person, args)
}

fn complete_export(d: &Daemon, case: &str) {
    let reg = d.register_writer();
    let started = reg
        .append(NewEntry::new(
            EntryKind::ExportStarted,
            Some(case),
            "olivia",
            json!({"export_id": "EXP-T-1"}),
        ))
        .unwrap();
    let head = reg.head().unwrap();
    let record = json!({
        "format": 1, "export_id": "EXP-T-1", "case_id": case, "case_reference": "PV 2026/1234",
        "operator": "olivia", "site_name": "Site de test", "time_zone": "Europe/Paris",
        "started_at": "2026-11-23T10:00:00Z", "finished_at": "2026-11-23T10:01:00Z",
        "register_head": head,
        "destination": {"path": d.dir.path().join("drive/PV 2026_1234"),
            "drive": {"device": "/dev/sdz1", "mount_point": "/media/x", "fs_type": "exfat",
                      "vendor": "Verbatim", "model": "Store n Go", "serial": "VB-77"},
            "approved": true, "accepted_by_operator": false},
        "files": [{
            "file": {"name": "entree_20261120T090000Z_20261120T093000Z.mp4.scelle",
                     "size": 4242, "sha256": "c0".repeat(32)},
            "camera": "entree", "camera_name": "Entrée",
            "requested": {"start": "2026-11-20T09:00:00Z", "end": "2026-11-20T09:30:00Z"},
            "covered": [{"start": "2026-11-20T09:00:00Z", "end": "2026-11-20T09:30:00Z"}],
            "gaps": [], "covered_seconds": 1800.0, "frames": 45000, "tracks": ["H.264"],
            "start_from_device": true}],
        "manifest": {"name": "manifest.json.scelle", "size": 900, "sha256": "d1".repeat(32)},
    });
    let mut e = NewEntry::new(
        EntryKind::ExportCompleted,
        Some(case),
        "olivia",
        json!({"record": record, "verified_entry": hex::encode(head.hash),
               "export_started": hex::encode(started.hash)}),
    );
    let key = ssh_key::PrivateKey::read_openssh_file(&d.key("olivia")).unwrap();
    e.signatures.push(EntrySignature {
        person: "olivia".into(),
        role: "operator".into(),
        signature: sign_with_key(&key, &e.statement()).unwrap(),
    });
    reg.append(e).unwrap();
}

fn pdftotext(path: &std::path::Path) -> String {
    let out = Command::new("pdftotext")
        .args(["-layout", "-enc", "UTF-8"])
        .arg(path)
        .arg("-")
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn receipt_delivery_and_purge_through_the_daemon() {
    let d = Daemon::start();
    let case = d.open_case("olivia");

    // No export yet: no receipt.
    let out = d.case("olivia", &["receipt", &case]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("no completed export"),
        "{}",
        stderr(&out)
    );

    complete_export(&d, &case);
    let pdf = d.dir.path().join("recu.pdf");
    let out = d.case(
        "olivia",
        &[
            "receipt",
            &case,
            "-o",
            pdf.to_str().unwrap(),
            "--at",
            "2026-11-23T15:30",
        ],
    );
    assert!(out.status.success(), "{}\n{}", stderr(&out), d.log_text());
    let text = pdftotext(&pdf);
    // The site key that seals the register, for the recipient's auditor to pin.
    let key = ssh_key::PrivateKey::read_openssh_file(&d.dir.path().join("state").join("site-key"))
        .unwrap()
        .public_key()
        .fingerprint(ssh_key::HashAlg::Sha256)
        .to_string();
    assert!(text.contains("Clé du site"), "{text}");
    assert!(text.contains(&key), "{key} not on the receipt:\n{text}");
    for want in [
        "Récépissé de remise",
        "PV 2026/1234",
        "olivia Test (opérateur)",
        "OPJ Martin",
        "Commissariat de Lyon 3e",
        "2026-11-23 15:30:00",
        "2026-11-23 14:30:00",
        "Entrée (entree)",
        &"c0".repeat(32),
        &"d1".repeat(32),
        "Verbatim Store n Go",
    ] {
        assert!(text.contains(want), "missing {want:?}:\n{text}");
    }
    let en = d.dir.path().join("receipt-en.pdf");
    let out = d.case(
        "olivia",
        &["receipt", &case, "--lang", "en", "-o", en.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(pdftotext(&en).contains("Receipt for the hand-over of video extracts"));
    // The receipt's head (taken after its export-completed) is a witness of the register.
    let text_file = d.dir.path().join("recu.txt");
    std::fs::write(&text_file, &text).unwrap();
    let out = Command::new(daemon_support::BIN)
        .args(["register", "verify", "--db"])
        .arg(d.register_path())
        .arg("--witness")
        .arg(&text_file)
        .output()
        .unwrap();
    assert!(
        out.status.success() && String::from_utf8_lossy(&out.stdout).contains("1 witnessed heads"),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        stderr(&out)
    );

    // The hand-over, with the scan of the signed receipt: not before the case is approved,
    // the requester's authority checked (AUTH-5) and the export countersigned (STEP-5).
    let scan = d.dir.path().join("recu-signe.pdf");
    std::fs::write(&scan, b"%PDF-1.4 scan of the signed receipt").unwrap();
    let at = jiff::Timestamp::from_second(jiff::Timestamp::now().as_second()).unwrap();
    let deliver = |person: &str| {
        d.case(
            person,
            &[
                "delivered",
                &case,
                "--signed-receipt",
                scan.to_str().unwrap(),
                "--at",
                &at.to_string(),
            ],
        )
    };
    let refused = |person: &str, needle: &str| {
        let before = d.register_len();
        let out = deliver(person);
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        assert!(stderr(&out).contains(needle), "{}", stderr(&out));
        assert_eq!(d.register_len(), before);
    };
    refused("olivia", "is not authorized");
    d.case_json("arthur", &["approve", &case]);
    refused("olivia", "requester's authority is not verified");
    d.case_json(
        "paul",
        &["verify-requester", &case, "--how", "carte OPJ n° 1234"],
    );
    refused("olivia", "not countersigned");
    // olivia opened and exported: she cannot countersign, even holding the authorizer role.
    let out = d.case("olivia", &["countersign", &case]);
    assert!(
        stderr(&out).contains("cannot countersign"),
        "{}",
        stderr(&out)
    );
    // arthur countersigns from elsewhere: the statement lists what was extracted; he signs it
    // with `ssh-keygen -Y sign -n scelle-countersign`; olivia submits it.
    let out = d.case("olivia", &["countersign", &case, "--print-statement"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    for want in [
        "scelle countersignature v1\n".to_owned(),
        format!("case: {case}\n"),
        "export: EXP-T-1\n".to_owned(),
        format!(
            "file: entree_20261120T090000Z_20261120T093000Z.mp4.scelle sha256:{} bytes:4242\n",
            "c0".repeat(32)
        ),
        "pulled: entree 2026-11-20T09:00:00Z/2026-11-20T09:30:00Z\n".to_owned(),
    ] {
        assert!(text.contains(&want), "missing {want:?} in:\n{text}");
    }
    let stmt = d.dir.path().join("countersign.txt");
    std::fs::write(&stmt, &text).unwrap();
    let st = Command::new("ssh-keygen")
        .args(["-q", "-Y", "sign", "-n", "scelle-countersign", "-f"])
        .arg(d.key("arthur"))
        .arg(&stmt)
        .status()
        .unwrap();
    assert!(st.success());
    let sig = d.dir.path().join("countersign.txt.sig");
    let v = d.case_json(
        "olivia",
        &["countersign", &case, "--signature", sig.to_str().unwrap()],
    );
    assert_eq!(v["case"]["exports"][0]["countersigned_by"], "arthur", "{v}");
    let reg = Register::open_read_only(&d.register_path()).unwrap();
    let cs = reg
        .entries(Some(&case))
        .unwrap()
        .into_iter()
        .find(|e| e.kind == EntryKind::ExportCountersigned)
        .unwrap();
    assert_eq!(
        cs.payload["signed_statement"]["namespace"],
        "scelle-countersign"
    );
    assert_eq!(cs.payload["signed_statement"]["text"], text.as_str());
    // An authorizer without the operator role does not record the hand-over.
    refused("arthur", "operator role");
    let v = d.case_json(
        "olivia",
        &[
            "delivered",
            &case,
            "--signed-receipt",
            scan.to_str().unwrap(),
            "--at",
            &at.to_string(),
        ],
    );
    let docs = v["case"]["documents"].as_array().unwrap();
    let signed = docs.iter().find(|d| d["role"] == "signed-receipt").unwrap();
    let sha = signed["sha256"].as_str().unwrap().to_owned();
    let stored = d.dir.path().join("state/documents").join(&sha);
    assert_eq!(
        std::fs::read(stored).unwrap(),
        std::fs::read(&scan).unwrap()
    );
    let reg = Register::open_read_only(&d.register_path()).unwrap();
    let delivered: Vec<_> = reg
        .entries(Some(&case))
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == EntryKind::Delivered)
        .collect();
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].payload["signed_receipt"], sha.as_str());
    assert_eq!(delivered[0].payload["export_id"], "EXP-T-1");
    assert_eq!(delivered[0].payload["at"], at.to_string());
    assert_eq!(delivered[0].actor, "olivia");
    let completed = reg
        .entries(Some(&case))
        .unwrap()
        .into_iter()
        .find(|e| e.kind == EntryKind::ExportCompleted)
        .unwrap();
    assert_eq!(
        delivered[0].payload["export_completed"],
        hex::encode(completed.hash)
    );
    // A hand-over in the future is refused.
    let out = d.case(
        "olivia",
        &[
            "delivered",
            &case,
            "--signed-receipt",
            scan.to_str().unwrap(),
            "--at",
            "2099-01-01",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));

    // Purge: the case is open, nothing is due; its documents are retained.
    let out = purge(&d, "olivia", &["--json", "list"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let items = list["items"].as_array().unwrap();
    assert!(
        items
            .iter()
            .any(|i| i["id"] == "export:EXP-T-1" && i["present"] == false)
    );
    assert!(items.iter().any(|i| i["id"] == format!("document:{sha}")));
    assert!(items.iter().all(|i| i["due"].is_null()));
    let out = purge(&d, "olivia", &["list"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("(case open)"));
    let out = purge(&d, "olivia", &["run", &format!("document:{sha}")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("5 years"), "{}", stderr(&out));
    let out = purge(&d, "arthur", &["run"]);
    assert!(stderr(&out).contains("refused"), "{}", stderr(&out));
    let out = purge(&d, "olivia", &["run"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("nothing was due"));
}

/// `scelle register report --daemon` as `person`: (exit code, stderr).
fn report_via_daemon(d: &Daemon, person: &str, key: &std::path::Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(["register", "report", "--daemon", "--socket"])
        .arg(&d.socket)
        .args(["--as", person, "-i"])
        .arg(key)
        .args(args)
        .env_remove("SSH_AUTH_SOCK")
        .env("SCELLE_REGISTER_DB", "/nonexistent/register.db")
        .output()
        .unwrap()
}

#[test]
fn an_auditor_gets_the_register_report_through_the_daemon() {
    let keys = tempfile::tempdir().unwrap();
    let key = keys.path().join("ada");
    let public = keygen(&key);
    let d = Daemon::start_with(&format!(
        "[[person]]\nid = \"ada\"\nname = \"Ada Lovelace-Éluard\"\nunix_account = \"{}\"\n\
         roles = [\"auditor\"]\npublic_key = \"{public}\"\n",
        account()
    ));
    let case = d.open_case("olivia");
    complete_export(&d, &case);
    let pdf = d.dir.path().join("registre.pdf");
    let out = report_via_daemon(
        &d,
        "ada",
        &key,
        &["--format", "pdf", "-o", pdf.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}\n{}", stderr(&out), d.log_text());
    let text = pdftotext(&pdf);
    let head = Register::open_read_only(&d.register_path())
        .unwrap()
        .head()
        .unwrap()
        .to_text();
    for want in [
        "Registre des extractions vidéo",
        "Site de test",
        "Ada Lovelace-Éluard",
        &format!("Dossier {case}"),
        "EXP-T-1",
        "registre vérifié",
        &head,
    ] {
        assert!(text.contains(want), "missing {want:?}:\n{text}");
    }
    // CSV and JSON the same way; JSON says the chain verified.
    let out = report_via_daemon(&d, "ada", &key, &["--format", "json", "--lang", "en"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(doc["register"]["integrity_failure"].is_null());
    assert_eq!(doc["cases"][0]["exports"][0]["export_id"], "EXP-T-1");
    assert_eq!(doc["site"]["name"], "Site de test");
    // An operator is refused; an unknown format is a usage error.
    let out = report_via_daemon(&d, "paul", &d.key("paul"), &["--format", "csv"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("refused"), "{}", stderr(&out));
    assert!(d.log_text().contains("register report made"));
}
