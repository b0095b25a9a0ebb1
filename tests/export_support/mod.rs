//! Test harness of the export tests: the real `scelle serve` on a temporary configuration
//! with cameras and an `[export]` section, and helpers to open and authorize a case over the
//! demo footage (`demo/footage/cam1`: 14:00:00–14:00:40 UTC on 2026-01-15, 14:00:20 missing).

#![allow(dead_code)]

#[path = "../daemon_support/mod.rs"]
mod daemon_support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

#[allow(unused_imports)]
pub use daemon_support::{
    BIN, Daemon, PEOPLE, config_text, keygen, requisition_args, serve, stderr,
};

/// The demo footage folder (the segment source's root).
pub fn footage() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("demo/footage")
}

/// A `[[camera]]` entry over the demo footage.
pub fn segment_camera(id: &str) -> String {
    format!(
        "[[camera]]\nid = \"{id}\"\nname = \"Caméra {id}\"\n\
         source = {{ kind = \"segments\", root = \"{}\", folder = \"cam1\" }}\n\n",
        footage().display()
    )
}

/// A `[[camera]]` entry for an ONVIF device nobody answers at (a closed loopback port).
pub fn dead_onvif_camera(id: &str) -> String {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    format!(
        "[[camera]]\nid = \"{id}\"\nname = \"Caméra {id}\"\n\
         source = {{ kind = \"onvif\", device_url = \"http://127.0.0.1:{port}/onvif/device_service\" }}\n\n"
    )
}

/// The `[export]` section of the tests: a plain directory is fine, cheap Argon2id.
pub const EXPORT_SECTION: &str = "[export]\nrequire_separate_drive = false\n\
    kdf_memory_mib = 8\nkdf_passes = 1\nassumed_bitrate_kbps = 2000\n\n";

/// Starts a daemon whose configuration is the test site plus `extra` (cameras, export),
/// without a watchdog, and with time for slow notifications.
pub fn start(extra: &str) -> Daemon {
    Daemon::start_on(extra, None, Duration::from_secs(30))
}

/// Rewrites the configuration with `extra` and makes the daemon reload it (SIGHUP).
pub fn reconfigure(d: &Daemon, extra: &str) {
    std::fs::write(&d.config, config_text(d.dir.path(), extra)).unwrap();
    let pid = d.child.as_ref().unwrap().id().to_string();
    Command::new("kill").args(["-HUP", &pid]).status().unwrap();
    let t = std::time::Instant::now();
    while !d.log_text().contains("configuration reloaded") {
        assert!(t.elapsed() < Duration::from_secs(20), "{}", d.log_text());
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Opens a requisition case on `cameras` over 14:00:00–14:00:40 UTC, with its written
/// request, as olivia; approves it as arthur when `approve`. Returns the case id.
pub fn open_case(d: &Daemon, cameras: &[&str], approve: bool) -> String {
    let request = d.dir.path().join("request.txt");
    std::fs::write(&request, "Réquisition n° 42").unwrap();
    let args = requisition_args(
        "PV 2026/1234",
        "Enquête",
        cameras,
        "2026-01-15T14:00:00Z/2026-01-15T14:00:40Z",
        request.to_str().unwrap(),
    );
    let v = d.case_json("olivia", &args);
    let id = v["case"]["id"].as_str().unwrap().to_owned();
    if approve {
        d.case_json("arthur", &["approve", &id]);
    }
    id
}

/// `scelle case export` as olivia.
pub fn export(d: &Daemon, case: &str, to: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["export", case, "--to", to.to_str().unwrap()];
    args.extend_from_slice(extra);
    d.case("olivia", &args)
}

/// Every register entry, through the read-only API.
pub fn entries(d: &Daemon) -> Vec<scelle::register::Entry> {
    let r = scelle::register::Register::open_read_only(&d.register_path()).unwrap();
    r.entries(None).unwrap()
}

/// Files under `dir`, recursively, as paths relative to it.
pub fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(p) = stack.pop() {
        for e in std::fs::read_dir(&p).into_iter().flatten().flatten() {
            let path = e.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path.strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    out.sort();
    out
}

/// No MP4 signature (`ftyp`) in any file under `dir`: plaintext never reached it.
pub fn assert_no_plaintext(dir: &Path) {
    let mut stack = vec![dir.to_owned()];
    while let Some(p) = stack.pop() {
        for e in std::fs::read_dir(&p).into_iter().flatten().flatten() {
            let path = e.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let bytes = std::fs::read(&path).unwrap_or_default();
                assert!(
                    !bytes.windows(4).any(|w| w == b"ftyp"),
                    "plaintext MP4 signature in {}",
                    path.display()
                );
            }
        }
    }
}

/// Stops the daemon (SIGTERM) and starts it again on the same configuration and state.
pub fn restart(d: &mut Daemon) {
    if d.child.is_some() {
        let (st, _) = d.terminate();
        assert!(st.success(), "{}", d.log_text());
    }
    let notify_path = d.dir.path().join("notify.sock");
    let child = serve(&d.config, &notify_path, &d.log, None);
    d.child = Some(child);
    // Notifications left from the previous run (STOPPING=1) come first.
    while !d.next_notification().contains("READY=1") {}
}
