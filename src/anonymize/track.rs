//! Face tracks: detections linked across frames by IoU, and the boxes to cover on each frame.
//!
//! The analysis is offline (the whole clip is decoded before anything is blurred), so a track
//! is covered on every frame between two of its detections (linearly interpolated, which also
//! covers frames where the detector was not run or missed), and `persist` frames before its
//! first and after its last detection, moved along the motion measured between its first two
//! (last two) detections and grown by half the distance moved: a face walking into the frame
//! was seen first some frames after it came in, further back on its path, not where it was
//! first detected.

use serde::Serialize;

use super::detector::FaceBox;

/// One detection of a track.
#[derive(Clone, Copy, Debug)]
pub(super) struct Hit {
    pub frame: u64,
    pub face: FaceBox,
}

/// A face followed through the clip.
#[derive(Clone, Debug)]
pub(super) struct Track {
    pub id: u32,
    pub hits: Vec<Hit>,
}

impl Track {
    pub(super) fn first(&self) -> u64 {
        self.hits[0].frame
    }
    pub(super) fn last(&self) -> u64 {
        self.hits[self.hits.len() - 1].frame
    }

    /// The box to cover on `frame`, if the track covers it.
    pub(super) fn box_at(&self, frame: u64, persist: u64) -> Option<FaceBox> {
        if frame + persist < self.first() || frame > self.last() + persist {
            return None;
        }
        let i = self.hits.partition_point(|h| h.frame <= frame);
        let n = self.hits.len();
        if i == 0 {
            return Some(extrapolate(&self.hits[..n.min(2)], frame));
        }
        let a = self.hits[i - 1];
        let Some(b) = self.hits.get(i) else {
            return Some(extrapolate(&self.hits[n.saturating_sub(2)..], frame));
        };
        let t = (frame - a.frame) as f32 / (b.frame - a.frame) as f32;
        let l = |p: f32, q: f32| p + (q - p) * t;
        Some(FaceBox {
            x1: l(a.face.x1, b.face.x1),
            y1: l(a.face.y1, b.face.y1),
            x2: l(a.face.x2, b.face.x2),
            y2: l(a.face.y2, b.face.y2),
            score: a.face.score.min(b.face.score),
        })
    }
}

/// The box of the hit nearest `frame` (one of `hits`, one or two in frame order), moved to
/// `frame` at the speed measured between the two, and grown by half the distance moved.
fn extrapolate(hits: &[Hit], frame: u64) -> FaceBox {
    let (first, last) = (hits[0], hits[hits.len() - 1]);
    let near = if frame <= first.frame { first } else { last };
    let span = last.frame.saturating_sub(first.frame);
    if span == 0 {
        return near.face;
    }
    let centre = |f: &FaceBox| ((f.x1 + f.x2) / 2.0, (f.y1 + f.y2) / 2.0);
    let ((ax, ay), (bx, by)) = (centre(&first.face), centre(&last.face));
    let dt = frame as f32 - near.frame as f32;
    let (dx, dy) = ((bx - ax) / span as f32 * dt, (by - ay) / span as f32 * dt);
    let (gx, gy) = (dx.abs() / 2.0, dy.abs() / 2.0);
    FaceBox {
        x1: near.face.x1 + dx - gx,
        y1: near.face.y1 + dy - gy,
        x2: near.face.x2 + dx + gx,
        y2: near.face.y2 + dy + gy,
        score: near.face.score,
    }
}

/// What the register and the review sheet learn about a track.
#[derive(Clone, Debug, Serialize)]
pub struct TrackSummary {
    pub id: u32,
    pub first_frame: u64,
    pub last_frame: u64,
    pub detections: usize,
    pub best_score: f32,
}

/// Links detections frame after frame: a detection continues the track whose predicted box
/// it overlaps (IoU), or failing that the nearest one it could have reached at the fastest
/// speed followed, with a similar size (greedy, nearest first).
///
/// Detections can be several frames apart (the coarse schedule runs the fine detector on one
/// frame in 12), and a face walking across a 720p frame moves several of its widths in that
/// time: overlap alone would cut its track at each detection (decision 0142).
pub(super) struct Tracker {
    pub tracks: Vec<Track>,
    iou_min: f32,
    max_gap: u64,
    /// Fastest motion followed, in face widths per frame.
    max_step: f32,
}

/// Sizes of a face between two detections differ by at most this factor (detections at
/// different widths box the same face a little differently).
const SIZE_RATIO: f32 = 1.6;

impl Tracker {
    pub(super) fn new(iou_min: f32, max_gap: u64, max_step: f32) -> Self {
        Tracker {
            tracks: Vec::new(),
            iou_min,
            max_gap,
            max_step,
        }
    }

    /// Adds the detections of `frame`; returns the track id given to each, in order.
    pub(super) fn push(&mut self, frame: u64, faces: &[FaceBox]) -> Vec<u32> {
        // (cost, track, detection): lower is better
        let mut pairs = Vec::new();
        for (ti, t) in self.tracks.iter().enumerate() {
            if t.last() + self.max_gap < frame {
                continue;
            }
            let last = t.hits[t.hits.len() - 1].face;
            let gap = (frame - t.last()) as f32;
            let moving = t.hits.len() >= 2;
            let predicted = extrapolate(&t.hits[t.hits.len().saturating_sub(2)..], frame);
            // where the prediction is centred, without the growth for its uncertainty
            let (px, py) = (
                (predicted.x1 + predicted.x2) / 2.0,
                (predicted.y1 + predicted.y2) / 2.0,
            );
            // how far from the prediction a detection may be, in face widths: with a measured
            // motion, a change of pace; without, any direction at the fastest speed
            let reach = 0.5 + gap * self.max_step * if moving { 0.25 } else { 1.0 };
            for (di, d) in faces.iter().enumerate() {
                let size = last.width().max(d.width()).max(1.0);
                let ratio = d.width().max(1.0) / last.width().max(1.0);
                let (dx, dy) = ((d.x1 + d.x2) / 2.0 - px, (d.y1 + d.y2) / 2.0 - py);
                let dist = (dx * dx + dy * dy).sqrt() / size;
                let centred = FaceBox {
                    x1: px - last.width() / 2.0,
                    y1: py - last.height() / 2.0,
                    x2: px + last.width() / 2.0,
                    y2: py + last.height() / 2.0,
                    ..last
                };
                let overlaps = centred.iou(d) >= self.iou_min;
                let near = dist <= reach && (1.0 / SIZE_RATIO..=SIZE_RATIO).contains(&ratio);
                if overlaps || near {
                    pairs.push((dist, ti, di));
                }
            }
        }
        pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut ids = vec![u32::MAX; faces.len()];
        let mut used = vec![false; self.tracks.len()];
        for (_, ti, di) in pairs {
            if used[ti] || ids[di] != u32::MAX {
                continue;
            }
            used[ti] = true;
            ids[di] = self.tracks[ti].id;
            self.tracks[ti].hits.push(Hit {
                frame,
                face: faces[di],
            });
        }
        for (di, d) in faces.iter().enumerate() {
            if ids[di] == u32::MAX {
                let id = self.tracks.len() as u32 + 1;
                self.tracks.push(Track {
                    id,
                    hits: vec![Hit { frame, face: *d }],
                });
                ids[di] = id;
            }
        }
        ids
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(x: f32) -> FaceBox {
        FaceBox {
            x1: x,
            y1: 0.0,
            x2: x + 20.0,
            y2: 20.0,
            score: 0.9,
        }
    }

    #[test]
    fn a_moving_face_stays_one_track_across_a_miss() {
        let mut t = Tracker::new(0.2, 4, 0.4);
        assert_eq!(t.push(0, &[b(0.0)]), vec![1]);
        t.push(1, &[]);
        assert_eq!(t.push(2, &[b(4.0), b(100.0)]), vec![1, 2]);
        let track = &t.tracks[0];
        let mid = track.box_at(1, 3).unwrap();
        assert_eq!(mid.x1, 2.0);
        // after the last detection: moved on at 2 px/frame, grown by half of that
        let after = track.box_at(5, 3).unwrap();
        assert_eq!((after.x1, after.x2), (4.0 + 6.0 - 3.0, 24.0 + 6.0 + 3.0));
        assert!(track.box_at(6, 3).is_none());
    }

    #[test]
    fn before_its_first_detection_a_track_is_covered_back_along_its_path() {
        let mut t = Tracker::new(0.2, 12, 0.4);
        t.push(10, &[b(100.0)]);
        t.push(13, &[b(106.0)]);
        let track = &t.tracks[0];
        // two frames before: 4 px back, grown 2 px each side; one detection only: in place
        let before = track.box_at(8, 12).unwrap();
        assert_eq!(
            (before.x1, before.x2),
            (100.0 - 4.0 - 2.0, 120.0 - 4.0 + 2.0)
        );
        let mut lone = Tracker::new(0.2, 12, 0.4);
        lone.push(10, &[b(50.0)]);
        assert_eq!(lone.tracks[0].box_at(5, 12).unwrap().x1, 50.0);
        assert!(lone.tracks[0].box_at(23, 12).is_none());
    }

    #[test]
    fn a_face_walking_several_widths_between_detections_keeps_its_track() {
        let mut t = Tracker::new(0.2, 12, 0.4);
        // 20 px wide, 4 widths (80 px) in 12 frames, then on at the same pace
        assert_eq!(t.push(0, &[b(0.0)]), vec![1]);
        assert_eq!(t.push(12, &[b(80.0)]), vec![1]);
        assert_eq!(t.push(24, &[b(160.0), b(400.0)]), vec![1, 2]);
        // a face of another size nearby is someone else
        let big = FaceBox {
            x1: 230.0,
            y1: 0.0,
            x2: 290.0,
            y2: 60.0,
            score: 0.9,
        };
        assert_eq!(t.push(36, &[big]), vec![3]);
        // between detections the walker is where it was at that time
        assert_eq!(t.tracks[0].box_at(6, 12).unwrap().x1, 40.0);
    }

    #[test]
    fn a_face_gone_longer_than_the_gap_starts_a_new_track() {
        let mut t = Tracker::new(0.2, 2, 0.4);
        t.push(0, &[b(0.0)]);
        assert_eq!(t.push(10, &[b(0.0)]), vec![2]);
    }
}
