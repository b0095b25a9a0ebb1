//! Time arithmetic for a pull: 32-bit RTP timestamps unwrapped to 64 bits, conversions between
//! clock ticks, nanoseconds and absolute times, and the ONVIF `clock=` range format. Kept apart
//! from the pull so the arithmetic can be tested on its own.

use jiff::Timestamp;

/// Extends 32-bit RTP timestamps to a monotonic 64-bit count (wrap-around safe, tolerant of
/// small backward steps such as B-frames).
#[derive(Clone, Debug, Default)]
pub(super) struct Unwrapper {
    last: Option<i64>,
}

impl Unwrapper {
    pub(super) fn unwrap(&mut self, ts: u32) -> i64 {
        let v = self.peek(ts);
        self.last = Some(v);
        v
    }

    /// The extended value of `ts` without moving the reference.
    pub(super) fn peek(&self, ts: u32) -> i64 {
        match self.last {
            None => i64::from(ts),
            Some(last) => last + i64::from(ts.wrapping_sub(last as u32) as i32),
        }
    }

    pub(super) fn reset(&mut self) {
        self.last = None;
    }
}

/// Nanoseconds from `a` to `b`.
pub(super) fn nanos_between(a: Timestamp, b: Timestamp) -> i128 {
    b.as_nanosecond() - a.as_nanosecond()
}

/// `ns` nanoseconds in ticks of `rate` Hz, rounded to nearest.
pub(super) fn ns_to_ticks(ns: i128, rate: u32) -> i64 {
    let num = ns * i128::from(rate);
    let q = (num + num.signum() * 500_000_000) / 1_000_000_000;
    q as i64
}

/// `ticks` of `rate` Hz in nanoseconds.
pub(super) fn ticks_to_ns(ticks: i64, rate: u32) -> i128 {
    i128::from(ticks) * 1_000_000_000 / i128::from(rate.max(1))
}

/// `t` plus `ns` nanoseconds (saturating at `t` if out of range).
pub(super) fn add_ns(t: Timestamp, ns: i128) -> Timestamp {
    Timestamp::from_nanosecond(t.as_nanosecond() + ns).unwrap_or(t)
}

/// ONVIF / RFC 2326 `clock=` form: `19000101T000010.500Z`.
pub(super) fn clock_format(t: Timestamp) -> String {
    let mut s = t.strftime("%Y%m%dT%H%M%S").to_string();
    let ms = t.as_nanosecond().rem_euclid(1_000_000_000) / 1_000_000;
    if ms != 0 {
        s.push_str(&format!(".{ms:03}"));
    }
    s.push('Z');
    s
}

/// Start of an `npt=` range in seconds (`npt=10.5-20`, `npt=now-`).
pub(super) fn npt_start(range: &str) -> Option<f64> {
    let v = range.trim().strip_prefix("npt=")?;
    let start = v.split('-').next()?.trim();
    if let Ok(secs) = start.parse::<f64>() {
        return Some(secs);
    }
    // hh:mm:ss(.frac)
    let mut total = 0.0;
    for part in start.split(':') {
        total = total * 60.0 + part.parse::<f64>().ok()?;
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unwraps_across_the_32_bit_boundary() {
        let mut u = Unwrapper::default();
        assert_eq!(u.unwrap(u32::MAX - 10), i64::from(u32::MAX - 10));
        assert_eq!(u.unwrap(5), i64::from(u32::MAX) + 6);
        assert_eq!(u.unwrap(1), i64::from(u32::MAX) + 2);
    }

    #[test]
    fn formats_and_parses_ranges() {
        let t: Timestamp = "1900-01-01T00:00:10.5Z".parse().unwrap();
        assert_eq!(clock_format(t), "19000101T000010.500Z");
        assert_eq!(npt_start("npt=10.25-20"), Some(10.25));
        assert_eq!(npt_start("npt=0:01:02.5-"), Some(62.5));
        assert_eq!(ns_to_ticks(1_000_000_000, 90_000), 90_000);
        assert_eq!(ticks_to_ns(45_000, 90_000), 500_000_000);
    }
}
