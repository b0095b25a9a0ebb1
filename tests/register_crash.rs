//! Crash safety: processes appending in a loop are SIGKILLed many times, at random moments,
//! sometimes two at once; after each kill the register opens, verifies, and never holds a
//! half-written entry.
//!
//! The appending process is this test binary re-invoked on the ignored test
//! `crash_child_append_loop`, which does nothing unless `SCELLE_CRASH_DB` is set.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use rand::Rng;
use scelle::register::{EntryKind, NewEntry, Register, SiteKey};
use serde_json::json;

#[test]
#[ignore = "helper process of sigkill_while_appending_never_breaks_the_register"]
fn crash_child_append_loop() {
    let (Some(db), Some(key)) = (
        std::env::var_os("SCELLE_CRASH_DB"),
        std::env::var_os("SCELLE_CRASH_KEY"),
    ) else {
        return;
    };
    let reg = Register::open(Path::new(&db)).unwrap();
    let site = SiteKey::load_or_create(Path::new(&key)).unwrap();
    // Big payloads so that one entry spans several database pages.
    let filler = "x".repeat(6000);
    for i in 0u64.. {
        if i % 5 == 4 {
            reg.checkpoint(&site).unwrap();
        } else {
            reg.append(NewEntry::new(
                EntryKind::ConfigChanged,
                Some("crash"),
                "scelle",
                json!({"pid": std::process::id(), "i": i, "filler": filler}),
            ))
            .unwrap();
        }
    }
}

fn spawn_child(db: &Path, key: &Path) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "crash_child_append_loop",
            "--test-threads=1",
            "--quiet",
        ])
        .env("SCELLE_CRASH_DB", db)
        .env("SCELLE_CRASH_KEY", key)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

#[test]
fn sigkill_while_appending_never_breaks_the_register() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("register.db");
    let key = dir.path().join("site_key");
    SiteKey::load_or_create(&key).unwrap();
    drop(Register::open(&db).unwrap());
    let mut rng = rand::thread_rng();
    let mut last_seq = 0;
    let rounds: u32 = 40;
    for round in 0..rounds {
        let mut children = vec![spawn_child(&db, &key)];
        if round % 4 == 3 {
            children.push(spawn_child(&db, &key));
        }
        std::thread::sleep(Duration::from_millis(rng.gen_range(40..250)));
        for mut c in children {
            c.kill().unwrap(); // SIGKILL
            c.wait().unwrap();
        }
        // What a restarting daemon does: open (recovering the WAL), verify, append.
        let reg = Register::open(&db).unwrap();
        let report = reg
            .verify(None)
            .unwrap_or_else(|e| panic!("round {round}: {e}"));
        assert!(report.head.seq >= last_seq, "round {round}: entries lost");
        last_seq = report.head.seq;
        for e in reg.entries(Some("crash")).unwrap().iter().rev().take(3) {
            if e.kind == EntryKind::ConfigChanged {
                assert_eq!(e.payload["filler"].as_str().map(str::len), Some(6000));
            }
        }
    }
    // The children appended something in most rounds.
    assert!(
        last_seq > u64::from(rounds),
        "only {last_seq} entries appended"
    );
    // And the CLI agrees, on the live file and on a backup.
    let out = Command::new(env!("CARGO_BIN_EXE_scelle"))
        .args(["register", "verify", "--db", db.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
