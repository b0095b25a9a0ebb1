//! Shutdown with work in flight: the first SIGTERM drains (the daemon keeps running while a
//! request is still being served), a second SIGTERM exits at once without waiting for it.
//!
//! The long-running request is a real one: `scelle case open` while another process (the real
//! `sqlite3` shell) holds the register's write lock, so the daemon's append waits on SQLite's
//! busy timeout (30 s), longer than the drain delay.

mod daemon_support;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use daemon_support::{Daemon, requisition_args};
use sha2::{Digest, Sha256};

/// Whether a file whose name contains `needle` exists anywhere under `dir`.
fn contains_file_named(dir: &std::path::Path, needle: &str) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries.flatten().any(|e| {
        let path = e.path();
        if path.is_dir() {
            contains_file_named(&path, needle)
        } else {
            let name = e.file_name().to_string_lossy().into_owned();
            name.contains(needle) && !name.ends_with(".tmp")
        }
    })
}

/// Sends `signal` to `pid` with the real `kill`.
fn kill(signal: &str, pid: u32) {
    let st = Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .unwrap();
    assert!(st.success());
}

#[test]
fn a_second_sigterm_exits_at_once_while_the_first_drains() {
    let mut d = Daemon::start();

    // Hold the register's write lock from another process.
    let mut lock = Command::new("sqlite3")
        .arg(d.register_path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("sqlite3 is installed (Debian package sqlite3)");
    let mut lock_in = lock.stdin.take().unwrap();
    writeln!(lock_in, "BEGIN EXCLUSIVE;\nSELECT 'locked';").unwrap();
    lock_in.flush().unwrap();
    let mut line = String::new();
    BufReader::new(lock.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "locked");

    // A case opening that needs the register: it waits on the lock.
    let request = d.dir.path().join("request.txt");
    std::fs::write(&request, "Réquisition n° 7").unwrap();
    let mut client = d
        .cli_command("case", "paul")
        .args(requisition_args(
            "PV 2026/7",
            "Enquête",
            &["entree"],
            "2026-11-20T10:00/2026-11-20T10:30",
            request.to_str().unwrap(),
        ))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the daemon is inside the request: it stores the written request (by its
    // SHA-256) right before the register append that the lock holds up.
    let digest = hex::encode(Sha256::digest(std::fs::read(&request).unwrap()));
    let seen = Instant::now();
    while !contains_file_named(&d.dir.path().join("state"), &digest) {
        assert!(
            seen.elapsed() < Duration::from_secs(30),
            "the daemon never stored the request\n{}",
            d.log_text()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        client.try_wait().unwrap().is_none(),
        "the case opening should still be waiting on the register lock\n{}",
        d.log_text()
    );

    let mut daemon = d.child.take().unwrap();
    let pid = daemon.id();
    kill("-TERM", pid);
    // First signal: stop accepting, drain. The request is still running, so it does not exit.
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        daemon.try_wait().unwrap().is_none(),
        "the daemon exited on the first SIGTERM although a request was running\n{}",
        d.log_text()
    );
    assert!(
        d.log_text().contains("shutdown requested"),
        "{}",
        d.log_text()
    );

    // Second signal: out at once, well before the drain delay or the lock would end it.
    let t = Instant::now();
    kill("-TERM", pid);
    let status = loop {
        if let Some(st) = daemon.try_wait().unwrap() {
            break st;
        }
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "the second SIGTERM did not stop the daemon\n{}",
            d.log_text()
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(1), "{}", d.log_text());
    assert!(
        d.log_text().contains("second signal: exiting at once"),
        "{}",
        d.log_text()
    );

    // The client learns that its request did not complete.
    let out = client.wait_with_output().unwrap();
    assert!(
        !out.status.success(),
        "the interrupted case opening succeeded"
    );

    drop(lock_in);
    let _ = lock.kill();
    let _ = lock.wait();
    // Nothing was appended while the lock was held.
    let r = scelle::register::Register::open_read_only(&d.register_path()).unwrap();
    assert!(r.entries(None).unwrap().iter().all(|e| e.case_id.is_none()));
}
