//! Register benchmark: durable appends per second (each append fsynced, one signature
//! verified on the way in), then the time to verify a register of N signed entries.
//!
//! `cargo run --release --example register_bench -- [DIR] [N]` (default: a temporary
//! directory, N = 100000). Run it under `nice -n 19` on a shared machine.

use std::time::Instant;

use scelle::register::signature::sign_with_key;
use scelle::register::{EntryKind, EntrySignature, NewEntry, PersonRecord, Register, SiteKey};
use serde_json::json;
use ssh_key::{Algorithm, PrivateKey};

fn signed_entry(key: &PrivateKey, i: u64) -> NewEntry {
    let mut e = NewEntry::new(
        if i.is_multiple_of(2) {
            EntryKind::ExportStarted
        } else {
            EntryKind::ExportCompleted
        },
        Some(&format!("2026-{:06}", i / 4)),
        "olivier",
        json!({
            "cameras": ["caisse-1", "entrée"],
            "ranges": [{"start": "2026-11-20T14:00:00Z", "end": "2026-11-20T14:30:00Z"}],
            "format": "mp4",
            "files": [{"name": "caisse-1.scelle", "size": 1_048_576 + i, "sha256": "9f".repeat(32)}],
            "i": i,
        }),
    );
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
    let db = dir.join("bench-register.db");
    let _ = std::fs::remove_file(&db);
    let reg = Register::open(&db).expect("open");
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
        "admin",
        json!({"people": [person]}),
    ))
    .expect("people");

    // 1. Durable appends, one transaction + fsync each (signing is the signer's, done before).
    let durable = 1000.min(total);
    let entries: Vec<NewEntry> = (0..durable).map(|i| signed_entry(&key, i)).collect();
    let t = Instant::now();
    for e in entries {
        reg.append(e).expect("append");
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "durable appends: {durable} signed entries in {secs:.2} s = {:.0} appends/s ({:.2} ms each)",
        durable as f64 / secs,
        secs * 1000.0 / durable as f64
    );

    // 2. Fill up to N signed entries in batches of 1000 (one commit each).
    let t = Instant::now();
    let mut i = durable;
    while i < total {
        let n = 1000.min(total - i);
        let batch: Vec<NewEntry> = (i..i + n).map(|j| signed_entry(&key, j)).collect();
        reg.append_all(batch).expect("append_all");
        i += n;
    }
    let site = SiteKey::from_private(
        PrivateKey::random(&mut rand::rngs::OsRng, Algorithm::Ed25519).expect("key"),
    )
    .expect("site key");
    reg.checkpoint(&site).expect("checkpoint");
    println!(
        "filled to {} entries in {:.1} s (batched, signing included)",
        total + 2,
        t.elapsed().as_secs_f64()
    );
    let size = std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0)
        + std::fs::metadata(dir.join("bench-register.db-wal"))
            .map(|m| m.len())
            .unwrap_or(0);
    println!("database size: {:.1} MiB", size as f64 / 1_048_576.0);

    // 3. Verify everything from a fresh read-only connection.
    drop(reg);
    let reg = Register::open_read_only(&db).expect("open read-only");
    let t = Instant::now();
    let report = reg.verify(None).expect("verify");
    let secs = t.elapsed().as_secs_f64();
    println!(
        "verify: {} entries, {} signatures in {secs:.2} s = {:.0} entries/s",
        report.entries,
        report.signatures,
        report.entries as f64 / secs
    );
}
