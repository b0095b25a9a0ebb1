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
