//! Body of the `mp4_segment_reader` fuzz target, shared with `tests/fuzz_corpus.rs` (which replays the
//! saved corpus through it under plain `cargo test`), so both exercise the same code.

use std::io::Cursor;

use scelle::mp4::Mp4Writer;
use scelle_adapters::AccessUnit;
use scelle_adapters::segments::SegmentReader;

/// Runs one input.
pub fn run(data: &[u8]) {
    let Ok(mut reader) = SegmentReader::open(Cursor::new(data)) else {
        return;
    };
    let samples: Vec<_> = reader.samples.iter().take(64).copied().collect();
    let streams = reader.streams.clone();
    let start = jiff::Timestamp::UNIX_EPOCH;
    let mut writer = Mp4Writer::new(Vec::new(), &streams, Default::default(), start).ok();
    for s in samples {
        let Ok(bytes) = reader.read(&s) else {
            continue;
        };
        if let Some(w) = writer.as_mut() {
            let unit = AccessUnit {
                stream: s.stream,
                pts: (s.time as i64).saturating_add(s.cto),
                dts: Some(s.time as i64),
                device_time: None,
                received_at: start,
                keyframe: s.keyframe,
                data: bytes,
            };
            if w.push(unit).is_err() {
                writer = None;
            }
        }
    }
    if let Some(w) = writer {
        let _ = w.finish();
    }
}
