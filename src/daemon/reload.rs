//! Configuration reload: watches the configuration file (`notify`) and puts a valid new
//! version in force; its people changes are recorded in the register (AUTH-4). An invalid
//! file keeps the configuration in force and the journal says why.
//!
//! The directory is watched rather than the file, because editors and configuration tools
//! replace files by renaming a new one over them.

use std::sync::Arc;
use std::time::Duration;

use notify::{RecursiveMode, Watcher};
use tokio::sync::mpsc;

use super::state::State;
use crate::config::Config;

/// Events closer than this are one change (editors write in several steps).
const SETTLE: Duration = Duration::from_millis(300);

/// Watches until shutdown. Returns at once (logged) if the watch cannot be set up.
pub async fn watch(state: Arc<State>) {
    let path = state.config_path.clone();
    let Some(dir) = path.parent().map(|d| {
        if d.as_os_str().is_empty() {
            std::path::Path::new(".").to_owned()
        } else {
            d.to_owned()
        }
    }) else {
        return;
    };
    let name = path.file_name().map(|n| n.to_owned());
    let (tx, mut rx) = mpsc::unbounded_channel();
    let watcher = notify::recommended_watcher(move |ev: notify::Result<notify::Event>| {
        if let Ok(ev) = ev
            && ev.paths.iter().any(|p| p.file_name() == name.as_deref())
        {
            let _ = tx.send(());
        }
    });
    let mut watcher = match watcher {
        Ok(w) => w,
        Err(e) => {
            tracing::warn!(error = %e, "configuration reload disabled: cannot watch the file");
            return;
        }
    };
    if let Err(e) = watcher.watch(&dir, RecursiveMode::NonRecursive) {
        tracing::warn!(error = %e, dir = %dir.display(), "configuration reload disabled");
        return;
    }
    loop {
        tokio::select! {
            _ = state.shutdown.cancelled() => return,
            got = rx.recv() => if got.is_none() { return },
        }
        tokio::time::sleep(SETTLE).await;
        while rx.try_recv().is_ok() {}
        let state = state.clone();
        let _ = tokio::task::spawn_blocking(move || reload_once(&state)).await;
    }
}

/// Reads the file again and puts it in force if valid.
pub fn reload_once(state: &State) {
    let path = &state.config_path;
    let new = match Config::load(path) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(target: crate::security_log::TARGET, event = "config-refused", error = %e,
                "configuration change refused, keeping the one in force");
            return;
        }
    };
    let old = state.config();
    if *old == new {
        return;
    }
    if let Err(message) = state.cases.check_people(&new.people) {
        tracing::error!(target: crate::security_log::TARGET, event = "config-refused",
            error = %format!("{}: {message}", path.display()),
            "configuration change refused, keeping the one in force");
        return;
    }
    if old.daemon != new.daemon {
        tracing::warn!(
            "the [daemon] section changed: socket and state directory changes need a restart"
        );
    }
    match state.cases.sync_people(&new.people) {
        Ok(changed) => {
            // Recorded and logged before it is in force: whoever sees the new configuration
            // at work finds it in the register and the journal.
            if let Err(e) = super::trust::record_config(&state.register, path, "reload") {
                tracing::error!(error = %e, "cannot record the configuration change in the register");
            }
            let recorded = crate::config::record_site(
                &state.register,
                &new.site.identity(),
                &new.site.time_zone.0,
                new.cases.emergency_regularize_hours,
            );
            if let Err(e) = recorded {
                tracing::error!(error = %e, "cannot record the new site identity in the register");
            }
            tracing::info!(target: crate::security_log::TARGET, event = "config-reloaded",
                people_changed = changed, path = %path.display(), "configuration reloaded");
            state.set_config(new);
        }
        Err(e) => tracing::error!(error = %e,
            "cannot record the new people list in the register; keeping the configuration in force"),
    }
}
