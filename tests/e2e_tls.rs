//! End to end, encrypted links to cameras (ENC-5), issue 19's "must show": GStreamer's RTSP
//! server and the ONVIF SOAP double behind `stunnel`, with certificates made by openssl in the
//! test, exported through the real `scelle serve`:
//!
//! - RTSPS with the pinned certificate and with a CA file work, and the export record says so
//!   per camera; a wrong pin is refused with both fingerprints named;
//! - ONVIF over HTTPS (and its replay over RTSPS) with a pin or a CA file works; the probe shows
//!   the certificate and the line to paste, and flags a pin that differs; a device that hands
//!   out a plain `rtsp://` replay URI is refused;
//! - `scelle camera pin` records a certificate only when the operator's fingerprint matches, and
//!   refuses a changed certificate with both fingerprints;
//! - a `renforce` site refuses a plain camera at load, with line and column, and accepts it
//!   excepted with a reason, which the record repeats;
//! - Basic authentication over a plain link is refused, the password never leaving scelle, and
//!   allowed only with a reason; over TLS it needs none.

mod e2e_support;

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use e2e_support::certs::make_certs;
use e2e_support::peers::{Peer, free_port, make_clip};
use e2e_support::tls_front::Stunnel;
use e2e_support::*;
use scelle_adapters::Codec;
use serde_json::Value;

const EXPORT: &str =
    "[export]\nrequire_separate_drive = false\nkdf_memory_mib = 8\nkdf_passes = 1\n";

/// A playback camera on `port` (the plain GStreamer server's clip from its start).
fn playback(id: &str, port: u16, extra: &str) -> String {
    format!(
        "[[camera]]\nid = \"{id}\"\nname = \"Caméra {id}\"\n{extra}\n\
         source = {{ kind = \"playback\", vendor = \"custom\", host = \"127.0.0.1\", port = {port}, \
         time_zone = \"UTC\", template = \"rtsp://{{host}}:{{port}}/h264?start={{start_unix}}\" }}\n\n"
    )
}

/// Sets the site's level in its configuration.
fn set_level(site: &Site, level: &str) {
    let text = std::fs::read_to_string(&site.config).unwrap();
    let text = text.replacen(
        "time_zone = \"Europe/Paris\"\n",
        &format!("time_zone = \"Europe/Paris\"\nlevel = \"{level}\"\n"),
        1,
    );
    std::fs::write(&site.config, text).unwrap();
}

const RANGE: &str = "2026-01-15T14:00:00Z/2026-01-15T14:00:03Z";

/// The record's files of an export result, by camera.
fn files_by_camera(result: &Value) -> Vec<(String, Value)> {
    result["record"]["files"]
        .as_array()
        .unwrap_or_else(|| panic!("no record files in {result}"))
        .iter()
        .map(|f| (f["camera"].as_str().unwrap().to_owned(), f.clone()))
        .collect()
}

fn link_of<'a>(files: &'a [(String, Value)], camera: &str) -> &'a Value {
    &files
        .iter()
        .find(|(c, _)| c == camera)
        .unwrap_or_else(|| panic!("{camera} not in {files:?}"))
        .1["link"]
}

fn dest(site: &Site, name: &str) -> std::path::PathBuf {
    let d = site.drive.join(name);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn rtsps_pinned_and_ca_file_work_a_wrong_pin_is_refused_on_a_renforce_site() {
    let media = tempfile::tempdir().unwrap();
    let certs = make_certs(&media.path().join("tls"), "camera-quai");
    let clip = make_clip(media.path(), Codec::H264, 5);
    let peer = Peer::start(free_port(), &[("h264", &clip)], &[]);
    let front = Stunnel::start(&certs, peer.port);
    let wrong = format!("sha256:{}", "ab".repeat(32));
    let cameras = [
        playback(
            "epingle",
            front.port,
            &format!("tls = {{ pin = \"{}\" }}", certs.fingerprint),
        ),
        playback(
            "autorite",
            front.port,
            &format!("tls = {{ ca_file = \"{}\" }}", certs.ca.display()),
        ),
        playback(
            "faux",
            front.port,
            &format!("tls = {{ pin = \"{wrong}\" }}"),
        ),
        playback(
            "clair",
            peer.port,
            "allow_unencrypted = \"caméra ancienne sans TLS, réseau isolé\"",
        ),
    ]
    .concat();
    let mut site = Site::new(EXPORT, &cameras);
    set_level(&site, "renforce");
    site.start();

    let case = site.authorized_case(
        "PV TLS 1",
        &["epingle", "autorite", "clair"],
        &[RANGE.to_owned()],
    );
    let result = site
        .export(&case, &dest(&site, "ok"))
        .unwrap_or_else(|e| panic!("export: {e}\n{}", site.log_text()));
    let files = files_by_camera(&result);
    assert_eq!(files.len(), 3, "{result}");
    for (camera, f) in &files {
        assert!(f["frames"].as_u64().unwrap() >= 25, "{camera}: {f}");
    }
    let pinned = link_of(&files, "epingle");
    assert_eq!(pinned["transport"], "tls", "{pinned}");
    assert_eq!(pinned["encrypted"], true, "{pinned}");
    assert_eq!(pinned["pin"], certs.fingerprint.as_str(), "{pinned}");
    let ca = link_of(&files, "autorite");
    assert_eq!(ca["encrypted"], true, "{ca}");
    assert_eq!(ca["ca_file"], certs.ca.display().to_string(), "{ca}");
    let plain = link_of(&files, "clair");
    assert_eq!(plain["encrypted"], false, "{plain}");
    assert_eq!(
        plain["unencrypted_reason"], "caméra ancienne sans TLS, réseau isolé",
        "{plain}"
    );
    // The same facts are in the signed register entry.
    let completed = site
        .entries(Some(&case))
        .into_iter()
        .find(|e| e["kind"] == "export-completed")
        .unwrap();
    let recorded = files_by_camera(&completed["payload"]);
    assert_eq!(link_of(&recorded, "epingle"), pinned);
    // The CNIL register report says, per camera, how its link was secured.
    let csv = std::process::Command::new(e2e_support::BIN)
        .args(["register", "report", "--format", "csv", "--db"])
        .arg(site.register_path())
        .output()
        .unwrap();
    let csv_text = String::from_utf8_lossy(&csv.stdout);
    assert!(csv.status.success(), "{csv_text}");
    assert!(
        csv_text.contains(&format!(
            "liaison chiffrée (TLS, empreinte {}",
            certs.fingerprint
        )),
        "{csv_text}"
    );
    assert!(csv_text.contains("liaison NON chiffrée"), "{csv_text}");

    // A pin that is not the camera's certificate: refused, both fingerprints named.
    let case = site.authorized_case("PV TLS 2", &["faux"], &[RANGE.to_owned()]);
    let err = site
        .export(&case, &dest(&site, "faux"))
        .expect_err("a wrong pin must be refused")
        .to_string();
    assert!(
        err.contains(&certs.fingerprint) && err.contains(&wrong),
        "both fingerprints expected in: {err}"
    );
    assert!(
        site.kinds(Some(&case)).iter().any(|k| k == "export-failed"),
        "{:?}",
        site.kinds(Some(&case))
    );
    site.terminate();
}

#[test]
fn onvif_over_https_and_rtsps_with_a_pin_and_the_probe_shows_the_certificate() {
    let media = tempfile::tempdir().unwrap();
    let certs = make_certs(&media.path().join("tls"), "recorder-hall");
    let clip = make_clip(media.path(), Codec::H264, 8);
    let replay = Peer::start(free_port(), &[("h264", &clip)], &["--onvif"]);
    let replay_front = Stunnel::start(&certs, replay.port);
    let device = onvif_device::OnvifDevice::start(
        &format!("rtsps://127.0.0.1:{}/h264", replay_front.port),
        8,
    );
    let device_port: u16 = url::Url::parse(&device.url).unwrap().port().unwrap();
    let soap_front = Stunnel::start(&certs, device_port);
    let wrong = format!("sha256:{}", "cd".repeat(32));
    // A second device, also behind HTTPS, that hands out a plain rtsp:// replay URI.
    let downgrading = onvif_device::OnvifDevice::start(&replay.url("h264"), 8);
    let downgrading_port: u16 = url::Url::parse(&downgrading.url).unwrap().port().unwrap();
    let downgrading_front = Stunnel::start(&certs, downgrading_port);
    let onvif = |id: &str, tls: &str, port: u16| {
        format!(
            "[[camera]]\nid = \"{id}\"\nname = \"Hall {id}\"\ntls = {tls}\n\
             source = {{ kind = \"onvif\", device_url = \"https://127.0.0.1:{port}/onvif/device_service\" }}\n\n"
        )
    };
    let pin = |fp: &str| format!("{{ pin = \"{fp}\" }}");
    let cameras = [
        onvif("hall", &pin(&certs.fingerprint), soap_front.port),
        onvif("hall-faux", &pin(&wrong), soap_front.port),
        onvif(
            "hall-ca",
            &format!("{{ ca_file = \"{}\" }}", certs.ca.display()),
            soap_front.port,
        ),
        onvif(
            "hall-clair",
            &pin(&certs.fingerprint),
            downgrading_front.port,
        ),
    ]
    .concat();
    let mut site = Site::new(EXPORT, &cameras);
    set_level(&site, "premium");
    site.start();

    let probe = |camera: &str| -> Value {
        let out = site.scelle(&[
            "camera",
            "probe",
            camera,
            "--json",
            "--socket",
            site.socket.to_str().unwrap(),
            "--as",
            OPERATOR,
            "-i",
            site.key(OPERATOR).to_str().unwrap(),
        ]);
        serde_json::from_slice::<Value>(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", text(&out)))["probe"]
            .clone()
    };
    let good = probe("hall");
    let cert = &good["certificate"]["ok"];
    assert_eq!(cert["fingerprint"], certs.fingerprint.as_str(), "{good}");
    assert_eq!(cert["status"], "matches", "{good}");
    assert!(
        cert["subject"].as_str().unwrap().contains("recorder-hall"),
        "{good}"
    );
    assert!(cert["not_after"].is_string(), "{good}");
    assert!(good["device"]["ok"].is_object(), "{good}");
    let bad = probe("hall-faux");
    assert_eq!(bad["certificate"]["ok"]["status"], "differs", "{bad}");
    assert_eq!(
        bad["certificate"]["ok"]["config_line"],
        format!("tls = {{ pin = \"{}\" }}", certs.fingerprint),
        "{bad}"
    );
    let refused = bad["device"]["error"].as_str().unwrap_or_default();
    assert!(
        refused.contains(&certs.fingerprint) && refused.contains(&wrong),
        "{bad}"
    );
    let ca = probe("hall-ca");
    assert!(ca["device"]["ok"].is_object(), "{ca}");
    assert_eq!(ca["certificate"]["ok"]["status"], "ca-file", "{ca}");

    // Two seconds into the recording, three seconds long.
    let start = device.recording_start() + jiff::SignedDuration::from_secs(2);
    let start = start.round(jiff::Unit::Second).unwrap();
    let range = format!("{start}/{}", start + jiff::SignedDuration::from_secs(3));
    let case = site.authorized_case("PV TLS ONVIF", &["hall"], &[range]);
    let result = site
        .export(&case, &dest(&site, "onvif"))
        .unwrap_or_else(|e| panic!("export: {e}\n{}", site.log_text()));
    let files = files_by_camera(&result);
    assert!(files[0].1["frames"].as_u64().unwrap() >= 50, "{result}");
    let link = link_of(&files, "hall");
    assert_eq!(link["encrypted"], true, "{link}");
    assert_eq!(link["pin"], certs.fingerprint.as_str(), "{link}");

    // A device reached over HTTPS that hands out a plain rtsp:// replay URI: the footage would
    // cross the network in clear, so the export is refused.
    let start = downgrading.recording_start() + jiff::SignedDuration::from_secs(2);
    let start = start.round(jiff::Unit::Second).unwrap();
    let range = format!("{start}/{}", start + jiff::SignedDuration::from_secs(3));
    let case = site.authorized_case("PV TLS DOWNGRADE", &["hall-clair"], &[range]);
    let err = site
        .export(&case, &dest(&site, "downgrade"))
        .expect_err("a plain replay URI must be refused")
        .to_string();
    assert!(err.contains("unencrypted replay URI"), "{err}");
    site.terminate();
}

#[test]
fn pin_records_a_confirmed_certificate_and_refuses_a_changed_one() {
    let media = tempfile::tempdir().unwrap();
    let first = make_certs(&media.path().join("first"), "camera-porte");
    let second = make_certs(&media.path().join("second"), "camera-porte");
    let clip = make_clip(media.path(), Codec::H264, 4);
    let peer = Peer::start(free_port(), &[("h264", &clip)], &[]);
    let mut front = Stunnel::start(&first, peer.port);
    let port = front.port;
    let mut site = Site::new(EXPORT, &playback("porte", port, ""));
    let config = site.config.to_str().unwrap().to_owned();
    let pin = |site: &Site, fp: Option<&str>| {
        let mut args = vec!["camera", "pin", "porte", "--config", config.as_str()];
        if let Some(fp) = fp {
            args.extend(["--fingerprint", fp]);
        }
        site.scelle(&args)
    };

    // Without the operator's confirmation nothing is written; the certificate is shown.
    let before = std::fs::read_to_string(&site.config).unwrap();
    let out = pin(&site, None);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(text(&out).contains(&first.fingerprint), "{}", text(&out));
    assert!(text(&out).contains("CN=camera-porte"), "{}", text(&out));
    // A fingerprint read on the device that is not what the endpoint presents: refused.
    let out = pin(&site, Some(&second.fingerprint));
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains(&first.fingerprint) && text(&out).contains(&second.fingerprint),
        "{}",
        text(&out)
    );
    assert_eq!(std::fs::read_to_string(&site.config).unwrap(), before);

    // Confirmed (typed with colons and in capitals, as devices show it): recorded.
    let typed = first.fingerprint["sha256:".len()..]
        .to_uppercase()
        .as_bytes()
        .chunks(2)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join(":");
    let out = pin(&site, Some(&typed));
    assert!(out.status.success(), "{}", text(&out));
    let after = std::fs::read_to_string(&site.config).unwrap();
    assert!(
        after.contains(&format!("tls = {{ pin = \"{}\" }}", first.fingerprint)),
        "{after}"
    );
    assert!(pin(&site, None).status.success(), "already pinned");

    site.start();
    let case = site.authorized_case("PV PIN", &["porte"], &[RANGE.to_owned()]);
    site.export(&case, &dest(&site, "one"))
        .unwrap_or_else(|e| panic!("export: {e}\n{}", site.log_text()));

    // The camera now presents another certificate at the same address: pin and export refuse,
    // both naming the pinned and the presented fingerprints.
    front.stop();
    let _front = Stunnel::start_on(&second, peer.port, port);
    let out = pin(&site, Some(&second.fingerprint));
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains(&first.fingerprint) && text(&out).contains(&second.fingerprint),
        "{}",
        text(&out)
    );
    let err = site
        .export(&case, &dest(&site, "two"))
        .expect_err("a changed certificate must be refused")
        .to_string();
    assert!(
        err.contains(&first.fingerprint) && err.contains(&second.fingerprint),
        "{err}"
    );
    site.terminate();
}

#[test]
fn a_renforce_site_refuses_a_plain_camera_at_load_with_its_position() {
    let site = Site::new(EXPORT, &playback("clair", 554, ""));
    set_level(&site, "renforce");
    let out = site.scelle(&["serve", "--config", site.config.to_str().unwrap()]);
    assert!(!out.status.success(), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    let config = std::fs::read_to_string(&site.config).unwrap();
    let line = config
        .lines()
        .position(|l| l.starts_with("[[camera]]"))
        .unwrap()
        + 1;
    let at = format!("{}:{line}:1:", site.config.display());
    assert!(err.contains(&at), "expected {at} in: {err}");
    assert!(
        err.contains("clair") && err.contains("renforce") && err.contains("allow_unencrypted"),
        "{err}"
    );
    // Standard level: the same camera loads.
    let text = config.replace("level = \"renforce\"\n", "");
    scelle::config::Config::parse(Path::new("x.toml"), &text).unwrap();
}

#[test]
fn basic_over_a_plain_link_is_refused_unless_excepted_with_a_reason() {
    const SECRET: &str = "Basic-Secret-42";
    let media = tempfile::tempdir().unwrap();
    let clip = make_clip(media.path(), Codec::H264, 4);
    let peer = Peer::start(
        free_port(),
        &[("h264", &clip)],
        &["--auth", &format!("viewer:{SECRET}"), "--basic"],
    );
    let site0 = tempfile::tempdir().unwrap();
    let creds = site0.path().join("cameras");
    std::fs::write(&creds, format!("basique:viewer:{SECRET}\n")).unwrap();
    std::fs::set_permissions(&creds, std::fs::Permissions::from_mode(0o600)).unwrap();
    let creds_line = |id: &str| {
        format!(
            "credentials_file = \"{}\"\ncredentials_id = \"{id}\"",
            creds.display()
        )
    };
    let certs = make_certs(&media.path().join("tls"), "camera-basique");
    let front = Stunnel::start(&certs, peer.port);
    let cameras = [
        playback("basique", peer.port, &creds_line("basique")),
        playback(
            "basique-tls",
            front.port,
            &format!(
                "{}\ntls = {{ pin = \"{}\" }}",
                creds_line("basique"),
                certs.fingerprint
            ),
        ),
        playback(
            "basique-ok",
            peer.port,
            &format!(
                "{}\nallow_basic = \"enregistreur sur un câble direct\"",
                creds_line("basique")
            ),
        ),
    ]
    .concat();
    let mut site = Site::new(EXPORT, &cameras);
    site.start();

    let case = site.authorized_case("PV BASIC 1", &["basique"], &[RANGE.to_owned()]);
    let err = site
        .export(&case, &dest(&site, "refused"))
        .expect_err("Basic over a plain link must be refused")
        .to_string();
    assert!(
        err.contains("Basic") && err.contains("allow_basic"),
        "{err}"
    );
    assert!(!err.contains(SECRET), "{err}");

    let case = site.authorized_case("PV BASIC 2", &["basique-ok"], &[RANGE.to_owned()]);
    let result = site
        .export(&case, &dest(&site, "allowed"))
        .unwrap_or_else(|e| panic!("export: {e}\n{}", site.log_text()));
    let files = files_by_camera(&result);
    let link = link_of(&files, "basique-ok");
    assert_eq!(
        link["basic_reason"], "enregistreur sur un câble direct",
        "{link}"
    );

    // Over TLS, Basic needs no exception.
    let case = site.authorized_case("PV BASIC 3", &["basique-tls"], &[RANGE.to_owned()]);
    let result = site
        .export(&case, &dest(&site, "tls"))
        .unwrap_or_else(|e| panic!("export: {e}\n{}", site.log_text()));
    let files = files_by_camera(&result);
    let link = link_of(&files, "basique-tls");
    assert_eq!(link["encrypted"], true, "{link}");
    assert!(link.get("basic_reason").is_none(), "{link}");
    site.terminate();
    assert!(
        !site.log_text().contains(SECRET),
        "the password reached the log"
    );
}
