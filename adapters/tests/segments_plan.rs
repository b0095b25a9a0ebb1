//! The segment-folder source against real files made by ffmpeg: planning a range partly
//! outside the recordings, a missing and a corrupt segment, files that do not follow the
//! pattern, and the GOP cut at the start of a pull.

use std::path::Path;
use std::process::Command;

use jiff::Timestamp;
use scelle_adapters::segments::SegmentFolder;
use scelle_adapters::{Event, GapReason, Source, TimeRange};
use tokio::sync::mpsc;

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

/// Three 4 s H.264 segments at 08:00:00, 08:00:04, 08:00:08 (GOP 2 s), plus noise files.
fn folder(root: &Path) {
    let clip = root.join("clip.mp4");
    let out = Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=160x90:rate=25:duration=12",
        ])
        .args([
            "-c:v", "libx264", "-pix_fmt", "yuv420p", "-g", "50", "-bf", "0",
        ])
        .arg(&clip)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-i"])
        .arg(&clip)
        .args([
            "-c",
            "copy",
            "-f",
            "segment",
            "-segment_time",
            "4",
            "-reset_timestamps",
            "1",
        ])
        .arg(root.join("seg%d.mp4"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let day = root.join("cam1/2026/11/23");
    std::fs::create_dir_all(&day).unwrap();
    for i in 0..3 {
        std::fs::rename(
            root.join(format!("seg{i}.mp4")),
            day.join(format!("08-00-{:02}.mp4", i * 4)),
        )
        .unwrap();
    }
    std::fs::remove_file(&clip).unwrap();
    // Not segments of cam1: another camera, a temporary file, a stray name.
    std::fs::create_dir_all(root.join("cam2/2026/11/23")).unwrap();
    std::fs::write(root.join("cam2/2026/11/23/08-00-00.mp4"), b"x").unwrap();
    std::fs::write(day.join("08-00-12.mp4.part"), b"x").unwrap();
    std::fs::write(day.join("notes.txt"), b"x").unwrap();
}

fn source(root: &Path) -> SegmentFolder {
    SegmentFolder::new(root, "{camera}/%Y/%m/%d/%H-%M-%S.mp4", "cam1").unwrap()
}

#[test]
fn lists_only_matching_names() {
    let dir = tempfile::tempdir().unwrap();
    folder(dir.path());
    let listed = source(dir.path()).list().unwrap();
    let starts: Vec<Timestamp> = listed.iter().map(|l| l.start).collect();
    assert_eq!(
        starts,
        [
            ts("2026-11-23T08:00:00Z"),
            ts("2026-11-23T08:00:04Z"),
            ts("2026-11-23T08:00:08Z")
        ]
    );
}

#[tokio::test]
async fn plan_of_a_range_partly_outside_the_recordings() {
    let dir = tempfile::tempdir().unwrap();
    folder(dir.path());
    std::fs::remove_file(dir.path().join("cam1/2026/11/23/08-00-04.mp4")).unwrap();
    let range = TimeRange {
        start: ts("2026-11-23T07:59:50Z"),
        end: ts("2026-11-23T08:00:20Z"),
    };
    let plan = source(dir.path()).plan(range).await.unwrap();
    assert_eq!(
        plan.recorded,
        [
            TimeRange {
                start: ts("2026-11-23T08:00:00Z"),
                end: ts("2026-11-23T08:00:04Z")
            },
            TimeRange {
                start: ts("2026-11-23T08:00:08Z"),
                end: ts("2026-11-23T08:00:12Z")
            }
        ]
    );
    let spans: Vec<(Timestamp, Timestamp)> =
        plan.missing.iter().map(|g| (g.start, g.end)).collect();
    assert_eq!(
        spans,
        [
            (ts("2026-11-23T07:59:50Z"), ts("2026-11-23T08:00:00Z")),
            (ts("2026-11-23T08:00:04Z"), ts("2026-11-23T08:00:08Z")),
            (ts("2026-11-23T08:00:12Z"), ts("2026-11-23T08:00:20Z")),
        ]
    );
    assert_eq!(plan.missing[0].reason, GapReason::NotRecorded);
    assert!(
        matches!(&plan.missing[1].reason, GapReason::SegmentMissing { path } if path.ends_with("08-00-04.mp4"))
    );
    assert_eq!(plan.missing[2].reason, GapReason::NotRecorded);
}

#[tokio::test]
async fn a_corrupt_segment_is_a_gap_not_a_failure() {
    let dir = tempfile::tempdir().unwrap();
    folder(dir.path());
    let bad = dir.path().join("cam1/2026/11/23/08-00-04.mp4");
    std::fs::write(&bad, b"\0\0\0\x20ftypisom garbage that is not a movie").unwrap();
    let range = TimeRange {
        start: ts("2026-11-23T08:00:00Z"),
        end: ts("2026-11-23T08:00:12Z"),
    };
    let (tx, mut rx) = mpsc::channel(16);
    let src = source(dir.path());
    let pull = tokio::spawn(async move { src.pull(range, tx).await });
    let (mut units, mut gaps, mut ended) = (0, Vec::new(), false);
    while let Some(ev) = rx.recv().await {
        match ev {
            Event::Unit(_) => units += 1,
            Event::Gap(g) => gaps.push(g),
            Event::End => ended = true,
            Event::Streams(_) | Event::Pace(_) => {}
        }
    }
    let summary = pull.await.unwrap().unwrap();
    assert!(ended);
    assert_eq!(units, 200);
    assert_eq!(summary.units, 200);
    assert_eq!(gaps.len(), 1, "{gaps:?}");
    assert_eq!(gaps[0].start, ts("2026-11-23T08:00:04Z"));
    assert_eq!(gaps[0].end, ts("2026-11-23T08:00:08Z"));
    assert!(
        matches!(&gaps[0].reason, GapReason::SegmentMissing { path } if path.ends_with("08-00-04.mp4"))
    );
}

#[tokio::test]
async fn pull_starts_at_the_keyframe_before_the_range_and_units_are_well_formed() {
    let dir = tempfile::tempdir().unwrap();
    folder(dir.path());
    let range = TimeRange {
        start: ts("2026-11-23T08:00:05Z"),
        end: ts("2026-11-23T08:00:09Z"),
    };
    let (tx, mut rx) = mpsc::channel(16);
    let src = source(dir.path());
    let pull = tokio::spawn(async move { src.pull(range, tx).await });
    let mut units = Vec::new();
    let mut streams = None;
    while let Some(ev) = rx.recv().await {
        match ev {
            Event::Unit(u) => units.push(u),
            Event::Streams(s) => streams = Some(s),
            Event::Gap(g) => panic!("unexpected gap {g:?}"),
            Event::Pace(p) => panic!("unexpected pace {p:?}"),
            Event::End => break,
        }
    }
    pull.await.unwrap().unwrap();
    let streams = streams.unwrap();
    assert_eq!(streams.len(), 1);
    assert_eq!(streams[0].parameter_sets.len(), 2);
    assert_eq!(streams[0].width, Some(160));
    // 08:00:04 (keyframe) to 08:00:09, across the segment boundary at 08:00:08.
    assert_eq!(units.len(), 5 * 25);
    assert!(units[0].keyframe);
    assert_eq!(units[0].device_time, Some(ts("2026-11-23T08:00:04Z")));
    assert_eq!(units[0].pts, 0);
    let rate = i64::from(streams[0].clock_rate);
    assert_eq!(units[100].pts, 4 * rate);
    assert_eq!(units[100].device_time, Some(ts("2026-11-23T08:00:08Z")));
    for u in &units {
        let mut rest = &u.data[..];
        while !rest.is_empty() {
            let len = u32::from_be_bytes(rest[..4].try_into().unwrap()) as usize;
            rest = &rest[4 + len..];
        }
    }
}

/// The committed demo folder (`demo/make-footage.sh`) stays what `scelle demo` expects: three
/// readable segments and one reported hole at 14:00:20.
#[tokio::test]
async fn demo_footage_plans_with_one_hole() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../demo/footage");
    let range = TimeRange {
        start: ts("2026-01-15T14:00:00Z"),
        end: ts("2026-01-15T14:00:40Z"),
    };
    let plan = source(&root).plan(range).await.unwrap();
    assert_eq!(plan.recorded.len(), 2, "{:?}", plan.recorded);
    assert_eq!(plan.missing.len(), 1, "{:?}", plan.missing);
    assert_eq!(plan.missing[0].start, ts("2026-01-15T14:00:20Z"));
    assert_eq!(plan.missing[0].end, ts("2026-01-15T14:00:30Z"));
    assert!(
        matches!(&plan.missing[0].reason, GapReason::SegmentMissing { path } if path.ends_with("cam1/2026/01/15/14-00-20.mp4"))
    );
}
