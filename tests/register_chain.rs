//! The chain through the library API: appends, heads, signatures refused or accepted,
//! checkpoints, the append-only triggers, schema upgrades and concurrent appends.

mod register_support;

use std::sync::Arc;

use register_support::Site;
use scelle::register::{EntryKind, Head, NewEntry, Register, RegisterError, SiteKey, schema};
use serde_json::json;

fn fresh() -> (tempfile::TempDir, Register, Site) {
    let dir = tempfile::tempdir().unwrap();
    let reg = Register::open(&dir.path().join("register.db")).unwrap();
    let site = Site::new(dir.path());
    reg.append(site.people_entry()).unwrap();
    (dir, reg, site)
}

#[test]
fn appends_link_and_verify() {
    let (dir, reg, site) = fresh();
    assert_eq!(reg.head().unwrap().seq, 1);
    site.record_case(&reg, "2026-0001");
    site.record_case(&reg, "2026-0002");
    let key = SiteKey::load_or_create(&dir.path().join("site_key")).unwrap();
    let cp = reg.checkpoint(&key).unwrap();
    assert_eq!(cp.kind, EntryKind::Checkpoint);
    let all = reg.entries(None).unwrap();
    assert_eq!(all.len(), 12);
    for pair in all.windows(2) {
        assert_eq!(pair[1].prev_hash, pair[0].hash);
        assert_eq!(pair[1].seq, pair[0].seq + 1);
    }
    assert_eq!(reg.entries(Some("2026-0002")).unwrap().len(), 5);
    let report = reg.verify(Some(&reg.head().unwrap())).unwrap();
    assert_eq!(report.entries, 12);
    assert_eq!(report.checkpoints, 1);
    assert_eq!(report.signatures, 12);
    // Reopening keeps everything (and the same site key).
    drop(reg);
    let reg = Register::open(&dir.path().join("register.db")).unwrap();
    let key2 = SiteKey::load_or_create(&dir.path().join("site_key")).unwrap();
    assert_eq!(key.public_key(), key2.public_key());
    reg.checkpoint(&key2).unwrap();
    reg.verify(None).unwrap();
}

#[test]
fn statement_does_not_depend_on_position_or_key_order() {
    let a = NewEntry::new(
        EntryKind::CaseOpened,
        Some("c"),
        "olivier",
        json!({"b": 1, "a": [2]}),
    );
    let mut b = NewEntry::new(
        EntryKind::CaseOpened,
        Some("c"),
        "olivier",
        json!({"a": [2], "b": 1}),
    );
    b.signatures.clear();
    assert_eq!(a.statement(), b.statement());
    let text = String::from_utf8(a.statement()).unwrap();
    assert_eq!(
        text,
        "scelle-register statement v1\nkind: case-opened\ncase: c\nactor: olivier\npayload: {\"a\":[2],\"b\":1}\n"
    );
}

#[test]
fn signatures_are_checked_on_append() {
    let (dir, reg, site) = fresh();
    let mut e = NewEntry::new(EntryKind::CaseAuthorized, Some("c1"), "anne", json!({}));
    // The operator may not sign as authorizer: the role is not theirs.
    let s = site.operator.sign(&e, "authorizer");
    e.signatures.push(s);
    let err = reg.append(e.clone()).unwrap_err();
    assert!(
        matches!(err, RegisterError::SignatureRefused { ref person, .. } if person == "olivier"),
        "{err}"
    );
    // A signature over another statement does not verify.
    let other = NewEntry::new(EntryKind::CaseAuthorized, Some("c2"), "anne", json!({}));
    e.signatures = vec![site.authorizer.sign(&other, "authorizer")];
    assert!(matches!(
        reg.append(e.clone()).unwrap_err(),
        RegisterError::SignatureRefused { .. }
    ));
    // An unknown person is refused.
    let stranger = register_support::Person::new(dir.path(), "mallory", &["authorizer"]);
    e.signatures = vec![stranger.sign(&e, "authorizer")];
    assert!(matches!(
        reg.append(e.clone()).unwrap_err(),
        RegisterError::SignatureRefused { .. }
    ));
    // The right one is accepted; nothing was appended by the refusals.
    e.signatures = vec![site.authorizer.sign(&e, "authorizer")];
    assert_eq!(reg.append(e).unwrap().seq, 2);
    // Checkpoints only through `checkpoint`.
    let cp = NewEntry::new(EntryKind::Checkpoint, None, "scelle", json!({}));
    assert!(matches!(
        reg.append(cp).unwrap_err(),
        RegisterError::InvalidEntry(_)
    ));
}

#[test]
fn old_signatures_stay_verifiable_after_a_key_is_replaced() {
    let (dir, reg, site) = fresh();
    site.record_case(&reg, "c1");
    // Olivier gets a new key; the change is signed by the admin under the old list.
    let new_olivier = register_support::Person::new(dir.path(), "olivier2", &["operator"]);
    let mut rec = new_olivier.record();
    rec.id = "olivier".into();
    let mut e = NewEntry::new(
        EntryKind::PeopleChanged,
        None,
        "admin",
        json!({"people": [site.admin.record(), rec, site.authorizer.record()]}),
    );
    e.signatures.push(site.admin.sign(&e, "admin"));
    reg.append(e).unwrap();
    // The old key no longer signs new entries.
    let mut e = NewEntry::new(EntryKind::Purged, Some("c1"), "olivier", json!({}));
    e.signatures.push(site.operator.sign(&e, "operator"));
    assert!(reg.append(e.clone()).is_err());
    let mut s = new_olivier.sign(&e, "operator");
    s.person = "olivier".into();
    e.signatures = vec![s];
    reg.append(e).unwrap();
    let report = reg.verify(None).unwrap();
    assert_eq!(report.people_changes, 2);
}

#[test]
fn expected_head_detects_a_shorter_or_different_chain() {
    let (_dir, reg, site) = fresh();
    site.record_case(&reg, "c1");
    let head = reg.head().unwrap();
    let later = Head {
        seq: head.seq + 3,
        hash: [7; 32],
    };
    assert!(matches!(
        reg.verify(Some(&later)).unwrap_err(),
        RegisterError::Truncated { .. }
    ));
    let wrong = Head {
        seq: head.seq,
        hash: [7; 32],
    };
    assert!(matches!(
        reg.verify(Some(&wrong)).unwrap_err(),
        RegisterError::Truncated { .. }
    ));
    assert_eq!(Head::parse(&head.to_text()), Some(head));
}

#[test]
fn triggers_refuse_update_and_delete() {
    let (dir, reg, site) = fresh();
    site.record_case(&reg, "c1");
    drop(reg);
    let conn = rusqlite::Connection::open(dir.path().join("register.db")).unwrap();
    for sql in [
        "UPDATE entries SET actor = 'x' WHERE seq = 2",
        "DELETE FROM entries WHERE seq = 6",
        "UPDATE signatures SET role = 'x'",
        "DELETE FROM signatures",
    ] {
        let err = conn.execute(sql, []).unwrap_err();
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
    // Column types are enforced (STRICT).
    let err = conn
        .execute(
            "INSERT INTO entries VALUES (100, x'00', 'k', NULL, 'a', '{}', 's', 'p', 'h')",
            [],
        )
        .unwrap_err();
    assert!(err.to_string().contains("cannot store"), "{err}");
}

fn schema_of(conn: &rusqlite::Connection) -> Vec<(String, String, String)> {
    let mut stmt = conn
        .prepare("SELECT type, name, coalesce(sql, '') FROM sqlite_master ORDER BY type, name")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn upgraded_database_equals_a_fresh_one() {
    let dir = tempfile::tempdir().unwrap();
    // A version-1 register with entries, as the first release wrote it.
    let old = dir.path().join("old.db");
    {
        let mut conn = rusqlite::Connection::open(&old).unwrap();
        let tx = conn.transaction().unwrap();
        schema::upgrade_to(&tx, 0, 1).unwrap();
        tx.commit().unwrap();
        assert_eq!(schema::current_version(&conn).unwrap(), 1);
    }
    let upgraded = Register::open(&old).unwrap();
    let site = Site::new(dir.path());
    upgraded.append(site.people_entry()).unwrap();
    site.record_case(&upgraded, "c1");
    upgraded.verify(None).unwrap();
    drop(upgraded);
    let fresh_path = dir.path().join("fresh.db");
    drop(Register::open(&fresh_path).unwrap());
    let a = rusqlite::Connection::open(&old).unwrap();
    let b = rusqlite::Connection::open(&fresh_path).unwrap();
    assert_eq!(schema_of(&a), schema_of(&b));
    assert_eq!(schema::current_version(&a).unwrap(), schema::SCHEMA_VERSION);
    assert_eq!(schema::current_version(&b).unwrap(), schema::SCHEMA_VERSION);
    let versions = |c: &rusqlite::Connection| -> Vec<i64> {
        let mut s = c
            .prepare("SELECT version FROM schema_version ORDER BY version")
            .unwrap();
        s.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    assert_eq!(versions(&a), versions(&b));
}

#[test]
fn concurrent_appends_keep_one_gap_free_chain() {
    let (dir, reg, _site) = fresh();
    let reg = Arc::new(reg);
    // Threads sharing one Register, and a second Register on the same file (another
    // connection, as another process would have).
    let other = Arc::new(Register::open(&dir.path().join("register.db")).unwrap());
    let mut handles = Vec::new();
    for t in 0..8 {
        let r = if t % 2 == 0 {
            Arc::clone(&reg)
        } else {
            Arc::clone(&other)
        };
        handles.push(std::thread::spawn(move || {
            for i in 0..25 {
                r.append(NewEntry::new(
                    EntryKind::ConfigChanged,
                    None,
                    "scelle",
                    json!({"thread": t, "i": i}),
                ))
                .unwrap();
            }
        }));
    }
    for h in handles {
        h.join().unwrap();
    }
    let report = reg.verify(None).unwrap();
    assert_eq!(report.entries, 1 + 8 * 25);
    let seqs: Vec<u64> = reg.entries(None).unwrap().iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=201).collect::<Vec<u64>>());
}

#[test]
fn a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.db");
    drop(Register::open(&path).unwrap());
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute("INSERT INTO schema_version VALUES (99, 'future')", [])
        .unwrap();
    drop(conn);
    assert!(matches!(
        Register::open(&path).unwrap_err(),
        RegisterError::SchemaTooNew { found: 99, .. }
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_tokio_tasks_append_through_spawn_blocking() {
    let (_dir, reg, _site) = fresh();
    let reg = Arc::new(reg);
    let mut tasks = Vec::new();
    for t in 0..32 {
        let r = Arc::clone(&reg);
        tasks.push(tokio::task::spawn_blocking(move || {
            (0..5)
                .map(|i| {
                    r.append(NewEntry::new(
                        EntryKind::ConfigChanged,
                        None,
                        "scelle",
                        json!({"task": t, "i": i}),
                    ))
                    .unwrap()
                    .seq
                })
                .collect::<Vec<u64>>()
        }));
    }
    let mut seqs = Vec::new();
    for t in tasks {
        seqs.extend(t.await.unwrap());
    }
    seqs.sort_unstable();
    assert_eq!(seqs, (2..=161).collect::<Vec<u64>>());
    assert_eq!(reg.verify(None).unwrap().entries, 161);
}

#[test]
fn append_all_is_atomic() {
    let (_dir, reg, site) = fresh();
    let ok = NewEntry::new(EntryKind::CaseOpened, Some("c1"), "olivier", json!({}));
    let mut bad = NewEntry::new(EntryKind::CaseAuthorized, Some("c1"), "anne", json!({}));
    bad.signatures.push(site.operator.sign(&bad, "authorizer"));
    assert!(reg.append_all(vec![ok.clone(), bad]).is_err());
    assert_eq!(reg.head().unwrap().seq, 1);
    let done = reg.append_all(vec![ok.clone(), ok]).unwrap();
    assert_eq!(done.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![2, 3]);
    reg.verify(None).unwrap();
}
