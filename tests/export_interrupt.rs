//! SIGTERM during an export: the daemon stops the pulls, removes the export's files (partial
//! ciphertext only; no plaintext anywhere), appends `export-interrupted`, answers the CLI with a
//! clear failure (exit 1) and still exits cleanly. The source is a recorder's playback URL on a
//! loopback port that accepts connections and never answers, so the pull is in flight when the
//! signal arrives.

mod export_support;

use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use export_support::*;
use scelle::register::EntryKind;

#[test]
fn sigterm_during_an_export_removes_its_files_and_records_it() {
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    // Accept and hold every connection, answer nothing.
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
    let mut d = start(&extra);
    let case = open_case(&d, &["nvr1"], true);
    let drive = tempfile::tempdir().unwrap();
    let cli = Command::new(BIN)
        .arg("case")
        .arg("--socket")
        .arg(&d.socket)
        .args(["--as", "olivia", "-i"])
        .arg(d.key("olivia"))
        .args(["export", &case, "--to"])
        .arg(drive.path())
        .arg("--accept-drive")
        .env_remove("SSH_AUTH_SOCK")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    // Wait for the export to start (after the clock probe times out), then stop the daemon.
    let t = Instant::now();
    while !entries(&d)
        .iter()
        .any(|e| e.kind == EntryKind::ExportStarted)
    {
        assert!(t.elapsed() < Duration::from_secs(60), "{}", d.log_text());
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(300));
    let (status, _) = d.terminate();
    assert!(status.success(), "{}", d.log_text());
    let out = cli.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("interrupted"), "{err}");

    let all = entries(&d);
    let interrupted = all
        .iter()
        .find(|e| e.kind == EntryKind::ExportInterrupted)
        .unwrap_or_else(|| panic!("no export-interrupted: {all:#?}\n{}", d.log_text()));
    let reason = interrupted.payload["reason"].as_str().unwrap();
    assert!(reason.contains("SIGTERM"), "{reason}");
    assert!(err.contains("SIGTERM"), "{err}");
    let left = files_under(drive.path());
    assert!(left.is_empty(), "{left:?}");
    assert_no_plaintext(&d.dir.path().join("state"));
    scelle::register::Register::open_read_only(&d.register_path())
        .unwrap()
        .verify(None)
        .unwrap();
    // Nothing left open: a restart adds no entry.
    let n = all.len();
    restart(&mut d);
    assert_eq!(entries(&d).len(), n);
}
