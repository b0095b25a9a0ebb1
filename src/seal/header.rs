//! The fixed 100-byte container header: its byte layout, parsing, and the bounds a reader checks
//! before doing any work (so a forged header cannot make a recipient's machine run a huge key
//! derivation). Layout and rationale: `docs/FORMAT.md`.

use super::error::SealError;

/// The 8 magic bytes that open every container (`SCELLE\r\n`).
pub const MAGIC: [u8; 8] = *b"SCELLE\r\n";
/// The only format version this build writes and reads.
pub const VERSION: u16 = 1;
/// Length of the fixed header in bytes.
pub const HEADER_LEN: usize = 100;
/// Bytes 0..WRAP_AAD_LEN are the associated data of the wrapped file key.
pub(super) const WRAP_AAD_LEN: usize = 52;
/// AES-GCM tag length.
pub const TAG_LEN: usize = 16;
/// Length of the random nonce prefix of the payload STREAM.
pub(super) const NONCE_PREFIX_LEN: usize = 7;
/// Length of the Argon2id salt.
pub(super) const SALT_LEN: usize = 16;
/// Length of the wrapped file key (32-byte key + tag).
pub(super) const WRAPPED_KEY_LEN: usize = 32 + TAG_LEN;

/// Smallest and largest accepted chunk sizes, as powers of two (1 KiB .. 16 MiB).
pub const CHUNK_LOG2_MIN: u8 = 10;
pub const CHUNK_LOG2_MAX: u8 = 24;
/// The writer's default chunk size (64 KiB), see `docs/decisions/0001-container-construction.md`.
pub const CHUNK_LOG2_DEFAULT: u8 = 16;
/// Largest metadata ciphertext (64 KiB of JSON plus the tag).
pub(super) const METADATA_MAX: u32 = 65536 + TAG_LEN as u32;

/// Argon2id cost parameters as stored in the header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KdfParams {
    /// Memory in KiB.
    pub m_cost_kib: u32,
    /// Number of passes.
    pub t_cost: u32,
    /// Lanes (parallelism).
    pub p_cost: u32,
}

impl KdfParams {
    /// Reader bounds (justified in `docs/decisions/0002-argon2-parameters.md`).
    pub const M_MIN_KIB: u32 = 8 * 1024;
    pub const M_MAX_KIB: u32 = 4 * 1024 * 1024;
    pub const T_MIN: u32 = 1;
    pub const T_MAX: u32 = 16;
    pub const P_MIN: u32 = 1;
    pub const P_MAX: u32 = 16;
    /// Upper bound on m × t (KiB × passes): 16 GiB of memory traffic.
    pub const WORK_MAX: u64 = 16 * 1024 * 1024;

    /// What `scelle seal` uses: 256 MiB, t = 3, p = 4 (RFC 9106 §4 tuning from its second
    /// recommended option), about one second on the site server (decision 0002).
    pub const DEFAULT: KdfParams = KdfParams {
        m_cost_kib: 256 * 1024,
        t_cost: 3,
        p_cost: 4,
    };

    /// The cheapest parameters a reader accepts; for tests and test vectors only.
    pub const MINIMUM: KdfParams = KdfParams {
        m_cost_kib: Self::M_MIN_KIB,
        t_cost: 1,
        p_cost: 1,
    };

    /// Refuses parameters outside the reader bounds.
    pub fn check(&self) -> Result<(), SealError> {
        let bound = |name, value: u64, min: u64, max: u64| {
            if value < min || value > max {
                Err(SealError::KdfOutOfBounds {
                    name,
                    value,
                    min,
                    max,
                })
            } else {
                Ok(())
            }
        };
        bound(
            "memory (KiB)",
            self.m_cost_kib.into(),
            Self::M_MIN_KIB.into(),
            Self::M_MAX_KIB.into(),
        )?;
        bound(
            "passes",
            self.t_cost.into(),
            Self::T_MIN.into(),
            Self::T_MAX.into(),
        )?;
        bound(
            "lanes",
            self.p_cost.into(),
            Self::P_MIN.into(),
            Self::P_MAX.into(),
        )?;
        bound(
            "memory x passes (KiB)",
            u64::from(self.m_cost_kib) * u64::from(self.t_cost),
            0,
            Self::WORK_MAX,
        )?;
        // Argon2 needs at least 8 blocks of 1 KiB per lane.
        bound(
            "memory per lane (KiB)",
            u64::from(self.m_cost_kib / self.p_cost),
            8,
            u64::MAX,
        )
    }
}

/// The parsed fixed header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// log2 of the plaintext chunk size.
    pub chunk_log2: u8,
    pub kdf: KdfParams,
    pub salt: [u8; SALT_LEN],
    pub nonce_prefix: [u8; NONCE_PREFIX_LEN],
    /// Length of the metadata ciphertext that follows the header (JSON + tag).
    pub metadata_len: u32,
    pub wrapped_key: [u8; WRAPPED_KEY_LEN],
}

impl Header {
    /// Plaintext bytes per chunk.
    pub fn chunk_size(&self) -> usize {
        1usize << self.chunk_log2
    }

    /// Ciphertext bytes per full chunk.
    pub fn chunk_ct_size(&self) -> usize {
        self.chunk_size() + TAG_LEN
    }

    /// Offset of chunk 0 in the file.
    pub fn payload_offset(&self) -> u64 {
        HEADER_LEN as u64 + u64::from(self.metadata_len)
    }

    /// Serializes the header (byte layout in `docs/FORMAT.md`).
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        b[0..8].copy_from_slice(&MAGIC);
        b[8..10].copy_from_slice(&VERSION.to_le_bytes());
        b[10] = self.chunk_log2;
        b[11] = 0;
        b[12..16].copy_from_slice(&self.kdf.m_cost_kib.to_le_bytes());
        b[16..20].copy_from_slice(&self.kdf.t_cost.to_le_bytes());
        b[20..24].copy_from_slice(&self.kdf.p_cost.to_le_bytes());
        b[24..40].copy_from_slice(&self.salt);
        b[40..47].copy_from_slice(&self.nonce_prefix);
        b[47] = 0;
        b[48..52].copy_from_slice(&self.metadata_len.to_le_bytes());
        b[52..100].copy_from_slice(&self.wrapped_key);
        b
    }

    /// Parses and bounds-checks a header. Nothing here is authenticated yet; the bounds stop a
    /// forged header before it costs the reader anything.
    pub fn parse(b: &[u8]) -> Result<Header, SealError> {
        if b.len() < 8 || b[0..8] != MAGIC {
            return Err(SealError::NotAContainer);
        }
        if b.len() < 10 {
            return Err(SealError::Truncated { after_chunk: 0 });
        }
        let version = u16::from_le_bytes([b[8], b[9]]);
        if version != VERSION {
            return Err(SealError::UnknownVersion { found: version });
        }
        if b.len() < HEADER_LEN {
            return Err(SealError::Truncated { after_chunk: 0 });
        }
        let u32_at = |o: usize| u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]);
        let chunk_log2 = b[10];
        if !(CHUNK_LOG2_MIN..=CHUNK_LOG2_MAX).contains(&chunk_log2) {
            return Err(SealError::MalformedHeader {
                reason: "chunk size out of range",
            });
        }
        if b[11] != 0 || b[47] != 0 {
            return Err(SealError::MalformedHeader {
                reason: "reserved byte is not zero",
            });
        }
        let kdf = KdfParams {
            m_cost_kib: u32_at(12),
            t_cost: u32_at(16),
            p_cost: u32_at(20),
        };
        kdf.check()?;
        let metadata_len = u32_at(48);
        if !(TAG_LEN as u32..=METADATA_MAX).contains(&metadata_len) {
            return Err(SealError::MalformedHeader {
                reason: "metadata length out of range",
            });
        }
        let mut h = Header {
            chunk_log2,
            kdf,
            salt: [0; SALT_LEN],
            nonce_prefix: [0; NONCE_PREFIX_LEN],
            metadata_len,
            wrapped_key: [0; WRAPPED_KEY_LEN],
        };
        h.salt.copy_from_slice(&b[24..40]);
        h.nonce_prefix.copy_from_slice(&b[40..47]);
        h.wrapped_key.copy_from_slice(&b[52..100]);
        Ok(h)
    }
}
