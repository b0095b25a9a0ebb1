//! Turning a recorder's search results into a [`Plan`]: which parts of a requested range are
//! recorded and which are missing, on the site server's clock.
//!
//! Devices report spans on their own clock; they are moved onto the server's with the measured
//! offset before clipping. Devices also report nonsense: an `EarliestRecording` in 1970 (a
//! recording started before the clock was set, or a placeholder), which must neither be taken
//! as "recorded since 1970" nor make the plan fail. A start before [`PLAUSIBLE_SINCE`] is
//! replaced by the earliest plausible track start; when there is none, the start is unknown
//! and the span is taken as open towards the past (the pull then reports what is really there).
//! See `docs/decisions/0032-onvif-planning.md`.

use jiff::Timestamp;

use super::types::RecordingInformation;
use crate::clock::{device_to_server, server_to_device};
use crate::{ClockOffset, Gap, GapReason, Plan, TimeRange};

/// Device timestamps before this are treated as an unset clock.
pub const PLAUSIBLE_SINCE: Timestamp = Timestamp::constant(946_684_800, 0); // 2000-01-01T00:00:00Z

/// The earliest device time trusted, given the device's current clock: [`PLAUSIBLE_SINCE`],
/// unless the device clock itself still runs before it (never set: then its whole timeline is
/// on that clock, and the measured offset maps it onto real time).
pub fn trusted_since(device_now: Timestamp) -> Timestamp {
    if device_now < PLAUSIBLE_SINCE {
        Timestamp::MIN
    } else {
        PLAUSIBLE_SINCE
    }
}

/// The span a recording holds, on the device clock: `(start, end)`, `start == None` meaning
/// "unknown, as far back as the device keeps". `None` if the recording holds nothing usable.
/// Times before `since` (see [`trusted_since`]) are not trusted.
pub fn recording_span(
    rec: &RecordingInformation,
    since: Timestamp,
) -> Option<(Option<Timestamp>, Timestamp)> {
    let plausible = |t: Option<Timestamp>| t.filter(|t| *t >= since);
    let start = plausible(rec.earliest).or_else(|| {
        rec.tracks
            .iter()
            .filter_map(|t| plausible(t.data_from))
            .min()
    });
    let end = plausible(rec.latest)
        .or_else(|| rec.tracks.iter().filter_map(|t| plausible(t.data_to)).max())?;
    match start {
        Some(s) if s >= end => None,
        s => Some((s, end)),
    }
}

/// The plan for `requested` (server clock) given the device's recordings and clock offset.
pub fn plan(
    requested: TimeRange,
    recordings: &[RecordingInformation],
    offset: &ClockOffset,
) -> Plan {
    let since = trusted_since(server_to_device(offset.measured_at, offset));
    let mut spans: Vec<TimeRange> = recordings
        .iter()
        .filter_map(|r| recording_span(r, since))
        .filter_map(|(start, end)| {
            let start = start.map_or(requested.start, |s| {
                device_to_server(s, offset).max(requested.start)
            });
            let end = device_to_server(end, offset).min(requested.end);
            (start < end).then_some(TimeRange { start, end })
        })
        .collect();
    spans.sort_by_key(|s| s.start);
    let mut recorded: Vec<TimeRange> = Vec::new();
    for s in spans {
        match recorded.last_mut() {
            Some(last) if s.start <= last.end => last.end = last.end.max(s.end),
            _ => recorded.push(s),
        }
    }
    let mut missing = Vec::new();
    let mut cursor = requested.start;
    for r in &recorded {
        if r.start > cursor {
            missing.push(Gap {
                stream: None,
                start: cursor,
                end: r.start,
                reason: GapReason::NotRecorded,
            });
        }
        cursor = cursor.max(r.end);
    }
    if cursor < requested.end {
        missing.push(Gap {
            stream: None,
            start: cursor,
            end: requested.end,
            reason: GapReason::NotRecorded,
        });
    }
    Plan {
        requested,
        recorded,
        missing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::onvif::types::{TrackInformation, TrackKind};

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn rec(earliest: &str, latest: &str) -> RecordingInformation {
        RecordingInformation {
            token: "r".into(),
            source_name: String::new(),
            earliest: Some(ts(earliest)),
            latest: Some(ts(latest)),
            tracks: vec![],
            status: String::new(),
        }
    }

    fn zero() -> ClockOffset {
        ClockOffset {
            measured_at: ts("2026-11-23T10:00:00Z"),
            offset_ms: 0,
            uncertainty_ms: 0,
        }
    }

    fn range(a: &str, b: &str) -> TimeRange {
        TimeRange {
            start: ts(a),
            end: ts(b),
        }
    }

    #[test]
    fn gaps_before_between_and_after_recordings() {
        let recs = [
            rec("2026-11-23T10:05:00Z", "2026-11-23T10:10:00Z"),
            rec("2026-11-23T10:20:00Z", "2026-11-23T10:25:00Z"),
        ];
        let p = plan(
            range("2026-11-23T10:00:00Z", "2026-11-23T10:30:00Z"),
            &recs,
            &zero(),
        );
        assert_eq!(p.recorded.len(), 2);
        let gaps: Vec<_> = p.missing.iter().map(|g| (g.start, g.end)).collect();
        assert_eq!(
            gaps,
            vec![
                (ts("2026-11-23T10:00:00Z"), ts("2026-11-23T10:05:00Z")),
                (ts("2026-11-23T10:10:00Z"), ts("2026-11-23T10:20:00Z")),
                (ts("2026-11-23T10:25:00Z"), ts("2026-11-23T10:30:00Z")),
            ]
        );
    }

    #[test]
    fn the_device_offset_moves_spans_onto_the_server_clock() {
        // Device 3 minutes late: its 10:00 is the server's 10:03.
        let off = ClockOffset {
            offset_ms: -180_000,
            ..zero()
        };
        let p = plan(
            range("2026-11-23T10:00:00Z", "2026-11-23T10:30:00Z"),
            &[rec("2026-11-23T10:00:00Z", "2026-11-23T11:00:00Z")],
            &off,
        );
        assert_eq!(p.missing.len(), 1);
        assert_eq!(p.missing[0].end, ts("2026-11-23T10:03:00Z"));
    }

    #[test]
    fn an_earliest_recording_in_1970_is_not_trusted() {
        let mut r = rec("1970-01-01T00:03:15Z", "2026-11-23T10:20:00Z");
        let p = plan(
            range("2026-11-23T10:00:00Z", "2026-11-23T10:30:00Z"),
            &[r.clone()],
            &zero(),
        );
        assert_eq!(
            p.recorded,
            vec![range("2026-11-23T10:00:00Z", "2026-11-23T10:20:00Z")]
        );
        // A plausible track start wins over the bogus earliest.
        r.tracks.push(TrackInformation {
            token: "v".into(),
            kind: TrackKind::Video,
            data_from: Some(ts("2026-11-23T10:10:00Z")),
            data_to: Some(ts("2026-11-23T10:20:00Z")),
        });
        let p = plan(
            range("2026-11-23T10:00:00Z", "2026-11-23T10:30:00Z"),
            &[r],
            &zero(),
        );
        assert_eq!(
            p.recorded,
            vec![range("2026-11-23T10:10:00Z", "2026-11-23T10:20:00Z")]
        );
        assert_eq!(p.missing.len(), 2);
    }

    #[test]
    fn a_device_whose_clock_was_never_set_keeps_its_own_timeline() {
        // The device clock reads 1900 (never set); its recordings are on that clock and the
        // offset maps them onto the server's.
        let device_epoch = ts("1900-01-01T00:00:00Z");
        let server = ts("2026-11-23T10:00:00Z");
        let off = ClockOffset {
            measured_at: server,
            offset_ms: device_epoch.duration_since(server).as_millis() as i64,
            uncertainty_ms: 0,
        };
        let r = rec("1900-01-01T00:00:00Z", "1900-01-01T00:00:10Z");
        let p = plan(
            range("2026-11-23T10:00:00Z", "2026-11-23T10:00:20Z"),
            &[r],
            &off,
        );
        assert_eq!(
            p.recorded,
            vec![range("2026-11-23T10:00:00Z", "2026-11-23T10:00:10Z")]
        );
        assert_eq!(p.missing.len(), 1);
    }

    #[test]
    fn nothing_recorded_is_one_gap() {
        let p = plan(
            range("2026-11-23T10:00:00Z", "2026-11-23T10:30:00Z"),
            &[],
            &zero(),
        );
        assert!(p.recorded.is_empty());
        assert_eq!(p.missing.len(), 1);
    }
}
