//! The extraction register (REG-1, REG-2, STEP-5, PUR-3, AUTH-4): the legal record of every
//! case, authorization, export, delivery and purge, kept for at least five years.
//!
//! It is an append-only SQLite database (WAL, `synchronous=FULL`, STRICT tables, triggers that
//! refuse UPDATE and DELETE) whose entries form a SHA-256 hash chain ([`chain`]) and carry SSH
//! signatures of the people who acted ([`signature`]). Only this module writes it. Anyone can
//! check a copy offline with `scelle register verify`, or without scelle at all with `sqlite3`
//! and `ssh-keygen` (`docs/REGISTER.md`).
//!
//! All calls are synchronous; the daemon calls them from `spawn_blocking`. [`Register`] is
//! `Send + Sync`: one connection behind a mutex and `BEGIN IMMEDIATE` per append keep a single
//! gap-free chain, across threads and across processes.

pub mod canonical;
pub mod chain;
mod entry;
mod error;
pub mod schema;
pub mod signature;
mod store;
mod verify;
pub mod witness;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior};
use serde_json::json;

pub use entry::{
    Entry, EntryKind, EntrySignature, Head, NewEntry, PersonRecord, SEAL_HEADER,
    SIGNATURE_NAMESPACE, STATEMENT_HEADER, seal_text,
};
pub use error::RegisterError;
pub use signature::{SITE_PERSON, SITE_ROLE, SignatureError, SiteKey};
pub use verify::{
    APPROVE_NAMESPACE, COUNTERSIGN_NAMESPACE, REGISTER_FORMAT, VerifyOptions, VerifyReport,
};

use canonical::to_canonical_json;
use chain::RawEntry;
use signature::People;
use store::{ENTRY_COLUMNS, parse_entry, raw_from_row};

/// The people list as last read, and the head it was read at.
#[derive(Clone, Default)]
struct PeopleCache {
    people: People,
    as_of_seq: i64,
}

impl PeopleCache {
    /// A working copy for a transaction: kept only if the transaction commits.
    fn clone_for_batch(&self) -> PeopleCache {
        self.clone()
    }
}

/// Called with the last entry of every committed append (the new head), under the register's
/// lock so calls come in chain order: the daemon writes its head file and logs the head.
pub type AppendHook = Box<dyn Fn(&Entry) + Send + Sync>;

struct State {
    conn: Connection,
    people: PeopleCache,
    /// The key that seals every entry appended (decision 0060); `None` for a register opened
    /// without it, which then refuses appends once sealed.
    site: Option<Arc<SiteKey>>,
    /// Fingerprint of the site key in force, when the register is sealed.
    sealed_by: Option<String>,
    on_append: Option<AppendHook>,
}

/// An open register. Appends are serialized inside; reads see committed entries only.
pub struct Register {
    path: PathBuf,
    /// Whether `verify` walks through its own read connection (a writable register on a
    /// file), so appends are not held up meanwhile.
    separate_reader: bool,
    state: Mutex<State>,
}

impl std::fmt::Debug for Register {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Register")
            .field("path", &self.path)
            .finish()
    }
}

impl Register {
    /// Opens the register at `path`, creating it or upgrading its schema as needed.
    pub fn open(path: &Path) -> Result<Register, RegisterError> {
        let db = |source| RegisterError::Database {
            path: path.to_owned(),
            source,
        };
        let mut conn = Connection::open(path).map_err(db)?;
        conn.busy_timeout(Duration::from_secs(30)).map_err(db)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(db)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(db)?;
        conn.pragma_update(None, "foreign_keys", "ON").map_err(db)?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db)?;
        let version = schema::current_version(&tx).map_err(db)?;
        if version > schema::SCHEMA_VERSION {
            return Err(RegisterError::SchemaTooNew {
                found: version,
                supported: schema::SCHEMA_VERSION,
            });
        }
        schema::upgrade_to(&tx, version, schema::SCHEMA_VERSION).map_err(db)?;
        tx.commit().map_err(db)?;
        let sealed_by = sealing_key(&conn).map_err(db)?;
        Ok(Register {
            path: path.to_owned(),
            separate_reader: path.is_file(),
            state: Mutex::new(State {
                conn,
                people: PeopleCache::default(),
                site: None,
                sealed_by,
                on_append: None,
            }),
        })
    }

    /// Opens the register at `path` (as [`Register::open`]) with the site key that seals
    /// every entry; a new or older register gets its format marker first ([`Register::seal`]).
    pub fn open_with_site_key(path: &Path, site: Arc<SiteKey>) -> Result<Register, RegisterError> {
        let reg = Register::open(path)?;
        reg.seal(site)?;
        Ok(reg)
    }

    /// From now on, seals every appended entry with `site`. A register without a format
    /// marker (new, or written before sealing existed) gets one, naming the key and its
    /// fingerprint, which is returned. A register sealed by another key is refused.
    pub fn seal(&self, site: Arc<SiteKey>) -> Result<Option<Entry>, RegisterError> {
        let mut guard = self.lock();
        if let Some(in_force) = &guard.sealed_by {
            if *in_force != site.fingerprint() {
                return Err(RegisterError::SiteKeyMismatch {
                    register_key: in_force.clone(),
                    given_key: site.fingerprint(),
                });
            }
            guard.site = Some(site);
            return Ok(None);
        }
        guard.site = Some(site.clone());
        drop(guard);
        let marker = self.append_with(
            |head| {
                Ok(NewEntry::new(
                    EntryKind::ConfigChanged,
                    None,
                    SITE_PERSON,
                    json!({
                        "register_format": verify::REGISTER_FORMAT,
                        "site_key": site.public_key(),
                        "site_key_fingerprint": site.fingerprint(),
                        "sealed_after": head.seq,
                    }),
                ))
            },
            false,
        );
        match marker {
            Ok(marker) => Ok(Some(marker)),
            Err(e) => {
                // Not sealed after all: appends stay unsealed as before.
                self.lock().site = None;
                Err(e)
            }
        }
    }

    /// Fingerprint of the site key that seals the register, if it is sealed.
    pub fn sealed_by(&self) -> Option<String> {
        self.lock().sealed_by.clone()
    }

    /// Calls `hook` with the new head after every committed append.
    pub fn on_append(&self, hook: AppendHook) {
        self.lock().on_append = Some(hook);
    }

    /// Opens an existing register read-only (for verifying or reporting on a copy): nothing is
    /// created or upgraded.
    pub fn open_read_only(path: &Path) -> Result<Register, RegisterError> {
        let db = |source| RegisterError::Database {
            path: path.to_owned(),
            source,
        };
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(db)?;
        conn.busy_timeout(Duration::from_secs(30)).map_err(db)?;
        // A copy on read-only media cannot get its WAL index (-shm) created: read it as an
        // immutable file instead.
        let (conn, version) = match schema::current_version(&conn) {
            Ok(v) => (conn, v),
            Err(first) => {
                let uri = format!("file:{}?immutable=1", uri_path(path));
                let conn = Connection::open_with_flags(uri, flags | OpenFlags::SQLITE_OPEN_URI)
                    .map_err(|_| db(first))?;
                let v = schema::current_version(&conn).map_err(db)?;
                (conn, v)
            }
        };
        if version > schema::SCHEMA_VERSION {
            return Err(RegisterError::SchemaTooNew {
                found: version,
                supported: schema::SCHEMA_VERSION,
            });
        }
        if version == 0 {
            return Err(RegisterError::NotARegister {
                path: path.to_owned(),
            });
        }
        let sealed_by = sealing_key(&conn).map_err(db)?;
        Ok(Register {
            path: path.to_owned(),
            separate_reader: false,
            state: Mutex::new(State {
                conn,
                people: PeopleCache::default(),
                site: None,
                sealed_by,
                on_append: None,
            }),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn db(&self, source: rusqlite::Error) -> RegisterError {
        RegisterError::Database {
            path: self.path.clone(),
            source,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave a half-written entry (the transaction
        // rolls back on drop), so the state is still usable.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Appends an entry; it is durable (fsynced) when this returns.
    ///
    /// Signatures must verify against the people list in force (for a `PeopleChanged` entry:
    /// the list before it, or the new list itself when it is the first). `Checkpoint` entries
    /// are made with [`Register::checkpoint`].
    pub fn append(&self, e: NewEntry) -> Result<Entry, RegisterError> {
        if e.kind == EntryKind::Checkpoint {
            return Err(RegisterError::InvalidEntry(
                "checkpoint entries are made by Register::checkpoint with the site key".into(),
            ));
        }
        self.append_with(|_| Ok(e), true)
    }

    /// Appends a checkpoint: the current head signed with the site key. In a sealed register
    /// the checkpoint is sealed like every entry (`site` must be the register's key); in an
    /// older one it carries `site`'s signature of its statement, as before sealing.
    pub fn checkpoint(&self, site: &SiteKey) -> Result<Entry, RegisterError> {
        let sealed = self.lock().site.is_some();
        if sealed {
            let in_force = self.sealed_by();
            if in_force.as_deref() != Some(site.fingerprint().as_str()) {
                return Err(RegisterError::SiteKeyMismatch {
                    register_key: in_force.unwrap_or_default(),
                    given_key: site.fingerprint(),
                });
            }
        }
        self.append_with(
            |head| {
                let mut e = NewEntry::new(
                    EntryKind::Checkpoint,
                    None,
                    SITE_PERSON,
                    json!({
                        "seq": head.seq,
                        "hash": hex::encode(head.hash),
                        "site_key": site.public_key(),
                    }),
                );
                if !sealed {
                    let sig = site.sign(&e.statement())?;
                    e.signatures.push(EntrySignature {
                        person: SITE_PERSON.into(),
                        role: SITE_ROLE.into(),
                        signature: sig,
                    });
                }
                Ok(e)
            },
            false,
        )
    }

    /// Appends a checkpoint with the register's own site key unless the last entry already is
    /// one (nothing changed since). Returns the checkpoint written.
    pub fn checkpoint_if_changed(&self) -> Result<Option<Entry>, RegisterError> {
        let Some(site) = self.lock().site.clone() else {
            return Err(RegisterError::SealedWithoutKey);
        };
        let last_kind: Option<String> = {
            let guard = self.lock();
            guard
                .conn
                .query_row(
                    "SELECT kind FROM entries ORDER BY seq DESC LIMIT 1",
                    [],
                    |r| r.get(0),
                )
                .optional()
                .map_err(|e| self.db(e))?
        };
        if last_kind.is_none() || last_kind.as_deref() == Some(EntryKind::Checkpoint.as_str()) {
            return Ok(None);
        }
        self.checkpoint(&site).map(Some)
    }

    /// Appends several entries atomically (all or none) with a single durable commit.
    pub fn append_all(&self, entries: Vec<NewEntry>) -> Result<Vec<Entry>, RegisterError> {
        if entries.iter().any(|e| e.kind == EntryKind::Checkpoint) {
            return Err(RegisterError::InvalidEntry(
                "checkpoint entries are made by Register::checkpoint with the site key".into(),
            ));
        }
        let mut guard = self.lock();
        let State {
            conn,
            people,
            site,
            sealed_by,
            ..
        } = &mut *guard;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self.db(e))?;
        let mut head = self.stored_head(&tx)?;
        let mut out = Vec::with_capacity(entries.len());
        let mut list = people.clone_for_batch();
        let mut sealing = Sealing::new(site.as_deref(), sealed_by.clone());
        for e in entries {
            let entry = self.insert(&tx, &mut list, &mut sealing, head, e, true)?;
            head = entry.head();
            out.push(entry);
        }
        tx.commit().map_err(|e| self.db(e))?;
        *people = list;
        *sealed_by = sealing.sealed_by;
        if let (Some(hook), Some(last)) = (&guard.on_append, out.last()) {
            hook(last);
        }
        Ok(out)
    }

    fn stored_head(&self, conn: &Connection) -> Result<Head, RegisterError> {
        store::head_of(conn)
            .map_err(|e| self.db(e))?
            .ok_or_else(|| RegisterError::ChainBroken {
                entry: 0,
                reason: "the stored head hash does not parse; run `scelle register verify`".into(),
            })
    }

    fn append_with(
        &self,
        build: impl FnOnce(Head) -> Result<NewEntry, RegisterError>,
        check_people: bool,
    ) -> Result<Entry, RegisterError> {
        let mut guard = self.lock();
        let State {
            conn,
            people,
            site,
            sealed_by,
            on_append,
        } = &mut *guard;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self.db(e))?;
        let head = self.stored_head(&tx)?;
        let e = build(head)?;
        let mut list = people.clone_for_batch();
        let mut sealing = Sealing::new(site.as_deref(), sealed_by.clone());
        let entry = self.insert(&tx, &mut list, &mut sealing, head, e, check_people)?;
        tx.commit().map_err(|e| self.db(e))?;
        *people = list;
        *sealed_by = sealing.sealed_by;
        if let Some(hook) = on_append {
            hook(&entry);
        }
        Ok(entry)
    }

    /// Checks and inserts one entry after `head`, inside the caller's transaction.
    fn insert(
        &self,
        tx: &Connection,
        people: &mut PeopleCache,
        sealing: &mut Sealing<'_>,
        head: Head,
        e: NewEntry,
        check_people: bool,
    ) -> Result<Entry, RegisterError> {
        e.validate()?;
        let marker =
            e.kind == EntryKind::ConfigChanged && e.payload.get("register_format").is_some();
        let seal_with = match (sealing.site, &sealing.sealed_by) {
            (Some(site), _) if marker || sealing.sealed_by.is_some() => Some(site),
            (None, Some(_)) => return Err(RegisterError::SealedWithoutKey),
            _ => None,
        };
        if seal_with.is_some() && e.signatures.iter().any(|s| s.person == SITE_PERSON) {
            return Err(RegisterError::InvalidEntry(
                "only the register itself signs as scelle".into(),
            ));
        }
        let payload = to_canonical_json(&e.payload);
        let statement = String::from_utf8(e.statement()).unwrap_or_default();
        refresh_people(tx, people, head.seq).map_err(|err| self.db(err))?;
        let new_list = if e.kind == EntryKind::PeopleChanged {
            Some(People::from_payload(&e.payload).map_err(RegisterError::InvalidEntry)?)
        } else {
            None
        };
        if check_people {
            let judge = match &new_list {
                Some(list) if people.people.is_empty() => list,
                _ => &people.people,
            };
            for s in &e.signatures {
                judge.check(s, statement.as_bytes()).map_err(|reason| {
                    RegisterError::SignatureRefused {
                        person: s.person.clone(),
                        role: s.role.clone(),
                        reason,
                    }
                })?;
            }
        }
        let seq = head.seq + 1;
        let time = format!("{:.6}", jiff::Timestamp::now());
        let mut raw = RawEntry {
            seq: i64::try_from(seq)
                .map_err(|_| RegisterError::InvalidEntry("register full".into()))?,
            time,
            kind: e.kind.as_str().to_owned(),
            case_id: e.case_id.clone(),
            actor: e.actor.clone(),
            payload,
            statement,
            prev_hash: hex::encode(head.hash),
            hash: String::new(),
            signatures: e
                .signatures
                .iter()
                .map(|s| (s.person.clone(), s.role.clone(), s.signature.clone()))
                .collect(),
        };
        if let Some(site) = seal_with {
            let text = entry::seal_text(seq, &raw.time, &raw.prev_hash, &raw.statement);
            let seal = site.sign(text.as_bytes())?;
            raw.signatures
                .push((SITE_PERSON.to_owned(), SITE_ROLE.to_owned(), seal));
            if marker {
                sealing.sealed_by = Some(site.fingerprint());
            }
        }
        if e.kind == EntryKind::ConfigChanged
            && !marker
            && seal_with.is_some()
            && let Some(key) = e.payload.get("site_key").and_then(|v| v.as_str())
        {
            sealing.sealed_by = signature::fingerprint_of(key);
        }
        raw.hash = hex::encode(raw.compute_hash());
        let mut insert_entry = tx
            .prepare_cached(&format!(
                "INSERT INTO entries ({ENTRY_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
            ))
            .map_err(|e| self.db(e))?;
        insert_entry
            .execute(rusqlite::params![
                raw.seq,
                raw.time,
                raw.kind,
                raw.case_id,
                raw.actor,
                raw.payload,
                raw.statement,
                raw.prev_hash,
                raw.hash
            ])
            .map_err(|e| self.db(e))?;
        let mut insert_sig = tx
            .prepare_cached(
                "INSERT INTO signatures (seq, idx, person, role, signature) VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .map_err(|e| self.db(e))?;
        for (idx, (person, role, signature)) in raw.signatures.iter().enumerate() {
            insert_sig
                .execute(rusqlite::params![
                    raw.seq, idx as i64, person, role, signature
                ])
                .map_err(|e| self.db(e))?;
        }
        if let Some(list) = new_list {
            people.people = list;
            people.as_of_seq = raw.seq;
        }
        tracing::debug!(seq, kind = %e.kind, "register entry appended");
        parse_entry(&raw).map_err(|reason| RegisterError::ChainBroken { entry: seq, reason })
    }

    /// The current sequence number and head hash.
    pub fn head(&self) -> Result<Head, RegisterError> {
        let guard = self.lock();
        store::head_of(&guard.conn)
            .map_err(|e| self.db(e))?
            .ok_or_else(|| RegisterError::ChainBroken {
                entry: 0,
                reason: "the stored head hash does not parse".into(),
            })
    }

    /// The stored hash of entry `seq` (unchecked: verify first), `None` past the head.
    pub fn hash_at(&self, seq: u64) -> Result<Option<[u8; 32]>, RegisterError> {
        let guard = self.lock();
        let hash: Option<String> = guard
            .conn
            .query_row(
                "SELECT hash FROM entries WHERE seq = ?1",
                [i64::try_from(seq).unwrap_or(i64::MAX)],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.db(e))?;
        Ok(hash.and_then(|h| store::parse_hash(&h)))
    }

    /// The head at the last checkpoint whose sequence number is at most `seq` (the checkpoint
    /// entry itself), if any.
    pub fn checkpoint_head_at_or_before(&self, seq: u64) -> Result<Option<Head>, RegisterError> {
        let guard = self.lock();
        let row: Option<(i64, String)> = guard
            .conn
            .query_row(
                "SELECT seq, hash FROM entries WHERE kind = 'checkpoint' AND seq <= ?1
                 ORDER BY seq DESC LIMIT 1",
                [i64::try_from(seq).unwrap_or(i64::MAX)],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(|e| self.db(e))?;
        Ok(row.and_then(|(seq, hash)| {
            Some(Head {
                seq: u64::try_from(seq).ok()?,
                hash: store::parse_hash(&hash)?,
            })
        }))
    }

    /// The hash of the `export-started` entry of export `export_id` (what the export's later
    /// entries link to), if there is one.
    pub fn export_started(&self, export_id: &str) -> Result<Option<[u8; 32]>, RegisterError> {
        let guard = self.lock();
        let hash: Option<String> = guard
            .conn
            .query_row(
                "SELECT hash FROM entries WHERE kind = 'export-started'
                 AND json_extract(payload, '$.export_id') = ?1 ORDER BY seq DESC LIMIT 1",
                [export_id],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.db(e))?;
        Ok(hash.and_then(|h| store::parse_hash(&h)))
    }

    /// The text of payload field `field` in the last entry of `kind` that has it.
    pub fn last_field(
        &self,
        kind: EntryKind,
        field: &str,
    ) -> Result<Option<String>, RegisterError> {
        let guard = self.lock();
        let path = format!("$.{field}");
        guard
            .conn
            .query_row(
                "SELECT json_extract(payload, ?2) FROM entries WHERE kind = ?1
                 AND json_extract(payload, ?2) IS NOT NULL ORDER BY seq DESC LIMIT 1",
                rusqlite::params![kind.as_str(), path],
                |r| r.get::<_, rusqlite::types::Value>(0),
            )
            .optional()
            .map_err(|e| self.db(e))
            .map(|v| match v {
                Some(rusqlite::types::Value::Text(t)) => Some(t),
                Some(rusqlite::types::Value::Integer(i)) => Some(i.to_string()),
                _ => None,
            })
    }

    /// The stored entries, oldest first, of one case or of the whole register. This reads;
    /// it does not verify (see [`Register::verify`]).
    pub fn entries(&self, case_id: Option<&str>) -> Result<Vec<Entry>, RegisterError> {
        let filter = match case_id {
            Some(_) => "case_id = ?1",
            None => "?1 IS NULL",
        };
        self.entries_where(filter, case_id)
    }

    /// The stored entries of these kinds, oldest first (read, not verified).
    pub fn entries_of_kinds(&self, kinds: &[EntryKind]) -> Result<Vec<Entry>, RegisterError> {
        let names: Vec<String> = kinds.iter().map(|k| format!("'{}'", k.as_str())).collect();
        let filter = format!("kind IN ({}) AND ?1 IS NULL", names.join(", "));
        self.entries_where(&filter, None)
    }

    /// Entries whose row matches `filter` (SQL over `entries`, one parameter `?1`).
    fn entries_where(
        &self,
        filter: &str,
        param: Option<&str>,
    ) -> Result<Vec<Entry>, RegisterError> {
        let case_id = param;
        let guard = self.lock();
        let conn = &guard.conn;
        let sql = format!("SELECT {ENTRY_COLUMNS} FROM entries WHERE {filter} ORDER BY seq");
        let mut stmt = conn.prepare(&sql).map_err(|e| self.db(e))?;
        let mut raws: Vec<RawEntry> = stmt
            .query_map([case_id], raw_from_row)
            .map_err(|e| self.db(e))?
            .collect::<rusqlite::Result<_>>()
            .map_err(|e| self.db(e))?;
        // The signatures in one ordered pass rather than one query per entry.
        let sigs_sql = format!(
            "SELECT seq, person, role, signature FROM signatures WHERE seq IN \
             (SELECT seq FROM entries WHERE {filter}) ORDER BY seq, idx"
        );
        let mut stmt = conn.prepare(&sigs_sql).map_err(|e| self.db(e))?;
        let mut sigs = stmt
            .query_map([case_id], |r| {
                Ok((r.get::<_, i64>(0)?, (r.get(1)?, r.get(2)?, r.get(3)?)))
            })
            .map_err(|e| self.db(e))?
            .peekable();
        for raw in &mut raws {
            while let Some(Ok((seq, _))) = sigs.peek() {
                if *seq < raw.seq {
                    sigs.next();
                } else if *seq == raw.seq {
                    if let Some(Ok((_, sig))) = sigs.next() {
                        raw.signatures.push(sig);
                    }
                } else {
                    break;
                }
            }
            if let Some(Err(_)) = sigs.peek()
                && let Some(Err(e)) = sigs.next()
            {
                return Err(self.db(e));
            }
        }
        raws.into_iter()
            .map(|raw| {
                parse_entry(&raw).map_err(|reason| RegisterError::ChainBroken {
                    entry: u64::try_from(raw.seq).unwrap_or(0),
                    reason,
                })
            })
            .collect()
    }

    /// Walks the whole chain; `expected_head` (from a receipt, a witness or a checkpoint kept
    /// elsewhere) also detects removal of the newest entries.
    ///
    /// The walk reads through its own read-only connection when it can, so a long
    /// verification does not hold up appends (WAL readers see a consistent snapshot).
    pub fn verify(&self, expected_head: Option<&Head>) -> Result<VerifyReport, RegisterError> {
        self.verify_with(VerifyOptions {
            expected: expected_head,
            ..VerifyOptions::default()
        })
    }

    /// [`Register::verify`] with every option: a pinned site key, a trusted prefix.
    pub fn verify_with(&self, opts: VerifyOptions<'_>) -> Result<VerifyReport, RegisterError> {
        if self.separate_reader
            && let Ok(conn) = Connection::open_with_flags(
                &self.path,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )
            && conn.busy_timeout(Duration::from_secs(30)).is_ok()
        {
            // One read transaction: the whole walk sees one snapshot.
            let db = |source| RegisterError::Database {
                path: self.path.clone(),
                source,
            };
            conn.execute_batch("BEGIN").map_err(db)?;
            let result = verify::verify_chain(&conn, opts);
            let _ = conn.execute_batch("COMMIT");
            return result;
        }
        let guard = self.lock();
        verify::verify_chain(&guard.conn, opts)
    }

    /// Proves every witnessed head is in the chain `report` verified: an entry with that
    /// sequence number and hash. A head past the end means entries were removed or an older
    /// copy restored; a different hash means the register was rewritten from there (a fork).
    pub fn check_witnesses(
        &self,
        heads: &[witness::WitnessHead],
        report: &VerifyReport,
    ) -> Result<(), RegisterError> {
        for w in heads {
            let found = if w.head.seq == 0 {
                continue;
            } else if w.head.seq > report.head.seq {
                format!(
                    "the register ends at {} (entries were removed, or an older copy restored); witness {}",
                    report.head, w.source
                )
            } else {
                match self.hash_at(w.head.seq)? {
                    Some(h) if h == w.head.hash => continue,
                    Some(h) => format!(
                        "entry {} with hash {} (the register was rewritten from there: a fork); witness {}",
                        w.head.seq,
                        hex::encode(h),
                        w.source
                    ),
                    None => format!("no entry {}; witness {}", w.head.seq, w.source),
                }
            };
            return Err(RegisterError::Truncated {
                expected_seq: w.head.seq,
                expected_hash: hex::encode(w.head.hash),
                found,
            });
        }
        Ok(())
    }

    /// The people list in force now (empty before the first `PeopleChanged` entry).
    pub fn people(&self) -> Result<Vec<PersonRecord>, RegisterError> {
        let guard = self.lock();
        let payload: Option<String> = guard
            .conn
            .query_row(
                "SELECT payload FROM entries WHERE kind = 'people-changed' ORDER BY seq DESC LIMIT 1",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.db(e))?;
        let Some(payload) = payload else {
            return Ok(Vec::new());
        };
        let value: serde_json::Value = serde_json::from_str(&payload)
            .map_err(|e| RegisterError::InvalidEntry(format!("stored people list: {e}")))?;
        serde_json::from_value(value.get("people").cloned().unwrap_or_default())
            .map_err(|e| RegisterError::InvalidEntry(format!("stored people list: {e}")))
    }

    /// A consistent copy of the database at `to`, through SQLite's online backup API.
    pub fn backup(&self, to: &Path) -> Result<(), RegisterError> {
        let guard = self.lock();
        guard
            .conn
            .backup(rusqlite::MAIN_DB, to, None)
            .map_err(|source| RegisterError::Database {
                path: to.to_owned(),
                source,
            })
    }
}

/// The site key and sealing state for one transaction; `sealed_by` is kept only if it commits.
struct Sealing<'a> {
    site: Option<&'a SiteKey>,
    sealed_by: Option<String>,
}

impl<'a> Sealing<'a> {
    fn new(site: Option<&'a SiteKey>, sealed_by: Option<String>) -> Sealing<'a> {
        Sealing { site, sealed_by }
    }
}

/// The fingerprint of the site key in force, if the register has a format marker: the key of
/// the marker or of the last `config-changed` after it that names a new one.
fn sealing_key(conn: &Connection) -> rusqlite::Result<Option<String>> {
    let has_entries: bool = conn.query_row(
        "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'entries'",
        [],
        |r| r.get(0),
    )?;
    if !has_entries {
        return Ok(None);
    }
    let key: Option<String> = conn
        .query_row(
            "SELECT json_extract(payload, '$.site_key') FROM entries
             WHERE kind = 'config-changed' AND json_extract(payload, '$.site_key') IS NOT NULL
               AND seq >= (SELECT min(seq) FROM entries WHERE kind = 'config-changed'
                           AND json_extract(payload, '$.register_format') IS NOT NULL)
             ORDER BY seq DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .optional()?
        .flatten();
    Ok(key.and_then(|k| signature::fingerprint_of(&k)))
}

/// A path percent-encoded for an SQLite `file:` URI.
fn uri_path(path: &Path) -> String {
    let mut out = String::new();
    for b in path.to_string_lossy().bytes() {
        match b {
            b'%' | b'?' | b'#' | 0x80.. => out.push_str(&format!("%{b:02X}")),
            _ => out.push(b as char),
        }
    }
    out
}

/// Brings the cached people list up to date with entries appended since it was last read (by
/// this process or another one); only the entries after that point are scanned.
fn refresh_people(
    conn: &Connection,
    cache: &mut PeopleCache,
    head_seq: u64,
) -> rusqlite::Result<()> {
    let head_seq = i64::try_from(head_seq).unwrap_or(i64::MAX);
    if head_seq <= cache.as_of_seq {
        return Ok(());
    }
    let newer: Option<String> = conn
        .query_row(
            "SELECT payload FROM entries WHERE seq > ?1 AND kind = 'people-changed' ORDER BY seq DESC LIMIT 1",
            [cache.as_of_seq],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(payload) = newer
        && let Ok(value) = serde_json::from_str(&payload)
        && let Ok(list) = People::from_payload(&value)
    {
        cache.people = list;
    }
    cache.as_of_seq = head_seq;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_memory_register_verifies_its_own_entries() {
        let reg = Register::open(Path::new(":memory:")).unwrap();
        reg.append(NewEntry::new(
            EntryKind::ConfigChanged,
            None,
            "scelle",
            json!({"a": 1}),
        ))
        .unwrap();
        assert_eq!(reg.verify(None).unwrap().entries, 1);
    }

    fn site() -> Arc<SiteKey> {
        let key = ssh_key::PrivateKey::random(&mut rand::rngs::OsRng, ssh_key::Algorithm::Ed25519)
            .unwrap();
        Arc::new(SiteKey::from_private(key).unwrap())
    }

    #[test]
    fn a_sealed_register_starts_with_its_marker_and_refuses_other_keys_and_no_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.sqlite");
        let key = site();
        let reg = Register::open_with_site_key(&path, key.clone()).unwrap();
        let e = reg
            .append(NewEntry::new(
                EntryKind::ConfigChanged,
                None,
                "scelle",
                json!({"a": 1}),
            ))
            .unwrap();
        assert_eq!(e.seq, 2);
        assert_eq!(e.signatures.last().unwrap().person, SITE_PERSON);
        let rep = reg.verify(None).unwrap();
        assert_eq!(rep.sealed_from, Some(1));
        assert_eq!(rep.site_key, Some(key.fingerprint()));
        drop(reg);
        // Another key: refused. No key: appends refused.
        assert!(matches!(
            Register::open_with_site_key(&path, site()),
            Err(RegisterError::SiteKeyMismatch { .. })
        ));
        let bare = Register::open(&path).unwrap();
        assert!(matches!(
            bare.append(NewEntry::new(
                EntryKind::ConfigChanged,
                None,
                "scelle",
                json!({})
            )),
            Err(RegisterError::SealedWithoutKey)
        ));
        // Nobody but the register signs as scelle.
        let reg = Register::open_with_site_key(&path, key).unwrap();
        let mut e = NewEntry::new(EntryKind::ConfigChanged, None, "scelle", json!({}));
        e.signatures.push(EntrySignature {
            person: SITE_PERSON.into(),
            role: SITE_ROLE.into(),
            signature: "x".into(),
        });
        assert!(matches!(reg.append(e), Err(RegisterError::InvalidEntry(_))));
    }

    #[test]
    fn an_older_register_is_sealed_from_its_marker_on() {
        let reg = Register::open(Path::new(":memory:")).unwrap();
        reg.append(NewEntry::new(
            EntryKind::ConfigChanged,
            None,
            "scelle",
            json!({"a": 1}),
        ))
        .unwrap();
        let marker = reg.seal(site()).unwrap().unwrap();
        assert_eq!(marker.seq, 2);
        assert_eq!(marker.payload["sealed_after"], 1);
        let rep = reg.verify(None).unwrap();
        assert_eq!((rep.sealed_from, rep.unsealed()), (Some(2), 1));
    }

    #[test]
    fn register_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Register>();
    }
}
