//! The ciphertext's SHA-256 taken while it is authenticated: a reader that hashes and counts
//! every byte read through it, placed under a [`super::SealReader`], so the bytes the reader
//! authenticates are the bytes the receipt's hash names, in one pass over the file. Used by
//! `scelle verify` and by the export's read-back.

use std::io::{self, Read};

use sha2::{Digest, Sha256};

/// Hashes (SHA-256) and counts what is read through it.
pub struct Hashing<R> {
    inner: R,
    hasher: Sha256,
    bytes: u64,
}

impl<R: Read> Hashing<R> {
    pub fn new(inner: R) -> Hashing<R> {
        Hashing {
            inner,
            hasher: Sha256::new(),
            bytes: 0,
        }
    }

    /// Reads what is left (a container's reader stops at its last chunk), then gives the
    /// SHA-256 of every byte read and their number.
    pub fn finish(mut self) -> io::Result<([u8; 32], u64)> {
        io::copy(&mut self, &mut io::sink())?;
        Ok((self.hasher.finalize().into(), self.bytes))
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_what_was_read_and_the_rest() {
        let data = vec![7u8; 100_000];
        let mut h = Hashing::new(&data[..]);
        let mut first = [0u8; 10];
        h.read_exact(&mut first).unwrap();
        let (sha, bytes) = h.finish().unwrap();
        assert_eq!(bytes, 100_000);
        assert_eq!(sha, <[u8; 32]>::from(Sha256::digest(&data)));
    }
}
