//! [`Mp4Writer`]: the state machine that buffers one GOP per fragment, derives sample durations
//! from pts deltas, writes the head once the absolute start time is known (from the first unit)
//! and reports the media time it covered.

use std::io::Write;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use jiff::{SignedDuration, Timestamp};
use scelle_adapters::{AccessUnit, Gap, StreamInfo, TimeRange};

use super::fragment::{Run, Sample, write_fragment};
use super::init::{Track, write_head};
use super::{Mp4Error, Provenance};

/// A fragment is cut early when its samples exceed this many bytes (a very long GOP must not
/// make memory grow without bound).
const MAX_FRAGMENT_BYTES: u64 = 32 << 20;
/// ...or this many samples in one track.
const MAX_FRAGMENT_SAMPLES: usize = 1500;

/// What one track holds once the file is finished.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrackSummary {
    pub stream: usize,
    pub samples: u64,
    /// Media time covered by the track's samples (from the first decode time to the end of the
    /// last sample).
    pub duration: Duration,
}

/// What the writer produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mp4Summary {
    /// Absolute time of media time 0 (written to `mvhd` and ONVIF `cstb`).
    pub start: Timestamp,
    /// `true` when `start` is the device's own time for the first unit; `false` when the
    /// caller's fallback was used because the source gave none.
    pub start_from_device: bool,
    /// Spans of absolute time the first track actually covers, split at gaps.
    pub covered: Vec<TimeRange>,
    pub tracks: Vec<TrackSummary>,
    pub gaps: Vec<Gap>,
    pub fragments: u32,
    pub bytes: u64,
    /// Video units dropped because no keyframe preceded them (at the start, or after a gap):
    /// they would reference pictures the file does not hold.
    pub skipped_before_keyframe: u64,
}

struct TrackState {
    track: Track,
    pending: Vec<Sample>,
    /// Media time of the last accepted sample.
    last_time: Option<u64>,
    /// Its pts as the source gave it.
    last_pts: Option<i64>,
    first_time: Option<u64>,
    end_time: u64,
    last_delta: u32,
    /// The next sample follows a gap: the previous one gets the typical duration, not the hole.
    after_gap: bool,
    /// New parameter sets (length-prefixed) to put in front of the next keyframe.
    prefix: Option<Bytes>,
    seen_keyframe: bool,
    samples: u64,
}

impl TrackState {
    fn pending_bytes(&self) -> u64 {
        self.pending.iter().map(Sample::size).sum()
    }
}

/// Writes a fragmented MP4 into any [`Write`], never seeking back.
pub struct Mp4Writer<W: Write> {
    out: W,
    provenance: Provenance,
    fallback_start: Timestamp,
    tracks: Vec<TrackState>,
    /// Origin of the media timeline: (pts, clock rate) of the first accepted unit.
    origin: Option<(i64, u32)>,
    start: Option<(Timestamp, bool)>,
    head_written: bool,
    sequence: u32,
    bytes: u64,
    gaps: Vec<Gap>,
    covered: Vec<TimeRange>,
    span_open: Option<Timestamp>,
    skipped: u64,
}

impl<W: Write> Mp4Writer<W> {
    /// A writer for `streams`. `fallback_start` is used as the absolute start time when the
    /// first unit carries no device time (e.g. a live pull with no RTCP report yet).
    pub fn new(
        out: W,
        streams: &[StreamInfo],
        provenance: Provenance,
        fallback_start: Timestamp,
    ) -> Result<Self, Mp4Error> {
        if streams.is_empty() {
            return Err(Mp4Error::StreamsChanged {
                why: "no stream to write".into(),
            });
        }
        let tracks = streams
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let track = Track::new(s, i as u32 + 1)?;
                let default_delta = if track.is_video() {
                    s.clock_rate / 25
                } else {
                    1024
                };
                Ok(TrackState {
                    track,
                    pending: Vec::new(),
                    last_time: None,
                    last_pts: None,
                    first_time: None,
                    end_time: 0,
                    last_delta: default_delta.max(1),
                    after_gap: false,
                    prefix: None,
                    seen_keyframe: false,
                    samples: 0,
                })
            })
            .collect::<Result<Vec<_>, Mp4Error>>()?;
        Ok(Mp4Writer {
            out,
            provenance,
            fallback_start,
            tracks,
            origin: None,
            start: None,
            head_written: false,
            sequence: 0,
            bytes: 0,
            gaps: Vec::new(),
            covered: Vec::new(),
            span_open: None,
            skipped: 0,
        })
    }

    /// The streams were described again (e.g. a new segment). Same codecs: new parameter sets
    /// are put in-band before the next keyframe. Different streams: an error, the caller starts
    /// a new file.
    pub fn update_streams(&mut self, streams: &[StreamInfo]) -> Result<(), Mp4Error> {
        if streams.len() != self.tracks.len() {
            return Err(Mp4Error::StreamsChanged {
                why: format!("{} streams instead of {}", streams.len(), self.tracks.len()),
            });
        }
        for (st, info) in self.tracks.iter_mut().zip(streams) {
            let old = &st.track.info;
            if old.codec != info.codec
                || old.index != info.index
                || old.clock_rate != info.clock_rate
            {
                return Err(Mp4Error::StreamsChanged {
                    why: format!("stream {} changed codec or clock", info.index),
                });
            }
            if old.parameter_sets != info.parameter_sets {
                if !self.head_written {
                    st.track = Track::new(info, st.track.track_id)?;
                } else {
                    let mut p = BytesMut::new();
                    for set in &info.parameter_sets {
                        p.put_u32(set.len() as u32);
                        p.put_slice(set);
                    }
                    st.prefix = Some(p.freeze());
                    st.track.info.parameter_sets = info.parameter_sets.clone();
                }
            }
        }
        Ok(())
    }

    /// Records a gap: the current fragment is closed, and the next sample's decode time (from
    /// its pts) shows the hole on the timeline.
    pub fn gap(&mut self, gap: &Gap) -> Result<(), Mp4Error> {
        self.gaps.push(gap.clone());
        for st in &mut self.tracks {
            if gap.stream.is_none() || gap.stream == Some(st.track.info.index) {
                st.after_gap = true;
                // Pictures after a hole may reference lost ones: resume at a keyframe.
                st.seen_keyframe = false;
            }
        }
        self.close_span();
        self.flush()
    }

    /// Adds one access unit.
    pub fn push(&mut self, unit: AccessUnit) -> Result<(), Mp4Error> {
        let k = self
            .tracks
            .iter()
            .position(|t| t.track.info.index == unit.stream)
            .ok_or(Mp4Error::UnknownStream {
                stream: unit.stream,
            })?;
        let is_video = self.tracks[k].track.is_video();
        if is_video && !self.tracks[k].seen_keyframe {
            if !unit.keyframe {
                self.skipped += 1;
                return Ok(());
            }
            self.tracks[k].seen_keyframe = true;
        }
        let clock = self.tracks[k].track.info.clock_rate;
        let (origin_pts, origin_clock) = *self.origin.get_or_insert((unit.pts, clock));
        if self.start.is_none() {
            self.start = Some(match unit.device_time {
                Some(t) => (t, true),
                None => (self.fallback_start, false),
            });
        }
        let origin_here = rescale(origin_pts, origin_clock, clock);
        let rel = unit.pts.saturating_sub(origin_here).max(0) as u64;

        let st = &mut self.tracks[k];
        if let Some(prev) = st.last_pts
            && unit.pts < prev
        {
            return Err(Mp4Error::NonMonotonic {
                stream: unit.stream,
                pts: unit.pts,
                previous: prev,
            });
        }
        st.last_pts = Some(unit.pts);
        if let Some(last) = st.pending.last_mut()
            && last.duration == 0
        {
            if st.after_gap {
                last.duration = st.last_delta;
            } else {
                let d = u32::try_from(rel - last.time).unwrap_or(u32::MAX).max(1);
                last.duration = d;
                st.last_delta = d;
            }
        } else if let Some(prev) = st.last_time
            && !st.after_gap
            && rel > prev
        {
            st.last_delta = u32::try_from(rel - prev).unwrap_or(st.last_delta);
        }
        st.after_gap = false;

        let too_big = st.pending.len() >= MAX_FRAGMENT_SAMPLES
            || st.pending_bytes() + unit.data.len() as u64 > MAX_FRAGMENT_BYTES;
        let any_pending = self.tracks.iter().any(|t| !t.pending.is_empty());
        let audio_only = !self.tracks.iter().any(|t| t.track.is_video());
        let audio_cut = audio_only && self.tracks[k].pending.len() >= 50;
        if any_pending && ((is_video && unit.keyframe) || too_big || audio_cut) {
            self.flush()?;
        }

        if self.span_open.is_none() {
            self.span_open = Some(self.absolute(rel, clock));
        }
        let st = &mut self.tracks[k];
        let prefix = if unit.keyframe {
            st.prefix.take()
        } else {
            None
        };
        st.pending.push(Sample {
            prefix,
            data: unit.data,
            time: rel,
            duration: 0,
            keyframe: unit.keyframe,
        });
        st.last_time = Some(rel);
        st.first_time.get_or_insert(rel);
        st.samples += 1;
        Ok(())
    }

    /// Writes every pending sample as one fragment (the head first if needed).
    fn flush(&mut self) -> Result<(), Mp4Error> {
        if !self.tracks.iter().any(|t| !t.pending.is_empty()) {
            return Ok(());
        }
        self.write_head_once()?;
        for st in &mut self.tracks {
            for s in &mut st.pending {
                if s.duration == 0 {
                    s.duration = st.last_delta;
                }
            }
            if let Some(last) = st.pending.last() {
                st.end_time = last.time + u64::from(last.duration);
            }
        }
        self.sequence += 1;
        let runs: Vec<Run<'_>> = self
            .tracks
            .iter()
            .map(|t| Run {
                track_id: t.track.track_id,
                samples: &t.pending,
            })
            .collect();
        self.bytes += write_fragment(&mut self.out, self.sequence, &runs)?;
        for st in &mut self.tracks {
            st.pending.clear();
        }
        Ok(())
    }

    fn write_head_once(&mut self) -> Result<(), Mp4Error> {
        if self.head_written {
            return Ok(());
        }
        let (start, _) = *self.start.get_or_insert((self.fallback_start, false));
        let tracks: Vec<Track> = self.tracks.iter().map(|t| t.track.clone()).collect();
        let mut head = Vec::with_capacity(2048);
        write_head(&mut head, &tracks, start, &self.provenance);
        self.out.write_all(&head)?;
        self.bytes += head.len() as u64;
        self.head_written = true;
        Ok(())
    }

    fn absolute(&self, media_time: u64, clock: u32) -> Timestamp {
        let start = self.start.map_or(self.fallback_start, |s| s.0);
        let ns = i128::from(media_time) * 1_000_000_000 / i128::from(clock.max(1));
        start
            .checked_add(SignedDuration::from_nanos(
                ns.min(i128::from(i64::MAX)) as i64
            ))
            .unwrap_or(start)
    }

    fn close_span(&mut self) {
        let Some(open) = self.span_open.take() else {
            return;
        };
        let first = &self.tracks[0];
        let end_media = first
            .pending
            .last()
            .map(|s| {
                s.time
                    + u64::from(if s.duration == 0 {
                        first.last_delta
                    } else {
                        s.duration
                    })
            })
            .unwrap_or(first.end_time);
        let end = self.absolute(end_media, first.track.info.clock_rate);
        self.covered.push(TimeRange {
            start: open,
            end: end.max(open),
        });
    }

    /// Writes what is pending, flushes the output and reports what the file holds.
    pub fn finish(mut self) -> Result<(W, Mp4Summary), Mp4Error> {
        self.close_span();
        self.flush()?;
        self.write_head_once()?;
        self.out.flush()?;
        let (start, start_from_device) = self.start.unwrap_or((self.fallback_start, false));
        let tracks = self
            .tracks
            .iter()
            .map(|t| {
                let first = t.first_time.unwrap_or(0);
                let ticks = t.end_time.saturating_sub(first);
                let clock = u64::from(t.track.info.clock_rate.max(1));
                TrackSummary {
                    stream: t.track.info.index,
                    samples: t.samples,
                    duration: Duration::from_nanos(
                        (u128::from(ticks) * 1_000_000_000 / u128::from(clock)) as u64,
                    ),
                }
            })
            .collect();
        let summary = Mp4Summary {
            start,
            start_from_device,
            covered: self.covered,
            tracks,
            gaps: self.gaps,
            fragments: self.sequence,
            bytes: self.bytes,
            skipped_before_keyframe: self.skipped,
        };
        Ok((self.out, summary))
    }
}

/// Converts `pts` ticks at `from` Hz into ticks at `to` Hz.
fn rescale(pts: i64, from: u32, to: u32) -> i64 {
    if from == to {
        return pts;
    }
    (i128::from(pts) * i128::from(to) / i128::from(from.max(1))) as i64
}
