//! Round trips through the container at the sizes that matter (empty, one byte, exactly one
//! chunk, one chunk + 1, several chunks, 1 GiB streamed), through every reading path: the
//! streaming reader, its `Read` impl, random access to single chunks, and the structure check.

use std::io::{Cursor, Read, Write};

use scelle::seal::{
    FileKeys, KdfParams, Metadata, SealError, SealFile, SealParams, SealReader, SealWriter,
    inspect, read_header,
};
use sha2::{Digest, Sha256};

const PW: &[u8] = b"test-password-123!";

fn params(chunk_log2: u8, pipelined: bool) -> SealParams {
    SealParams {
        kdf: KdfParams::MINIMUM,
        chunk_log2,
        pipelined,
    }
}

fn meta() -> Metadata {
    Metadata {
        name: "cam1.mp4".into(),
        media_type: "video/mp4".into(),
        created: "2026-11-23T09:00:00Z".into(),
        case_id: Some("2026-0042".into()),
    }
}

fn data(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 + i / 251) as u8).collect()
}

fn seal(plain: &[u8], p: &SealParams) -> Vec<u8> {
    let mut w = SealWriter::new(Vec::new(), PW, &meta(), p).unwrap();
    // Odd-sized writes exercise chunk boundaries inside a write.
    for part in plain.chunks(777) {
        w.write_all(part).unwrap();
    }
    let (summary, out) = w.finish_into_inner().unwrap();
    assert_eq!(summary.bytes, out.len() as u64);
    assert_eq!(summary.sha256, <[u8; 32]>::from(Sha256::digest(&out)));
    assert_eq!(summary.plaintext_bytes, plain.len() as u64);
    out
}

fn check_all_paths(plain: &[u8], sealed: &[u8], chunk: usize) {
    // Stream, chunk by chunk.
    let mut r = SealReader::new(Cursor::new(sealed), PW).unwrap();
    assert_eq!(r.metadata(), &meta());
    let mut got = Vec::new();
    while let Some(c) = r.next_chunk().unwrap() {
        got.extend_from_slice(c);
    }
    assert_eq!(got, plain);
    let expected_chunks = plain.len().div_ceil(chunk).max(1) as u64;
    assert_eq!(r.chunks_read(), expected_chunks);

    // Stream, through Read with small buffers.
    let mut r = SealReader::new(Cursor::new(sealed), PW).unwrap();
    let mut got = Vec::new();
    let mut small = [0u8; 100];
    loop {
        let n = r.read(&mut small).unwrap();
        if n == 0 {
            break;
        }
        got.extend_from_slice(&small[..n]);
    }
    assert_eq!(got, plain);

    // Random access, chunks in reverse order.
    let mut f = SealFile::open(Cursor::new(sealed), PW).unwrap();
    assert_eq!(f.chunk_count(), expected_chunks);
    assert_eq!(f.plaintext_len(), plain.len() as u64);
    for i in (0..f.chunk_count()).rev() {
        let c = f.read_chunk(i).unwrap();
        let start = i as usize * chunk;
        assert_eq!(c, plain[start..(start + chunk).min(plain.len())]);
    }

    // Structure only.
    let s = inspect(Cursor::new(sealed)).unwrap();
    assert_eq!(s.chunks, expected_chunks);
    assert_eq!(s.bytes, sealed.len() as u64);
    assert_eq!(s.sha256, <[u8; 32]>::from(Sha256::digest(sealed)));
}

#[test]
fn round_trip_at_chunk_boundaries() {
    let chunk = 1024;
    for len in [0, 1, chunk - 1, chunk, chunk + 1, 3 * chunk, 3 * chunk + 5] {
        for pipelined in [false, true] {
            let plain = data(len);
            let sealed = seal(&plain, &params(10, pipelined));
            check_all_paths(&plain, &sealed, chunk);
        }
    }
}

#[test]
fn round_trip_default_chunk_size() {
    let chunk = 64 * 1024;
    for len in [0, 1, chunk, chunk + 1] {
        let plain = data(len);
        let sealed = seal(&plain, &params(16, true));
        check_all_paths(&plain, &sealed, chunk);
    }
}

#[test]
fn pipelined_and_inline_writers_agree() {
    // Same secrets give byte-identical containers whichever engine encrypts.
    let plain = data(10_000);
    let key = zeroize::Zeroizing::new([7u8; 32]);
    let mut outs = Vec::new();
    for pipelined in [false, true] {
        let mut w = SealWriter::new_with_secrets(
            Vec::new(),
            PW,
            &meta(),
            &params(10, pipelined),
            [1; 16],
            [2; 7],
            &key,
        )
        .unwrap();
        w.write_all(&plain).unwrap();
        outs.push(w.finish_into_inner().unwrap().1);
    }
    assert_eq!(outs[0], outs[1]);
}

#[test]
fn wrong_password_is_reported_as_such() {
    let sealed = seal(b"secret", &params(10, false));
    let err = SealReader::new(Cursor::new(&sealed), b"not-the-password")
        .err()
        .unwrap();
    assert!(matches!(err, SealError::WrongPassword), "{err:?}");
    let err = SealFile::open(Cursor::new(&sealed), b"nope").err().unwrap();
    assert!(matches!(err, SealError::WrongPassword), "{err:?}");
}

#[test]
fn unlocked_keys_open_without_the_kdf_and_only_their_header() {
    let a = seal(b"first", &params(10, false));
    let b = seal(b"second", &params(10, false));
    let (header, _) = read_header(&mut Cursor::new(&a)).unwrap();
    let keys = FileKeys::unlock(&header, PW).unwrap();
    let mut r = SealReader::with_keys(Cursor::new(&a), keys.clone()).unwrap();
    assert_eq!(r.next_chunk().unwrap().unwrap(), b"first");
    let err = SealReader::with_keys(Cursor::new(&b), keys).err().unwrap();
    assert!(matches!(err, SealError::WrongPassword), "{err:?}");
}

#[test]
fn unfinished_writer_leaves_a_truncated_container() {
    let mut out = Vec::new();
    {
        let mut w = SealWriter::new(&mut out, PW, &meta(), &params(10, false)).unwrap();
        w.write_all(&data(3000)).unwrap();
        // dropped without finish()
    }
    let mut r = SealReader::new(Cursor::new(&out), PW).unwrap();
    let err = loop {
        match r.next_chunk() {
            Ok(Some(_)) => {}
            Ok(None) => panic!("an unfinished container must not read as complete"),
            Err(e) => break e,
        }
    };
    assert!(
        matches!(err, SealError::Truncated { after_chunk: 2 }),
        "{err:?}"
    );
}

/// Generated data in 1 MiB blocks, each stamped with its index.
struct Generator {
    block: Vec<u8>,
    index: u64,
    blocks: u64,
}

impl Generator {
    fn next(&mut self) -> Option<&[u8]> {
        if self.index == self.blocks {
            return None;
        }
        self.block[..8].copy_from_slice(&self.index.to_le_bytes());
        self.index += 1;
        Some(&self.block)
    }
}

#[test]
fn one_gib_streams_through_in_constant_memory() {
    let blocks = 1024u64;
    let (reader, writer) = std::io::pipe().unwrap();
    let producer = std::thread::spawn(move || {
        let mut g = Generator {
            block: data(1 << 20),
            index: 0,
            blocks,
        };
        let mut plain_hash = Sha256::new();
        let mut w = SealWriter::new(writer, PW, &meta(), &params(16, true)).unwrap();
        while let Some(b) = g.next() {
            plain_hash.update(b);
            w.write_all(b).unwrap();
        }
        let summary = w.finish().unwrap();
        (summary, <[u8; 32]>::from(plain_hash.finalize()))
    });
    let mut r = SealReader::new(std::io::BufReader::with_capacity(1 << 20, reader), PW).unwrap();
    let mut got_hash = Sha256::new();
    let mut got = 0u64;
    while let Some(c) = r.next_chunk().unwrap() {
        got_hash.update(c);
        got += c.len() as u64;
    }
    let (summary, plain_hash) = producer.join().unwrap();
    assert_eq!(got, blocks << 20);
    assert_eq!(summary.plaintext_bytes, blocks << 20);
    assert_eq!(summary.chunks, blocks * 16);
    assert_eq!(<[u8; 32]>::from(got_hash.finalize()), plain_hash);
}
