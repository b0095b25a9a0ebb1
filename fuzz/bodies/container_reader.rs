//! Body of the `container_reader` fuzz target, shared with `tests/fuzz_corpus.rs` (which replays the
//! saved corpus through it under plain `cargo test`), so both exercise the same code.

use std::io::{Cursor, Write};
use std::sync::OnceLock;

use scelle::seal::{
    FileKeys, KdfParams, Metadata, SealFile, SealParams, SealReader, SealWriter, inspect,
    read_header,
};

struct Fixed {
    prefix: Vec<u8>,
    keys: FileKeys,
}

fn fixed() -> &'static Fixed {
    static FIXED: OnceLock<Fixed> = OnceLock::new();
    FIXED.get_or_init(|| {
        let params = SealParams {
            kdf: KdfParams::MINIMUM,
            chunk_log2: 10,
            pipelined: false,
        };
        let meta = Metadata {
            name: "f.mp4".into(),
            media_type: "video/mp4".into(),
            created: "2026-11-23T09:00:00Z".into(),
            case_id: None,
        };
        let key = zeroize::Zeroizing::new([9u8; 32]);
        let mut w = SealWriter::new_with_secrets(
            Vec::new(),
            b"fuzz",
            &meta,
            &params,
            [1; 16],
            [2; 7],
            &key,
        )
        .unwrap();
        w.write_all(&[0u8; 3000]).unwrap();
        let file = w.finish_into_inner().unwrap().1;
        let (header, _) = read_header(&mut Cursor::new(&file)).unwrap();
        let keys = FileKeys::unlock(&header, b"fuzz").unwrap();
        let prefix = file[..header.payload_offset() as usize].to_vec();
        Fixed { prefix, keys }
    })
}

/// Runs one input.
pub fn run(data: &[u8]) {
    let _ = inspect(Cursor::new(data));
    let f = fixed();
    let input: Vec<u8> = match data.split_first() {
        Some((first, rest)) if first & 1 == 1 => [f.prefix.as_slice(), rest].concat(),
        _ => data.to_vec(),
    };
    if let Ok(mut r) = SealReader::with_keys(Cursor::new(&input), f.keys.clone()) {
        while let Ok(Some(_)) = r.next_chunk() {}
    }
    if let Ok(mut file) = SealFile::with_keys(Cursor::new(&input), f.keys.clone()) {
        let n = file.chunk_count().min(8);
        for i in 0..n {
            let _ = file.read_chunk(i);
        }
        let _ = file.plaintext_len();
    }
}
