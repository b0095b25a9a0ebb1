//! The database schema and its upgrades.
//!
//! `schema_version` holds one row per applied step; [`upgrade`] applies the missing steps in
//! order inside one transaction, so a fresh register and an upgraded one go through the same
//! statements and end identical (tested). Never edit a released step: add a new one.

use rusqlite::{Connection, Transaction};

/// The version this scelle writes.
pub const SCHEMA_VERSION: i64 = 2;

/// Step 1: tables and the append-only triggers.
const STEP_1: &str = r#"
CREATE TABLE schema_version (
    version INTEGER PRIMARY KEY,
    applied_at TEXT NOT NULL
) STRICT;

CREATE TABLE entries (
    seq INTEGER PRIMARY KEY CHECK (seq >= 1),
    time TEXT NOT NULL,
    kind TEXT NOT NULL,
    case_id TEXT,
    actor TEXT NOT NULL,
    payload TEXT NOT NULL,
    statement TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE
) STRICT;

CREATE TABLE signatures (
    seq INTEGER NOT NULL REFERENCES entries (seq),
    idx INTEGER NOT NULL CHECK (idx >= 0),
    person TEXT NOT NULL,
    role TEXT NOT NULL,
    signature TEXT NOT NULL,
    PRIMARY KEY (seq, idx)
) STRICT;

CREATE TRIGGER entries_append_only_update BEFORE UPDATE ON entries
BEGIN SELECT RAISE(ABORT, 'the register is append-only: entries cannot be changed'); END;
CREATE TRIGGER entries_append_only_delete BEFORE DELETE ON entries
BEGIN SELECT RAISE(ABORT, 'the register is append-only: entries cannot be deleted'); END;
CREATE TRIGGER signatures_append_only_update BEFORE UPDATE ON signatures
BEGIN SELECT RAISE(ABORT, 'the register is append-only: signatures cannot be changed'); END;
CREATE TRIGGER signatures_append_only_delete BEFORE DELETE ON signatures
BEGIN SELECT RAISE(ABORT, 'the register is append-only: signatures cannot be deleted'); END;
"#;

/// Step 2: per-case lookups, and the auditor's view of each entry's hash preimage (the same
/// SQL is printed in `docs/REGISTER.md` so an auditor need not trust the view).
const STEP_2: &str = r#"
CREATE INDEX entries_by_case ON entries (case_id, seq);

CREATE VIEW entry_preimage AS
SELECT e.seq AS seq,
    'scelle-register entry v1' || char(10)
    || length(CAST(e.seq AS TEXT)) || ':' || e.seq || ','
    || length(CAST(e.time AS BLOB)) || ':' || e.time || ','
    || length(CAST(e.kind AS BLOB)) || ':' || e.kind || ','
    || length(CAST(coalesce(e.case_id, '') AS BLOB)) || ':' || coalesce(e.case_id, '') || ','
    || length(CAST(e.actor AS BLOB)) || ':' || e.actor || ','
    || length(CAST(e.payload AS BLOB)) || ':' || e.payload || ','
    || length(CAST(e.statement AS BLOB)) || ':' || e.statement || ','
    || length(CAST(e.prev_hash AS BLOB)) || ':' || e.prev_hash || ','
    || (SELECT length(CAST(count(*) AS TEXT)) || ':' || count(*) || ','
        FROM signatures s WHERE s.seq = e.seq)
    || coalesce((SELECT group_concat(
            length(CAST(person AS BLOB)) || ':' || person || ','
            || length(CAST(role AS BLOB)) || ':' || role || ','
            || length(CAST(signature AS BLOB)) || ':' || signature || ',', '')
        FROM (SELECT * FROM signatures s WHERE s.seq = e.seq ORDER BY s.idx)), '')
    AS preimage
FROM entries e;
"#;

const STEPS: [&str; 2] = [STEP_1, STEP_2];

/// The version recorded in the database (0 for an empty file).
pub fn current_version(conn: &Connection) -> rusqlite::Result<i64> {
    let has_table: bool = conn.query_row(
        "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'",
        [],
        |r| r.get(0),
    )?;
    if !has_table {
        return Ok(0);
    }
    conn.query_row(
        "SELECT coalesce(max(version), 0) FROM schema_version",
        [],
        |r| r.get(0),
    )
}

/// Applies the steps after the current version up to `target` (normally [`SCHEMA_VERSION`]).
pub fn upgrade_to(tx: &Transaction<'_>, from: i64, target: i64) -> rusqlite::Result<()> {
    for version in (from + 1)..=target {
        let step = STEPS[usize::try_from(version - 1).unwrap_or(0)];
        tx.execute_batch(step)?;
        tx.execute(
            "INSERT INTO schema_version (version, applied_at) VALUES (?1, ?2)",
            rusqlite::params![version, format!("{:.6}", jiff::Timestamp::now())],
        )?;
        tracing::info!(version, "register schema upgraded");
    }
    Ok(())
}
