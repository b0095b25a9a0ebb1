//! Periodic tasks: the systemd watchdog, the overdue-emergency check (AUTH-3) and the purge
//! of temporary copies (PUR-1).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use super::notify;
use super::state::State;

/// How often the purge scheduler looks for due items.
const PURGE_EVERY: Duration = Duration::from_secs(3600);

/// How often a checkpoint is written when the register changed (issue 13: at least hourly).
pub const CHECKPOINT_EVERY: Duration = Duration::from_secs(3600);

/// How often overdue emergencies are looked for.
const OVERDUE_EVERY: Duration = Duration::from_secs(60);

/// Sends `WATCHDOG=1` every `every` while the runtime and the register answer: a hung
/// register stops the pings and systemd restarts the service.
pub async fn watchdog(state: Arc<State>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    loop {
        tokio::select! {
            _ = state.shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let register = state.register.clone();
        match tokio::task::spawn_blocking(move || register.head()).await {
            Ok(Ok(_)) => notify::notify("WATCHDOG=1"),
            Ok(Err(e)) => {
                tracing::error!(error = %e, "register does not answer; not feeding the watchdog")
            }
            Err(e) => tracing::error!(error = %e, "watchdog check panicked"),
        }
    }
}

/// Writes a checkpoint (the head, sealed by the site key) every [`CHECKPOINT_EVERY`] when the
/// register changed since the last one.
pub async fn checkpoints(state: Arc<State>) {
    let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
    tick.tick().await;
    loop {
        tokio::select! {
            _ = state.shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let register = state.register.clone();
        match tokio::task::spawn_blocking(move || register.checkpoint_if_changed()).await {
            Ok(Ok(Some(cp))) => tracing::info!(seq = cp.seq, "checkpoint written"),
            Ok(Ok(None)) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "cannot write a checkpoint"),
            Err(e) => tracing::error!(error = %e, "checkpoint task panicked"),
        }
    }
}

/// Logs every emergency whose written request is overdue, once per case per daemon run.
pub async fn overdue_emergencies(state: Arc<State>) {
    let mut flagged = HashSet::new();
    let mut tick = tokio::time::interval(OVERDUE_EVERY);
    loop {
        tokio::select! {
            _ = state.shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let hours = state.config().cases.emergency_regularize_hours;
        for case in state.cases.overdue(jiff::Timestamp::now(), hours) {
            if flagged.insert(case.id.clone()) {
                tracing::warn!(target: crate::security_log::TARGET, event = "emergency-overdue",
                    case = %case.id, operator = %case.operator, hours,
                    "emergency case without its written request in time (AUTH-3)");
            }
        }
    }
}

/// Purges every due temporary copy on time and logs overdue ones at error level each tick
/// ([`crate::purge::tick`]).
pub async fn purge(state: Arc<State>) {
    let mut tick = tokio::time::interval(PURGE_EVERY);
    loop {
        tokio::select! {
            _ = state.shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let register = state.register.clone();
        let dir = state.config().daemon.state_dir.clone();
        let run = move || crate::purge::tick(&register, &dir, &crate::purge::SystemClock);
        match tokio::task::spawn_blocking(run).await {
            Ok(Ok(t)) if !t.purged.is_empty() || !t.failed.is_empty() => tracing::info!(
                purged = t.purged.len(),
                failed = t.failed.len(),
                overdue = t.overdue.len(),
                "purge scheduler tick"
            ),
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "purge scheduler cannot read the register"),
            Err(e) => tracing::error!(error = %e, "purge scheduler panicked"),
        }
    }
}
