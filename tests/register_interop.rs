//! Interop with OpenSSH and SQLite's own tools: signatures made by `ssh-keygen -Y sign` are
//! accepted, the signatures and hashes scelle stores are checked by the auditor's script of
//! `docs/REGISTER.md`, which uses only `sqlite3`, `ssh-keygen` and `sha256sum`.

mod register_support;

use std::path::Path;

use register_support::{Site, audit, sqlite3_ok};
use scelle::register::{EntryKind, NewEntry, Register, SiteKey};
use serde_json::json;

fn populated(dir: &Path) -> (Register, Site) {
    let reg = Register::open(&dir.join("register.db")).unwrap();
    let site = Site::new(dir);
    reg.append(site.people_entry()).unwrap();
    (reg, site)
}

#[test]
fn ssh_keygen_signatures_are_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let (reg, site) = populated(dir.path());
    let mut e = NewEntry::new(
        EntryKind::CaseAuthorized,
        Some("2026-0007"),
        "anne",
        json!({"decision": "granted", "note": "réquisition n° 42"}),
    );
    let s = site
        .authorizer
        .sign_with_ssh_keygen(&e, "authorizer", dir.path());
    e.signatures.push(s);
    let entry = reg.append(e).unwrap();
    assert_eq!(entry.seq, 2);
    let rep = reg.verify(None).unwrap();
    assert_eq!(rep.signatures, 2);
}

#[test]
fn stored_signatures_and_hashes_verify_with_sqlite3_and_ssh_keygen() {
    let dir = tempfile::tempdir().unwrap();
    let (reg, site) = populated(dir.path());
    site.record_case(&reg, "2026-0001");
    let key = SiteKey::load_or_create(&dir.path().join("site_key")).unwrap();
    reg.checkpoint(&key).unwrap();
    site.record_case(&reg, "2026-0002");
    let head = reg.head().unwrap();
    drop(reg);
    let db = dir.path().join("register.db");

    // The view and the Rust code agree on every preimage.
    for seq in 1..=head.seq {
        let pre = dir.path().join("pre");
        sqlite3_ok(
            &db,
            &format!(
                "SELECT writefile('{}', CAST(preimage AS BLOB)) FROM entry_preimage WHERE seq = {seq}",
                pre.display()
            ),
        );
        let bytes = std::fs::read(&pre).unwrap();
        let hash = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes));
        let stored = sqlite3_ok(&db, &format!("SELECT hash FROM entries WHERE seq = {seq}"));
        assert_eq!(hash, stored.trim(), "entry {seq}");
    }

    let (ok, out) = audit(&db);
    assert!(ok, "{out}");
    assert_eq!(out.trim(), format!("OK {} {}", head.seq, head));
}

#[test]
fn auditor_script_names_a_forged_signature() {
    let dir = tempfile::tempdir().unwrap();
    let (reg, site) = populated(dir.path());
    site.record_case(&reg, "2026-0001");
    drop(reg);
    let db = dir.path().join("register.db");
    // Anne's signature on entry 3 is replaced by the operator's own: the role check fails.
    sqlite3_ok(
        &db,
        "DROP TRIGGER signatures_append_only_update;
         UPDATE signatures SET person = 'olivier',
           signature = (SELECT signature FROM signatures WHERE seq = 2) WHERE seq = 3;",
    );
    let (ok, out) = audit(&db);
    assert!(!ok);
    assert!(out.starts_with("FAILED: entry 3"), "{out}");
}
