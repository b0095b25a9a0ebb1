//! End to end, issue 7's first "must show": GStreamer's RTSP servers through the daemon.
//!
//! Two cameras, one range each: `quai` is a `playback` camera with a custom URL template on
//! GStreamer's plain RTSP server, `hall` an `onvif` camera whose SOAP side (the test device in
//! `e2e_support/onvif_device.rs`) hands out GStreamer's ONVIF replay server's URI. The real
//! `scelle serve` exports the approved case through the real `scelle case export`; the files
//! open with `scelle open`, `ffprobe` finds the expected frames and start times, and the
//! register verifies and holds the signed entries.

mod e2e_support;

use std::path::{Path, PathBuf};

use e2e_support::peers::{Peer, free_port, make_clip};
use e2e_support::*;
use jiff::{SignedDuration, Timestamp};
use scelle_adapters::Codec;
use serde_json::Value;

/// The `[export]` section of the test sites: a plain folder is a destination, and the
/// password derivation is the cheapest readers accept (tests, not security).
pub const EXPORT: &str =
    "[export]\nrequire_separate_drive = false\nkdf_memory_mib = 8\nkdf_passes = 1\n";

fn sealed_mp4s(folder: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(folder)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(".mp4.scelle"))
        .collect();
    v.sort();
    v
}

#[test]
fn a_playback_camera_from_gstreamer_plain_server() {
    export_and_check(&["quai"]);
}

/// The whole "must show": both cameras in one case, one of them an ONVIF replay whose range
/// starts 2 s before the recording (a planned gap) and ends between two frames.
#[test]
fn two_cameras_from_gstreamer_plain_and_onvif_replay() {
    export_and_check(&["quai", "hall"]);
}

fn export_and_check(case_cameras: &[&str]) {
    let site_media = tempfile::tempdir().unwrap();
    let clip = make_clip(site_media.path(), Codec::H264, 12);
    let plain = Peer::start(free_port(), &[("h264", &clip)], &[]);
    let replay = Peer::start(free_port(), &[("h264", &clip)], &["--onvif"]);
    let device = onvif_device::OnvifDevice::start(&replay.url("h264"), 12);
    let cameras = format!(
        "[[camera]]\nid = \"quai\"\nname = \"Quai (lecture RTSP)\"\n\
         source = {{ kind = \"playback\", vendor = \"custom\", host = \"127.0.0.1\", port = {port}, \
         time_zone = \"UTC\", template = \"rtsp://{{host}}:{{port}}/h264?start={{start_unix}}&end={{end_unix}}\" }}\n\n\
         [[camera]]\nid = \"hall\"\nname = \"Hall (ONVIF)\"\n\
         source = {{ kind = \"onvif\", device_url = \"{url}\" }}\n",
        port = plain.port,
        url = device.url,
    );
    let mut site = Site::new(EXPORT, &cameras);
    site.start();

    // From 2 s before the replay recording to 6 s into it: the daemon asks the device from
    // the recording's first frame and reports the 2 s before as not recorded. The plain server
    // plays its file from the start for the range's length.
    let recording = device.recording_start();
    let start = (recording - SignedDuration::from_secs(2))
        .round(jiff::Unit::Second)
        .unwrap();
    let end = (recording + SignedDuration::from_secs(6))
        .round(jiff::Unit::Second)
        .unwrap();
    let range = format!("{start}/{end}");
    let case = site.authorized_case("PV 2026/77", case_cameras, &[range]);

    let dest = site.drive.join("usb");
    std::fs::create_dir_all(&dest).unwrap();
    let result = site
        .export(&case, &dest)
        .unwrap_or_else(|e| panic!("export: {e}\n{}", site.log_text()));
    assert_eq!(result["password"], PASSWORD);

    let folder = dest.join("PV_2026_77");
    let folder = if folder.exists() {
        folder
    } else {
        // Whatever the sanitizer made of the reference: the one folder in the destination.
        std::fs::read_dir(&dest)
            .unwrap()
            .flatten()
            .next()
            .unwrap()
            .path()
    };
    for name in ["manifest.json.scelle", "LISEZMOI.txt", "README.txt"] {
        assert!(
            folder.join(name).is_file(),
            "{name} in {}",
            folder.display()
        );
    }
    let files = sealed_mp4s(&folder);
    assert_eq!(files.len(), case_cameras.len(), "{files:?}");
    assert!(plaintext(&site).is_empty(), "{:?}", plaintext(&site));

    // The register: chain and signatures hold; the export's entries are there, signed.
    // The operator's signature is the entry's; the authorizer's is the approval statement's,
    // kept in the `case-authorized` payload (`signed_statement`, decision 0070).
    let report = site.verify_register();
    assert!(report.signatures >= 1, "{report:?}");
    let entries = site.entries(Some(&case));
    let approval = entries
        .iter()
        .find(|e| e["kind"] == "case-authorized")
        .unwrap();
    assert_eq!(
        approval["payload"]["signed_statement"]["namespace"],
        "scelle-approve"
    );
    let kinds: Vec<&str> = entries
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    for k in [
        "case-opened",
        "case-authorized",
        "export-started",
        "export-verified",
        "export-completed",
    ] {
        assert!(kinds.contains(&k), "{k} missing from {kinds:?}");
    }
    let completed = entries
        .iter()
        .find(|e| e["kind"] == "export-completed")
        .unwrap();
    assert_eq!(completed["actor"], OPERATOR);
    let signers: Vec<&str> = completed["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["person"].as_str().unwrap())
        .collect();
    assert_eq!(
        signers,
        [OPERATOR, "scelle"],
        "the operator, then the site key's seal: {completed}"
    );
    let record = &completed["payload"]["record"];
    let recorded: Vec<&Value> = record["files"].as_array().unwrap().iter().collect();
    assert_eq!(recorded.len(), case_cameras.len());

    // Each file: structure and authenticity, then opened and probed by ffprobe.
    for file in &files {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let rec = recorded
            .iter()
            .find(|f| f["file"]["name"] == name.as_str())
            .unwrap_or_else(|| panic!("{name} not in the record"));
        let sha = rec["file"]["sha256"].as_str().unwrap();
        let v = site.scelle(&[
            "verify",
            file.to_str().unwrap(),
            "--sha256",
            sha,
            "--password-file",
            site.password_file.to_str().unwrap(),
        ]);
        assert!(v.status.success(), "{}", text(&v));

        let camera = rec["camera"].as_str().unwrap();
        let probe = ffprobe_sealed(&site, file);
        let stream = &probe["streams"][0];
        assert_eq!(stream["codec_name"], "h264", "{probe}");
        let frames: u64 = stream["nb_read_packets"].as_str().unwrap().parse().unwrap();
        assert_eq!(frames, rec["frames"].as_u64().unwrap(), "{name}: {probe}");
        // quai: the whole 8 s range at 25 fps; hall: the 6 s the recording holds of it.
        // On hall the range's end is rounded to the second (±0.5 s) and mapped to the device's
        // clock through an offset known to ±0.5 s (the device reports whole seconds): ±1 s.
        let (expected, slack) = if camera == "hall" {
            (150, 26)
        } else {
            (200, 10)
        };
        assert!(
            frames.abs_diff(expected) <= slack,
            "{name}: {frames} frames, about {expected} expected"
        );
        let covered: Timestamp = rec["covered"][0]["start"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        // The file says when it starts on the device's clock (ONVIF export: creation time =
        // first frame). The replay device's clock reads 1900 (GStreamer's replay epoch), which
        // MP4 cannot hold (1904 epoch): only the plain camera's file carries it here; the
        // record maps the ONVIF one onto the server's clock through the measured offset.
        if camera != "hall" {
            let created: Timestamp = probe["format"]["tags"]["creation_time"]
                .as_str()
                .unwrap_or_else(|| panic!("{name}: no creation_time: {probe}"))
                .parse()
                .unwrap();
            assert!(
                created.duration_since(covered).abs() <= SignedDuration::from_secs(1),
                "{name}: file starts {created}, record says {covered}"
            );
        } else {
            assert!(
                rec["clock_offset"]["offset_ms"].as_i64().unwrap() < 0,
                "{rec}"
            );
            assert!(rec["start_from_device"].as_bool().unwrap(), "{rec}");
            // The 2 s before the recording: a planned gap, stated like coverage on the
            // server's clock (the file's events carry it on the device's, 1900 here).
            let gap = &rec["gaps"][0];
            assert_eq!(gap["reason"], "not-recorded", "{rec}");
            let gap_start: Timestamp = gap["start"].as_str().unwrap().parse().unwrap();
            let gap_end: Timestamp = gap["end"].as_str().unwrap().parse().unwrap();
            assert_eq!(gap_start, start, "{rec}");
            assert!(
                gap_end.duration_since(recording).abs() <= SignedDuration::from_secs(1),
                "{name}: gap until {gap_end}, the recording starts at {recording}"
            );
        }
        let from = if camera == "hall" { recording } else { start };
        assert!(
            covered.duration_since(from).abs() <= SignedDuration::from_secs(2),
            "{name}: covered from {covered}, expected about {from}"
        );
    }
    site.terminate();
    drop(site_media);
}
