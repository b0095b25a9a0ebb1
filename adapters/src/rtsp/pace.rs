//! Faster-than-real-time playback (RTSP `Speed`, decision 0093): reading the server's answer,
//! and judging its first pictures before any is timed. RFC 7826 asks a server delivering at a
//! higher speed to keep RTP timestamps on the media clock; GStreamer's server stamps them at
//! the delivery rate instead (4 s of RTP time for 16 s of footage at `Speed: 4`). So the pull
//! holds its first pictures, tells the two kinds apart by how fast RTP time advances against
//! the wall clock (or, for a range delivered whole before that, against the range's length),
//! and maps RTP time back to media time. A server that fits neither, or that sent fewer
//! pictures than the stream has, is pulled again at real time.

use std::time::Duration;

/// Wall time the first pictures of a sped-up session are held and watched.
pub(super) const PROBE_WALL: Duration = Duration::from_millis(1500);
/// Pictures needed before judging (besides [`PROBE_WALL`]).
pub(super) const PROBE_PICTURES: usize = 8;
/// Bytes held at most while judging (a server sending far faster than asked is judged on what
/// it sent by then, and is then found untrustworthy).
pub(super) const MAX_HELD_BYTES: usize = 64 << 20;
/// The slowest speed worth asking for: below it the two ways of stamping cannot be told
/// apart by timing.
pub const MIN_SPEED: f64 = 1.5;
/// The fastest speed asked for.
pub const MAX_SPEED: f64 = 16.0;

/// The speed a server's `Speed` answer states (`4.000`, or the lower bound of a range
/// `2.0-4.0`), when it is a usable number.
pub fn answered_speed(value: &str) -> Option<f64> {
    let first = value.trim().split('-').next()?.trim();
    first
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s > 0.0 && *s <= 1000.0)
}

/// One held picture: its RTP timestamp, when it arrived (seconds from the first one held),
/// and whether it is a random access point.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Seen {
    pub timestamp: u32,
    pub arrived: f64,
    pub keyframe: bool,
}

/// What is known when judging a sped-up session.
#[derive(Clone, Debug)]
pub struct Probe<'a> {
    /// The speed the server answered.
    pub speed: f64,
    /// The video stream's held pictures, in arrival order.
    pub pictures: &'a [Seen],
    pub clock_rate: u32,
    /// Pictures per second when the SDP states it (`a=framerate`).
    pub framerate: Option<f64>,
    /// The range's length in seconds, when the request has an end.
    pub requested_secs: Option<f64>,
    /// The server ended the range: every picture of it is among those held.
    pub complete: bool,
}

fn near(ratio: f64, target: f64) -> bool {
    ratio.is_finite() && ratio >= target * 0.75 && ratio <= target * 1.33
}

/// Whether enough was held to judge at this point.
pub fn ready(pictures: &[Seen]) -> bool {
    pictures.len() >= PROBE_PICTURES
        && pictures.last().map_or(0.0, |p| p.arrived) >= PROBE_WALL.as_secs_f64()
}

/// The factor from RTP time to media time (1.0: the server keeps the media clock; the
/// speed: it stamps at the delivery rate), or why the session must go on at real time.
pub fn judge(p: &Probe<'_>) -> Result<f64, String> {
    let rate = f64::from(p.clock_rate.max(1));
    let Some(first) = p.pictures.first() else {
        return Err("no picture arrived to check the speed with".into());
    };
    let rel: Vec<f64> = p
        .pictures
        .iter()
        .map(|s| f64::from(s.timestamp.wrapping_sub(first.timestamp) as i32) / rate)
        .collect();
    let lo = rel.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = rel.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let span = hi - lo;
    if p.pictures.len() < 2 || span <= 0.0 {
        return Err("too few pictures arrived to check the speed".into());
    }
    let wall = p.pictures.last().map_or(0.0, |s| s.arrived) - first.arrived;
    let speed = p.speed;
    let factor = if wall >= 0.5 {
        let r = span / wall;
        if near(r, 1.0) {
            speed
        } else if near(r, speed) {
            1.0
        } else {
            return Err(format!(
                "its RTP time advanced {r:.2} s per second received, neither 1 nor {speed}: \
                 its timestamps cannot be mapped to the footage's"
            ));
        }
    } else {
        match (p.complete, p.requested_secs) {
            (true, Some(requested)) if near(requested / span, speed) => speed,
            (true, Some(requested)) if near(requested / span, 1.0) => 1.0,
            _ => {
                return Err(format!(
                    "{:.1} s of RTP time in {wall:.2} s is too little to tell how it stamps time",
                    span
                ));
            }
        }
    };
    let mut times: Vec<f64> = rel.iter().map(|t| t * factor).collect();
    times.sort_by(f64::total_cmp);
    times.dedup();
    let mut steps: Vec<f64> = times.windows(2).map(|w| w[1] - w[0]).collect();
    steps.sort_by(f64::total_cmp);
    let step = steps.get(steps.len() / 2).copied().unwrap_or(0.0);
    match p.framerate {
        Some(fps) if step > 1.25 / fps => Err(format!(
            "it sent one picture every {step:.3} s of footage where the stream has {fps} per \
             second: pictures were dropped"
        )),
        // Pictures closer than the frame rate allows: the speed it stated is not the one it
        // delivers at, and the times would be wrong.
        Some(fps) if step < 0.8 / fps => Err(format!(
            "its pictures would be {step:.3} s of footage apart where the stream has {fps} per \
             second: it does not deliver at the speed it stated"
        )),
        None if p.pictures.len() >= 3 && p.pictures.iter().all(|s| s.keyframe) => {
            Err("it sent key frames only: pictures were dropped".into())
        }
        _ => Ok(factor),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` pictures 1/25 s of footage apart, arriving `per_second` footage-seconds per second,
    /// stamped `stamp` RTP seconds per footage second.
    fn pictures(n: usize, per_second: f64, stamp: f64, keyframes: bool) -> Vec<Seen> {
        (0..n)
            .map(|i| {
                let media = i as f64 / 25.0;
                Seen {
                    timestamp: 1_000_000u32.wrapping_add((media * stamp * 90_000.0) as u32),
                    arrived: media / per_second,
                    keyframe: keyframes || i % 25 == 0,
                }
            })
            .collect()
    }

    fn probe(p: &[Seen]) -> Probe<'_> {
        Probe {
            speed: 4.0,
            pictures: p,
            clock_rate: 90_000,
            framerate: Some(25.0),
            requested_secs: Some(60.0),
            complete: false,
        }
    }

    #[test]
    fn gstreamer_stamps_at_the_delivery_rate_and_is_mapped_back() {
        // 4× delivery, RTP time advancing 1/4 s per footage second (what GStreamer does).
        let p = pictures(200, 4.0, 0.25, false);
        assert!(ready(&p));
        assert!(!ready(&p[..140]), "1.4 s of arrivals is not enough");
        assert_eq!(judge(&probe(&p)), Ok(4.0));
    }

    #[test]
    fn a_server_keeping_the_media_clock_needs_no_mapping() {
        let p = pictures(150, 4.0, 1.0, false);
        assert_eq!(judge(&probe(&p)), Ok(1.0));
    }

    #[test]
    fn untrustworthy_timestamps_and_dropped_pictures_mean_real_time() {
        // RTP time running 2.2× the wall clock at Speed 4: neither kind.
        let p = pictures(150, 4.0, 0.55, false);
        assert!(judge(&probe(&p)).unwrap_err().contains("cannot be mapped"));
        // Every other picture dropped.
        let p: Vec<Seen> = pictures(300, 4.0, 0.25, false)
            .into_iter()
            .step_by(2)
            .collect();
        assert!(judge(&probe(&p)).unwrap_err().contains("dropped"));
        // Stated 2 but delivering at 4: pictures mapped half as far apart as they are.
        let p = pictures(200, 4.0, 0.25, false);
        let mut q = probe(&p);
        q.speed = 2.0;
        assert!(judge(&q).unwrap_err().contains("speed it stated"));
        // Key frames only, frame rate unknown.
        let p = pictures(150, 4.0, 0.25, true);
        let mut q = probe(&p);
        q.framerate = None;
        assert!(judge(&q).unwrap_err().contains("key frames only"));
    }

    #[test]
    fn a_short_range_delivered_whole_is_judged_by_its_length() {
        // 2 s of footage at 8×: a quarter second of wall time.
        let p = pictures(50, 8.0, 0.125, false);
        let mut q = probe(&p);
        q.speed = 8.0;
        q.requested_secs = Some(2.0);
        assert!(judge(&q).is_err(), "not complete yet: cannot tell");
        q.complete = true;
        assert_eq!(judge(&q), Ok(8.0));
    }

    #[test]
    fn speed_answers() {
        assert_eq!(answered_speed(" 4.000"), Some(4.0));
        assert_eq!(answered_speed("2.0-4.0"), Some(2.0));
        for bad in ["", "fast", "-1", "NaN", "inf", "0", "1e9"] {
            assert_eq!(answered_speed(bad), None, "{bad}");
        }
    }
}
