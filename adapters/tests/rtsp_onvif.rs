//! ONVIF replay against GStreamer's ONVIF RTSP server: `Require: onvif-replay`,
//! `Range: clock=`, `Rate-Control: no`; absolute times come from the 0xABAC extension.
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "tests say what they skip"
)]

#[path = "peers/support.rs"]
mod support;

use std::time::Instant;

use jiff::Timestamp;
use scelle_adapters::rtsp::{PullRequest, Replay};
use scelle_adapters::{Codec, Event};
use support::*;

#[tokio::test]
async fn replay_without_rate_control_is_fast_and_absolutely_timed() {
    let dir = tempfile::tempdir().unwrap();
    let clip = make_clip(dir.path(), Codec::H264, 30);
    let peer = Peer::start(free_port(), &[("h264", &clip)], &["--onvif"]);
    // GStreamer's ONVIF server maps clock= onto the file from 1900-01-01T00:00:00Z.
    let start: Timestamp = "1900-01-01T00:00:00Z".parse().unwrap();
    let end: Timestamp = "1900-01-01T00:00:30Z".parse().unwrap();
    let req = PullRequest {
        camera: "onvif".into(),
        url: peer.url("h264"),
        credentials: None,
        tls: None,
        mode: Replay::OnvifClock {
            start,
            end,
            rate_control: false,
        },
    };
    let t0 = Instant::now();
    let (res, events) = pull(quick_config(), req).await;
    let took = t0.elapsed();
    let summary = res.unwrap();
    assert!(matches!(events.last(), Some(Event::End)));
    let us = units(&events);
    eprintln!("{} units in {took:?}, gaps {:?}", us.len(), summary.gaps);
    assert!(took.as_secs_f64() < 15.0, "30 s clip took {took:?}");
    assert_eq!(us.len(), 750);
    // Absolute times from 0xABAC: the first frame at the clip's start, 40 ms apart.
    let times: Vec<Timestamp> = us.iter().map(|u| u.device_time.unwrap()).collect();
    assert_eq!(times[0], start);
    let last = times[times.len() - 1];
    let span = last.duration_since(start).as_secs_f64();
    assert!((span - 29.96).abs() < 0.002, "last frame at {span} s");
    assert!(times.windows(2).all(|w| w[1] > w[0]));
    let file = dir.path().join("out.h264");
    assert_eq!(write_annexb(&events, &file), 750);
    assert_eq!(ffprobe_frames("h264", &file), 750);
    assert_eq!(ffmpeg_decode_errors("h264", &file), "");
}
