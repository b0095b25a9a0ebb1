//! The streaming writer: plaintext in through `std::io::Write`, container bytes out, never a
//! seek back, and the SHA-256 of every byte written (the receipt's hash) computed on the way.
//!
//! A chunk is only encrypted once the writer knows whether it is the last one, so the writer
//! holds at most one open plaintext chunk. Sealed chunks gather into a batch of about 1 MiB that
//! is written in one call. SHA-256 is the slow step (about 4x the cost of ring's AES-GCM here:
//! `examples/seal_primitives.rs`), so with `SealParams::pipelined` each written batch goes to a
//! hashing thread while this thread encrypts and writes the next one; the two loads then
//! roughly balance on two cores (`examples/seal_bench.rs` measures it).

use std::io::Write;
use std::sync::mpsc;
use std::thread::JoinHandle;

use rand::RngCore;
use rand::rngs::OsRng;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::error::SealError;
use super::header::{
    CHUNK_LOG2_DEFAULT, CHUNK_LOG2_MAX, CHUNK_LOG2_MIN, HEADER_LEN, Header, KdfParams,
    NONCE_PREFIX_LEN, SALT_LEN, TAG_LEN, WRAP_AAD_LEN, WRAPPED_KEY_LEN,
};
use super::keys::{self, FileKeys, SecretKey, chunk_nonce};
use super::metadata::{Metadata, seal_metadata};

/// Sealed payload gathered before one write (and one hand-over to the hashing thread).
const BATCH_BYTES: usize = 1 << 20;

/// Batches queued for the hashing thread; with the one being hashed and the one being filled,
/// this bounds the writer's memory to a few MiB whatever the input size.
const PIPELINE_DEPTH: usize = 3;

/// How to seal.
#[derive(Clone, Debug)]
pub struct SealParams {
    /// Argon2id cost; use [`KdfParams::DEFAULT`] outside tests.
    pub kdf: KdfParams,
    /// log2 of the plaintext chunk size (10..=24; 16 = 64 KiB).
    pub chunk_log2: u8,
    /// Hash on a second thread while this one encrypts and writes.
    pub pipelined: bool,
}

impl Default for SealParams {
    fn default() -> Self {
        SealParams {
            kdf: KdfParams::DEFAULT,
            chunk_log2: CHUNK_LOG2_DEFAULT,
            pipelined: true,
        }
    }
}

/// What a finished container is: the receipt's hash and sizes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealSummary {
    /// SHA-256 of every container byte (what `sha256sum` prints for the file).
    pub sha256: [u8; 32],
    /// Container size in bytes.
    pub bytes: u64,
    /// Number of payload chunks.
    pub chunks: u64,
    /// Plaintext bytes sealed.
    pub plaintext_bytes: u64,
}

/// The hashing thread: takes written batches in order, hands the emptied buffers back.
struct HashThread {
    jobs: Option<mpsc::SyncSender<Vec<u8>>>,
    spare: mpsc::Receiver<Vec<u8>>,
    worker: Option<JoinHandle<Sha256>>,
}

impl HashThread {
    fn start(mut hasher: Sha256) -> Result<HashThread, SealError> {
        let (jobs, jobs_rx) = mpsc::sync_channel::<Vec<u8>>(PIPELINE_DEPTH);
        let (spare_tx, spare) = mpsc::channel();
        let worker = std::thread::Builder::new()
            .name("seal-sha256".into())
            .spawn(move || {
                for mut batch in jobs_rx {
                    hasher.update(&batch);
                    batch.clear();
                    // The writer may be gone already (it dropped after an error): fine.
                    let _ = spare_tx.send(batch);
                }
                hasher
            })?;
        Ok(HashThread {
            jobs: Some(jobs),
            spare,
            worker: Some(worker),
        })
    }

    /// Waits for every queued batch to be hashed; returns the hash state.
    fn finish(&mut self) -> Result<Sha256, SealError> {
        self.jobs = None;
        self.worker
            .take()
            .ok_or(SealError::WorkerLost)?
            .join()
            .map_err(|_| SealError::WorkerLost)
    }
}

impl Drop for HashThread {
    fn drop(&mut self) {
        self.jobs = None;
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
    }
}

enum Hashing {
    Inline(Sha256),
    Thread(HashThread),
}

/// Streaming writer of a sealed container. Call [`SealWriter::finish`]: without it the
/// container has no final chunk and every reader reports it truncated.
pub struct SealWriter<W: Write> {
    /// Always `Some` until `finish_into_inner` takes it.
    inner: Option<W>,
    /// Container bytes handed to `inner` so far.
    bytes: u64,
    hashing: Hashing,
    keys: Box<FileKeys>,
    prefix: [u8; NONCE_PREFIX_LEN],
    chunk_size: usize,
    /// Sealed chunks (`..open_at`) followed by the open plaintext chunk (`open_at..`).
    batch: Vec<u8>,
    open_at: usize,
    /// Capacity of a batch: a whole number of sealed chunks, at least one.
    batch_cap: usize,
    next_index: u64,
    plaintext_bytes: u64,
}

impl<W: Write> SealWriter<W> {
    /// Starts a container: derives the key-encryption key from `password` (Argon2id with
    /// `params.kdf`, the slow step), draws a random file key, writes header and metadata.
    pub fn new(
        inner: W,
        password: &[u8],
        metadata: &Metadata,
        params: &SealParams,
    ) -> Result<SealWriter<W>, SealError> {
        let mut salt = [0u8; SALT_LEN];
        let mut prefix = [0u8; NONCE_PREFIX_LEN];
        let mut file_key = Zeroizing::new([0u8; 32]);
        OsRng.fill_bytes(&mut salt);
        OsRng.fill_bytes(&mut prefix);
        OsRng.fill_bytes(file_key.as_mut());
        Self::new_with_secrets(inner, password, metadata, params, salt, prefix, &file_key)
    }

    /// Like [`SealWriter::new`] with caller-chosen salt, nonce prefix and file key.
    /// Only for reproducible test vectors: reusing these values breaks the construction.
    #[doc(hidden)]
    pub fn new_with_secrets(
        inner: W,
        password: &[u8],
        metadata: &Metadata,
        params: &SealParams,
        salt: [u8; SALT_LEN],
        nonce_prefix: [u8; NONCE_PREFIX_LEN],
        file_key: &SecretKey,
    ) -> Result<SealWriter<W>, SealError> {
        params.kdf.check()?;
        if !(CHUNK_LOG2_MIN..=CHUNK_LOG2_MAX).contains(&params.chunk_log2) {
            return Err(SealError::InvalidRequest {
                reason: format!(
                    "chunk size 2^{} outside 2^{CHUNK_LOG2_MIN}..2^{CHUNK_LOG2_MAX}",
                    params.chunk_log2
                ),
            });
        }
        if password.is_empty() {
            return Err(SealError::InvalidRequest {
                reason: "empty password".into(),
            });
        }
        let json = metadata.to_json()?;
        let mut header = Header {
            chunk_log2: params.chunk_log2,
            kdf: params.kdf,
            salt,
            nonce_prefix,
            metadata_len: (json.len() + TAG_LEN) as u32,
            wrapped_key: [0; WRAPPED_KEY_LEN],
        };
        let kek = keys::kek(password, &header)?;
        let prefix_bytes = header.to_bytes();
        header.wrapped_key = keys::wrap(&kek, file_key, &prefix_bytes[..WRAP_AAD_LEN]);
        let header_bytes: [u8; HEADER_LEN] = header.to_bytes();
        let file_keys = FileKeys::derive(file_key, &header_bytes);
        let meta_ct = seal_metadata(&file_keys, &json);

        let mut inner = inner;
        let mut hasher = Sha256::new();
        for part in [&header_bytes[..], &meta_ct[..]] {
            inner.write_all(part)?;
            hasher.update(part);
        }
        let bytes = (header_bytes.len() + meta_ct.len()) as u64;
        let chunk_size = header.chunk_size();
        let ct_size = chunk_size + TAG_LEN;
        let batch_cap = (BATCH_BYTES / ct_size).max(1) * ct_size;
        let hashing = if params.pipelined {
            Hashing::Thread(HashThread::start(hasher)?)
        } else {
            Hashing::Inline(hasher)
        };
        Ok(SealWriter {
            inner: Some(inner),
            bytes,
            hashing,
            prefix: file_keys.nonce_prefix(),
            keys: Box::new(file_keys),
            chunk_size,
            batch: Vec::with_capacity(batch_cap),
            open_at: 0,
            batch_cap,
            next_index: 0,
            plaintext_bytes: 0,
        })
    }

    /// Seals the open chunk in place; writes the batch when no further chunk fits (or `last`).
    fn seal_chunk(&mut self, last: bool) -> Result<(), SealError> {
        let index = u32::try_from(self.next_index).map_err(|_| SealError::TooLarge)?;
        self.next_index += 1;
        let nonce = chunk_nonce(&self.prefix, index, last);
        let tag = self
            .keys
            .payload_cipher()
            .seal(nonce, &mut self.batch[self.open_at..]);
        self.batch.extend_from_slice(&tag);
        self.open_at = self.batch.len();
        if last || self.batch.len() + self.chunk_size + TAG_LEN > self.batch_cap {
            self.write_sealed()?;
        }
        Ok(())
    }

    /// Writes the sealed chunks of the batch and hashes them (here or on the hashing thread);
    /// the open chunk's plaintext, if any, starts the next batch.
    fn write_sealed(&mut self) -> Result<(), SealError> {
        if self.open_at == 0 {
            return Ok(());
        }
        let sealed = &self.batch[..self.open_at];
        self.inner
            .as_mut()
            .ok_or(SealError::WorkerLost)?
            .write_all(sealed)?;
        self.bytes += sealed.len() as u64;
        match &mut self.hashing {
            Hashing::Inline(h) => {
                h.update(sealed);
                self.batch.drain(..self.open_at);
            }
            Hashing::Thread(t) => {
                let mut next = t
                    .spare
                    .try_recv()
                    .unwrap_or_else(|_| Vec::with_capacity(self.batch_cap));
                next.extend_from_slice(&self.batch[self.open_at..]);
                let mut full = std::mem::replace(&mut self.batch, next);
                full.truncate(self.open_at);
                let jobs = t.jobs.as_ref().ok_or(SealError::WorkerLost)?;
                jobs.send(full).map_err(|_| SealError::WorkerLost)?;
            }
        }
        self.open_at = 0;
        Ok(())
    }

    fn push(&mut self, mut data: &[u8]) -> Result<(), SealError> {
        while !data.is_empty() {
            let open = self.batch.len() - self.open_at;
            if open == self.chunk_size {
                self.seal_chunk(false)?;
                continue;
            }
            let take = (self.chunk_size - open).min(data.len());
            self.batch.extend_from_slice(&data[..take]);
            self.plaintext_bytes += take as u64;
            data = &data[take..];
        }
        Ok(())
    }

    /// Writes the final chunk, flushes, and returns the summary and the inner writer.
    pub fn finish_into_inner(mut self) -> Result<(SealSummary, W), SealError> {
        self.seal_chunk(true)?;
        self.inner_mut()?.flush()?;
        let hasher = match &mut self.hashing {
            Hashing::Inline(h) => h.clone(),
            Hashing::Thread(t) => t.finish()?,
        };
        let summary = SealSummary {
            sha256: hasher.finalize().into(),
            bytes: self.bytes,
            chunks: self.next_index,
            plaintext_bytes: self.plaintext_bytes,
        };
        let inner = self.inner.take().ok_or(SealError::WorkerLost)?;
        Ok((summary, inner))
    }

    fn inner_mut(&mut self) -> Result<&mut W, SealError> {
        self.inner.as_mut().ok_or(SealError::WorkerLost)
    }

    /// Writes the final chunk and flushes. Mandatory: see the type's documentation.
    pub fn finish(self) -> Result<SealSummary, SealError> {
        self.finish_into_inner().map(|(s, _)| s)
    }
}

impl<W: Write> Write for SealWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.push(buf).map_err(SealError::into_io)?;
        Ok(buf.len())
    }

    /// Writes the chunks sealed so far and flushes the inner writer. Buffered plaintext (up to
    /// one chunk) stays until the chunk is full or [`SealWriter::finish`] runs: a chunk cannot
    /// be sealed before its end is known.
    fn flush(&mut self) -> std::io::Result<()> {
        self.write_sealed().map_err(SealError::into_io)?;
        self.inner_mut().map_err(SealError::into_io)?.flush()
    }
}

impl<W: Write> Drop for SealWriter<W> {
    /// Without `finish`, still writes the chunks sealed so far (as `BufWriter` does), so an
    /// abandoned container reads as truncated after its last complete chunk. Errors are
    /// ignored here, as in `BufWriter`.
    fn drop(&mut self) {
        if self.inner.is_some() {
            let _ = self.write_sealed();
        }
    }
}
