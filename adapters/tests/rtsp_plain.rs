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
    match events.first() {
        Some(Event::Streams(s)) => {
            assert_eq!(s[0].codec, codec);
            assert_eq!((s[0].width, s[0].height), (Some(320), Some(240)));
            assert_eq!(
                s[0].parameter_sets.len(),
                if codec == Codec::H264 { 2 } else { 3 }
            );
        }
        other => panic!("first event {other:?}"),
    }
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

#[tokio::test]
async fn digest_auth_right_and_wrong_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let clip = make_clip(dir.path(), Codec::H264, 6);
    let peer = Peer::start(
        free_port(),
        &[("h264", &clip)],
        &["--auth", "admin:s3cret-Pw"],
    );
    let with = |user: &str, password: &str| {
        let mut r = npt(peer.url("h264"), 0, 2);
        r.credentials = Some(Credentials::new(user, password));
        r
    };
    let (res, events) = pull(quick_config(), with("admin", "s3cret-Pw")).await;
    res.unwrap();
    assert!(units(&events).len() >= 50);

    let (res, events) = pull(quick_config(), with("admin", "wrong-password")).await;
    let err = res.unwrap_err();
    assert!(
        matches!(err, Error::Auth { ref method, .. } if method == "DESCRIBE"),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("refused the credentials") && !msg.contains("wrong-password"),
        "{msg}"
    );
    assert!(events.is_empty());

    // No credentials at all: the same clear error.
    let (res, _) = pull(quick_config(), npt(peer.url("h264"), 0, 2)).await;
    assert!(matches!(res, Err(Error::Auth { .. })));
}

#[tokio::test]
async fn server_killed_mid_stream_resumes_without_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let clip = make_clip(dir.path(), Codec::H264, 30);
    let port = free_port();
    let mut peer = Peer::start(port, &[("h264", &clip)], &[]);
    let mut config = quick_config();
    config.reconnect_attempts = 20;
    config.idle_timeout = Duration::from_secs(3);
    let req = npt(peer.url("h264"), 10, 16);
    let clip2 = clip.clone();
    let killer = tokio::spawn(async move {
        // Real-time server: about 3 s of the 6 s range have arrived.
        tokio::time::sleep(Duration::from_secs(3)).await;
        peer.kill();
        tokio::time::sleep(Duration::from_millis(1500)).await;
        Peer::start(port, &[("h264", &clip2)], &[])
    });
    let (res, events) = pull(config, req).await;
    let _restarted = killer.await.unwrap();
    let summary = res.unwrap();
    let us = units(&events);
    // Each pts exactly once, one frame apart: no duplicate, nothing missing.
    assert!(
        us.windows(2).all(|w| w[1].pts - w[0].pts == 3600),
        "{:?}",
        us.windows(2)
            .find(|w| w[1].pts - w[0].pts != 3600)
            .map(|w| (w[0].pts, w[1].pts))
    );
    assert!((150..=200).contains(&us.len()), "{} units", us.len());
    // The outage happened mid-stream: the server's clock shows a pause of over a second.
    let pause = us
        .windows(2)
        .map(|w| {
            w[1].received_at
                .duration_since(w[0].received_at)
                .as_secs_f64()
        })
        .fold(0.0, f64::max);
    assert!(pause > 1.0, "no outage seen (longest pause {pause} s)");
    assert!(summary.gaps.is_empty(), "{:?}", summary.gaps);
    let file = dir.path().join("out.h264");
    let frames = write_annexb(&events, &file);
    assert_eq!(ffprobe_frames("h264", &file), frames);
    assert_eq!(ffmpeg_decode_errors("h264", &file), "");
}

#[tokio::test]
async fn live_capture_for_a_duration() {
    let dir = tempfile::tempdir().unwrap();
    let clip = make_clip(dir.path(), Codec::H264, 20);
    let peer = Peer::start(free_port(), &[("h264", &clip)], &[]);
    let req = PullRequest {
        camera: "live".into(),
        url: peer.url("h264"),
        credentials: None,
        tls: None,
        mode: Replay::Live {
            duration: Duration::from_secs(3),
        },
    };
    let t0 = std::time::Instant::now();
    let (res, events) = pull(quick_config(), req).await;
    let took = t0.elapsed().as_secs_f64();
    res.unwrap();
    assert!(matches!(events.last(), Some(Event::End)));
    let n = units(&events).len();
    // 3 s of a real-time 25 fps stream.
    assert!((60..=90).contains(&n), "{n} units in {took} s");
    assert!((2.9..6.0).contains(&took), "{took} s");
}
