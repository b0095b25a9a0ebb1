//! Issue 5's end-to-end check of both halves together: seconds 10–20 of a 30 s clip pulled from
//! GStreamer's RTSP server (H.264 and H.265), and a 30 s ONVIF replay with `Rate-Control: no`,
//! each written by the fragmented MP4 writer; `ffprobe` reads the file from a pipe (as a
//! recipient's player streams it) and `ffmpeg -xerror` decodes it without a single error.
//! The peer script and helpers are the adapters' tests' own (`tests/peers` links to them).

#[path = "peers/support.rs"]
mod support;

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use jiff::Timestamp;
use scelle::mp4::{Provenance, write_events};
use scelle_adapters::Codec;
use scelle_adapters::rtsp::{PullRequest, Replay};
use support::*;

/// `ffprobe` over stdin: (video packets read, format duration in seconds, codec name).
fn ffprobe_pipe(file: &Path) -> (usize, f64, String) {
    let mut child = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0", "-count_packets"])
        .args([
            "-show_entries",
            "stream=nb_read_packets,codec_name:format=duration",
        ])
        .args(["-of", "default=nw=1", "-i", "pipe:0"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("ffprobe");
    let bytes = std::fs::read(file).unwrap();
    let mut stdin = child.stdin.take().unwrap();
    std::thread::spawn(move || {
        let _ = stdin.write_all(&bytes);
    });
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "ffprobe failed on {}", file.display());
    let text = String::from_utf8(out.stdout).unwrap();
    let field = |k: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{k}=")))
            .unwrap_or_else(|| panic!("no {k} in {text}"))
            .to_string()
    };
    (
        field("nb_read_packets").parse().unwrap(),
        field("duration").parse().unwrap_or(0.0),
        field("codec_name"),
    )
}

fn decode_errors(file: &Path) -> String {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-xerror", "-i"])
        .arg(file)
        .args(["-f", "null", "-"])
        .output()
        .expect("ffmpeg");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

async fn pull_to_mp4(req: PullRequest, out: &Path) -> scelle::mp4::Mp4Summary {
    let (res, events) = pull(quick_config(), req).await;
    res.expect("pull");
    let file = std::fs::File::create(out).unwrap();
    let fallback = Timestamp::now();
    let (_, summary) = write_events(events, file, Provenance::default(), fallback).expect("mp4");
    summary
}

async fn seconds_10_to_20(codec: Codec) {
    let dir = tempfile::tempdir().unwrap();
    let clip = make_clip(dir.path(), codec, 30);
    let name = if codec == Codec::H264 { "h264" } else { "h265" };
    let peer = Peer::start(free_port(), &[(name, &clip)], &[]);
    let req = PullRequest {
        camera: "test".into(),
        url: peer.url(name),
        credentials: None,
        tls: None,
        mode: Replay::Npt {
            start: Duration::from_secs(10),
            end: Some(Duration::from_secs(20)),
        },
    };
    let out = dir.path().join("out.mp4");
    let summary = pull_to_mp4(req, &out).await;
    assert!(summary.gaps.is_empty(), "{:?}", summary.gaps);
    let covered: f64 = summary
        .covered
        .iter()
        .map(|r| r.end.duration_since(r.start).as_secs_f64())
        .sum();
    // ffprobe's format duration from a pipe only sees the first fragment of a fragmented
    // file, so the media time covered is taken from the writer and the frames from ffprobe.
    assert!((9.9..=12.1).contains(&covered), "{covered} s covered");
    let (frames, _, codec_name) = ffprobe_pipe(&out);
    assert_eq!(
        codec_name,
        if codec == Codec::H264 { "h264" } else { "hevc" }
    );
    // 10 s at 25 fps, plus at most one 2 s GOP before the start.
    assert!((250..=300).contains(&frames), "{frames} frames");
    assert_eq!(decode_errors(&out), "");
}

#[tokio::test]
async fn h264_seconds_10_to_20_as_mp4() {
    seconds_10_to_20(Codec::H264).await;
}

#[tokio::test]
async fn h265_seconds_10_to_20_as_mp4() {
    seconds_10_to_20(Codec::H265).await;
}

#[tokio::test]
async fn onvif_replay_as_mp4_keeps_device_time() {
    let dir = tempfile::tempdir().unwrap();
    let clip = make_clip(dir.path(), Codec::H264, 30);
    let peer = Peer::start(free_port(), &[("h264", &clip)], &["--onvif"]);
    // GStreamer maps clock= ranges onto the file from 1900-01-01T00:00:00Z.
    let start: Timestamp = "1900-01-01T00:00:00Z".parse().unwrap();
    let req = PullRequest {
        camera: "test".into(),
        url: peer.url("h264"),
        credentials: None,
        tls: None,
        mode: Replay::OnvifClock {
            start,
            end: start + jiff::SignedDuration::from_secs(30),
            rate_control: false,
        },
    };
    let out = dir.path().join("onvif.mp4");
    let summary = pull_to_mp4(req, &out).await;
    assert!(
        summary.start_from_device,
        "start time must come from 0xABAC"
    );
    assert_eq!(summary.start, start);
    let (frames, _, _) = ffprobe_pipe(&out);
    assert_eq!(frames, 750);
    assert_eq!(decode_errors(&out), "");
}
