//! Every way a sealed file can be damaged is rejected, with the error that names it: every
//! single-byte change (exhaustive and property-based), truncation at every chunk boundary,
//! swapped and duplicated chunks, appended bytes, and forged header fields.

use std::io::{Cursor, Write};

use proptest::prelude::*;
use scelle::seal::{
    FileKeys, HEADER_LEN, KdfParams, Metadata, SealError, SealFile, SealParams, SealReader,
    SealWriter, TAG_LEN, inspect, read_header,
};

const PW: &[u8] = b"test-password-123!";
const CHUNK: usize = 1024;
const CT: usize = CHUNK + TAG_LEN;

fn meta() -> Metadata {
    Metadata {
        name: "cam.mp4".into(),
        media_type: "video/mp4".into(),
        created: "2026-11-23T09:00:00Z".into(),
        case_id: None,
    }
}

/// A container of `len` plaintext bytes in 1 KiB chunks, and where its payload starts.
fn sealed(len: usize) -> (Vec<u8>, usize) {
    let params = SealParams {
        kdf: KdfParams::MINIMUM,
        chunk_log2: 10,
        pipelined: false,
    };
    let mut w = SealWriter::new(Vec::new(), PW, &meta(), &params).unwrap();
    let plain: Vec<u8> = (0..len).map(|i| i as u8).collect();
    w.write_all(&plain).unwrap();
    let out = w.finish_into_inner().unwrap().1;
    let (header, _) = read_header(&mut Cursor::new(&out)).unwrap();
    (out, header.payload_offset() as usize)
}

fn keys_for(file: &[u8]) -> FileKeys {
    let (header, _) = read_header(&mut Cursor::new(file)).unwrap();
    FileKeys::unlock(&header, PW).unwrap()
}

/// Reads the whole stream; returns the first error.
fn read_all(r: Result<SealReader<Cursor<&[u8]>>, SealError>) -> Result<u64, SealError> {
    r?.verify_all()
}

fn open_with_password(file: &[u8]) -> Result<u64, SealError> {
    read_all(SealReader::new(Cursor::new(file), PW))
}

fn open_with_keys(file: &[u8], keys: &FileKeys) -> Result<u64, SealError> {
    read_all(SealReader::with_keys(Cursor::new(file), keys.clone()))
}

/// The error a change at `pos` must produce when the header is intact.
fn check_body_flip(file: &[u8], payload: usize, pos: usize, err: SealError) {
    if pos < payload {
        assert!(
            matches!(err, SealError::MetadataTampered),
            "pos {pos}: {err:?}"
        );
    } else {
        let chunk = ((pos - payload) / CT) as u64;
        assert!(
            matches!(err, SealError::Tampered { chunk: c } if c == chunk),
            "pos {pos} (chunk {chunk}) of {}: {err:?}",
            file.len()
        );
    }
}

#[test]
fn every_single_byte_flip_is_rejected() {
    // Three chunks: two full, one partial.
    let (file, payload) = sealed(2 * CHUNK + 100);
    let keys = keys_for(&file);
    open_with_keys(&file, &keys).unwrap();
    for pos in 0..file.len() {
        let mut bad = file.clone();
        bad[pos] ^= 0x01;
        if pos < HEADER_LEN {
            // The header is authenticated through the key wrap: the password path must fail.
            let err = open_with_password(&bad).unwrap_err();
            assert!(
                matches!(
                    err,
                    SealError::NotAContainer
                        | SealError::UnknownVersion { .. }
                        | SealError::MalformedHeader { .. }
                        | SealError::KdfOutOfBounds { .. }
                        | SealError::WrongPassword
                ),
                "pos {pos}: {err:?}"
            );
        } else {
            let err = open_with_keys(&bad, &keys).unwrap_err();
            check_body_flip(&file, payload, pos, err);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Any non-zero change of any byte after the header names the chunk that holds it.
    #[test]
    fn any_byte_change_names_its_chunk(frac in 0.0f64..1.0, mask in 1u8..=255) {
        let (file, payload) = sealed(3 * CHUNK + 7);
        let keys = keys_for(&file);
        let pos = HEADER_LEN + ((file.len() - HEADER_LEN) as f64 * frac) as usize;
        let pos = pos.min(file.len() - 1);
        let mut bad = file.clone();
        bad[pos] ^= mask;
        let err = open_with_keys(&bad, &keys).unwrap_err();
        check_body_flip(&file, payload, pos, err);
        // Random access sees the same damage in the same chunk, and only there.
        if pos >= payload {
            let damaged = ((pos - payload) / CT) as u64;
            let mut f = SealFile::with_keys(Cursor::new(&bad), keys.clone()).unwrap();
            for i in 0..f.chunk_count() {
                let r = f.read_chunk(i);
                prop_assert_eq!(r.is_err(), i == damaged, "chunk {}: {:?}", i, r.err());
            }
        }
    }
}

#[test]
fn truncation_at_every_chunk_boundary_is_reported() {
    let (file, payload) = sealed(4 * CHUNK + 10);
    let keys = keys_for(&file);
    for k in 0..5 {
        let cut = &file[..payload + k * CT];
        let err = open_with_keys(cut, &keys).unwrap_err();
        assert!(
            matches!(err, SealError::Truncated { after_chunk } if after_chunk == k as u64),
            "cut after {k} chunks: {err:?}"
        );
    }
    // Cut inside the header or the metadata.
    for cut in [0, 5, 50, HEADER_LEN - 1, HEADER_LEN, payload - 1] {
        assert!(open_with_password(&file[..cut]).is_err(), "cut at {cut}");
        assert!(inspect(Cursor::new(&file[..cut])).is_err(), "cut at {cut}");
    }
    // Cut inside a chunk: that chunk fails.
    let err = open_with_keys(&file[..payload + CT + 100], &keys).unwrap_err();
    assert!(matches!(err, SealError::Tampered { chunk: 1 }), "{err:?}");
}

#[test]
fn truncation_when_the_final_chunk_is_full() {
    let (file, payload) = sealed(3 * CHUNK);
    let keys = keys_for(&file);
    let err = open_with_keys(&file[..payload + 2 * CT], &keys).unwrap_err();
    assert!(
        matches!(err, SealError::Truncated { after_chunk: 2 }),
        "{err:?}"
    );
}

fn chunk(file: &[u8], payload: usize, i: usize) -> &[u8] {
    &file[payload + i * CT..payload + (i + 1) * CT]
}

#[test]
fn swapped_chunks_are_reported_as_reordered() {
    let (file, payload) = sealed(4 * CHUNK + 10);
    let keys = keys_for(&file);
    let mut bad = file[..payload].to_vec();
    for i in [0, 2, 1, 3] {
        bad.extend_from_slice(chunk(&file, payload, i));
    }
    bad.extend_from_slice(&file[payload + 4 * CT..]);
    let err = open_with_keys(&bad, &keys).unwrap_err();
    assert!(
        matches!(err, SealError::Reordered { chunk: 1, found: 2 }),
        "{err:?}"
    );
}

#[test]
fn duplicated_chunks_are_reported() {
    let (file, payload) = sealed(4 * CHUNK + 10);
    let keys = keys_for(&file);
    // Chunk 1 copied over chunk 2.
    let mut over = file.clone();
    over[payload + 2 * CT..payload + 3 * CT].copy_from_slice(chunk(&file, payload, 1));
    let err = open_with_keys(&over, &keys).unwrap_err();
    assert!(
        matches!(
            err,
            SealError::Duplicated {
                chunk: 2,
                copy_of: 1
            }
        ),
        "{err:?}"
    );
    // Chunk 0 inserted a second time.
    let mut inserted = file[..payload + CT].to_vec();
    inserted.extend_from_slice(&file[payload..]);
    let err = open_with_keys(&inserted, &keys).unwrap_err();
    assert!(
        matches!(
            err,
            SealError::Duplicated {
                chunk: 1,
                copy_of: 0
            }
        ),
        "{err:?}"
    );
}

#[test]
fn appended_bytes_are_rejected() {
    // Final chunk full: named as trailing data.
    let (file, _) = sealed(2 * CHUNK);
    let keys = keys_for(&file);
    for extra in [&b"x"[..], &[0u8; 16], &[0u8; CT]] {
        let mut bad = file.clone();
        bad.extend_from_slice(extra);
        let err = open_with_keys(&bad, &keys).unwrap_err();
        assert!(
            matches!(err, SealError::TrailingData { after_chunk: 2 }),
            "{} extra: {err:?}",
            extra.len()
        );
    }
    // Final chunk partial: the appended bytes land in it and it fails.
    let (file, _) = sealed(2 * CHUNK + 5);
    let keys = keys_for(&file);
    let mut bad = file.clone();
    bad.push(0);
    let err = open_with_keys(&bad, &keys).unwrap_err();
    assert!(matches!(err, SealError::Tampered { chunk: 2 }), "{err:?}");
    // A whole extra chunk's worth after a partial final chunk.
    let mut bad = file.clone();
    bad.extend_from_slice(&[0u8; 2 * CT]);
    assert!(open_with_keys(&bad, &keys).is_err());
}

#[test]
fn forged_header_fields_are_refused_before_any_work() {
    let (file, _) = sealed(10);
    let set = |off: usize, bytes: &[u8]| {
        let mut f = file.clone();
        f[off..off + bytes.len()].copy_from_slice(bytes);
        f
    };
    let err = open_with_password(&set(8, &2u16.to_le_bytes())).unwrap_err();
    assert!(
        matches!(err, SealError::UnknownVersion { found: 2 }),
        "{err:?}"
    );
    let err = open_with_password(&set(0, b"GARBAGE!")).unwrap_err();
    assert!(matches!(err, SealError::NotAContainer), "{err:?}");
    // 1 TiB of Argon2 memory: refused instantly, not attempted.
    let err = open_with_password(&set(12, &(1u32 << 30).to_le_bytes())).unwrap_err();
    assert!(matches!(err, SealError::KdfOutOfBounds { .. }), "{err:?}");
    let err = open_with_password(&set(12, &1024u32.to_le_bytes())).unwrap_err();
    assert!(matches!(err, SealError::KdfOutOfBounds { .. }), "{err:?}");
    let err = open_with_password(&set(16, &1000u32.to_le_bytes())).unwrap_err();
    assert!(matches!(err, SealError::KdfOutOfBounds { .. }), "{err:?}");
    let err = open_with_password(&set(20, &0u32.to_le_bytes())).unwrap_err();
    assert!(matches!(err, SealError::KdfOutOfBounds { .. }), "{err:?}");
    let err = open_with_password(&set(10, &[40])).unwrap_err();
    assert!(matches!(err, SealError::MalformedHeader { .. }), "{err:?}");
    // The structure check refuses them too, without a password.
    assert!(matches!(
        inspect(Cursor::new(&set(16, &1000u32.to_le_bytes()))).unwrap_err(),
        SealError::KdfOutOfBounds { .. }
    ));
}
