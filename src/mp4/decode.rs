//! Decode times for pictures that come with presentation times only (RTP carries nothing
//! else). Pictures arrive in decode order; with B-frames their presentation times go back and
//! forth. If at most `N` pictures may precede a picture in decode order and follow it in
//! presentation order (the reorder depth: `max_num_reorder_frames`, `sps_max_num_reorder_pics`),
//! then the k-th smallest presentation time is known once picture k + N has arrived, and taking
//! it as the decode time of picture k + N gives decode times that never decrease and never come
//! after their picture's presentation. The window is one fragment (a GOP): the depth used is the
//! larger of what the SPS states and what the fragment shows. Decision 0090.

/// The decode times of one fragment's pictures, given in decode order by presentation time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct DecodeTimes {
    pub dts: Vec<i64>,
    /// The reorder depth used (never less than the one passed in).
    pub depth: usize,
    /// The typical frame duration seen in the fragment.
    pub frame: i64,
}

/// Pictures reordered further than this are not B-frames but broken timestamps; the depth is
/// capped there (decode times stay monotonic; presentation offsets absorb the rest).
const MAX_DEPTH: usize = 64;

/// Decode times for `pts` (decode order). `depth` is the reorder depth known so far (the SPS's
/// or an earlier fragment's), `frame_hint` a frame duration for a fragment too short to show
/// one, `after` the last decode time already written (decode times stay above it).
pub(super) fn decode_times(
    pts: &[i64],
    depth: usize,
    frame_hint: i64,
    after: Option<i64>,
) -> DecodeTimes {
    let n = pts.len();
    let mut observed = 0;
    for i in 1..n {
        let before = pts[..i].iter().filter(|&&p| p > pts[i]).count();
        observed = observed.max(before);
    }
    let depth = depth.max(observed).min(MAX_DEPTH);
    let mut sorted = pts.to_vec();
    sorted.sort_unstable();
    let mut steps: Vec<i64> = sorted
        .windows(2)
        .map(|w| w[1].saturating_sub(w[0]))
        .filter(|&d| d > 0)
        .collect();
    steps.sort_unstable();
    let frame = steps
        .get(steps.len() / 2)
        .copied()
        .unwrap_or(frame_hint)
        .max(1);
    let mut dts = Vec::with_capacity(n);
    let mut last = after;
    for i in 0..n {
        let mut d = if i >= depth {
            sorted[i - depth]
        } else {
            let back = i64::try_from(depth - i).unwrap_or(i64::MAX);
            sorted[0].saturating_sub(back.saturating_mul(frame))
        };
        if let Some(l) = last
            && d <= l
        {
            d = l.saturating_add(1);
        }
        last = Some(d);
        dts.push(d);
    }
    DecodeTimes { dts, depth, frame }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decode order I0 P3 B1 B2 P6 B4 B5 (one B-frame level, depth 1).
    #[test]
    fn one_level_of_b_frames() {
        let pts = [0, 3, 1, 2, 6, 4, 5].map(|p| p * 3600);
        let d = decode_times(&pts, 0, 3600, None);
        assert_eq!(d.depth, 1);
        assert_eq!(d.frame, 3600);
        assert_eq!(d.dts, [-1, 0, 1, 2, 3, 4, 5].map(|p| p * 3600));
        for (p, t) in pts.iter().zip(&d.dts) {
            assert!(t <= p);
        }
    }

    /// B-pyramid: I0 P4 B2 b1 b3 (depth 2), then the next fragment continues monotonic.
    #[test]
    fn a_pyramid_and_the_next_fragment() {
        let pts = [0, 4, 2, 1, 3];
        let d = decode_times(&pts, 0, 1, None);
        assert_eq!(d.depth, 2);
        assert_eq!(d.dts, [-2, -1, 0, 1, 2]);
        let next = decode_times(&[5, 9, 7, 6, 8], d.depth, d.frame, d.dts.last().copied());
        assert_eq!(next.dts, [3, 4, 5, 6, 7]);
    }

    /// No reordering, depth stated 2 by the SPS: a constant lag, still monotonic.
    #[test]
    fn a_stated_depth_without_b_frames() {
        let d = decode_times(&[0, 10, 20, 30], 2, 10, None);
        assert_eq!(d.dts, [-20, -10, 0, 10]);
        let d = decode_times(&[0, 10, 20, 30], 0, 10, None);
        assert_eq!(d.dts, [0, 10, 20, 30]);
    }

    /// Broken timestamps (far back, repeated) still give strictly increasing decode times.
    #[test]
    fn garbage_stays_monotonic() {
        let d = decode_times(&[100, 100, -5, i64::MAX, i64::MIN], 0, 0, Some(50));
        assert!(d.dts.windows(2).all(|w| w[0] < w[1]), "{:?}", d.dts);
        assert!(d.dts[0] > 50);
        let d = decode_times(&[], 3, 1, None);
        assert!(d.dts.is_empty());
    }
}
