//! The delivery receipt (issue 8, DEL-1): a synthetic export recorded in a real register
//! (entries signed with real `ssh-keygen` keys), its receipt rendered in French and English,
//! then read back with poppler's `pdftotext -layout` (every field, with the right values),
//! rendered with `pdftoppm`, and its QR code decoded with `zbarimg` when installed.
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "tests say what they skip"
)]

mod register_support;

use std::path::Path;
use std::process::Command;

use jiff::Timestamp;
use register_support::Site;
use scelle::case::export_record::{Destination, ExportRecord, ExportedFile, FileDigest};
use scelle::drive::DriveIdentity;
use scelle::receipt::{Lang, Receipt, render};
use scelle::register::{EntryKind, NewEntry, Register};
use scelle_adapters::{ClockOffset, Gap, GapReason, TimeRange};
use serde_json::json;

const CASE: &str = "2026-0007";
const REFERENCE: &str = "PV 2026/001234 Lyon-3";

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn sha(seed: u8) -> String {
    format!("{:02x}", seed).repeat(32)
}

fn file(i: usize, camera: &str, name: &str) -> ExportedFile {
    let start = ts("2026-11-20T14:00:00Z");
    let end = ts("2026-11-20T14:30:00Z");
    let gaps = if i == 0 {
        vec![Gap {
            stream: None,
            start: ts("2026-11-20T14:10:00Z"),
            end: ts("2026-11-20T14:10:30Z"),
            reason: GapReason::NotRecorded,
        }]
    } else {
        Vec::new()
    };
    ExportedFile {
        file: FileDigest {
            name: format!("{camera}_20261120T140000Z_20261120T143000Z.mp4.scelle"),
            size: 1_234_567 + i as u64,
            sha256: sha(0x10 + i as u8),
        },
        camera: camera.into(),
        camera_name: name.into(),
        requested: TimeRange { start, end },
        covered: vec![TimeRange { start, end }],
        gaps,
        covered_seconds: if i == 0 { 1770.0 } else { 1800.0 },
        frames: 45_000,
        tracks: vec!["H.264 1920x1080".into()],
        start_from_device: true,
        device: None,
        clock_offset: (i == 0).then(|| ClockOffset {
            measured_at: ts("2026-11-23T09:00:00Z"),
            offset_ms: 1250,
            uncertainty_ms: 20,
        }),
        link: (i == 0).then(|| scelle::config::LinkSecurity {
            transport: "tls".into(),
            encrypted: true,
            pin: Some(format!("sha256:{}", "5c".repeat(32))),
            ca_file: None,
            unencrypted_reason: None,
            basic_reason: None,
        }),
        anonymized: None,
    }
}

/// A register holding a case with one completed export of `files` cameras.
fn register_with_export(dir: &Path, files: usize) -> (Register, ExportRecord) {
    let site = Site::new(dir);
    let reg = Register::open(&dir.join("register.sqlite")).unwrap();
    reg.append(site.people_entry()).unwrap();
    let op = &site.operator;
    let mut opened = NewEntry::new(
        EntryKind::CaseOpened,
        Some(CASE),
        &op.id,
        json!({
            "ground": "requisition", "requester": "OPJ Martin",
            "organisation": "Commissariat de Lyon 3e", "reference": REFERENCE,
            "recipient": "Brigadier Leroy", "purpose": "enquête sur un vol à l'étalage",
            "cameras": ["caisse-1", "entree"],
            "ranges": [{"start": "2026-11-20T14:00:00Z", "end": "2026-11-20T14:30:00Z"}],
        }),
    );
    let s = op.sign(&opened, "operator");
    opened.signatures.push(s);
    reg.append(opened).unwrap();
    let head = reg.head().unwrap();
    let names = [("caisse-1", "Caisse 1"), ("entree", "Entrée principale")];
    let record = ExportRecord {
        format: 1,
        export_id: "EXP-20261123-01".into(),
        case_id: CASE.into(),
        case_reference: REFERENCE.into(),
        operator: op.id.clone(),
        site_name: "Entrepôt de Vénissieux".into(),
        time_zone: "Europe/Paris".into(),
        started_at: ts("2026-11-23T10:00:00Z"),
        finished_at: ts("2026-11-23T10:04:00Z"),
        register_head: head,
        destination: Destination {
            path: "/media/usb/PV 2026_001234 Lyon-3".into(),
            drive: DriveIdentity {
                device: "/dev/sdb1".into(),
                mount_point: "/media/usb".into(),
                fs_type: "exfat".into(),
                vendor: "Kingston".into(),
                model: "IronKey D300".into(),
                serial: "KS123456".into(),
                fs_uuid: String::new(),
            },
            approved: true,
            accepted_by_operator: false,
            certification: Some("CSPN-2021/07".into()),
        },
        files: (0..files)
            .map(|i| {
                let (c, n) = names[i % 2];
                let c = if i < 2 {
                    c.to_owned()
                } else {
                    format!("{c}-{i}")
                };
                file(i, &c, n)
            })
            .collect(),
        manifest: Some(FileDigest {
            name: "manifest.json.scelle".into(),
            size: 2345,
            sha256: sha(0xab),
        }),
    };
    let mut completed = NewEntry::new(
        EntryKind::ExportCompleted,
        Some(CASE),
        &op.id,
        json!({ "record": record, "verified_entry": hex::encode(head.hash) }),
    );
    let s = op.sign(&completed, "operator");
    completed.signatures.push(s);
    reg.append(completed).unwrap();
    (reg, record)
}

fn pdftotext(pdf: &Path) -> String {
    let out = Command::new("pdftotext")
        .args(["-layout", "-enc", "UTF-8"])
        .arg(pdf)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) runs");
    assert!(out.status.success(), "pdftotext: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

fn pages(pdf: &Path) -> usize {
    let out = Command::new("pdfinfo").arg(pdf).output().unwrap();
    assert!(out.status.success(), "pdfinfo: {out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    let line = text.lines().find(|l| l.starts_with("Pages:")).unwrap();
    line["Pages:".len()..].trim().parse().unwrap()
}

fn assert_has(text: &str, want: &[&str]) {
    // A long value may wrap onto the next line: compare with whitespace collapsed.
    let flat = |t: &str| t.split_whitespace().collect::<Vec<_>>().join(" ");
    let text_flat = flat(text);
    let missing: Vec<&&str> = want
        .iter()
        .filter(|w| !text_flat.contains(&flat(w)))
        .collect();
    assert!(missing.is_empty(), "missing {missing:?} in:\n{text}");
}

fn receipt(dir: &Path, files: usize) -> (Receipt, ExportRecord) {
    let (reg, record) = register_with_export(dir, files);
    let r =
        Receipt::from_register(&reg, CASE, None, None, Some(ts("2026-11-23T14:30:00Z"))).unwrap();
    (r, record)
}

#[test]
fn french_receipt_states_every_field() {
    let dir = tempfile::tempdir().unwrap();
    let (r, _) = receipt(dir.path(), 2);
    let pdf = dir.path().join("recu.pdf");
    std::fs::write(&pdf, render(&r, Lang::Fr)).unwrap();
    let text = pdftotext(&pdf);
    let head_hash = hex::encode(r.register_head.hash);
    let head_seq = r.register_head.seq.to_string();
    assert_has(
        &text,
        &[
            "Récépissé de remise d'extraits vidéo",
            "Référence de la demande",
            REFERENCE,
            "Référence du récépissé",
            "2026-0007/EXP-20261123-01",
            CASE,
            "Fondement juridique",
            "Réquisition judiciaire",
            "Objet",
            "enquête sur un vol à l'étalage",
            "Date de remise (Europe/Paris)",
            "2026-11-23 15:30:00",
            "Date de remise (UTC)",
            "2026-11-23 14:30:00",
            "Remis par",
            "olivier Dupont (opérateur)",
            "Destinataire",
            "Brigadier Leroy",
            "Organisme du destinataire",
            "Commissariat de Lyon 3e",
            "Caméra",
            "Caisse 1 (caisse-1)",
            "Entrée principale (entree)",
            "Liaison",
            "liaison chiffrée (TLS, empreinte",
            "sha256:5c5c5c5c",
            "non indiquée",
            "Plage horaire (Europe/Paris)",
            "2026-11-20 15:00:00 – 2026-11-20 15:30:00 (Europe/Paris)",
            "Plage horaire (UTC)",
            "2026-11-20 14:00:00 – 2026-11-20 14:30:00 (UTC)",
            "Durée enregistrée",
            "0:29:30 sur 0:30:00",
            "0:30:00 sur 0:30:00",
            "Lacunes",
            "2026-11-20 15:10:00 – 2026-11-20 15:10:30 (0:00:30) : non enregistré",
            "aucune",
            "Décalage horloge enregistreur",
            "+1.250 s (± 0.020 s), mesuré le 2026-11-23 09:00:00 UTC",
            "non mesuré",
            "1 234 567 octets",
            "1 234 568 octets",
            &sha(0x10),
            &sha(0x11),
            "Tête du registre : entrée n°",
            &head_hash,
            "Manifeste : SHA-256",
            &sha(0xab),
            "Vérification par le destinataire",
            "sha256sum",
            "Signatures",
            "Reçu par",
            "Signature :",
            "Les soussignés attestent la remise et la réception des 2 fichiers décrits",
            "Fait à",
            "certification CSPN-2021/07",
            "OUVRIR.html",
            "EXP-20261123-01",
            "Kingston IronKey D300",
            "KS123456",
        ],
    );
    assert!(
        text.lines()
            .any(|l| l.contains("entrée n°") && l.trim_end().ends_with(&head_seq)),
        "register head sequence {head_seq} not printed:\n{text}"
    );
}

#[test]
fn english_receipt_states_every_field() {
    let dir = tempfile::tempdir().unwrap();
    let (r, _) = receipt(dir.path(), 2);
    // RECEIPT_PNG_DIR keeps the PDF for a look.
    let keep = std::env::var_os("RECEIPT_PNG_DIR").map(std::path::PathBuf::from);
    let pdf = keep
        .unwrap_or_else(|| dir.path().to_owned())
        .join("receipt-en.pdf");
    std::fs::write(&pdf, render(&r, Lang::En)).unwrap();
    let text = pdftotext(&pdf);
    assert_has(
        &text,
        &[
            "Receipt for the hand-over of video extracts",
            "Request reference",
            REFERENCE,
            "Judicial requisition",
            "scelle case number",
            "Purpose",
            "Hand-over date (Europe/Paris)",
            "2026-11-23 15:30:00",
            "Hand-over date (UTC)",
            "Handed over by",
            "Recipient's organisation",
            "Camera",
            "Time range (UTC)",
            "0:29:30 of 0:30:00",
            "not recorded",
            "none",
            "Recorder clock offset",
            "+1.250 s (± 0.020 s), measured 2026-11-23 09:00:00 UTC",
            "1 234 567 bytes",
            &sha(0x10),
            "Register head: hash",
            &hex::encode(r.register_head.hash),
            "Manifest: SHA-256",
            &sha(0xab),
            "How the recipient verifies",
            "Received by",
        ],
    );
}

#[test]
fn long_exports_flow_onto_more_pages_and_render() {
    let dir = tempfile::tempdir().unwrap();
    let (r, record) = receipt(dir.path(), 24);
    let pdf = dir.path().join("long.pdf");
    std::fs::write(&pdf, render(&r, Lang::Fr)).unwrap();
    let n = pages(&pdf);
    assert!(n >= 4, "24 files on {n} pages");
    let text = pdftotext(&pdf);
    for f in &record.files {
        assert_has(&text, &[&f.file.sha256, &f.file.name]);
    }
    assert_has(&text, &[&format!("page {n} / {n}"), "Reçu par"]);

    // pdftoppm renders every page (the first one is kept for a look: RECEIPT_PNG_DIR).
    let out_dir = std::env::var_os("RECEIPT_PNG_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| dir.path().to_owned());
    std::fs::create_dir_all(&out_dir).unwrap();
    let prefix = out_dir.join("recu");
    let out = Command::new("pdftoppm")
        .args(["-png", "-r", "100"])
        .arg(&pdf)
        .arg(&prefix)
        .output()
        .expect("pdftoppm runs");
    assert!(out.status.success(), "pdftoppm: {out:?}");
    assert!(out.stderr.is_empty(), "pdftoppm complains: {out:?}");
    let pngs = std::fs::read_dir(&out_dir)
        .unwrap()
        .filter(|e| {
            let p = e.as_ref().unwrap().path();
            p.extension().is_some_and(|x| x == "png")
                && p.file_name().unwrap().to_string_lossy().starts_with("recu")
        })
        .count();
    assert_eq!(pngs, n);
}

#[test]
fn the_qr_code_carries_the_manifest_hash() {
    let Ok(probe) = Command::new("zbarimg").arg("--version").output() else {
        eprintln!("zbarimg (zbar-tools) not installed: QR decoding not checked");
        return;
    };
    assert!(probe.status.success());
    let dir = tempfile::tempdir().unwrap();
    let (r, _) = receipt(dir.path(), 2);
    let pdf = dir.path().join("recu.pdf");
    std::fs::write(&pdf, render(&r, Lang::Fr)).unwrap();
    let prefix = dir.path().join("qr");
    // The QR code sits in the verification block, on the last page.
    let last = pages(&pdf).to_string();
    let out = Command::new("pdftoppm")
        .args(["-png", "-r", "150", "-singlefile", "-f", &last, "-l", &last])
        .arg(&pdf)
        .arg(&prefix)
        .output()
        .unwrap();
    assert!(out.status.success(), "pdftoppm: {out:?}");
    let out = Command::new("zbarimg")
        .args(["--raw", "-q", "-Sdisable", "-Sqrcode.enable"])
        .arg(prefix.with_extension("png"))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), sha(0xab));
}

#[test]
fn a_case_without_export_has_no_receipt() {
    let dir = tempfile::tempdir().unwrap();
    let (reg, _) = register_with_export(dir.path(), 1);
    let err = Receipt::from_register(&reg, "2026-0099", None, None, None).unwrap_err();
    assert!(
        matches!(err, scelle::receipt::ReceiptError::NoCase(_)),
        "{err}"
    );
    let err = Receipt::from_register(&reg, CASE, Some("EXP-nope"), None, None).unwrap_err();
    assert!(
        matches!(err, scelle::receipt::ReceiptError::NoExport(..)),
        "{err}"
    );
}

#[test]
fn the_fuzz_seed_records_deserialize_and_render() {
    for seed in [
        include_str!("../fuzz/corpus/receipt_render/one_file.json"),
        include_str!("../fuzz/corpus/receipt_render/no_files.json"),
    ] {
        let record: ExportRecord = serde_json::from_str(seed).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let (mut r, _) = receipt(dir.path(), 1);
        r.record = record;
        let pdf = dir.path().join("seed.pdf");
        std::fs::write(&pdf, render(&r, Lang::Fr)).unwrap();
        assert!(pdftotext(&pdf).contains("EXP-1"));
    }
}
