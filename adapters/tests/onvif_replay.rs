//! The whole ONVIF path: the test SOAP device (`onvif_endpoint`) answers discovery, search and
//! GetReplayUri; the replay itself is pulled from GStreamer's ONVIF replay server
//! (`peers/rtsp_peer.py --onvif`, `Range: clock=`, `Rate-Control: no`), and what arrives is
//! checked by ffprobe. GStreamer's replay clock starts at 1900-01-01 (a device whose clock was
//! never set); the measured offset maps it onto the server's clock.
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "tests say what they skip"
)]

#[path = "peers/support.rs"]
mod support;

mod onvif_endpoint;

use jiff::{SignedDuration, Timestamp};
use onvif_endpoint::{Endpoint, Options};
use scelle_adapters::clock::device_to_server;
use scelle_adapters::credentials::Credentials;
use scelle_adapters::onvif::{OnvifConfig, OnvifSource};
use scelle_adapters::{Codec, Event, Source, TimeRange};
use support::*;
use tokio::sync::mpsc;

/// A GStreamer ONVIF replay server holding one `clip_secs` H.264 clip, the test SOAP device
/// handing out its URI (device clock: 1900-01-01T01:00:00 now, GStreamer's replay epoch + 1 h),
/// and the ONVIF source over them. Dropping it stops both.
struct Replay {
    dir: tempfile::TempDir,
    _peer: Peer,
    ep: Endpoint,
    source: OnvifSource,
    /// Where GStreamer's replay clock starts, on the device's clock.
    epoch: Timestamp,
}

impl Replay {
    async fn start(clip_secs: u32) -> Replay {
        let dir = tempfile::tempdir().unwrap();
        let clip = make_clip(dir.path(), Codec::H264, clip_secs);
        let peer = Peer::start(free_port(), &[("h264", &clip)], &["--onvif"]);
        let epoch: Timestamp = "1900-01-01T00:00:00Z".parse().unwrap();
        let device_offset =
            (epoch + SignedDuration::from_hours(1)).duration_since(Timestamp::now());
        let ep = Endpoint::start(Options {
            device_offset,
            replay_uri: Some(peer.url("h264")),
            search_results: Some("gstreamer_get_recording_search_results"),
            ..Options::default()
        })
        .await;
        let config = OnvifConfig::new(
            ep.url.clone(),
            Some(Credentials::new("scelle", "c0rrect-h0rse")),
        );
        let source = OnvifSource::new(config, None)
            .unwrap()
            .with_camera("gst-replay")
            .with_rtsp_config(quick_config());
        Replay {
            dir,
            _peer: peer,
            ep,
            source,
            epoch,
        }
    }
}

#[tokio::test]
async fn pulls_the_replay_found_through_onvif() {
    let r = Replay::start(10).await;
    let (dir, ep, source, epoch) = (&r.dir, &r.ep, &r.source, r.epoch);
    let offset = source.clock_offset().await.unwrap();

    // The first 6 s of the recording, on the server's clock.
    let start = device_to_server(epoch, &offset);
    let range = TimeRange {
        start,
        end: start + SignedDuration::from_secs(6),
    };
    let plan = source.plan(range).await.unwrap();
    assert!(plan.missing.is_empty(), "{plan:?}");

    let (tx, mut rx) = mpsc::channel(64);
    let (result, events) = tokio::join!(source.pull(range, tx), async {
        let mut events = Vec::new();
        while let Some(e) = rx.recv().await {
            events.push(e);
        }
        events
    });
    let summary = result.unwrap();
    assert!(matches!(events.first(), Some(Event::Streams(_))));
    assert!(matches!(events.last(), Some(Event::End)));
    let us = units(&events);
    eprintln!("{} units, gaps {:?}", us.len(), summary.gaps);
    assert!((148..=152).contains(&us.len()), "{} units", us.len());
    assert_eq!(summary.units as usize, us.len());
    // Device times (0xABAC) start at the recording's start on the device clock.
    assert_eq!(us[0].device_time, Some(epoch));
    let file = dir.path().join("out.h264");
    let frames = write_annexb(&events, &file);
    assert_eq!(ffprobe_frames("h264", &file), frames);
    assert_eq!(ffmpeg_decode_errors("h264", &file), "");

    let ops = ep.operations();
    assert!(ops.contains(&"GetReplayUri".to_string()), "{ops:?}");
}

/// A range that starts inside the recording, one that starts before it (the replay server is
/// asked from the later of the range start and the recording start, and what was not recorded
/// is a planned gap; GStreamer answers 503 otherwise), and one whose ends fall between frames
/// (GStreamer then stops at the end without an RTCP BYE: the pull ends after a short silence
/// once the units reach the end, instead of waiting out the idle timeout and reconnecting).
#[tokio::test]
async fn pulls_a_range_starting_inside_or_before_the_recording() {
    let r = Replay::start(12).await;
    let (source, epoch) = (&r.source, r.epoch);
    let offset = source.clock_offset().await.unwrap();
    let recording = device_to_server(epoch, &offset);
    for (from, secs, round) in [(2i64, 4i64, false), (-2, 6, false), (-2, 8, true)] {
        let mut start = recording + SignedDuration::from_secs(from);
        if round {
            start = start.round(jiff::Unit::Second).unwrap();
        }
        let range = TimeRange {
            start,
            end: start + SignedDuration::from_secs(secs),
        };
        let (tx, mut rx) = mpsc::channel(64);
        let (result, events) = tokio::join!(source.pull(range, tx), async {
            let mut events = Vec::new();
            while let Some(e) = rx.recv().await {
                events.push(e);
            }
            events
        });
        let us = units(&events);
        eprintln!(
            "from {from} s: {} units, {:?}",
            us.len(),
            result.as_ref().map(|s| &s.gaps)
        );
        let summary = result.unwrap();
        assert!(us.len() >= 90, "from {from} s: {} units", us.len());
        assert!(matches!(events.last(), Some(Event::End)), "from {from} s");
        if from < 0 {
            assert!(
                !summary.gaps.is_empty(),
                "the 2 s before the recording are a gap"
            );
        }
    }
}
