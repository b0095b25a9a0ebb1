//! ONVIF discovery → search → replay URI against the test device in `onvif_endpoint`, which
//! serves the project's fixtures and checks the WS-Security header it receives.
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "tests say what they skip"
)]

mod onvif_endpoint;

use jiff::Timestamp;
use onvif_endpoint::{Endpoint, Options};
use scelle_adapters::credentials::Credentials;
use scelle_adapters::onvif::{OnvifConfig, OnvifSource};
use scelle_adapters::{GapReason, Source, TimeRange};

fn config(ep: &Endpoint, password: &str) -> OnvifConfig {
    OnvifConfig::new(ep.url.clone(), Some(Credentials::new("scelle", password)))
}

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn close(a: Timestamp, b: Timestamp, ms: i64) -> bool {
    a.duration_since(b).as_millis().abs() <= ms as i128
}

#[tokio::test]
async fn discovery_search_and_replay_uri_with_ws_security() {
    let ep = Endpoint::start(Options::default()).await;
    let source = OnvifSource::new(config(&ep, "c0rrect-h0rse"), None).unwrap();

    // The device clock is 180 s behind: measured within the round-trip bound.
    let offset = source.clock_offset().await.unwrap();
    eprintln!("measured {offset:?} (true offset -180000 ms)");
    assert!(
        (offset.offset_ms + 180_000).abs() <= offset.uncertainty_ms as i64,
        "{offset:?}"
    );
    assert!(offset.uncertainty_ms < 1_000 + 500, "{offset:?}");

    let info = source.describe().await.unwrap();
    assert_eq!(info.vendor, "AXIS");
    assert_eq!(info.model, "S3008 Recorder");
    assert_eq!(info.serial, "B8A44F000001");
    assert_eq!(info.firmware, "11.11.73");

    let recs = source.recordings().await.unwrap();
    let tokens: Vec<_> = recs.iter().map(|r| r.token.as_str()).collect();
    assert_eq!(tokens, ["REC_ENTRANCE_0001", "REC_ENTRANCE_0002"]);
    // The 1970 quirk is kept as read; planning decides what to trust.
    assert_eq!(recs[0].earliest, Some(ts("1970-01-01T00:00:42Z")));
    // The same through the Source trait, as `scelle camera probe` lists them.
    let listed = Source::recordings(&source).await.unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[1].id, "REC_ENTRANCE_0002");
    assert_eq!(listed[0].start, Some(ts("1970-01-01T00:00:42Z")));

    let range = TimeRange {
        start: ts("2026-11-23T08:25:00Z"),
        end: ts("2026-11-23T08:35:00Z"),
    };
    let uri = source.replay_uri(range).await.unwrap();
    assert!(
        uri.contains("onvifreplayid=REC_ENTRANCE_0002&onvifreplayext=1"),
        "{uri}"
    );

    let client = source.client();
    let profiles = client.profiles().await.unwrap();
    assert_eq!(profiles[0].token, "profile_1_h264");
    assert_eq!(
        (profiles[0].width, profiles[0].height),
        (Some(1920), Some(1080))
    );
    let live = client.stream_uri("profile_1_h264").await.unwrap();
    assert!(live.starts_with("rtsp://"), "{live}");
    assert_eq!(
        client.recordings().await.unwrap()[0].token,
        "REC_ENTRANCE_0001"
    );
    let summary = client.recording_summary().await.unwrap();
    assert_eq!(summary.number_recordings, 2);
    let info = client
        .recording_information("REC_ENTRANCE_0002")
        .await
        .unwrap();
    assert_eq!(info.latest, Some(ts("2026-11-23T08:40:00Z")));

    // The search was paged (Searching, then Completed) and released.
    let ops = ep.operations();
    let first = ops.iter().position(|o| o == "FindRecordings").unwrap();
    assert_eq!(
        ops[first..first + 4],
        [
            "FindRecordings",
            "GetRecordingSearchResults",
            "GetRecordingSearchResults",
            "EndSearch"
        ],
        "{ops:?}"
    );

    // Every authenticated request carried a valid token, Created on the device's clock.
    let seen = ep.seen.lock().unwrap().clone();
    for s in seen
        .iter()
        .filter(|s| s.operation != "GetSystemDateAndTime")
    {
        assert!(s.wsse_valid, "{s:?}");
        assert!(s.created_skew_ms.unwrap().abs() <= 2_000, "{s:?}");
    }
}

#[tokio::test]
async fn a_range_partly_outside_the_recordings_yields_the_gaps() {
    let ep = Endpoint::start(Options::default()).await;
    let source = OnvifSource::new(config(&ep, "c0rrect-h0rse"), None).unwrap();
    // Device clock: recordings 08:00–08:10 (EarliestRecording says 1970, the track says
    // 08:00) and 08:20:00.25–08:40. On the server's clock (device 180 s late) that is
    // 08:03–08:13 and 08:23:00.25–08:43.
    let range = TimeRange {
        start: ts("2026-11-23T07:50:00Z"),
        end: ts("2026-11-23T08:50:00Z"),
    };
    let plan = source.plan(range).await.unwrap();
    let tol = 1_500;
    assert_eq!(plan.recorded.len(), 2, "{plan:?}");
    assert_eq!(plan.missing.len(), 3, "{plan:?}");
    let expected = [
        (ts("2026-11-23T07:50:00Z"), ts("2026-11-23T08:03:00Z")),
        (ts("2026-11-23T08:13:00Z"), ts("2026-11-23T08:23:00.250Z")),
        (ts("2026-11-23T08:43:00Z"), ts("2026-11-23T08:50:00Z")),
    ];
    for (gap, (start, end)) in plan.missing.iter().zip(expected) {
        assert_eq!(gap.reason, GapReason::NotRecorded);
        assert!(
            close(gap.start, start, tol) && close(gap.end, end, tol),
            "{gap:?} vs {start}..{end}"
        );
    }
    // Exact request edges are kept.
    assert_eq!(plan.missing[0].start, range.start);
    assert_eq!(plan.missing[2].end, range.end);

    // A range inside one recording has no gap.
    let inside = TimeRange {
        start: ts("2026-11-23T08:25:00Z"),
        end: ts("2026-11-23T08:40:00Z"),
    };
    let plan = source.plan(inside).await.unwrap();
    assert!(plan.missing.is_empty(), "{plan:?}");
    assert_eq!(plan.recorded, vec![inside]);
}

#[tokio::test]
async fn http_digest_when_the_device_asks_for_it() {
    let ep = Endpoint::start(Options {
        http_digest: true,
        ..Options::default()
    })
    .await;
    let source = OnvifSource::new(config(&ep, "c0rrect-h0rse"), None).unwrap();
    let info = source.describe().await.unwrap();
    assert_eq!(info.vendor, "AXIS");
    let seen = ep.seen.lock().unwrap().clone();
    // One 401 challenge, then every request authenticated with Digest (nonce reused, nc counted).
    assert_eq!(
        seen.iter().filter(|s| !s.http_digest_valid).count(),
        1,
        "{seen:?}"
    );
    assert!(seen.last().unwrap().http_digest_valid && seen.last().unwrap().wsse_valid);
}

#[tokio::test]
async fn older_devices_are_found_through_get_capabilities() {
    let ep = Endpoint::start(Options {
        capabilities_only: true,
        ..Options::default()
    })
    .await;
    let source = OnvifSource::new(config(&ep, "c0rrect-h0rse"), None).unwrap();
    source.clock_offset().await.unwrap();
    let map = source.client().services().await.unwrap().clone();
    // Addresses re-based on the configured device URL, paths kept.
    let base = ep.url.trim_end_matches("/onvif/device_service");
    assert_eq!(
        map.search.as_deref(),
        Some(format!("{base}/onvif/SearchRecording").as_str())
    );
    assert_eq!(
        map.replay.as_deref(),
        Some(format!("{base}/onvif/Replay").as_str())
    );
    assert_eq!(
        map.media.as_deref(),
        Some(format!("{base}/onvif/Media").as_str())
    );
    let ops = ep.operations();
    assert_eq!(ops[1..3], ["GetServices", "GetCapabilities"], "{ops:?}");
}
