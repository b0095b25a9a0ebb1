//! Key schedule of the container: Argon2id turns the password into a key-encryption key, which
//! wraps a random per-file key; HKDF-SHA256 derives the metadata and payload keys from the file
//! key, salted with the hash of the whole header so every key is bound to it. All key bytes live
//! in `Zeroizing` buffers or in cipher states that zeroize themselves on drop.

use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce, Tag};
use argon2::{Algorithm, Argon2, Params, Version};
use hkdf::Hkdf;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::error::SealError;
use super::header::{HEADER_LEN, Header, KdfParams, NONCE_PREFIX_LEN, WRAP_AAD_LEN};

/// HKDF info strings (part of the format).
pub const INFO_WRAP: &[u8] = b"scelle v1 key wrap";
pub const INFO_METADATA: &[u8] = b"scelle v1 metadata";
pub const INFO_PAYLOAD: &[u8] = b"scelle v1 payload";

/// A 32-byte secret that is wiped when dropped.
pub type SecretKey = Zeroizing<[u8; 32]>;

/// Runs Argon2id (version 0x13, 32-byte output) over the password.
pub fn argon2id(password: &[u8], salt: &[u8], kdf: &KdfParams) -> Result<SecretKey, SealError> {
    kdf.check()?;
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
pub fn hkdf32(ikm: &[u8], salt: &[u8], info: &[u8]) -> SecretKey {
    let mut out = Zeroizing::new([0u8; 32]);
    Hkdf::<Sha256>::new(Some(salt), ikm)
        .expand(info, out.as_mut())
        .expect("32 bytes is a valid HKDF-SHA256 output length");
    out
}

/// The key-encryption key: HKDF(Argon2id(password), salt = empty, info = INFO_WRAP).
pub fn kek(password: &[u8], header: &Header) -> Result<SecretKey, SealError> {
    let stretched = argon2id(password, &header.salt, &header.kdf)?;
    Ok(hkdf32(stretched.as_ref(), &[], INFO_WRAP))
}

/// Encrypts the file key under the KEK; the associated data is header bytes 0..52.
pub fn wrap(kek: &SecretKey, file_key: &SecretKey, header_prefix: &[u8]) -> [u8; 48] {
    let cipher = Aes256Gcm::new(kek.as_ref().into());
    let mut out = [0u8; 48];
    out[..32].copy_from_slice(file_key.as_ref());
    let tag = cipher
        .encrypt_in_place_detached(&Nonce::default(), header_prefix, &mut out[..32])
        .expect("32 bytes is within AES-GCM limits");
    out[32..].copy_from_slice(&tag);
    out
}

/// The per-file keys once the file key is known. Bound to one exact header. Cloning copies
/// the cipher states; each copy zeroizes itself on drop.
#[derive(Clone)]
pub struct FileKeys {
    header: [u8; HEADER_LEN],
    metadata: Aes256Gcm,
    payload: Aes256Gcm,
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
            payload: Aes256Gcm::new(payload.as_ref().into()),
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

    pub(crate) fn payload_cipher(&self) -> &Aes256Gcm {
        &self.payload
    }

    pub(crate) fn nonce_prefix(&self) -> [u8; NONCE_PREFIX_LEN] {
        self.nonce_prefix
    }
}

/// The payload nonce of chunk `index`: prefix (7) ‖ index (u32 big-endian) ‖ last flag (1).
pub fn chunk_nonce(
    prefix: &[u8; NONCE_PREFIX_LEN],
    index: u32,
    last: bool,
) -> Nonce<aes_gcm::aead::consts::U12> {
    let mut n = [0u8; 12];
    n[..7].copy_from_slice(prefix);
    n[7..11].copy_from_slice(&index.to_be_bytes());
    n[11] = u8::from(last);
    n.into()
}
