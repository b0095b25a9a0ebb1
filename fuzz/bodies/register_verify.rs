//! Body of the `register_verify` fuzz target, shared with `tests/fuzz_corpus.rs` (which replays the
//! saved corpus through it under plain `cargo test`), so both exercise the same code.

use scelle::register::chain::RawEntry;
use scelle::report::{self, Lang, Report};
use scelle::register::{Head, Register, VerifyOptions, witness};

/// Runs one input.
pub fn run(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = Head::parse(&text);
    // The same bytes as a witness file (log lines, receipts, SEQ:HEX lists).
    let heads = witness::parse(&text, "fuzz");
    let dir = std::env::temp_dir().join(format!("scelle-fuzz-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let db = dir.join("register.db");
    let _ = std::fs::remove_file(&db);
    let _ = std::fs::remove_file(dir.join("register.db-wal"));
    let _ = std::fs::remove_file(dir.join("register.db-shm"));
    drop(Register::open(&db).expect("fresh register"));
    {
        let conn = rusqlite::Connection::open(&db).expect("open");
        let mut prev = hex::encode([0u8; 32]);
        for (i, row) in text.split('\u{1e}').take(64).enumerate() {
            let f: Vec<&str> = row.split('\u{1f}').collect();
            let get = |n: usize| f.get(n).copied().unwrap_or("").to_owned();
            let case_id = Some(get(2)).filter(|c| !c.is_empty());
            let mut raw = RawEntry {
                seq: i as i64 + 1,
                time: get(0),
                kind: get(1),
                case_id,
                actor: get(3),
                payload: get(4),
                statement: get(5),
                prev_hash: prev.clone(),
                hash: String::new(),
                signatures: f
                    .get(6..)
                    .unwrap_or(&[])
                    .chunks(3)
                    .map(|c| {
                        let g = |n: usize| c.get(n).copied().unwrap_or("").to_owned();
                        (g(0), g(1), g(2))
                    })
                    .collect(),
            };
            if raw.statement.is_empty() {
                raw.statement = format!(
                    "scelle-register statement v1\nkind: {}\ncase: {}\nactor: {}\npayload: {}\n",
                    raw.kind,
                    raw.case_id.as_deref().unwrap_or("-"),
                    raw.actor,
                    raw.payload
                );
            }
            raw.hash = hex::encode(raw.compute_hash());
            prev = raw.hash.clone();
            let _ = conn.execute(
                "INSERT INTO entries VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                rusqlite::params![
                    raw.seq,
                    raw.time,
                    raw.kind,
                    raw.case_id,
                    raw.actor,
                    raw.payload,
                    raw.statement,
                    raw.prev_hash,
                    raw.hash
                ],
            );
            for (idx, (p, r, s)) in raw.signatures.iter().enumerate() {
                let _ = conn.execute(
                    "INSERT INTO signatures VALUES (?1, ?2, ?3, ?4, ?5)",
                    rusqlite::params![raw.seq, idx as i64, p, r, s],
                );
            }
        }
    }
    let Ok(reg) = Register::open_read_only(&db) else {
        return;
    };
    let verified = reg.verify(None);
    if let Ok(report) = &verified {
        let _ = reg.check_witnesses(&heads, report);
    }
    // The daemon's start: everything up to the head trusted (folded, not re-verified).
    if let Ok(head) = reg.head() {
        let _ = reg.verify_with(VerifyOptions {
            trusted: Some(&head),
            ..VerifyOptions::default()
        });
    }
    if let Ok(entries) = reg.entries(None) {
        for lang in [Lang::Fr, Lang::En] {
            let rep = Report::new(
                &entries,
                verified.as_ref().map(|_| ()).map_err(|e| e.to_string()),
                None,
                None,
                lang,
            );
            let _ = rep.to_csv();
            let _ = rep.to_json();
            let _ = report::pdf::to_pdf(&rep);
        }
    }
}
