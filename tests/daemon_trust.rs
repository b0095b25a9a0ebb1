//! The real daemon on a register it must not trust (issue 13): a restored older backup, a
//! deleted or broken register, a cut tail, a second daemon on the same state directory. Each
//! time `scelle serve` exits 1 before touching the register or the socket and says why; and the
//! first start seals a new register with a site key, every head goes to the security log, and
//! a stop writes a checkpoint.

mod daemon_support;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use daemon_support::{BIN, Daemon, serve_with};

const JSON: [&str; 2] = ["--log-format", "json"];

fn state(d: &Daemon) -> PathBuf {
    d.dir.path().join("state")
}

fn sqlite3(db: &Path, sql: &str) -> String {
    let out = Command::new("sqlite3").arg(db).arg(sql).output().unwrap();
    assert!(
        out.status.success(),
        "sqlite3 {sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn spawn(d: &Daemon) -> Child {
    serve_with(
        &d.config,
        &d.dir.path().join("notify.sock"),
        &d.log,
        None,
        &JSON,
    )
}

/// Starts the daemon again on the same state directory and waits for READY=1.
fn restart(d: &mut Daemon) {
    d.child = Some(spawn(d));
    // Datagrams the previous run left queued (WATCHDOG=1, STOPPING=1) come first.
    for _ in 0..1000 {
        if d.next_notification().contains("READY=1") {
            return;
        }
    }
    panic!("no READY=1: {}", d.log_text());
}

/// Starts the daemon again and expects it to refuse: exit status 1; returns what it wrote.
fn refused(d: &Daemon) -> String {
    let before = d.log_text().len();
    let mut child = spawn(d);
    let t = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "the daemon started: {}",
            d.log_text()
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let log = d.log_text()[before..].to_owned();
    assert_eq!(status.code(), Some(1), "{log}");
    assert!(
        !d.socket.exists(),
        "a refused daemon must not create the socket: {log}"
    );
    log
}

fn verify(db: &Path, extra: &[&str]) -> (i32, String) {
    let out = Command::new(BIN)
        .args(["register", "verify", "--db"])
        .arg(db)
        .args(extra)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn remove_register(dir: &Path) {
    for f in [
        "register.sqlite",
        "register.sqlite-wal",
        "register.sqlite-shm",
    ] {
        let _ = std::fs::remove_file(dir.join(f));
    }
}

#[test]
fn first_start_seals_a_new_register_logs_every_head_and_checkpoints_at_stop() {
    let mut d = Daemon::start_with_args(&JSON);
    let log = d.log_text();
    assert!(log.contains("\"event\":\"site-key-created\""), "{log}");
    assert!(log.contains("\"event\":\"register-created\""), "{log}");
    let key = state(&d).join("site-key");
    assert_eq!(
        std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let fingerprint = scelle::register::SiteKey::load_or_create(&key)
        .unwrap()
        .fingerprint();
    assert!(log.contains(&fingerprint), "{log}");
    let case = d.open_case("paul");
    let (st, _) = d.terminate();
    assert!(st.success());

    let db = d.register_path();
    let rows = sqlite3(&db, "SELECT seq, kind, actor FROM entries ORDER BY seq");
    let kinds: Vec<&str> = rows.lines().map(|l| l.split('|').nth(1).unwrap()).collect();
    assert_eq!(kinds.first(), Some(&"config-changed"), "{rows}");
    assert_eq!(kinds.last(), Some(&"checkpoint"), "{rows}");
    assert!(
        kinds.contains(&"people-changed") && kinds.contains(&"case-opened"),
        "{rows}"
    );
    // The configuration in force is recorded (its SHA-256, never its text).
    let recorded = sqlite3(
        &db,
        "SELECT count(*) FROM entries WHERE kind = 'config-changed'
         AND json_extract(payload, '$.config_sha256') IS NOT NULL",
    );
    assert_eq!(recorded.trim(), "1");
    assert!(!rows.is_empty() && case.starts_with("20"));

    // Pinned to the site key, with the daemon's own log as the witness of every head.
    let (code, out) = verify(
        &db,
        &[
            "--site-key",
            &fingerprint,
            "--witness",
            d.log.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{out}");
    let heads = d.log_text().matches("\"event\":\"register-head\"").count();
    assert!(
        heads >= rows.lines().count() - 1,
        "{heads} heads logged for {rows}"
    );

    // The head file holds the last head.
    let head = std::fs::read_to_string(state(&d).join("register.head")).unwrap();
    let last = rows.lines().count();
    assert!(head.starts_with(&format!("{last}:")), "{head}");

    // Started again: nothing new but the start's own config check (unchanged: no entry).
    restart(&mut d);
    d.terminate();
    assert_eq!(
        d.register_len() as usize,
        last,
        "an unchanged restart appends nothing"
    );
}

#[test]
fn a_second_daemon_on_the_same_state_directory_is_refused() {
    let d = Daemon::start();
    let pid = d.child.as_ref().unwrap().id();
    let inode = std::fs::metadata(&d.socket).unwrap().ino();
    let before = d.log_text().len();
    let mut second = serve_with(
        &d.config,
        &d.dir.path().join("other-notify.sock"),
        &d.log,
        None,
        &[],
    );
    let t = Instant::now();
    let status = loop {
        if let Some(st) = second.try_wait().unwrap() {
            break st;
        }
        assert!(t.elapsed() < Duration::from_secs(20), "second daemon runs");
        std::thread::sleep(Duration::from_millis(20));
    };
    let log = d.log_text()[before..].to_owned();
    assert_eq!(status.code(), Some(1), "{log}");
    assert!(log.contains(&format!("pid {pid}")), "{log}");
    // The first one still owns its socket and answers.
    assert_eq!(std::fs::metadata(&d.socket).unwrap().ino(), inode);
    d.case_json("paul", &["list"]);
}

#[test]
fn an_older_backup_restored_is_refused_and_fails_the_witness() {
    let mut d = Daemon::start_with_args(&JSON);
    d.open_case("paul");
    d.terminate();
    let dir = state(&d);
    let backup = d.dir.path().join("backup.sqlite");
    let out = Command::new(BIN)
        .args(["register", "backup", "--db"])
        .arg(d.register_path())
        .arg("--to")
        .arg(&backup)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    restart(&mut d);
    let second = d.open_case("paul");
    d.terminate();

    // The administrator puts the older copy back: case `second` has vanished.
    remove_register(&dir);
    std::fs::copy(&backup, d.register_path()).unwrap();
    let log = refused(&d);
    assert!(
        log.contains("refusing to start") && log.contains("older copy") && log.contains("Recovery"),
        "{log}"
    );
    // The daemon's JSON log, kept by the journal or a SIEM, proves it.
    let (code, out) = verify(&d.register_path(), &["--witness", d.log.to_str().unwrap()]);
    assert_eq!(code, 4, "{out}");
    assert!(out.contains("the register ends at"), "{out}");
    assert!(!second.is_empty());
}

#[test]
fn a_deleted_register_is_refused_never_replaced() {
    let mut d = Daemon::start();
    d.open_case("paul");
    d.terminate();
    remove_register(&state(&d));
    let log = refused(&d);
    assert!(
        log.contains("is missing") && log.contains("Recovery"),
        "{log}"
    );
    assert!(!d.register_path().exists(), "no fresh register was made");
}

#[test]
fn a_broken_register_is_refused_naming_the_entry() {
    let mut d = Daemon::start();
    d.open_case("paul");
    d.terminate();
    let db = d.register_path();
    let seq = sqlite3(&db, "SELECT seq FROM entries WHERE kind = 'case-opened'");
    sqlite3(
        &db,
        &format!(
            "DROP TRIGGER entries_append_only_update;
             UPDATE entries SET actor = 'olivia' WHERE seq = {}",
            seq.trim()
        ),
    );
    let log = refused(&d);
    assert!(
        log.contains("does not verify") && log.contains(&format!("entry {}", seq.trim())),
        "{log}"
    );
}

#[test]
fn a_cut_tail_is_refused() {
    // Deleting the newest rows (here a case's closing and the stop checkpoint) would make a
    // closed case exportable again.
    let mut d = Daemon::start();
    let case = d.open_case("paul");
    d.case_json("paul", &["close", &case, "--reason", "demande retirée"]);
    d.terminate();
    let db = d.register_path();
    sqlite3(
        &db,
        "DROP TRIGGER entries_append_only_delete; DROP TRIGGER signatures_append_only_delete;
         DELETE FROM signatures WHERE seq >= (SELECT seq FROM entries WHERE kind = 'case-closed');
         DELETE FROM entries WHERE seq >= (SELECT seq FROM entries WHERE kind = 'case-closed');",
    );
    let log = refused(&d);
    assert!(log.contains("the register ends at"), "{log}");
}
