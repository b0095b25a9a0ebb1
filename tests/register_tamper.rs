//! Tampering with a real register through the real `sqlite3` tool, as a curious administrator
//! would, and `scelle register verify` naming the first bad entry each time.

mod register_support;

use std::path::{Path, PathBuf};

use register_support::{Site, scelle, sqlite3_ok};
use scelle::register::chain::RawEntry;
use scelle::register::{Register, SiteKey};

/// A register with a people list, two cases and a checkpoint (12 entries), closed.
fn make_register(dir: &Path) -> (PathBuf, String) {
    let db = dir.join("register.db");
    let reg = Register::open(&db).unwrap();
    let site = Site::new(dir);
    reg.append(site.people_entry()).unwrap();
    site.record_case(&reg, "2026-0001");
    site.record_case(&reg, "2026-0002");
    let key = SiteKey::load_or_create(&dir.join("site_key")).unwrap();
    reg.checkpoint(&key).unwrap();
    let head = reg.head().unwrap().to_text();
    drop(reg);
    (db, head)
}

struct Verdict {
    code: i32,
    stdout: String,
    stderr: String,
}

fn verify(db: &Path, head: Option<&str>) -> Verdict {
    let mut args = vec!["register", "verify", "--db", db.to_str().unwrap()];
    if let Some(h) = head {
        args.extend(["--head", h]);
    }
    let out = scelle(&args);
    Verdict {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn assert_names(v: &Verdict, entry: u64) {
    assert_eq!(v.code, 4, "exit status; stderr: {}", v.stderr);
    assert!(
        v.stderr.contains(&format!("first bad entry is {entry}:")),
        "expected entry {entry} named: {}",
        v.stderr
    );
}

#[test]
fn an_untouched_register_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let (db, head) = make_register(dir.path());
    let v = verify(&db, Some(&head));
    assert_eq!(v.code, 0, "{}", v.stderr);
    assert!(
        v.stdout
            .starts_with("register OK: 12 entries, 12 signatures, 1 checkpoints"),
        "{}",
        v.stdout
    );
}

#[test]
fn one_changed_payload_byte_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = make_register(dir.path());
    // The trigger refuses first...
    let out = register_support::sqlite3(&db, "UPDATE entries SET actor = 'x' WHERE seq = 3");
    assert!(!out.status.success());
    // ...so the administrator drops it and changes one byte (2026-11-20 -> 2026-11-21).
    sqlite3_ok(
        &db,
        "DROP TRIGGER entries_append_only_update;
         UPDATE entries SET payload = replace(payload, '2026-11-20T14:30', '2026-11-21T14:30')
         WHERE seq = 7;",
    );
    assert_names(&verify(&db, None), 7);
}

#[test]
fn a_deleted_middle_row_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = make_register(dir.path());
    sqlite3_ok(
        &db,
        "DROP TRIGGER entries_append_only_delete; DROP TRIGGER signatures_append_only_delete;
         DELETE FROM signatures WHERE seq = 5; DELETE FROM entries WHERE seq = 5;",
    );
    let v = verify(&db, None);
    assert_names(&v, 5);
    assert!(v.stderr.contains("missing"), "{}", v.stderr);
}

#[test]
fn reordered_rows_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = make_register(dir.path());
    // Swap entries 8 and 9 (and their signatures).
    sqlite3_ok(
        &db,
        "DROP TRIGGER entries_append_only_update; DROP TRIGGER signatures_append_only_update;
         UPDATE entries SET seq = 1008 WHERE seq = 8; UPDATE signatures SET seq = 1008 WHERE seq = 8;
         UPDATE entries SET seq = 8 WHERE seq = 9; UPDATE signatures SET seq = 8 WHERE seq = 9;
         UPDATE entries SET seq = 9 WHERE seq = 1008; UPDATE signatures SET seq = 9 WHERE seq = 1008;",
    );
    assert_names(&verify(&db, None), 8);
}

#[test]
fn a_replaced_signature_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = make_register(dir.path());
    // Olivier's signature of entry 2 put in place of his signature of entry 4.
    sqlite3_ok(
        &db,
        "DROP TRIGGER signatures_append_only_update;
         UPDATE signatures SET signature = (SELECT signature FROM signatures WHERE seq = 2)
         WHERE seq = 4;",
    );
    assert_names(&verify(&db, None), 4);
}

/// Recomputes every hash from `from` on, as an attacker who knows the format would.
fn rehash_from(db: &Path, from: i64) {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.execute_batch(
        "DROP TRIGGER IF EXISTS entries_append_only_update;
         DROP TRIGGER IF EXISTS signatures_append_only_update;",
    )
    .unwrap();
    let mut prev: String = conn
        .query_row("SELECT hash FROM entries WHERE seq = ?1", [from - 1], |r| {
            r.get(0)
        })
        .unwrap();
    let last: i64 = conn
        .query_row("SELECT max(seq) FROM entries", [], |r| r.get(0))
        .unwrap();
    for seq in from..=last {
        let mut raw = conn
            .query_row(
                "SELECT seq, time, kind, case_id, actor, payload, statement, prev_hash, hash FROM entries WHERE seq = ?1",
                [seq],
                |r| {
                    Ok(RawEntry {
                        seq: r.get(0)?,
                        time: r.get(1)?,
                        kind: r.get(2)?,
                        case_id: r.get(3)?,
                        actor: r.get(4)?,
                        payload: r.get(5)?,
                        statement: r.get(6)?,
                        prev_hash: r.get(7)?,
                        hash: r.get(8)?,
                        signatures: vec![],
                    })
                },
            )
            .unwrap();
        let mut stmt = conn
            .prepare("SELECT person, role, signature FROM signatures WHERE seq = ?1 ORDER BY idx")
            .unwrap();
        raw.signatures = stmt
            .query_map([seq], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        raw.prev_hash = prev.clone();
        let hash = hex::encode(raw.compute_hash());
        conn.execute(
            "UPDATE entries SET prev_hash = ?1, hash = ?2 WHERE seq = ?3",
            rusqlite::params![raw.prev_hash, hash, seq],
        )
        .unwrap();
        prev = hash;
    }
}

#[test]
fn a_replaced_signature_with_a_rebuilt_chain_is_still_named() {
    let dir = tempfile::tempdir().unwrap();
    let (db, head) = make_register(dir.path());
    sqlite3_ok(
        &db,
        "DROP TRIGGER signatures_append_only_update;
         UPDATE signatures SET signature = (SELECT signature FROM signatures WHERE seq = 2)
         WHERE seq = 4;",
    );
    rehash_from(&db, 4);
    let v = verify(&db, None);
    assert_names(&v, 4);
    assert!(v.stderr.contains("signature of olivier"), "{}", v.stderr);
    // A changed payload with a rebuilt chain breaks the statement, and the signatures.
    let dir2 = tempfile::tempdir().unwrap();
    let (db2, _) = make_register(dir2.path());
    sqlite3_ok(
        &db2,
        "DROP TRIGGER entries_append_only_update;
         UPDATE entries SET payload = replace(payload, 'OPJ Martin', 'OPJ Mertin'),
           statement = replace(statement, 'OPJ Martin', 'OPJ Mertin') WHERE seq = 6;",
    );
    rehash_from(&db2, 6);
    assert_names(&verify(&db2, None), 6);
    // And against the head printed earlier, the rewrite shows too.
    assert_eq!(verify(&db, Some(&head)).code, 4);
}

#[test]
fn deleting_the_newest_rows_is_caught_by_a_known_head() {
    let dir = tempfile::tempdir().unwrap();
    let (db, head) = make_register(dir.path());
    sqlite3_ok(
        &db,
        "DROP TRIGGER entries_append_only_delete; DROP TRIGGER signatures_append_only_delete;
         DELETE FROM signatures WHERE seq >= 11; DELETE FROM entries WHERE seq >= 11;",
    );
    // The shortened chain is consistent in itself...
    assert_eq!(verify(&db, None).code, 0);
    // ...but not with the head printed on the last receipt.
    let v = verify(&db, Some(&head));
    assert_eq!(v.code, 4, "{}", v.stderr);
    assert!(v.stderr.contains("truncated"), "{}", v.stderr);
    assert!(v.stderr.contains("ends at 10:"), "{}", v.stderr);
}

#[test]
fn a_bad_head_argument_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = make_register(dir.path());
    assert_eq!(verify(&db, Some("12:zz")).code, 2);
}
