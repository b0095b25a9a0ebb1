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

/// Links detections frame after frame (greedy, best IoU first).
pub(super) struct Tracker {
    pub tracks: Vec<Track>,
    iou_min: f32,
    max_gap: u64,
}

impl Tracker {
    pub(super) fn new(iou_min: f32, max_gap: u64) -> Self {
        Tracker {
            tracks: Vec::new(),
            iou_min,
            max_gap,
        }
    }

    /// Adds the detections of `frame`; returns the track id given to each, in order.
    pub(super) fn push(&mut self, frame: u64, faces: &[FaceBox]) -> Vec<u32> {
        let mut pairs = Vec::new();
        for (ti, t) in self.tracks.iter().enumerate() {
            if t.last() + self.max_gap < frame {
                continue;
            }
            let last = t.hits[t.hits.len() - 1].face;
            for (di, d) in faces.iter().enumerate() {
                let iou = last.iou(d);
                if iou >= self.iou_min {
                    pairs.push((iou, ti, di));
                }
            }
        }
        pairs.sort_by(|a, b| b.0.total_cmp(&a.0));
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
        let mut t = Tracker::new(0.2, 4);
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
        let mut t = Tracker::new(0.2, 12);
        t.push(10, &[b(100.0)]);
        t.push(13, &[b(106.0)]);
        let track = &t.tracks[0];
        // two frames before: 4 px back, grown 2 px each side; one detection only: in place
        let before = track.box_at(8, 12).unwrap();
        assert_eq!(
            (before.x1, before.x2),
            (100.0 - 4.0 - 2.0, 120.0 - 4.0 + 2.0)
        );
        let mut lone = Tracker::new(0.2, 12);
        lone.push(10, &[b(50.0)]);
        assert_eq!(lone.tracks[0].box_at(5, 12).unwrap().x1, 50.0);
        assert!(lone.tracks[0].box_at(23, 12).is_none());
    }

    #[test]
    fn a_face_gone_longer_than_the_gap_starts_a_new_track() {
        let mut t = Tracker::new(0.2, 2);
        t.push(0, &[b(0.0)]);
        assert_eq!(t.push(10, &[b(0.0)]), vec![2]);
    }
}
