//! Issue 13's attacks on a sealed register, each made as an insider with write access to the
//! SQLite file would (real `sqlite3`, real `ssh-keygen` keys, the chain recomputed), and each
//! detected by `scelle register verify` naming the entry and the rule, and by the auditor's
//! script of docs/REGISTER.md (`sqlite3`, `ssh-keygen -Y verify`, `sha256sum` only).

mod register_support;

use std::path::{Path, PathBuf};
use std::process::Command;

use register_support::{
    Person, Site, audit, audit_with, forge_append, rechain, scelle, site_key, sqlite3_ok,
};
use scelle::case::Cases;
use scelle::register::{EntryKind, NewEntry, Register};
use serde_json::json;

/// A sealed register: marker (1), people (2), case 2026-0001 (3-8), case 2026-0002 (9-14).
fn sealed(dir: &Path) -> (PathBuf, Site) {
    let db = dir.join("register.sqlite");
    let site = Site::new(dir);
    let reg = site.sealed_register(&db, dir);
    site.record_sealed_case(&reg, "2026-0001");
    site.record_sealed_case(&reg, "2026-0002");
    drop(reg);
    (db, site)
}

struct Verdict {
    code: i32,
    stdout: String,
    stderr: String,
}

fn verify(db: &Path, extra: &[&str]) -> Verdict {
    let mut args = vec!["register", "verify", "--db", db.to_str().unwrap()];
    args.extend_from_slice(extra);
    let out = scelle(&args);
    Verdict {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Exit 4, the entry and the rule named.
fn assert_rule(v: &Verdict, entry: u64, rule: &str) {
    assert_eq!(
        v.code, 4,
        "exit status; stdout {} stderr {}",
        v.stdout, v.stderr
    );
    assert!(
        v.stderr.contains(&format!("first bad entry is {entry}:"))
            && v.stderr.contains(&format!("rule `{rule}`")),
        "expected entry {entry} and rule {rule} named: {}",
        v.stderr
    );
}

fn assert_audit_fails(db: &Path, entry: u64) {
    let (ok, out) = audit(db);
    assert!(!ok, "the auditor's script passed: {out}");
    assert!(
        out.starts_with(&format!("FAILED: entry {entry}:")),
        "auditor's script: {out}"
    );
}

fn fingerprint(dir: &Path) -> String {
    site_key(dir).fingerprint()
}

#[test]
fn a_sealed_register_verifies_with_its_pinned_site_key_and_the_auditor_script() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = sealed(dir.path());
    let fpr = fingerprint(dir.path());
    let v = verify(&db, &["--site-key", &fpr]);
    assert_eq!(v.code, 0, "{}", v.stderr);
    assert!(
        v.stdout
            .contains(&format!("every entry sealed by site key {fpr}")),
        "{}",
        v.stdout
    );
    // Entry 1 names the key and its fingerprint.
    let first = sqlite3_ok(
        &db,
        "SELECT kind, json_extract(payload, '$.site_key_fingerprint') FROM entries WHERE seq = 1",
    );
    assert_eq!(first.trim(), format!("config-changed|{fpr}"));
    let (ok, out) = audit_with(&db, &[&fpr]);
    assert!(ok, "{out}");
    assert!(out.starts_with("OK 14 14:"), "{out}");

    // Pinned to another key: refused, by both.
    let other = tempfile::tempdir().unwrap();
    let wrong = fingerprint(other.path());
    let v = verify(&db, &["--site-key", &wrong]);
    assert_eq!(v.code, 4, "{}", v.stdout);
    assert!(v.stderr.contains("rule `site-key-pin`"), "{}", v.stderr);
    let (ok, out) = audit_with(&db, &[&wrong]);
    assert!(!ok && out.starts_with("FAILED: entry 1:"), "{out}");
}

#[test]
fn a_forged_unsigned_approval_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let (db, site) = sealed(dir.path());
    // A third case opened by the daemon, then an approval the insider appends by hand, with
    // the authorizer's name and a correct chain, but no signature and no seal.
    let reg = Register::open_with_site_key(&db, site_key(dir.path())).unwrap();
    let opened = reg
        .append(NewEntry::new(
            EntryKind::CaseOpened,
            Some("2026-0003"),
            &site.operator.id,
            json!({"ground": "incident", "purpose": "x"}),
        ))
        .unwrap();
    drop(reg);
    let seq = forge_append(
        &db,
        "case-authorized",
        Some("2026-0003"),
        &site.authorizer.id,
        &json!({"case": "2026-0003", "case_opened": hex::encode(opened.hash)}),
        &[],
    );
    assert_rule(&verify(&db, &[]), seq, "seal");
    assert_audit_fails(&db, seq);

    // Signed by the operator posing as... himself, with a seal copied from another entry.
    let dir = tempfile::tempdir().unwrap();
    let (db, site) = sealed(dir.path());
    let copied = sqlite3_ok(
        &db,
        "SELECT signature FROM signatures WHERE seq = 14 AND person = 'scelle'",
    );
    let payload = json!({"case": "2026-0002", "case_opened": "00".repeat(32)});
    let e = NewEntry::new(
        EntryKind::CaseAuthorized,
        Some("2026-0002"),
        "anne",
        payload.clone(),
    );
    let sig = site.authorizer.sign(&e, "authorizer");
    let seq = forge_append(
        &db,
        "case-authorized",
        Some("2026-0002"),
        "anne",
        &payload,
        &[
            (sig.person, sig.role, sig.signature),
            ("scelle".into(), "site".into(), copied.trim().to_owned()),
        ],
    );
    assert_rule(&verify(&db, &[]), seq, "seal");
    assert_audit_fails(&db, seq);
}

#[test]
fn a_forged_people_change_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let (db, site) = sealed(dir.path());
    // The insider swaps anne's key for his own, then signs an approval as anne with it.
    let keys = tempfile::tempdir().unwrap();
    let mallory = Person::new(keys.path(), "anne", &["authorizer"]);
    let people = json!({"people": [site.admin.record(), site.operator.record(), mallory.record()]});
    let seq = forge_append(&db, "people-changed", None, "scelle", &people, &[]);
    let payload = json!({"case": "2026-0002", "case_opened": "00".repeat(32)});
    let e = NewEntry::new(
        EntryKind::CaseAuthorized,
        Some("2026-0002"),
        "anne",
        payload.clone(),
    );
    let sig = mallory.sign(&e, "authorizer");
    forge_append(
        &db,
        "case-authorized",
        Some("2026-0002"),
        "anne",
        &payload,
        &[(sig.person, sig.role, sig.signature)],
    );
    assert_rule(&verify(&db, &[]), seq, "seal");
    assert_audit_fails(&db, seq);
}

#[test]
fn an_edited_and_rechained_entry_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = sealed(dir.path());
    // The requester of case 2026-0001 (entry 3) changed, every hash and link after it redone.
    sqlite3_ok(
        &db,
        "DROP TRIGGER entries_append_only_update;
         UPDATE entries SET payload = replace(payload, 'OPJ Martin', 'OPJ Dubois') WHERE seq = 3;",
    );
    rechain(&db, 3);
    assert_rule(&verify(&db, &[]), 3, "seal");
    assert_audit_fails(&db, 3);
}

#[test]
fn reordered_and_rechained_entries_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = sealed(dir.path());
    // Case 2026-0002's delivery (14) moved before its export completion (13), chain redone.
    sqlite3_ok(
        &db,
        "DROP TRIGGER entries_append_only_update; DROP TRIGGER signatures_append_only_update;
         UPDATE entries SET seq = 1013, hash = 'a' || hash WHERE seq = 13;
         UPDATE signatures SET seq = 1013 WHERE seq = 13;
         UPDATE entries SET seq = 13 WHERE seq = 14; UPDATE signatures SET seq = 13 WHERE seq = 14;
         UPDATE entries SET seq = 14 WHERE seq = 1013; UPDATE signatures SET seq = 14 WHERE seq = 1013;",
    );
    rechain(&db, 13);
    assert_rule(&verify(&db, &[]), 13, "seal");
    assert_audit_fails(&db, 13);
}

#[test]
fn a_cut_tail_passes_alone_and_fails_with_a_witness() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = sealed(dir.path());
    let head = scelle(&["register", "head", "--db", db.to_str().unwrap()]);
    let head = String::from_utf8(head.stdout).unwrap();
    let witness = dir.path().join("heads.txt");
    std::fs::write(&witness, format!("# heads kept by the DPO\n{head}")).unwrap();
    assert_eq!(
        verify(&db, &["--witness", witness.to_str().unwrap()]).code,
        0
    );

    // The last case's delivery and completion removed: the chain alone still holds.
    sqlite3_ok(
        &db,
        "DROP TRIGGER entries_append_only_delete; DROP TRIGGER signatures_append_only_delete;
         DELETE FROM signatures WHERE seq >= 13; DELETE FROM entries WHERE seq >= 13;",
    );
    assert_eq!(verify(&db, &[]).code, 0);
    let v = verify(&db, &["--witness", witness.to_str().unwrap()]);
    assert_eq!(v.code, 4, "{}", v.stdout);
    assert!(
        v.stderr.contains("the register ends at 12:") && v.stderr.contains("heads.txt:2"),
        "{}",
        v.stderr
    );
}

#[test]
fn a_rewritten_register_is_a_fork_for_the_witness() {
    let dir = tempfile::tempdir().unwrap();
    let (db, site) = sealed(dir.path());
    let witness = dir.path().join("heads.txt");
    let head =
        String::from_utf8(scelle(&["register", "head", "--db", db.to_str().unwrap()]).stdout)
            .unwrap();
    std::fs::write(&witness, &head).unwrap();
    // Cut back to 12 and written again by someone holding the site key: every seal holds,
    // but entry 16 is not the one the witness saw.
    sqlite3_ok(
        &db,
        "DROP TRIGGER entries_append_only_delete; DROP TRIGGER signatures_append_only_delete;
         DELETE FROM signatures WHERE seq >= 13; DELETE FROM entries WHERE seq >= 13;",
    );
    let reg = Register::open_with_site_key(&db, site_key(dir.path())).unwrap();
    reg.append(NewEntry::new(
        EntryKind::CaseClosed,
        Some("2026-0002"),
        &site.operator.id,
        json!({"reason": "rewritten"}),
    ))
    .unwrap();
    reg.append(NewEntry::new(
        EntryKind::CaseClosed,
        Some("2026-0001"),
        &site.operator.id,
        json!({"reason": "rewritten"}),
    ))
    .unwrap();
    drop(reg);
    assert_eq!(verify(&db, &[]).code, 0);
    let v = verify(&db, &["--witness", witness.to_str().unwrap()]);
    assert_eq!(v.code, 4);
    assert!(v.stderr.contains("a fork"), "{}", v.stderr);
}

#[test]
fn an_approval_moved_onto_another_case_is_named_and_never_folded() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("register.sqlite");
    let site = Site::new(dir.path());
    let reg = site.sealed_register(&db, dir.path());
    let a = site.record_sealed_case(&reg, "2026-0001");
    let b = reg
        .append(NewEntry::new(
            EntryKind::CaseOpened,
            Some("2026-0002"),
            &site.operator.id,
            json!({"ground": "incident", "requester": "M. Durand", "organisation": "magasin",
                   "reference": "INC-2", "recipient": "M. Durand", "purpose": "vol",
                   "cameras": ["caisse-1"],
                   "ranges": [{"start": "2026-11-20T14:00:00Z", "end": "2026-11-20T14:30:00Z"}]}),
        ))
        .unwrap();
    // Anne signs an approval for 2026-0002 that binds 2026-0001's opening (a copy of her
    // approval, or a second daemon's case with the same number): recorded by a daemon that
    // holds the site key, so only the link can tell.
    let mut e = NewEntry::new(
        EntryKind::CaseAuthorized,
        Some("2026-0002"),
        &site.authorizer.id,
        json!({"case": "2026-0002", "case_opened": a.opened}),
    );
    let s = site.authorizer.sign(&e, "authorizer");
    e.signatures.push(s);
    let moved = reg.append(e).unwrap();
    let v = verify(&db, &[]);
    assert_rule(&v, moved.seq, "link");
    assert!(v.stderr.contains("moved from another case"), "{}", v.stderr);
    assert_audit_fails(&db, moved.seq);
    // The fold does not apply it: case 2026-0002 stays unauthorized.
    let reg = std::sync::Arc::new(reg);
    let cases = Cases::load(reg, dir.path()).unwrap();
    assert_eq!(cases.get("2026-0002").unwrap().authorized_by, None);
    assert_ne!(hex::encode(b.hash), a.opened);
}

#[test]
fn a_case_id_issued_twice_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("register.sqlite");
    let site = Site::new(dir.path());
    let reg = site.sealed_register(&db, dir.path());
    site.record_sealed_case(&reg, "2026-0001");
    let again = reg
        .append(NewEntry::new(
            EntryKind::CaseOpened,
            Some("2026-0001"),
            &site.operator.id,
            json!({"ground": "incident"}),
        ))
        .unwrap();
    assert_rule(&verify(&db, &[]), again.seq, "case-id");
}

#[test]
fn four_eyes_and_roles_are_checked_from_the_register_history() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("register.sqlite");
    let mut site = Site::new(dir.path());
    site.operator.roles.push("authorizer".into());
    let reg = site.sealed_register(&db, dir.path());
    let opened = reg
        .append(NewEntry::new(
            EntryKind::CaseOpened,
            Some("2026-0001"),
            &site.operator.id,
            json!({"ground": "incident"}),
        ))
        .unwrap();
    // The opener approves his own case: he holds both roles, the register says he opened it.
    let mut e = NewEntry::new(
        EntryKind::CaseAuthorized,
        Some("2026-0001"),
        &site.operator.id,
        json!({"case": "2026-0001", "case_opened": hex::encode(opened.hash)}),
    );
    let s = site.operator.sign(&e, "authorizer");
    e.signatures.push(s);
    let own = reg.append(e).unwrap();
    assert_rule(&verify(&db, &[]), own.seq, "four-eyes");

    // The admin (no operator role) opening a case.
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("register.sqlite");
    let site = Site::new(dir.path());
    let reg = site.sealed_register(&db, dir.path());
    let e = reg
        .append(NewEntry::new(
            EntryKind::CaseOpened,
            Some("2026-0001"),
            &site.admin.id,
            json!({"ground": "incident"}),
        ))
        .unwrap();
    assert_rule(&verify(&db, &[]), e.seq, "role");
}

/// `ssh-keygen -Y sign -n NAMESPACE` of `text` with `person`'s key.
fn ssh_sign(person: &Person, namespace: &str, text: &str, dir: &Path) -> String {
    let msg = dir.join(format!("msg-{namespace}"));
    std::fs::write(&msg, text).unwrap();
    let out = Command::new("ssh-keygen")
        .args(["-Y", "sign", "-n", namespace, "-f"])
        .arg(&person.key_path)
        .arg(&msg)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let sig = dir.join(format!("msg-{namespace}.sig"));
    let text = std::fs::read_to_string(&sig).unwrap();
    std::fs::remove_file(sig).unwrap();
    text
}

/// A remote approval as branch eyes records it: the authorizer's signed statement embedded.
fn remote_approval(
    signer: &Person,
    case: &str,
    opened: &str,
    namespace: &str,
    text: &str,
    dir: &Path,
) -> NewEntry {
    NewEntry::new(
        EntryKind::CaseAuthorized,
        Some(case),
        &signer.id,
        json!({"case": case, "case_opened": opened, "signed_statement": {
            "person": signer.id, "namespace": namespace, "text": text,
            "signature": ssh_sign(signer, namespace, text, dir)}}),
    )
}

#[test]
fn signed_statements_of_remote_approvals_and_countersignatures_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let db = d.join("register.sqlite");
    let site = Site::new(d);
    let reg = site.sealed_register(&db, d);
    let opened = hex::encode(
        reg.append(NewEntry::new(
            EntryKind::CaseOpened,
            Some("2026-0001"),
            &site.operator.id,
            json!({"ground": "incident"}),
        ))
        .unwrap()
        .hash,
    );
    let text = format!("scelle approval\ncase: 2026-0001\ncase-opened: {opened}\n");
    let e = remote_approval(
        &site.authorizer,
        "2026-0001",
        &opened,
        "scelle-approve",
        &text,
        d,
    );
    reg.append(e).unwrap();
    let started = hex::encode(
        reg.append(NewEntry::new(
            EntryKind::ExportStarted,
            Some("2026-0001"),
            &site.operator.id,
            json!({"export_id": "X1"}),
        ))
        .unwrap()
        .hash,
    );
    let mut e = NewEntry::new(
        EntryKind::ExportCompleted,
        Some("2026-0001"),
        &site.operator.id,
        json!({"export_id": "X1", "export_started": started}),
    );
    let s = site.operator.sign(&e, "operator");
    e.signatures.push(s);
    let completed = hex::encode(reg.append(e).unwrap().hash);
    let text = format!("scelle countersignature\ncase: 2026-0001\nexport-completed: {completed}\n");
    reg.append(NewEntry::new(
        EntryKind::ExportCountersigned,
        Some("2026-0001"),
        &site.authorizer.id,
        json!({"export_completed": completed, "signed_statement": {
            "person": site.authorizer.id, "namespace": "scelle-countersign", "text": text,
            "signature": ssh_sign(&site.authorizer, "scelle-countersign", &text, d)}}),
    ))
    .unwrap();
    let v = verify(&db, &[]);
    assert_eq!(v.code, 0, "{}", v.stderr);
    let (ok, out) = audit(&db);
    assert!(ok, "{out}");

    // Each bad variant, appended to a copy of a register holding just the opening.
    let bad = |signer: &Person, namespace: &str, text: String, rule: &str| {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("register.sqlite");
        let reg = site.sealed_register(&db, dir.path());
        let o = reg
            .append(NewEntry::new(
                EntryKind::CaseOpened,
                Some("2026-0001"),
                &site.operator.id,
                json!({"ground": "incident"}),
            ))
            .unwrap();
        let text = text.replace("OPENED", &hex::encode(o.hash));
        let e = remote_approval(
            signer,
            "2026-0001",
            &hex::encode(o.hash),
            namespace,
            &text,
            dir.path(),
        );
        let e = reg.append(e).unwrap();
        assert_rule(&verify(&db, &[]), e.seq, rule);
    };
    let good = "case: 2026-0001\ncase-opened: OPENED\n".to_owned();
    bad(
        &site.authorizer,
        "scelle-countersign",
        good.clone(),
        "signed-statement",
    );
    bad(
        &site.authorizer,
        "scelle-approve",
        "case: 2026-0002\ncase-opened: OPENED\n".into(),
        "signed-statement",
    );
    bad(
        &site.authorizer,
        "scelle-approve",
        format!("case: 2026-0001\ncase-opened: {}\n", "00".repeat(32)),
        "signed-statement",
    );
    bad(&site.operator, "scelle-approve", good, "role");
}

/// Access requests (issue 18, decision 0150): `register verify` refuses an approval recorded
/// before the data subject's identity was proven, an unsigned identity proof, one on another
/// ground, and an export that hands over an access request's original footage.
#[test]
fn access_requests_need_the_identity_first_and_are_exported_anonymized_only() {
    let open = |reg: &Register, site: &Site, ground: &str| {
        reg.append(NewEntry::new(
            EntryKind::CaseOpened,
            Some("2026-0001"),
            &site.operator.id,
            json!({"ground": ground}),
        ))
        .unwrap()
    };
    let identity = |site: &Site, signed: bool| {
        let mut e = NewEntry::new(
            EntryKind::IdentityProven,
            Some("2026-0001"),
            &site.operator.id,
            json!({"document_kind": "passeport", "document_reference": "19AB12345",
                   "checked_at": "2026-11-20T09:00:00Z", "legitimacy": "sur la caméra"}),
        );
        if signed {
            let s = site.operator.sign(&e, "operator");
            e.signatures.push(s);
        }
        e
    };
    let approve = |reg: &Register, site: &Site, opened: &[u8; 32]| {
        let mut e = NewEntry::new(
            EntryKind::CaseAuthorized,
            Some("2026-0001"),
            &site.authorizer.id,
            json!({"case": "2026-0001", "case_opened": hex::encode(opened)}),
        );
        let s = site.authorizer.sign(&e, "authorizer");
        e.signatures.push(s);
        reg.append(e).unwrap()
    };

    // Approved before the identity was proven.
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("register.sqlite");
    let site = Site::new(dir.path());
    let reg = site.sealed_register(&db, dir.path());
    let opened = open(&reg, &site, "access-request");
    let e = approve(&reg, &site, &opened.hash);
    assert_rule(&verify(&db, &[]), e.seq, "identity");

    // An identity proof nobody signed; one about a requisition.
    for (ground, signed, rule) in [
        ("access-request", false, "signature"),
        ("requisition", true, "ground"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("register.sqlite");
        let site = Site::new(dir.path());
        let reg = site.sealed_register(&db, dir.path());
        open(&reg, &site, ground);
        let e = reg.append(identity(&site, signed)).unwrap();
        assert_rule(&verify(&db, &[]), e.seq, rule);
    }

    // Identity, approval, then an export whose file is the original footage.
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("register.sqlite");
    let site = Site::new(dir.path());
    let reg = site.sealed_register(&db, dir.path());
    let opened = open(&reg, &site, "access-request");
    reg.append(identity(&site, true)).unwrap();
    approve(&reg, &site, &opened.hash);
    let started = reg
        .append(NewEntry::new(
            EntryKind::ExportStarted,
            Some("2026-0001"),
            &site.operator.id,
            json!({"export_id": "X-1"}),
        ))
        .unwrap();
    let mut e = NewEntry::new(
        EntryKind::ExportCompleted,
        Some("2026-0001"),
        &site.operator.id,
        json!({"record": {"export_id": "X-1", "files": [{"file": {"name": "porte.mp4.scelle"}}]},
               "export_started": hex::encode(started.hash)}),
    );
    let s = site.operator.sign(&e, "operator");
    e.signatures.push(s);
    let e = reg.append(e).unwrap();
    let v = verify(&db, &[]);
    assert_rule(&v, e.seq, "anonymized");
    assert!(v.stderr.contains("porte.mp4.scelle"), "{}", v.stderr);
}
