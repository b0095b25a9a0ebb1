//! Cryptographic erasure of a container (PUR-2): the header's wrapped file key is overwritten
//! with random bytes, so no password can ever open the file again, even if the medium keeps
//! old copies of the payload's blocks. Only this module knows where that key lies; the purge
//! overwrites the rest of the file afterwards.

use std::fs::File;
use std::os::unix::fs::FileExt;

use rand::RngCore;

use super::header::{HEADER_LEN, MAGIC, WRAP_AAD_LEN, WRAPPED_KEY_LEN};

/// Offset of the header's `wrapped_key` field (docs/FORMAT.md, "Header"): it follows the
/// bytes that are its associated data and runs to the end of the header.
const WRAPPED_KEY_AT: usize = WRAP_AAD_LEN;
const _: () = assert!(WRAPPED_KEY_AT + WRAPPED_KEY_LEN == HEADER_LEN);

/// Whether `head`, a file's first bytes, starts a sealed container (a whole header with the
/// magic).
pub fn is_container_header(head: &[u8]) -> bool {
    head.len() >= HEADER_LEN && head[..MAGIC.len()] == MAGIC
}

/// Overwrites the wrapped file key of the container open in `file` with random bytes and syncs
/// the data: from then on the file cannot be decrypted. The caller checked
/// [`is_container_header`].
pub fn destroy_key(file: &File) -> std::io::Result<()> {
    let mut noise = [0u8; WRAPPED_KEY_LEN];
    rand::rngs::OsRng.fill_bytes(&mut noise);
    file.write_all_at(&noise, WRAPPED_KEY_AT as u64)?;
    file.sync_data()
}
