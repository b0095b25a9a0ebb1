//! Reading a container back: a streaming reader (`SealReader`, any `Read`), random access to
//! single chunks (`SealFile`, `Read + Seek`), and the structure-only check a recipient runs
//! without the password (`inspect`: header bounds, chunk layout, SHA-256 for the receipt).
//!
//! Every chunk is authenticated before any of its plaintext is returned; the end of the stream
//! is authenticated by the final-chunk flag, so a stream reader reports truncation only when it
//! reaches the end.

use std::io::{Read, Seek, SeekFrom};

use sha2::{Digest, Sha256};

use super::chunk::{Failure, diagnose, try_open};
use super::error::SealError;
use super::header::{HEADER_LEN, Header, TAG_LEN};
use super::keys::FileKeys;
use super::metadata::{Metadata, open_metadata};

/// Reads until `buf` is full or the input ends; returns the bytes read.
fn read_full<R: Read>(r: &mut R, buf: &mut [u8]) -> Result<usize, SealError> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(n)
}

/// Reads and parses the fixed header (no password needed).
pub fn read_header<R: Read>(r: &mut R) -> Result<(Header, [u8; HEADER_LEN]), SealError> {
    let mut bytes = [0u8; HEADER_LEN];
    let n = read_full(r, &mut bytes)?;
    let header = Header::parse(&bytes[..n])?;
    Ok((header, bytes))
}

/// Reads the metadata ciphertext that follows the header.
fn read_metadata_ct<R: Read>(r: &mut R, header: &Header) -> Result<Vec<u8>, SealError> {
    let mut ct = vec![0u8; header.metadata_len as usize];
    if read_full(r, &mut ct)? < ct.len() {
        return Err(SealError::Truncated { after_chunk: 0 });
    }
    Ok(ct)
}

/// Checks that `keys` belong to this exact header.
fn check_keys(keys: &FileKeys, bytes: &[u8; HEADER_LEN]) -> Result<(), SealError> {
    if keys.header_bytes() == bytes {
        Ok(())
    } else {
        Err(SealError::WrongPassword)
    }
}

/// Streaming reader: yields the plaintext chunk by chunk, each one authenticated.
pub struct SealReader<R: Read> {
    inner: R,
    keys: FileKeys,
    header: Header,
    metadata: Metadata,
    /// The current chunk's ciphertext as read, kept intact for the diagnosis of a failure.
    ct: Vec<u8>,
    /// The current chunk's plaintext.
    buf: Vec<u8>,
    peek: Option<u8>,
    index: u64,
    done: bool,
    failed: bool,
    pos: usize,
}

impl<R: Read> SealReader<R> {
    /// Parses the header, unlocks it with `password` (Argon2id: the slow step), and opens the
    /// metadata. Errors: `NotAContainer`, `UnknownVersion`, `KdfOutOfBounds` (before any work),
    /// `WrongPassword`, `MetadataTampered`, `Truncated`.
    pub fn new(mut inner: R, password: &[u8]) -> Result<SealReader<R>, SealError> {
        let (header, _) = read_header(&mut inner)?;
        let keys = FileKeys::unlock(&header, password)?;
        Self::start(inner, header, keys)
    }

    /// Like [`SealReader::new`] with keys already unlocked for this exact header (no KDF).
    pub fn with_keys(mut inner: R, keys: FileKeys) -> Result<SealReader<R>, SealError> {
        let (header, bytes) = read_header(&mut inner)?;
        check_keys(&keys, &bytes)?;
        Self::start(inner, header, keys)
    }

    fn start(mut inner: R, header: Header, keys: FileKeys) -> Result<SealReader<R>, SealError> {
        let ct = read_metadata_ct(&mut inner, &header)?;
        let metadata = open_metadata(&keys, ct)?;
        Ok(SealReader {
            ct: Vec::with_capacity(header.chunk_ct_size()),
            buf: Vec::with_capacity(header.chunk_ct_size()),
            inner,
            keys,
            header,
            metadata,
            peek: None,
            index: 0,
            done: false,
            failed: false,
            pos: 0,
        })
    }

    pub fn header(&self) -> &Header {
        &self.header
    }

    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// Chunks authenticated so far.
    pub fn chunks_read(&self) -> u64 {
        self.index
    }

    /// Reads, authenticates and returns the next chunk's plaintext; `None` after the final chunk.
    /// After an error the reader stays failed: nothing unauthenticated is ever returned.
    pub fn next_chunk(&mut self) -> Result<Option<&[u8]>, SealError> {
        if self.failed {
            return Err(SealError::InvalidRequest {
                reason: "the reader already failed".into(),
            });
        }
        if self.done {
            return Ok(None);
        }
        match self.advance() {
            Ok(()) => Ok(Some(&self.buf)),
            Err(e) => {
                self.buf.clear();
                self.pos = 0;
                self.failed = true;
                Err(e)
            }
        }
    }

    fn advance(&mut self) -> Result<(), SealError> {
        let ct_size = self.header.chunk_ct_size();
        self.buf.clear();
        self.ct.resize(ct_size, 0);
        let mut filled = 0;
        if let Some(b) = self.peek.take() {
            self.ct[0] = b;
            filled = 1;
        }
        filled += read_full(&mut self.inner, &mut self.ct[filled..])?;
        let full = filled == ct_size;
        let more = if full {
            let mut one = [0u8; 1];
            if read_full(&mut self.inner, &mut one)? == 1 {
                self.peek = Some(one[0]);
            }
            self.peek.is_some()
        } else {
            false
        };
        self.ct.truncate(filled);
        let p = self.index;
        if filled < TAG_LEN {
            return Err(SealError::Truncated { after_chunk: p });
        }
        let cipher = self.keys.payload_cipher();
        let prefix = self.keys.nonce_prefix();
        if !try_open(cipher, &prefix, p, !more, &self.ct, &mut self.buf) {
            let f = Failure {
                position: p,
                full,
                more,
            };
            return Err(diagnose(cipher, &prefix, &f, &self.ct, &mut self.buf));
        }
        if !more {
            if self.buf.is_empty() && p > 0 {
                // The writer never emits an empty final chunk after others.
                return Err(SealError::Tampered { chunk: p });
            }
            self.done = true;
        }
        self.index += 1;
        self.pos = 0;
        Ok(())
    }

    /// Reads to the end, authenticating every chunk and the end of the stream, discarding the
    /// plaintext. Returns the number of plaintext bytes.
    pub fn verify_all(&mut self) -> Result<u64, SealError> {
        let mut total = 0u64;
        while let Some(chunk) = self.next_chunk()? {
            total += chunk.len() as u64;
        }
        Ok(total)
    }
}

impl<R: Read> Read for SealReader<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        while self.pos == self.buf.len() {
            if self.done {
                return Ok(0);
            }
            self.next_chunk().map_err(SealError::into_io)?;
        }
        let n = out.len().min(self.buf.len() - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Random access to the chunks of a container on a seekable input.
pub struct SealFile<R: Read + Seek> {
    inner: R,
    keys: FileKeys,
    header: Header,
    metadata: Metadata,
    chunks: u64,
    last_ct_len: u64,
}

impl<R: Read + Seek> SealFile<R> {
    /// Opens with the password (runs Argon2id).
    pub fn open(mut inner: R, password: &[u8]) -> Result<SealFile<R>, SealError> {
        inner.seek(SeekFrom::Start(0))?;
        let (header, _) = read_header(&mut inner)?;
        let keys = FileKeys::unlock(&header, password)?;
        Self::start(inner, header, keys)
    }

    /// Opens with keys already unlocked for this exact header.
    pub fn with_keys(mut inner: R, keys: FileKeys) -> Result<SealFile<R>, SealError> {
        inner.seek(SeekFrom::Start(0))?;
        let (header, bytes) = read_header(&mut inner)?;
        check_keys(&keys, &bytes)?;
        Self::start(inner, header, keys)
    }

    fn start(mut inner: R, header: Header, keys: FileKeys) -> Result<SealFile<R>, SealError> {
        let ct = read_metadata_ct(&mut inner, &header)?;
        let metadata = open_metadata(&keys, ct)?;
        let len = inner.seek(SeekFrom::End(0))?;
        let (chunks, last_ct_len) = layout(&header, len)?;
        Ok(SealFile {
            inner,
            keys,
            header,
            metadata,
            chunks,
            last_ct_len,
        })
    }

    pub fn header(&self) -> &Header {
        &self.header
    }

    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// Number of chunks the file's length implies.
    pub fn chunk_count(&self) -> u64 {
        self.chunks
    }

    /// Plaintext length the file's length implies (authenticated only chunk by chunk).
    pub fn plaintext_len(&self) -> u64 {
        (self.chunks - 1) * self.header.chunk_size() as u64 + self.last_ct_len - TAG_LEN as u64
    }

    /// Decrypts chunk `index` on its own (one seek, one read, one AES-GCM open).
    pub fn read_chunk(&mut self, index: u64) -> Result<Vec<u8>, SealError> {
        if index >= self.chunks {
            return Err(SealError::InvalidRequest {
                reason: format!("chunk {index} does not exist ({} chunks)", self.chunks),
            });
        }
        let ct_size = self.header.chunk_ct_size() as u64;
        let last = index + 1 == self.chunks;
        let len = if last { self.last_ct_len } else { ct_size };
        self.inner.seek(SeekFrom::Start(
            self.header.payload_offset() + index * ct_size,
        ))?;
        let mut ct = vec![0u8; len as usize];
        if read_full(&mut self.inner, &mut ct)? < ct.len() {
            return Err(SealError::Truncated { after_chunk: index });
        }
        let prefix = self.keys.nonce_prefix();
        let cipher = self.keys.payload_cipher();
        let mut buf = Vec::with_capacity(ct.len());
        if try_open(cipher, &prefix, index, last, &ct, &mut buf) {
            Ok(buf)
        } else {
            let f = Failure {
                position: index,
                full: len == ct_size,
                more: !last,
            };
            Err(diagnose(cipher, &prefix, &f, &ct, &mut buf))
        }
    }
}

/// Chunk count and final-chunk ciphertext length implied by a file of `len` bytes.
fn layout(header: &Header, len: u64) -> Result<(u64, u64), SealError> {
    let payload = len
        .checked_sub(header.payload_offset())
        .filter(|&p| p >= TAG_LEN as u64)
        .ok_or(SealError::Truncated { after_chunk: 0 })?;
    let ct_size = header.chunk_ct_size() as u64;
    let chunks = payload.div_ceil(ct_size);
    let last = payload - (chunks - 1) * ct_size;
    if last < TAG_LEN as u64 {
        // A stored chunk is at least its tag: the final chunk was cut.
        return Err(SealError::Truncated {
            after_chunk: chunks - 1,
        });
    }
    if chunks > 1 && last == TAG_LEN as u64 {
        // Only an empty file has an empty final chunk.
        return Err(SealError::TrailingData {
            after_chunk: chunks - 1,
        });
    }
    if chunks > u64::from(u32::MAX) + 1 {
        return Err(SealError::TrailingData {
            after_chunk: u64::from(u32::MAX) + 1,
        });
    }
    Ok((chunks, last))
}

/// What the structure-only check found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Structure {
    pub header: Header,
    /// Container size in bytes.
    pub bytes: u64,
    /// Number of chunks the size implies.
    pub chunks: u64,
    /// SHA-256 of every container byte (compare with the receipt).
    pub sha256: [u8; 32],
}

/// Structure-only check, no password: magic, version, header bounds, chunk layout, and the
/// SHA-256 of the whole file. Proves the bytes are the ones on the receipt (when the hashes
/// match), not that they decrypt: that needs the password.
pub fn inspect<R: Read>(mut inner: R) -> Result<Structure, SealError> {
    let mut hasher = Sha256::new();
    let (header, bytes) = read_header(&mut inner)?;
    hasher.update(bytes);
    let mut total = HEADER_LEN as u64;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = read_full(&mut inner, &mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        total += n as u64;
    }
    let (chunks, _) = layout(&header, total)?;
    Ok(Structure {
        header,
        bytes: total,
        chunks,
        sha256: hasher.finalize().into(),
    })
}
