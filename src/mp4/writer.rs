//! [`Mp4Writer`]: the state machine that buffers one GOP per fragment, keeps decode order and
//! presentation order apart (decode times from the source when it has them, else derived from
//! the presentation times over the fragment, see [`super::decode`]; sample durations from decode
//! time deltas; composition offsets so each picture is presented at its own time), writes the
//! head once the absolute start time is known (from the first unit) and reports the
//! presentation time it covered.

use std::io::Write;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use jiff::{SignedDuration, Timestamp};
use scelle_adapters::{AccessUnit, Gap, StreamInfo, TimeRange};

use super::decode::decode_times;
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
    /// Media time covered by the track's samples (from the first picture's presentation time to
    /// the end of the latest one shown).
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

/// A unit waiting for its fragment, before its decode time and offsets are settled.
struct Pending {
    prefix: Option<Bytes>,
    data: Bytes,
    pts: i64,
    dts: Option<i64>,
    keyframe: bool,
}

struct TrackState {
    track: Track,
    pending: Vec<Pending>,
    /// Reorder depth: the SPS's, raised by what fragments show (see [`super::decode`]).
    depth: usize,
    /// Decode time (source ticks) of the last written sample.
    last_dts: Option<i64>,
    /// Presentation minus decode time of the track's first sample: decode times are shifted by
    /// it so that the first picture's decode and presentation times are equal.
    shift: Option<i64>,
    /// Added to every composition offset of the track so none is negative (the B-frame delay,
    /// set by the first fragment); the track's edit list starts presentation that much later.
    cto_base: Option<i64>,
    /// Decode time (source ticks) of the unit that follows the pending ones, when it is known
    /// and no gap lies between: the last pending sample's exact duration.
    boundary_dts: Option<i64>,
    /// Media time (presentation) of the first sample, and the end of the latest one.
    first_pres: Option<u64>,
    pres_end: u64,
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
        self.pending
            .iter()
            .map(|p| (p.prefix.as_ref().map_or(0, |x| x.len()) + p.data.len()) as u64)
            .sum()
    }

    /// The last decode time known for this track (pending or written).
    fn latest_dts(&self) -> Option<i64> {
        self.pending
            .iter()
            .rev()
            .find_map(|p| p.dts)
            .or(self.last_dts)
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
                let depth = track.sps.as_ref().map_or(0, |f| f.reorder_depth as usize);
                Ok(TrackState {
                    track,
                    pending: Vec::new(),
                    depth,
                    last_dts: None,
                    shift: None,
                    cto_base: None,
                    boundary_dts: None,
                    first_pres: None,
                    pres_end: 0,
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
        // With video, the file starts at its first picture: audio from before it is dropped
        // (decode times cannot start before the origin).
        if !is_video && self.tracks.iter().any(|t| t.track.is_video()) {
            let before = match self.origin {
                None => true,
                Some((pts, from)) => unit.pts < rescale(pts, from, clock),
            };
            if before {
                return Ok(());
            }
        }
        let (origin_pts, origin_clock) = *self.origin.get_or_insert((unit.pts, clock));
        if self.start.is_none() {
            self.start = Some(match unit.device_time {
                Some(t) => (t, true),
                None => (self.fallback_start, false),
            });
        }
        let origin_here = rescale(origin_pts, origin_clock, clock);
        let pres = unit.pts.saturating_sub(origin_here).max(0) as u64;

        let st = &mut self.tracks[k];
        // Audio has no reordering: its decode time is its presentation time.
        let dts = unit.dts.or((!is_video).then_some(unit.pts));
        match (dts, st.latest_dts()) {
            (Some(d), Some(prev)) if d < prev => {
                return Err(Mp4Error::NonMonotonic {
                    stream: unit.stream,
                    pts: d,
                    previous: prev,
                });
            }
            // Decode times still to be derived: the picture cannot be shown before a picture
            // already written was decoded.
            (None, _) if st.last_dts.is_some_and(|l| unit.pts <= l) => {
                return Err(Mp4Error::NonMonotonic {
                    stream: unit.stream,
                    pts: unit.pts,
                    previous: st.last_dts.unwrap_or_default(),
                });
            }
            _ => {}
        }
        st.boundary_dts = if st.after_gap { None } else { dts };
        st.after_gap = false;

        let too_big = st.pending.len() >= MAX_FRAGMENT_SAMPLES
            || st.pending_bytes() + unit.data.len() as u64 > MAX_FRAGMENT_BYTES;
        let any_pending = self.tracks.iter().any(|t| !t.pending.is_empty());
        let audio_only = !self.tracks.iter().any(|t| t.track.is_video());
        let audio_cut = audio_only && self.tracks[k].pending.len() >= 50;
        // A keyframe closes its own track's GOP (audio that came before the first picture
        // waits for it, so the first fragment holds video and the head its B-frame delay).
        let gop_end = is_video && unit.keyframe && !self.tracks[k].pending.is_empty();
        if any_pending && (gop_end || too_big || audio_cut) {
            self.flush()?;
        }
        self.tracks[k].boundary_dts = None;

        if self.span_open.is_none() {
            self.span_open = Some(self.absolute(pres, clock));
        }
        let st = &mut self.tracks[k];
        let prefix = if unit.keyframe {
            st.prefix.take()
        } else {
            None
        };
        st.pending.push(Pending {
            prefix,
            data: unit.data,
            pts: unit.pts,
            dts,
            keyframe: unit.keyframe,
        });
        st.first_pres.get_or_insert(pres);
        st.samples += 1;
        Ok(())
    }

    /// The origin of the media timeline in `clock` ticks.
    fn origin_in(&self, clock: u32) -> i64 {
        self.origin
            .map_or(0, |(pts, from)| rescale(pts, from, clock))
    }

    /// Settles the pending samples of track `k`: decode times (derived over the fragment when
    /// the source gave none), decode-time deltas as durations, composition offsets.
    fn settle(&mut self, k: usize) -> Vec<Sample> {
        let origin = self.origin_in(self.tracks[k].track.info.clock_rate);
        let st = &mut self.tracks[k];
        let pending = std::mem::take(&mut st.pending);
        if pending.is_empty() {
            return Vec::new();
        }
        let dts: Vec<i64> = if pending.iter().all(|p| p.dts.is_some()) {
            pending.iter().map(|p| p.dts.unwrap_or_default()).collect()
        } else {
            let pts: Vec<i64> = pending.iter().map(|p| p.pts).collect();
            let d = decode_times(&pts, st.depth, i64::from(st.last_delta), st.last_dts);
            st.depth = d.depth;
            d.dts
        };
        let shift = *st.shift.get_or_insert(pending[0].pts - dts[0]);
        let time = |d: i64| d.saturating_add(shift).saturating_sub(origin).max(0) as u64;
        let times: Vec<u64> = dts.iter().map(|&d| time(d)).collect();
        let raw_cto = |i: usize| {
            pending[i]
                .pts
                .saturating_sub(origin)
                .saturating_sub(times[i] as i64)
        };
        let base = *st.cto_base.get_or_insert_with(|| {
            let min = (0..pending.len()).map(raw_cto).min().unwrap_or(0);
            min.saturating_neg().clamp(0, i64::from(i32::MAX))
        });
        let n = pending.len();
        let mut out = Vec::with_capacity(n);
        for (i, p) in pending.into_iter().enumerate() {
            let next = if i + 1 < n {
                Some(times[i + 1])
            } else {
                st.boundary_dts.map(time)
            };
            let duration = match next {
                Some(t) if t > times[i] => u32::try_from(t - times[i]).unwrap_or(u32::MAX),
                Some(_) => 1,
                None => st.last_delta,
            };
            if i + 1 < n && next.is_some_and(|t| t > times[i]) {
                st.last_delta = duration;
            }
            let pres = p.pts.saturating_sub(origin);
            let cto = pres.saturating_sub(times[i] as i64).saturating_add(base);
            let cto = cto.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32;
            let end = (pres.max(0) as u64).saturating_add(u64::from(duration));
            st.pres_end = st.pres_end.max(end);
            out.push(Sample {
                prefix: p.prefix,
                data: p.data,
                time: times[i],
                duration,
                cto,
                keyframe: p.keyframe,
            });
        }
        st.last_dts = dts.last().copied();
        out
    }

    /// Writes every pending sample as one fragment (the head first if needed).
    fn flush(&mut self) -> Result<(), Mp4Error> {
        if !self.tracks.iter().any(|t| !t.pending.is_empty()) {
            return Ok(());
        }
        let settled: Vec<Vec<Sample>> = (0..self.tracks.len()).map(|k| self.settle(k)).collect();
        // The head's edit lists need the first fragment's B-frame delay.
        for st in &mut self.tracks {
            st.track.delay = st.cto_base.unwrap_or(0) as u32;
        }
        self.write_head_once()?;
        self.sequence += 1;
        let runs: Vec<Run<'_>> = self
            .tracks
            .iter()
            .zip(&settled)
            .map(|(t, samples)| Run {
                track_id: t.track.track_id,
                samples,
            })
            .collect();
        self.bytes += write_fragment(&mut self.out, self.sequence, &runs)?;
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
        // The end of the latest picture shown by the first track, pending ones included.
        let clock = self.tracks[0].track.info.clock_rate;
        let origin = self.origin_in(clock);
        let first = &self.tracks[0];
        let end_media = first
            .pending
            .iter()
            .map(|p| {
                (p.pts.saturating_sub(origin).max(0) as u64)
                    .saturating_add(u64::from(first.last_delta))
            })
            .fold(first.pres_end, u64::max);
        let end = self.absolute(end_media, clock);
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
                let first = t.first_pres.unwrap_or(0);
                let ticks = t.pres_end.saturating_sub(first);
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
