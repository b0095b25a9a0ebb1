//! Vendor playback URLs pulled by the RTSP client from GStreamer's RTSP server (standing in for
//! a recorder's playback endpoint; it ignores the query the template adds), with the clock
//! offset taken from the RTSP `Date` header.

#[path = "peers/support.rs"]
mod support;

use jiff::{SignedDuration, Timestamp};
use scelle_adapters::playback::{PlaybackTarget, PlaybackTemplate, VendorSource};
use scelle_adapters::{Codec, Error, Event, Source, TimeRange};
use support::*;
use tokio::sync::mpsc;

#[tokio::test]
async fn a_custom_template_is_pulled_with_the_rtsp_client() {
    let dir = tempfile::tempdir().unwrap();
    let clip = make_clip(dir.path(), Codec::H264, 6);
    let peer = Peer::start(free_port(), &[("h264", &clip)], &[]);
    let template = PlaybackTemplate::custom(
        "rtsp://{host}:{port}/h264?start={start_unix}&end={end_unix}",
        jiff::tz::TimeZone::UTC,
    )
    .unwrap();
    let mut source = VendorSource::new(
        "hall",
        "custom",
        PlaybackTarget {
            host: "127.0.0.1".into(),
            port: peer.port,
            channel: 1,
            substream: false,
        },
        template,
        None,
    );
    source.rtsp = quick_config();

    // The test machine is the "recorder": its Date header agrees with our clock to ~1 s.
    let offset = source.clock_offset().await.unwrap();
    assert!(
        offset.offset_ms.abs() <= offset.uncertainty_ms as i64,
        "{offset:?}"
    );

    let start = Timestamp::now();
    let range = TimeRange {
        start,
        end: start + SignedDuration::from_secs(4),
    };
    let err = source.plan(range).await.unwrap_err();
    assert!(matches!(err, Error::Unsupported { .. }), "{err:?}");

    let (tx, mut rx) = mpsc::channel(64);
    let (result, events) = tokio::join!(source.pull(range, tx), async {
        let mut v = Vec::new();
        while let Some(e) = rx.recv().await {
            v.push(e);
        }
        v
    });
    result.unwrap();
    assert!(matches!(events.last(), Some(Event::End)));
    let n = units(&events).len();
    assert!((95..=105).contains(&n), "{n} units for 4 s at 25 fps");
    let file = dir.path().join("out.h264");
    let frames = write_annexb(&events, &file);
    assert_eq!(ffprobe_frames("h264", &file), frames);
}
