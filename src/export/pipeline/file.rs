//! One camera's files: for each of its ranges, pull → fragmented MP4 → seal → `.partial` on
//! the drive, read-back verification, then the final name; progress lines while it pulls. Every
//! path it creates is tracked in the export's [`FileContext`] so a failure removes them all.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use jiff::Timestamp;
use scelle_adapters::{Event, Gap, TimeRange};
use serde_json::json;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use zeroize::Zeroizing;

use super::{EVENT_QUEUE, Job, PROGRESS_EVERY, Progress, blocking, span_seconds, ts_name};
use crate::case::{ExportedFile, FileDigest};
use crate::export::folder::ExportDir;
use crate::export::sealed::{self, partial_of};
use crate::export::{ExportError, SourceStep, VerifyError};
use crate::mp4::{Provenance, TrackSource};
use crate::seal::{Metadata, SealParams};

/// What every file of one export shares.
pub(super) struct FileContext {
    pub(super) folder: PathBuf,
    /// The folder by descriptor: every file is created, read and removed through it.
    pub(super) dir: ExportDir,
    pub(super) password: Zeroizing<String>,
    pub(super) params: SealParams,
    pub(super) case_id: String,
    pub(super) site: String,
    pub(super) operator: String,
    pub(super) started_at: Timestamp,
    pub(super) created: Arc<Mutex<Vec<PathBuf>>>,
    pub(super) cancel: CancellationToken,
    pub(super) progress: Progress,
    pub(super) export_id: String,
}

impl FileContext {
    pub(super) fn track(&self, path: &Path) {
        self.created
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(path.to_owned());
    }
}

/// Removes what the export created, relative to the folder's descriptor.
pub(super) fn remove_created(dir: &ExportDir, created: &Mutex<Vec<PathBuf>>) -> Vec<String> {
    let list = std::mem::take(&mut *created.lock().unwrap_or_else(|e| e.into_inner()));
    let mut removed = Vec::new();
    for p in list {
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if dir.remove(&name).is_ok() {
            removed.push(name);
        }
    }
    removed
}

/// One camera: its ranges one after the other.
pub(super) async fn camera_task(
    ctx: Arc<FileContext>,
    job: Job,
) -> Result<Vec<ExportedFile>, ExportError> {
    let mut out = Vec::new();
    for (range, _plan) in &job.plans {
        out.push(one_file(&ctx, &job, *range).await?);
    }
    Ok(out)
}

/// The name of the sealed file of one camera's range: `CAMERA_START_END.mp4.scelle`.
pub(super) fn sealed_name(camera: &str, range: TimeRange) -> String {
    format!(
        "{}_{}_{}.mp4.scelle",
        camera,
        ts_name(range.start),
        ts_name(range.end)
    )
}

/// Pull → MP4 → seal → `.partial`, verify, rename.
async fn one_file(
    ctx: &Arc<FileContext>,
    job: &Job,
    range: TimeRange,
) -> Result<ExportedFile, ExportError> {
    let camera = job.camera.id.to_string();
    let name = sealed_name(&camera, range);
    let final_path = ctx.folder.join(&name);
    let partial = partial_of(&final_path);
    ctx.track(&partial);
    let (tx, mut rx) = mpsc::channel::<Event>(EVENT_QUEUE);
    let source = job.source.clone();
    let pull = tokio::spawn(async move { source.pull(range, tx).await });
    let abort = pull.abort_handle();
    let cancel = ctx.cancel.clone();
    let watcher = tokio::spawn(async move {
        cancel.cancelled().await;
        abort.abort();
    });

    let provenance = Provenance {
        export_unit_name: ctx.site.clone(),
        operator: ctx.operator.clone(),
        export_time: Some(ctx.started_at),
        case_id: Some(ctx.case_id.clone()),
        sources: (0..4)
            .map(|_| TrackSource {
                name: job.camera.name.clone(),
                url: job.camera.address(),
                ..TrackSource::default()
            })
            .collect(),
        ..Provenance::default()
    };
    let mut metadata = Metadata::now(name.trim_end_matches(".scelle"), "video/mp4");
    metadata.case_id = Some(ctx.case_id.clone());
    let requested = span_seconds(&range);
    let writer = {
        let ctx = ctx.clone();
        let partial = partial.clone();
        let camera = camera.clone();
        let name = name.clone();
        tokio::task::spawn_blocking(move || {
            let mut tracks: Vec<String> = Vec::new();
            let mut watch = Watch::new(&ctx, &camera, &name, requested);
            let events = std::iter::from_fn(|| {
                if ctx.cancel.is_cancelled() {
                    return None;
                }
                let ev = rx.blocking_recv()?;
                if let Event::Streams(streams) = &ev {
                    tracks = streams.iter().map(describe_stream).collect();
                }
                watch.see(&ev);
                Some(ev)
            });
            let r = sealed::write_mp4(
                events,
                &ctx.dir,
                &partial,
                sealed::Sealing {
                    password: &ctx.password,
                    params: &ctx.params,
                    metadata: &metadata,
                },
                provenance,
                range.start,
                &camera,
            );
            r.map(|(mp4, seal)| (mp4, seal, tracks))
        })
    };
    let written = writer.await;
    let pulled = pull.await;
    watcher.abort();
    if ctx.cancel.is_cancelled() {
        return Err(ExportError::Interrupted(format!(
            "camera `{camera}`: stopped before {name} was complete"
        )));
    }
    let written =
        written.map_err(|e| ExportError::Interrupted(format!("writer task failed: {e}")))?;
    // A pull that failed is reported first: a writer that got nothing because of it (a
    // refused certificate, refused credentials) would not say why.
    let pulled = match pulled {
        Ok(Err(source)) => {
            return Err(ExportError::Source {
                camera,
                step: SourceStep::Pull,
                source: Box::new(source),
            });
        }
        other => other,
    };
    let (mp4, seal, tracks) = written?;
    if let Err(e) = pulled {
        return Err(ExportError::Interrupted(format!(
            "camera `{camera}`: pull stopped: {e}"
        )));
    }

    ctx.progress.data(
        "verifying",
        json!({ "export": ctx.export_id, "camera": camera, "file": name, "phase": "verifying",
                "bytes": seal.bytes, "media_seconds": requested_clip(&mp4.covered, &range),
                "requested_seconds": requested }),
    );
    let (c2, p2, expected) = (ctx.clone(), partial.clone(), seal.clone());
    let scanned = blocking(move || sealed::verify(&c2.dir, &p2, &c2.password, &expected, true))
        .await?
        .unwrap_or_default();
    let first = mp4.tracks.first();
    if first.map(|t| t.samples) != Some(scanned.samples) || mp4.fragments != scanned.fragments {
        return Err(ExportError::Verify {
            file: name,
            source: VerifyError::Counts {
                read_fragments: u64::from(scanned.fragments),
                read_samples: scanned.samples,
                written_fragments: u64::from(mp4.fragments),
                written_samples: first.map_or(0, |t| t.samples),
            },
        });
    }
    sealed::promote(&ctx.dir, &partial, &final_path)?;
    ctx.track(&final_path);
    // The file keeps the device's own times; the record states coverage and gaps on the
    // server's clock (the request's), through the offset measured before the pull (FLD-1).
    let on_server = |t: Timestamp| match (&job.clock, mp4.start_from_device) {
        (Some(offset), true) => scelle_adapters::clock::device_to_server(t, offset),
        _ => t,
    };
    let covered: Vec<TimeRange> = mp4
        .covered
        .iter()
        .map(|c| TimeRange {
            start: on_server(c.start),
            end: on_server(c.end),
        })
        .filter_map(|c| clip(&c, &range))
        .collect();
    let covered_seconds = covered.iter().map(span_seconds).sum();
    ctx.progress.data(
        "verified",
        json!({ "export": ctx.export_id, "camera": camera, "file": name, "phase": "verified",
                "bytes": seal.bytes, "media_seconds": covered_seconds,
                "requested_seconds": requested, "frames": scanned.samples,
                "sha256": hex::encode(seal.sha256) }),
    );
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
        gaps: mp4
            .gaps
            .iter()
            .map(|g| Gap {
                start: on_server(g.start),
                end: on_server(g.end),
                ..g.clone()
            })
            .collect(),
        covered_seconds,
        frames: scanned.samples,
        tracks,
        start_from_device: mp4.start_from_device,
        device: job.device.clone(),
        clock_offset: job.clock,
        link: Some(job.camera.link()),
        anonymized: None,
    })
}

fn clip(c: &TimeRange, r: &TimeRange) -> Option<TimeRange> {
    let start = c.start.max(r.start);
    let end = c.end.min(r.end);
    (start < end).then_some(TimeRange { start, end })
}

fn requested_clip(covered: &[TimeRange], r: &TimeRange) -> f64 {
    covered
        .iter()
        .filter_map(|c| clip(c, r))
        .map(|c| span_seconds(&c))
        .sum()
}

pub(super) fn describe_stream(s: &scelle_adapters::StreamInfo) -> String {
    use scelle_adapters::media::Codec;
    match s.codec {
        Codec::H264 | Codec::H265 => format!(
            "{} {}x{}",
            if s.codec == Codec::H264 {
                "H.264"
            } else {
                "H.265"
            },
            s.width.unwrap_or(0),
            s.height.unwrap_or(0)
        ),
        Codec::Aac => format!("AAC {} Hz", s.sample_rate.unwrap_or(0)),
        Codec::Pcmu | Codec::Pcma => format!(
            "G.711 {} {} Hz",
            if s.codec == Codec::Pcmu {
                "µ-law"
            } else {
                "A-law"
            },
            s.sample_rate.unwrap_or(0)
        ),
    }
}

/// Watches events go by and reports progress: bytes pulled and media time reached.
struct Watch<'a> {
    ctx: &'a FileContext,
    camera: &'a str,
    file: &'a str,
    requested: f64,
    bytes: u64,
    rate: u32,
    first_pts: Option<i64>,
    last_pts: i64,
    last_sent: Instant,
    /// The source's delivery speed and why it is real time, when it asked for more.
    pace: Option<scelle_adapters::Pace>,
}

impl<'a> Watch<'a> {
    fn new(ctx: &'a FileContext, camera: &'a str, file: &'a str, requested: f64) -> Watch<'a> {
        Watch {
            ctx,
            camera,
            file,
            requested,
            bytes: 0,
            rate: 90_000,
            first_pts: None,
            last_pts: 0,
            last_sent: Instant::now(),
            pace: None,
        }
    }

    fn see(&mut self, ev: &Event) {
        match ev {
            Event::Streams(s) => {
                if let Some(v) = s.first() {
                    self.rate = v.clock_rate.max(1);
                }
            }
            Event::Unit(u) => {
                self.bytes += u.data.len() as u64;
                if u.stream == 0 {
                    self.first_pts.get_or_insert(u.pts);
                    // Decode order: with B-frames presentation times go back and forth.
                    self.last_pts = self.last_pts.max(u.pts);
                }
            }
            Event::Pace(p) => {
                self.pace = Some(p.clone());
                self.last_sent = Instant::now() - PROGRESS_EVERY;
            }
            _ => {}
        }
        if self.last_sent.elapsed() >= PROGRESS_EVERY || matches!(ev, Event::End) {
            self.last_sent = Instant::now();
            let media = self
                .first_pts
                .map_or(0.0, |f| (self.last_pts - f) as f64 / self.rate as f64);
            self.ctx.progress.data(
                "pulling",
                json!({ "export": self.ctx.export_id, "camera": self.camera, "file": self.file,
                        "phase": "pulling", "bytes": self.bytes, "media_seconds": media,
                        "requested_seconds": self.requested,
                        "speed": self.pace.as_ref().map(|p| p.speed),
                        "speed_note": self.pace.as_ref().and_then(|p| p.note.clone()) }),
            );
        }
    }
}
