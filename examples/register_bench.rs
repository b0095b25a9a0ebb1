//! Register benchmark on a sealed register (every entry signed by its person and sealed by the
//! site key): durable appends per second, the time to verify N entries, the daemon's start-up
//! checks on that register, and durable appends as the daemon makes them (head file and
//! `register-head` hook, a checkpoint every 100 appends).
//!
//! `cargo run --release --example register_bench -- [DIR] [N]` (default: a temporary
//! directory, N = 100000). Run it under `nice -n 19` on a shared machine.
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "benchmarks print figures"
)]

use std::sync::Arc;
use std::time::Instant;

#[path = "support/procfs.rs"]
mod procfs;

use scelle::case::Cases;
use scelle::daemon::trust;
use scelle::register::signature::sign_with_key;
use scelle::register::{EntryKind, EntrySignature, NewEntry, PersonRecord, Register, SiteKey};
use serde_json::json;
use ssh_key::{Algorithm, PrivateKey};

const FILE: &str = "register.sqlite";

/// Entry `i` of a cycle of four per case (opened, document, requester verified, closed), each
/// signed by the operator; no entry needs a link, so batches can be built ahead.
fn signed_entry(key: &PrivateKey, i: u64) -> NewEntry {
    let case = format!("2026-{:06}", i / 4);
    let (kind, payload) = match i % 4 {
        0 => (
            EntryKind::CaseOpened,
            json!({"ground": "incident", "requester": "M. Durand", "organisation": "magasin",
                   "reference": format!("INC-{i}"), "recipient": "M. Durand", "purpose": "vol",
                   "cameras": ["caisse-1", "entrée"],
                   "ranges": [{"start": "2026-11-20T14:00:00Z", "end": "2026-11-20T14:30:00Z"}]}),
        ),
        1 => (
            EntryKind::DocumentAttached,
            json!({"sha256": "9f".repeat(32), "name": "plainte.pdf", "size": 1_048_576 + i,
                   "role": "request"}),
        ),
        2 => (
            EntryKind::RequesterVerified,
            json!({"how": "carte n° 1234"}),
        ),
        _ => (EntryKind::CaseClosed, json!({"reason": "remis"})),
    };
    let mut e = NewEntry::new(kind, Some(&case), "olivier", payload);
    let signature = sign_with_key(key, &e.statement()).expect("sign");
    e.signatures.push(EntrySignature {
        person: "olivier".into(),
        role: "operator".into(),
        signature,
    });
    e
}

fn main() {
    let mut args = std::env::args().skip(1);
    let tmp;
    let dir = match args.next() {
        Some(d) => std::path::PathBuf::from(d),
        None => {
            tmp = tempfile::tempdir().expect("temp dir");
            tmp.path().to_owned()
        }
    };
    let total: u64 = args
        .next()
        .map(|n| n.parse().expect("N"))
        .unwrap_or(100_000);
    let db = dir.join(FILE);
    for f in [
        FILE,
        "register.sqlite-wal",
        "register.sqlite-shm",
        "register.head",
        "site-key",
    ] {
        let _ = std::fs::remove_file(dir.join(f));
    }
    let site = Arc::new(SiteKey::load_or_create(&dir.join("site-key")).expect("site key"));
    let reg = Register::open_with_site_key(&db, site.clone()).expect("open");
    let key = PrivateKey::random(&mut rand::rngs::OsRng, Algorithm::Ed25519).expect("key");
    let person = PersonRecord {
        id: "olivier".into(),
        name: "Olivier Dupont".into(),
        unix_account: "olivier".into(),
        roles: vec!["operator".into()],
        public_key: key.public_key().to_openssh().expect("openssh"),
    };
    reg.append(NewEntry::new(
        EntryKind::PeopleChanged,
        None,
        "scelle",
        json!({"people": [person]}),
    ))
    .expect("people");

    // 1. Durable appends, one transaction + fsync + seal each (the person signs before).
    let durable = 1000.min(total);
    let entries: Vec<NewEntry> = (0..durable).map(|i| signed_entry(&key, i)).collect();
    let t = Instant::now();
    for e in entries {
        reg.append(e).expect("append");
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "durable sealed appends: {durable} in {secs:.2} s = {:.0} appends/s ({:.2} ms each)",
        durable as f64 / secs,
        secs * 1000.0 / durable as f64
    );

    // 2. Fill up to N entries in batches of 1000 (one commit each), a checkpoint every 10 000.
    let t = Instant::now();
    let mut i = durable;
    while i < total {
        let n = 1000.min(total - i);
        let batch: Vec<NewEntry> = (i..i + n).map(|j| signed_entry(&key, j)).collect();
        reg.append_all(batch).expect("append_all");
        i += n;
        if i % 10_000 == 0 {
            reg.checkpoint_if_changed().expect("checkpoint");
        }
    }
    reg.checkpoint_if_changed().expect("checkpoint");
    let head = reg.head().expect("head");
    trust::write_head_file(&dir.join(trust::HEAD_FILE), &head).expect("head file");
    println!(
        "filled to {} entries in {:.1} s (batched, signing and sealing included)",
        head.seq,
        t.elapsed().as_secs_f64()
    );
    let size = std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0)
        + std::fs::metadata(dir.join("register.sqlite-wal"))
            .map(|m| m.len())
            .unwrap_or(0);
    println!("database size: {:.1} MiB", size as f64 / 1_048_576.0);

    // 3. Verify everything from a fresh read-only connection (what `register verify` does).
    drop(reg);
    let ro = Register::open_read_only(&db).expect("open read-only");
    let (t, cpu) = (Instant::now(), procfs::cpu_secs("self"));
    let report = ro.verify(None).expect("verify");
    let (secs, cpu) = (t.elapsed().as_secs_f64(), procfs::cpu_secs("self") - cpu);
    println!(
        "verify: {} entries, {} signatures in {secs:.2} s = {:.0} entries/s ({cpu:.2} s of CPU, {:.0} entries per CPU second)",
        report.entries,
        report.signatures,
        report.entries as f64 / secs,
        report.entries as f64 / cpu
    );
    drop(ro);

    // 4. The daemon's start on that register: lock, head file, verification from the last
    //    trusted checkpoint, sealing check, and folding the cases.
    let (t, cpu) = (Instant::now(), procfs::cpu_secs("self"));
    let _lock = trust::lock_state_dir(&dir).expect("lock");
    let trusted = trust::open_register(&dir, FILE).expect("start checks");
    let checks = t.elapsed().as_secs_f64();
    let cases = Cases::load(trusted.register.clone(), &dir).expect("cases");
    println!(
        "daemon start: checks {checks:.2} s ({} entries, {} trusted up to the last checkpoint), \
         with the case fold {:.2} s ({} cases), {:.2} s of CPU",
        trusted.report.entries,
        trusted.report.trusted,
        t.elapsed().as_secs_f64(),
        cases.list().len(),
        procfs::cpu_secs("self") - cpu
    );

    // 5. Appends as the daemon makes them (head file written and head logged after each),
    //    a checkpoint every 100.
    let reg = trusted.register;
    let n = 500;
    let entries: Vec<NewEntry> = (total..total + n).map(|i| signed_entry(&key, i)).collect();
    let t = Instant::now();
    for (k, e) in entries.into_iter().enumerate() {
        reg.append(e).expect("append");
        if k % 100 == 99 {
            reg.checkpoint_if_changed().expect("checkpoint");
        }
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "daemon appends with head file and checkpoints: {n} in {secs:.2} s = {:.0} appends/s",
        n as f64 / secs
    );
}
