//! End to end, failures then retries: a destination that fills up (a tiny tmpfs mounted in a
//! user + mount namespace the daemon runs in), and a source killed mid-export (GStreamer's RTSP
//! server). Each fails cleanly — a register entry says what happened, no plaintext is left,
//! the register verifies — and a retry then succeeds.
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "tests say what they skip"
)]

mod e2e_support;

use std::time::Duration;

use e2e_support::peers::{Peer, free_port, make_clip};
use e2e_support::*;
use jiff::{SignedDuration, Timestamp};
use scelle_adapters::Codec;

/// `assumed_bitrate_kbps = 1`: the space estimate passes, so the disk really fills up.
const EXPORT: &str = "[export]\nrequire_separate_drive = false\nkdf_memory_mib = 8\nkdf_passes = 1\nassumed_bitrate_kbps = 1\n";

fn outcome_kinds(site: &Site, case: &str) -> Vec<String> {
    site.kinds(Some(case))
        .into_iter()
        .filter(|k| k.starts_with("export-"))
        .collect()
}

#[test]
fn a_full_destination_fails_cleanly_then_a_bigger_one_succeeds() {
    if let Err(why) = small_fs_possible() {
        eprintln!("SKIPPED: cannot mount a small filesystem without root here: {why}");
        return;
    }
    // Inside the namespace the test's uid is root: the daemon sees every caller as `root`.
    let mut site = Site::new_as("root", EXPORT, "");
    // One 10 s segment of noisy video: several MB, more than the tmpfs holds.
    let recorder = site.media.join("recorder");
    let segment = recorder.join("cam1/2026/01/15/14-00-00.mp4");
    std::fs::create_dir_all(segment.parent().unwrap()).unwrap();
    let st = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg("testsrc2=size=640x360:rate=25:duration=10,noise=alls=60:allf=t")
        .args([
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-g",
            "50",
            "-bf",
            "0",
        ])
        .args(["-pix_fmt", "yuv420p"])
        .arg(&segment)
        .status()
        .unwrap();
    assert!(st.success());
    let size = std::fs::metadata(&segment).unwrap().len();
    assert!(size > 4 << 20, "segment only {size} bytes");
    let text = std::fs::read_to_string(&site.config).unwrap();
    std::fs::write(
        &site.config,
        format!(
            "{text}\n[[camera]]\nid = \"cam1\"\nname = \"Entrée\"\n\
             source = {{ kind = \"segments\", root = \"{}\" }}\n",
            recorder.display()
        ),
    )
    .unwrap();
    let small = site.drive.join("small");
    std::fs::create_dir_all(&small).unwrap();
    // 3 MiB: above the daemon's minimum space estimate, below the sealed MP4's size.
    site.small_fs = Some((small.clone(), 3 << 10));
    site.start();
    let case = site.authorized_case(
        "INC-FULL",
        &["cam1"],
        &["2026-01-15T14:00:00Z/2026-01-15T14:00:10Z".to_owned()],
    );

    let err = site.export(&case, &small).unwrap_err();
    let message = err.to_string();
    eprintln!("disk full: {message}");
    assert!(
        message.to_lowercase().contains("space") || message.contains("full"),
        "{message}"
    );
    assert_eq!(
        outcome_kinds(&site, &case),
        ["export-started", "export-failed"]
    );
    let failed = site
        .entries(Some(&case))
        .into_iter()
        .find(|e| e["kind"] == "export-failed")
        .unwrap();
    eprintln!("export-failed payload: {}", failed["payload"]);
    assert!(
        !failed["payload"]["removed_files"]
            .as_array()
            .unwrap()
            .is_empty(),
        "the partial file is said removed: {failed}"
    );
    assert!(plaintext(&site).is_empty(), "{:?}", plaintext(&site));
    site.verify_register();

    // Retry on a destination with room (outside the tmpfs).
    let big = site.drive.join("big");
    std::fs::create_dir_all(&big).unwrap();
    site.export(&case, &big)
        .unwrap_or_else(|e| panic!("retry: {e}\n{}", site.log_text()));
    assert_eq!(
        outcome_kinds(&site, &case),
        [
            "export-started",
            "export-failed",
            "export-started",
            "export-verified",
            "export-completed"
        ]
    );
    assert!(plaintext(&site).is_empty());
    site.verify_register();
    site.terminate();
}

#[test]
fn a_source_killed_mid_export_fails_cleanly_then_a_retry_succeeds() {
    let mut site = Site::new(EXPORT, "");
    let clip = make_clip(&site.media, Codec::H264, 12);
    let port = free_port();
    let mut peer = Peer::start(port, &[("h264", &clip)], &[]);
    let text = std::fs::read_to_string(&site.config).unwrap();
    std::fs::write(
        &site.config,
        format!(
            "{text}\n[[camera]]\nid = \"quai\"\nname = \"Quai\"\n\
             source = {{ kind = \"playback\", vendor = \"custom\", host = \"127.0.0.1\", port = {port}, \
             time_zone = \"UTC\", template = \"rtsp://{{host}}:{{port}}/h264?start={{start_unix}}\" }}\n"
        ),
    )
    .unwrap();
    site.start();
    let start = Timestamp::now().round(jiff::Unit::Second).unwrap() - SignedDuration::from_secs(60);
    let range = format!("{start}/{}", start + SignedDuration::from_secs(8));
    let case = site.authorized_case("INC-SRC", &["quai"], &[range]);

    // The plain server plays in real time: 8 s of footage take 8 s; kill it after 2.
    let dest = site.drive.join("first");
    std::fs::create_dir_all(&dest).unwrap();
    let (key, case2, dest2) = (site.key(OPERATOR), case.clone(), dest.clone());
    let mut op = site.client(OPERATOR);
    let export = std::thread::spawn(move || export_with(&mut op, &key, &case2, &dest2));
    std::thread::sleep(Duration::from_secs(2));
    peer.kill();
    let first = export.join().unwrap();
    match &first {
        Err(e) => {
            eprintln!("source lost: {e}");
            assert_eq!(
                outcome_kinds(&site, &case),
                ["export-started", "export-failed"]
            );
        }
        Ok(result) => {
            // A source that vanishes may also end the file early with the rest reported as a
            // gap: complete, honest about what is missing.
            let gaps = result["record"]["files"][0]["gaps"].as_array().unwrap();
            assert!(!gaps.is_empty(), "source killed but no gap: {result}");
        }
    }
    assert!(plaintext(&site).is_empty(), "{:?}", plaintext(&site));
    site.verify_register();

    // The source is back: the retry completes.
    let _peer = Peer::start(port, &[("h264", &clip)], &[]);
    let dest = site.drive.join("retry");
    std::fs::create_dir_all(&dest).unwrap();
    let result = site
        .export(&case, &dest)
        .unwrap_or_else(|e| panic!("retry: {e}\n{}", site.log_text()));
    let frames = result["record"]["files"][0]["frames"].as_u64().unwrap();
    assert!((180..=220).contains(&frames), "{frames} frames for 8 s");
    assert!(plaintext(&site).is_empty());
    site.verify_register();
    site.terminate();
}
