//! End to end, "no plaintext" (ENC-2): during and after an export, and after the daemon is
//! SIGKILLed at random points of one, no MP4 signature (`ftyp`) lies in the state directory,
//! the daemon's own TMPDIR or the destination outside sealed containers; the register still
//! verifies, and the next start records the interrupted export.
//!
//! The camera is a segment folder (the demo footage, written into the test's "recorder"),
//! so the runs need no network peer and stay fast; the RTSP sources feed the same pipeline.
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "tests say what they skip"
)]

mod e2e_support;

use std::time::{Duration, Instant};

use e2e_support::*;
use rand::Rng as _;

const EXPORT: &str =
    "[export]\nrequire_separate_drive = false\nkdf_memory_mib = 8\nkdf_passes = 1\n";

fn segment_site() -> Site {
    // The recorder lives in the site's media folder, which the scanner allows (it is the
    // source footage, not an export).
    let site = Site::new(EXPORT, "");
    let recorder = site.media.join("recorder");
    scelle::demo::footage::write(&recorder).unwrap();
    let cameras = format!(
        "[[camera]]\nid = \"cam1\"\nname = \"Entrée\"\nsource = {{ kind = \"segments\", root = \"{}\" }}\n",
        recorder.display()
    );
    let text = std::fs::read_to_string(&site.config).unwrap();
    std::fs::write(&site.config, format!("{text}\n{cameras}")).unwrap();
    site
}

const RANGE: &str = "2026-01-15T14:00:00Z/2026-01-15T14:00:40Z";

/// Every `export-started` has an outcome entry with the same export id.
fn every_export_has_an_outcome(site: &Site) -> (usize, usize) {
    let entries = site.entries(None);
    let id = |e: &serde_json::Value| {
        e["payload"]["export_id"]
            .as_str()
            .or_else(|| e["payload"]["record"]["export_id"].as_str())
            .map(str::to_owned)
    };
    let started: Vec<String> = entries
        .iter()
        .filter(|e| e["kind"] == "export-started")
        .filter_map(id)
        .collect();
    let mut interrupted = 0;
    for s in &started {
        let outcome = entries.iter().find(|e| {
            matches!(
                e["kind"].as_str(),
                Some("export-completed" | "export-failed" | "export-interrupted")
            ) && id(e).as_deref() == Some(s.as_str())
        });
        let outcome = outcome.unwrap_or_else(|| panic!("export {s} has no outcome entry"));
        if outcome["kind"] == "export-interrupted" {
            interrupted += 1;
        }
    }
    (started.len(), interrupted)
}

#[test]
fn no_plaintext_during_and_after_an_export_nor_after_sigkill() {
    let mut site = segment_site();
    site.start();
    let case = site.authorized_case("INC-7", &["cam1"], &[RANGE.to_owned()]);

    // One whole export, scanned all along.
    let dest = site.drive.join("full");
    std::fs::create_dir_all(&dest).unwrap();
    let t = Instant::now();
    let (socket_site_key, case2, dest2) = (site.key(OPERATOR), case.clone(), dest.clone());
    let mut op = site.client(OPERATOR);
    let export = std::thread::spawn(move || export_with(&mut op, &socket_site_key, &case2, &dest2));
    let mut scans = 0;
    while !export.is_finished() {
        let found = plaintext(&site);
        assert!(found.is_empty(), "plaintext during the export: {found:?}");
        scans += 1;
    }
    let full = t.elapsed();
    export
        .join()
        .unwrap()
        .unwrap_or_else(|e| panic!("export: {e}\n{}", site.log_text()));
    assert!(plaintext(&site).is_empty(), "{:?}", plaintext(&site));
    eprintln!("whole export: {full:?}, {scans} scans during it");

    // The same export without a scanner competing for the CPU sets the time scale.
    let quiet = site.drive.join("quiet");
    std::fs::create_dir_all(&quiet).unwrap();
    let t = Instant::now();
    site.export(&case, &quiet).unwrap();
    let full = t.elapsed();
    eprintln!("whole export without scanning: {full:?}");

    // SIGKILL at random points of an export (from before its first entry to after its
    // read-back), then a restart: the sweep records it, the register still verifies.
    let runs = 20;
    let mut rng = rand::thread_rng();
    let mut killed_mid_way = 0;
    for run in 0..runs {
        let dest = site.drive.join(format!("run{run}"));
        std::fs::create_dir_all(&dest).unwrap();
        let (key, case2, dest2) = (site.key(OPERATOR), case.clone(), dest.clone());
        let mut op = site.client(OPERATOR);
        let export = std::thread::spawn(move || export_with(&mut op, &key, &case2, &dest2));
        let at = Duration::from_secs_f64(full.as_secs_f64() * rng.gen_range(0.0..1.1));
        std::thread::sleep(at);
        site.kill();
        let outcome = export.join().unwrap();
        if outcome.is_err() {
            killed_mid_way += 1;
        }
        let found = plaintext(&site);
        assert!(
            found.is_empty(),
            "run {run}: plaintext after SIGKILL at {at:?}: {found:?}"
        );
        site.verify_register();
        site.start();
        let (started, _) = every_export_has_an_outcome(&site);
        assert!(started >= 1);
        let found = plaintext(&site);
        assert!(
            found.is_empty(),
            "run {run}: plaintext after restart: {found:?}"
        );
    }
    let (started, interrupted) = every_export_has_an_outcome(&site);
    eprintln!(
        "{runs} SIGKILL runs: {killed_mid_way} exports cut, {started} started, {interrupted} recorded as interrupted"
    );
    assert!(killed_mid_way >= 1, "no run killed an export mid-way");
    assert!(interrupted >= 1, "no interrupted export recorded");
    site.verify_register();

    // And the case can still be exported afterwards.
    let dest = site.drive.join("after");
    std::fs::create_dir_all(&dest).unwrap();
    site.export(&case, &dest)
        .unwrap_or_else(|e| panic!("retry after the kills: {e}\n{}", site.log_text()));
    assert!(plaintext(&site).is_empty());
    site.terminate();
}
