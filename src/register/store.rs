//! Reading stored rows: raw column values (what the hash covers) and their parsing into
//! [`Entry`]. Parsing failures are reported against the entry, since a curious administrator
//! may have written anything into a copy of the database.

use rusqlite::{Connection, OptionalExtension, Row};

use super::chain::RawEntry;
use super::entry::{Entry, EntryKind, EntrySignature, Head};

pub(crate) const ENTRY_COLUMNS: &str =
    "seq, time, kind, case_id, actor, payload, statement, prev_hash, hash";

/// Reads the entry columns of a row selected with [`ENTRY_COLUMNS`] (signatures left empty).
pub(crate) fn raw_from_row(row: &Row<'_>) -> rusqlite::Result<RawEntry> {
    Ok(RawEntry {
        seq: row.get(0)?,
        time: row.get(1)?,
        kind: row.get(2)?,
        case_id: row.get(3)?,
        actor: row.get(4)?,
        payload: row.get(5)?,
        statement: row.get(6)?,
        prev_hash: row.get(7)?,
        hash: row.get(8)?,
        signatures: Vec::new(),
    })
}

/// Fills in the signatures of `raw`, in `idx` order.
pub(crate) fn load_signatures(conn: &Connection, raw: &mut RawEntry) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare_cached(
        "SELECT person, role, signature FROM signatures WHERE seq = ?1 ORDER BY idx",
    )?;
    raw.signatures = stmt
        .query_map([raw.seq], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(())
}

/// Decodes a 64-digit hex hash.
pub(crate) fn parse_hash(text: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(text, &mut out).ok()?;
    Some(out)
}

/// Parses raw columns into an entry; the error says which column does not parse.
pub(crate) fn parse_entry(raw: &RawEntry) -> Result<Entry, String> {
    let seq = u64::try_from(raw.seq).map_err(|_| "negative sequence number".to_owned())?;
    let time: jiff::Timestamp = raw
        .time
        .parse()
        .map_err(|e| format!("time {:?} is not an RFC 3339 time: {e}", raw.time))?;
    let kind = EntryKind::parse(&raw.kind).ok_or_else(|| format!("unknown kind {:?}", raw.kind))?;
    let payload: serde_json::Value =
        serde_json::from_str(&raw.payload).map_err(|e| format!("payload is not JSON: {e}"))?;
    let prev_hash = parse_hash(&raw.prev_hash).ok_or("previous hash is not 64 hex digits")?;
    let hash = parse_hash(&raw.hash).ok_or("hash is not 64 hex digits")?;
    Ok(Entry {
        seq,
        time,
        kind,
        case_id: raw.case_id.clone(),
        actor: raw.actor.clone(),
        payload,
        statement: raw.statement.clone(),
        prev_hash,
        hash,
        signatures: raw
            .signatures
            .iter()
            .map(|(person, role, signature)| EntrySignature {
                person: person.clone(),
                role: role.clone(),
                signature: signature.clone(),
            })
            .collect(),
    })
}

/// The stored head (last row), unchecked.
pub(crate) fn read_head(conn: &Connection) -> rusqlite::Result<Option<(i64, String)>> {
    conn.query_row(
        "SELECT seq, hash FROM entries ORDER BY seq DESC LIMIT 1",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .optional()
}

/// The stored head as a [`Head`], `Head::GENESIS` when empty; `None` if the stored hash does
/// not parse.
pub(crate) fn head_of(conn: &Connection) -> rusqlite::Result<Option<Head>> {
    Ok(match read_head(conn)? {
        None => Some(Head::GENESIS),
        Some((seq, hash)) => parse_hash(&hash).map(|hash| Head {
            seq: u64::try_from(seq).unwrap_or(0),
            hash,
        }),
    })
}
