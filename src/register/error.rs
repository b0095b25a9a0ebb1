//! The register's error type: one enum whose integrity kinds (`ChainBroken`, `BadSignature`,
//! `Truncated`...) name the first bad entry, so a test or the CLI can match on them and an
//! auditor is told exactly where to look.

use std::path::PathBuf;

use crate::error::{Exit, ExitStatus};

/// Everything that can go wrong with the register.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegisterError {
    /// SQLite could not open, read or write the database file.
    #[error(
        "register database {path}: {source} (check the path, its permissions and free disk space)"
    )]
    Database {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    /// The file is an SQLite database but not a scelle register.
    #[error("{path} is not a scelle register (it has no schema_version table); check --db")]
    NotARegister { path: PathBuf },
    /// The database was written by a newer scelle than this one.
    #[error(
        "register schema version {found} is newer than this scelle supports ({supported}); upgrade scelle, never downgrade a register"
    )]
    SchemaTooNew { found: i64, supported: i64 },
    /// An entry to append is malformed (empty actor, control characters, bad payload...).
    #[error("refused to append a register entry: {0}")]
    InvalidEntry(String),
    /// A signature given with a new entry does not hold against the people list in force.
    #[error("signature of {person} as {role} refused: {reason}")]
    SignatureRefused {
        person: String,
        role: String,
        #[source]
        reason: super::signature::SignatureError,
    },
    /// An entry's hash does not match its contents, or its link to the previous entry is broken.
    #[error("register entry {entry} does not hold: {reason}")]
    ChainBroken { entry: u64, reason: String },
    /// An entry's signature does not verify.
    #[error("register entry {entry}: signature of {person} does not verify: {reason}")]
    BadSignature {
        entry: u64,
        person: String,
        reason: String,
    },
    /// An entry breaks a rule of authority or binding: who may write it at that point of the
    /// register's history, and what it must be bound to. `rule` is a stable short name
    /// (`seal`, `four-eyes`, `link`...) listed in `docs/REGISTER.md`.
    #[error("register entry {entry} breaks rule `{rule}`: {reason}")]
    RuleBroken {
        entry: u64,
        rule: &'static str,
        reason: String,
    },
    /// The register ends before (or differs at) the head the caller expected: newest entries
    /// were removed or replaced.
    #[error(
        "register is truncated or rewritten: expected head {expected_seq} {expected_hash}, found {found}"
    )]
    Truncated {
        expected_seq: u64,
        expected_hash: String,
        found: String,
    },
    /// The register is sealed by a site key other than the one given (another site's register,
    /// a replaced key file, or a register forged from scratch).
    #[error(
        "the register is sealed by site key {register_key} but this state directory holds {given_key}; see \"Recovery\" in docs/REGISTER.md"
    )]
    SiteKeyMismatch {
        register_key: String,
        given_key: String,
    },
    /// A sealed register appended to without its site key.
    #[error(
        "the register is sealed by its site key: entries can only be appended by the daemon that holds it"
    )]
    SealedWithoutKey,
    /// The site key file could not be read or written.
    #[error("site key {path}: {reason}")]
    SiteKey { path: PathBuf, reason: String },
    /// An I/O error outside SQLite (report files, backups).
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
}

impl RegisterError {
    /// The entry this error names, for integrity failures.
    pub fn entry(&self) -> Option<u64> {
        match self {
            RegisterError::ChainBroken { entry, .. }
            | RegisterError::BadSignature { entry, .. }
            | RegisterError::RuleBroken { entry, .. } => Some(*entry),
            _ => None,
        }
    }

    /// True for the errors that mean the register's content does not hold, a database file
    /// SQLite finds corrupted (or not a database at all) included.
    pub fn is_integrity(&self) -> bool {
        match self {
            RegisterError::Database { source, .. } => matches!(
                source.sqlite_error_code(),
                Some(rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase)
            ),
            _ => matches!(
                self,
                RegisterError::ChainBroken { .. }
                    | RegisterError::BadSignature { .. }
                    | RegisterError::RuleBroken { .. }
                    | RegisterError::Truncated { .. }
                    | RegisterError::SiteKeyMismatch { .. }
            ),
        }
    }
}

impl ExitStatus for RegisterError {
    fn exit(&self) -> Exit {
        if self.is_integrity() {
            Exit::Integrity
        } else if matches!(self, RegisterError::InvalidEntry(_)) {
            Exit::Usage
        } else {
            Exit::Failure
        }
    }
}
