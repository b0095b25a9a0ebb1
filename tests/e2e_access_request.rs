//! End to end, issue 18 (DEL-2, AUTH-5): an access request through the real daemon.
//!
//! A clip with real faces (scikit-image's `astronaut`, composed by `anonymize_support`) is
//! served by GStreamer's RTSP server as a playback camera. The data subject's identity is
//! proven (signed entry, scan attached), the case approved, the faces reviewed on the sealed
//! review sheet, and the export made with the requester's track kept: after decrypting it, the
//! same detector finds no face but the requester's in any frame, the requester's face is
//! intact, there is no audio, and the register, record and receipt say it is anonymized. No
//! plaintext MP4 lies in the state directory, the daemon's TMPDIR, `/tmp` or the drive while it
//! runs; a SIGKILL in the middle leaves nothing on the drive the register does not account for,
//! no ffmpeg child running (decision 0145) and the state lock free at once (decision 0146).
//! Every rule is also tried the way someone with a shell on the server would.
#![cfg(feature = "anonymize")]
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "tests say what they measured"
)]

mod anonymize_support;
mod e2e_support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anonymize_support as s;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use e2e_support::peers::{Peer, free_port};
use e2e_support::*;
use scelle::anonymize::{Anonymizer, Detector, Params, default_model_path};
use scelle::api::protocol::{ErrorCode, Op, Reply};
use scelle::cli::client::{ClientError, Signer};
use serde_json::{Value, json};

const EXPORT: &str =
    "[export]\nrequire_separate_drive = false\nkdf_memory_mib = 8\nkdf_passes = 1\n";
const W: usize = 640;
const H: usize = 360;
const FPS: f32 = 25.0;
const SECS: i64 = 3;
const REASON: &str = "le demandeur réside à 600 km et ne peut se déplacer";

/// A site whose camera `porte` plays the faces clip; also returns the clip served (its frames
/// are what the daemon pulls) and the scene's heads (head 0 is the requester).
struct Access {
    site: Site,
    _peer: Peer,
    _media: tempfile::TempDir,
    served: PathBuf,
    heads: Vec<s::Head>,
    range: String,
}

fn access_site() -> Access {
    let heads = s::scene(1.0);
    let media_dir = tempfile::tempdir().unwrap();
    let media = media_dir.path().to_owned();
    // The composed clip, re-encoded as a camera would send it (no B-frames, a keyframe every
    // second) so the RTSP server relays it as is.
    let composed = s::compose(W as u32, H as u32, SECS as f32 + 1.0, &heads);
    let served = media.join("faces.mp4");
    let source = media.join("composed.mp4");
    std::fs::write(&source, &composed).unwrap();
    let st = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-i"])
        .arg(&source)
        .args([
            "-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-bf", "0", "-g", "25",
            "-pix_fmt", "yuv420p", "-an",
        ])
        .arg(&served)
        .status()
        .unwrap();
    assert!(st.success(), "ffmpeg re-encoded the clip");
    let peer = Peer::start(free_port(), &[("faces", &served)], &[]);
    let cameras = format!(
        "[[camera]]\nid = \"porte\"\nname = \"Porte d'entrée\"\n\
         source = {{ kind = \"playback\", vendor = \"custom\", host = \"127.0.0.1\", port = {port}, \
         time_zone = \"UTC\", template = \"rtsp://{{host}}:{{port}}/faces?start={{start_unix}}&end={{end_unix}}\" }}\n",
        port = peer.port,
    );
    let mut site = Site::new(EXPORT, &cameras);
    add_person(&site, "oscar", r#"["operator"]"#);
    site.start();
    let start = jiff::Timestamp::now()
        .checked_sub(jiff::SignedDuration::from_hours(1))
        .unwrap()
        .round(jiff::Unit::Second)
        .unwrap();
    let end = start
        .checked_add(jiff::SignedDuration::from_secs(SECS))
        .unwrap();
    Access {
        site,
        _peer: peer,
        _media: media_dir,
        served,
        heads,
        range: format!("{start}/{end}"),
    }
}

/// Adds a person with their own key to the site's people list (before the daemon starts).
fn add_person(site: &Site, id: &str, roles: &str) {
    let key = scelle::demo::site::make_key(&site.key(id), id).unwrap();
    let account = scelle::demo::site::current_account().unwrap();
    let text = std::fs::read_to_string(&site.config).unwrap();
    // People come before the cameras in the file: insert before the first camera.
    let person = format!(
        "[[person]]\nid = \"{id}\"\nname = \"{id} Test\"\nunix_account = \"{account}\"\n\
         roles = {roles}\npublic_key = \"{key}\"\n\n"
    );
    let at = text.find("[[camera]]").unwrap_or(text.len());
    std::fs::write(
        &site.config,
        format!("{}{person}{}", &text[..at], &text[at..]),
    )
    .unwrap();
}

fn open_access_case(site: &Site, range: &str) -> String {
    let request = B64.encode("Je demande les images me concernant (RGPD art. 15).");
    let r = site
        .client(OPERATOR)
        .call(
            Op::CaseOpen,
            json!({
                "ground": "access-request", "requester": "Jeanne Martin",
                "organisation": "particulier", "reference": "DA-2026-18",
                "recipient": "Jeanne Martin", "purpose": "droit d'accès",
                "cameras": ["porte"], "ranges": [range],
                "request": {"name": "demande.txt", "content": request},
            }),
        )
        .unwrap_or_else(|e| panic!("case-open: {e}\n{}", site.log_text()));
    r["case"]["id"].as_str().unwrap().to_owned()
}

/// `op` as `person`: the daemon's challenge (a register statement) signed with `key`, then
/// the same arguments with the signature.
fn signed_as(
    site: &Site,
    person: &str,
    key: &Path,
    op: Op,
    args: Value,
) -> Result<Value, ClientError> {
    let mut c = site.client(person);
    match c.request(op, args.clone(), &mut |_| {})? {
        Reply::Challenge {
            public_key,
            namespace,
            message,
            ..
        } => {
            let statement = B64.decode(message).unwrap();
            let sig = Signer::KeyFile(key.to_owned())
                .sign(&public_key, &namespace, &statement)
                .or_else(|_| {
                    // Another person's key: sign with it anyway, as an attacker holding it would.
                    let own = ssh_key::PrivateKey::read_openssh_file(key).unwrap();
                    let own = own.public_key().to_openssh().unwrap();
                    Signer::KeyFile(key.to_owned()).sign(&own, &namespace, &statement)
                })?;
            let mut a = args;
            a["signature"] = json!(sig);
            c.call(op, a)
        }
        Reply::Ok { result, .. } => Ok(result),
        other => panic!("{op}: {other:?}"),
    }
}

fn signed(site: &Site, person: &str, op: Op, args: Value) -> Result<Value, ClientError> {
    signed_as(site, person, &site.key(person), op, args)
}

fn identity_args(case: &str) -> Value {
    json!({
        "case": case, "document_kind": "carte nationale d'identité",
        "document_reference": "X4RTBPFW4", "checked_at": "2026-11-20T09:30:00Z",
        "legitimacy": "reconnue sur la caméra porte à l'heure indiquée dans sa demande",
        "scan": {"name": "cni.png", "content": B64.encode(b"\x89PNG scan of the card")},
    })
}

fn refused(r: Result<Value, ClientError>, code: ErrorCode, words: &str) {
    match r {
        Err(ClientError::Remote { code: c, message }) => {
            assert_eq!(c, code, "{message}");
            assert!(message.contains(words), "{words:?} not in: {message}");
        }
        other => panic!("expected {code:?} ({words}), got {other:?}"),
    }
}

/// An export as `person` with `extra` arguments, signed; the final result.
fn export(
    site: &Site,
    person: &str,
    case: &str,
    dest: &Path,
    extra: Value,
) -> Result<Value, ClientError> {
    let mut op = site.client(person);
    let mut args = json!({ "case": case, "to": dest.display().to_string(), "accept_drive": true,
                           "password": PASSWORD });
    for (k, v) in extra.as_object().unwrap() {
        args[k] = v.clone();
    }
    match op.request(Op::CaseExport, args, &mut |_| {})? {
        Reply::Challenge {
            public_key,
            namespace,
            message,
            ..
        } => {
            let statement = B64.decode(message).unwrap();
            let sig = Signer::KeyFile(site.key(person))
                .sign(&public_key, &namespace, &statement)
                .unwrap();
            op.call(Op::CaseExport, json!({ "case": case, "signature": sig }))
        }
        other => panic!("case-export: {other:?}"),
    }
}

/// `scelle open FILE -o -` with the test's password: the plaintext, in memory.
fn open_sealed(site: &Site, sealed: &Path) -> Vec<u8> {
    let out = Command::new(BIN)
        .arg("open")
        .arg(sealed)
        .args(["-o", "-", "--password-file"])
        .arg(&site.password_file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "scelle open: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn engine() -> Anonymizer {
    Anonymizer::new(
        Detector::load(&default_model_path()).expect("model"),
        Params::default(),
    )
}

/// Watches the state directory, the daemon's TMPDIR, the drive, `/tmp` and the daemon's working
/// directory for plaintext MP4 (and the review sheet in clear) while something runs; returns
/// what it found.
struct Watcher {
    on: Arc<AtomicBool>,
    found: Arc<Mutex<Vec<String>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Watcher {
    fn start(site: &Site) -> Watcher {
        let (state, tmp, drive, media) = (
            site.state.clone(),
            site.tmp.clone(),
            site.drive.clone(),
            site.media.clone(),
        );
        let on = Arc::new(AtomicBool::new(true));
        let found = Arc::new(Mutex::new(Vec::new()));
        let (o2, f2) = (on.clone(), found.clone());
        // /tmp and the working directory the daemon inherits (x264 and ffmpeg write their
        // logs there) are shared with everything else on the machine: only what appears in
        // them while the watch runs counts, and of that only names an ffmpeg or anonymizer run
        // could make or files (not other tests' folders) holding a plaintext MP4 or the sheet.
        let shared: Vec<PathBuf> = vec!["/tmp".into(), std::env::current_dir().unwrap()];
        let before: Vec<_> = shared.iter().map(|d| (listing(d), entries(d))).collect();
        let thread = std::thread::spawn(move || {
            while o2.load(Ordering::Relaxed) {
                for (dir, (names, all)) in shared.iter().zip(&before) {
                    for p in listing(dir).difference(names) {
                        f2.lock()
                            .unwrap()
                            .push(format!("new in {}: {p}", dir.display()));
                    }
                    for p in entries(dir).difference(all) {
                        if !p.is_file() {
                            continue;
                        }
                        if e2e_support::scan::plaintext_signature(p).is_some() {
                            f2.lock()
                                .unwrap()
                                .push(format!("plaintext MP4: {}", p.display()));
                        }
                        if std::fs::read(p)
                            .is_ok_and(|b| b.windows(22).any(|w| w == b"data:image/png;base64,"))
                        {
                            f2.lock()
                                .unwrap()
                                .push(format!("review sheet in clear: {}", p.display()));
                        }
                    }
                }
                for f in e2e_support::scan::scan(&[&state, &tmp, &drive], &[&media]) {
                    f2.lock().unwrap().push(format!("{f:?}"));
                }
                // The review sheet in clear (its thumbnails are faces).
                for root in [&state, &tmp, &drive] {
                    for p in walk(root) {
                        if std::fs::read(&p)
                            .is_ok_and(|b| b.windows(22).any(|w| w == b"data:image/png;base64,"))
                        {
                            f2.lock()
                                .unwrap()
                                .push(format!("review sheet in clear: {p}"));
                        }
                    }
                }
                std::thread::sleep(Duration::from_millis(30));
            }
        });
        Watcher {
            on,
            found,
            thread: Some(thread),
        }
    }

    fn stop(mut self) -> Vec<String> {
        self.on.store(false, Ordering::Relaxed);
        self.thread.take().unwrap().join().unwrap();
        self.found.lock().unwrap().clone()
    }
}

/// Everything directly under `dir`.
fn entries(dir: &Path) -> std::collections::BTreeSet<PathBuf> {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .collect()
}

/// Files directly under `dir` that an ffmpeg or anonymizer run could have left.
fn listing(dir: &Path) -> std::collections::BTreeSet<String> {
    entries(dir)
        .into_iter()
        .map(|p| p.display().to_string())
        .filter(|p| {
            let n = p.rsplit('/').next().unwrap_or(p).to_ascii_lowercase();
            [
                "ffmpeg",
                "x264",
                "anonym",
                ".rgb",
                ".yuv",
                ".h264",
                "scelle-review",
                ".mp4",
            ]
            .iter()
            .any(|k| n.contains(k))
        })
        .collect()
}

/// Files under /tmp that an ffmpeg or anonymizer run could have left.
fn tmp_listing() -> std::collections::BTreeSet<String> {
    listing(Path::new("/tmp"))
}

#[test]
fn an_access_request_is_exported_anonymized_with_the_requester_kept() {
    let a = access_site();
    let site = &a.site;
    let case = open_access_case(site, &a.range);

    // Identity first: the approval is refused without it, through the real daemon.
    refused(site.approve(&case), ErrorCode::Refused, "identity");
    let r = signed(site, OPERATOR, Op::CaseIdentity, identity_args(&case)).unwrap();
    assert_eq!(r["case"]["identity"]["checked_by"], OPERATOR);
    assert!(
        r["case"]["identity"]["scan"]
            .as_str()
            .is_some_and(|h| h.len() == 64)
    );
    assert!(
        r["case"]["documents"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["role"] == "identity"),
        "the scan is attached like the written request"
    );
    site.approve(&case)
        .unwrap_or_else(|e| panic!("approve: {e}\n{}", site.log_text()));

    // The viewing on site comes first; here it was offered but not possible, so the export
    // says why. Without the reason: refused.
    let dest = site.drive.join("usb");
    std::fs::create_dir_all(&dest).unwrap();
    refused(
        export(site, OPERATOR, &case, &dest, json!({})),
        ErrorCode::Refused,
        "no-viewing-reason",
    );

    // The review: the sealed sheet, its tracks and where each face is.
    let before_tmp = tmp_listing();
    let watch = Watcher::start(site);
    let mut phases: Vec<String> = Vec::new();
    let review = site
        .client(OPERATOR)
        .call_with_progress(
            Op::CaseReview,
            json!({ "case": case, "password": PASSWORD }),
            &mut |_, data| {
                if let Some(p) = data.and_then(|d| d["phase"].as_str()) {
                    phases.push(p.to_owned());
                }
            },
        )
        .unwrap_or_else(|e| panic!("case-review: {e}\n{}", site.log_text()));
    // the review reports its progress: the pull, then the analysis second after second
    assert_eq!(
        phases.first().map(String::as_str),
        Some("pulling"),
        "{phases:?}"
    );
    assert!(
        phases.iter().filter(|p| *p == "analyzing").count() >= 2,
        "{phases:?}"
    );
    assert!(
        review.get("password").is_none(),
        "a chosen password is not sent back"
    );
    let sheet = B64.decode(review["sheet"].as_str().unwrap()).unwrap();
    assert!(
        !sheet.windows(5).any(|w| w == b"<html"),
        "the sheet is sealed"
    );
    let sheet_path = site.media.join("review.html.scelle");
    std::fs::write(&sheet_path, &sheet).unwrap();
    let html = String::from_utf8(open_sealed(site, &sheet_path)).unwrap();
    let file = &review["files"][0];
    let tracks = file["tracks"].as_array().unwrap();
    assert!(tracks.len() >= 3, "tracks: {tracks:?}");
    eprintln!(
        "review: {} frames, tracks {}",
        file["frames"],
        Value::Array(tracks.clone())
    );
    assert_eq!(
        html.matches("data:image/png;base64,").count(),
        tracks.len(),
        "one thumbnail per track on the sheet"
    );
    // The operator recognises the requester: the track whose face is where head 0 is.
    let requester = tracks
        .iter()
        .find(|t| {
            let b = &t["box_at_first_frame"];
            let b = [0, 1, 2, 3].map(|i| b[i].as_f64().unwrap_or(-1.0) as f32);
            let n = t["first_frame"].as_u64().unwrap();
            s::iou(b, a.heads[0].face_at(n, FPS)) > 0.3
        })
        .map(|t| t["track"].as_u64().unwrap())
        .expect("the requester's face has a track");

    let result = export(
        site,
        OPERATOR,
        &case,
        &dest,
        json!({ "no_viewing_reason": REASON, "keep_track": [format!("1:{requester}")] }),
    )
    .unwrap_or_else(|e| panic!("export: {e}\n{}", site.log_text()));
    let leaks = watch.stop();
    assert!(
        leaks.is_empty(),
        "plaintext on disk during the export: {leaks:?}"
    );
    let new_tmp: Vec<_> = tmp_listing().difference(&before_tmp).cloned().collect();
    assert!(new_tmp.is_empty(), "files left in /tmp: {new_tmp:?}");

    // The record: anonymized, the kept track and who chose it, no audio.
    let f = &result["record"]["files"][0];
    let an = &f["anonymized"];
    assert_eq!(an["kept_track"], requester);
    assert_eq!(an["confirmed_by"], OPERATOR);
    assert_eq!(an["audio"], "removed");
    assert_eq!(an["no_viewing_reason"], REASON);
    assert_eq!(an["model_sha256"], scelle::anonymize::CENTERFACE_SHA256);
    assert!(an["tracks_found"].as_u64().unwrap() >= 3);
    assert_eq!(
        an["tracks_blurred"].as_u64().unwrap(),
        an["tracks_found"].as_u64().unwrap() - 1
    );

    // Decrypted: no face but the requester's in any frame, the requester intact, no audio.
    let folder = PathBuf::from(result["record"]["destination"]["path"].as_str().unwrap());
    let sealed = folder.join(f["file"]["name"].as_str().unwrap());
    let probe = ffprobe_sealed(site, &sealed);
    let streams = probe["streams"].as_array().unwrap();
    assert_eq!(streams.len(), 1, "video only, audio removed: {probe}");
    let plain = open_sealed(site, &sealed);
    let anon = s::decode(&plain, W, H);
    let orig = s::decode(&std::fs::read(&a.served).unwrap(), W, H);
    assert_eq!(anon.len() as u64, an["frames"].as_u64().unwrap());
    let mut eng = engine();
    // The pulled clip may start a frame or two after the served file: align on the requester.
    let off = (0..=3usize)
        .min_by(|&x, &y| {
            let d = |o: usize| {
                s::mean_diff(&orig[10 + o], &anon[10], W, H, a.heads[0].face_at(10, FPS))
            };
            d(x).total_cmp(&d(y))
        })
        .unwrap();
    let (mut req_seen, mut max_req_diff, mut min_third_diff, mut outside) = (0, 0f64, f64::MAX, 0);
    for (n, frame) in anon.iter().enumerate() {
        let at = (n + off) as u64;
        let req = a.heads[0].face_at(at, FPS);
        for face in eng.detect(frame, W, H).unwrap() {
            let b = [face.x1, face.y1, face.x2, face.y2];
            if s::iou(b, req) <= 0.3 {
                eprintln!(
                    "frame {n}: a face outside the requester's track at {b:?} ({})",
                    face.score
                );
                outside += 1;
                continue;
            }
            req_seen += 1;
        }
        let Some(o) = orig.get(n + off) else { continue };
        max_req_diff = max_req_diff.max(s::mean_diff(o, frame, W, H, req));
        for h in &a.heads[1..] {
            min_third_diff = min_third_diff.min(s::mean_diff(o, frame, W, H, h.face_at(at, FPS)));
        }
    }
    eprintln!(
        "offset {off}: requester seen on {req_seen}/{} frames, its face differs by <= \
         {max_req_diff:.1}/255; third parties' faces differ by >= {min_third_diff:.1}/255",
        anon.len()
    );
    assert_eq!(
        outside, 0,
        "faces outside the requester's track (listed above)"
    );
    assert!(
        req_seen * 10 >= anon.len() * 9,
        "requester seen on {req_seen} frames"
    );
    assert!(
        max_req_diff <= 8.0,
        "the requester's face changed by {max_req_diff:.1}/255"
    );
    assert!(
        min_third_diff >= 15.0,
        "a third party's face differs by only {min_third_diff:.1}/255"
    );

    // The register says all of it, and verifies.
    let kinds = site.kinds(Some(&case));
    for k in [
        "identity-proven",
        "case-authorized",
        "export-started",
        "export-completed",
    ] {
        assert!(kinds.iter().any(|x| x == k), "{k} missing: {kinds:?}");
    }
    let started = site
        .entries(Some(&case))
        .into_iter()
        .find(|e| e["kind"] == "export-started")
        .unwrap();
    assert_eq!(
        started["payload"]["anonymization"]["handover"],
        "anonymized"
    );
    site.verify_register();

    // The register report (the auditor's) says it too.
    let rep = site
        .client(AUTHORIZER)
        .call(Op::RegisterReport, json!({ "format": "json" }))
        .unwrap_or_else(|e| panic!("register-report: {e}"));
    let rep = String::from_utf8(B64.decode(rep["content"].as_str().unwrap()).unwrap()).unwrap();
    for words in ["ANONYMISÉ", "Identité prouvée", "X4RTBPFW4", "son supprimé"] {
        assert!(rep.contains(words), "{words} not in the register report");
    }

    // The receipt says it, in French by default and in English on request.
    for (lang, words) in [("fr", "ANONYMIS"), ("en", "ANONYMIZED")] {
        let r = site
            .client(OPERATOR)
            .call(Op::CaseReceipt, json!({ "case": case, "lang": lang }))
            .unwrap();
        let pdf = site.media.join(format!("recu-{lang}.pdf"));
        std::fs::write(&pdf, B64.decode(r["pdf"].as_str().unwrap()).unwrap()).unwrap();
        if let Ok(out) = Command::new("pdftotext").arg(&pdf).arg("-").output() {
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(text.contains(words), "{words} not on the receipt:\n{text}");
        }
    }
}

#[test]
fn the_rules_hold_against_someone_with_a_shell() {
    let a = access_site();
    let site = &a.site;
    let case = open_access_case(site, &a.range);
    let dest = site.drive.join("usb");
    std::fs::create_dir_all(&dest).unwrap();

    // Skipping the identity proof: no approval, no review, no viewing.
    refused(site.approve(&case), ErrorCode::Refused, "identity");
    refused(
        site.client(OPERATOR)
            .call(Op::CaseReview, json!({ "case": case })),
        ErrorCode::Refused,
        "not authorized",
    );
    // Unsigned or mis-signed identity proofs: a made-up signature, another person's key
    // (the caller is always the actor: alain's signature cannot vouch for olga's entry).
    let mut bad = identity_args(&case);
    bad["signature"] = json!("-----BEGIN SSH SIGNATURE-----\nAAAA\n-----END SSH SIGNATURE-----");
    refused(
        site.client(OPERATOR).call(Op::CaseIdentity, bad),
        ErrorCode::BadSignature,
        "signature",
    );
    refused(
        signed_as(
            site,
            OPERATOR,
            &site.key(AUTHORIZER),
            Op::CaseIdentity,
            identity_args(&case),
        ),
        ErrorCode::BadSignature,
        "signature",
    );
    // verify-requester is not the access request's check; identity is not a requisition's.
    refused(
        site.client(OPERATOR).call(
            Op::CaseVerifyRequester,
            json!({ "case": case, "how": "carte vue" }),
        ),
        ErrorCode::Refused,
        "case identity",
    );
    let kinds = site.kinds(Some(&case));
    assert!(!kinds.iter().any(|k| k == "identity-proven"), "{kinds:?}");

    // The real CLI: `scelle case identity`, signed with the operator's key, scan attached.
    let scan = site.media.join("cni.png");
    std::fs::write(&scan, b"\x89PNG scan of the card").unwrap();
    let out = cli(
        site,
        OPERATOR,
        &[
            "identity",
            &case,
            "--document-kind",
            "passeport",
            "--document-ref",
            "19AB12345",
            "--legitimacy",
            "reconnue sur la caméra porte",
            "--at",
            "2026-11-20T10:30",
        ],
        Some(&scan),
    );
    assert!(out.status.success(), "{}", text(&out));
    let shown = cli(site, OPERATOR, &["show", &case], None);
    let shown = String::from_utf8_lossy(&shown.stdout).into_owned();
    assert!(shown.contains("passeport 19AB12345"), "{shown}");
    // A viewing before the approval: refused.
    let viewed = json!({ "case": case, "at": "2026-11-20T10:00:00Z",
                         "attendees": ["Jeanne Martin", "olga Test"], "screen": "poste PC-1" });
    refused(
        signed(site, OPERATOR, Op::CaseViewed, viewed.clone()),
        ErrorCode::Refused,
        "not authorized",
    );
    site.approve(&case).unwrap();
    // A viewing of footage outside the case: refused; of the case: recorded, signed.
    let mut outside = viewed.clone();
    outside["ranges"] = json!(["2020-01-01T00:00:00Z/2020-01-01T00:01:00Z"]);
    refused(
        signed(site, OPERATOR, Op::CaseViewed, outside),
        ErrorCode::Refused,
        "not footage of case",
    );
    let r = signed(site, OPERATOR, Op::CaseViewed, viewed).unwrap();
    assert_eq!(r["case"]["viewings"][0]["held_by"], OPERATOR);
    let out = cli(
        site,
        OPERATOR,
        &[
            "viewed",
            &case,
            "--attendee",
            "Jeanne Martin",
            "--screen",
            "poste PC-2",
        ],
        None,
    );
    assert!(out.status.success(), "{}", text(&out));
    // An authorizer does not hold viewings.
    let out = cli(
        site,
        AUTHORIZER,
        &[
            "viewed",
            &case,
            "--attendee",
            "Jeanne Martin",
            "--screen",
            "poste PC-2",
        ],
        None,
    );
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("operator"),
        "{}",
        text(&out)
    );

    // Exporting the original: there is no argument for it, no reason, no way around.
    refused(
        export(
            site,
            OPERATOR,
            &case,
            &dest,
            json!({ "anonymize": false, "no_viewing_reason": REASON }),
        ),
        ErrorCode::BadArgs,
        "unknown field",
    );
    refused(
        export(
            site,
            OPERATOR,
            &case,
            &dest,
            json!({ "no_viewing_reason": "   " }),
        ),
        ErrorCode::Refused,
        "no-viewing-reason",
    );
    // Keeping a track without a review of one's own.
    refused(
        export(
            site,
            OPERATOR,
            &case,
            &dest,
            json!({ "no_viewing_reason": REASON, "keep_track": ["1:1"] }),
        ),
        ErrorCode::Refused,
        "no review",
    );
    // olga reviews (the real CLI: the sheet is written sealed); oscar, another operator,
    // cannot confirm a track on her review.
    let sheet = site.media.join("revue.html.scelle");
    let pw = site.password_file.display().to_string();
    let out = cli(
        site,
        OPERATOR,
        &[
            "review",
            &case,
            "-o",
            sheet.to_str().unwrap(),
            "--password-file",
            &pw,
        ],
        None,
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("face tracks 1:1"),
        "{}",
        text(&out)
    );
    let html = String::from_utf8(open_sealed(site, &sheet)).unwrap();
    assert!(
        html.contains("--keep-track"),
        "the sheet says how to choose"
    );
    refused(
        export(
            site,
            "oscar",
            &case,
            &dest,
            json!({ "no_viewing_reason": REASON, "keep_track": ["1:1"] }),
        ),
        ErrorCode::Refused,
        "made by olga",
    );
    // A track the review does not have.
    refused(
        export(
            site,
            OPERATOR,
            &case,
            &dest,
            json!({ "no_viewing_reason": REASON, "keep_track": ["1:99"] }),
        ),
        ErrorCode::BadArgs,
        "no track 99",
    );
    // Nothing was written on the drive by any of these.
    assert!(
        std::fs::read_dir(&dest).unwrap().next().is_none(),
        "the refusals wrote on the drive"
    );
    // The blur-all export goes through (the real CLI); its record blurs every track.
    let out = cli(
        site,
        OPERATOR,
        &[
            "export",
            &case,
            "--to",
            dest.to_str().unwrap(),
            "--password-file",
            &pw,
            "--accept-drive",
            "--no-viewing-reason",
            REASON,
            "--blur-all",
        ],
        None,
    );
    assert!(out.status.success(), "{}\n{}", text(&out), site.log_text());
    // the long step reports progress: the render (the analysis was done by the review)
    let stderr = String::from_utf8_lossy(&out.stderr);
    let at = |phase: &str| stderr.find(&format!(": {phase}")).unwrap_or(usize::MAX);
    assert!(
        at("anonymizing") < at("rendering") && at("rendering") < at("verifying"),
        "progress lines: {stderr}"
    );
    let completed = site
        .entries(Some(&case))
        .into_iter()
        .find(|e| e["kind"] == "export-completed")
        .expect("export-completed");
    let an = &completed["payload"]["record"]["files"][0]["anonymized"];
    assert!(an["kept_track"].is_null());
    assert_eq!(an["tracks_blurred"], an["tracks_found"]);
    site.verify_register();
}

#[test]
fn a_sigkill_mid_export_leaves_nothing_the_register_does_not_list() {
    let mut a = access_site();
    let case = open_access_case(&a.site, &a.range);
    signed(&a.site, OPERATOR, Op::CaseIdentity, identity_args(&case)).unwrap();
    a.site.approve(&case).unwrap();
    let dest = a.site.drive.join("usb");
    std::fs::create_dir_all(&dest).unwrap();
    let watch = Watcher::start(&a.site);
    // The export runs on its own connection; the daemon is killed once the sealed output is
    // being written (its `.partial` exists) or, at the latest, after a few seconds.
    let (socket, key, known) = (
        a.site.socket.clone(),
        a.site.key(OPERATOR),
        a.site.dir.path().join("known_sites"),
    );
    let (c2, d2) = (case.clone(), dest.clone());
    let runner = std::thread::spawn(move || {
        let mut op = scelle::cli::client::Client::connect(&socket)
            .unwrap()
            .with_known_sites(Some(known));
        op.identify(Some(OPERATOR), &Signer::KeyFile(key)).unwrap();
        op.request(
            Op::CaseExport,
            json!({ "case": c2, "to": d2.display().to_string(), "accept_drive": true,
                    "password": PASSWORD, "no_viewing_reason": REASON }),
            &mut |_| {},
        )
        .is_ok()
    });
    // The kill lands while the rendering runs: the sealed output exists (`.partial`) and the
    // daemon's ffmpeg children (decoder, encoder) hold frames.
    let daemon = a.site.pid();
    let t = Instant::now();
    let (partial_seen, children) = loop {
        let partial = walk(&dest).iter().any(|p| p.ends_with(".partial"));
        let children: Vec<Proc> = engine_processes(&a.site.tmp)
            .into_iter()
            .filter(|p| p.ppid == daemon)
            .collect();
        let ffmpeg = children.iter().any(|p| p.comm == "ffmpeg");
        if (partial && ffmpeg) || runner.is_finished() || t.elapsed() > Duration::from_secs(120) {
            break (partial, children);
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    // Stalled children (swapped out, starved of CPU) do not see their pipes close: stop them,
    // so only the kernel's death signal (decision 0145) can end them once the daemon is gone.
    // Not one still in `setpriv` or `sh`: its death signal may not be set yet, and stopped it
    // would stay in the window the parent check closes.
    for p in children.iter().filter(|p| p.comm.starts_with("ff")) {
        signal(p.pid, rustix::process::Signal::STOP);
    }
    a.site.kill();
    let _ = runner.join();
    assert!(
        partial_seen && !children.is_empty(),
        "the export never reached its sealed output with ffmpeg running within 120 s \
         (output started: {partial_seen}; children: {children:?})"
    );
    eprintln!("SIGKILL with the daemon's children {children:?}");
    // None of them (nor any started as the daemon died) outlives it for long.
    let t = Instant::now();
    loop {
        let mut left = engine_processes(&a.site.tmp);
        left.extend(children.iter().filter(|p| p.alive()).cloned());
        left.sort_by_key(|p| p.pid);
        left.dedup_by_key(|p| p.pid);
        if left.is_empty() {
            eprintln!("the daemon's children were gone {:?} after it", t.elapsed());
            break;
        }
        if t.elapsed() > Duration::from_secs(5) {
            for p in &left {
                signal(p.pid, rustix::process::Signal::KILL);
            }
            panic!("outlived the SIGKILLed daemon by 5 s: {left:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    // Its state lock is free at once (decision 0146): a restart right away takes it.
    let lock_path = a.site.state.join("scelle.lock");
    let lock = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&lock_path)
        .unwrap();
    let free = rustix::fs::fcntl_lock(&lock, rustix::fs::FlockOperation::NonBlockingLockExclusive);
    drop(lock);
    assert!(
        free.is_ok(),
        "the killed daemon's state lock is still held ({free:?}); open by: {:?}",
        holders(&lock_path)
    );
    a.site.start();
    // The restart's recovery records the interrupted export and removes what it wrote.
    let t = Instant::now();
    while !a
        .site
        .kinds(Some(&case))
        .iter()
        .any(|k| k == "export-interrupted")
    {
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "no export-interrupted recorded"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let leaks = watch.stop();
    assert!(leaks.is_empty(), "plaintext on disk: {leaks:?}");
    let entries = a.site.entries(Some(&case));
    let listed: Vec<String> = entries
        .iter()
        .filter(|e| e["kind"] == "export-completed")
        .flat_map(|e| {
            e["payload"]["record"]["files"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter_map(|f| f["file"]["name"].as_str().map(str::to_owned))
        .collect();
    let left: Vec<String> = walk(&dest)
        .into_iter()
        .filter(|p| !listed.iter().any(|l| p.ends_with(l.as_str())))
        .filter(|p| !std::path::Path::new(p).is_dir())
        .collect();
    assert!(
        left.is_empty(),
        "left on the drive, listed nowhere: {left:?}"
    );
    a.site.verify_register();
}

/// A process as /proc shows it.
#[derive(Clone, Debug)]
struct Proc {
    pid: i32,
    ppid: u32,
    /// Start time in clock ticks since boot: a reused pid is another process.
    start: u64,
    comm: String,
}

impl Proc {
    fn read(pid: i32) -> Option<Proc> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let (head, rest) = stat.rsplit_once(')')?;
        let comm = head.split_once('(')?.1.to_owned();
        let f: Vec<&str> = rest.split_whitespace().collect();
        // f[0] is the state (field 3), f[1] the parent (4), f[19] the start time (22).
        if f.first() == Some(&"Z") {
            return None; // a zombie holds nothing any more
        }
        Some(Proc {
            pid,
            ppid: f.get(1)?.parse().ok()?,
            start: f.get(19)?.parse().ok()?,
            comm,
        })
    }

    /// Still running (and still the same process).
    fn alive(&self) -> bool {
        Proc::read(self.pid).is_some_and(|p| p.start == self.start)
    }
}

/// The ffmpeg/ffprobe processes of the daemon whose TMPDIR is `tmp` (and the `setpriv`/`sh`
/// they are until they `exec`): found by that TMPDIR in their environment, which they keep
/// after the daemon is gone (their parent then changes).
fn engine_processes(tmp: &Path) -> Vec<Proc> {
    let mut env = b"TMPDIR=".to_vec();
    env.extend_from_slice(tmp.as_os_str().as_encoded_bytes());
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Some(p) = Proc::read(pid) else { continue };
        if !["ffmpeg", "ffprobe", "setpriv", "sh"].contains(&p.comm.as_str()) {
            continue;
        }
        let environ = std::fs::read(e.path().join("environ")).unwrap_or_default();
        if environ.split(|&b| b == 0).any(|v| v == env.as_slice()) {
            out.push(p);
        }
    }
    out
}

fn signal(pid: i32, sig: rustix::process::Signal) {
    if let Some(pid) = rustix::process::Pid::from_raw(pid) {
        let _ = rustix::process::kill_process(pid, sig);
    }
}

/// Processes with `path` open.
fn holders(path: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(fds) = std::fs::read_dir(e.path().join("fd")) else {
            continue;
        };
        if fds
            .flatten()
            .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|t| t == path))
        {
            let comm = std::fs::read_to_string(e.path().join("comm")).unwrap_or_default();
            out.push(format!(
                "{} {}",
                e.file_name().to_string_lossy(),
                comm.trim()
            ));
        }
    }
    out
}

/// `scelle case --as PERSON -i KEY --yes ARGS… [--scan FILE]` against the site's daemon.
fn cli(site: &Site, person: &str, args: &[&str], scan: Option<&Path>) -> std::process::Output {
    let mut c = Command::new(BIN);
    c.arg("case")
        .arg("--socket")
        .arg(&site.socket)
        .args(["--as", person, "-i"])
        .arg(site.key(person))
        .arg("--yes")
        .args(args)
        .env("HOME", site.dir.path())
        .env("TMPDIR", &site.tmp);
    if let Some(p) = scan {
        c.arg("--scan").arg(p);
    }
    c.output().unwrap()
}

fn walk(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        }
        out.push(p.display().to_string());
    }
    out
}
