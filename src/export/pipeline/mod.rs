//! One export, start to verified: facts from each source (describe, clock offset, plan), the
//! destination checks, `export-started`, one task per camera pulling its ranges through a
//! bounded channel into `mp4 → seal → file` on a blocking thread, read-back verification of
//! every file, the sealed manifest and the instructions, then `export-verified`.
//!
//! On any failure every file this export created is removed (they are ciphertext; removing them
//! keeps the folder unambiguous) and `export-failed` or `export-interrupted` says what happened.
//! The caller (the `case-export` handler) then asks the operator to sign `export-completed`.
//!
//! This module runs the whole and owns the request/result types; [`file`] makes one sealed
//! file of one camera's range, [`finish`] seals the manifest and writes the instructions.

#[cfg(feature = "anonymize")]
mod anonymized;
#[cfg(not(feature = "anonymize"))]
#[path = "without_anonymize.rs"]
mod anonymized;
mod file;
mod finish;
#[cfg(not(feature = "anonymize"))]
pub use anonymized::{MISSING as ANONYMIZE_MISSING, review};
#[cfg(feature = "anonymize")]
pub mod review;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::Timestamp;
use rand::RngCore;
use scelle_adapters::{ClockOffset, DeviceInfo, Plan, Source, TimeRange};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use zeroize::Zeroizing;

use super::destination::{self, Checked};
use super::folder::ExportDir;
use super::journal;
use super::{ExportError, SourceStep};
use crate::case::Case;
use crate::case::ExportRecord;
use crate::config::{Camera, Config, Person};
use crate::register::{EntryKind, NewEntry, Register};
use crate::seal::{KdfParams, SealParams};
pub use anonymized::Anonymize;
use file::{FileContext, camera_task, remove_created};
use finish::{FinishFacts, finish};

/// How long each probe of a source (describe, clock, plan) may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(15);
/// Events in flight between a source and its MP4 writer.
const EVENT_QUEUE: usize = 64;
/// Progress lines per file at most this often.
const PROGRESS_EVERY: Duration = Duration::from_millis(250);

/// What the handler asks for.
pub struct ExportRequest {
    pub case: Case,
    pub operator: Person,
    pub to: PathBuf,
    pub accept_drive: bool,
    pub password: Zeroizing<String>,
    /// Whether scelle generated the password (recorded; the password itself never is).
    pub password_generated: bool,
    /// An access request (DEL-2): every file is anonymized, never the original.
    pub anonymize: Option<Anonymize>,
}

/// An export written and verified, waiting for the operator's signature.
pub struct Verified {
    pub record: ExportRecord,
    /// Hash of the `export-verified` entry.
    pub verified_entry: [u8; 32],
    /// Hash of the `export-started` entry (the link `export-completed` carries).
    pub export_started: [u8; 32],
    pub password: Zeroizing<String>,
    /// Every file this export wrote, so it can still be removed if the case is closed before
    /// the operator signs (see [`remove_files`]).
    pub created: Vec<PathBuf>,
    /// The export folder, still open by descriptor, to remove them from.
    context: Option<Arc<FileContext>>,
}

/// One progress report of an export: the stage reached and, on data lines, its figures
/// (bytes pulled, media time reached). The caller decides how it travels (`api` turns it into
/// a `progress` reply); the export never waits for it.
#[derive(Clone, Debug, PartialEq)]
pub struct ProgressLine {
    pub stage: String,
    pub data: Option<Value>,
}

/// Where an export reports its progress: a function of the caller's that must not block (a
/// line it cannot pass on right away is dropped).
#[derive(Clone)]
pub struct Progress(Arc<dyn Fn(ProgressLine) + Send + Sync>);

impl Progress {
    pub fn new(report: impl Fn(ProgressLine) + Send + Sync + 'static) -> Progress {
        Progress(Arc::new(report))
    }
    fn stage(&self, stage: &str) {
        (self.0)(ProgressLine {
            stage: stage.to_owned(),
            data: None,
        });
    }
    fn data(&self, stage: &str, data: Value) {
        (self.0)(ProgressLine {
            stage: stage.to_owned(),
            data: Some(data),
        });
    }
}

/// One camera's share of the export.
struct Job {
    camera: Camera,
    source: Arc<dyn Source>,
    device: Option<DeviceInfo>,
    clock: Option<ClockOffset>,
    plans: Vec<(TimeRange, Option<Plan>)>,
    /// What describe / clock_offset / plan answered, failures included, for `export-started`.
    facts: Value,
}

fn ts_name(t: Timestamp) -> String {
    format!("{}Z", t.strftime("%Y%m%dT%H%M%S"))
}

/// The case reference as a folder name: letters (accented ones too), digits, `-`, `_`, `.`;
/// others become `_`.
pub fn sanitize(reference: &str, fallback: &str) -> String {
    let s: String = reference
        .trim()
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .take(80)
        .collect();
    let s = s.trim_start_matches('.').to_owned();
    if s.is_empty() { fallback.to_owned() } else { s }
}

fn new_export_id() -> String {
    let mut r = [0u8; 3];
    rand::rngs::OsRng.fill_bytes(&mut r);
    format!("EXP-{}-{}", ts_name(Timestamp::now()), hex::encode(r))
}

async fn timed<T, E: std::fmt::Display>(
    f: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, String> {
    match tokio::time::timeout(PROBE_TIMEOUT, f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no answer within {} s", PROBE_TIMEOUT.as_secs())),
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ExportError> + Send + 'static,
) -> Result<T, ExportError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ExportError::Interrupted(format!("internal task failed: {e}")))?
}

/// Runs an export up to `export-verified`. `shutdown` is the daemon's SIGTERM token.
pub async fn run(
    config: Arc<Config>,
    register: Arc<Register>,
    req: ExportRequest,
    shutdown: CancellationToken,
    progress: Progress,
) -> Result<Verified, ExportError> {
    let case = &req.case;
    let ranges = case_ranges(case);
    let mut jobs = Vec::new();
    for id in &case.opening.cameras {
        let (camera, source) = case_source(&config, case, id)?;
        jobs.push(Job {
            camera,
            source,
            device: None,
            clock: None,
            plans: Vec::new(),
            facts: Value::Null,
        });
    }
    progress.stage("asking the sources what they hold");
    let probes = jobs.iter().map(|job| {
        let source = job.source.clone();
        let ranges = ranges.clone();
        let camera = job.camera.id.to_string();
        async move {
            let device = timed(source.describe()).await;
            let clock = timed(source.clock_offset()).await;
            let mut plans = Vec::new();
            let mut plan_facts = Vec::new();
            for r in ranges {
                let plan = timed(source.plan(r)).await;
                match &plan {
                    Ok(p) => plan_facts.push(json!({ "range": r, "plan": p })),
                    // A source that cannot plan (vendor playback URLs) says so once, as a
                    // fact; a plan that failed is a warning.
                    Err(e) if e.contains("not supported") => {
                        if plan_facts.iter().all(|f| f.get("error").is_none()) {
                            tracing::info!(camera = %camera, reason = %e,
                                "no recording plan from this source: the range is estimated whole");
                        }
                        plan_facts.push(json!({ "range": r, "error": e }));
                    }
                    Err(e) => {
                        tracing::warn!(camera = %camera, error = %e, "plan failed: estimate from the range");
                        plan_facts.push(json!({ "range": r, "error": e }));
                    }
                }
                plans.push((r, plan.ok()));
            }
            if let Err(e) = &device {
                tracing::warn!(camera = %camera, error = %e, "describe failed: recorded as unknown");
            }
            let facts = json!({
                "camera": camera,
                "device": match &device { Ok(d) => json!(d), Err(e) => json!({ "error": e }) },
                "clock_offset": match &clock { Ok(c) => json!(c), Err(e) => json!({ "error": e }) },
                "plans": plan_facts,
            });
            (device.ok(), clock.ok(), plans, facts)
        }
    });
    let facts = futures_join_all(probes).await;
    for (job, (device, clock, plans, facts)) in jobs.iter_mut().zip(facts) {
        job.device = device;
        job.clock = clock;
        job.plans = plans;
        job.facts = facts;
    }
    let source_facts: Vec<Value> = jobs.iter().map(|j| j.facts.clone()).collect();

    // Space estimate: the recorded spans (or the whole range when the plan is unknown) at the
    // assumed bitrate, plus 2 % of container overhead and 64 KiB for the manifest and texts.
    let settings = config.export.clone();
    let bytes_per_sec = settings.assumed_bitrate_kbps as f64 * 1000.0 / 8.0;
    let seconds: f64 = jobs
        .iter()
        .flat_map(|j| j.plans.iter())
        .map(|(r, plan)| match plan {
            Some(p) => p.recorded.iter().map(span_seconds).sum(),
            None => span_seconds(r),
        })
        .sum();
    let estimate = (seconds * bytes_per_sec * 1.02) as u64 + (64 << 10);

    let to = req.to.clone();
    let accept = req.accept_drive;
    let s2 = settings.clone();
    let checked: Checked = blocking(move || destination::check(&to, &s2, accept, estimate)).await?;
    let (reg, serial) = (register.clone(), checked.drive.serial.clone());
    let destroyed = blocking(move || Ok(crate::drive::destruction_of(&reg, &serial)?)).await?;
    destination::refuse_destroyed(&checked.drive, destroyed.as_ref())?;
    // The folder is created after `export-started`, by the daemon, refused if it exists.
    let folder_name = sanitize(&case.opening.reference, &case.id);
    let folder = checked.root.join(&folder_name);
    let mut planned = Vec::new();
    for job in &jobs {
        for r in &ranges {
            planned.push(format!(
                "{}_{}_{}.mp4.scelle",
                job.camera.id,
                ts_name(r.start),
                ts_name(r.end)
            ));
        }
    }

    let export_id = new_export_id();
    let started_at = Timestamp::now();
    let reg = register.clone();
    let head = blocking(move || Ok(reg.head()?)).await?;
    let mut started = NewEntry::new(
        EntryKind::ExportStarted,
        Some(&case.id),
        &req.operator.id,
        json!({
            "export_id": export_id,
            "destination": checked.root.display().to_string(),
            "folder": folder.display().to_string(),
            "drive": checked.drive,
            "approved_drive": checked.approved,
            "accepted_by_operator": checked.accepted_by_operator,
            "separate_drive": checked.separate_drive,
            "free_bytes": checked.free_bytes,
            "estimate_bytes": estimate,
            "estimate_basis": format!("{} kbit/s assumed per camera", settings.assumed_bitrate_kbps),
            "cameras": case.opening.cameras,
            "ranges": ranges,
            "files": planned,
            "sources": source_facts,
            "register_head": head,
            "password": if req.password_generated { "generated" } else { "chosen by the operator" },
        }),
    );
    if let Some(a) = &req.anonymize {
        started.payload["anonymization"] = a.started_facts();
    }
    let reg = register.clone();
    blocking(move || Ok(reg.append(started)?)).await?;
    tracing::info!(target: crate::security_log::TARGET, event = "export-started",
        export = %export_id, case = %case.id, operator = %req.operator.id,
        folder = %folder.display(), drive_model = %checked.drive.model,
        drive_serial = %checked.drive.serial, drive_approved = checked.approved,
        drive_accepted_by_operator = checked.accepted_by_operator, "export started");
    let root = checked.root.clone();
    let name = folder_name.clone();
    let dir = match blocking(move || ExportDir::create(&root, &name)).await {
        Ok(dir) => dir,
        Err(e) => {
            let (reg, case_id, id2, reason) = (
                register.clone(),
                case.id.clone(),
                export_id.clone(),
                e.to_string(),
            );
            blocking(move || {
                Ok(journal::append_outcome(
                    &reg,
                    EntryKind::ExportFailed,
                    &case_id,
                    &id2,
                    &reason,
                    &[],
                )?)
            })
            .await?;
            tracing::warn!(target: crate::security_log::TARGET, event = "export-failed",
                export = %export_id, case = %case.id, error = %e, "export refused");
            return Err(e);
        }
    };
    progress.data(
        "export started",
        json!({ "export": export_id, "folder": folder.display().to_string(),
                "files": planned.len() }),
    );

    let created: Arc<Mutex<Vec<PathBuf>>> = Arc::new(Mutex::new(Vec::new()));
    let cancel = shutdown.child_token();
    watch(&case.id, cancel.clone());
    let params = SealParams {
        kdf: KdfParams {
            m_cost_kib: settings.kdf_memory_mib.saturating_mul(1024),
            t_cost: settings.kdf_passes,
            p_cost: KdfParams::DEFAULT.p_cost,
        },
        ..SealParams::default()
    };
    let ctx = Arc::new(FileContext {
        folder: folder.clone(),
        dir,
        password: req.password.clone(),
        params: params.clone(),
        case_id: case.id.clone(),
        site: config.site.name.clone(),
        operator: req.operator.name.clone(),
        started_at,
        created: created.clone(),
        cancel: cancel.clone(),
        progress: progress.clone(),
        export_id: export_id.clone(),
    });
    let mut tasks = tokio::task::JoinSet::new();
    let mut first = 1;
    for job in jobs {
        let ctx = ctx.clone();
        match req.anonymize.clone() {
            Some(anon) => {
                let at = first;
                tasks.spawn(async move { anonymized::camera_task(ctx, job, anon, at).await });
            }
            None => {
                tasks.spawn(async move { camera_task(ctx, job).await });
            }
        }
        first += ranges.len();
    }
    let mut files = Vec::new();
    let mut failure: Option<ExportError> = None;
    while let Some(joined) = tasks.join_next().await {
        let result = joined
            .unwrap_or_else(|e| Err(ExportError::Interrupted(format!("camera task failed: {e}"))));
        match result {
            Ok(mut f) => files.append(&mut f),
            Err(e) => {
                if failure.is_none() {
                    cancel.cancel();
                    failure = Some(e);
                }
            }
        }
    }
    if failure.is_none() && shutdown.is_cancelled() {
        failure = Some(ExportError::Interrupted(
            "the daemon was asked to stop (SIGTERM)".into(),
        ));
    }
    if let Some(reason) = stopped(&case.id) {
        failure = Some(closed_during(&case.id, &reason));
    }

    let result = match failure {
        None => {
            finish(
                &ctx,
                files,
                FinishFacts {
                    export_id: export_id.clone(),
                    case,
                    operator: &req.operator,
                    config: &config,
                    head,
                    checked: &checked,
                },
                register.clone(),
            )
            .await
        }
        Some(e) => Err(e),
    };
    // Closed while the manifest was sealed and the files read back: stopped all the same.
    let result = match (result, stopped(&case.id)) {
        (Ok(_), Some(reason)) => Err(closed_during(&case.id, &reason)),
        (r, _) => r,
    };
    match result {
        Ok(mut v) => {
            v.created = created.lock().unwrap_or_else(|e| e.into_inner()).clone();
            v.context = Some(ctx.clone());
            Ok(v)
        }
        Err(e) => {
            let mut removed = remove_created(&ctx.dir, &created);
            if ctx.dir.remove_if_empty() {
                removed.push(format!("{}/", folder_name));
            }
            let interrupted = shutdown.is_cancelled();
            let kind = if interrupted {
                EntryKind::ExportInterrupted
            } else {
                EntryKind::ExportFailed
            };
            let e = if interrupted && !matches!(e, ExportError::Interrupted(_)) {
                ExportError::Interrupted(format!("the daemon was asked to stop (SIGTERM): {e}"))
            } else if interrupted {
                ExportError::Interrupted(format!(
                    "the daemon was asked to stop (SIGTERM); {}",
                    e.to_string().trim_start_matches("interrupted: ")
                ))
            } else {
                e
            };
            let reason = e.to_string();
            let (reg, case_id, id2) = (register.clone(), case.id.clone(), export_id.clone());
            let logged = blocking(move || {
                Ok(journal::append_outcome(
                    &reg, kind, &case_id, &id2, &reason, &removed,
                )?)
            })
            .await;
            if let Err(le) = logged {
                tracing::error!(export = %export_id, error = %le, "cannot record the export's failure");
            }
            tracing::warn!(target: crate::security_log::TARGET, event = "export-failed",
                export = %export_id, case = %case.id, error = %e,
                "export failed; its files were removed");
            Err(e)
        }
    }
}

fn span_seconds(r: &TimeRange) -> f64 {
    (r.end.as_millisecond() - r.start.as_millisecond()).max(0) as f64 / 1000.0
}

/// Awaits every future, in order (a small join_all without another dependency).
async fn futures_join_all<F>(futs: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futs.map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        match h.await {
            Ok(v) => out.push(v),
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    }
    out
}

/// The refusal of an export whose case was closed while it ran.
fn closed_during(case: &str, reason: &str) -> ExportError {
    ExportError::Refused(format!(
        "case {case} was closed during the export ({reason}): the export was stopped and its \
         files removed; no password was released"
    ))
}

/// An export running for a case: its cancellation token once the writing started, and the
/// reason it was stopped, if it was.
struct Claim {
    case: String,
    cancel: Option<CancellationToken>,
    stopped: Option<String>,
}

/// Cases with an export running (one export per case at a time).
static RUNNING: Mutex<Vec<Claim>> = Mutex::new(Vec::new());

fn running() -> std::sync::MutexGuard<'static, Vec<Claim>> {
    RUNNING.lock().unwrap_or_else(|e| e.into_inner())
}

/// Claims `case` for an export; `false` if one is already running.
pub fn claim(case: &str) -> bool {
    let mut r = running();
    if r.iter().any(|c| c.case == case) {
        return false;
    }
    r.push(Claim {
        case: case.to_owned(),
        cancel: None,
        stopped: None,
    });
    true
}

/// Stops the running export of `case` (the case was closed): its writers are cancelled, its
/// files removed and `export-failed` records `reason`. Returns whether one was running.
pub fn stop(case: &str, reason: &str) -> bool {
    let mut r = running();
    let Some(c) = r.iter_mut().find(|c| c.case == case) else {
        return false;
    };
    c.stopped = Some(reason.to_owned());
    if let Some(t) = &c.cancel {
        t.cancel();
    }
    true
}

/// Ties `cancel` to the claim of `case`: cancelled at once if the case was closed meanwhile.
fn watch(case: &str, cancel: CancellationToken) {
    let mut r = running();
    if let Some(c) = r.iter_mut().find(|c| c.case == case) {
        if c.stopped.is_some() {
            cancel.cancel();
        }
        c.cancel = Some(cancel);
    }
}

/// Why the running export of `case` was stopped, if it was.
fn stopped(case: &str) -> Option<String> {
    running()
        .iter()
        .find(|c| c.case == case)
        .and_then(|c| c.stopped.clone())
}

/// Removes the files of a verified export that will not be completed (its case was closed
/// before the operator signed); returns their names.
pub fn remove_files(v: &Verified) -> Vec<String> {
    let Some(ctx) = &v.context else {
        return Vec::new();
    };
    let removed = remove_created(&ctx.dir, &Mutex::new(v.created.clone()));
    ctx.dir.remove_if_empty();
    removed
}

/// Releases the claim on drop.
pub struct Running(pub String);

impl Drop for Running {
    fn drop(&mut self) {
        running().retain(|c| c.case != self.0);
    }
}

/// Camera `id` of `case` from the configuration, and the source that pulls from it (with the
/// configured stall limit).
pub(super) fn case_source(
    config: &Config,
    case: &Case,
    id: &str,
) -> Result<(Camera, Arc<dyn Source>), ExportError> {
    let camera = config.camera(id).cloned().ok_or_else(|| {
        ExportError::BadInput(format!(
            "camera `{id}` of case {} is not in the configuration: add a [[camera]] entry",
            case.id
        ))
    })?;
    let stall = Duration::from_secs(u64::from(config.export.source_stall_secs.max(1)));
    let source = crate::camera::source(&camera, &config.site.time_zone.0, stall).map_err(|e| {
        ExportError::Source {
            camera: id.to_owned(),
            step: SourceStep::Build,
            source: Box::new(e),
        }
    })?;
    Ok((camera, source))
}

/// The case's time ranges as the sources take them.
pub(super) fn case_ranges(case: &Case) -> Vec<TimeRange> {
    case.opening
        .ranges
        .iter()
        .map(|r| TimeRange {
            start: r.start,
            end: r.end,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_closed_case_stops_its_running_export() {
        assert!(!stop("T-STOP", "nothing runs"));
        assert!(claim("T-STOP"));
        let guard = Running("T-STOP".into());
        assert!(!claim("T-STOP"), "one export per case");
        // Closed before the writers started: cancelled as soon as they are watched.
        assert!(stop("T-STOP", "ne pas exporter"));
        let token = CancellationToken::new();
        watch("T-STOP", token.clone());
        assert!(token.is_cancelled());
        assert_eq!(stopped("T-STOP").as_deref(), Some("ne pas exporter"));
        drop(guard);
        assert_eq!(stopped("T-STOP"), None);
        // Closed while they run.
        assert!(claim("T-STOP"));
        let _guard = Running("T-STOP".into());
        let token = CancellationToken::new();
        watch("T-STOP", token.clone());
        assert!(!token.is_cancelled());
        assert!(stop("T-STOP", "classé"));
        assert!(token.is_cancelled());
        let e = closed_during("T-STOP", "classé").to_string();
        assert!(e.contains("closed during the export") && e.contains("no password"));
    }

    #[test]
    fn folder_names_from_references() {
        assert_eq!(sanitize("PV 2026/1234", "C"), "PV_2026_1234");
        assert_eq!(sanitize("Réquisition n°12", "C"), "Réquisition_n_12");
        assert_eq!(sanitize("../..", "C"), "_..");
        assert_eq!(sanitize("...", "2026-0001"), "2026-0001");
        assert_eq!(sanitize("", "2026-0001"), "2026-0001");
        assert_eq!(
            ts_name("2026-01-15T14:00:40Z".parse().unwrap()),
            "20260115T140040Z"
        );
    }
}
