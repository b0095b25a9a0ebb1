//! Opening one payload chunk, and saying precisely why a chunk does not open: the chunk was
//! modified, it is a genuine chunk from another position (reordered or duplicated), the stream
//! was cut at a chunk boundary, or bytes were appended after the final chunk.

use aes_gcm::aead::AeadInPlace;
use aes_gcm::{Aes256Gcm, Tag};

use super::error::SealError;
use super::header::{NONCE_PREFIX_LEN, TAG_LEN};
use super::keys::chunk_nonce;

/// How far from the failing position the diagnosis looks for the chunk's true index.
const SEARCH_WINDOW: u64 = 256;

/// Decrypts `buf` (ciphertext ‖ tag) in place as chunk `index`; on success `buf` is truncated
/// to the plaintext. On failure `buf` is unchanged (AES-GCM checks the tag before decrypting).
pub(crate) fn try_open(
    cipher: &Aes256Gcm,
    prefix: &[u8; NONCE_PREFIX_LEN],
    index: u64,
    last: bool,
    buf: &mut Vec<u8>,
) -> bool {
    let Ok(index) = u32::try_from(index) else {
        return false;
    };
    if buf.len() < TAG_LEN {
        return false;
    }
    let at = buf.len() - TAG_LEN;
    let tag = Tag::clone_from_slice(&buf[at..]);
    let ok = cipher
        .decrypt_in_place_detached(&chunk_nonce(prefix, index, last), &[], &mut buf[..at], &tag)
        .is_ok();
    if ok {
        buf.truncate(at);
    }
    ok
}

/// Where the failing chunk at `position` sits in the stream.
pub(crate) struct Failure {
    pub position: u64,
    /// The chunk has its full ciphertext size.
    pub full: bool,
    /// More bytes follow it.
    pub more: bool,
}

/// Explains why the chunk at `f.position` (in `buf`, unchanged) did not open.
pub(crate) fn diagnose(
    cipher: &Aes256Gcm,
    prefix: &[u8; NONCE_PREFIX_LEN],
    f: &Failure,
    buf: &mut Vec<u8>,
) -> SealError {
    let p = f.position;
    if f.more && try_open(cipher, prefix, p, true, buf) {
        return SealError::TrailingData { after_chunk: p + 1 };
    }
    if f.full && !f.more && try_open(cipher, prefix, p, false, buf) {
        return SealError::Truncated { after_chunk: p + 1 };
    }
    let lo = p.saturating_sub(SEARCH_WINDOW);
    let hi = p.saturating_add(SEARCH_WINDOW).min(u64::from(u32::MAX));
    for j in (lo..=hi).filter(|&j| j != p) {
        let found = (f.full && try_open(cipher, prefix, j, false, buf))
            || try_open(cipher, prefix, j, true, buf);
        if found {
            return if j < p {
                SealError::Duplicated {
                    chunk: p,
                    copy_of: j,
                }
            } else {
                SealError::Reordered { chunk: p, found: j }
            };
        }
    }
    SealError::Tampered { chunk: p }
}
