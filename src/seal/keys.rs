//! Key schedule of the container: Argon2id turns the password into a key-encryption key, which
//! wraps a random per-file key; HKDF-SHA256 derives the metadata and payload keys from the file
//! key, salted with the hash of the whole header so every key is bound to it. All key bytes live
//! in `Zeroizing` buffers or in cipher states that are wiped on drop: RustCrypto's `aes-gcm`
//! for the key wrap and the metadata (it zeroizes itself), and `ring`'s hand-tuned AES-GCM for
//! the payload (see [`PayloadKey`]; decision 0001 says why).

use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce, Tag};
use argon2::{Algorithm, Argon2, Params, Version};
use hkdf::Hkdf;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce as RingNonce, UnboundKey};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::error::SealError;
use super::header::{HEADER_LEN, Header, KdfParams, NONCE_PREFIX_LEN, TAG_LEN, WRAP_AAD_LEN};

/// HKDF info strings (part of the format).
pub(super) const INFO_WRAP: &[u8] = b"scelle v1 key wrap";
pub(super) const INFO_METADATA: &[u8] = b"scelle v1 metadata";
pub(super) const INFO_PAYLOAD: &[u8] = b"scelle v1 payload";

/// A 32-byte secret that is wiped when dropped.
pub(super) type SecretKey = Zeroizing<[u8; 32]>;

/// At most this many Argon2id runs at once in the process: each holds `m_cost` of memory
/// (256 MiB by default), and an export of 8 cameras starts 8 containers together. Two keep
/// both cores of a small site server busy; more would only add memory.
pub(super) const CONCURRENT_ARGON2: usize = 2;

/// A counting semaphore of [`CONCURRENT_ARGON2`] slots (std has none; blocking threads use it).
struct Slots {
    used: std::sync::Mutex<usize>,
    freed: std::sync::Condvar,
}

static ARGON2_SLOTS: Slots = Slots {
    used: std::sync::Mutex::new(0),
    freed: std::sync::Condvar::new(),
};

/// The most Argon2id runs seen at once (for tests and diagnostics).
pub(super) static PEAK_ARGON2: std::sync::atomic::AtomicUsize =
    std::sync::atomic::AtomicUsize::new(0);

/// A slot held for one Argon2id run; given back on drop.
struct Slot;

impl Slot {
    fn take() -> Slot {
        let mut used = ARGON2_SLOTS.used.lock().unwrap_or_else(|e| e.into_inner());
        while *used >= CONCURRENT_ARGON2 {
            used = ARGON2_SLOTS
                .freed
                .wait(used)
                .unwrap_or_else(|e| e.into_inner());
        }
        *used += 1;
        PEAK_ARGON2.fetch_max(*used, std::sync::atomic::Ordering::Relaxed);
        Slot
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        *ARGON2_SLOTS.used.lock().unwrap_or_else(|e| e.into_inner()) -= 1;
        ARGON2_SLOTS.freed.notify_one();
    }
}

/// Runs Argon2id (version 0x13, 32-byte output) over the password, waiting for one of the
/// [`CONCURRENT_ARGON2`] slots first (call it from a thread that may block).
pub(super) fn argon2id(
    password: &[u8],
    salt: &[u8],
    kdf: &KdfParams,
) -> Result<SecretKey, SealError> {
    kdf.check()?;
    let _slot = Slot::take();
    let params = Params::new(kdf.m_cost_kib, kdf.t_cost, kdf.p_cost, Some(32)).map_err(|_| {
        SealError::KdfOutOfBounds {
            name: "argon2 parameter set",
            value: kdf.m_cost_kib.into(),
            min: KdfParams::M_MIN_KIB.into(),
            max: KdfParams::M_MAX_KIB.into(),
        }
    })?;
    let mut out = Zeroizing::new([0u8; 32]);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(password, salt, out.as_mut())
        .map_err(|_| SealError::InvalidRequest {
            reason: "Argon2id refused the password or salt length".into(),
        })?;
    Ok(out)
}

/// HKDF-SHA256 expand of `ikm` with `salt` and `info` to 32 bytes.
pub(super) fn hkdf32(ikm: &[u8], salt: &[u8], info: &[u8]) -> SecretKey {
    let mut out = Zeroizing::new([0u8; 32]);
    Hkdf::<Sha256>::new(Some(salt), ikm)
        .expand(info, out.as_mut())
        .expect("32 bytes is a valid HKDF-SHA256 output length");
    out
}

/// The key-encryption key: HKDF(Argon2id(password), salt = empty, info = INFO_WRAP).
pub(super) fn kek(password: &[u8], header: &Header) -> Result<SecretKey, SealError> {
    let stretched = argon2id(password, &header.salt, &header.kdf)?;
    Ok(hkdf32(stretched.as_ref(), &[], INFO_WRAP))
}

/// Encrypts the file key under the KEK; the associated data is header bytes 0..52.
pub(super) fn wrap(kek: &SecretKey, file_key: &SecretKey, header_prefix: &[u8]) -> [u8; 48] {
    let cipher = Aes256Gcm::new(kek.as_ref().into());
    let mut out = [0u8; 48];
    out[..32].copy_from_slice(file_key.as_ref());
    let tag = cipher
        .encrypt_in_place_detached(&Nonce::default(), header_prefix, &mut out[..32])
        .expect("32 bytes is within AES-GCM limits");
    out[32..].copy_from_slice(&tag);
    out
}

/// The payload key: `ring`'s AES-256-GCM (VAES/VPCLMULQDQ assembly where the CPU has it, about
/// five times RustCrypto's `aes-gcm` here), behind the same STREAM nonces. ring's key state has
/// no `Zeroize`; it lives in its own heap allocation, which `Drop` overwrites in place with the
/// state of the all-zero key before it is freed, so the expanded key and GHASH table do not
/// outlive the value (same limits as `zeroize`: copies made while it was built are not reached).
pub(crate) struct PayloadKey(Box<LessSafeKey>);

impl PayloadKey {
    fn new(key: &SecretKey) -> PayloadKey {
        PayloadKey(Box::new(ring_key(key)))
    }

    /// Encrypts `buf` in place as the chunk with this nonce; returns the tag.
    pub(crate) fn seal(&self, nonce: [u8; 12], buf: &mut [u8]) -> [u8; TAG_LEN] {
        let tag = self
            .0
            .seal_in_place_separate_tag(RingNonce::assume_unique_for_key(nonce), Aad::empty(), buf)
            .expect("chunk size is far below the AES-GCM limit");
        let mut out = [0u8; TAG_LEN];
        out.copy_from_slice(tag.as_ref());
        out
    }

    /// Authenticates and decrypts `buf` (ciphertext ‖ tag) in place; returns the plaintext
    /// length. On failure ring has zeroed the ciphertext part of `buf`.
    pub(crate) fn open(&self, nonce: [u8; 12], buf: &mut [u8]) -> Option<usize> {
        self.0
            .open_in_place(RingNonce::assume_unique_for_key(nonce), Aad::empty(), buf)
            .ok()
            .map(|p| p.len())
    }
}

impl Clone for PayloadKey {
    fn clone(&self) -> Self {
        PayloadKey(self.0.clone())
    }
}

impl Drop for PayloadKey {
    fn drop(&mut self) {
        *self.0 = ring_key(&Zeroizing::new([0u8; 32]));
        // Keeps the store above from being optimised away as dead before the free.
        std::hint::black_box(&*self.0);
    }
}

fn ring_key(key: &SecretKey) -> LessSafeKey {
    LessSafeKey::new(
        UnboundKey::new(&AES_256_GCM, key.as_ref()).expect("32 bytes is an AES-256 key"),
    )
}

/// The per-file keys once the file key is known. Bound to one exact header. Cloning copies
/// the cipher states; each copy is wiped on drop.
#[derive(Clone)]
pub struct FileKeys {
    header: [u8; HEADER_LEN],
    metadata: Aes256Gcm,
    payload: PayloadKey,
    nonce_prefix: [u8; NONCE_PREFIX_LEN],
}

impl std::fmt::Debug for FileKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FileKeys { .. }")
    }
}

impl FileKeys {
    /// Derives the subkeys from the file key and the full serialized header.
    pub fn derive(file_key: &SecretKey, header: &[u8; HEADER_LEN]) -> FileKeys {
        let header_hash: [u8; 32] = Sha256::digest(header).into();
        let meta = hkdf32(file_key.as_ref(), &header_hash, INFO_METADATA);
        let payload = hkdf32(file_key.as_ref(), &header_hash, INFO_PAYLOAD);
        let mut nonce_prefix = [0u8; NONCE_PREFIX_LEN];
        nonce_prefix.copy_from_slice(&header[40..47]);
        FileKeys {
            header: *header,
            metadata: Aes256Gcm::new(meta.as_ref().into()),
            payload: PayloadKey::new(&payload),
            nonce_prefix,
        }
    }

    /// Unwraps the file key with the password (runs Argon2id: the slow step) and derives the
    /// subkeys. A wrong password and a changed header byte are indistinguishable by design.
    pub fn unlock(header: &Header, password: &[u8]) -> Result<FileKeys, SealError> {
        let bytes = header.to_bytes();
        let kek = kek(password, header)?;
        let cipher = Aes256Gcm::new(kek.as_ref().into());
        let mut file_key = Zeroizing::new([0u8; 32]);
        file_key.copy_from_slice(&header.wrapped_key[..32]);
        cipher
            .decrypt_in_place_detached(
                &Nonce::default(),
                &bytes[..WRAP_AAD_LEN],
                file_key.as_mut(),
                Tag::from_slice(&header.wrapped_key[32..]),
            )
            .map_err(|_| SealError::WrongPassword)?;
        Ok(FileKeys::derive(&file_key, &bytes))
    }

    /// The exact header these keys belong to.
    pub fn header_bytes(&self) -> &[u8; HEADER_LEN] {
        &self.header
    }

    pub(crate) fn metadata_cipher(&self) -> &Aes256Gcm {
        &self.metadata
    }

    pub(crate) fn payload_cipher(&self) -> &PayloadKey {
        &self.payload
    }

    pub(crate) fn nonce_prefix(&self) -> [u8; NONCE_PREFIX_LEN] {
        self.nonce_prefix
    }
}

/// The payload nonce of chunk `index`: prefix (7) ‖ index (u32 big-endian) ‖ last flag (1).
pub(super) fn chunk_nonce(prefix: &[u8; NONCE_PREFIX_LEN], index: u32, last: bool) -> [u8; 12] {
    let mut n = [0u8; 12];
    n[..7].copy_from_slice(prefix);
    n[7..11].copy_from_slice(&index.to_be_bytes());
    n[11] = u8::from(last);
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argon2_runs_wait_for_a_slot_and_all_finish() {
        let kdf = KdfParams {
            m_cost_kib: KdfParams::M_MIN_KIB,
            t_cost: 1,
            p_cost: 1,
        };
        let alone = argon2id(b"a password of 16+", &[7; 16], &kdf).unwrap();
        let threads: Vec<_> = (0..6)
            .map(|_| std::thread::spawn(move || argon2id(b"a password of 16+", &[7; 16], &kdf)))
            .collect();
        for t in threads {
            assert_eq!(*t.join().unwrap().unwrap(), *alone);
        }
        let peak = PEAK_ARGON2.load(std::sync::atomic::Ordering::Relaxed);
        assert!((1..=CONCURRENT_ARGON2).contains(&peak), "{peak} at once");
    }
}
