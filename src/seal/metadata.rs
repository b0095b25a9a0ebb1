//! The encrypted metadata block: what a recipient learns about the sealed file once the password
//! is right (original name, media type, creation time, case id). JSON so a decryptor in any
//! language can read it; encrypted because a file name or case id can itself be personal data.

use aes_gcm::Nonce;
use aes_gcm::aead::AeadInPlace;
use serde::{Deserialize, Serialize};

use super::error::SealError;
use super::header::{HEADER_LEN, METADATA_MAX, TAG_LEN};
use super::keys::FileKeys;

/// Metadata sealed with the payload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metadata {
    /// Original file name (no directory).
    pub name: String,
    /// Media type of the payload, e.g. `video/mp4`.
    pub media_type: String,
    /// When the container was created, RFC 3339 with offset.
    pub created: String,
    /// The scelle case this export belongs to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case_id: Option<String>,
}

impl Metadata {
    /// Metadata for `name` of type `media_type`, created now.
    pub fn now(name: impl Into<String>, media_type: impl Into<String>) -> Metadata {
        Metadata {
            name: name.into(),
            media_type: media_type.into(),
            created: jiff::Timestamp::now().to_string(),
            case_id: None,
        }
    }

    /// The JSON bytes that get encrypted.
    pub fn to_json(&self) -> Result<Vec<u8>, SealError> {
        let json = serde_json::to_vec(self).map_err(|e| SealError::InvalidRequest {
            reason: format!("metadata cannot be serialized: {e}"),
        })?;
        if json.len() + TAG_LEN > METADATA_MAX as usize {
            return Err(SealError::InvalidRequest {
                reason: "metadata larger than 64 KiB".into(),
            });
        }
        Ok(json)
    }
}

/// Encrypts the metadata JSON; associated data is the full header.
pub(super) fn seal_metadata(keys: &FileKeys, json: &[u8]) -> Vec<u8> {
    let mut buf = Vec::with_capacity(json.len() + TAG_LEN);
    buf.extend_from_slice(json);
    let tag = keys
        .metadata_cipher()
        .encrypt_in_place_detached(&Nonce::default(), keys.header_bytes(), &mut buf)
        .expect("metadata size is bounded");
    buf.extend_from_slice(&tag);
    buf
}

/// Authenticates and parses the metadata ciphertext.
pub(super) fn open_metadata(keys: &FileKeys, mut ct: Vec<u8>) -> Result<Metadata, SealError> {
    debug_assert!(keys.header_bytes().len() == HEADER_LEN);
    if ct.len() < TAG_LEN {
        return Err(SealError::MetadataTampered);
    }
    let tag_at = ct.len() - TAG_LEN;
    let tag = aes_gcm::Tag::clone_from_slice(&ct[tag_at..]);
    ct.truncate(tag_at);
    keys.metadata_cipher()
        .decrypt_in_place_detached(&Nonce::default(), keys.header_bytes(), &mut ct, &tag)
        .map_err(|_| SealError::MetadataTampered)?;
    serde_json::from_slice(&ct).map_err(|e| SealError::MetadataInvalid {
        reason: e.to_string(),
    })
}
