//! Pulls from GStreamer's RTSP server (plain mode): `Range: npt=` replay of H.264 and H.265,
//! checked by ffprobe/ffmpeg; Digest authentication; and a server killed mid-stream.

#[path = "peers/support.rs"]
mod support;

use std::time::Duration;

use scelle_adapters::rtsp::{Credentials, PullRequest, Replay};
use scelle_adapters::{Codec, Error, Event};
use support::*;

fn npt(url: String, start: u64, end: u64) -> PullRequest {
    PullRequest {
        camera: "test".into(),
        url,
        credentials: None,
        tls: None,
        mode: Replay::Npt {
            start: Duration::from_secs(start),
            end: Some(Duration::from_secs(end)),
        },
    }
}

async fn seconds_10_to_20(codec: Codec) {
    let dir = tempfile::tempdir().unwrap();
    let clip = make_clip(dir.path(), codec, 30);
    let name = if codec == Codec::H264 { "h264" } else { "h265" };
    let peer = Peer::start(free_port(), &[(name, &clip)], &[]);
    let (res, events) = pull(quick_config(), npt(peer.url(name), 10, 20)).await;
    let summary = res.unwrap();
    assert!(matches!(events.first(), Some(Event::Streams(s)) if s[0].codec == codec));
    assert!(matches!(events.last(), Some(Event::End)));
    assert!(summary.gaps.is_empty(), "{:?}", summary.gaps);
    let us = units(&events);
    assert!(us[0].keyframe && us[0].pts == 0);
    // pts advance by one frame (90 kHz / 25).
    assert!(us.windows(2).all(|w| w[1].pts - w[0].pts == 3600));
    let file = dir.path().join("out.es");
    let frames = write_annexb(&events, &file);
    let fmt = if codec == Codec::H264 { "h264" } else { "hevc" };
    // 10 s at 25 fps, plus at most one 2 s GOP before the start.
    assert!((250..=300).contains(&frames), "{frames} frames");
    assert_eq!(ffprobe_frames(fmt, &file), frames);
    assert_eq!(ffmpeg_decode_errors(fmt, &file), "");
}

#[tokio::test]
async fn h264_seconds_10_to_20() {
    seconds_10_to_20(Codec::H264).await;
}

#[tokio::test]
async fn h265_seconds_10_to_20() {
    seconds_10_to_20(Codec::H265).await;
}
