//! The segment reader on damaged files (truncated, bytes flipped): it may refuse them, it
//! must never panic or allocate without bound. A cheap companion of the cargo-fuzz target
//! `mp4_segment_reader` that runs with the ordinary tests.

use std::io::Cursor;
use std::process::Command;

use scelle_adapters::segments::SegmentReader;

fn small_segment(dir: &std::path::Path, extra: &[&str]) -> Vec<u8> {
    let path = dir.join("s.mp4");
    let out = Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=64x36:rate=5:duration=2",
        ])
        .args(extra)
        .args(["-g", "5", "-bf", "0"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read(path).unwrap()
}

fn read_everything(data: &[u8]) {
    if let Ok(mut r) = SegmentReader::open(Cursor::new(data)) {
        let samples = r.samples.clone();
        for s in &samples {
            let _ = r.read(s);
        }
    }
}

#[test]
fn damaged_segments_are_refused_without_panicking() {
    let dir = tempfile::tempdir().unwrap();
    for extra in [
        &["-c:v", "libx264"][..],
        &[
            "-c:v",
            "libx265",
            "-x265-params",
            "log-level=error",
            "-tag:v",
            "hvc1",
        ][..],
    ] {
        let good = small_segment(dir.path(), extra);
        let r = SegmentReader::open(Cursor::new(&good[..])).unwrap();
        assert_eq!(r.samples.len(), 10);
        for cut in (0..good.len()).step_by(97) {
            read_everything(&good[..cut]);
        }
        // Deterministic pseudo-random byte flips (xorshift), half of them inside `moov`.
        let moov = good.windows(4).position(|w| w == b"moov").unwrap() - 4;
        let moov_len = u32::from_be_bytes(good[moov..moov + 4].try_into().unwrap()) as usize;
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for round in 0..3000 {
            let mut bad = good.clone();
            for _ in 0..4 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let i = if round % 2 == 0 {
                    moov + (x as usize) % moov_len
                } else {
                    (x as usize) % bad.len()
                };
                bad[i] ^= (x >> 32) as u8 | 1;
            }
            read_everything(&bad);
        }
    }
}

/// Found by the fuzzer: an `sgpd` with a huge entry count made the box decoder allocate
/// gigabytes. Unused boxes are now neutralised before decoding.
#[test]
fn fail_sgpd_huge_entry_count_is_harmless() {
    read_everything(include_bytes!("data/fail_sgpd_huge_entry_count.mp4"));
}
