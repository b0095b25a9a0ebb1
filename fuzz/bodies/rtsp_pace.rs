//! Body of the `rtsp_pace` fuzz target, shared with `tests/fuzz_corpus.rs`: a server's `Speed`
//! answer (the first line of the input) and the timing of the pictures a sped-up session held
//! (the rest, 9 bytes a picture: RTP timestamp, arrival in ms, key frame) go through
//! `pace::answered_speed` and `pace::judge`, which must never panic and only answer a factor of
//! 1 or the speed.

use scelle_adapters::rtsp::pace::{self, Probe, Seen};

/// Runs one input.
pub fn run(data: &[u8]) {
    let cut = data.iter().position(|&b| b == b'\n').unwrap_or(data.len());
    let answer = String::from_utf8_lossy(&data[..cut]);
    let speed = pace::answered_speed(&answer);
    if let Some(s) = speed {
        assert!(s.is_finite() && s > 0.0);
    }
    let rest = data.get(cut + 1..).unwrap_or_default();
    let pictures: Vec<Seen> = rest
        .chunks_exact(9)
        .map(|c| Seen {
            timestamp: u32::from_be_bytes([c[0], c[1], c[2], c[3]]),
            arrived: f64::from(u32::from_be_bytes([c[4], c[5], c[6], c[7]])) / 1000.0,
            keyframe: c[8] & 1 == 1,
        })
        .collect();
    let speed = speed.unwrap_or(4.0);
    let flags = rest.first().copied().unwrap_or(0);
    let probe = Probe {
        speed,
        pictures: &pictures,
        clock_rate: [90_000, 8_000, 0, 1][usize::from(flags % 4)],
        framerate: (flags & 4 != 0).then_some(25.0),
        requested_secs: (flags & 8 != 0).then_some(f64::from(flags)),
        complete: flags & 16 != 0,
    };
    let _ = pace::ready(&pictures);
    if let Ok(factor) = pace::judge(&probe) {
        assert!(factor == 1.0 || factor == speed, "{factor}");
    }
}
