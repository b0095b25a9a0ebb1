//! The review of an access-request export before it is made (DEL-2, decision 0151): the daemon
//! pulls the case's footage into memory, analyzes it, and hands the operator a **sealed review
//! sheet** (one thumbnail per face track, sealed with the export's password in the scelle
//! container, never in clear on disk); it keeps the footage and the analysis in memory, bounded
//! in time ([`REVIEW_TTL`]) and size ([`MAX_HELD_BYTES`]), so that the export the same operator
//! runs next (`--keep-track FILE:N`) renders exactly the tracks the sheet showed.
//!
//! A review belongs to the person who made it: nobody else may export with it. It is dropped
//! when the export that used it ends, when it expires, or when a new review of the same case
//! replaces it; a daemon restart forgets it (nothing was ever on disk).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use scelle_adapters::TimeRange;
use zeroize::Zeroizing;

use super::anonymized::{Pulled, engine, provenance, pull_clip};
use crate::anonymize::{Analysis, Input};
use crate::case::Case;
use crate::config::{Config, Person};
use crate::export::ExportError;
use crate::mp4::Mp4Summary;
use crate::seal::{KdfParams, Metadata, SealParams, SealWriter};

/// How long a review is held after it was made.
pub const REVIEW_TTL: Duration = Duration::from_secs(30 * 60);
/// Most footage all held reviews together keep in memory.
pub const MAX_HELD_BYTES: usize = 2 << 30;

/// One camera × range, pulled and analyzed.
pub struct HeldClip {
    pub position: usize,
    pub camera: String,
    pub range: TimeRange,
    pub mp4: Arc<Zeroizing<Vec<u8>>>,
    pub summary: Mp4Summary,
    pub tracks: Vec<String>,
    pub analysis: Arc<Analysis>,
}

/// A review held for one case and one person.
pub struct Review {
    pub case: String,
    pub person: String,
    made: Instant,
    /// The export's password: the sheet is sealed with it and the export uses it.
    pub password: Zeroizing<String>,
    pub password_generated: bool,
    pub clips: Vec<Arc<HeldClip>>,
}

impl Review {
    /// The held clip of `camera` over `range`.
    pub fn clip(&self, camera: &str, range: TimeRange) -> Option<Arc<HeldClip>> {
        self.clips
            .iter()
            .find(|c| c.camera == camera && c.range == range)
            .cloned()
    }

    /// The track numbers of the file at `position`.
    pub fn tracks_of(&self, position: usize) -> Option<Vec<u32>> {
        self.clips
            .iter()
            .find(|c| c.position == position)
            .map(|c| c.analysis.tracks.iter().map(|t| t.summary.id).collect())
    }

    fn bytes(&self) -> usize {
        self.clips.iter().map(|c| c.mp4.len()).sum()
    }

    fn expired(&self) -> bool {
        self.made.elapsed() > REVIEW_TTL
    }
}

static HELD: Mutex<Vec<Arc<Review>>> = Mutex::new(Vec::new());

fn held() -> std::sync::MutexGuard<'static, Vec<Arc<Review>>> {
    HELD.lock().unwrap_or_else(|e| e.into_inner())
}

/// Keeps `review`, replacing any earlier review of its case; refused when memory is short.
pub fn hold(review: Review) -> Result<Arc<Review>, ExportError> {
    let mut h = held();
    h.retain(|r| !r.expired() && r.case != review.case);
    let in_use: usize = h.iter().map(|r| r.bytes()).sum();
    if in_use + review.bytes() > MAX_HELD_BYTES {
        return Err(ExportError::Refused(format!(
            "other reviews hold {} MiB of footage in memory already: export them first or wait \
             {} minutes for them to expire",
            in_use >> 20,
            REVIEW_TTL.as_secs() / 60
        )));
    }
    let review = Arc::new(review);
    h.push(review.clone());
    Ok(review)
}

/// The review of `case` for `person`: `Ok(None)` if none is held (or it expired), refused if
/// someone else made it (a person never confirms a track choice on another's review).
pub fn of(case: &str, person: &str) -> Result<Option<Arc<Review>>, ExportError> {
    let mut h = held();
    h.retain(|r| !r.expired());
    match h.iter().find(|r| r.case == case) {
        None => Ok(None),
        Some(r) if r.person == person => Ok(Some(r.clone())),
        Some(r) => Err(ExportError::Refused(format!(
            "the review of case {case} was made by {}: only they may choose the requester's \
             track from it; run `scelle case review {case}` yourself",
            r.person
        ))),
    }
}

/// Forgets the review of `case` (its export ended).
pub fn forget(case: &str) {
    held().retain(|r| r.case != case);
}

/// Pulls and analyzes every camera × range of `case` and returns the review (not yet held)
/// and its sheet, sealed with `password`.
pub async fn make(
    config: &Config,
    case: &Case,
    person: &Person,
    password: Zeroizing<String>,
    password_generated: bool,
    cancel: tokio_util::sync::CancellationToken,
    progress: super::Progress,
) -> Result<(Review, Vec<u8>), ExportError> {
    let ranges = super::case_ranges(case);
    let mut clips = Vec::new();
    for (camera_id, range, position) in super::anonymized::positions(&case.opening.cameras, &ranges)
    {
        let (camera, source) = super::case_source(config, case, &camera_id)?;
        // one progress line per phase, and per second of footage analyzed
        let file = format!("file {position}");
        let requested = super::span_seconds(&range);
        let line = {
            let (progress, case, camera) = (progress.clone(), case.id.clone(), camera_id.clone());
            move |phase: &str, frames: u64, seconds: f64| {
                progress.data(
                    phase,
                    serde_json::json!({ "case": case, "camera": camera, "file": file,
                        "phase": phase, "frames": frames, "media_seconds": seconds,
                        "requested_seconds": requested }),
                );
            }
        };
        line("pulling", 0, 0.0);
        let Pulled {
            mp4,
            summary,
            tracks,
        } = pull_clip(
            source,
            &camera_id,
            range,
            provenance(&camera, &config.site.name, &person.name, &case.id),
            cancel.clone(),
        )
        .await?;
        let mp4 = Arc::new(mp4);
        let m2 = mp4.clone();
        let cam = camera_id.clone();
        let analysis = tokio::task::spawn_blocking(move || {
            engine()?
                .analyze_with(Input::Bytes(&m2), &mut |d| {
                    line("analyzing", d.frames, d.seconds)
                })
                .map_err(|e| ExportError::Write {
                    camera: cam,
                    source: e.into(),
                })
        })
        .await
        .map_err(|e| ExportError::Interrupted(format!("analysis task failed: {e}")))??;
        clips.push(Arc::new(HeldClip {
            position,
            camera: camera_id,
            range,
            mp4,
            summary,
            tracks,
            analysis: Arc::new(analysis),
        }));
    }
    let review = Review {
        case: case.id.clone(),
        person: person.id.clone(),
        made: Instant::now(),
        password,
        password_generated,
        clips,
    };
    let html = sheet(&review, config);
    let params = SealParams {
        kdf: KdfParams {
            m_cost_kib: config.export.kdf_memory_mib.saturating_mul(1024),
            t_cost: config.export.kdf_passes,
            p_cost: KdfParams::DEFAULT.p_cost,
        },
        ..SealParams::default()
    };
    let mut metadata = Metadata::now(format!("{}-review.html", case.id), "text/html");
    metadata.case_id = Some(case.id.clone());
    let sealed = seal_bytes(&html, &review.password, &metadata, &params)?;
    Ok((review, sealed))
}

/// Seals `plain` into memory.
fn seal_bytes(
    plain: &[u8],
    password: &str,
    metadata: &Metadata,
    params: &SealParams,
) -> Result<Vec<u8>, ExportError> {
    let err = |e: crate::seal::SealError| ExportError::Write {
        camera: "-".into(),
        source: e.into(),
    };
    let mut w = SealWriter::new(Vec::new(), password.as_bytes(), metadata, params).map_err(err)?;
    std::io::Write::write_all(&mut w, plain).map_err(|e| ExportError::Io {
        path: "review sheet (in memory)".into(),
        source: e,
    })?;
    Ok(w.finish_into_inner().map_err(err)?.1)
}

/// The review sheet: one row per face track with its thumbnail, per file.
fn sheet(review: &Review, config: &Config) -> Zeroizing<Vec<u8>> {
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let mut h = format!(
        "<!doctype html><html lang=\"fr\"><meta charset=\"utf-8\"><title>Revue {case}</title>\
         <style>body{{font-family:sans-serif;margin:2em}}td,th{{border:1px solid #999;padding:4px}}\
         table{{border-collapse:collapse}}img{{max-height:160px}}</style>\
         <h1>Revue des visages — dossier {case} ({site})</h1>\
         <p>Demande d'accès (RGPD art. 15). Chaque piste est un visage suivi dans l'extrait. \
         Tous les visages sont floutés, sauf la piste du demandeur si vous la choisissez : \
         <code>scelle case export {case} --to … --no-viewing-reason \"…\" --keep-track FICHIER:PISTE</code> \
         (ou <code>--blur-all</code>). Revue faite par {person}, valable {ttl} minutes.</p>\
         <p lang=\"en\">Access request. Each track is one face followed through the clip. Every \
         face is blurred except the requester's track if you choose it with \
         <code>--keep-track FILE:TRACK</code> (or <code>--blur-all</code>).</p>",
        case = esc(&review.case),
        site = esc(&config.site.name),
        person = esc(&review.person),
        ttl = REVIEW_TTL.as_secs() / 60,
    );
    let tz = jiff::tz::TimeZone::get(&config.site.time_zone.0).unwrap_or(jiff::tz::TimeZone::UTC);
    for c in &review.clips {
        let a = &c.analysis;
        let fps = if a.info.rate.1 == 0 {
            25.0
        } else {
            f64::from(a.info.rate.0) / f64::from(a.info.rate.1)
        };
        h += &format!(
            "<h2>Fichier {} — caméra {} — {}</h2><p>{} images, {} piste(s)</p>",
            c.position,
            esc(&c.camera),
            esc(&crate::wording::range(
                c.range.start,
                c.range.end,
                &tz,
                &config.site.time_zone.0
            )),
            a.frames,
            a.tracks.len()
        );
        if a.tracks.is_empty() {
            h += "<p>Aucun visage détecté / no face found.</p>";
            continue;
        }
        h += "<table><tr><th>--keep-track</th><th>Visage</th><th>De (s)</th><th>À (s)</th>\
              <th>Détections</th><th>Score</th></tr>";
        for t in &a.tracks {
            let s = &t.summary;
            h += &format!(
                "<tr><td><code>{}:{}</code></td><td><img alt=\"piste {}\" \
                 src=\"data:image/png;base64,{}\"></td><td>{:.1}</td><td>{:.1}</td><td>{}</td>\
                 <td>{:.2}</td></tr>",
                c.position,
                s.id,
                s.id,
                B64.encode(&t.thumbnail_png),
                s.first_frame as f64 / fps,
                s.last_frame as f64 / fps,
                s.detections,
                s.best_score
            );
        }
        h += "</table>";
    }
    h += "</html>";
    Zeroizing::new(h.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn review(case: &str, person: &str, age: Duration) -> Review {
        Review {
            case: case.into(),
            person: person.into(),
            made: Instant::now().checked_sub(age).unwrap_or_else(Instant::now),
            password: Zeroizing::new("x".into()),
            password_generated: false,
            clips: Vec::new(),
        }
    }

    #[test]
    fn a_review_is_its_makers_replaced_forgotten_and_expires() {
        hold(review("T-REV-1", "olga", Duration::ZERO)).unwrap();
        assert!(of("T-REV-1", "olga").unwrap().is_some());
        let e = of("T-REV-1", "oscar")
            .err()
            .expect("someone else's review")
            .to_string();
        assert!(e.contains("made by olga"), "{e}");
        // A new review of the case replaces it, whoever makes it.
        hold(review("T-REV-1", "oscar", Duration::ZERO)).unwrap();
        assert!(of("T-REV-1", "oscar").unwrap().is_some());
        assert!(of("T-REV-1", "olga").is_err());
        forget("T-REV-1");
        assert!(of("T-REV-1", "oscar").unwrap().is_none());
        // Expired: gone (when the monotonic clock reaches back that far, i.e. not just after
        // boot).
        let age = REVIEW_TTL + Duration::from_secs(1);
        if Instant::now().checked_sub(age).is_some() {
            hold(review("T-REV-2", "olga", age)).unwrap();
            assert!(of("T-REV-2", "olga").unwrap().is_none());
        }
    }
}
