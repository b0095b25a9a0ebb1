//! The real daemon under systemd's notification protocol, its shutdown, and a second Unix
//! uid that is not in the people list.
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "tests say what they skip"
)]

mod daemon_support;

use std::process::Command;
use std::time::Duration;

use daemon_support::{BIN, Daemon, stderr};

#[test]
fn notifies_ready_then_feeds_the_watchdog_and_stops_cleanly_on_sigterm() {
    let mut d = Daemon::start();
    // READY=1 was the first datagram (checked by start); the watchdog follows.
    let mut watchdog = false;
    for _ in 0..10 {
        if d.next_notification().contains("WATCHDOG=1") {
            watchdog = true;
            break;
        }
    }
    assert!(watchdog, "no WATCHDOG=1\n{}", d.log_text());
    let listed = d.case_json("paul", &["list"]);
    assert_eq!(listed["cases"], serde_json::json!([]));

    let (status, took) = d.terminate();
    assert_eq!(status.code(), Some(0), "{}", d.log_text());
    assert!(took < Duration::from_secs(10), "took {took:?}");
    let mut stopping = false;
    while let Ok(n) = {
        d.notify
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let mut buf = [0u8; 512];
        d.notify.recv(&mut buf).map(|n| buf[..n].to_vec())
    } {
        stopping |= String::from_utf8_lossy(&n).contains("STOPPING=1");
    }
    assert!(stopping, "no STOPPING=1");
    assert!(!d.socket.exists(), "socket left behind");
}

#[test]
fn an_unknown_uid_is_refused_and_logged() {
    if !Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.starts_with(b"0\n"))
        .unwrap_or(false)
    {
        eprintln!("skipped: needs root to create and switch to a second uid");
        return;
    }
    let user = "scelle-stranger";
    if !Command::new("id")
        .arg(user)
        .output()
        .unwrap()
        .status
        .success()
    {
        let st = Command::new("useradd")
            .args([
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                user,
            ])
            .status()
            .unwrap();
        assert!(st.success(), "useradd failed");
    }
    let d = Daemon::start();
    let before = d.register_len();
    let out = Command::new("setpriv")
        .args([
            &format!("--reuid={user}"),
            &format!("--regid={user}"),
            // The socket is 0660, group root: the stranger is in the group, not the list.
            "--groups=0",
            BIN,
            "case",
            "--socket",
        ])
        .arg(&d.socket)
        .arg("list")
        .env_remove("SSH_AUTH_SOCK")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("not in this site's people list"),
        "stderr: {err}"
    );
    std::thread::sleep(Duration::from_millis(200));
    let log = d.log_text();
    assert!(
        log.lines()
            .any(|l| l.contains(&format!("account=\"{user}\"")) || l.contains(user)),
        "connection not logged:\n{log}"
    );
    assert!(log.contains("unknown-user"), "refusal not logged:\n{log}");
    assert_eq!(d.register_len(), before, "a refusal changed the register");
}

#[test]
fn a_shared_account_needs_the_right_key() {
    let d = Daemon::start();
    // paul names himself but signs with arthur's key: refused.
    let out = Command::new(BIN)
        .arg("case")
        .arg("--socket")
        .arg(&d.socket)
        .args(["--as", "paul", "-i"])
        .arg(d.key("arthur"))
        .arg("list")
        .env_remove("SSH_AUTH_SOCK")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("not the key listed"),
        "{}",
        stderr(&out)
    );
    // Without --as on a shared account: told to say who they are.
    let out = Command::new(BIN)
        .arg("case")
        .arg("--socket")
        .arg(&d.socket)
        .arg("list")
        .env_remove("SSH_AUTH_SOCK")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--as PERSON"), "{}", stderr(&out));
}

#[test]
fn a_bad_config_is_refused_at_start_with_its_position() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        "[site]\nname = \"x\"\ntime_zone = \"Europe/Paris\"\ncolour = \"blue\"\n",
    )
    .unwrap();
    let out = Command::new(BIN)
        .args(["serve", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("bad.toml:4:1"), "{err}");
    assert!(err.contains("unknown field `colour`"), "{err}");
}
