//! Opening one payload chunk, and saying precisely why a chunk does not open: the chunk was
//! modified, it is a genuine chunk from another position (reordered or duplicated), the stream
//! was cut at a chunk boundary, or bytes were appended after the final chunk.

use super::error::SealError;
use super::header::{NONCE_PREFIX_LEN, TAG_LEN};
use super::keys::{PayloadKey, chunk_nonce};

/// How far from the failing position the diagnosis looks for the chunk's true index.
const SEARCH_WINDOW: u64 = 256;

/// Opens `ct` (ciphertext ‖ tag) as chunk `index` into `out`: on success `out` holds the
/// plaintext. `ct` is never changed, so a failed chunk can still be diagnosed; `out` holds
/// nothing useful after a failure (ring decrypts and authenticates in one pass, then wipes).
pub(crate) fn try_open(
    cipher: &PayloadKey,
    prefix: &[u8; NONCE_PREFIX_LEN],
    index: u64,
    last: bool,
    ct: &[u8],
    out: &mut Vec<u8>,
) -> bool {
    out.clear();
    let Ok(index) = u32::try_from(index) else {
        return false;
    };
    if ct.len() < TAG_LEN {
        return false;
    }
    out.extend_from_slice(ct);
    match cipher.open(chunk_nonce(prefix, index, last), out) {
        Some(n) => {
            out.truncate(n);
            true
        }
        None => {
            out.clear();
            false
        }
    }
}

/// Where the failing chunk at `position` sits in the stream.
pub(crate) struct Failure {
    pub position: u64,
    /// The chunk has its full ciphertext size.
    pub full: bool,
    /// More bytes follow it.
    pub more: bool,
}

/// Explains why the chunk at `f.position` (ciphertext `ct`) did not open. `scratch` is
/// working space; it is left empty.
pub(crate) fn diagnose(
    cipher: &PayloadKey,
    prefix: &[u8; NONCE_PREFIX_LEN],
    f: &Failure,
    ct: &[u8],
    scratch: &mut Vec<u8>,
) -> SealError {
    let p = f.position;
    let found = diagnose_inner(cipher, prefix, f, ct, scratch);
    scratch.clear();
    found.unwrap_or(SealError::Tampered { chunk: p })
}

fn diagnose_inner(
    cipher: &PayloadKey,
    prefix: &[u8; NONCE_PREFIX_LEN],
    f: &Failure,
    ct: &[u8],
    buf: &mut Vec<u8>,
) -> Option<SealError> {
    let p = f.position;
    if f.more && try_open(cipher, prefix, p, true, ct, buf) {
        return Some(SealError::TrailingData { after_chunk: p + 1 });
    }
    if f.full && !f.more && try_open(cipher, prefix, p, false, ct, buf) {
        return Some(SealError::Truncated { after_chunk: p + 1 });
    }
    let lo = p.saturating_sub(SEARCH_WINDOW);
    let hi = p.saturating_add(SEARCH_WINDOW).min(u64::from(u32::MAX));
    for j in (lo..=hi).filter(|&j| j != p) {
        let found = (f.full && try_open(cipher, prefix, j, false, ct, buf))
            || try_open(cipher, prefix, j, true, ct, buf);
        if found {
            return Some(if j < p {
                SealError::Duplicated {
                    chunk: p,
                    copy_of: j,
                }
            } else {
                SealError::Reordered { chunk: p, found: j }
            });
        }
    }
    None
}
