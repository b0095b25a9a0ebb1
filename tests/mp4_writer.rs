//! The MP4 writer on its own, with synthetic access units (a real SPS/PPS from x264, dummy
//! slices): timing from pts, gaps on the timeline, refusals, SPS parsing. Timing is checked by
//! the real `ffprobe` (packet times do not need decodable pictures).

use std::io::Write;
use std::process::{Command, Stdio};

use bytes::Bytes;
use jiff::Timestamp;
use scelle::mp4::{Mp4Error, Mp4Writer, Provenance, h264_sps};
use scelle_adapters::{AccessUnit, Codec, Gap, GapReason, StreamInfo};

/// x264's SPS and PPS for 320x180 (High 4:4:4, 4:4:4 chroma: exercises the scaling-list path).
const SPS: &[u8] = &[
    0x67, 0xf4, 0x00, 0x0c, 0x91, 0x96, 0x40, 0x50, 0x67, 0xe3, 0x70, 0x11, 0x00, 0x00, 0x03, 0x00,
    0x01, 0x00, 0x00, 0x03, 0x00, 0x32, 0x0f, 0x14, 0x2a, 0x48,
];
const PPS: &[u8] = &[0x68, 0xeb, 0xc3, 0xc4, 0x48, 0x44];

fn stream() -> StreamInfo {
    StreamInfo {
        index: 0,
        codec: Codec::H264,
        clock_rate: 90_000,
        parameter_sets: vec![Bytes::from_static(SPS), Bytes::from_static(PPS)],
        audio_config: Bytes::new(),
        width: None,
        height: None,
        sample_rate: None,
        channels: None,
    }
}

fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn unit(pts: i64, keyframe: bool) -> AccessUnit {
    let nal: &[u8] = if keyframe {
        &[0, 0, 0, 2, 0x65, 0x88]
    } else {
        &[0, 0, 0, 2, 0x41, 0x9a]
    };
    AccessUnit {
        stream: 0,
        pts,
        dts: None,
        device_time: Some(
            t("2026-11-23T08:00:00Z") + jiff::SignedDuration::from_micros(pts * 100 / 9),
        ),
        received_at: Timestamp::now(),
        keyframe,
        data: Bytes::from_static(nal),
    }
}

fn writer() -> Mp4Writer<Vec<u8>> {
    Mp4Writer::new(
        Vec::new(),
        &[stream()],
        Provenance::default(),
        t("2026-01-01T00:00:00Z"),
    )
    .unwrap()
}

/// (pts_time, duration_time) of every video packet, read by ffprobe from a pipe.
fn packets(file: &[u8]) -> Vec<(f64, f64)> {
    let mut child = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            "packet=pts_time,duration_time",
            "-of",
            "csv=p=0",
            "-i",
            "pipe:0",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(file).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| {
            // Lines of packet side data (new in-band parameter sets) are not packets.
            let mut f = l.split(',').map(|v| v.trim());
            let pts = f.next()?.parse().ok()?;
            // ffprobe prints N/A for the duration of a lone sample it has nothing to compare to.
            Some((pts, f.next()?.parse().unwrap_or(f64::NAN)))
        })
        .collect()
}

#[test]
fn picture_size_comes_from_the_sps() {
    let facts = h264_sps(SPS).unwrap();
    assert_eq!((facts.width, facts.height), (320, 180));
    assert_eq!(facts.chroma_format_idc, 3);
}

#[test]
fn durations_from_pts_and_a_gap_on_the_timeline() {
    let mut w = writer();
    // 2 s at 25 fps, GOP 1 s; then a 3 s hole; then 1 s more.
    for i in 0..50 {
        w.push(unit(i * 3600, i % 25 == 0)).unwrap();
    }
    w.gap(&Gap {
        stream: None,
        start: t("2026-11-23T08:00:02Z"),
        end: t("2026-11-23T08:00:05Z"),
        reason: GapReason::ConnectionLost,
    })
    .unwrap();
    for i in 0..25 {
        w.push(unit(5 * 90_000 + i * 3600, i == 0)).unwrap();
    }
    let (file, summary) = w.finish().unwrap();
    assert_eq!(summary.start, t("2026-11-23T08:00:00Z"));
    assert!(summary.start_from_device);
    assert_eq!(summary.fragments, 3);
    assert_eq!(summary.tracks[0].samples, 75);
    assert_eq!(
        summary.tracks[0].duration,
        std::time::Duration::from_secs(6)
    );
    assert_eq!(summary.gaps.len(), 1);
    let covered: Vec<(Timestamp, Timestamp)> =
        summary.covered.iter().map(|r| (r.start, r.end)).collect();
    assert_eq!(
        covered,
        [
            (t("2026-11-23T08:00:00Z"), t("2026-11-23T08:00:02Z")),
            (t("2026-11-23T08:00:05Z"), t("2026-11-23T08:00:06Z"))
        ]
    );
    let p = packets(&file);
    assert_eq!(p.len(), 75);
    // The frame before the hole keeps a frame's duration; the next one starts at 5 s.
    assert!(
        (p[49].0 - 1.96).abs() < 1e-6 && (p[49].1 - 0.04).abs() < 1e-6,
        "{:?}",
        p[49]
    );
    assert!((p[50].0 - 5.0).abs() < 1e-6, "{:?}", p[50]);
    assert!(p.iter().all(|(_, d)| (d - 0.04).abs() < 1e-6));
}

#[test]
fn pictures_before_the_first_keyframe_are_skipped() {
    let mut w = writer();
    w.push(unit(0, false)).unwrap();
    w.push(unit(3600, false)).unwrap();
    w.push(unit(7200, true)).unwrap();
    w.push(unit(10800, false)).unwrap();
    let (file, summary) = w.finish().unwrap();
    assert_eq!(summary.skipped_before_keyframe, 2);
    assert_eq!(summary.tracks[0].samples, 2);
    let p = packets(&file);
    assert_eq!(p.len(), 2);
    assert!(p[0].0.abs() < 1e-6);
}

#[test]
fn going_back_in_time_is_refused() {
    // A recorded file's decode times may not go back.
    let mut w = writer();
    w.push(AccessUnit {
        dts: Some(7200),
        ..unit(7200, true)
    })
    .unwrap();
    let err = w
        .push(AccessUnit {
            dts: Some(3600),
            ..unit(3600, false)
        })
        .unwrap_err();
    assert!(
        matches!(
            err,
            Mp4Error::NonMonotonic {
                stream: 0,
                pts: 3600,
                previous: 7200
            }
        ),
        "{err}"
    );
    // Presentation times only (RTP): back and forth within a GOP is reordering, but a picture
    // shown before a written picture was decoded is refused.
    let mut w = writer();
    w.push(unit(7200, true)).unwrap();
    w.push(unit(3600, false)).unwrap();
    w.push(unit(10800, true)).unwrap();
    let err = w.push(unit(-90_000, false)).unwrap_err();
    assert!(
        matches!(
            err,
            Mp4Error::NonMonotonic {
                stream: 0,
                pts: -90_000,
                ..
            }
        ),
        "{err}"
    );
}

/// (pts, dts) in ticks of every video packet, by ffprobe.
fn pts_dts(file: &[u8]) -> Vec<(i64, i64)> {
    let mut child = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            "packet=pts,dts",
            "-of",
            "csv=p=0",
            "-i",
            "pipe:0",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(file).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| {
            let mut f = l.split(',').map(|v| v.trim().parse::<i64>());
            Some((f.next()?.ok()?, f.next()?.ok()?))
        })
        .collect()
}

/// B-frames as RTP delivers them: decode order, presentation times only. Every picture keeps
/// its presentation time (first one at 0), decode times only grow and never pass it.
#[test]
fn b_frames_from_presentation_times_only() {
    let mut w = writer();
    // Two GOPs of I P B B P B B (one B-frame level), then a pyramid I P B b b.
    let order: [(i64, bool); 19] = [
        (0, true),
        (3, false),
        (1, false),
        (2, false),
        (6, false),
        (4, false),
        (5, false),
        (7, true),
        (10, false),
        (8, false),
        (9, false),
        (13, false),
        (11, false),
        (12, false),
        (14, true),
        (18, false),
        (16, false),
        (15, false),
        (17, false),
    ];
    for (p, key) in order {
        w.push(unit(900_000 + p * 3600, key)).unwrap();
    }
    let (file, summary) = w.finish().unwrap();
    assert_eq!(summary.tracks[0].samples, 19);
    assert_eq!(
        summary.tracks[0].duration,
        std::time::Duration::from_millis(19 * 40)
    );
    let got = pts_dts(&file);
    assert_eq!(got.len(), 19);
    // The track's timescale is the RTP clock (90 kHz).
    let shown: Vec<i64> = got.iter().map(|(p, _)| *p - got[0].0).collect();
    let expected: Vec<i64> = order.iter().map(|(p, _)| p * 3600).collect();
    assert_eq!(shown, expected);
    assert!(got.windows(2).all(|w| w[0].1 < w[1].1), "{got:?}");
    assert!(got.iter().all(|(p, d)| d <= p), "{got:?}");
    decodes_without_timestamp_errors(&file);
}

/// ffmpeg reads the packets (no decodable pictures here) without a timestamp complaint.
fn decodes_without_timestamp_errors(file: &[u8]) {
    let mut child = Command::new("ffmpeg")
        .args([
            "-v", "warning", "-i", "pipe:0", "-c", "copy", "-f", "null", "-",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(file).unwrap();
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && !err.contains("monoton") && !err.contains("Invalid"),
        "{err}"
    );
}

#[test]
fn a_different_codec_mid_file_is_refused_and_new_parameter_sets_are_accepted() {
    let mut w = writer();
    w.push(unit(0, true)).unwrap();
    let mut aac = stream();
    aac.codec = Codec::Aac;
    assert!(matches!(
        w.update_streams(&[aac]),
        Err(Mp4Error::StreamsChanged { .. })
    ));
    let mut changed = stream();
    changed.parameter_sets[1] = Bytes::from_static(&[0x68, 0xeb, 0xc3, 0xc4, 0x48]);
    w.update_streams(&[changed]).unwrap();
    w.push(unit(3600, true)).unwrap();
    let (file, summary) = w.finish().unwrap();
    assert_eq!(summary.tracks[0].samples, 2);
    assert_eq!(packets(&file).len(), 2);
}

#[test]
fn an_empty_export_is_still_a_readable_file() {
    let (file, summary) = writer().finish().unwrap();
    assert_eq!(summary.start, t("2026-01-01T00:00:00Z"));
    assert!(!summary.start_from_device);
    assert_eq!(summary.fragments, 0);
    assert!(packets(&file).is_empty());
}

#[test]
fn a_stream_without_parameter_sets_is_refused() {
    let mut s = stream();
    s.parameter_sets.clear();
    let err = Mp4Writer::new(Vec::new(), &[s], Provenance::default(), Timestamp::now())
        .err()
        .unwrap();
    assert!(
        matches!(err, Mp4Error::BadStream { stream: 0, .. }),
        "{err}"
    );
}

#[test]
fn write_events_keeps_early_gaps_and_reports_a_pull_without_streams() {
    use scelle::mp4::write_events;
    use scelle_adapters::Event;
    let gap = Gap {
        stream: None,
        start: t("2026-11-23T07:59:00Z"),
        end: t("2026-11-23T08:00:00Z"),
        reason: GapReason::NotRecorded,
    };
    let events = vec![
        Event::Gap(gap.clone()),
        Event::Streams(vec![stream()]),
        Event::Unit(unit(0, true)),
        Event::Unit(unit(3600, false)),
        Event::End,
        Event::Unit(unit(7200, false)),
    ];
    let (file, summary) =
        write_events(events, Vec::new(), Provenance::default(), Timestamp::now()).unwrap();
    assert_eq!(summary.gaps, std::slice::from_ref(&gap));
    assert_eq!(summary.tracks[0].samples, 2);
    assert_eq!(packets(&file).len(), 2);

    let err = write_events(
        [Event::Gap(gap.clone()), Event::End],
        Vec::new(),
        Provenance::default(),
        Timestamp::now(),
    )
    .unwrap_err();
    assert!(
        matches!(err, Mp4Error::NoStreams { ref gaps } if gaps.len() == 1),
        "{err}"
    );
}

#[test]
fn after_a_gap_video_resumes_at_a_keyframe() {
    let mut w = writer();
    w.push(unit(0, true)).unwrap();
    w.push(unit(3600, false)).unwrap();
    w.gap(&Gap {
        stream: Some(0),
        start: t("2026-11-23T08:00:00.08Z"),
        end: t("2026-11-23T08:00:00.12Z"),
        reason: GapReason::PacketLoss { lost_packets: 3 },
    })
    .unwrap();
    w.push(unit(3 * 3600, false)).unwrap();
    w.push(unit(4 * 3600, true)).unwrap();
    let (file, summary) = w.finish().unwrap();
    assert_eq!(summary.skipped_before_keyframe, 1);
    let p = packets(&file);
    assert_eq!(p.len(), 3);
    assert!((p[2].0 - 0.16).abs() < 1e-6, "{p:?}");
}
