//! The export pipeline (issue 7): case → sources → fragmented MP4 → sealed containers on the
//! destination drive → read-back verification → register entries.
//!
//! [`record`] is the contract shared with the rest of the crate: what an export produced, as
//! the sealed manifest, the register's `export-verified` / `export-completed` payloads and the
//! delivery receipt all state it.

pub mod record;

pub use record::{DriveIdentity, ExportRecord, ExportedFile, FileDigest};
