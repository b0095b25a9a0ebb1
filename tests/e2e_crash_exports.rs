//! Crash-safe exports (issue 22): the real daemon is SIGKILLed at random points of 20 exports
//! (short clips from a segment folder, so each export takes about a second). After each
//! restart, nothing is on the drive that the register does not list (the files of completed
//! exports, in their records), every interrupted export's removed files are listed in its
//! `export-interrupted` entry, and the same export command then succeeds. The seed is printed;
//! `CRASH_SEED=N` replays a run.
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "tests say what they skip"
)]

mod e2e_support;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use e2e_support::*;
use serde_json::Value;

const EXPORT: &str =
    "[export]\nrequire_separate_drive = false\nkdf_memory_mib = 8\nkdf_passes = 1\n";

/// Every file below `root`, relative, folders with a trailing `/`.
fn on_drive(root: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut stack = vec![root.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            if p.is_dir() {
                out.insert(format!("{rel}/"));
                stack.push(p);
            } else {
                out.insert(rel);
            }
        }
    }
    out
}

/// What the register says is on the drive: each completed export's folder, files, manifest and
/// texts.
fn listed(site: &Site, drive: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for e in site.entries(None) {
        if e["kind"] != "export-completed" {
            continue;
        }
        let record = &e["payload"]["record"];
        let folder = Path::new(record["destination"]["path"].as_str().unwrap());
        let Ok(rel) = folder.strip_prefix(drive) else {
            continue;
        };
        let rel = rel.to_string_lossy().into_owned();
        out.insert(format!("{rel}/"));
        let mut names: Vec<String> = record["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["file"]["name"].as_str().unwrap().to_owned())
            .collect();
        names.extend(scelle::export::journal::EXPORT_TEXTS.map(str::to_owned));
        for n in names {
            out.insert(format!("{rel}/{n}"));
        }
    }
    out
}

#[test]
fn sigkill_at_random_points_of_20_exports() {
    let media = tempfile::tempdir().unwrap();
    let day = media.path().join("nvr/cam1/2026/11/23");
    std::fs::create_dir_all(&day).unwrap();
    let st = Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=160x120:rate=25:duration=3",
        ])
        .args([
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-bf",
            "2",
            "-g",
            "25",
        ])
        .args(["-pix_fmt", "yuv420p"])
        .arg(day.join("08-00-00.mp4"))
        .status()
        .unwrap();
    assert!(st.success());
    let cameras = format!(
        "[[camera]]\nid = \"cam1\"\nname = \"Cam 1\"\nsource = {{ kind = \"segments\", root = \"{}\" }}\n",
        media.path().join("nvr").display()
    );
    let mut site = Site::new(EXPORT, &cameras);
    site.start();
    let range = "2026-11-23T08:00:00Z/2026-11-23T08:00:03Z".to_owned();

    // How long one export takes here: kills land anywhere in it.
    let case = site.authorized_case("MEASURE", &["cam1"], std::slice::from_ref(&range));
    let dest = site.drive.join("measure");
    std::fs::create_dir_all(&dest).unwrap();
    let t = Instant::now();
    site.export(&case, &dest).unwrap();
    let whole = t.elapsed().as_millis().max(50) as u64;

    let seed: u64 = std::env::var("CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| jiff::Timestamp::now().as_nanosecond() as u64);
    eprintln!("CRASH_SEED={seed} (one export takes {whole} ms)");
    let mut rng = seed | 1;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let drive = site.drive.join("usb");
    std::fs::create_dir_all(&drive).unwrap();
    let mut interrupted = 0;
    for round in 0..20 {
        let case = site.authorized_case(
            &format!("CRASH-{round}"),
            &["cam1"],
            std::slice::from_ref(&range),
        );
        let mut op = site.client(OPERATOR);
        let key = site.key(OPERATOR);
        let (c2, d2) = (case.clone(), drive.clone());
        let export = std::thread::spawn(move || export_with(&mut op, &key, &c2, &d2));
        std::thread::sleep(Duration::from_millis(next() % (whole + whole / 4)));
        site.kill();
        let outcome = export.join().unwrap();
        site.start();

        let kinds = site.kinds(Some(&case));
        let completed = kinds.iter().any(|k| k == "export-completed");
        // (The daemon may die after `export-completed` and before its answer reached us.)
        assert!(
            completed || outcome.is_err(),
            "round {round}: {kinds:?} {outcome:?}"
        );
        // What the CLI prints: what happened, and what to do next (issue 22).
        if let Err(e) = &outcome {
            let said = e.to_string();
            assert!(
                said.contains("the daemon stopped answering `case-export`")
                    && said.contains("systemctl start scelle")
                    && said.contains("run the same command again"),
                "round {round}: the client said: {said}"
            );
        }
        let have = on_drive(&drive);
        let want = listed(&site, &drive);
        assert_eq!(
            have,
            want,
            "round {round}: on the drive but not in the register, or the reverse ({kinds:?})\n{}",
            site.log_text()
        );
        if completed {
            continue;
        }
        interrupted += 1;
        // What was removed is said, and the same command now succeeds.
        if let Some(e) = site
            .entries(Some(&case))
            .into_iter()
            .find(|e| e["kind"] == "export-interrupted")
        {
            assert!(e["payload"]["removed_files"].is_array(), "{e}");
        }
        site.export(&case, &drive)
            .unwrap_or_else(|e| panic!("round {round}: retry: {e}\n{}", site.log_text()));
        assert_eq!(
            on_drive(&drive),
            listed(&site, &drive),
            "round {round}: after the retry"
        );
        let record: Value = site
            .entries(Some(&case))
            .into_iter()
            .find(|e| e["kind"] == "export-completed")
            .unwrap();
        assert_eq!(
            record["payload"]["record"]["files"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
    }
    eprintln!("{interrupted} of 20 exports were interrupted by SIGKILL");
    assert!(
        interrupted >= 5,
        "too few kills landed inside an export: {interrupted}"
    );
    site.verify_register();
    assert!(plaintext(&site).is_empty(), "{:?}", plaintext(&site));
}
