//! Issue 7 through the real daemon and CLI: a case over the demo footage (one segment missing)
//! exported to a temporary folder; the sealed files open with `scelle open`, `ffprobe` reads
//! the MP4, the manifest opens, the register verifies and holds `export-started`,
//! `export-verified` and `export-completed` signed by the operator. Refusals: a case not
//! authorized, a drive not approved without `--accept-drive`, a weak password.

mod export_support;

use std::process::Command;

use export_support::*;
use scelle::register::EntryKind;
use serde_json::Value;

fn open_sealed(sealed: &std::path::Path, password_file: &std::path::Path, out: &std::path::Path) {
    let o = Command::new(BIN)
        .arg("open")
        .arg(sealed)
        .arg("-o")
        .arg(out)
        .arg("--password-file")
        .arg(password_file)
        .output()
        .unwrap();
    assert!(o.status.success(), "scelle open: {}", stderr(&o));
}

#[test]
fn export_refusals_then_success_with_signed_register() {
    let extra = format!("{}{}", segment_camera("cam1"), EXPORT_SECTION);
    let d = start(&extra);
    let drive = tempfile::tempdir().unwrap();

    // Not authorized yet: refused before anything is written.
    let case = open_case(&d, &["cam1"], false);
    let o = export(&d, &case, drive.path(), &["--accept-drive"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("refused"), "{}", stderr(&o));
    d.case_json("arthur", &["approve", &case]);

    // A plain folder is no approved drive.
    let o = export(&d, &case, drive.path(), &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("not an approved"), "{}", stderr(&o));
    assert!(stderr(&o).contains("--accept-drive"), "{}", stderr(&o));

    // A weak password is refused (usage error).
    let weak = d.dir.path().join("weak.txt");
    std::fs::write(&weak, "motdepasse\n").unwrap();
    let o = export(
        &d,
        &case,
        drive.path(),
        &["--accept-drive", "--password-file", weak.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("password refused"), "{}", stderr(&o));
    assert!(files_under(drive.path()).is_empty());
    assert!(
        !entries(&d)
            .iter()
            .any(|e| e.kind == EntryKind::ExportStarted),
        "refusals must not start an export"
    );

    // The export.
    let o = d.case(
        "olivia",
        &[
            "--json",
            "export",
            &case,
            "--to",
            drive.path().to_str().unwrap(),
            "--accept-drive",
        ],
    );
    assert!(o.status.success(), "{}\n{}", stderr(&o), d.log_text());
    let result: Value = serde_json::from_slice(&o.stdout).unwrap();
    let password = result["password"].as_str().unwrap().to_owned();
    assert!(password.chars().count() >= 20);
    let record = &result["record"];
    assert_eq!(record["case_id"], case.as_str());
    assert_eq!(record["destination"]["accepted_by_operator"], true);

    let folder = drive.path().join("PV_2026_1234");
    let listed = files_under(&folder);
    let video = "cam1_20260115T140000Z_20260115T140040Z.mp4.scelle";
    for name in [video, "manifest.json.scelle", "LISEZMOI.txt", "README.txt"] {
        assert!(
            listed.iter().any(|f| f == name),
            "{name} missing from {listed:?}"
        );
    }
    assert!(
        !listed.iter().any(|f| f.ends_with(".partial")),
        "{listed:?}"
    );
    assert_no_plaintext(drive.path());
    assert_no_plaintext(&d.dir.path().join("state"));

    // The record tells what is in the file: 30 s of the 40 s asked, the hole reported.
    let file = &record["files"][0];
    assert_eq!(file["file"]["name"], video);
    let covered = file["covered_seconds"].as_f64().unwrap();
    assert!((25.0..=35.0).contains(&covered), "covered {covered}");
    assert!(!file["gaps"].as_array().unwrap().is_empty(), "{file}");
    let frames = file["frames"].as_u64().unwrap();
    assert!(frames > 0);

    // SHA-256 as the recipient checks it.
    let sums = Command::new("sha256sum")
        .arg("-c")
        .arg("SHA256SUMS.txt")
        .current_dir(&folder)
        .output()
        .unwrap();
    assert!(
        sums.status.success(),
        "{}",
        String::from_utf8_lossy(&sums.stdout)
    );
    let readme = std::fs::read_to_string(folder.join("LISEZMOI.txt")).unwrap();
    assert!(readme.contains("sha256sum") && readme.contains("scelle open"));
    assert!(!readme.contains("Martin") && !readme.contains(&case));

    // Open with the password: ffprobe reads the MP4; the manifest is the record.
    let pw = d.dir.path().join("pw.txt");
    std::fs::write(&pw, format!("{password}\n")).unwrap();
    let work = tempfile::tempdir().unwrap();
    let mp4 = work.path().join("cam1.mp4");
    open_sealed(&folder.join(video), &pw, &mp4);
    let probe = Command::new("ffprobe")
        .args(["-v", "error", "-count_frames", "-select_streams", "v:0"])
        .args([
            "-show_entries",
            "stream=codec_name,nb_read_frames",
            "-of",
            "json",
        ])
        .arg(&mp4)
        .output()
        .unwrap();
    assert!(
        probe.status.success(),
        "{}",
        String::from_utf8_lossy(&probe.stderr)
    );
    let probe: Value = serde_json::from_slice(&probe.stdout).unwrap();
    let read: u64 = probe["streams"][0]["nb_read_frames"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(read, frames, "ffprobe frames vs record");
    let manifest = work.path().join("manifest.json");
    open_sealed(&folder.join("manifest.json.scelle"), &pw, &manifest);
    let m: Value = serde_json::from_slice(&std::fs::read(&manifest).unwrap()).unwrap();
    assert_eq!(m["export_id"], record["export_id"]);
    assert_eq!(m["files"][0]["file"]["sha256"], file["file"]["sha256"]);

    // The register verifies and holds the export, signed by the operator.
    let reg = scelle::register::Register::open_read_only(&d.register_path()).unwrap();
    reg.verify(None).unwrap();
    let all = reg.entries(Some(&case)).unwrap();
    let kinds: Vec<EntryKind> = all.iter().map(|e| e.kind).collect();
    for k in [
        EntryKind::ExportStarted,
        EntryKind::ExportVerified,
        EntryKind::ExportCompleted,
    ] {
        assert!(kinds.contains(&k), "{k:?} missing: {kinds:?}");
    }
    let completed = all
        .iter()
        .find(|e| e.kind == EntryKind::ExportCompleted)
        .unwrap();
    assert_eq!(completed.actor, "olivia");
    // The operator's own signature, then the site key's seal.
    assert_eq!(completed.signatures.len(), 2);
    assert_eq!(completed.signatures[0].person, "olivia");
    assert_eq!(completed.signatures[1].person, "scelle");
    let verified = all
        .iter()
        .find(|e| e.kind == EntryKind::ExportVerified)
        .unwrap();
    assert_eq!(
        completed.payload["verified_entry"].as_str().unwrap(),
        hex::encode(verified.hash)
    );
    let text = serde_json::to_string(&all).unwrap();
    assert!(
        !text.contains(&password),
        "the password reached the register"
    );
    assert!(
        !d.log_text().contains(&password),
        "the password reached the log"
    );

    // Exporting again to the same folder would overwrite: refused.
    let o = export(&d, &case, drive.path(), &["--accept-drive"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("already exists"), "{}", stderr(&o));

    // For people: plain progress lines (no terminal), the summary table, the password once.
    let drive2 = tempfile::tempdir().unwrap();
    let o = export(&d, &case, drive2.path(), &["--accept-drive"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    let err = stderr(&o);
    assert!(err.contains("cam1") && err.contains("verified"), "{err}");
    assert!(
        out.contains(video) && out.contains("manifest.json.scelle"),
        "{out}"
    );
    assert!(
        out.contains("shown once") && out.contains("another channel"),
        "{out}"
    );

    // On a terminal (util-linux `script` gives it one): progress bars, same ending.
    let drive3 = tempfile::tempdir().unwrap();
    let cmd = format!(
        "{BIN} case --socket {} --as olivia -i {} --yes export {case} --to {} --accept-drive",
        d.socket.display(),
        d.key("olivia").display(),
        drive3.path().display()
    );
    let o = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .env_remove("SSH_AUTH_SOCK")
        .output()
        .unwrap();
    let tty = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{tty}");
    assert!(tty.contains("ETA") && tty.contains("shown once"), "{tty}");
}
