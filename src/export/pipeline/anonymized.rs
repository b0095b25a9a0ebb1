//! The anonymizing stage of an access-request export (DEL-2, decision 0150): for each camera
//! and range, pull → fragmented MP4 **in memory** → [`crate::anonymize`] (detect, track, blur
//! every face but the requester's kept track, re-encode without audio) → seal writer →
//! `.partial` on the drive, read-back verification (authenticated, hashed, and decoded from
//! memory by `ffprobe`, which must count the frames rendered), final name. The original footage never
//! reaches the drive: the only writer of an access-request file is this one, and it writes
//! what the engine rendered.
//!
//! No plaintext on disk (ENC-2): the pulled MP4 lives in a bounded, zeroized buffer; the
//! engine works over anonymous memory files and pipes; only sealed bytes are written.
//!
//! The same pull also serves the review sheet ([`pull_clip`]): the daemon keeps the pulled
//! footage and its analysis in memory ([`super::review`]) so the track numbers the operator
//! saw are those rendered.

use std::io::Write;
use std::sync::Arc;

use jiff::Timestamp;
use scelle_adapters::{Event, Gap, Source, TimeRange};
use serde_json::json;
use tokio::sync::mpsc;
use zeroize::Zeroizing;

use super::file::FileContext;
use super::review::HeldClip;
use super::{EVENT_QUEUE, Job, blocking, span_seconds};
use crate::anonymize::{Anonymizer, Detector, Input, Params, Summary};
use crate::case::export_record::{Anonymized, ExportedFile, FileDigest};
use crate::config::Camera;
use crate::export::ExportError;
use crate::export::sealed::{self, partial_of};
use crate::mp4::{Mp4Summary, Provenance, TrackSource, write_events};
use crate::seal::{Metadata, SealWriter};

/// Largest pulled MP4 held in memory for one camera and range (an access request asks for
/// minutes, not days: a longer range is refused with a clear message).
pub(super) const MAX_CLIP_BYTES: usize = 1 << 30;

/// What an access-request export needs besides a normal one.
#[derive(Clone)]
pub struct Anonymize {
    /// Why on-site viewing was not possible (DEL-2), recorded with every file.
    pub no_viewing_reason: String,
    /// The requester's track to leave visible, per file (1-based position among the case's
    /// camera × range files, track number on the review sheet). Empty: everyone blurred.
    pub keep: Vec<(usize, u32)>,
    /// The operator who chose (the one who runs and signs the export).
    pub confirmed_by: String,
    /// The footage and analyses the operator reviewed, when a track is kept.
    pub review: Option<Arc<super::review::Review>>,
}

impl Anonymize {
    /// What `export-started` records about it.
    pub fn started_facts(&self) -> serde_json::Value {
        json!({
            "handover": "anonymized",
            "no_viewing_reason": self.no_viewing_reason,
            "keep": self.keep.iter().map(|(f, t)| json!({ "file": f, "track": t }))
                .collect::<Vec<_>>(),
            "confirmed_by": self.confirmed_by,
            "reviewed": self.review.is_some(),
            "audio": "removed",
        })
    }
}

/// A `Write` into memory that refuses to grow past a bound.
struct Capped {
    buf: Zeroizing<Vec<u8>>,
    max: usize,
}

impl Write for Capped {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        if self.buf.len() + b.len() > self.max {
            return Err(std::io::Error::other(format!(
                "the footage is larger than {} MiB, the most an anonymized export holds in \
                 memory: split the range",
                self.max >> 20
            )));
        }
        // Grow by hand so no copy of the plaintext is left behind in a freed allocation.
        if self.buf.capacity() < self.buf.len() + b.len() {
            let mut bigger = Zeroizing::new(Vec::with_capacity(
                (self.buf.len() + b.len()).max(self.buf.capacity() * 2),
            ));
            bigger.extend_from_slice(&self.buf);
            self.buf = bigger;
        }
        self.buf.extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// One pulled clip, in memory only.
pub(super) struct Pulled {
    pub mp4: Zeroizing<Vec<u8>>,
    pub summary: Mp4Summary,
    /// Codecs of the source, e.g. `H.264 640x360`.
    pub tracks: Vec<String>,
}

/// The provenance written into the in-memory MP4 (what a normal export writes in its file).
pub(super) fn provenance(camera: &Camera, site: &str, operator: &str, case: &str) -> Provenance {
    Provenance {
        export_unit_name: site.to_owned(),
        operator: operator.to_owned(),
        export_time: Some(Timestamp::now()),
        case_id: Some(case.to_owned()),
        sources: (0..4)
            .map(|_| TrackSource {
                name: camera.name.clone(),
                url: camera.address(),
                ..TrackSource::default()
            })
            .collect(),
        ..Provenance::default()
    }
}

/// Pulls `range` from `source` into a fragmented MP4 in memory (never on disk).
pub(super) async fn pull_clip(
    source: Arc<dyn Source>,
    camera: &str,
    range: TimeRange,
    provenance: Provenance,
    cancel: tokio_util::sync::CancellationToken,
) -> Result<Pulled, ExportError> {
    let (tx, mut rx) = mpsc::channel::<Event>(EVENT_QUEUE);
    let pull = tokio::spawn(async move { source.pull(range, tx).await });
    let abort = pull.abort_handle();
    let c2 = cancel.clone();
    let watcher = tokio::spawn(async move {
        c2.cancelled().await;
        abort.abort();
    });
    let cam = camera.to_owned();
    let c3 = cancel.clone();
    let written = tokio::task::spawn_blocking(move || {
        let mut tracks: Vec<String> = Vec::new();
        let events = std::iter::from_fn(|| {
            if c3.is_cancelled() {
                return None;
            }
            let ev = rx.blocking_recv()?;
            if let Event::Streams(streams) = &ev {
                tracks = streams.iter().map(super::file::describe_stream).collect();
            }
            Some(ev)
        });
        let sink = Capped {
            buf: Zeroizing::new(Vec::new()),
            max: MAX_CLIP_BYTES,
        };
        let r = write_events(events, sink, provenance, range.start);
        r.map(|(sink, summary)| (sink.buf, summary, tracks))
            .map_err(|e| ExportError::Write {
                camera: cam,
                source: e.into(),
            })
    })
    .await;
    let pulled = pull.await;
    watcher.abort();
    if cancel.is_cancelled() {
        return Err(ExportError::Interrupted(format!(
            "camera `{camera}`: stopped while pulling"
        )));
    }
    let written =
        written.map_err(|e| ExportError::Interrupted(format!("pull task failed: {e}")))?;
    match pulled {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => {
            return Err(ExportError::Source {
                camera: camera.to_owned(),
                step: crate::export::SourceStep::Pull,
                source: Box::new(e),
            });
        }
        Err(e) => {
            return Err(ExportError::Interrupted(format!(
                "camera `{camera}`: pull stopped: {e}"
            )));
        }
    }
    let (mp4, summary, tracks) = written?;
    if summary.tracks.first().is_none_or(|t| t.samples == 0) {
        return Err(ExportError::BadInput(format!(
            "camera `{camera}`: no video in the requested range: nothing to anonymize"
        )));
    }
    Ok(Pulled {
        mp4,
        summary,
        tracks,
    })
}

/// The engine with the vendored model (SHA-256 checked at load) and the measured defaults.
pub(super) fn engine() -> Result<Anonymizer, ExportError> {
    let path = crate::anonymize::default_model_path();
    let detector = Detector::load(&path).map_err(|e| ExportError::Write {
        camera: "-".into(),
        source: e.into(),
    })?;
    Ok(Anonymizer::new(detector, params()))
}

/// The engine's parameters for exports: its measured defaults (decisions 0140, 0141; the
/// mosaic of 4 cells across a masked box is the coarsest measured to leave no face the
/// detector still scores as one).
pub(super) fn params() -> Params {
    Params::default()
}

fn engine_err(camera: &str, e: crate::anonymize::AnonymizeError) -> ExportError {
    ExportError::Write {
        camera: camera.to_owned(),
        source: e.into(),
    }
}

/// One camera of an access-request export: its ranges one after the other. `first` is the
/// 1-based position of its first file among the export's files.
pub(super) async fn camera_task(
    ctx: Arc<FileContext>,
    job: Job,
    anon: Anonymize,
    first: usize,
) -> Result<Vec<ExportedFile>, ExportError> {
    let mut out = Vec::new();
    for (i, (range, _plan)) in job.plans.iter().enumerate() {
        out.push(one_file(&ctx, &job, *range, &anon, first + i).await?);
    }
    Ok(out)
}

/// Pull (or take the reviewed clip) → analyze → render into the seal writer → verify → rename.
async fn one_file(
    ctx: &Arc<FileContext>,
    job: &Job,
    range: TimeRange,
    anon: &Anonymize,
    position: usize,
) -> Result<ExportedFile, ExportError> {
    let camera = job.camera.id.to_string();
    let name = super::file::sealed_name(&camera, range);
    let final_path = ctx.folder.join(&name);
    let partial = partial_of(&final_path);
    let keep = anon
        .keep
        .iter()
        .find(|(f, _)| *f == position)
        .map(|(_, t)| *t);
    let held: Option<Arc<HeldClip>> = anon.review.as_ref().and_then(|r| r.clip(&camera, range));
    if keep.is_some() && held.is_none() {
        return Err(ExportError::Refused(format!(
            "a track of file {position} is kept but the footage reviewed for it is no longer \
             held: run `scelle case review` again"
        )));
    }
    let (mp4, mp4_summary, tracks, analysis) = match held {
        Some(h) => (
            h.mp4.clone(),
            h.summary.clone(),
            h.tracks.clone(),
            Some(h.analysis.clone()),
        ),
        None => {
            ctx.progress.data(
                "pulling",
                json!({ "export": ctx.export_id, "camera": camera, "file": name,
                        "phase": "pulling", "requested_seconds": span_seconds(&range) }),
            );
            let p = pull_clip(
                job.source.clone(),
                &camera,
                range,
                provenance(&job.camera, &ctx.site, &ctx.operator, &ctx.case_id),
                ctx.cancel.clone(),
            )
            .await?;
            (Arc::new(p.mp4), p.summary, p.tracks, None)
        }
    };
    ctx.progress.data(
        "anonymizing",
        json!({ "export": ctx.export_id, "camera": camera, "file": name, "phase": "anonymizing",
                "kept_track": keep }),
    );
    let mut metadata = Metadata::now(name.trim_end_matches(".scelle"), "video/mp4");
    metadata.case_id = Some(ctx.case_id.clone());
    ctx.track(&partial);
    let (c2, p2, cam2) = (ctx.clone(), partial.clone(), camera.clone());
    let (file_name, requested) = (name.clone(), span_seconds(&range));
    let (summary, seal) = blocking(move || {
        // one line a second of footage, phase `analyzing` then `rendering`
        let tell = |phase: &str, done: crate::anonymize::Done| {
            c2.progress.data(
                "anonymizing",
                json!({ "export": c2.export_id, "camera": cam2, "file": file_name,
                        "phase": phase, "frames": done.frames, "media_seconds": done.seconds,
                        "requested_seconds": requested }),
            );
        };
        let mut engine = engine()?;
        let analysis = match analysis {
            Some(a) => a,
            None => Arc::new(
                engine
                    .analyze_with(Input::Bytes(&mp4), &mut |d| tell("analyzing", d))
                    .map_err(|e| engine_err(&cam2, e))?,
            ),
        };
        if c2.cancel.is_cancelled() {
            return Err(ExportError::Interrupted(format!(
                "camera `{cam2}`: stopped before rendering"
            )));
        }
        let file = sealed::create_exclusive(&c2.dir, &p2)?;
        let mut sealer = SealWriter::new(file, c2.password.as_bytes(), &metadata, &c2.params)
            .map_err(|e| ExportError::Write {
                camera: cam2.clone(),
                source: e.into(),
            })?;
        let summary = engine
            .render_with(Input::Bytes(&mp4), &analysis, keep, &mut sealer, &mut |d| {
                tell("rendering", d)
            })
            .map_err(|e| engine_err(&cam2, e))?;
        let (seal, file) = sealer.finish_into_inner().map_err(|e| ExportError::Write {
            camera: cam2.clone(),
            source: e.into(),
        })?;
        file.sync_all().map_err(|e| ExportError::io(&p2, e))?;
        let _ = rustix::fs::fadvise(&file, 0, None, rustix::fs::Advice::DontNeed);
        Ok((summary, seal))
    })
    .await?;
    if ctx.cancel.is_cancelled() {
        return Err(ExportError::Interrupted(format!(
            "camera `{camera}`: stopped before {name} was complete"
        )));
    }
    ctx.progress.data(
        "verifying",
        json!({ "export": ctx.export_id, "camera": camera, "file": name, "phase": "verifying",
                "bytes": seal.bytes }),
    );
    let (c3, p3, expected) = (ctx.clone(), partial.clone(), seal.clone());
    let partial_name = format!("{name}{}", crate::export::PARTIAL_SUFFIX);
    let frames = blocking(move || {
        sealed::verify(&c3.dir, &p3, &c3.password, &expected, false)?;
        read_back_frames(&c3.dir, &partial_name, &c3.password)
    })
    .await?;
    if frames != summary.frames {
        return Err(ExportError::Verify {
            file: name,
            source: crate::export::VerifyError::Frames {
                read: frames,
                rendered: summary.frames,
            },
        });
    }
    sealed::promote(&ctx.dir, &partial, &final_path)?;
    ctx.track(&final_path);
    let on_server = |t: Timestamp| match (&job.clock, mp4_summary.start_from_device) {
        (Some(offset), true) => scelle_adapters::clock::device_to_server(t, offset),
        _ => t,
    };
    let covered: Vec<TimeRange> = mp4_summary
        .covered
        .iter()
        .filter_map(|c| {
            let (start, end) = (
                on_server(c.start).max(range.start),
                on_server(c.end).min(range.end),
            );
            (start < end).then_some(TimeRange { start, end })
        })
        .collect();
    let covered_seconds = covered.iter().map(span_seconds).sum();
    ctx.progress.data(
        "verified",
        json!({ "export": ctx.export_id, "camera": camera, "file": name, "phase": "verified",
                "bytes": seal.bytes, "frames": summary.frames, "anonymized": true,
                "tracks_found": summary.tracks_found, "tracks_blurred": summary.tracks_blurred,
                "sha256": hex::encode(seal.sha256) }),
    );
    let video = tracks
        .iter()
        .find(|t| t.starts_with("H.26"))
        .cloned()
        .unwrap_or_default();
    Ok(ExportedFile {
        file: FileDigest {
            name,
            size: seal.bytes,
            sha256: hex::encode(seal.sha256),
        },
        camera,
        camera_name: job.camera.name.clone(),
        requested: range,
        covered,
        gaps: mp4_summary
            .gaps
            .iter()
            .map(|g| Gap {
                start: on_server(g.start),
                end: on_server(g.end),
                ..g.clone()
            })
            .collect(),
        covered_seconds,
        frames: summary.frames,
        tracks: vec![format!(
            "H.264 {}x{} (re-encoded, anonymized; source {video}; no audio)",
            summary.width, summary.height
        )],
        start_from_device: mp4_summary.start_from_device,
        device: job.device.clone(),
        clock_offset: job.clock,
        link: Some(job.camera.link()),
        anonymized: Some(record(&summary, anon)),
    })
}

/// Readability (STEP-3) of a sealed anonymized file: decrypted from the drive (every chunk
/// authenticated) into anonymous memory, then `ffprobe` decodes it and counts its video
/// frames. The plaintext never reaches a file system.
fn read_back_frames(
    dir: &crate::export::folder::ExportDir,
    name: &str,
    password: &str,
) -> Result<u64, ExportError> {
    use std::io::{Seek, SeekFrom};
    let fail = |reason: String| ExportError::Verify {
        file: name.to_owned(),
        source: crate::export::VerifyError::Probe(reason),
    };
    let file = dir.open_read(name)?;
    let mut reader =
        crate::seal::SealReader::new(file, password.as_bytes()).map_err(|e| fail(e.to_string()))?;
    let fd = rustix::fs::memfd_create("scelle-verify", rustix::fs::MemfdFlags::CLOEXEC)
        .map_err(|e| fail(format!("memfd_create: {e}")))?;
    let mut mem = std::fs::File::from(fd);
    std::io::copy(&mut reader, &mut mem).map_err(|e| fail(e.to_string()))?;
    mem.seek(SeekFrom::Start(0))
        .map_err(|e| fail(e.to_string()))?;
    // killed if the daemon dies (decision 0145)
    let out = crate::subprocess::child_command("ffprobe", "ffmpeg")
        .map_err(|e| fail(format!("cannot run ffprobe: {e}")))?
        .args(["-v", "error", "-select_streams", "v:0", "-count_frames"])
        .args(["-show_entries", "stream=nb_read_frames", "-of", "csv=p=0"])
        .args(["-i", "file:/dev/stdin"])
        .stdin(mem)
        .output()
        .map_err(|e| {
            fail(format!(
                "cannot run ffprobe: {e} (install the Debian package ffmpeg)"
            ))
        })?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(fail(format!(
            "ffprobe cannot read it: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    text.trim()
        .trim_end_matches(',')
        .parse()
        .map_err(|_| fail(format!("ffprobe counted no frames ({})", text.trim())))
}

/// The record of one anonymized file.
fn record(s: &Summary, anon: &Anonymize) -> Anonymized {
    Anonymized {
        detector: s.detector.to_owned(),
        model_sha256: s.model_sha256.clone(),
        params: serde_json::to_value(s.params).unwrap_or_default(),
        frames: s.frames,
        frames_detected: s.frames_detected,
        tracks_found: s.tracks_found,
        tracks_blurred: s.tracks_blurred,
        kept_track: s.kept_track,
        confirmed_by: anon.confirmed_by.clone(),
        boxes_masked: s.boxes_masked,
        audio: s.audio.to_owned(),
        no_viewing_reason: anon.no_viewing_reason.clone(),
    }
}

/// The planned files of an export, in order: (camera, range) → 1-based position.
pub(super) fn positions(
    cameras: &[String],
    ranges: &[TimeRange],
) -> Vec<(String, TimeRange, usize)> {
    let mut out = Vec::new();
    for c in cameras {
        for r in ranges {
            out.push((c.clone(), *r, out.len() + 1));
        }
    }
    out
}
