//! Test vectors (`tests/vectors/`): each `NAME.scelle` with its `NAME.expect`. Every vector is
//! checked twice: by the library, and by a small independent decryptor written from
//! `docs/FORMAT.md` alone (so the spec and the code cannot drift apart).
//!
//! Regenerate with `SCELLE_WRITE_VECTORS=1 cargo test --test seal_vectors` (deterministic).

use std::collections::BTreeMap;
use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};

use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce, Tag};
use hkdf::Hkdf;
use scelle::seal::{KdfParams, Metadata, SealError, SealParams, SealReader, SealWriter};
use sha2::{Digest, Sha256};

const PASSWORD: &str = "vector-password-2026!";

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

fn kind(e: &SealError) -> &'static str {
    match e {
        SealError::NotAContainer => "not_a_container",
        SealError::UnknownVersion { .. } => "unknown_version",
        SealError::MalformedHeader { .. } => "malformed_header",
        SealError::KdfOutOfBounds { .. } => "kdf_out_of_bounds",
        SealError::WrongPassword => "wrong_password",
        SealError::MetadataTampered => "metadata_tampered",
        SealError::Truncated { .. } => "truncated",
        SealError::Tampered { .. } => "tampered",
        SealError::Reordered { .. } => "reordered",
        SealError::Duplicated { .. } => "duplicated",
        SealError::TrailingData { .. } => "trailing_data",
        _ => "other",
    }
}

fn chunk_of(e: &SealError) -> Option<(&'static str, u64)> {
    match *e {
        SealError::Truncated { after_chunk } | SealError::TrailingData { after_chunk } => {
            Some(("after_chunk", after_chunk))
        }
        SealError::Tampered { chunk }
        | SealError::Reordered { chunk, .. }
        | SealError::Duplicated { chunk, .. } => Some(("chunk", chunk)),
        _ => None,
    }
}

fn parse_expect(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// An implementation of the decryption in docs/FORMAT.md, independent of `scelle::seal`.
/// Returns the metadata JSON, the plaintext and the intermediate values, or a reason.
struct SpecOpened {
    metadata: Vec<u8>,
    plaintext: Vec<u8>,
    values: Vec<(&'static str, [u8; 32])>,
}

fn spec_open(file: &[u8], password: &[u8]) -> Result<SpecOpened, &'static str> {
    let le32 = |o: usize| u32::from_le_bytes(file[o..o + 4].try_into().unwrap());
    if file.len() < 100 || &file[..8] != b"SCELLE\r\n" {
        return Err("header");
    }
    if u16::from_le_bytes([file[8], file[9]]) != 1 {
        return Err("version");
    }
    let (log2, m, t, p) = (file[10], le32(12), le32(16), le32(20));
    let bounded = (10..=24).contains(&log2)
        && file[11] == 0
        && file[47] == 0
        && (8192..=4_194_304).contains(&m)
        && (1..=16).contains(&t)
        && (1..=16).contains(&p)
        && u64::from(m) * u64::from(t) <= 16_777_216
        && m / p >= 8;
    if !bounded {
        return Err("bounds");
    }
    let meta_len = le32(48) as usize;
    let mut stretched = [0u8; 32];
    argon2::Argon2::new(
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        argon2::Params::new(m, t, p, Some(32)).unwrap(),
    )
    .hash_password_into(password, &file[24..40], &mut stretched)
    .unwrap();
    let hkdf = |ikm: &[u8], salt: &[u8], info: &[u8]| {
        let mut out = [0u8; 32];
        Hkdf::<Sha256>::new(Some(salt), ikm)
            .expand(info, &mut out)
            .unwrap();
        out
    };
    let kek = hkdf(&stretched, b"", b"scelle v1 key wrap");
    let open = |key: &[u8; 32], nonce: [u8; 12], aad: &[u8], ct: &[u8]| {
        if ct.len() < 16 {
            return None;
        }
        let (body, tag) = ct.split_at(ct.len() - 16);
        let mut buf = body.to_vec();
        Aes256Gcm::new(key.into())
            .decrypt_in_place_detached(&Nonce::from(nonce), aad, &mut buf, Tag::from_slice(tag))
            .ok()
            .map(|()| buf)
    };
    let file_key: [u8; 32] = open(&kek, [0; 12], &file[..52], &file[52..100])
        .ok_or("wrap")?
        .try_into()
        .unwrap();
    let header_hash: [u8; 32] = Sha256::digest(&file[..100]).into();
    let meta_key = hkdf(&file_key, &header_hash, b"scelle v1 metadata");
    let payload_key = hkdf(&file_key, &header_hash, b"scelle v1 payload");
    let payload_at = 100 + meta_len;
    if file.len() < payload_at + 16 {
        return Err("length");
    }
    let metadata = open(&meta_key, [0; 12], &file[..100], &file[100..payload_at]).ok_or("meta")?;
    let ct = (1usize << log2) + 16;
    let payload = &file[payload_at..];
    let n = payload.len().div_ceil(ct);
    let mut plaintext = Vec::new();
    for i in 0..n {
        let last = i + 1 == n;
        let mut nonce = [0u8; 12];
        nonce[..7].copy_from_slice(&file[40..47]);
        nonce[7..11].copy_from_slice(&(i as u32).to_be_bytes());
        nonce[11] = u8::from(last);
        let c = &payload[i * ct..((i + 1) * ct).min(payload.len())];
        let pt = open(&payload_key, nonce, b"", c).ok_or("chunk")?;
        if last && pt.is_empty() && n > 1 {
            return Err("empty final chunk");
        }
        plaintext.extend_from_slice(&pt);
    }
    Ok(SpecOpened {
        metadata,
        plaintext,
        values: vec![
            ("stretched", stretched),
            ("kek", kek),
            ("file_key", file_key),
            ("header_hash", header_hash),
            ("meta_key", meta_key),
            ("payload_key", payload_key),
        ],
    })
}

fn lib_open(file: &[u8], password: &[u8]) -> Result<(Metadata, Vec<u8>), SealError> {
    let mut r = SealReader::new(Cursor::new(file), password)?;
    let mut out = Vec::new();
    while let Some(c) = r.next_chunk()? {
        out.extend_from_slice(c);
    }
    Ok((r.metadata().clone(), out))
}

#[test]
fn vectors_hold() {
    if std::env::var_os("SCELLE_WRITE_VECTORS").is_some() {
        write_vectors();
    }
    let mut seen = 0;
    let mut entries: Vec<_> = std::fs::read_dir(dir()).unwrap().flatten().collect();
    entries.sort_by_key(|e| e.path());
    for entry in entries {
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some("scelle") {
            continue;
        }
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let file = std::fs::read(&path).unwrap();
        let expect = parse_expect(&std::fs::read_to_string(path.with_extension("expect")).unwrap());
        let password = expect["password"].as_bytes();
        let outcome = expect["outcome"].as_str();
        let lib = lib_open(&file, password);
        let spec = spec_open(&file, password);
        if outcome == "ok" {
            assert!(
                !name.starts_with("fail_"),
                "{name}: fail_ vector expected ok"
            );
            let (meta, plain) = lib.unwrap_or_else(|e| panic!("{name}: {e:?}"));
            let spec = spec.unwrap_or_else(|e| panic!("{name}: spec decryptor: {e}"));
            let want_hash = &expect["plaintext_sha256"];
            assert_eq!(&hex::encode(Sha256::digest(&plain)), want_hash, "{name}");
            assert_eq!(
                &hex::encode(Sha256::digest(&spec.plaintext)),
                want_hash,
                "{name}"
            );
            assert_eq!(plain.len().to_string(), expect["plaintext_len"], "{name}");
            let json: Metadata = serde_json::from_str(&expect["metadata"]).unwrap();
            assert_eq!(meta, json, "{name}");
            assert_eq!(
                serde_json::from_slice::<Metadata>(&spec.metadata).unwrap(),
                json
            );
            for (k, v) in &spec.values {
                assert_eq!(&hex::encode(v), &expect[*k], "{name}: {k}");
            }
        } else {
            assert!(
                name.starts_with("fail_"),
                "{name}: failing vectors are named fail_*"
            );
            let err = lib
                .err()
                .unwrap_or_else(|| panic!("{name}: opened but must fail"));
            assert_eq!(kind(&err), outcome, "{name}: {err:?}");
            if let Some((key, n)) = chunk_of(&err)
                && let Some(want) = expect.get(key)
            {
                assert_eq!(&n.to_string(), want, "{name}: {key}");
            }
            assert!(spec.is_err(), "{name}: the spec decryptor opened it");
        }
        seen += 1;
    }
    assert!(seen >= 10, "only {seen} vectors found");
}

fn write_vectors() {
    let d = dir();
    std::fs::create_dir_all(&d).unwrap();
    let meta = Metadata {
        name: "cam-entree_2026-11-20T21-14.mp4".into(),
        media_type: "video/mp4".into(),
        created: "2026-11-23T09:00:00Z".into(),
        case_id: Some("2026-0042".into()),
    };
    let params = SealParams {
        kdf: KdfParams::MINIMUM,
        chunk_log2: 10,
        pipelined: false,
    };
    let seal = |plain: &[u8], seed: u8| {
        let key = zeroize::Zeroizing::new([seed; 32]);
        let mut w = SealWriter::new_with_secrets(
            Vec::new(),
            PASSWORD.as_bytes(),
            &meta,
            &params,
            [seed.wrapping_add(1); 16],
            [seed.wrapping_add(2); 7],
            &key,
        )
        .unwrap();
        w.write_all(plain).unwrap();
        w.finish_into_inner().unwrap().1
    };
    let plain = |len: usize| -> Vec<u8> { (0..len).map(|i| (i % 251) as u8).collect() };
    let put = |name: &str, file: &[u8], lines: &[(&str, String)]| {
        std::fs::write(d.join(format!("{name}.scelle")), file).unwrap();
        let mut text = format!("password: {PASSWORD}\n");
        for (k, v) in lines {
            text.push_str(&format!("{k}: {v}\n"));
        }
        std::fs::write(d.join(format!("{name}.expect")), text).unwrap();
    };
    let ok = |name: &str, p: &[u8], seed: u8| {
        let file = seal(p, seed);
        let spec = spec_open(&file, PASSWORD.as_bytes()).unwrap();
        let mut lines = vec![
            ("outcome", "ok".to_owned()),
            ("plaintext_len", p.len().to_string()),
            ("plaintext_sha256", hex::encode(Sha256::digest(p))),
            ("metadata", serde_json::to_string(&meta).unwrap()),
        ];
        for (k, v) in spec.values {
            lines.push((k, hex::encode(v)));
        }
        put(name, &file, &lines);
        file
    };
    ok("ok_empty", b"", 10);
    ok("ok_hello", b"hello, evidence\n", 20);
    ok("ok_one_chunk", &plain(1024), 30);
    let three = ok("ok_three_chunks", &plain(2 * 1024 + 300), 40);
    let fail = |name: &str, file: &[u8], outcome: &str, extra: &[(&str, String)]| {
        let mut lines = vec![("outcome", outcome.to_owned())];
        lines.extend(extra.iter().cloned());
        put(name, file, &lines);
    };
    let ct = 1024 + 16;
    let payload = three.len() - (2 * ct + 316);
    let chunk = |i: usize| three[payload + i * ct..payload + (i + 1) * ct].to_vec();
    let mut f = three.clone();
    f[payload + ct + 5] ^= 0x40;
    fail(
        "fail_tampered_chunk_1",
        &f,
        "tampered",
        &[("chunk", "1".into())],
    );
    fail(
        "fail_truncated_after_chunk_2",
        &three[..payload + 2 * ct],
        "truncated",
        &[("after_chunk", "2".into())],
    );
    let mut f = three[..payload].to_vec();
    f.extend(chunk(1));
    f.extend(chunk(0));
    f.extend_from_slice(&three[payload + 2 * ct..]);
    fail(
        "fail_swapped_chunks",
        &f,
        "reordered",
        &[("chunk", "0".into())],
    );
    let mut f = three[..payload + ct].to_vec();
    f.extend(chunk(0));
    f.extend_from_slice(&three[payload + ct..]);
    fail(
        "fail_duplicated_chunk",
        &f,
        "duplicated",
        &[("chunk", "1".into())],
    );
    let one = seal(&plain(1024), 30);
    let mut f = one.clone();
    f.extend_from_slice(b"appended");
    fail(
        "fail_trailing_data",
        &f,
        "trailing_data",
        &[("after_chunk", "1".into())],
    );
    let mut f = three.clone();
    f[8] = 2;
    fail("fail_unknown_version", &f, "unknown_version", &[]);
    let mut f = three.clone();
    f[12..16].copy_from_slice(&(64u32 * 1024 * 1024).to_le_bytes());
    fail("fail_kdf_memory_64gib", &f, "kdf_out_of_bounds", &[]);
    let mut f = three.clone();
    f[16..20].copy_from_slice(&1_000_000u32.to_le_bytes());
    fail("fail_kdf_passes", &f, "kdf_out_of_bounds", &[]);
    let mut f = three.clone();
    f[30] ^= 1;
    fail("fail_header_salt_changed", &f, "wrong_password", &[]);
    let mut f = three.clone();
    f[120] ^= 1;
    fail("fail_metadata_changed", &f, "metadata_tampered", &[]);
    fail(
        "fail_not_a_container",
        b"\x00\x00\x00\x18ftypisom",
        "not_a_container",
        &[],
    );
    // The right file with the wrong password.
    std::fs::write(d.join("fail_wrong_password.scelle"), &three).unwrap();
    std::fs::write(
        d.join("fail_wrong_password.expect"),
        "password: vector-password-2026?\noutcome: wrong_password\n",
    )
    .unwrap();
}
