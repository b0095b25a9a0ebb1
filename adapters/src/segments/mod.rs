//! A [`Source`] over a folder of time-named MP4 segments, such as an NVR's recordings share:
//! `root/{camera}/%Y/%m/%d/%H-%M-%S.mp4`. It lists the folder (names only), opens just the
//! segments overlapping the requested range, cuts at GOP boundaries (the pull starts at the last
//! keyframe at or before the range start, so the first picture decodes), and reports holes
//! between segments and unreadable files as [`Gap`]s rather than skipping them silently.
//!
//! Times: a segment starts at the time in its *name* (UTC) and lasts its own media duration.
//! The name wins over the file's `mvhd` creation time because recorders name files by their
//! wall clock at the start of recording while many muxers leave `mvhd` at 0 or at the encoding
//! time; a disagreement of more than two seconds is logged. See
//! `docs/decisions/0022-segment-times-from-names.md`.

mod pattern;
mod reader;

pub use pattern::{Pattern, PatternError};
pub use reader::{ReadError, SampleRef, SegmentReader};

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use tokio::sync::mpsc;

use crate::{
    AccessUnit, BoxFuture, ClockOffset, DeviceInfo, Error, Event, Gap, GapReason, Plan,
    PullSummary, Source, StreamInfo, TimeRange,
};

/// Holes between segments shorter than this are rounding, not missing footage.
const HOLE_TOLERANCE: SignedDuration = SignedDuration::from_secs(1);

/// One listed segment: its path and the start time from its name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listed {
    pub start: Timestamp,
    pub path: PathBuf,
}

/// A listed segment that was opened: its span, or why it could not be read.
#[derive(Debug)]
struct Span {
    listed: Listed,
    /// `None` when the file could not be read (reported as a gap).
    end: Option<Timestamp>,
}

/// A folder of time-named segments for one camera.
#[derive(Clone, Debug)]
pub struct SegmentFolder {
    root: PathBuf,
    camera: String,
    pattern: Pattern,
}

impl SegmentFolder {
    /// `pattern` is relative to `root`, with `{camera}` replaced by `camera`.
    pub fn new(root: impl Into<PathBuf>, pattern: &str, camera: &str) -> Result<Self, Error> {
        let pattern = Pattern::parse(pattern, camera).map_err(|e| Error::Unsupported {
            what: format!("segment pattern {pattern:?}"),
            why: e.why,
        })?;
        Ok(SegmentFolder {
            root: root.into(),
            camera: camera.to_string(),
            pattern,
        })
    }

    fn target(&self) -> String {
        self.root.display().to_string()
    }

    /// Every segment the folder holds for the camera, in start order (names only; no file is
    /// opened).
    pub fn list(&self) -> Result<Vec<Listed>, Error> {
        let base = self.root.join(self.pattern.fixed_prefix());
        let mut out = Vec::new();
        let prefix = self.pattern.fixed_prefix();
        let depth = self.pattern.depth()
            - usize::from(!prefix.is_empty()) * (prefix.matches('/').count() + 1);
        if base.is_dir() {
            self.walk(&base, &prefix, depth, &mut out)?;
        }
        out.sort_by_key(|l| l.start);
        Ok(out)
    }

    fn walk(
        &self,
        dir: &Path,
        rel: &str,
        depth: usize,
        out: &mut Vec<Listed>,
    ) -> Result<(), Error> {
        let io_err = |e: std::io::Error| Error::Io {
            target: dir.display().to_string(),
            message: "cannot list the segment folder".into(),
            source: e,
        };
        for entry in std::fs::read_dir(dir).map_err(io_err)? {
            let entry = entry.map_err(io_err)?;
            let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                continue;
            };
            let rel_path = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            let ft = entry.file_type().map_err(io_err)?;
            if ft.is_dir() && depth > 1 {
                self.walk(&entry.path(), &rel_path, depth - 1, out)?;
            } else if ft.is_file()
                && depth == 1
                && let Some(start) = self.pattern.match_path(&rel_path)
            {
                out.push(Listed {
                    start,
                    path: entry.path(),
                });
            }
        }
        Ok(())
    }

    /// The listed segments that may overlap `range`: from the last one starting at or before
    /// the range start to the last one starting before its end.
    fn candidates(&self, range: TimeRange) -> Result<Vec<Listed>, Error> {
        let all = self.list()?;
        let first = all
            .iter()
            .rposition(|l| l.start <= range.start)
            .unwrap_or(0);
        Ok(all
            .into_iter()
            .skip(first)
            .filter(|l| l.start < range.end)
            .collect())
    }

    /// Opens each candidate's `moov` to learn its end.
    fn spans(&self, range: TimeRange) -> Result<Vec<Span>, Error> {
        let mut spans = Vec::new();
        for listed in self.candidates(range)? {
            let end = match open(&listed.path) {
                Ok(r) => {
                    check_name_against_file(&listed, &r);
                    Some(add(listed.start, r.duration))
                }
                Err(e) => {
                    tracing::warn!(path = %listed.path.display(), error = %e, "segment unreadable");
                    None
                }
            };
            if end.is_some_and(|e| e <= range.start) {
                continue;
            }
            spans.push(Span { listed, end });
        }
        Ok(spans)
    }

    /// Gaps of `range` not covered by readable `spans`.
    fn gaps(&self, range: TimeRange, spans: &[Span]) -> (Vec<TimeRange>, Vec<Gap>) {
        let mut recorded: Vec<TimeRange> = Vec::new();
        let mut gaps = Vec::new();
        let mut cursor = range.start;
        let mut seen_any = false;
        for (i, s) in spans.iter().enumerate() {
            let start = s.listed.start.max(range.start);
            if start.duration_since(cursor) > HOLE_TOLERANCE {
                let reason = if seen_any {
                    GapReason::SegmentMissing {
                        path: self.expected_path(cursor),
                    }
                } else {
                    GapReason::NotRecorded
                };
                gaps.push(Gap {
                    stream: None,
                    start: cursor,
                    end: start.min(range.end),
                    reason,
                });
            }
            match s.end {
                Some(end) => {
                    let end = end.min(range.end);
                    match recorded.last_mut() {
                        Some(last) if start.duration_since(last.end) <= HOLE_TOLERANCE => {
                            last.end = end
                        }
                        _ => recorded.push(TimeRange { start, end }),
                    }
                    cursor = cursor.max(end);
                }
                None => {
                    let end = spans
                        .get(i + 1)
                        .map_or(range.end, |n| n.listed.start)
                        .min(range.end);
                    gaps.push(Gap {
                        stream: None,
                        start,
                        end,
                        reason: GapReason::SegmentMissing {
                            path: s.listed.path.display().to_string(),
                        },
                    });
                    cursor = cursor.max(end);
                }
            }
            seen_any = true;
        }
        if range.end.duration_since(cursor) > HOLE_TOLERANCE {
            gaps.push(Gap {
                stream: None,
                start: cursor,
                end: range.end,
                reason: GapReason::NotRecorded,
            });
        }
        (recorded, gaps)
    }

    /// Where a segment starting at `t` would be (rounded to the second), for gap reports.
    fn expected_path(&self, t: Timestamp) -> String {
        let rounded = t.round(jiff::Unit::Second).unwrap_or(t);
        self.root
            .join(self.pattern.format(rounded))
            .display()
            .to_string()
    }

    /// The blocking body of [`Source::pull`].
    fn pull_blocking(
        &self,
        range: TimeRange,
        tx: &mpsc::Sender<Event>,
    ) -> Result<PullSummary, Error> {
        let spans = self.spans(range)?;
        let (_, gaps) = self.gaps(range, &spans);
        let mut summary = PullSummary::default();
        let mut pending_gaps = gaps.into_iter().peekable();
        let mut sent_streams: Option<Vec<StreamInfo>> = None;
        // Base of the pull's pts: the first emitted unit's absolute time.
        let mut base: Option<Timestamp> = None;
        let mut first_segment = true;
        // Last decode time sent per stream: segments may overlap by a frame (an audio frame
        // crossing the cut), and decode times must stay monotonic, so overlapping units are
        // dropped.
        let mut last_dts: Vec<Option<i64>> = Vec::new();
        let send = |ev: Event| tx.blocking_send(ev).is_ok();

        for span in spans.iter().filter(|s| s.end.is_some()) {
            let seg_start = span.listed.start;
            while let Some(g) =
                pending_gaps.next_if(|g| g.start < seg_start.max(range.start) || g.end <= seg_start)
            {
                summary.gaps.push(g.clone());
                if !send(Event::Gap(g)) {
                    return Ok(summary);
                }
            }
            let mut reader = match open(&span.listed.path) {
                Ok(r) => r,
                Err(e) => {
                    let g = Gap {
                        stream: None,
                        start: seg_start,
                        end: span.end.unwrap_or(seg_start),
                        reason: GapReason::SegmentMissing {
                            path: span.listed.path.display().to_string(),
                        },
                    };
                    tracing::warn!(path = %span.listed.path.display(), error = %e, "segment vanished");
                    summary.gaps.push(g.clone());
                    send(Event::Gap(g));
                    continue;
                }
            };
            if sent_streams.as_ref() != Some(&reader.streams) {
                sent_streams = Some(reader.streams.clone());
                if !send(Event::Streams(reader.streams.clone())) {
                    return Ok(summary);
                }
            }
            let rates: Vec<u32> = reader.streams.iter().map(|s| s.clock_rate).collect();
            let abs = |s: &SampleRef| add_ticks(seg_start, s.time, rates[s.stream]);
            // Where to start: the last video keyframe at or before the range start.
            let mut from = 0;
            if first_segment {
                let has_video = reader.streams[0].codec != crate::Codec::Aac;
                let key_before = reader
                    .samples
                    .iter()
                    .rposition(|s| s.stream == 0 && s.keyframe && abs(s) <= range.start);
                from = match key_before {
                    Some(i) => i,
                    None if has_video => reader
                        .samples
                        .iter()
                        .position(|s| s.stream == 0 && s.keyframe)
                        .unwrap_or(reader.samples.len()),
                    None => reader
                        .samples
                        .iter()
                        .position(|s| abs(s) >= range.start)
                        .unwrap_or(reader.samples.len()),
                };
            }
            let cut = reader.samples.get(from).map(&abs);
            // The end is cut in presentation order: per stream, everything decoded up to the
            // last sample shown before the range end (with B-frames that includes the picture
            // shown just after the end that the last ones reference).
            let shown = |s: &SampleRef| {
                let t = i64::try_from(s.time)
                    .unwrap_or(i64::MAX)
                    .saturating_add(s.cto);
                add_ticks(seg_start, t.max(0) as u64, rates[s.stream])
            };
            let mut last_needed: Vec<Option<usize>> = vec![None; reader.streams.len()];
            for (i, s) in reader.samples.iter().enumerate().skip(from) {
                if shown(s) < range.end
                    && let Some(l) = last_needed.get_mut(s.stream)
                {
                    *l = Some(i);
                }
            }
            let samples: Vec<SampleRef> = reader.samples[from..]
                .iter()
                .enumerate()
                .filter(|(i, s)| {
                    cut.is_none_or(|c| abs(s) >= c)
                        && last_needed
                            .get(s.stream)
                            .copied()
                            .flatten()
                            .is_some_and(|j| from + i <= j)
                })
                .map(|(_, s)| *s)
                .collect();
            for s in samples {
                let t = abs(&s);
                let base_t = *base.get_or_insert(t);
                let data = match reader.read(&s) {
                    Ok(d) => d,
                    Err(e) => {
                        tracing::warn!(path = %span.listed.path.display(), error = %e, "segment sample unreadable");
                        let g = Gap {
                            stream: None,
                            start: t,
                            end: span.end.unwrap_or(t).min(range.end),
                            reason: GapReason::SegmentMissing {
                                path: span.listed.path.display().to_string(),
                            },
                        };
                        summary.gaps.push(g.clone());
                        send(Event::Gap(g));
                        break;
                    }
                };
                let rate = rates[s.stream];
                let offset = seg_start.duration_since(base_t);
                let dts = ((offset.as_nanos() * i128::from(rate) / 1_000_000_000) as i64)
                    .saturating_add(i64::try_from(s.time).unwrap_or(i64::MAX));
                if last_dts.len() <= s.stream {
                    last_dts.resize(s.stream + 1, None);
                }
                if last_dts[s.stream].is_some_and(|l| dts <= l) {
                    tracing::debug!(
                        stream = s.stream,
                        dts,
                        "unit overlaps the previous segment; dropped"
                    );
                    continue;
                }
                last_dts[s.stream] = Some(dts);
                summary.units += 1;
                summary.bytes += data.len() as u64;
                // With B-frames a picture is shown `cto` ticks after (or before) it is decoded.
                let shown = i128::from(s.cto) * 1_000_000_000 / i128::from(rate.max(1));
                let unit = AccessUnit {
                    stream: s.stream,
                    pts: dts.saturating_add(s.cto),
                    dts: Some(dts),
                    device_time: Some(
                        Timestamp::from_nanosecond(t.as_nanosecond().saturating_add(shown))
                            .unwrap_or(t),
                    ),
                    received_at: Timestamp::now(),
                    keyframe: s.keyframe,
                    data,
                };
                if !send(Event::Unit(unit)) {
                    return Ok(summary);
                }
            }
            first_segment = false;
        }
        for g in pending_gaps {
            summary.gaps.push(g.clone());
            if !send(Event::Gap(g)) {
                return Ok(summary);
            }
        }
        send(Event::End);
        Ok(summary)
    }
}

fn open(path: &Path) -> Result<SegmentReader<BufReader<File>>, ReadError> {
    let f = File::open(path)?;
    SegmentReader::open(BufReader::with_capacity(256 << 10, f))
}

fn add(t: Timestamp, d: Duration) -> Timestamp {
    t.checked_add(SignedDuration::try_from(d).unwrap_or(SignedDuration::MAX))
        .unwrap_or(t)
}

fn add_ticks(t: Timestamp, ticks: u64, rate: u32) -> Timestamp {
    let ns = u128::from(ticks) * 1_000_000_000 / u128::from(rate.max(1));
    add(t, Duration::from_nanos(ns.min(u128::from(u64::MAX)) as u64))
}

fn check_name_against_file<R>(listed: &Listed, r: &SegmentReader<R>) {
    if let Some(c) = r.creation_time {
        let diff = c.duration_since(listed.start).abs();
        if diff > SignedDuration::from_secs(2) {
            tracing::warn!(
                path = %listed.path.display(),
                name_time = %listed.start,
                file_time = %c,
                "segment name and mvhd creation time disagree; using the name"
            );
        }
    }
}

impl Source for SegmentFolder {
    fn describe(&self) -> BoxFuture<'_, Result<DeviceInfo, Error>> {
        Box::pin(async move {
            Ok(DeviceInfo {
                vendor: "segment folder".into(),
                model: self.target(),
                serial: self.camera.clone(),
                firmware: String::new(),
            })
        })
    }

    fn clock_offset(&self) -> BoxFuture<'_, Result<ClockOffset, Error>> {
        Box::pin(async move {
            Err(Error::Unsupported {
                what: format!("clock offset of the segment folder {}", self.target()),
                why: "a folder has no live clock; segment names are read as UTC".into(),
            })
        })
    }

    /// One recording: the folder, from its first segment to the end of its last, with the
    /// spans actually covered (each segment's header is read, not its media).
    fn recordings(&self) -> BoxFuture<'_, Result<Vec<crate::Recording>, Error>> {
        let this = self.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                let listed = this.list()?;
                let (Some(first), Some(last)) = (listed.first(), listed.last()) else {
                    return Ok(Vec::new());
                };
                // Segments are at most a day long in any NVR layout this source reads.
                let all = TimeRange {
                    start: first.start,
                    end: last.start + SignedDuration::from_hours(24),
                };
                let spans = this.spans(all)?;
                let (recorded, _) = this.gaps(all, &spans);
                Ok(vec![crate::Recording {
                    id: this.camera.clone(),
                    source: this.target(),
                    start: recorded.first().map(|r| r.start),
                    end: recorded.last().map(|r| r.end),
                    status: format!("{} segments", listed.len()),
                    spans: recorded,
                }])
            })
            .await
            .map_err(|e| Error::Io {
                target: self.target(),
                message: "segment listing task failed".into(),
                source: std::io::Error::other(e.to_string()),
            })?
        })
    }

    fn plan(&self, range: TimeRange) -> BoxFuture<'_, Result<Plan, Error>> {
        let this = self.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                let spans = this.spans(range)?;
                let (recorded, missing) = this.gaps(range, &spans);
                Ok(Plan {
                    requested: range,
                    recorded,
                    missing,
                })
            })
            .await
            .map_err(|e| Error::Io {
                target: self.target(),
                message: "segment planning task failed".into(),
                source: std::io::Error::other(e.to_string()),
            })?
        })
    }

    fn pull(
        &self,
        range: TimeRange,
        tx: mpsc::Sender<Event>,
    ) -> BoxFuture<'_, Result<PullSummary, Error>> {
        let this = self.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || this.pull_blocking(range, &tx))
                .await
                .map_err(|e| Error::Io {
                    target: self.target(),
                    message: "segment pull task failed".into(),
                    source: std::io::Error::other(e.to_string()),
                })?
        })
    }
}
