//! The systemd unit passes `systemd-analyze verify` and its offline security review rates
//! the exposure "OK" or better.

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
    assert!(score < 2.0, "exposure {score} regressed: {verdict}");
}
