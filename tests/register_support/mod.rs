//! Shared helpers of the register tests: real `ssh-keygen` keys, people lists, a realistic
//! case history, and running the real `sqlite3` and `scelle` binaries.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use scelle::register::signature::sign_with_key;
use scelle::register::{EntryKind, EntrySignature, NewEntry, PersonRecord, Register};
use serde_json::json;

/// A person with a real OpenSSH key made by `ssh-keygen`.
pub struct Person {
    pub id: String,
    pub key_path: PathBuf,
    pub public_key: String,
    pub roles: Vec<String>,
}

impl Person {
    pub fn new(dir: &Path, id: &str, roles: &[&str]) -> Person {
        let key_path = dir.join(id);
        let out = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", id, "-f"])
            .arg(&key_path)
            .output()
            .expect("ssh-keygen runs");
        assert!(out.status.success(), "ssh-keygen: {out:?}");
        let public_key = std::fs::read_to_string(key_path.with_extension("pub"))
            .unwrap()
            .trim()
            .to_owned();
        Person {
            id: id.to_owned(),
            key_path,
            public_key,
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
        }
    }

    pub fn record(&self) -> PersonRecord {
        PersonRecord {
            id: self.id.clone(),
            name: format!("{} Dupont", self.id),
            unix_account: self.id.clone(),
            roles: self.roles.clone(),
            public_key: self.public_key.clone(),
        }
    }

    /// Signs with the `ssh-key` crate.
    pub fn sign(&self, e: &NewEntry, role: &str) -> EntrySignature {
        let key = ssh_key::PrivateKey::read_openssh_file(&self.key_path).unwrap();
        EntrySignature {
            person: self.id.clone(),
            role: role.to_owned(),
            signature: sign_with_key(&key, &e.statement()).unwrap(),
        }
    }

    /// Signs with `ssh-keygen -Y sign`.
    pub fn sign_with_ssh_keygen(&self, e: &NewEntry, role: &str, dir: &Path) -> EntrySignature {
        let msg = dir.join(format!("stmt-{}", self.id));
        std::fs::write(&msg, e.statement()).unwrap();
        let out = Command::new("ssh-keygen")
            .args(["-Y", "sign", "-n", "scelle-register", "-f"])
            .arg(&self.key_path)
            .arg(&msg)
            .output()
            .unwrap();
        assert!(out.status.success(), "ssh-keygen -Y sign: {out:?}");
        let sig_path = PathBuf::from(format!("{}.sig", msg.display()));
        let signature = std::fs::read_to_string(&sig_path).unwrap();
        std::fs::remove_file(sig_path).unwrap();
        EntrySignature {
            person: self.id.clone(),
            role: role.to_owned(),
            signature,
        }
    }
}

/// An administrator, an operator and an authorizer.
pub struct Site {
    pub admin: Person,
    pub operator: Person,
    pub authorizer: Person,
}

impl Site {
    pub fn new(dir: &Path) -> Site {
        Site {
            admin: Person::new(dir, "admin", &["admin"]),
            operator: Person::new(dir, "olivier", &["operator"]),
            authorizer: Person::new(dir, "anne", &["authorizer"]),
        }
    }

    pub fn people_entry(&self) -> NewEntry {
        let mut e = NewEntry::new(
            EntryKind::PeopleChanged,
            None,
            "admin",
            json!({"people": [self.admin.record(), self.operator.record(), self.authorizer.record()]}),
        );
        let sig = self.admin.sign(&e, "admin");
        e.signatures.push(sig);
        e
    }

    /// Opens the people list and records one full case; returns the number of entries added.
    pub fn record_case(&self, reg: &Register, case: &str) -> usize {
        let op = &self.operator;
        let au = &self.authorizer;
        let mut entries = vec![
            (
                NewEntry::new(
                    EntryKind::CaseOpened,
                    Some(case),
                    &op.id,
                    json!({"ground": "requisition", "requester": "OPJ Martin, commissariat de Lyon 3e",
                           "purpose": "vol à l'étalage", "cameras": ["caisse-1", "entrée"],
                           "ranges": [{"start": "2026-11-20T14:00:00Z", "end": "2026-11-20T14:30:00Z"}]}),
                ),
                Some((op, "operator")),
            ),
            (
                NewEntry::new(
                    EntryKind::CaseAuthorized,
                    Some(case),
                    &au.id,
                    json!({"decision": "granted"}),
                ),
                Some((au, "authorizer")),
            ),
            (
                NewEntry::new(
                    EntryKind::ExportStarted,
                    Some(case),
                    &op.id,
                    json!({"format": "mp4"}),
                ),
                Some((op, "operator")),
            ),
            (
                NewEntry::new(
                    EntryKind::ExportCompleted,
                    Some(case),
                    &op.id,
                    json!({"format": "mp4", "files": [
                        {"name": "caisse-1.scelle", "size": 1048576, "sha256": "9f".repeat(32)},
                        {"name": "entree.scelle", "size": 2048, "sha256": "0a".repeat(32)}]}),
                ),
                Some((op, "operator")),
            ),
            (
                NewEntry::new(
                    EntryKind::Delivered,
                    Some(case),
                    &op.id,
                    json!({"recipient": "OPJ Martin", "purge_by": "2026-12-20"}),
                ),
                Some((op, "operator")),
            ),
        ];
        let n = entries.len();
        for (mut e, signer) in entries.drain(..) {
            if let Some((p, role)) = signer {
                let s = p.sign(&e, role);
                e.signatures.push(s);
            }
            reg.append(e).unwrap();
        }
        n
    }
}

/// Runs the real `sqlite3` on `db`.
pub fn sqlite3(db: &Path, sql: &str) -> Output {
    Command::new("sqlite3")
        .arg(db)
        .arg(sql)
        .output()
        .expect("sqlite3 runs")
}

/// Runs `sqlite3` and asserts success; returns stdout.
pub fn sqlite3_ok(db: &Path, sql: &str) -> String {
    let out = sqlite3(db, sql);
    assert!(
        out.status.success(),
        "sqlite3 {sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Runs the `scelle` binary.
pub fn scelle(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_scelle"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("scelle runs")
}

/// A site key made with `ssh-keygen` in `dir` (the daemon makes its own the same way).
pub fn site_key(dir: &Path) -> std::sync::Arc<scelle::register::SiteKey> {
    let path = dir.join("site-key");
    if !path.exists() {
        let out = Command::new("ssh-keygen")
            .args([
                "-q",
                "-t",
                "ed25519",
                "-N",
                "",
                "-C",
                "scelle site key",
                "-f",
            ])
            .arg(&path)
            .output()
            .unwrap();
        assert!(out.status.success(), "ssh-keygen: {out:?}");
    }
    std::sync::Arc::new(scelle::register::SiteKey::load_or_create(&path).unwrap())
}

/// The hashes of a sealed case's entries, for links.
pub struct SealedCase {
    pub opened: String,
    pub started: String,
    pub completed: String,
}

impl Site {
    /// The people list as the daemon records it: by `scelle`, sealed by the site key.
    pub fn sealed_people_entry(&self) -> NewEntry {
        NewEntry::new(
            EntryKind::PeopleChanged,
            None,
            "scelle",
            json!({"people": [self.admin.record(), self.operator.record(), self.authorizer.record()]}),
        )
    }

    /// A sealed register at `db` (format marker, people list), as the daemon leaves it.
    pub fn sealed_register(&self, db: &Path, dir: &Path) -> Register {
        let reg = Register::open_with_site_key(db, site_key(dir)).unwrap();
        reg.append(self.sealed_people_entry()).unwrap();
        reg
    }

    /// One full case as the daemon records it in a sealed register, every link in place.
    pub fn record_sealed_case(&self, reg: &Register, case: &str) -> SealedCase {
        let op = &self.operator;
        let au = &self.authorizer;
        let opened = reg
            .append(NewEntry::new(
                EntryKind::CaseOpened,
                Some(case),
                &op.id,
                json!({"ground": "requisition", "requester": "OPJ Martin, commissariat de Lyon 3e",
                       "purpose": "vol à l'étalage", "cameras": ["caisse-1"],
                       "ranges": [{"start": "2026-11-20T14:00:00Z", "end": "2026-11-20T14:30:00Z"}]}),
            ))
            .unwrap();
        let opened = hex::encode(opened.hash);
        let mut e = NewEntry::new(
            EntryKind::CaseAuthorized,
            Some(case),
            &au.id,
            json!({"case": case, "case_opened": opened}),
        );
        let s = au.sign(&e, "authorizer");
        e.signatures.push(s);
        reg.append(e).unwrap();
        let started = reg
            .append(NewEntry::new(
                EntryKind::ExportStarted,
                Some(case),
                &op.id,
                json!({"export_id": format!("X-{case}"), "format": "mp4"}),
            ))
            .unwrap();
        let started = hex::encode(started.hash);
        let verified = reg
            .append(NewEntry::new(
                EntryKind::ExportVerified,
                Some(case),
                "scelle",
                json!({"export_id": format!("X-{case}"), "export_started": started}),
            ))
            .unwrap();
        let mut e = NewEntry::new(
            EntryKind::ExportCompleted,
            Some(case),
            &op.id,
            json!({"files": [{"name": "caisse-1.scelle", "size": 1048576, "sha256": "9f".repeat(32)}],
                   "verified_entry": hex::encode(verified.hash), "export_started": started}),
        );
        let s = op.sign(&e, "operator");
        e.signatures.push(s);
        let completed = hex::encode(reg.append(e).unwrap().hash);
        reg.append(NewEntry::new(
            EntryKind::Delivered,
            Some(case),
            &op.id,
            json!({"recipient": "OPJ Martin", "export_completed": completed}),
        ))
        .unwrap();
        SealedCase {
            opened,
            started,
            completed,
        }
    }
}

/// What an attacker with write access to the file does after changing rows: drops the
/// append-only triggers and recomputes every hash and link from `from` on, so the chain holds
/// again (only the seals, which need the site key, cannot be redone).
pub fn rechain(db: &Path, from: u64) {
    use scelle::register::chain::RawEntry;
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.execute_batch(
        "DROP TRIGGER IF EXISTS entries_append_only_update;
         DROP TRIGGER IF EXISTS signatures_append_only_update;",
    )
    .unwrap();
    let mut prev: String = if from == 1 {
        "0".repeat(64)
    } else {
        conn.query_row("SELECT hash FROM entries WHERE seq = ?1", [from - 1], |r| {
            r.get(0)
        })
        .unwrap()
    };
    let last: u64 = conn
        .query_row("SELECT max(seq) FROM entries", [], |r| r.get(0))
        .unwrap();
    for seq in from..=last {
        let mut raw = conn
            .query_row(
                "SELECT seq, time, kind, case_id, actor, payload, statement FROM entries WHERE seq = ?1",
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
                        prev_hash: String::new(),
                        hash: String::new(),
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
        // A statement that matches the edited fields, as the attacker would write it.
        raw.statement = format!(
            "scelle-register statement v1\nkind: {}\ncase: {}\nactor: {}\npayload: {}\n",
            raw.kind,
            raw.case_id.as_deref().unwrap_or("-"),
            raw.actor,
            raw.payload
        );
        raw.prev_hash = prev.clone();
        let hash = hex::encode(raw.compute_hash());
        conn.execute(
            "UPDATE entries SET statement = ?2, prev_hash = ?3, hash = ?4 WHERE seq = ?1",
            rusqlite::params![seq, raw.statement, raw.prev_hash, hash],
        )
        .unwrap();
        prev = hash;
    }
}

/// Appends a forged row after the head with a correct hash and link, as an attacker with the
/// file (but not the site key) can: `signatures` as (person, role, armored SSHSIG).
pub fn forge_append(
    db: &Path,
    kind: &str,
    case_id: Option<&str>,
    actor: &str,
    payload: &serde_json::Value,
    signatures: &[(String, String, String)],
) -> u64 {
    use scelle::register::chain::RawEntry;
    let conn = rusqlite::Connection::open(db).unwrap();
    let (seq, prev): (u64, String) = conn
        .query_row(
            "SELECT seq, hash FROM entries ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let payload = scelle::register::canonical::to_canonical_json(payload);
    let mut raw = RawEntry {
        seq: seq as i64 + 1,
        time: "2026-11-30T03:00:00.000000Z".into(),
        kind: kind.into(),
        case_id: case_id.map(str::to_owned),
        actor: actor.into(),
        statement: format!(
            "scelle-register statement v1\nkind: {kind}\ncase: {}\nactor: {actor}\npayload: {payload}\n",
            case_id.unwrap_or("-")
        ),
        payload,
        prev_hash: prev,
        hash: String::new(),
        signatures: signatures.to_vec(),
    };
    raw.hash = hex::encode(raw.compute_hash());
    conn.execute(
        "INSERT INTO entries (seq, time, kind, case_id, actor, payload, statement, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
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
    )
    .unwrap();
    for (idx, (p, r, s)) in signatures.iter().enumerate() {
        conn.execute(
            "INSERT INTO signatures (seq, idx, person, role, signature) VALUES (?1, ?2, ?3, ?4, ?5)",
            rusqlite::params![raw.seq, idx as i64, p, r, s],
        )
        .unwrap();
    }
    raw.seq as u64
}

/// The shell script under `<!-- auditor-script -->` in docs/REGISTER.md.
pub fn auditor_script() -> String {
    let doc = include_str!("../../docs/REGISTER.md");
    let after = doc
        .split("<!-- auditor-script -->")
        .nth(1)
        .expect("marker in REGISTER.md");
    let body = after.split("```sh\n").nth(1).unwrap();
    body.split("\n```").next().unwrap().to_owned()
}

/// Runs the auditor's script (with `args` after the database); returns (success, stdout).
pub fn audit_with(db: &Path, args: &[&str]) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("audit.sh");
    std::fs::write(&script, auditor_script()).unwrap();
    let out = Command::new("sh")
        .arg(&script)
        .arg(db)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// Runs the auditor's script; returns (success, stdout).
pub fn audit(db: &Path) -> (bool, String) {
    audit_with(db, &[])
}
