//! Offline verification: walks the whole chain of any copy of the database, checks every link,
//! hash, statement and signature against the people list in force at each entry, and names
//! the first entry that does not hold.

use rusqlite::Connection;
use serde::Serialize;

use super::canonical::to_canonical_json;
use super::chain::RawEntry;
use super::entry::{Entry, EntryKind, Head, statement_text};
use super::error::RegisterError;
use super::signature::{People, SITE_PERSON, SITE_ROLE, verify_with_key};
use super::store::{ENTRY_COLUMNS, load_signatures, parse_entry, raw_from_row};

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
}

/// Running state of the walk: what is in force at the current entry.
struct Walk {
    people: People,
    site_key: Option<String>,
    report: VerifyReport,
}

fn broken(entry: u64, reason: impl Into<String>) -> RegisterError {
    RegisterError::ChainBroken {
        entry,
        reason: reason.into(),
    }
}

/// Verifies the chain read through `conn`.
pub(crate) fn verify_chain(
    conn: &Connection,
    expected: Option<&Head>,
) -> Result<VerifyReport, RegisterError> {
    let db = |source| RegisterError::Database {
        path: conn.path().unwrap_or("").into(),
        source,
    };
    let mut walk = Walk {
        people: People::default(),
        site_key: None,
        report: VerifyReport {
            entries: 0,
            head: Head::GENESIS,
            signatures: 0,
            checkpoints: 0,
            last_checkpoint: None,
            people_changes: 0,
        },
    };
    let mut at_expected: Option<Head> = None;
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
        load_signatures(conn, &mut raw).map_err(db)?;
        let entry = check_entry(&mut walk, &raw)?;
        walk.report.entries += 1;
        walk.report.head = entry.head();
        if expected.is_some_and(|h| h.seq == entry.seq) {
            at_expected = Some(entry.head());
        }
    }
    if let Some(exp) = expected {
        let found = match at_expected {
            Some(h) if h.hash == exp.hash => None,
            Some(h) => Some(format!("entry {} with hash {}", h.seq, hex::encode(h.hash))),
            None if exp.seq == 0 => None,
            None => Some(format!("the register ends at {}", walk.report.head)),
        };
        if let Some(found) = found {
            return Err(RegisterError::Truncated {
                expected_seq: exp.seq,
                expected_hash: hex::encode(exp.hash),
                found,
            });
        }
    }
    Ok(walk.report)
}

fn check_entry(walk: &mut Walk, raw: &RawEntry) -> Result<Entry, RegisterError> {
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
    check_signatures(walk, &entry)?;
    Ok(entry)
}

fn check_signatures(walk: &mut Walk, entry: &Entry) -> Result<(), RegisterError> {
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
            match &walk.site_key {
                Some(in_force) if in_force.trim() != key.trim() => {
                    return Err(bad(
                        SITE_PERSON,
                        "checkpoint signed with a site key other than the one in force".into(),
                    ));
                }
                Some(_) => {}
                None => walk.site_key = Some(key.to_owned()),
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
            for s in site {
                verify_with_key(key, statement, &s.signature).map_err(|r| bad(SITE_PERSON, r))?;
                walk.report.signatures += 1;
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
            for s in &entry.signatures {
                judge.check(s, statement).map_err(|r| bad(&s.person, r))?;
                walk.report.signatures += 1;
            }
            walk.people = new;
            walk.report.people_changes += 1;
        }
        _ => {
            if entry.kind == EntryKind::ConfigChanged
                && let Some(key) = entry.payload.get("site_key").and_then(|v| v.as_str())
            {
                walk.site_key = Some(key.to_owned());
            }
            for s in &entry.signatures {
                walk.people
                    .check(s, statement)
                    .map_err(|r| bad(&s.person, r))?;
                walk.report.signatures += 1;
            }
        }
    }
    Ok(())
}
