//! Issue 16 in real browsers: an export made by the real daemon over the demo footage (H.264
//! 320x180, one segment missing), its `OUVRIR.html` opened from `file://` in headless Chromium
//! (Debian's `chromium`) and Firefox ESR (`firefox-esr`, WebDriver BiDi), driven by
//! `page/test/browser.mjs` (puppeteer-core, installed by `npm ci` in `page/test`, as `.ci/run`
//! does). Checked: the SHA-256 of every file shown as matching; the password typed; every chunk
//! authenticated; the saved MP4 identical to `scelle open`'s output; the video playing past 2 s
//! at the clip's width, then after a seek to the middle (a hole of the recording: playback goes
//! on after it); a wrong password, a flipped byte (the chunk named) and a cut file each with
//! their own message; an H.265 file told unplayable with the MP4 offered; markup in the manifest
//! shown as text; requests a tampered script would make stopped by the page's policy; not one
//! request other than the page itself. Screenshots of every step: `target/page-browser/` (look
//! at them after a change to the page).

mod export_support;

use std::path::{Path, PathBuf};
use std::process::Command;

use export_support::*;
use serde_json::Value;
use sha2::{Digest, Sha256};

const VIDEO: &str = "cam1_20260115T140000Z_20260115T140040Z.mp4.scelle";

/// `target/page-browser/`, next to the test binary's `target/<profile>/deps`.
fn screenshots() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let target = exe.ancestors().nth(3).unwrap().to_owned();
    let dir = target.join("page-browser");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn driver() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("page/test");
    assert!(
        dir.join("node_modules/puppeteer-core").exists(),
        "puppeteer-core is not installed: run `npm ci` in {} (.ci/run does)",
        dir.display()
    );
    dir.join("browser.mjs")
}

/// Runs one scenario of the driver; its JSON result.
fn drive(browser: &str, scenario: &str, folder: &Path, password: &str) -> Value {
    drive_with(browser, scenario, folder, password, &[])
}

fn drive_with(
    browser: &str,
    scenario: &str,
    folder: &Path,
    password: &str,
    extra: &[&str],
) -> Value {
    let executable = match browser {
        "firefox" => "/usr/bin/firefox-esr",
        _ => "/usr/bin/chromium",
    };
    assert!(
        Path::new(executable).exists(),
        "{executable} missing: apt-get install chromium firefox-esr (.ci/run does)"
    );
    let o = Command::new("node")
        .arg(driver())
        .arg(scenario)
        .args(["--browser", browser, "--executable", executable])
        .arg("--folder")
        .arg(folder)
        .args(["--password", password])
        .arg("--out")
        .arg(screenshots())
        .args(extra)
        .output()
        .expect("node (Node.js) runs the browser driver");
    let text = String::from_utf8_lossy(&o.stdout);
    let v: Value = serde_json::from_str(text.lines().last().unwrap_or(""))
        .unwrap_or_else(|e| panic!("driver output is not JSON ({e}):\n{text}\n{}", stderr(&o)));
    assert!(
        o.status.success() && v.get("error").is_none(),
        "{browser} {scenario}: {}\n{}",
        v["error"].as_str().unwrap_or(""),
        serde_json::to_string_pretty(&v).unwrap()
    );
    // No request but the page itself: no network, no neighbouring file. The watch is real: it
    // saw a control page's request first.
    assert_eq!(
        v["watchWorks"], true,
        "{browser}: the request watch saw nothing"
    );
    assert_eq!(v["requests"], Value::Array(vec![]), "{browser} {scenario}");
    v
}

/// An export of the demo footage through the daemon: the folder, its password and the SHA-256
/// of the video as `scelle open` decrypts it.
struct Made {
    _drive: tempfile::TempDir,
    folder: PathBuf,
    password: String,
    video_sha256: String,
}

fn export_demo() -> Made {
    let extra = format!("{}{}", segment_camera("cam1"), EXPORT_SECTION);
    let d = start(&extra);
    let drive = tempfile::tempdir().unwrap();
    let case = open_case(&d, &["cam1"], true);
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
    let folder = drive.path().join("PV_2026_1234");

    // The page is in the folder, as built into the binary.
    let page = std::fs::read_to_string(folder.join("OUVRIR.html")).unwrap();
    assert_eq!(page, scelle::export::page::html());
    let readme = std::fs::read_to_string(folder.join("LISEZMOI.txt")).unwrap();
    assert!(readme.find("OUVRIR.html").unwrap() < readme.find("scelle open").unwrap());

    let work = tempfile::tempdir().unwrap();
    let pw = work.path().join("pw");
    std::fs::write(&pw, format!("{password}\n")).unwrap();
    let mp4 = work.path().join("video.mp4");
    let o = Command::new(BIN)
        .arg("open")
        .arg(folder.join(VIDEO))
        .arg("-o")
        .arg(&mp4)
        .arg("--password-file")
        .arg(&pw)
        .output()
        .unwrap();
    assert!(o.status.success(), "scelle open: {}", stderr(&o));
    let video_sha256 = hex::encode(Sha256::digest(std::fs::read(&mp4).unwrap()));
    Made {
        _drive: drive,
        folder,
        password,
        video_sha256,
    }
}

fn check_opened(v: &Value, browser: &str, made: &Made) {
    let hashes = &v["hashes"];
    assert_eq!(hashes["kind"], "all-ok", "{browser}: {hashes}");
    for name in [VIDEO, "manifest.json.scelle"] {
        let row = hashes["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name)
            .unwrap_or_else(|| panic!("{name} not listed: {hashes}"));
        assert_eq!(row["status"], "ok", "{browser}: {row}");
    }
    assert_eq!(
        v["password"]["kind"], "keys",
        "{browser}: {}",
        v["password"]
    );
    // Hashing and key derivation ran in workers (the policy's `worker-src blob:` works).
    assert_eq!(
        v["workers"],
        serde_json::json!({ "sha256": "worker", "argon2": "worker" }),
        "{browser}"
    );
    let chunks = v["chunks"].as_array().unwrap();
    assert_eq!(chunks.len(), 1);
    assert_eq!(chunks[0]["kind"], "chunks-ok", "{browser}: {}", chunks[0]);
    assert_eq!(v["english"], "Sealed evidence: verify, decrypt, play");

    let play = &v["play"];
    assert_eq!(play["status"], "playing", "{browser}: {play}");
    assert!(play["currentTime"].as_f64().unwrap() > 2.0, "{play}");
    assert_eq!(play["videoWidth"], 320, "{browser}: {play}");
    assert_eq!(play["videoHeight"], 180, "{browser}: {play}");
    let seek = &v["seek"];
    let target = seek["target"].as_f64().unwrap();
    assert!(target > 5.0, "{seek}");
    assert!(
        seek["currentTime"].as_f64().unwrap() > target + 1.0,
        "{seek}"
    );
    assert_eq!(seek["paused"], false, "{seek}");
    // A script that tried to send something (a tampered page) is stopped by the policy itself.
    assert_eq!(
        v["blocked"],
        serde_json::json!(["connect-src", "img-src", "script-src-elem"]),
        "{browser}"
    );
    let _ = made;
}

/// A copy of the export folder with one bit flipped in chunk 1 of the video.
fn flipped_copy(folder: &Path) -> tempfile::TempDir {
    let damaged = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(folder).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), damaged.path().join(e.file_name())).unwrap();
    }
    let video = damaged.path().join(VIDEO);
    let mut bytes = std::fs::read(&video).unwrap();
    let metadata_len = u32::from_le_bytes(bytes[48..52].try_into().unwrap()) as usize;
    let at = 100 + metadata_len + (65536 + 16) + 1000;
    assert!(
        bytes.len() > at + 16,
        "the demo video has at least two chunks"
    );
    bytes[at] ^= 0x01;
    std::fs::write(&video, bytes).unwrap();
    damaged
}

/// The flipped byte: SHA-256 mismatch shown, the password still right, chunk 1 named.
fn check_damaged(v: &Value) {
    assert_eq!(v["hashes"]["kind"], "mismatch", "{}", v["hashes"]);
    assert_eq!(v["password"]["kind"], "keys", "{}", v["password"]);
    let chunk = &v["chunks"][0];
    assert_eq!(chunk["kind"], "chunk-damaged", "{chunk}");
    assert_eq!(chunk["chunk"], "1", "{chunk}");
    assert_ne!(
        chunk["text"], v["password"]["text"],
        "damage and a wrong password read differently"
    );
}

#[test]
fn chromium_verifies_decrypts_plays_and_tells_wrong_password_from_damage() {
    let made = export_demo();

    let v = drive("chromium", "open", &made.folder, &made.password);
    check_opened(&v, "chromium", &made);
    assert_eq!(v["picked"], "folder", "the folder picker was used");
    // The MP4 the page saved (File System Access path, chunk by chunk) is scelle open's.
    assert_eq!(v["save"], "saved", "{v}");
    assert_eq!(v["savedName"], VIDEO.trim_end_matches(".scelle"));
    assert_eq!(v["savedSha256"], made.video_sha256.as_str());
    // The fallback without that API (Firefox): a Blob download, the same bytes.
    assert_eq!(v["blobSha256"], made.video_sha256.as_str());
    // The policy forbids every request.
    let csp = v["csp"].as_str().unwrap();
    assert!(csp.starts_with("default-src 'none';") && csp.contains("connect-src 'none'"));

    // A wrong password: told as such, nothing else.
    let v = drive(
        "chromium",
        "wrong-password",
        &made.folder,
        "not the password",
    );
    assert_eq!(v["hashes"]["kind"], "all-ok");
    assert_eq!(v["password"]["kind"], "wrong-password", "{}", v["password"]);

    // One flipped byte in chunk 1 of the video: its SHA-256 differs (no password needed), the
    // password is still right, and chunk 1 is named as damaged.
    let damaged = flipped_copy(&made.folder);
    let v = drive("chromium", "damaged", damaged.path(), &made.password);
    check_damaged(&v);

    // The video cut after two full chunks (its last chunk removed): told as truncated.
    let cut = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(&made.folder).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), cut.path().join(e.file_name())).unwrap();
    }
    let video = cut.path().join(VIDEO);
    let bytes = std::fs::read(&video).unwrap();
    let metadata_len = u32::from_le_bytes(bytes[48..52].try_into().unwrap()) as usize;
    std::fs::write(&video, &bytes[..100 + metadata_len + 2 * (65536 + 16)]).unwrap();
    let v = drive("chromium", "damaged", cut.path(), &made.password);
    let chunk = &v["chunks"][0];
    assert_eq!(chunk["kind"], "truncated", "{chunk}");
}

/// `cmd` succeeds.
fn run(cmd: &mut Command) {
    let o = cmd.output().unwrap();
    assert!(o.status.success(), "{cmd:?}: {}", stderr(&o));
}

#[test]
fn chromium_says_it_cannot_play_h265_and_offers_the_mp4() {
    // The export's folder with an H.265 file added (ffmpeg's libx265, sealed by `scelle seal`
    // with the export's password) and listed in its re-sealed manifest and SHA256SUMS.txt.
    let made = export_demo();
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("export");
    std::fs::create_dir(&folder).unwrap();
    for e in std::fs::read_dir(&made.folder).unwrap() {
        let e = e.unwrap();
        if e.file_name() != "manifest.json.scelle" {
            std::fs::copy(e.path(), folder.join(e.file_name())).unwrap();
        }
    }
    let pw = dir.path().join("pw");
    std::fs::write(&pw, &made.password).unwrap();
    let hevc = dir.path().join("hevc.mp4");
    run(Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i"])
        .args([
            "testsrc=size=320x180:rate=25:duration=4",
            "-pix_fmt",
            "yuv420p",
            "-c:v",
            "libx265",
            "-tag:v",
            "hvc1",
            "-x265-params",
            "log-level=error",
            "-movflags",
            "frag_keyframe+empty_moov+default_base_moof",
        ])
        .arg(&hevc));
    let name = "cam2_20260115T140000Z_20260115T140040Z.mp4.scelle";
    let seal = |input: &Path, output: &Path| {
        run(Command::new(BIN)
            .arg("seal")
            .arg(input)
            .arg("-o")
            .arg(output)
            .arg("--password-file")
            .arg(&pw)
            .args(["--kdf-memory-mib", "8", "--kdf-passes", "1"]));
    };
    seal(&hevc, &folder.join(name));
    let sealed = std::fs::read(folder.join(name)).unwrap();
    let sha = hex::encode(Sha256::digest(&sealed));

    let manifest = dir.path().join("manifest.json");
    run(Command::new(BIN)
        .arg("open")
        .arg(made.folder.join("manifest.json.scelle"))
        .arg("-o")
        .arg(&manifest)
        .arg("--password-file")
        .arg(&pw));
    let mut record: Value = serde_json::from_slice(&std::fs::read(&manifest).unwrap()).unwrap();
    let mut h265 = record["files"][0].clone();
    h265["file"] = serde_json::json!({ "name": name, "size": sealed.len(), "sha256": sha });
    h265["camera"] = "cam2".into();
    h265["tracks"] = serde_json::json!(["H.265 320x180"]);
    record["files"].as_array_mut().unwrap().push(h265);
    // Markup in the manifest is shown as text, never run (and could not fetch anything).
    let hostile = "<img src=\"http://127.0.0.1:59999/x.png\" onerror=\"document.title='x'\">";
    record["case_reference"] = hostile.into();
    std::fs::remove_file(&manifest).unwrap();
    std::fs::write(&manifest, serde_json::to_vec(&record).unwrap()).unwrap();
    seal(&manifest, &folder.join("manifest.json.scelle"));
    let mut sums = String::new();
    for f in [VIDEO, name, "manifest.json.scelle"] {
        let bytes = std::fs::read(folder.join(f)).unwrap();
        sums.push_str(&format!("{}  {f}\n", hex::encode(Sha256::digest(&bytes))));
    }
    std::fs::write(folder.join("SHA256SUMS.txt"), sums).unwrap();

    let v = drive_with(
        "chromium",
        "h265",
        &folder,
        &made.password,
        &["--video", name],
    );
    assert_eq!(v["hashes"]["kind"], "all-ok", "{}", v["hashes"]);
    let chunks = v["chunks"].as_array().unwrap();
    assert_eq!(chunks.len(), 2);
    assert!(
        chunks.iter().all(|c| c["kind"] == "chunks-ok"),
        "{chunks:?}"
    );
    assert_eq!(v["caseReference"], hostile);
    assert_eq!(v["play"]["status"], "codec-unsupported", "{}", v["play"]);
    let text = v["play"]["text"].as_str().unwrap();
    assert!(text.contains("H.265") && text.contains("VLC"), "{text}");
}

#[test]
fn firefox_esr_verifies_decrypts_plays_and_tells_wrong_password_from_damage() {
    let made = export_demo();
    let v = drive("firefox", "open", &made.folder, &made.password);
    check_opened(&v, "firefox", &made);
    let v = drive(
        "firefox",
        "wrong-password",
        &made.folder,
        "not the password",
    );
    assert_eq!(v["password"]["kind"], "wrong-password", "{}", v["password"]);
    let damaged = flipped_copy(&made.folder);
    check_damaged(&drive("firefox", "damaged", damaged.path(), &made.password));
}

/// The `key: value` lines of a vector's `.expect` file.
fn expect_of(path: &Path) -> std::collections::HashMap<String, String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once(": ").or_else(|| l.split_once(':')))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

#[test]
fn page_reader_gives_every_test_vector_its_outcome() {
    // The page's own container reader (`scelleReader.open`, the code the page runs) on every
    // vector of docs/FORMAT.md in Chromium: plaintexts and metadata of the `ok_*` ones, the
    // right refusal of each `fail_*` one (the chunk concerned where there is one).
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("OUVRIR.html");
    std::fs::write(&page, scelle::export::page::html()).unwrap();
    let vectors = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors");
    let script = driver().with_file_name("vectors.mjs");
    let o = Command::new("node")
        .arg(script)
        .arg("--page")
        .arg(&page)
        .arg("--vectors")
        .arg(&vectors)
        .output()
        .expect("node runs the vectors driver");
    assert!(o.status.success(), "{}", stderr(&o));
    let got: Value = serde_json::from_slice(&o.stdout).unwrap();
    let mut seen = 0;
    for e in std::fs::read_dir(&vectors).unwrap() {
        let path = e.unwrap().path();
        if path.extension().is_none_or(|x| x != "expect") {
            continue;
        }
        let name = path.file_stem().unwrap().to_str().unwrap().to_owned();
        let want = expect_of(&path);
        let v = &got[format!("{name}.scelle")];
        let outcome = want["outcome"].as_str();
        let key = match outcome {
            "ok" => {
                assert_eq!(
                    v["sha256"],
                    want["plaintext_sha256"].as_str(),
                    "{name}: {v}"
                );
                assert_eq!(v["length"].to_string(), want["plaintext_len"], "{name}");
                let meta: Value = serde_json::from_str(&want["metadata"]).unwrap();
                assert_eq!(v["metadata"], meta, "{name}");
                seen += 1;
                continue;
            }
            "wrong_password" => "wrong-password",
            "kdf_out_of_bounds" => "bad-header",
            "unknown_version" => "unknown-version",
            "not_a_container" => "not-container",
            "metadata_tampered" => "metadata-damaged",
            "tampered" | "reordered" | "duplicated" => "chunk-damaged",
            "truncated" => "truncated",
            "trailing_data" => "trailing-data",
            other => panic!("{name}: outcome {other} unknown to this test"),
        };
        assert_eq!(v["key"], key, "{name}: {v}");
        if let Some(chunk) = want.get("chunk").or(want.get("after_chunk")) {
            assert_eq!(v["args"][1].to_string(), *chunk, "{name}: {v}");
        }
        seen += 1;
    }
    assert_eq!(seen, 16, "every vector checked");
}
