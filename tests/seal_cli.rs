//! `scelle seal`, `open`, `verify` as a user runs them: exit statuses (0, 1, 2, 3, 4), the
//! generated password shown once on stderr, refusal of weak passwords with what is missing,
//! no overwrite, partial output removed on failure, and the chunk named when one fails.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

const GOOD_PW: &str = "Quatre-vingt-dix-9!";
/// Cheapest key derivation the reader accepts, to keep the suite fast.
const KDF: [&str; 4] = ["--kdf-memory-mib", "8", "--kdf-passes", "1"];

fn scelle() -> Command {
    Command::cargo_bin("scelle").unwrap()
}

struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        let f = Fixture {
            dir: tempfile::tempdir().unwrap(),
        };
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 253) as u8).collect();
        std::fs::write(f.path("clip.mp4"), data).unwrap();
        std::fs::write(f.path("pw"), format!("{GOOD_PW}\n")).unwrap();
        f
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn seal(&self) -> String {
        let out = scelle()
            .args(["seal"])
            .arg(self.path("clip.mp4"))
            .arg("-o")
            .arg(self.path("clip.scelle"))
            .arg("--password-file")
            .arg(self.path("pw"))
            .args(KDF)
            .args(["--case-id", "2026-0042"])
            .assert()
            .success();
        let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
        stdout.split_whitespace().next().unwrap().to_owned()
    }
}

fn stderr_of(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stderr).into_owned()
}

fn sha256_of(path: &Path) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(std::fs::read(path).unwrap()))
}

#[test]
fn seal_open_verify_round_trip() {
    let f = Fixture::new();
    let hash = f.seal();
    assert_eq!(hash, sha256_of(&f.path("clip.scelle")));
    let a = scelle()
        .arg("open")
        .arg(f.path("clip.scelle"))
        .arg("-o")
        .arg(f.path("out.mp4"))
        .arg("--password-file")
        .arg(f.path("pw"))
        .assert()
        .success();
    assert!(stderr_of(&a).contains("clip.mp4"), "{}", stderr_of(&a));
    assert!(stderr_of(&a).contains("case 2026-0042"));
    assert_eq!(
        std::fs::read(f.path("out.mp4")).unwrap(),
        std::fs::read(f.path("clip.mp4")).unwrap()
    );
    // Verify without the password: structure and the receipt hash.
    scelle()
        .arg("verify")
        .arg(f.path("clip.scelle"))
        .args(["--sha256", &hash])
        .assert()
        .success();
    // With it: everything authenticated.
    scelle()
        .arg("verify")
        .arg(f.path("clip.scelle"))
        .args(["--sha256", &hash])
        .arg("--password-file")
        .arg(f.path("pw"))
        .assert()
        .success();
    // To stdout.
    let a = scelle()
        .arg("open")
        .arg(f.path("clip.scelle"))
        .args(["-o", "-"])
        .arg("--password-file")
        .arg(f.path("pw"))
        .assert()
        .success();
    assert_eq!(
        a.get_output().stdout,
        std::fs::read(f.path("clip.mp4")).unwrap()
    );
}

#[test]
fn generated_password_is_shown_once_and_works() {
    let f = Fixture::new();
    let a = scelle()
        .arg("seal")
        .arg(f.path("clip.mp4"))
        .arg("-o")
        .arg(f.path("gen.scelle"))
        .args(KDF)
        .assert()
        .success();
    let err = stderr_of(&a);
    assert!(err.contains("different channel"), "{err}");
    let pw = err
        .lines()
        .map(str::trim)
        .find(|l| l.len() >= 20 && !l.contains(' '))
        .expect("password line")
        .to_owned();
    assert!(pw.chars().count() >= 20);
    assert!(!String::from_utf8_lossy(&a.get_output().stdout).contains(&pw));
    std::fs::write(f.path("genpw"), &pw).unwrap();
    scelle()
        .arg("verify")
        .arg(f.path("gen.scelle"))
        .arg("--password-file")
        .arg(f.path("genpw"))
        .assert()
        .success();
}

#[test]
fn weak_password_is_refused_saying_what_is_missing() {
    let f = Fixture::new();
    std::fs::write(f.path("weak"), "abcdefghij\n").unwrap();
    let a = scelle()
        .arg("seal")
        .arg(f.path("clip.mp4"))
        .arg("-o")
        .arg(f.path("weak.scelle"))
        .arg("--password-file")
        .arg(f.path("weak"))
        .args(KDF)
        .assert()
        .code(1);
    let err = stderr_of(&a);
    assert!(err.contains("at least 16 characters"), "{err}");
    assert!(err.contains("a digit"), "{err}");
    assert!(err.contains("a special character"), "{err}");
    assert!(!err.contains("a letter"), "{err}");
    assert!(!f.path("weak.scelle").exists());
}

#[test]
fn wrong_password_exits_3_and_leaves_nothing() {
    let f = Fixture::new();
    f.seal();
    std::fs::write(f.path("bad"), "Not-the-right-one-42\n").unwrap();
    let a = scelle()
        .arg("open")
        .arg(f.path("clip.scelle"))
        .arg("-o")
        .arg(f.path("out.mp4"))
        .arg("--password-file")
        .arg(f.path("bad"))
        .assert()
        .code(3);
    assert!(
        stderr_of(&a).contains("wrong password"),
        "{}",
        stderr_of(&a)
    );
    assert!(!f.path("out.mp4").exists());
    scelle()
        .arg("verify")
        .arg(f.path("clip.scelle"))
        .arg("--password-file")
        .arg(f.path("bad"))
        .assert()
        .code(3);
}

#[test]
fn damaged_chunk_exits_4_names_it_and_removes_partial_output() {
    let f = Fixture::new();
    let hash = f.seal();
    let mut bytes = std::fs::read(f.path("clip.scelle")).unwrap();
    // Chunk 2 of 64 KiB chunks (the header and metadata are well under 1 KiB).
    let pos = bytes.len() - 100;
    bytes[pos] ^= 1;
    std::fs::write(f.path("clip.scelle"), &bytes).unwrap();
    let a = scelle()
        .arg("open")
        .arg(f.path("clip.scelle"))
        .arg("-o")
        .arg(f.path("out.mp4"))
        .arg("--password-file")
        .arg(f.path("pw"))
        .assert()
        .code(4);
    assert!(
        stderr_of(&a).contains("chunk 3 failed authentication"),
        "{}",
        stderr_of(&a)
    );
    assert!(!f.path("out.mp4").exists(), "partial output left behind");
    // Without the password the structure is fine but the hash is not the receipt's.
    let a = scelle()
        .arg("verify")
        .arg(f.path("clip.scelle"))
        .args(["--sha256", &hash])
        .assert()
        .code(4);
    assert!(
        stderr_of(&a).contains("SHA-256 mismatch"),
        "{}",
        stderr_of(&a)
    );
    // Truncated: exit 4 and says so.
    std::fs::write(f.path("cut.scelle"), &bytes[..bytes.len() - 1000]).unwrap();
    let a = scelle()
        .arg("verify")
        .arg(f.path("cut.scelle"))
        .arg("--password-file")
        .arg(f.path("pw"))
        .assert()
        .code(4);
    assert!(stderr_of(&a).contains("chunk 3"), "{}", stderr_of(&a));
}

#[test]
fn never_overwrites_and_usage_errors_exit_2() {
    let f = Fixture::new();
    f.seal();
    std::fs::write(f.path("exists.mp4"), b"keep me").unwrap();
    let a = scelle()
        .arg("open")
        .arg(f.path("clip.scelle"))
        .arg("-o")
        .arg(f.path("exists.mp4"))
        .arg("--password-file")
        .arg(f.path("pw"))
        .assert()
        .code(1);
    assert!(stderr_of(&a).contains("refusing to overwrite"));
    assert_eq!(std::fs::read(f.path("exists.mp4")).unwrap(), b"keep me");
    // Sealing onto an existing file is refused too, and the file is kept.
    scelle()
        .arg("seal")
        .arg(f.path("clip.mp4"))
        .arg("-o")
        .arg(f.path("exists.mp4"))
        .arg("--password-file")
        .arg(f.path("pw"))
        .args(KDF)
        .assert()
        .code(1);
    assert_eq!(std::fs::read(f.path("exists.mp4")).unwrap(), b"keep me");
    scelle().args(["open"]).assert().code(2);
    scelle()
        .arg("verify")
        .arg(f.path("clip.scelle"))
        .args(["--sha256", "xyz"])
        .assert()
        .code(2);
    // Not a container at all.
    scelle()
        .arg("verify")
        .arg(f.path("clip.mp4"))
        .assert()
        .code(4);
}

/// Files in `dir` whose names start with a dot (the hidden temporary output).
fn hidden_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect()
}

#[test]
fn open_interrupted_leaves_nothing_under_the_final_name() {
    let f = Fixture::new();
    // A larger clip, so several chunks come before the stall.
    // Four read-ahead blocks (1 MiB each), half of them sent before the stall.
    let data: Vec<u8> = (0..4_000_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(f.path("clip.mp4"), data).unwrap();
    f.seal();
    let sealed = std::fs::read(f.path("clip.scelle")).unwrap();
    for (signal, code) in [("INT", 130), ("TERM", 143), ("HUP", 129)] {
        // The input is a pipe fed half the file, then stalled: open is mid-way.
        let fifo = f.path(&format!("in-{signal}.scelle"));
        assert!(
            std::process::Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .unwrap()
                .success()
        );
        let out = f.path(&format!("out-{signal}.mp4"));
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_scelle"))
            .arg("open")
            .arg(&fifo)
            .arg("-o")
            .arg(&out)
            .arg("--password-file")
            .arg(f.path("pw"))
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut w = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
        use std::io::Write;
        w.write_all(&sealed[..sealed.len() / 2]).unwrap();
        // Wait for the hidden temporary file (its plaintext is still in the write buffer or
        // on its way: open is decrypting what came through the pipe).
        let t = std::time::Instant::now();
        loop {
            let hidden = hidden_files(f.dir.path());
            if let Some(h) = hidden.first() {
                let meta = std::fs::metadata(f.path(h)).unwrap();
                use std::os::unix::fs::PermissionsExt;
                assert_eq!(meta.permissions().mode() & 0o777, 0o600);
                break;
            }
            assert!(t.elapsed().as_secs() < 30, "no temporary output appeared");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
        assert!(
            !out.exists(),
            "plaintext under the final name before the end"
        );
        std::process::Command::new("kill")
            .args([&format!("-{signal}"), &child.id().to_string()])
            .status()
            .unwrap();
        let o = child.wait_with_output().unwrap();
        drop(w);
        assert_eq!(o.status.code(), Some(code), "SIG{signal}");
        assert!(!out.exists(), "SIG{signal}: a file under the final name");
        assert_eq!(
            hidden_files(f.dir.path()),
            Vec::<String>::new(),
            "SIG{signal}"
        );
    }
    // Uninterrupted, the output appears under its name, mode 0600, and nothing hidden stays.
    scelle()
        .arg("open")
        .arg(f.path("clip.scelle"))
        .arg("-o")
        .arg(f.path("whole.mp4"))
        .arg("--password-file")
        .arg(f.path("pw"))
        .assert()
        .success();
    assert_eq!(
        std::fs::read(f.path("whole.mp4")).unwrap(),
        std::fs::read(f.path("clip.mp4")).unwrap()
    );
    assert_eq!(hidden_files(f.dir.path()), Vec::<String>::new());
}

#[test]
fn open_refuses_a_costly_header_before_any_work_and_verify_applies_the_layout() {
    let f = Fixture::new();
    f.seal();
    let mut bytes = std::fs::read(f.path("clip.scelle")).unwrap();
    // argon2_m at offset 12: 4 GiB, inside the format's bounds, above the default limit.
    bytes[12..16].copy_from_slice(&(4u32 * 1024 * 1024).to_le_bytes());
    bytes[16..20].copy_from_slice(&1u32.to_le_bytes());
    std::fs::write(f.path("costly.scelle"), &bytes).unwrap();
    let t = std::time::Instant::now();
    let a = scelle()
        .arg("open")
        .arg(f.path("costly.scelle"))
        .arg("-o")
        .arg(f.path("costly.mp4"))
        .arg("--password-file")
        .arg(f.path("pw"))
        .assert()
        .code(1);
    let err = stderr_of(&a);
    assert!(
        err.contains("4096 MiB") && err.contains("--max-kdf-memory-mib"),
        "{err}"
    );
    assert!(t.elapsed().as_secs() < 5, "the key derivation ran");
    assert!(!f.path("costly.mp4").exists());

    // A final chunk shorter than a tag is not a valid structure.
    let good = std::fs::read(f.path("clip.scelle")).unwrap();
    let header_and_meta = good.len() - (200_000 / 65536) * (65536 + 16) - (200_000 % 65536 + 16);
    let cut = header_and_meta + 3 * (65536 + 16) + 5;
    std::fs::write(f.path("short.scelle"), &good[..cut]).unwrap();
    scelle()
        .arg("verify")
        .arg(f.path("short.scelle"))
        .assert()
        .code(4);
}
