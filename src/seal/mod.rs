//! The sealed evidence container (spec: `docs/FORMAT.md`; construction:
//! `docs/decisions/0001-container-construction.md`).
//!
//! Every export scelle produces is one of these files: a fixed header, an encrypted metadata
//! block, then the payload in AES-256-GCM chunks under a STREAM construction (nonce = random
//! prefix ‖ chunk counter ‖ last-chunk flag). A random file key is wrapped under a key derived
//! from the password with Argon2id; subkeys come from HKDF-SHA256. This module is the only
//! place that knows those bytes: the export pipeline writes through [`SealWriter`], recipients'
//! tools read through [`SealReader`], [`SealFile`] (random access) and [`inspect`] (no password).

mod chunk;
mod destroy;
mod error;
mod hashing;
mod header;
mod keys;
mod metadata;
pub mod password;
mod read_ahead;
mod reader;
mod writer;

pub use destroy::{destroy_key, is_container_header};
pub use error::SealError;
pub use hashing::Hashing;
pub use header::{
    CHUNK_LOG2_DEFAULT, CHUNK_LOG2_MAX, CHUNK_LOG2_MIN, HEADER_LEN, Header, KdfParams, MAGIC,
    TAG_LEN, VERSION,
};
pub use keys::FileKeys;
pub use metadata::Metadata;
pub use read_ahead::ReadAhead;
pub use reader::{SealFile, SealReader, Structure, inspect, read_header};
pub use writer::{SealParams, SealSummary, SealWriter};
