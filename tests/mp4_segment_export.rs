//! End to end: a folder of time-named segments (made by ffmpeg in the test) → the segment
//! source → the fragmented MP4 writer → a file, checked by the real `ffprobe` and `ffmpeg`.
//! The case: a range spanning three segments with the middle one missing yields one
//! MP4 with the gap reported and the expected frames.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use jiff::Timestamp;
use scelle::mp4::{Provenance, TrackSource, write_events};
use scelle_adapters::segments::SegmentFolder;
use scelle_adapters::{Event, GapReason, Source, TimeRange};
use tokio::sync::mpsc;

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().expect("run tool");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A 30 s clip with a visible clock (25 fps, GOP 50) cut into three 10 s segments named
/// `cam1/2026/11/23/08-00-{00,10,20}.mp4` under `root`.
fn make_segments(root: &Path, encoder: &str) -> Vec<PathBuf> {
    make_segments_with(root, encoder, false)
}

fn make_segments_with(root: &Path, encoder: &str, audio: bool) -> Vec<PathBuf> {
    let clip = root.join("clip.mp4");
    let mut enc = Command::new("ffmpeg");
    enc.args(["-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg("testsrc=size=320x180:rate=25:duration=30");
    if audio {
        enc.args([
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:sample_rate=48000:duration=30",
            "-c:a",
            "aac",
        ]);
    }
    enc.args([
        "-vf",
        "drawtext=text='%{pts\\:hms}':fontsize=24:x=10:y=10:fontcolor=white:box=1",
    ])
    .args([
        "-c:v", encoder, "-pix_fmt", "yuv420p", "-g", "50", "-bf", "0",
    ]);
    if encoder == "libx265" {
        enc.args([
            "-x265-params",
            "log-level=error:keyint=50:min-keyint=50:scenecut=0:bframes=0",
        ])
        .args(["-tag:v", "hvc1"]);
    }
    run(enc.arg(&clip));
    let day = root.join("cam1/2026/11/23");
    std::fs::create_dir_all(&day).unwrap();
    run(Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-i"])
        .arg(&clip)
        .args([
            "-c",
            "copy",
            "-f",
            "segment",
            "-segment_time",
            "10",
            "-reset_timestamps",
            "1",
        ])
        .arg(root.join("seg%d.mp4")));
    std::fs::remove_file(&clip).unwrap();
    (0..3)
        .map(|i| {
            let to = day.join(format!("08-00-{:02}.mp4", i * 10));
            std::fs::rename(root.join(format!("seg{i}.mp4")), &to).unwrap();
            to
        })
        .collect()
}

struct Pulled {
    summary: scelle::mp4::Mp4Summary,
    gaps_seen: Vec<scelle_adapters::Gap>,
}

/// Pulls `range` from the folder into an MP4 file at `out`.
async fn export(root: &Path, range: TimeRange, out: &Path) -> Pulled {
    let folder = SegmentFolder::new(root, "{camera}/%Y/%m/%d/%H-%M-%S.mp4", "cam1").unwrap();
    let (tx, mut rx) = mpsc::channel(64);
    let pull = tokio::spawn(async move { folder.pull(range, tx).await });
    let provenance = Provenance {
        export_unit_name: "site-server-1".into(),
        export_unit_url: "https://127.0.0.1/".into(),
        export_unit_mac: "08:00:27:00:0c:15".into(),
        export_time: Some(ts("2026-11-23T10:00:00Z")),
        operator: "op-dupont".into(),
        case_id: Some("CASE-2026-0042".into()),
        sources: vec![TrackSource {
            name: "cam1".into(),
            ..TrackSource::default()
        }],
    };
    let file = std::io::BufWriter::new(std::fs::File::create(out).unwrap());
    // The pipeline's shape: the source on the runtime, the writer on a blocking thread.
    let (gap_tx, mut gap_rx) = mpsc::unbounded_channel();
    let write = tokio::task::spawn_blocking(move || {
        let events = std::iter::from_fn(move || rx.blocking_recv()).inspect(move |ev| {
            if let Event::Gap(g) = ev {
                gap_tx.send(g.clone()).unwrap();
            }
        });
        write_events(events, file, provenance, range.start)
    });
    pull.await.unwrap().unwrap();
    let (_, summary) = write.await.unwrap().unwrap();
    let mut gaps_seen = Vec::new();
    while let Ok(g) = gap_rx.try_recv() {
        gaps_seen.push(g);
    }
    Pulled { summary, gaps_seen }
}

fn probe(args: &[&str], file: &Path) -> String {
    run(Command::new("ffprobe")
        .args(["-v", "error"])
        .args(args)
        .arg(file))
}

fn frame_count(file: &Path) -> usize {
    probe(
        &[
            "-select_streams",
            "v:0",
            "-count_packets",
            "-show_entries",
            "stream=nb_read_packets",
            "-of",
            "csv=p=0",
        ],
        file,
    )
    .trim()
    .parse()
    .unwrap()
}

fn decodes_cleanly(file: &Path) {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-xerror", "-i"])
        .arg(file)
        .args(["-f", "null", "-"])
        .output()
        .unwrap();
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "decode errors: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// ffprobe reading the MP4 sequentially from a pipe, as a fragmented file allows.
fn frames_from_pipe(file: &Path) -> usize {
    let input = std::fs::File::open(file).unwrap();
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-count_packets",
            "-show_entries",
            "stream=nb_read_packets",
            "-of",
            "csv=p=0",
            "-i",
            "pipe:0",
        ])
        .stdin(Stdio::from(input))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

fn packet_times(file: &Path) -> Vec<f64> {
    probe(
        &[
            "-select_streams",
            "v:0",
            "-show_entries",
            "packet=pts_time",
            "-of",
            "csv=p=0",
        ],
        file,
    )
    .lines()
    .filter_map(|l| l.trim().trim_end_matches(',').parse().ok())
    .collect()
}

async fn three_segments_one_missing(encoder: &str, codec_name: &str) {
    let dir = tempfile::tempdir().unwrap();
    let segs = make_segments(dir.path(), encoder);
    std::fs::remove_file(&segs[1]).unwrap();
    let out = dir.path().join("export.mp4");
    let range = TimeRange {
        start: ts("2026-11-23T08:00:05Z"),
        end: ts("2026-11-23T08:00:25Z"),
    };
    let pulled = export(dir.path(), range, &out).await;

    // The hole is reported once, naming the segment that should have been there.
    assert_eq!(pulled.gaps_seen.len(), 1, "{:?}", pulled.gaps_seen);
    let gap = &pulled.gaps_seen[0];
    assert_eq!(gap.start, ts("2026-11-23T08:00:10Z"));
    assert_eq!(gap.end, ts("2026-11-23T08:00:20Z"));
    match &gap.reason {
        GapReason::SegmentMissing { path } => {
            assert!(path.ends_with("cam1/2026/11/23/08-00-10.mp4"), "{path}")
        }
        other => panic!("unexpected reason {other:?}"),
    }
    assert_eq!(pulled.summary.gaps, pulled.gaps_seen);

    // Starts at the keyframe at 08:00:04 (GOP 2 s, one GOP before 08:00:05 at most).
    assert_eq!(pulled.summary.start, ts("2026-11-23T08:00:04Z"));
    assert!(pulled.summary.start_from_device);
    // 04–10 s and 20–25 s at 25 fps.
    let expected = 6 * 25 + 5 * 25;
    assert_eq!(pulled.summary.tracks[0].samples, expected as u64);
    assert_eq!(
        pulled.summary.covered.len(),
        2,
        "{:?}",
        pulled.summary.covered
    );
    assert_eq!(pulled.summary.covered[0].start, ts("2026-11-23T08:00:04Z"));
    assert_eq!(pulled.summary.covered[0].end, ts("2026-11-23T08:00:10Z"));
    assert_eq!(pulled.summary.covered[1].start, ts("2026-11-23T08:00:20Z"));

    // A third party sees the same.
    assert_eq!(
        probe(
            &["-show_entries", "stream=codec_name", "-of", "csv=p=0"],
            &out
        )
        .trim(),
        codec_name
    );
    assert_eq!(frame_count(&out), expected);
    assert_eq!(frames_from_pipe(&out), expected);
    decodes_cleanly(&out);
    let times = packet_times(&out);
    assert_eq!(times.len(), expected);
    assert!(times[0].abs() < 1e-6, "{}", times[0]);
    // The first frame after the hole sits 16 s after the start (08:00:20 - 08:00:04).
    assert!((times[150] - 16.0).abs() < 1e-6, "{}", times[150]);
    assert!((times[149] - 5.96).abs() < 1e-6, "{}", times[149]);
    let tags = probe(
        &["-show_entries", "format_tags", "-of", "default=nw=1"],
        &out,
    );
    assert!(tags.contains("creation_time=2026-11-23T08:00:04"), "{tags}");
    assert!(tags.contains("CASE-2026-0042"), "{tags}");
    check_onvif_boxes(&std::fs::read(&out).unwrap(), pulled.summary.start);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h264_three_segments_one_missing() {
    three_segments_one_missing("libx264", "h264").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h265_three_segments_one_missing() {
    three_segments_one_missing("libx265", "hevc").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h264_with_aac_audio() {
    let dir = tempfile::tempdir().unwrap();
    make_segments_with(dir.path(), "libx264", true);
    let out = dir.path().join("export.mp4");
    let range = TimeRange {
        start: ts("2026-11-23T08:00:08Z"),
        end: ts("2026-11-23T08:00:14Z"),
    };
    let pulled = export(dir.path(), range, &out).await;
    assert!(pulled.gaps_seen.is_empty(), "{:?}", pulled.gaps_seen);
    assert_eq!(pulled.summary.tracks.len(), 2);
    assert_eq!(pulled.summary.tracks[0].samples, 6 * 25);
    let codecs = probe(
        &["-show_entries", "stream=codec_name", "-of", "csv=p=0"],
        &out,
    );
    assert_eq!(
        codecs.split_whitespace().collect::<Vec<_>>(),
        ["h264", "aac"]
    );
    assert_eq!(frame_count(&out), 6 * 25);
    decodes_cleanly(&out);
    let audio = probe(
        &[
            "-select_streams",
            "a:0",
            "-show_entries",
            "stream=sample_rate,channels",
            "-of",
            "csv=p=0",
        ],
        &out,
    );
    assert_eq!(audio.trim(), "48000,1");
    let duration: f64 = probe(
        &["-show_entries", "format=duration", "-of", "csv=p=0"],
        &out,
    )
    .trim()
    .parse()
    .unwrap();
    assert!((duration - 6.0).abs() < 0.1, "{duration}");
}

/// Top-level boxes as (type, body).
fn boxes(mut data: &[u8]) -> Vec<([u8; 4], &[u8])> {
    let mut out = Vec::new();
    while data.len() >= 8 {
        let size = u32::from_be_bytes(data[..4].try_into().unwrap()) as usize;
        assert!(size >= 8 && size <= data.len(), "bad box size {size}");
        out.push((data[4..8].try_into().unwrap(), &data[8..size]));
        data = &data[size..];
    }
    assert!(data.is_empty());
    out
}

fn cstrs(mut data: &[u8], n: usize) -> (Vec<String>, &[u8]) {
    let mut v = Vec::new();
    for _ in 0..n {
        let end = data.iter().position(|&b| b == 0).unwrap();
        v.push(String::from_utf8(data[..end].to_vec()).unwrap());
        data = &data[end + 1..];
    }
    (v, data)
}

/// The file follows the ONVIF Export File Format where it applies: `meta` (with `suep` and
/// `cstb`) before `moov`, then `moof`/`mdat` pairs each with a `tfdt`.
fn check_onvif_boxes(file: &[u8], start: Timestamp) {
    let top = boxes(file);
    let kinds: Vec<&[u8; 4]> = top.iter().map(|(k, _)| k).collect();
    assert_eq!(&kinds[..3], [b"ftyp", b"meta", b"moov"]);
    assert!(
        kinds[3..].chunks(2).all(|p| p == [b"moof", b"mdat"]),
        "{kinds:?}"
    );
    let meta = boxes(&top[1].1[4..]);
    assert_eq!(
        meta.iter().map(|(k, _)| *k).collect::<Vec<_>>(),
        [*b"hdlr", *b"suep", *b"cstb"]
    );
    let suep = meta[1].1;
    assert_eq!(suep[0], 1, "suep version");
    let (unit, rest) = cstrs(&suep[4..], 3);
    assert_eq!(
        unit,
        ["site-server-1", "https://127.0.0.1/", "08:00:27:00:0c:15"]
    );
    let export_time = u64::from_be_bytes(rest[..8].try_into().unwrap());
    assert_eq!(
        export_time as i64 - 2_082_844_800,
        ts("2026-11-23T10:00:00Z").as_second()
    );
    let (op, rest) = cstrs(&rest[8..], 1);
    assert_eq!(op, ["op-dupont"]);
    assert_eq!(u32::from_be_bytes(rest[..4].try_into().unwrap()), 1);
    assert_eq!(u16::from_be_bytes(rest[4..6].try_into().unwrap()), 1);
    let (src, _) = cstrs(&rest[6..], 4);
    assert_eq!(src, ["cam1", "", "", ""]);
    let cstb = meta[2].1;
    assert_eq!(u32::from_be_bytes(cstb[..4].try_into().unwrap()), 1);
    assert_eq!(u32::from_be_bytes(cstb[4..8].try_into().unwrap()), 1);
    let t100ns = u64::from_be_bytes(cstb[8..16].try_into().unwrap()) as i128;
    assert_eq!(
        (t100ns - 116_444_736_000_000_000) * 100,
        start.as_nanosecond()
    );
    for (_, moof) in top.iter().filter(|(k, _)| k == b"moof") {
        let traf = boxes(moof)
            .into_iter()
            .find(|(k, _)| k == b"traf")
            .unwrap()
            .1;
        assert!(boxes(traf).iter().any(|(k, _)| k == b"tfdt"));
    }
}
