//! Read-ahead on a second thread for the container's input. Reading a large file is mostly the
//! kernel copying pages (half of `scelle open`'s CPU time in a profile, more than AES-GCM with
//! ring), so overlapping it with decryption lets `open` and `verify` use both cores. Bounded:
//! at most `DEPTH` blocks of `BLOCK` bytes wait, whatever the input size.

use std::io::{self, Read};
use std::sync::mpsc;

/// Bytes per block handed from the reading thread.
const BLOCK: usize = 1 << 20;
/// Blocks that may wait for the consumer.
const DEPTH: usize = 4;

/// A `Read` whose inner reader runs ahead on its own thread.
pub struct ReadAhead {
    blocks: mpsc::Receiver<io::Result<Vec<u8>>>,
    spare: mpsc::Sender<Vec<u8>>,
    current: Vec<u8>,
    pos: usize,
    done: bool,
}

impl ReadAhead {
    /// Starts the reading thread. It stops at the end of the input, at the first error (which
    /// the next `read` returns), or when this value is dropped.
    pub fn new<R: Read + Send + 'static>(mut inner: R) -> io::Result<ReadAhead> {
        let (tx, blocks) = mpsc::sync_channel(DEPTH);
        let (spare, spare_rx) = mpsc::channel::<Vec<u8>>();
        std::thread::Builder::new()
            .name("seal-read-ahead".into())
            .spawn(move || {
                loop {
                    let mut buf = spare_rx.try_recv().unwrap_or_default();
                    buf.resize(BLOCK, 0);
                    let mut n = 0;
                    let outcome = loop {
                        if n == BLOCK {
                            break Ok(());
                        }
                        match inner.read(&mut buf[n..]) {
                            Ok(0) => break Ok(()),
                            Ok(k) => n += k,
                            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                            Err(e) => break Err(e),
                        }
                    };
                    buf.truncate(n);
                    let last = n == 0 || outcome.is_err();
                    let msg = match outcome {
                        Ok(()) => Ok(buf),
                        // Bytes read before the error come first, then the error.
                        Err(e) if n > 0 => {
                            if tx.send(Ok(buf)).is_err() {
                                return;
                            }
                            Err(e)
                        }
                        Err(e) => Err(e),
                    };
                    if tx.send(msg).is_err() || last {
                        return;
                    }
                }
            })?;
        Ok(ReadAhead {
            blocks,
            spare,
            current: Vec::new(),
            pos: 0,
            done: false,
        })
    }
}

impl Read for ReadAhead {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        while self.pos == self.current.len() {
            if self.done {
                return Ok(0);
            }
            let next = match self.blocks.recv() {
                Ok(Ok(block)) => block,
                Ok(Err(e)) => {
                    self.done = true;
                    return Err(e);
                }
                Err(_) => {
                    self.done = true;
                    return Err(io::Error::other("the read-ahead thread stopped"));
                }
            };
            if next.is_empty() {
                self.done = true;
            }
            let used = std::mem::replace(&mut self.current, next);
            // The thread may have finished already: then the buffer is simply freed.
            let _ = self.spare.send(used);
            self.pos = 0;
        }
        let n = out.len().min(self.current.len() - self.pos);
        out[..n].copy_from_slice(&self.current[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 7 + i / 251) as u8).collect()
    }

    #[test]
    fn yields_exactly_the_input_whatever_the_read_sizes() {
        for len in [0, 1, BLOCK - 1, BLOCK, BLOCK + 1, 3 * BLOCK + BLOCK / 2] {
            let input = data(len);
            for step in [1usize, 4096, 65_552, 3 * BLOCK] {
                let mut r = ReadAhead::new(io::Cursor::new(input.clone())).unwrap();
                let mut got = Vec::new();
                let mut buf = vec![0u8; step];
                loop {
                    let n = r.read(&mut buf).unwrap();
                    if n == 0 {
                        break;
                    }
                    got.extend_from_slice(&buf[..n]);
                }
                assert_eq!(got.len(), input.len(), "len {len} step {step}");
                assert!(got == input, "len {len} step {step}");
                assert_eq!(r.read(&mut buf).unwrap(), 0);
            }
        }
    }

    /// Gives `good` bytes, then fails.
    struct Failing {
        good: usize,
    }

    impl Read for Failing {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            if self.good == 0 {
                return Err(io::Error::other("disk gone"));
            }
            let n = out.len().min(self.good);
            out[..n].fill(1);
            self.good -= n;
            Ok(n)
        }
    }

    #[test]
    fn an_error_comes_after_the_bytes_read_before_it() {
        let mut r = ReadAhead::new(Failing { good: 1000 }).unwrap();
        let mut got = Vec::new();
        let err = r.read_to_end(&mut got).unwrap_err();
        assert_eq!(got.len(), 1000);
        assert_eq!(err.to_string(), "disk gone");
    }
}
