//! The streaming writer: plaintext in through `std::io::Write`, container bytes out, never a
//! seek back, and the SHA-256 of every byte written (the receipt's hash) computed on the way.
//!
//! A chunk is only encrypted once the writer knows whether it is the last one, so the writer
//! holds at most one plaintext chunk. With `SealParams::pipelined` a worker thread encrypts
//! while the calling thread hashes and writes the previous chunks (AES-GCM and SHA-256 each use
//! about one core at these speeds; `examples/seal_bench.rs` measures the gain).

use std::io::Write;
use std::sync::mpsc;
use std::thread::JoinHandle;

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::AeadInPlace;
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

/// Chunks in flight between the caller and the encryption thread.
const PIPELINE_DEPTH: usize = 4;

/// How to seal.
#[derive(Clone, Debug)]
pub struct SealParams {
    /// Argon2id cost; use [`KdfParams::DEFAULT`] outside tests.
    pub kdf: KdfParams,
    /// log2 of the plaintext chunk size (10..=24; 16 = 64 KiB).
    pub chunk_log2: u8,
    /// Encrypt on a second thread while this one hashes and writes.
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

/// Where ciphertext goes: the inner writer, with a running hash and count.
struct Sink<W> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W: Write> Sink<W> {
    fn put(&mut self, data: &[u8]) -> Result<(), SealError> {
        self.inner.write_all(data)?;
        self.hasher.update(data);
        self.bytes += data.len() as u64;
        Ok(())
    }
}

struct Job {
    buf: Vec<u8>,
    index: u32,
    last: bool,
}

/// The encryption thread and its channels.
struct Pipeline {
    jobs: Option<mpsc::SyncSender<Job>>,
    done: mpsc::Receiver<Vec<u8>>,
    worker: Option<JoinHandle<()>>,
    in_flight: usize,
    spare: Vec<Vec<u8>>,
}

impl Pipeline {
    fn start(cipher: Aes256Gcm, prefix: [u8; NONCE_PREFIX_LEN]) -> Pipeline {
        let (jobs, jobs_rx) = mpsc::sync_channel::<Job>(PIPELINE_DEPTH);
        let (done_tx, done) = mpsc::channel();
        let worker = std::thread::Builder::new()
            .name("seal-encrypt".into())
            .spawn(move || {
                for mut job in jobs_rx {
                    encrypt_chunk(&cipher, &prefix, job.index, job.last, &mut job.buf);
                    if done_tx.send(job.buf).is_err() {
                        break;
                    }
                }
            })
            .ok();
        Pipeline {
            jobs: Some(jobs),
            done,
            worker,
            in_flight: 0,
            spare: Vec::new(),
        }
    }
}

impl Drop for Pipeline {
    fn drop(&mut self) {
        self.jobs = None;
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
    }
}

fn encrypt_chunk(
    cipher: &Aes256Gcm,
    prefix: &[u8; NONCE_PREFIX_LEN],
    index: u32,
    last: bool,
    buf: &mut Vec<u8>,
) {
    let tag = cipher
        .encrypt_in_place_detached(&chunk_nonce(prefix, index, last), &[], buf)
        .expect("chunk size is far below the AES-GCM limit");
    buf.extend_from_slice(&tag);
}

enum Engine {
    Inline(Box<FileKeys>),
    Pipelined(Pipeline),
}

/// Streaming writer of a sealed container. Call [`SealWriter::finish`]: without it the
/// container has no final chunk and every reader reports it truncated.
pub struct SealWriter<W: Write> {
    sink: Sink<W>,
    engine: Engine,
    chunk_size: usize,
    pending: Vec<u8>,
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

        let mut sink = Sink {
            inner,
            hasher: Sha256::new(),
            bytes: 0,
        };
        sink.put(&header_bytes)?;
        sink.put(&meta_ct)?;
        let chunk_size = header.chunk_size();
        let engine = if params.pipelined {
            Engine::Pipelined(Pipeline::start(
                file_keys.payload_cipher().clone(),
                file_keys.nonce_prefix(),
            ))
        } else {
            Engine::Inline(Box::new(file_keys))
        };
        Ok(SealWriter {
            sink,
            engine,
            chunk_size,
            pending: Vec::with_capacity(chunk_size + TAG_LEN),
            next_index: 0,
            plaintext_bytes: 0,
        })
    }

    /// Encrypts the pending chunk and queues or writes it.
    fn emit(&mut self, last: bool) -> Result<(), SealError> {
        let index = u32::try_from(self.next_index).map_err(|_| SealError::TooLarge)?;
        self.next_index += 1;
        match &mut self.engine {
            Engine::Inline(keys) => {
                encrypt_chunk(
                    keys.payload_cipher(),
                    &keys.nonce_prefix(),
                    index,
                    last,
                    &mut self.pending,
                );
                self.sink.put(&self.pending)?;
                self.pending.clear();
            }
            Engine::Pipelined(p) => {
                let fresh = p
                    .spare
                    .pop()
                    .unwrap_or_else(|| Vec::with_capacity(self.chunk_size + TAG_LEN));
                let buf = std::mem::replace(&mut self.pending, fresh);
                let jobs = p.jobs.as_ref().ok_or(SealError::WorkerLost)?;
                jobs.send(Job { buf, index, last })
                    .map_err(|_| SealError::WorkerLost)?;
                p.in_flight += 1;
                let keep = if last { 0 } else { PIPELINE_DEPTH - 1 };
                while p.in_flight > keep {
                    let mut ct = p.done.recv().map_err(|_| SealError::WorkerLost)?;
                    p.in_flight -= 1;
                    self.sink.put(&ct)?;
                    ct.clear();
                    p.spare.push(ct);
                }
            }
        }
        Ok(())
    }

    fn push(&mut self, mut data: &[u8]) -> Result<(), SealError> {
        while !data.is_empty() {
            if self.pending.len() == self.chunk_size {
                self.emit(false)?;
            }
            let take = (self.chunk_size - self.pending.len()).min(data.len());
            self.pending.extend_from_slice(&data[..take]);
            self.plaintext_bytes += take as u64;
            data = &data[take..];
        }
        Ok(())
    }

    /// Writes the final chunk, flushes, and returns the summary and the inner writer.
    pub fn finish_into_inner(mut self) -> Result<(SealSummary, W), SealError> {
        self.emit(true)?;
        self.sink.inner.flush()?;
        let summary = SealSummary {
            sha256: self.sink.hasher.clone().finalize().into(),
            bytes: self.sink.bytes,
            chunks: self.next_index,
            plaintext_bytes: self.plaintext_bytes,
        };
        drop(self.engine);
        Ok((summary, self.sink.inner))
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

    /// Flushes the inner writer. Buffered plaintext (up to one chunk) stays until the chunk is
    /// full or [`SealWriter::finish`] runs: a chunk cannot be sealed before its end is known.
    fn flush(&mut self) -> std::io::Result<()> {
        self.sink.inner.flush()
    }
}
