//! `scelle demo` end to end: the README's first command runs the whole job on its embedded
//! defaults, exits 0, and what it prints is true — the files it names open with the password it
//! shows once, the register it names verifies, and no plaintext MP4 lies outside the recorder.

mod e2e_support;

use std::process::Command;

use e2e_support::{BIN, scan};

#[test]
fn the_demo_exports_verifies_and_tells_where_everything_is() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("site");
    let out = Command::new(BIN)
        .args(["demo", "--keep"])
        .arg(&root)
        .env("TMPDIR", dir.path())
        .env_remove("SSH_AUTH_SOCK")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("Everything verified"), "{stdout}");

    // The password is the line after its heading; it opens the export.
    let lines: Vec<&str> = stdout.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.starts_with("Password of this export"))
        .unwrap();
    let password = lines[at + 1].trim();
    assert!(password.len() >= 16, "{password}");
    let folder = root.join("drive").join("DEMO-2026-0001");
    assert!(stdout.contains(&folder.display().to_string()), "{stdout}");
    let sealed = folder.join("cam1_20260115T140000Z_20260115T140040Z.mp4.scelle");
    for f in [&sealed, &folder.join("manifest.json.scelle")] {
        assert!(f.is_file(), "{}", f.display());
    }
    let pw = dir.path().join("pw");
    std::fs::write(&pw, password).unwrap();
    let open = Command::new(BIN)
        .arg("open")
        .arg(&sealed)
        .arg("-o")
        .arg(dir.path().join("clip.mp4"))
        .arg("--password-file")
        .arg(&pw)
        .output()
        .unwrap();
    assert!(
        open.status.success(),
        "{}",
        String::from_utf8_lossy(&open.stderr)
    );
    let probe = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0", "-count_packets"])
        .args(["-show_entries", "stream=nb_read_packets", "-of", "csv=p=0"])
        .arg(dir.path().join("clip.mp4"))
        .output()
        .unwrap();
    // 30 s of 25 fps footage (14:00:20–14:00:30 is missing from the recorder).
    assert_eq!(String::from_utf8_lossy(&probe.stdout).trim(), "750");
    std::fs::remove_file(dir.path().join("clip.mp4")).unwrap();

    // The register it names verifies, with the `scelle register verify` it prints.
    let db = root.join("state").join("register.sqlite");
    assert!(
        stdout.contains(&format!("register verify --db {}", db.display())),
        "{stdout}"
    );
    let verify = Command::new(BIN)
        .args(["register", "verify", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );

    // No plaintext anywhere but the recorder's own footage.
    let found = scan::scan(&[dir.path()], &[&root.join("recorder")]);
    assert!(found.is_empty(), "{found:?}");

    // --keep refuses a folder that is not empty.
    let again = Command::new(BIN)
        .args(["demo", "--keep"])
        .arg(&root)
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(2));
}
