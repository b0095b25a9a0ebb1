//! Offline verification: walks the whole chain of any copy of the database, checks every link,
//! hash, statement, seal and signature, and the authority of every entry from the register's
//! own history (who held which role with which key at that position), and names the first
//! entry that does not hold and the rule it breaks.
//!
//! Entries from the format marker on (a sealed register, decision 0060) must carry the site
//! key's seal and obey the rules of [`check_authority`]; entries before a marker (a register
//! written before sealing existed) are checked as they were then: chain, statement and the
//! signatures they carry.

use std::collections::HashMap;

use rusqlite::Connection;
use serde::Serialize;
use ssh_key::PublicKey;

use super::canonical::to_canonical_json;
use super::chain::RawEntry;
use super::entry::{Entry, EntryKind, Head, SIGNATURE_NAMESPACE, seal_text, statement_text};
use super::error::RegisterError;
use super::signature::{
    People, SITE_PERSON, SITE_ROLE, fingerprint_of, verify as verify_signature, verify_with_key,
};
use super::store::{ENTRY_COLUMNS, load_signatures, parse_entry, raw_from_row};

/// The `register_format` a format marker carries: entries from the marker on are sealed.
pub const REGISTER_FORMAT: u64 = 2;
/// SSHSIG namespace of a remote approval's signed statement.
pub const APPROVE_NAMESPACE: &str = "scelle-approve";
/// SSHSIG namespace of an export countersignature's signed statement.
pub const COUNTERSIGN_NAMESPACE: &str = "scelle-countersign";

/// What a successful verification covered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// Number of entries walked.
    pub entries: u64,
    /// The verified head.
    pub head: Head,
    /// Signatures checked (people and site key).
    pub signatures: u64,
    /// Checkpoint entries checked; the last one's sequence number.
    pub checkpoints: u64,
    pub last_checkpoint: Option<u64>,
    /// Entries that changed the people list.
    pub people_changes: u64,
    /// The format marker's sequence number: every entry from it on is sealed by the site key.
    /// `None` for a register written before sealing (decision 0060).
    pub sealed_from: Option<u64>,
    /// Fingerprint (`SHA256:...`) of the site key in force at the head.
    pub site_key: Option<String>,
    /// Entries whose signatures were not checked again because they were already verified
    /// (the daemon's start from the head it last wrote); 0 for `scelle register verify`.
    pub trusted: u64,
}

impl VerifyReport {
    /// Entries before the format marker: chained, but not sealed by a site key.
    pub fn unsealed(&self) -> u64 {
        match self.sealed_from {
            Some(s) => s - 1,
            None => self.entries,
        }
    }
}

/// How to verify.
#[derive(Clone, Copy, Debug, Default)]
pub struct VerifyOptions<'a> {
    /// A head known from elsewhere (receipt, witness): the chain must contain it.
    pub expected: Option<&'a Head>,
    /// Entries up to this head were verified before (by this daemon): their hashes and links are
    /// checked and they are folded, but their signatures are not checked again. The chain must
    /// contain this head.
    pub trusted: Option<&'a Head>,
    /// The site key fingerprint an auditor pinned: the register must be sealed by it.
    pub site_key: Option<&'a str>,
}

/// The site key in force.
struct Site {
    key: PublicKey,
    fingerprint: String,
}

/// What the rules need to know about a case.
struct CaseFacts {
    opened_seq: u64,
    opened: [u8; 32],
    opener: String,
    authorizers: Vec<String>,
    exporters: Vec<String>,
    /// An access request (DEL-2), and whether its data subject's identity was proven.
    access_request: bool,
    identity: bool,
}

/// An entry other entries may link to.
struct Target {
    seq: u64,
    kind: EntryKind,
    case_id: Option<String>,
    actor: String,
}

/// Running state of the walk: what is in force at the current entry.
struct Walk {
    people: People,
    /// Legacy (pre-marker) checkpoints: the key of the first one, or of a `config-changed`.
    legacy_site_key: Option<String>,
    site: Option<Site>,
    /// Fingerprint of the key the format marker introduced (what an auditor pins).
    first_fingerprint: Option<String>,
    cases: HashMap<String, CaseFacts>,
    targets: HashMap<[u8; 32], Target>,
    report: VerifyReport,
    jobs: Jobs,
}

/// One signature check of a sealed entry, made on a worker thread while the walk goes on
/// (the walk decides which key is in force; the check itself is independent).
struct Job {
    seq: u64,
    what: Failure,
    key: PublicKey,
    namespace: &'static str,
    message: Vec<u8>,
    armored: String,
}

/// What a failed [`Job`] means.
enum Failure {
    /// The site key's seal (with that key's fingerprint).
    Seal(String),
    /// A person's signature of the statement.
    Person(String),
    /// A person's signed statement (remote approval, countersignature).
    Statement(String),
}

impl Job {
    fn run(&self) -> Result<(), RegisterError> {
        verify_signature(&self.key, self.namespace, &self.message, &self.armored).map_err(
            |reason| match &self.what {
                Failure::Seal(fingerprint) => rule(
                    self.seq,
                    "seal",
                    format!(
                        "the site key's seal does not verify with {fingerprint} ({reason}): the entry was changed, moved or forged"
                    ),
                ),
                Failure::Person(person) => RegisterError::BadSignature {
                    entry: self.seq,
                    person: person.clone(),
                    reason: reason.to_string(),
                },
                Failure::Statement(person) => RegisterError::BadSignature {
                    entry: self.seq,
                    person: person.clone(),
                    reason: format!("signed statement: {reason}"),
                },
            },
        )
    }
}

/// Batches of jobs for the workers, or checks made at once when there is a single core.
struct Jobs {
    batch: Vec<Job>,
    tx: Option<std::sync::mpsc::SyncSender<Vec<Job>>>,
}

/// Jobs per batch sent to a worker.
const BATCH: usize = 256;

impl Jobs {
    fn push(&mut self, job: Job) -> Result<(), RegisterError> {
        let Some(tx) = &self.tx else {
            return job.run();
        };
        self.batch.push(job);
        if self.batch.len() >= BATCH {
            let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH));
            // A worker gone means the walk is ending anyway.
            let _ = tx.send(batch);
        }
        Ok(())
    }

    /// Sends what is left and closes the channel.
    fn finish(&mut self) {
        if let Some(tx) = self.tx.take()
            && !self.batch.is_empty()
        {
            let _ = tx.send(std::mem::take(&mut self.batch));
        }
    }
}

/// The failure with the smallest sequence number.
fn first_failure(slot: &std::sync::Mutex<Option<RegisterError>>, e: RegisterError) {
    let mut slot = slot.lock().unwrap_or_else(|p| p.into_inner());
    if slot
        .as_ref()
        .is_none_or(|old| e.entry().unwrap_or(u64::MAX) < old.entry().unwrap_or(u64::MAX))
    {
        *slot = Some(e);
    }
}

fn broken(entry: u64, reason: impl Into<String>) -> RegisterError {
    RegisterError::ChainBroken {
        entry,
        reason: reason.into(),
    }
}

fn rule(entry: u64, rule: &'static str, reason: impl Into<String>) -> RegisterError {
    RegisterError::RuleBroken {
        entry,
        rule,
        reason: reason.into(),
    }
}

/// Verifies the chain read through `conn`: the walk on this thread, signature checks on
/// worker threads; the error reported is the one of the first bad entry.
pub(crate) fn verify_chain(
    conn: &Connection,
    opts: VerifyOptions<'_>,
) -> Result<VerifyReport, RegisterError> {
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8);
    if workers < 2 {
        return walk_chain(conn, opts, None);
    }
    let failure = std::sync::Mutex::new(None);
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Job>>(workers * 4);
    let rx = std::sync::Mutex::new(rx);
    let walked = std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let batch = {
                        let rx = rx.lock().unwrap_or_else(|p| p.into_inner());
                        rx.recv()
                    };
                    let Ok(batch) = batch else { return };
                    for job in batch {
                        if let Err(e) = job.run() {
                            first_failure(&failure, e);
                        }
                    }
                }
            });
        }
        walk_chain(conn, opts, Some(tx))
    });
    let failed = failure.into_inner().unwrap_or_else(|p| p.into_inner());
    match (walked, failed) {
        (Ok(_), Some(f)) => Err(f),
        (Err(w), Some(f)) if f.entry().unwrap_or(u64::MAX) <= w.entry().unwrap_or(u64::MAX) => {
            Err(f)
        }
        (walked, _) => walked,
    }
}

fn walk_chain(
    conn: &Connection,
    opts: VerifyOptions<'_>,
    tx: Option<std::sync::mpsc::SyncSender<Vec<Job>>>,
) -> Result<VerifyReport, RegisterError> {
    let mut walk = Walk {
        people: People::default(),
        legacy_site_key: None,
        site: None,
        first_fingerprint: None,
        cases: HashMap::new(),
        targets: HashMap::new(),
        report: VerifyReport {
            entries: 0,
            head: Head::GENESIS,
            signatures: 0,
            checkpoints: 0,
            last_checkpoint: None,
            people_changes: 0,
            sealed_from: None,
            site_key: None,
            trusted: 0,
        },
        jobs: Jobs {
            batch: Vec::with_capacity(BATCH),
            tx,
        },
    };
    let result = walk_rows(conn, opts, &mut walk);
    walk.jobs.finish();
    result
}

fn walk_rows(
    conn: &Connection,
    opts: VerifyOptions<'_>,
    walk: &mut Walk,
) -> Result<VerifyReport, RegisterError> {
    let db = |source| RegisterError::Database {
        path: conn.path().unwrap_or("").into(),
        source,
    };
    let trusted_seq = opts.trusted.map_or(0, |h| h.seq);
    let mut seen: Vec<(Head, Option<Head>)> = [opts.expected, opts.trusted]
        .into_iter()
        .flatten()
        .map(|h| (*h, None))
        .collect();
    let mut stmt = conn
        .prepare(&format!("SELECT {ENTRY_COLUMNS} FROM entries ORDER BY seq"))
        .map_err(db)?;
    let mut rows = stmt.query([]).map_err(db)?;
    while let Some(row) = rows.next().map_err(db)? {
        let mut raw = raw_from_row(row).map_err(|e| {
            broken(
                walk.report.head.seq + 1,
                format!("a column has the wrong type: {e}"),
            )
        })?;
        let check_signatures = walk.report.head.seq + 1 > trusted_seq;
        let head = match fold_trusted(walk, &raw, check_signatures)? {
            Some(head) => head,
            None => {
                load_signatures(conn, &mut raw).map_err(db)?;
                check_entry(walk, &raw, check_signatures)?.head()
            }
        };
        walk.report.entries += 1;
        if !check_signatures {
            walk.report.trusted += 1;
        }
        walk.report.head = head;
        for (want, found) in &mut seen {
            if want.seq == head.seq {
                *found = Some(head);
            }
        }
    }
    if let Some(pin) = opts.site_key {
        let pinned = fingerprint_of(pin).unwrap_or_else(|| pin.trim().to_owned());
        match &walk.first_fingerprint {
            Some(first) if *first == pinned => {}
            Some(first) => {
                return Err(rule(
                    walk.report.sealed_from.unwrap_or(0),
                    "site-key-pin",
                    format!("the register is sealed by site key {first}, not the pinned {pinned}"),
                ));
            }
            None => {
                return Err(rule(
                    walk.report.head.seq,
                    "site-key-pin",
                    format!("the register is not sealed by any site key, expected {pinned}"),
                ));
            }
        }
    }
    for (want, found) in seen {
        let found = match found {
            Some(h) if h.hash == want.hash => None,
            Some(h) => Some(format!(
                "entry {} with hash {} (the register was rewritten from there: a fork)",
                h.seq,
                hex::encode(h.hash)
            )),
            None if want.seq == 0 => None,
            None => Some(format!(
                "the register ends at {} (entries were removed, or an older copy restored)",
                walk.report.head
            )),
        };
        if let Some(found) = found {
            return Err(RegisterError::Truncated {
                expected_seq: want.seq,
                expected_hash: hex::encode(want.hash),
                found,
            });
        }
    }
    walk.report.site_key = walk.site.as_ref().map(|s| s.fingerprint.clone());
    Ok(walk.report.clone())
}

fn check_entry(
    walk: &mut Walk,
    raw: &RawEntry,
    check_signatures: bool,
) -> Result<Entry, RegisterError> {
    let prev = walk.report.head;
    let expected_seq = prev.seq + 1;
    if raw.seq != i64::try_from(expected_seq).unwrap_or(i64::MAX) {
        let reason = if raw.seq > i64::try_from(expected_seq).unwrap_or(i64::MAX) {
            format!(
                "entry {expected_seq} is missing: the sequence jumps from {} to {}",
                prev.seq, raw.seq
            )
        } else {
            format!(
                "sequence number {} out of order after {}",
                raw.seq, prev.seq
            )
        };
        return Err(broken(expected_seq, reason));
    }
    let seq = expected_seq;
    let entry = parse_entry(raw).map_err(|e| broken(seq, e))?;
    if entry.prev_hash != prev.hash {
        return Err(broken(
            seq,
            format!(
                "does not link to entry {}: its previous hash differs (entry {} or {seq} was altered, removed or moved)",
                prev.seq, prev.seq
            ),
        ));
    }
    if raw.compute_hash() != entry.hash {
        return Err(broken(
            seq,
            "its hash does not match its contents: it was changed after it was written",
        ));
    }
    let canonical = to_canonical_json(&entry.payload);
    if canonical != raw.payload {
        return Err(broken(seq, "payload is not in canonical form"));
    }
    if statement_text(&raw.kind, raw.case_id.as_deref(), &raw.actor, &raw.payload) != raw.statement
    {
        return Err(broken(
            seq,
            "the signed statement does not match the entry's fields",
        ));
    }
    if walk.site.is_none() && !is_marker(&entry) {
        check_legacy_signatures(walk, &entry, check_signatures)?;
    } else {
        check_seal(walk, raw, &entry, check_signatures)?;
        check_person_signatures(walk, &entry, check_signatures)?;
        check_authority(walk, &entry, check_signatures)?;
    }
    Ok(entry)
}

/// An entry of the trusted prefix (verified when the daemon wrote it, up to a head it kept):
/// only its place in the chain is checked (sequence number, link to the entry before) and what
/// later rules need is folded, without parsing or re-hashing it. `None` for the kinds that
/// change what is in force (people, configuration, checkpoints), which take the full path
/// without signature checks; and for every entry outside the trusted prefix.
fn fold_trusted(
    walk: &mut Walk,
    raw: &RawEntry,
    check_signatures: bool,
) -> Result<Option<Head>, RegisterError> {
    let kind = EntryKind::parse(&raw.kind);
    if check_signatures
        || walk.site.is_none()
        || matches!(
            kind,
            None | Some(
                EntryKind::PeopleChanged | EntryKind::ConfigChanged | EntryKind::Checkpoint
            )
        )
    {
        return Ok(None);
    }
    let kind = kind.unwrap_or(EntryKind::Checkpoint);
    let prev = walk.report.head;
    let seq = prev.seq + 1;
    if raw.seq != i64::try_from(seq).unwrap_or(i64::MAX) {
        return Err(broken(
            seq,
            format!("sequence number {} after {}", raw.seq, prev.seq),
        ));
    }
    let hash = super::store::parse_hash(&raw.hash)
        .ok_or_else(|| broken(seq, "hash is not 64 hex digits"))?;
    if super::store::parse_hash(&raw.prev_hash) != Some(prev.hash) {
        return Err(broken(
            seq,
            format!(
                "does not link to entry {}: its previous hash differs",
                prev.seq
            ),
        ));
    }
    let case = raw.case_id.as_deref().unwrap_or_default();
    match kind {
        EntryKind::CaseOpened => {
            walk.cases.insert(
                case.to_owned(),
                CaseFacts {
                    opened_seq: seq,
                    opened: hash,
                    opener: raw.actor.clone(),
                    authorizers: Vec::new(),
                    exporters: Vec::new(),
                    access_request: false,
                    identity: false,
                },
            );
        }
        EntryKind::CaseAuthorized => {
            let mut who = raw.actor.clone();
            if raw.payload.contains("\"signed_statement\"")
                && let Ok(v) = serde_json::from_str::<serde_json::Value>(&raw.payload)
                && let Some(p) = v
                    .pointer("/signed_statement/person")
                    .and_then(|p| p.as_str())
            {
                who = p.to_owned();
            }
            if let Some(f) = walk.cases.get_mut(case) {
                f.authorizers.push(who);
            }
        }
        EntryKind::ExportStarted | EntryKind::ExportCompleted => {
            if kind == EntryKind::ExportCompleted
                && let Some(f) = walk.cases.get_mut(case)
            {
                f.exporters.push(raw.actor.clone());
            }
            walk.targets.insert(
                hash,
                Target {
                    seq,
                    kind,
                    case_id: raw.case_id.clone(),
                    actor: raw.actor.clone(),
                },
            );
        }
        EntryKind::PeopleChanged
        | EntryKind::ConfigChanged
        | EntryKind::DocumentAttached
        | EntryKind::RequesterVerified
        | EntryKind::EmergencyStarted
        | EntryKind::EmergencyRegularized
        | EntryKind::ExportFailed
        | EntryKind::ExportInterrupted
        | EntryKind::ExportVerified
        | EntryKind::Delivered
        | EntryKind::ReceiptAttached
        | EntryKind::Purged
        | EntryKind::MediaInventoried
        | EntryKind::CaseClosed
        | EntryKind::Checkpoint
        | EntryKind::MediaDestroyed
        | EntryKind::ExportCountersigned
        | EntryKind::IdentityProven
        | EntryKind::ViewedOnSite => {}
    }
    Ok(Some(Head { seq, hash }))
}

/// A format marker: the `config-changed` entry that starts sealing (decision 0060).
fn is_marker(entry: &Entry) -> bool {
    entry.kind == EntryKind::ConfigChanged && entry.payload.get("register_format").is_some()
}

/// The seal: the entry's last signature, by the site key in force (for the marker: the key
/// it introduces), over [`seal_text`].
fn check_seal(
    walk: &mut Walk,
    raw: &RawEntry,
    entry: &Entry,
    check_signatures: bool,
) -> Result<(), RegisterError> {
    let seq = entry.seq;
    if is_marker(entry) {
        if let Some(site) = &walk.site {
            return Err(rule(
                seq,
                "format-marker",
                format!(
                    "a second format marker: the register is already sealed since entry {} by {}",
                    walk.report.sealed_from.unwrap_or(0),
                    site.fingerprint
                ),
            ));
        }
        if entry
            .payload
            .get("register_format")
            .and_then(|v| v.as_u64())
            != Some(REGISTER_FORMAT)
        {
            return Err(rule(
                seq,
                "format-marker",
                format!("unknown register_format (this scelle knows {REGISTER_FORMAT})"),
            ));
        }
        if entry.actor != SITE_PERSON {
            return Err(rule(seq, "actor", "the format marker is written by scelle"));
        }
        let public = entry
            .payload
            .get("site_key")
            .and_then(|v| v.as_str())
            .ok_or_else(|| rule(seq, "format-marker", "the format marker names no site key"))?;
        let key = PublicKey::from_openssh(public.trim()).map_err(|e| {
            rule(
                seq,
                "format-marker",
                format!("the site key is not an OpenSSH key: {e}"),
            )
        })?;
        let fingerprint = key.fingerprint(ssh_key::HashAlg::Sha256).to_string();
        if let Some(given) = entry
            .payload
            .get("site_key_fingerprint")
            .and_then(|v| v.as_str())
            && given != fingerprint
        {
            return Err(rule(
                seq,
                "format-marker",
                format!("the marker's fingerprint {given} is not its key's ({fingerprint})"),
            ));
        }
        walk.first_fingerprint = Some(fingerprint.clone());
        walk.site = Some(Site { key, fingerprint });
        walk.report.sealed_from = Some(seq);
    }
    let site = walk
        .site
        .as_ref()
        .ok_or_else(|| rule(seq, "seal", "no site key"))?;
    let Some(last) = entry.signatures.last() else {
        return Err(rule(
            seq,
            "seal",
            format!(
                "the entry carries no signature; every entry since {} is sealed by the site key {}",
                walk.report.sealed_from.unwrap_or(0),
                site.fingerprint
            ),
        ));
    };
    if last.person != SITE_PERSON || last.role != SITE_ROLE {
        return Err(rule(
            seq,
            "seal",
            format!(
                "the entry is not sealed by the site key {} (its last signature is {}'s as {})",
                site.fingerprint, last.person, last.role
            ),
        ));
    }
    if check_signatures {
        let text = seal_text(seq, &raw.time, &raw.prev_hash, &raw.statement);
        let job = Job {
            seq,
            what: Failure::Seal(site.fingerprint.clone()),
            key: site.key.clone(),
            namespace: SIGNATURE_NAMESPACE,
            message: text.into_bytes(),
            armored: last.signature.clone(),
        };
        walk.report.signatures += 1;
        walk.jobs.push(job)?;
    }
    Ok(())
}

/// Every signature of a sealed entry but its seal: a listed person holding the role, over the
/// statement (for a `people-changed` entry, the list before it; the first list vouches for
/// itself).
fn check_person_signatures(
    walk: &mut Walk,
    entry: &Entry,
    check_signatures: bool,
) -> Result<(), RegisterError> {
    let seq = entry.seq;
    let statement = entry.statement.as_bytes();
    let persons = &entry.signatures[..entry.signatures.len().saturating_sub(1)];
    let first_list = if entry.kind == EntryKind::PeopleChanged && walk.people.is_empty() {
        Some(People::from_payload(&entry.payload).map_err(|r| broken(seq, r))?)
    } else {
        None
    };
    let judge = first_list.as_ref().unwrap_or(&walk.people);
    for s in persons {
        if s.person == SITE_PERSON {
            return Err(rule(seq, "seal", "the site key seals an entry once, last"));
        }
        if check_signatures {
            let key = judge
                .role_key(&s.person, &s.role)
                .map_err(|reason| RegisterError::BadSignature {
                    entry: seq,
                    person: s.person.clone(),
                    reason,
                })?
                .clone();
            walk.report.signatures += 1;
            walk.jobs.push(Job {
                seq,
                what: Failure::Person(s.person.clone()),
                key,
                namespace: SIGNATURE_NAMESPACE,
                message: statement.to_vec(),
                armored: s.signature.clone(),
            })?;
        } else if !judge.holds(&s.person, &s.role) {
            return Err(RegisterError::BadSignature {
                entry: seq,
                person: s.person.clone(),
                reason: format!("does not hold the role {:?}", s.role),
            });
        }
    }
    Ok(())
}

/// Kinds only the daemon writes.
fn daemon_only(kind: EntryKind) -> bool {
    matches!(
        kind,
        EntryKind::PeopleChanged
            | EntryKind::ConfigChanged
            | EntryKind::Checkpoint
            | EntryKind::ExportVerified
            | EntryKind::ExportFailed
            | EntryKind::ExportInterrupted
            | EntryKind::EmergencyRegularized
    )
}

/// Kinds that are about one case.
fn needs_case(kind: EntryKind) -> bool {
    matches!(
        kind,
        EntryKind::CaseOpened
            | EntryKind::CaseAuthorized
            | EntryKind::CaseClosed
            | EntryKind::DocumentAttached
            | EntryKind::RequesterVerified
            | EntryKind::EmergencyStarted
            | EntryKind::EmergencyRegularized
            | EntryKind::ExportStarted
            | EntryKind::ExportCompleted
            | EntryKind::ExportVerified
            | EntryKind::ExportFailed
            | EntryKind::ExportInterrupted
            | EntryKind::ExportCountersigned
            | EntryKind::Delivered
            | EntryKind::ReceiptAttached
            | EntryKind::IdentityProven
            | EntryKind::ViewedOnSite
    )
}

/// The hex hash a payload field links to.
fn link<'a>(entry: &'a Entry, field: &str) -> Option<&'a str> {
    entry.payload.get(field).and_then(|v| v.as_str())
}

/// The authority and binding rules of a sealed entry, from the register's own history.
fn check_authority(
    walk: &mut Walk,
    entry: &Entry,
    check_signatures: bool,
) -> Result<(), RegisterError> {
    let seq = entry.seq;
    let kind = entry.kind;
    if daemon_only(kind) && entry.actor != SITE_PERSON {
        return Err(rule(
            seq,
            "actor",
            format!(
                "a {kind} entry is written by scelle, not by {}",
                entry.actor
            ),
        ));
    }
    if entry.actor != SITE_PERSON && walk.people.get(&entry.actor).is_none() {
        return Err(rule(
            seq,
            "actor",
            format!(
                "{} is not in the people list in force at this entry",
                entry.actor
            ),
        ));
    }
    let signed_by = |role: &str| {
        entry
            .signatures
            .iter()
            .any(|s| s.person == entry.actor && s.role == role)
    };
    // Every case entry but the opening is about an opened case.
    let case_id = entry.case_id.as_deref();
    if case_id.is_none() && needs_case(kind) {
        return Err(rule(
            seq,
            "case-id",
            format!("a {kind} entry names no case"),
        ));
    }
    if kind != EntryKind::CaseOpened
        && let Some(id) = case_id
        && !walk.cases.contains_key(id)
    {
        return Err(rule(
            seq,
            "case-id",
            format!("case {id} was never opened before this entry"),
        ));
    }
    let statement = signed_statement(walk, entry, check_signatures)?;
    match kind {
        EntryKind::ConfigChanged => {
            if !is_marker(entry)
                && let Some(new) = entry.payload.get("site_key").and_then(|v| v.as_str())
            {
                // A new site key, sealed by the old one, seals the entries after it.
                let key = PublicKey::from_openssh(new.trim())
                    .map_err(|e| rule(seq, "format-marker", format!("new site key: {e}")))?;
                let fingerprint = key.fingerprint(ssh_key::HashAlg::Sha256).to_string();
                walk.site = Some(Site { key, fingerprint });
            }
        }
        EntryKind::PeopleChanged => {
            walk.people = People::from_payload(&entry.payload).map_err(|r| broken(seq, r))?;
            walk.report.people_changes += 1;
        }
        EntryKind::Checkpoint => {
            let p = &entry.payload;
            if p.get("seq").and_then(|v| v.as_u64()) != Some(seq - 1)
                || p.get("hash").and_then(|v| v.as_str())
                    != Some(hex::encode(entry.prev_hash).as_str())
            {
                return Err(rule(
                    seq,
                    "checkpoint",
                    "the checkpoint does not name the entry before it",
                ));
            }
            walk.report.checkpoints += 1;
            walk.report.last_checkpoint = Some(seq);
        }
        EntryKind::CaseOpened => {
            need_role(&walk.people, entry, "operator")?;
            let id =
                case_id.ok_or_else(|| rule(seq, "case-id", "a case-opened entry names no case"))?;
            if let Some(f) = walk.cases.get(id) {
                return Err(rule(
                    seq,
                    "case-id",
                    format!("case id {id} was already issued at entry {}", f.opened_seq),
                ));
            }
            walk.cases.insert(
                id.to_owned(),
                CaseFacts {
                    opened_seq: seq,
                    opened: entry.hash,
                    opener: entry.actor.clone(),
                    authorizers: Vec::new(),
                    exporters: Vec::new(),
                    access_request: entry.payload.get("ground").and_then(|g| g.as_str())
                        == Some("access-request"),
                    identity: false,
                },
            );
        }
        EntryKind::CaseAuthorized => {
            let id = case_id.unwrap_or_default();
            let facts = &walk.cases[id];
            let opened = hex::encode(facts.opened);
            let linked = link(entry, "case_opened")
                .or_else(|| link(entry, "opened_entry"))
                .ok_or_else(|| {
                    rule(
                        seq,
                        "link",
                        "an approval carries the hash of the case-opened entry it approves (case_opened)",
                    )
                })?;
            if linked != opened {
                return Err(rule(
                    seq,
                    "link",
                    format!(
                        "this approval of case {id} approves case-opened entry {linked}, not the case's own (entry {}, {opened}): it was moved from another case",
                        facts.opened_seq
                    ),
                ));
            }
            let authorizer = match &statement {
                Some(st) => {
                    if st.namespace != APPROVE_NAMESPACE {
                        return Err(rule(
                            seq,
                            "signed-statement",
                            format!(
                                "an approval's statement is signed in namespace {APPROVE_NAMESPACE}"
                            ),
                        ));
                    }
                    statement_names(seq, st, id, "case-opened", linked)?;
                    if entry.actor != SITE_PERSON && entry.actor != st.person {
                        return Err(rule(
                            seq,
                            "actor",
                            format!(
                                "the approval is recorded for {} but signed by {}",
                                entry.actor, st.person
                            ),
                        ));
                    }
                    st.person.clone()
                }
                None => {
                    if !signed_by("authorizer") {
                        return Err(rule(
                            seq,
                            "approval-signature",
                            format!(
                                "the approval carries no signature of {} as authorizer",
                                entry.actor
                            ),
                        ));
                    }
                    entry.actor.clone()
                }
            };
            if !walk.people.holds(&authorizer, "authorizer") {
                return Err(rule(
                    seq,
                    "role",
                    format!("{authorizer} does not hold the role authorizer at this entry"),
                ));
            }
            let facts = walk.cases.get_mut(id).expect("checked above");
            if authorizer == facts.opener {
                return Err(rule(
                    seq,
                    "four-eyes",
                    format!("{authorizer} opened case {id} and cannot authorize it"),
                ));
            }
            if facts.exporters.contains(&authorizer) {
                return Err(rule(
                    seq,
                    "four-eyes",
                    format!("{authorizer} exported case {id} and cannot authorize it"),
                ));
            }
            if facts.access_request && !facts.identity {
                return Err(rule(
                    seq,
                    "identity",
                    format!(
                        "access request {id} was approved before its data subject's identity \
                         was proven (no identity-proven entry before this one, AUTH-5)"
                    ),
                ));
            }
            facts.authorizers.push(authorizer);
        }
        EntryKind::ExportStarted => {
            need_role(&walk.people, entry, "operator")?;
            remember(walk, entry);
        }
        EntryKind::ExportCompleted => {
            need_role(&walk.people, entry, "operator")?;
            if !signed_by("operator") {
                return Err(rule(
                    seq,
                    "operator-signature",
                    format!(
                        "the export carries no signature of {} as operator",
                        entry.actor
                    ),
                ));
            }
            follow(
                walk,
                entry,
                "export_started",
                EntryKind::ExportStarted,
                true,
            )?;
            let id = case_id.unwrap_or_default();
            let facts = walk
                .cases
                .get_mut(id)
                .ok_or_else(|| rule(seq, "case-id", "an export-completed entry names no case"))?;
            if facts.authorizers.contains(&entry.actor) {
                return Err(rule(
                    seq,
                    "four-eyes",
                    format!("{} authorized case {id} and cannot export it", entry.actor),
                ));
            }
            if facts.access_request
                && let Some(file) = entry.payload["record"]["files"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|f| !f["anonymized"].is_object())
            {
                return Err(rule(
                    seq,
                    "anonymized",
                    format!(
                        "export of access request {id} hands over {} unanonymized (DEL-2: never \
                         the original footage of an access request)",
                        file["file"]["name"].as_str().unwrap_or("a file")
                    ),
                ));
            }
            facts.exporters.push(entry.actor.clone());
            remember(walk, entry);
        }
        EntryKind::IdentityProven | EntryKind::ViewedOnSite => {
            let role = if kind == EntryKind::ViewedOnSite {
                need_role(&walk.people, entry, "operator")?;
                "operator"
            } else if walk.people.holds(&entry.actor, "operator") {
                "operator"
            } else {
                need_role(&walk.people, entry, "authorizer")?;
                "authorizer"
            };
            if !signed_by(role) {
                return Err(rule(
                    seq,
                    "signature",
                    format!(
                        "a {kind} entry carries the signature of {} as {role}",
                        entry.actor
                    ),
                ));
            }
            let id = case_id.unwrap_or_default();
            let facts = walk.cases.get_mut(id).expect("checked above");
            if !facts.access_request {
                return Err(rule(
                    seq,
                    "ground",
                    format!("a {kind} entry is about an access request; case {id} is not one"),
                ));
            }
            if kind == EntryKind::IdentityProven {
                facts.identity = true;
            }
        }
        EntryKind::ExportVerified | EntryKind::ExportFailed | EntryKind::ExportInterrupted => {
            follow(
                walk,
                entry,
                "export_started",
                EntryKind::ExportStarted,
                true,
            )?;
        }
        EntryKind::Delivered => {
            need_role(&walk.people, entry, "operator")?;
            follow(
                walk,
                entry,
                "export_completed",
                EntryKind::ExportCompleted,
                false,
            )?;
        }
        EntryKind::ExportCountersigned => {
            let target = follow(
                walk,
                entry,
                "export_completed",
                EntryKind::ExportCompleted,
                true,
            )?
            .unwrap_or_default();
            let st = statement.ok_or_else(|| {
                rule(
                    seq,
                    "signed-statement",
                    "a countersignature carries the authorizer's signed statement",
                )
            })?;
            if st.namespace != COUNTERSIGN_NAMESPACE {
                return Err(rule(
                    seq,
                    "signed-statement",
                    format!("a countersignature is signed in namespace {COUNTERSIGN_NAMESPACE}"),
                ));
            }
            let id = case_id.unwrap_or_default();
            let linked = link(entry, "export_completed").unwrap_or_default();
            statement_names(seq, &st, id, "export-completed", linked)?;
            if !walk.people.holds(&st.person, "authorizer") {
                return Err(rule(
                    seq,
                    "role",
                    format!(
                        "{} does not hold the role authorizer at this entry",
                        st.person
                    ),
                ));
            }
            let facts = &walk.cases[id];
            if st.person == facts.opener || st.person == target {
                return Err(rule(
                    seq,
                    "four-eyes",
                    format!(
                        "{} opened or exported case {id} and cannot countersign it",
                        st.person
                    ),
                ));
            }
        }
        // No authority rule of their own here; listed so that a new kind has to decide.
        EntryKind::DocumentAttached
        | EntryKind::RequesterVerified
        | EntryKind::EmergencyStarted
        | EntryKind::EmergencyRegularized
        | EntryKind::ReceiptAttached
        | EntryKind::Purged
        | EntryKind::MediaInventoried
        | EntryKind::CaseClosed
        | EntryKind::MediaDestroyed => {}
    }
    Ok(())
}

/// The entry's actor holds `role` in the people list in force.
fn need_role(people: &People, entry: &Entry, role: &str) -> Result<(), RegisterError> {
    if people.holds(&entry.actor, role) {
        Ok(())
    } else {
        Err(rule(
            entry.seq,
            "role",
            format!(
                "{} does not hold the role {role} at this entry, which a {} needs",
                entry.actor, entry.kind
            ),
        ))
    }
}

/// Keeps an entry others may link to.
fn remember(walk: &mut Walk, entry: &Entry) {
    walk.targets.insert(
        entry.hash,
        Target {
            seq: entry.seq,
            kind: entry.kind,
            case_id: entry.case_id.clone(),
            actor: entry.actor.clone(),
        },
    );
}

/// Checks the link in `field` (when `required`, it must be there): an earlier entry of
/// `kind`, of the same case. Returns the linked entry's actor.
fn follow(
    walk: &Walk,
    entry: &Entry,
    field: &str,
    kind: EntryKind,
    required: bool,
) -> Result<Option<String>, RegisterError> {
    let seq = entry.seq;
    let Some(hash) = link(entry, field) else {
        if required {
            return Err(rule(
                seq,
                "link",
                format!(
                    "a {} entry carries the hash of its {kind} entry ({field})",
                    entry.kind
                ),
            ));
        }
        return Ok(None);
    };
    let target = super::store::parse_hash(hash).and_then(|h| walk.targets.get(&h));
    match target {
        Some(t) if t.kind == kind && t.case_id == entry.case_id => Ok(Some(t.actor.clone())),
        Some(t) => Err(rule(
            seq,
            "link",
            format!(
                "{field} names entry {} ({} of case {}), not a {kind} of case {}",
                t.seq,
                t.kind,
                t.case_id.as_deref().unwrap_or("-"),
                entry.case_id.as_deref().unwrap_or("-")
            ),
        )),
        None => Err(rule(
            seq,
            "link",
            format!("{field} {hash} is no earlier {kind} entry of this register"),
        )),
    }
}

/// A statement signed outside the register (remote approval, countersignature) and carried in
/// the payload as `signed_statement`.
struct SignedStatement {
    person: String,
    namespace: String,
    text: String,
}

fn signed_statement(
    walk: &mut Walk,
    entry: &Entry,
    check_signatures: bool,
) -> Result<Option<SignedStatement>, RegisterError> {
    let seq = entry.seq;
    let Some(v) = entry.payload.get("signed_statement") else {
        return Ok(None);
    };
    let field = |k: &str| {
        v.get(k).and_then(|x| x.as_str()).ok_or_else(|| {
            rule(
                seq,
                "signed-statement",
                format!("the signed statement has no {k}"),
            )
        })
    };
    let (person, namespace, text, signature) = (
        field("person")?,
        field("namespace")?,
        field("text")?,
        field("signature")?,
    );
    let key = walk.people.key(person).ok_or_else(|| {
        rule(
            seq,
            "signed-statement",
            format!("{person} is not in the people list in force at this entry"),
        )
    })?;
    if check_signatures {
        let job = Job {
            seq,
            what: Failure::Statement(person.to_owned()),
            key: key.clone(),
            namespace: match namespace {
                APPROVE_NAMESPACE => APPROVE_NAMESPACE,
                COUNTERSIGN_NAMESPACE => COUNTERSIGN_NAMESPACE,
                SIGNATURE_NAMESPACE => SIGNATURE_NAMESPACE,
                other => {
                    return Err(rule(
                        seq,
                        "signed-statement",
                        format!("unknown signature namespace {other:?}"),
                    ));
                }
            },
            message: text.as_bytes().to_vec(),
            armored: signature.to_owned(),
        };
        walk.report.signatures += 1;
        walk.jobs.push(job)?;
    }
    Ok(Some(SignedStatement {
        person: person.to_owned(),
        namespace: namespace.to_owned(),
        text: text.to_owned(),
    }))
}

/// The statement's text names the case and the linked entry, each on its own line.
fn statement_names(
    seq: u64,
    st: &SignedStatement,
    case: &str,
    what: &str,
    hash: &str,
) -> Result<(), RegisterError> {
    let has = |line: &str| st.text.lines().any(|l| l.trim_end() == line);
    if !has(&format!("case: {case}")) || !has(&format!("{what}: {hash}")) {
        return Err(rule(
            seq,
            "signed-statement",
            format!(
                "the text {} signed does not name case {case} and {what} {hash}",
                st.person
            ),
        ));
    }
    Ok(())
}

/// Entries before a format marker: the signatures they carry, as they were checked when
/// written (legacy checkpoints by their own site key, people by the list in force).
fn check_legacy_signatures(
    walk: &mut Walk,
    entry: &Entry,
    check_signatures: bool,
) -> Result<(), RegisterError> {
    let seq = entry.seq;
    let statement = entry.statement.as_bytes();
    let bad = |person: &str, reason: String| RegisterError::BadSignature {
        entry: seq,
        person: person.to_owned(),
        reason,
    };
    match entry.kind {
        EntryKind::Checkpoint => {
            let p = &entry.payload;
            let cp_seq = p.get("seq").and_then(|v| v.as_u64());
            let cp_hash = p.get("hash").and_then(|v| v.as_str());
            let key = p.get("site_key").and_then(|v| v.as_str());
            if cp_seq != Some(seq - 1) || cp_hash != Some(hex::encode(entry.prev_hash).as_str()) {
                return Err(broken(seq, "checkpoint does not name the entry before it"));
            }
            let key = key.ok_or_else(|| broken(seq, "checkpoint carries no site key"))?;
            match &walk.legacy_site_key {
                Some(in_force) if in_force.trim() != key.trim() => {
                    return Err(bad(
                        SITE_PERSON,
                        "checkpoint signed with a site key other than the one in force".into(),
                    ));
                }
                Some(_) => {}
                None => walk.legacy_site_key = Some(key.to_owned()),
            }
            let site: Vec<_> = entry
                .signatures
                .iter()
                .filter(|s| s.person == SITE_PERSON && s.role == SITE_ROLE)
                .collect();
            if site.is_empty() || site.len() != entry.signatures.len() {
                return Err(bad(
                    SITE_PERSON,
                    "a checkpoint carries exactly the site key's signature".into(),
                ));
            }
            if check_signatures {
                for s in site {
                    verify_with_key(key, statement, &s.signature)
                        .map_err(|r| bad(SITE_PERSON, r.to_string()))?;
                    walk.report.signatures += 1;
                }
            }
            walk.report.checkpoints += 1;
            walk.report.last_checkpoint = Some(seq);
        }
        EntryKind::PeopleChanged => {
            let new = People::from_payload(&entry.payload).map_err(|r| broken(seq, r))?;
            // The first list vouches for itself; later changes are signed under the old list.
            let judge = if walk.people.is_empty() {
                &new
            } else {
                &walk.people
            };
            if check_signatures {
                for s in &entry.signatures {
                    judge
                        .check(s, statement)
                        .map_err(|r| bad(&s.person, r.to_string()))?;
                    walk.report.signatures += 1;
                }
            }
            walk.people = new;
            walk.report.people_changes += 1;
        }
        EntryKind::ConfigChanged
        | EntryKind::CaseOpened
        | EntryKind::DocumentAttached
        | EntryKind::RequesterVerified
        | EntryKind::IdentityProven
        | EntryKind::ViewedOnSite
        | EntryKind::CaseAuthorized
        | EntryKind::EmergencyStarted
        | EntryKind::EmergencyRegularized
        | EntryKind::ExportStarted
        | EntryKind::ExportCompleted
        | EntryKind::ExportFailed
        | EntryKind::ExportInterrupted
        | EntryKind::ExportVerified
        | EntryKind::Delivered
        | EntryKind::ReceiptAttached
        | EntryKind::Purged
        | EntryKind::MediaInventoried
        | EntryKind::CaseClosed
        | EntryKind::MediaDestroyed
        | EntryKind::ExportCountersigned => {
            if entry.kind == EntryKind::ConfigChanged
                && let Some(key) = entry.payload.get("site_key").and_then(|v| v.as_str())
            {
                walk.legacy_site_key = Some(key.to_owned());
            }
            if check_signatures {
                for s in &entry.signatures {
                    walk.people
                        .check(s, statement)
                        .map_err(|r| bad(&s.person, r.to_string()))?;
                    walk.report.signatures += 1;
                }
            }
        }
    }
    Ok(())
}
