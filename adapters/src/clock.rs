//! Measuring a device's clock against the site server's (FLD-1).
//!
//! A reading of the device clock taken during a request is bracketed by the server's clock
//! before sending and after receiving: the device read its clock somewhere in that round trip,
//! so `offset = device − midpoint`, known to `± RTT/2`. Devices report whole seconds
//! (ONVIF GetSystemDateAndTime, HTTP/RTSP `Date`), so the reading `t` stands for `[t, t+1 s)`:
//! the estimate uses `t + 0.5 s` and the uncertainty grows by 0.5 s. See
//! `docs/decisions/0031-clock-offset.md`.
//!
//! The server clock is a [`Clock`] passed in, so tests can fake time. It is the one clock trait
//! of the code base: the purge scheduler uses it too.

use jiff::{SignedDuration, Timestamp};

use crate::ClockOffset;

/// The site server's clock. Production uses [`SystemClock`]; tests may substitute.
pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;
}

/// The system's real-time clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// A clock that says what it is told (tests, and replays of past decisions).
#[derive(Clone, Copy, Debug)]
pub struct FixedClock(pub Timestamp);

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        self.0
    }
}

/// Offset from one device reading of resolution `resolution_ms`, taken between `sent` and
/// `received` (server clock).
pub fn from_reading(
    sent: Timestamp,
    received: Timestamp,
    device: Timestamp,
    resolution_ms: u64,
) -> ClockOffset {
    let rtt = received.duration_since(sent).as_millis().max(0) as i64;
    let midpoint = sent
        .checked_add(SignedDuration::from_millis(rtt / 2))
        .unwrap_or(sent);
    let device_mid = device
        .checked_add(SignedDuration::from_millis(resolution_ms as i64 / 2))
        .unwrap_or(device);
    let offset_ms = device_mid.duration_since(midpoint).as_millis() as i64;
    ClockOffset {
        measured_at: midpoint,
        offset_ms,
        uncertainty_ms: (rtt as u64).div_ceil(2) + resolution_ms.div_ceil(2),
    }
}

/// Offset from an HTTP or RTSP `Date` header (`Mon, 23 Nov 2026 09:11:26 GMT`), for devices
/// without ONVIF. `None` if the header is not a date.
pub fn from_date_header(header: &str, sent: Timestamp, received: Timestamp) -> Option<ClockOffset> {
    let device = jiff::fmt::rfc2822::DateTimeParser::new()
        .parse_timestamp(header.trim())
        .ok()?;
    Some(from_reading(sent, received, device, 1000))
}

/// Converts a device timestamp to the server's clock with a measured offset.
pub fn device_to_server(t: Timestamp, offset: &ClockOffset) -> Timestamp {
    t.checked_sub(SignedDuration::from_millis(offset.offset_ms))
        .unwrap_or(t)
}

/// Converts a server timestamp to what the device's clock showed at that moment.
pub fn server_to_device(t: Timestamp, offset: &ClockOffset) -> Timestamp {
    t.checked_add(SignedDuration::from_millis(offset.offset_ms))
        .unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn offset_is_bounded_by_half_the_round_trip() {
        // Device 3 minutes late, 200 ms round trip, reading truncated to the second.
        let o = from_reading(
            ts("2026-11-23T10:00:00.000Z"),
            ts("2026-11-23T10:00:00.200Z"),
            ts("2026-11-23T09:57:00Z"),
            1000,
        );
        assert_eq!(o.offset_ms, -180_000 + 500 - 100);
        assert_eq!(o.uncertainty_ms, 100 + 500);
        assert_eq!(o.measured_at, ts("2026-11-23T10:00:00.100Z"));
    }

    #[test]
    fn reads_http_date_headers() {
        let o = from_date_header(
            "Mon, 23 Nov 2026 10:00:10 GMT",
            ts("2026-11-23T10:00:00Z"),
            ts("2026-11-23T10:00:00.010Z"),
        )
        .unwrap();
        assert_eq!(o.offset_ms, 10_000 + 500 - 5);
        assert!(
            from_date_header(
                "yesterday",
                ts("2026-11-23T10:00:00Z"),
                ts("2026-11-23T10:00:00Z")
            )
            .is_none()
        );
    }

    #[test]
    fn converts_both_ways() {
        let o = ClockOffset {
            measured_at: ts("2026-11-23T10:00:00Z"),
            offset_ms: -180_000,
            uncertainty_ms: 600,
        };
        let t = ts("2026-11-23T10:00:00Z");
        assert_eq!(server_to_device(t, &o), ts("2026-11-23T09:57:00Z"));
        assert_eq!(device_to_server(server_to_device(t, &o), &o), t);
    }
}
