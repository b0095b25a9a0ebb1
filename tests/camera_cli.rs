//! `scelle camera list` and `scelle camera probe` through the real daemon: a segment-folder
//! camera over the demo footage (three 10 s segments, 14:00:20 missing) and an ONVIF camera
//! whose device does not answer.

mod daemon_support;

use std::net::TcpListener;
use std::path::Path;

use daemon_support::Daemon;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

/// A loopback port nothing listens on.
fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

fn start() -> Daemon {
    let port = closed_port();
    let d = Daemon::start_with(&format!(
        "[[camera]]\nid = \"cam1\"\nname = \"Quai de chargement\"\n\
         source = {{ kind = \"segments\", root = \"{{dir}}/nvr\" }}\n\n\
         [[camera]]\nid = \"hall\"\nname = \"Hall\"\ncredentials_file = \"{{dir}}/cams.cred\"\n\
         source = {{ kind = \"onvif\", device_url = \"http://127.0.0.1:{port}/onvif/device_service\" }}\n"
    ));
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("demo/footage"),
        &d.dir.path().join("nvr"),
    );
    d
}

#[test]
fn list_shows_cameras_without_secrets() {
    let d = start();
    let out = d.camera("paul", &["list"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("cam1") && stdout.contains("Quai de chargement"),
        "{stdout}"
    );
    assert!(
        stdout.contains("segments") && stdout.contains("onvif"),
        "{stdout}"
    );
    assert!(
        stdout.contains("file:") && stdout.contains("cams.cred"),
        "{stdout}"
    );

    let out = d.camera("paul", &["--json", "list"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let cams = v["cameras"].as_array().unwrap();
    let hall = cams.iter().find(|c| c["id"] == "hall").unwrap();
    assert_eq!(hall["kind"], "onvif");
    assert!(hall["credentials"].as_str().unwrap().starts_with("file:"));
}

#[test]
fn a_case_naming_an_unknown_camera_is_refused_at_opening() {
    let d = start();
    let out = d.case(
        "paul",
        &[
            "open",
            "--ground",
            "incident",
            "--requester",
            "M. Petit",
            "--organisation",
            "Magasin",
            "--reference",
            "INC-9",
            "--recipient",
            "Assureur",
            "--purpose",
            "Vol",
            "--camera",
            "cam1",
            "--camera",
            "cam9",
            "--range",
            "2026-01-15T15:00/2026-01-15T15:01",
            "--emergency",
            "purge dans 1 h",
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("unknown camera `cam9`") && err.contains("cam1"),
        "{err}"
    );
    assert_eq!(
        d.register_len(),
        4,
        "nothing recorded but the format marker, the people list, the site identity and the configuration"
    );
}

#[test]
fn probe_plans_a_range_with_its_missing_segment() {
    let d = start();
    // Site time is Europe/Paris: 15:00 local is 14:00 UTC in January.
    let out = d.camera(
        "arthur",
        &[
            "probe",
            "cam1",
            "--from",
            "2026-01-15T15:00:00",
            "--to",
            "2026-01-15T15:00:50",
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("recorded 2026-01-15 15:00:00 CET (14:00:00 UTC)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("MISSING  2026-01-15 15:00:20 CET (14:00:20 UTC)"),
        "{stdout}"
    );
    // After the last segment (14:00:30–14:00:40) the range runs on to 14:00:50: missing too.
    assert!(
        stdout.contains("(14:00:40 UTC) → 2026-01-15 15:00:50 CET"),
        "{stdout}"
    );

    let out = d.camera(
        "arthur",
        &[
            "--json",
            "probe",
            "cam1",
            "--from",
            "2026-01-15T14:00:00Z",
            "--to",
            "2026-01-15T14:00:40Z",
        ],
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let plan = &v["probe"]["plan"]["ok"];
    assert_eq!(plan["missing"].as_array().unwrap().len(), 1, "{plan}");
    assert_eq!(plan["missing"][0]["start"], "2026-01-15T14:00:20Z");
    assert_eq!(plan["missing"][0]["end"], "2026-01-15T14:00:30Z");
    // A folder has no live clock: said so, not invented.
    let clock = v["probe"]["clock_offset"]["error"].as_str().unwrap();
    assert!(clock.contains("no live clock"), "{v}");
    assert_eq!(v["probe"]["device"]["ok"]["vendor"], "segment folder");
    // The whole folder: 14:00:00 to 14:00:40, in two spans around the missing segment.
    let rec = &v["probe"]["recordings"]["ok"][0];
    assert_eq!(rec["start"], "2026-01-15T14:00:00Z", "{rec}");
    assert_eq!(rec["end"], "2026-01-15T14:00:40Z", "{rec}");
    assert_eq!(rec["spans"].as_array().unwrap().len(), 2, "{rec}");
    assert_eq!(rec["status"], "3 segments");
}

#[test]
fn probe_of_an_unreachable_or_unknown_camera_says_why() {
    let d = start();
    // The credentials file is missing: the probe says so, naming the file, not a secret.
    let out = d.camera("paul", &["probe", "hall"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("UNKNOWN") && stdout.contains("cams.cred"),
        "{stdout}"
    );

    // With credentials, the device is simply not there.
    let cred = d.dir.path().join("cams.cred");
    std::fs::write(&cred, "hall:admin:s3cret-pass\n").unwrap();
    std::fs::set_permissions(&cred, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let out = d.camera("paul", &["probe", "hall"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("device   UNKNOWN"), "{stdout}");
    assert!(!stdout.contains("s3cret"), "{stdout}");
    assert!(!d.log_text().contains("s3cret"));

    let out = d.camera("paul", &["probe", "nope"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no camera `nope`"));
    let out = d.camera(
        "paul",
        &["probe", "cam1", "--from", "yesterday", "--to", "today"],
    );
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
