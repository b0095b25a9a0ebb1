//! The systemd unit passes `systemd-analyze verify` and its offline security review rates
//! the exposure "OK" or better (at most 1.5); the resource limits and the core-dump refusal
//! of issue 15 are in force as systemd reads them (`systemd-analyze verify` refuses a bad
//! value, `security --offline` reads the sandbox back).
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "tests say what they skip"
)]

use std::process::Command;

const UNIT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/systemd/scelle.service");

fn have_systemd_analyze() -> bool {
    Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn the_unit_verifies() {
    if !have_systemd_analyze() {
        eprintln!("skipped: systemd-analyze is not installed (CI installs it)");
        return;
    }
    // verify checks that ExecStart's binary exists: point it at the one cargo built.
    let dir = tempfile::tempdir().unwrap();
    let unit = std::fs::read_to_string(UNIT)
        .unwrap()
        .replace("/usr/bin/scelle", env!("CARGO_BIN_EXE_scelle"));
    let path = dir.path().join("scelle.service");
    std::fs::write(&path, unit).unwrap();
    let out = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&path)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && text.trim().is_empty(), "{text}");
}

#[test]
fn the_unit_exposure_is_ok_or_better() {
    if !have_systemd_analyze() {
        eprintln!("skipped: systemd-analyze is not installed (CI installs it)");
        return;
    }
    let out = Command::new("systemd-analyze")
        .args(["security", "--offline=true", "--no-pager"])
        .arg(UNIT)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let verdict = text
        .lines()
        .find(|l| l.contains("Overall exposure level"))
        .unwrap_or_else(|| panic!("no verdict in:\n{text}"));
    eprintln!("{verdict}");
    let score: f64 = verdict
        .split(':')
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|s| s.parse().ok())
        .unwrap();
    assert!(
        ["OK", "SAFE", "PERFECT"]
            .iter()
            .any(|w| verdict.contains(w)),
        "{verdict}"
    );
    assert!(score <= 1.5, "exposure {score} regressed: {verdict}");
    // The sandbox settings issue 15 relies on, as systemd reads them.
    for setting in [
        "PrivateDevices=",
        "UMask=",
        "NoNewPrivileges=",
        "ProtectSystem=",
    ] {
        let line = text
            .lines()
            .find(|l| l.contains(setting))
            .unwrap_or_else(|| panic!("{setting} not reviewed:\n{text}"));
        assert!(line.trim_start().starts_with('✓'), "{line}");
    }
}

/// The unit's value of `key` (the last assignment wins, as in systemd).
fn setting(unit: &str, key: &str) -> Option<String> {
    unit.lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix(key)?.strip_prefix('='))
        .map(|v| v.trim().to_owned())
}

fn bytes(v: &str) -> u64 {
    let (n, unit) = v.split_at(v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len()));
    let n: u64 = n.parse().unwrap();
    n * match unit {
        "" => 1,
        "K" => 1 << 10,
        "M" => 1 << 20,
        "G" => 1 << 30,
        u => panic!("unit {u}"),
    }
}

#[test]
fn the_unit_bounds_memory_tasks_and_core_dumps() {
    let unit = std::fs::read_to_string(UNIT).unwrap();
    assert_eq!(setting(&unit, "LimitCORE").as_deref(), Some("0"));
    let max = bytes(&setting(&unit, "MemoryMax").expect("MemoryMax="));
    let high = bytes(&setting(&unit, "MemoryHigh").expect("MemoryHigh="));
    // Two Argon2id runs at the largest kdf_memory_mib the configuration accepts fit below.
    assert!(high < max && high >= 2 * (1 << 30), "{high} {max}");
    let tasks: u64 = setting(&unit, "TasksMax").unwrap().parse().unwrap();
    assert!((128..=1024).contains(&tasks), "TasksMax={tasks}");
    assert_eq!(setting(&unit, "UMask").as_deref(), Some("0077"));
    assert_eq!(setting(&unit, "PrivateDevices").as_deref(), Some("yes"));
    if !have_systemd_analyze() {
        eprintln!("skipped the systemd read-back: systemd-analyze is not installed");
        return;
    }
    // systemd parses every value: a typo or a bad size would be reported here.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("scelle.service");
    std::fs::write(
        &path,
        unit.replace("/usr/bin/scelle", env!("CARGO_BIN_EXE_scelle")),
    )
    .unwrap();
    let out = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&path)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && text.trim().is_empty(), "{text}");
}
