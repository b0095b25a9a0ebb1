//! Closing a case ("do not export") stops its export (issue 14), through the real daemon and
//! CLI: while the pull is in flight (a recorder's playback port that accepts and never
//! answers), and after the files were written and verified but before the operator signed.
//! Either way the CLI fails saying why, nothing is left on the drive, `export-failed` records
//! the reason, and the password is never shown.

mod export_support;

use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use export_support::*;
use scelle::api::protocol::Op;
use scelle::api::protocol::Reply;
use scelle::cli::client::{Client, Signer};
use scelle::register::EntryKind;
use serde_json::json;

fn failed_reason(d: &Daemon) -> String {
    let all = entries(d);
    let failed = all
        .iter()
        .find(|e| e.kind == EntryKind::ExportFailed)
        .unwrap_or_else(|| panic!("no export-failed: {all:#?}\n{}", d.log_text()));
    assert!(
        !all.iter().any(|e| e.kind == EntryKind::ExportCompleted),
        "the export was completed"
    );
    failed.payload["reason"].as_str().unwrap().to_owned()
}

#[test]
fn closing_a_case_stops_its_running_export() {
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in silent.incoming().flatten() {
            held.push(s);
        }
    });
    let extra = format!(
        "[[camera]]\nid = \"nvr1\"\nname = \"NVR voie 1\"\n\
         source = {{ kind = \"playback\", vendor = \"hikvision\", host = \"127.0.0.1\", port = {port} }}\n\n{EXPORT_SECTION}"
    );
    let d = start(&extra);
    let case = open_case(&d, &["nvr1"], true);
    let drive = tempfile::tempdir().unwrap();
    let cli = d
        .cli_command("case", "olivia")
        .args(["export", &case, "--to"])
        .arg(drive.path())
        .arg("--accept-drive")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let t = Instant::now();
    while !entries(&d)
        .iter()
        .any(|e| e.kind == EntryKind::ExportStarted)
    {
        assert!(t.elapsed() < Duration::from_secs(90), "{}", d.log_text());
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(300));
    let v = d.case_json("arthur", &["close", &case, "--reason", "ne pas exporter"]);
    assert_eq!(v["case"]["state"], "closed");

    let out = cli.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("closed during the export"), "{err}");
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("password"),
        "a password was shown"
    );
    let reason = failed_reason(&d);
    assert!(reason.contains("ne pas exporter"), "{reason}");
    assert!(files_under(drive.path()).is_empty());
    assert!(d.log_text().contains("export-stopped"), "{}", d.log_text());
}

#[test]
fn closing_a_case_before_the_operator_signs_abandons_the_verified_export() {
    let d = start(&format!("{}{}", segment_camera("cam1"), EXPORT_SECTION));
    let case = open_case(&d, &["cam1"], true);
    let drive = tempfile::tempdir().unwrap();

    let mut c = Client::connect(&d.socket).unwrap().with_known_sites(None);
    c.identify(Some("olivia"), &Signer::KeyFile(d.key("olivia")))
        .unwrap();
    let reply = c
        .request(
            Op::CaseExport,
            json!({ "case": case, "to": drive.path().display().to_string(),
                    "accept_drive": true }),
            &mut |_| {},
        )
        .unwrap();
    let Reply::Challenge {
        public_key,
        namespace,
        message,
        ..
    } = reply
    else {
        panic!("case-export answered {reply:?}");
    };
    assert!(!files_under(drive.path()).is_empty(), "nothing written");

    let v = d.case_json("arthur", &["close", &case, "--reason", "classé sans suite"]);
    assert_eq!(v["case"]["state"], "closed");

    let statement = base64::engine::general_purpose::STANDARD
        .decode(message)
        .unwrap();
    let signature = Signer::KeyFile(d.key("olivia"))
        .sign(&public_key, &namespace, &statement)
        .unwrap();
    let e = c
        .call(
            Op::CaseExport,
            json!({ "case": case, "signature": signature }),
        )
        .unwrap_err()
        .to_string();
    assert!(e.contains("is closed"), "{e}");
    assert!(!e.contains("password:"), "{e}");
    let left = files_under(drive.path());
    assert!(left.is_empty(), "{left:?}");
    let reason = failed_reason(&d);
    assert!(
        reason.contains("closed") && reason.contains("no password"),
        "{reason}"
    );
    // The register still verifies.
    let o = Command::new(BIN)
        .args(["register", "verify", "--db"])
        .arg(d.register_path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
}
