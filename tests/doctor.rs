//! `scelle doctor` on a real site laid out by `scelle demo --keep`: it passes there, and each
//! thing a technician can get wrong turns into a FAIL line that says what to do, with exit 1:
//! a register edited behind the daemon's back (real `sqlite3`), a camera that does not answer
//! (a closed loopback port), a group-writable configuration, an empty people list.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_scelle");

fn doctor(config: &Path) -> Output {
    Command::new(BIN)
        .args(["doctor", "--camera-timeout", "5", "--config"])
        .arg(config)
        .output()
        .unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn doctor_passes_on_the_demo_site_and_names_each_failure() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("site");
    let demo = Command::new(BIN)
        .args(["demo", "--keep"])
        .arg(&root)
        .env("TMPDIR", dir.path())
        .env_remove("SSH_AUTH_SOCK")
        .output()
        .unwrap();
    assert!(demo.status.success(), "{}", text(&demo));
    let config = root.join("scelle.toml");
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o640)).unwrap();

    let ok = doctor(&config);
    let t = text(&ok);
    assert!(ok.status.success(), "{t}");
    assert!(t.contains("[ ok ] register:"), "{t}");
    assert!(t.contains("[ ok ] camera cam1:"), "{t}");
    assert!(t.contains("doctor: all checks passed"), "{t}");

    // A camera nobody answers for: a loopback port just closed.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let base = std::fs::read_to_string(&config).unwrap();
    let with_dead_camera = format!(
        "{base}\n[[camera]]\nid = \"mort\"\nname = \"Caméra débranchée\"\nsource = {{ kind = \"onvif\", device_url = \"http://127.0.0.1:{port}/onvif/device_service\" }}\n"
    );
    let dead = root.join("dead.toml");
    std::fs::write(&dead, with_dead_camera).unwrap();
    std::fs::set_permissions(&dead, std::fs::Permissions::from_mode(0o640)).unwrap();
    let out = doctor(&dead);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains("[FAIL] camera mort:"), "{t}");
    assert!(t.contains("-> check the address"), "{t}");

    // A group-writable configuration (anyone in the group could make himself authorizer).
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o664)).unwrap();
    let out = doctor(&config);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    // The configuration itself is refused (StrictModes, as the daemon does), saying why.
    assert!(t.contains("[FAIL] configuration:"), "{t}");
    assert!(t.contains("writable by group or others"), "{t}");
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o640)).unwrap();

    // The register edited with sqlite3 behind the daemon's back.
    let db = root.join("state").join("register.sqlite");
    let edit = Command::new("sqlite3")
        .arg(&db)
        .arg(
            "DROP TRIGGER entries_append_only_update; \
             UPDATE entries SET actor = 'quelquun' WHERE seq = (SELECT MAX(seq) FROM entries);",
        )
        .output()
        .unwrap();
    assert!(edit.status.success(), "{}", text(&edit));
    let out = doctor(&config);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains("[FAIL] register:"), "{t}");
    assert!(t.contains("recovery procedure"), "{t}");
}

#[test]
fn doctor_fails_clearly_on_a_fresh_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("scelle.toml");
    let template = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging/scelle.toml"),
    )
    .unwrap()
    .replace(
        "/var/lib/scelle",
        &dir.path().join("state").display().to_string(),
    )
    .replace(
        "/run/scelle/scelle.sock",
        &dir.path().join("s.sock").display().to_string(),
    );
    std::fs::write(&config, template).unwrap();
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o640)).unwrap();
    let out = doctor(&config);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains("[FAIL] people:"), "{t}");
    assert!(t.contains("[FAIL] cameras: no camera is configured"), "{t}");
    assert!(t.contains("[warn] daemon:"), "{t}");
    assert!(t.contains("2 check(s) failed"), "{t}");
}
