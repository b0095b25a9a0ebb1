//! Purge (issue 8, PUR-1…4) with a fake clock: a closed case with an export folder, a staged
//! file and an attached document, recorded in a real register. Nothing is purged before the
//! deadline; the export and staged copies are purged 30 days after closing; the document is
//! refused until 5 years after; one `purged` entry per item.
//!
//! The export folder lives on a real ext4 filesystem in a loop image when this machine lets
//! the test mount one (root, loop devices): the sealed file's blocks are found with
//! `filefrag -v` before the purge, and after it (and `umount`) the image is read back to show
//! the old content is gone from those blocks — and from the whole image. Where mounting is not
//! possible, `overwrite_stays_in_place` still shows with `filefrag` that the overwrite hits
//! the file's own blocks.
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "tests say what they skip"
)]

mod register_support;

use std::path::{Path, PathBuf};
use std::process::Command;

use jiff::{Timestamp, ToSpan};
use register_support::Site;
use scelle::purge::{self, FixedClock, ItemKind, PurgeError};
use scelle::register::{EntryKind, NewEntry, Register};
use serde_json::json;

const CASE: &str = "2026-0003";
const MARKER: &[u8; 32] = b"EVIDENCE-PLAINTEXT-MARKER-012345";

/// A mounted loop filesystem, unmounted on drop.
struct Loop {
    image: PathBuf,
    mount: PathBuf,
    mounted: bool,
}

impl Loop {
    fn try_new(dir: &Path) -> Option<Loop> {
        let image = dir.join("fs.img");
        let mount = dir.join("mnt");
        std::fs::create_dir_all(&mount).ok()?;
        std::fs::File::create(&image).ok()?.set_len(16 << 20).ok()?;
        let ok = |c: &mut Command| c.output().map(|o| o.status.success()).unwrap_or(false);
        if !ok(Command::new("mkfs.ext4").args(["-q", "-F"]).arg(&image)) {
            return None;
        }
        if !ok(Command::new("mount")
            .args(["-o", "loop"])
            .arg(&image)
            .arg(&mount))
        {
            return None;
        }
        Some(Loop {
            image,
            mount,
            mounted: true,
        })
    }

    fn unmount(&mut self) {
        if self.mounted {
            let out = Command::new("umount").arg(&self.mount).output().unwrap();
            assert!(out.status.success(), "umount: {out:?}");
            self.mounted = false;
        }
    }
}

impl Drop for Loop {
    fn drop(&mut self) {
        if self.mounted {
            let _ = Command::new("umount").arg(&self.mount).output();
        }
    }
}

/// Physical byte ranges of `path` (`filefrag -v`), or `None` if filefrag cannot tell.
fn extents(path: &Path) -> Option<Vec<(u64, u64)>> {
    let out = Command::new("filefrag").arg("-v").arg(path).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let block: u64 = text
        .split("blocks of ")
        .nth(1)?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    let mut ranges = Vec::new();
    for line in text.lines() {
        let cols: Vec<&str> = line.split(':').map(str::trim).collect();
        if cols.len() < 4 || cols[0].parse::<u64>().is_err() {
            continue;
        }
        let start: u64 = cols[2].split("..").next()?.trim().parse().ok()?;
        let len: u64 = cols[3].parse().ok()?;
        ranges.push((start * block, len * block));
    }
    (!ranges.is_empty()).then_some(ranges)
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// A sealed-looking file: the container magic, then content full of the marker.
fn sealed_bytes(len: usize) -> Vec<u8> {
    let mut b = scelle::seal::MAGIC.to_vec();
    b.resize(100, 7);
    while b.len() < len {
        b.extend_from_slice(MARKER);
    }
    b.truncate(len);
    b
}

struct World {
    reg: Register,
    state: PathBuf,
    export_dir: PathBuf,
    document: String,
    closed_at: Timestamp,
}

fn world(dir: &Path, export_root: &Path) -> World {
    let site = Site::new(dir);
    let state = dir.join("state");
    std::fs::create_dir_all(&state).unwrap();
    let reg = Register::open(&state.join("register.sqlite")).unwrap();
    reg.append(site.people_entry()).unwrap();
    let op = &site.operator;
    let signed = |kind, payload: serde_json::Value| {
        let mut e = NewEntry::new(kind, Some(CASE), &op.id, payload);
        let s = op.sign(&e, "operator");
        e.signatures.push(s);
        e
    };
    reg.append(signed(
        EntryKind::CaseOpened,
        json!({"ground": "incident", "requester": "M. Petit", "organisation": "Assureur",
               "reference": "SIN-42", "recipient": "M. Petit", "purpose": "sinistre",
               "cameras": ["quai"], "ranges": [{"start": "2026-11-20T14:00:00Z",
               "end": "2026-11-20T14:30:00Z"}]}),
    ))
    .unwrap();
    // The attached document, stored as the case service stores it.
    let store = scelle::case::documents::DocumentStore::new(&state);
    let document = store.put(b"courrier de l'assureur").unwrap();
    reg.append(signed(
        EntryKind::DocumentAttached,
        json!({"sha256": document, "name": "demande.pdf", "size": 22, "role": "request"}),
    ))
    .unwrap();
    // The export folder: two sealed files and the plain-text notice.
    let export_dir = export_root.join("SIN-42");
    std::fs::create_dir_all(&export_dir).unwrap();
    std::fs::write(
        export_dir.join("quai_a.mp4.scelle"),
        sealed_bytes(256 << 10),
    )
    .unwrap();
    std::fs::write(export_dir.join("manifest.json.scelle"), sealed_bytes(4096)).unwrap();
    std::fs::write(export_dir.join("LISEZMOI.txt"), b"Lisez-moi").unwrap();
    let record = json!({"export_id": "EXP-1", "case_id": CASE,
        "destination": {"path": export_dir, "drive": {}}});
    reg.append(signed(
        EntryKind::ExportCompleted,
        json!({"record": record, "verified_entry": "00"}),
    ))
    .unwrap();
    // Something staged for the case.
    let staging = state.join("staging").join(CASE);
    std::fs::create_dir_all(&staging).unwrap();
    std::fs::write(staging.join("segment-0001.tmp"), MARKER.repeat(64)).unwrap();
    let closed = reg
        .append(signed(
            EntryKind::CaseClosed,
            json!({"reason": "sinistre réglé"}),
        ))
        .unwrap();
    World {
        reg,
        state,
        export_dir,
        document,
        closed_at: closed.time,
    }
}

fn purged_entries(reg: &Register) -> Vec<serde_json::Value> {
    reg.entries(Some(CASE))
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == EntryKind::Purged)
        .map(|e| {
            assert_eq!(e.actor, "scelle");
            e.payload
        })
        .collect()
}

#[test]
fn nothing_before_the_deadline_everything_due_after_one_entry_each() {
    let dir = tempfile::tempdir().unwrap();
    let mut lo = Loop::try_new(dir.path());
    let export_root = match &lo {
        Some(l) => l.mount.clone(),
        None => {
            eprintln!("cannot mount a loop filesystem here: block check done on the host fs only");
            dir.path().join("drive")
        }
    };
    let w = world(dir.path(), &export_root);
    let sealed = w.export_dir.join("quai_a.mp4.scelle");
    let before = std::fs::read(&sealed).unwrap();
    std::fs::File::open(&sealed).unwrap().sync_all().unwrap();
    let blocks = extents(&sealed);
    // Control: the old content really is in those blocks of the image before the purge.
    if let (Some(l), Some(blocks)) = (&lo, &blocks) {
        let image = std::fs::read(&l.image).unwrap();
        let (start, len) = blocks[0];
        assert!(contains(
            &image[start as usize..(start + len) as usize],
            MARKER
        ));
    }

    // 29 days after closing: nothing is due, nothing is purged.
    let day29 = FixedClock(w.closed_at + (29 * 24 + 23).hours());
    let items = purge::items(&w.reg, &w.state).unwrap();
    assert_eq!(items.len(), 3, "{items:#?}");
    assert!(items.iter().all(|i| !i.is_due(day29.0)));
    assert!(
        purge::run_due(&w.reg, &w.state, "scelle", &day29)
            .unwrap()
            .is_empty()
    );
    assert!(sealed.exists());
    assert!(purged_entries(&w.reg).is_empty());
    // The document cannot be purged on request before 5 years.
    let err = purge::purge_one(
        &w.reg,
        &w.state,
        &format!("document:{}", w.document),
        "olivier",
        &day29,
    )
    .unwrap_err();
    assert!(matches!(err, PurgeError::Retained { .. }), "{err}");
    assert!(err.to_string().contains("5 years"), "{err}");

    // 31 days after: the export folder and the staged file go; the document stays.
    let day31 = FixedClock(w.closed_at + (31 * 24).hours());
    let overdue: Vec<_> = items.iter().filter(|i| i.is_overdue(day31.0)).collect();
    assert_eq!(overdue.len(), 2);
    let done = purge::run_due(&w.reg, &w.state, "scelle", &day31).unwrap();
    assert_eq!(done.len(), 2, "{done:#?}");
    for (item, r) in &done {
        assert!(r.is_ok(), "{}: {r:?}", item.id);
        assert_ne!(item.kind, ItemKind::Document);
    }
    assert!(!w.export_dir.exists());
    assert!(
        !w.state
            .join("staging")
            .join(CASE)
            .join("segment-0001.tmp")
            .exists()
    );
    assert!(w.state.join("documents").join(&w.document).exists());
    let entries = purged_entries(&w.reg);
    assert_eq!(entries.len(), 2);
    let export = entries
        .iter()
        .find(|p| p["item"] == "export:EXP-1")
        .unwrap();
    let files = export["files"].as_array().unwrap();
    assert_eq!(files.len(), 3);
    let f = files
        .iter()
        .find(|f| f["path"].as_str().unwrap().ends_with("quai_a.mp4.scelle"))
        .unwrap();
    use sha2::Digest;
    assert_eq!(f["sha256"], hex::encode(sha2::Sha256::digest(&before)));
    assert_eq!(f["size"], before.len() as u64);
    assert_eq!(f["sealed"], true);
    assert_eq!(export["on_request"], false);
    // A second pass finds nothing more.
    assert!(
        purge::run_due(&w.reg, &w.state, "scelle", &day31)
            .unwrap()
            .is_empty()
    );

    // 5 years and a day after: the document is due and purged.
    let later = FixedClock(
        w.closed_at
            .to_zoned(jiff::tz::TimeZone::UTC)
            .checked_add(5.years().days(1))
            .unwrap()
            .timestamp(),
    );
    let done = purge::run_due(&w.reg, &w.state, "scelle", &later).unwrap();
    assert_eq!(done.len(), 1);
    assert!(done[0].1.is_ok());
    assert!(!w.state.join("documents").join(&w.document).exists());
    assert_eq!(purged_entries(&w.reg).len(), 3);
    assert!(purge::items(&w.reg, &w.state).unwrap().is_empty());
    w.reg.verify(None).unwrap();

    // The old content is gone from the file's former blocks (and from the whole image).
    if let (Some(l), Some(blocks)) = (lo.as_mut(), blocks) {
        l.unmount();
        let image = std::fs::read(&l.image).unwrap();
        for (start, len) in &blocks {
            let span = &image[*start as usize..(*start + *len) as usize];
            assert!(!contains(span, MARKER), "marker left in block at {start}");
        }
        assert!(
            !contains(&image, MARKER),
            "marker left somewhere in the image"
        );
        eprintln!("checked {} extent(s) of the loop image", blocks.len());
    }
}

#[test]
fn overwrite_stays_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.mp4.scelle");
    std::fs::write(&path, sealed_bytes(1 << 20)).unwrap();
    std::fs::File::open(&path).unwrap().sync_all().unwrap();
    let before = extents(&path);
    let erased = purge::erase::overwrite(&path).unwrap();
    assert!(erased.sealed);
    let after = std::fs::read(&path).unwrap();
    assert_eq!(after.len(), 1 << 20);
    assert!(!contains(&after, MARKER));
    assert_ne!(
        after[52..100],
        sealed_bytes(100)[52..100],
        "wrapped key destroyed"
    );
    match (before, extents(&path)) {
        (Some(b), Some(a)) => assert_eq!(b, a, "the overwrite went to the same blocks"),
        _ => eprintln!("filefrag cannot map this filesystem: extents not compared"),
    }
}

#[test]
fn early_purge_on_request_is_recorded_as_such() {
    let dir = tempfile::tempdir().unwrap();
    let w = world(dir.path(), &dir.path().join("drive"));
    let now = FixedClock(w.closed_at + 24.hours());
    let e = purge::purge_one(&w.reg, &w.state, "export:EXP-1", "olivier", &now).unwrap();
    assert_eq!(e.actor, "olivier");
    assert_eq!(e.payload["on_request"], true);
    assert!(!w.export_dir.exists());
    let err = purge::purge_one(&w.reg, &w.state, "export:EXP-1", "olivier", &now).unwrap_err();
    assert!(matches!(err, PurgeError::NotFound(_)), "{err}");
}

#[test]
fn a_copy_that_cannot_be_erased_is_reported_overdue_every_tick() {
    let dir = tempfile::tempdir().unwrap();
    let w = world(dir.path(), &dir.path().join("drive"));
    let stuck = w.export_dir.join("LISEZMOI.txt");
    // An immutable file: even root cannot overwrite or unlink it.
    let ok = Command::new("chattr")
        .arg("+i")
        .arg(&stuck)
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ok {
        eprintln!("chattr +i not available here: overdue reporting not exercised");
        return;
    }
    let day31 = FixedClock(w.closed_at + (31 * 24).hours());
    for _ in 0..2 {
        let t = purge::tick(&w.reg, &w.state, &day31).unwrap();
        assert_eq!(t.failed.len(), 1, "{t:?}");
        assert_eq!(t.failed[0].0, "export:EXP-1");
        assert_eq!(t.overdue.len(), 1);
        assert_eq!(t.overdue[0].id, "export:EXP-1");
    }
    // The staged file went on the first tick; the export's sealed files were erased and that
    // is recorded (`complete: false`, once: the second tick erased nothing more).
    let entries = purged_entries(&w.reg);
    assert_eq!(entries.len(), 2, "{entries:#?}");
    let partial = entries
        .iter()
        .find(|e| e["item"] == "export:EXP-1")
        .unwrap();
    assert_eq!(partial["complete"], false);
    assert_eq!(partial["files"].as_array().unwrap().len(), 2);
    assert!(!w.export_dir.join("quai_a.mp4.scelle").exists());
    Command::new("chattr")
        .arg("-i")
        .arg(&stuck)
        .status()
        .unwrap();
    let t = purge::tick(&w.reg, &w.state, &day31).unwrap();
    assert_eq!(t.purged, vec!["export:EXP-1".to_owned()]);
    assert!(t.overdue.is_empty());
    assert!(!w.export_dir.exists());
    let entries = purged_entries(&w.reg);
    assert_eq!(entries.len(), 3);
    assert_eq!(entries[2]["complete"], true);
}
