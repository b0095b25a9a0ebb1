//! The daemon's runtime: start-up, the tasks it runs, and shutdown.
//!
//! Start-up order matters to systemd: configuration, register, people list recorded, socket
//! bound, and only then `READY=1`. One [`CancellationToken`](tokio_util::sync::CancellationToken)
//! is cloned into every task; the first SIGTERM (or SIGINT) cancels it — no new connections,
//! running operations finish — and a second one exits at once.

pub mod notify;
pub mod reload;
pub mod schedule;
pub mod state;
pub mod trust;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::signal::unix::{SignalKind, signal};
use tokio_util::task::TaskTracker;

use crate::api::server;
use crate::case::{CaseError, Cases};
use crate::config::{Config, ConfigError};
use crate::error::{Exit, ExitStatus};
use crate::register::RegisterError;
use state::State;

/// How long running work gets to finish after SIGTERM (systemd's default stop timeout is 90 s;
/// the unit sets 10 s, so this stays below it).
pub const DRAIN: Duration = Duration::from_secs(8);

/// File name of the register database in the state directory.
pub const REGISTER_FILE: &str = "register.sqlite";

/// Why the daemon could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DaemonError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot create the state directory {path}: {source}")]
    StateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot open the register: {0}")]
    Register(#[from] RegisterError),
    /// Another daemon holds the state directory's lock.
    #[error(
        "another scelle daemon (pid {pid}) is running on the state directory {dir}: only one may; stop it first (systemctl stop scelle)"
    )]
    AlreadyRunning { dir: PathBuf, pid: String },
    /// The register fails the start checks; nothing was appended to it.
    #[error(
        "refusing to start: {reason}. Nothing was written. See \"Recovery\" in docs/REGISTER.md"
    )]
    RegisterRefused { reason: String },
    #[error("cannot load the cases from the register: {0}")]
    Cases(#[from] CaseError),
    #[error("cannot listen on {path}: {source}")]
    Socket {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot install the signal handlers: {0}")]
    Signals(std::io::Error),
}

impl ExitStatus for DaemonError {
    fn exit(&self) -> Exit {
        match self {
            DaemonError::Register(e) => e.exit(),
            DaemonError::Cases(CaseError::Register(e)) => e.exit(),
            _ => Exit::Failure,
        }
    }
}

/// Runs the daemon until SIGTERM/SIGINT.
pub async fn run(config_path: &Path) -> Result<(), DaemonError> {
    harden_process();
    let config = Config::load(config_path)?;
    let state_dir = config.daemon.state_dir.clone();
    std::fs::create_dir_all(&state_dir).map_err(|source| DaemonError::StateDir {
        path: state_dir.clone(),
        source,
    })?;
    // Held until the process exits: one daemon per state directory, checked before anything
    // (register, socket) is touched.
    let _lock = trust::lock_state_dir(&state_dir)?;
    tighten_state(&state_dir).map_err(|source| DaemonError::StateDir {
        path: state_dir.clone(),
        source,
    })?;
    let (register, site_key, cases) = {
        let people = config.people.clone();
        let site = config.site.identity();
        let zone = config.site.time_zone.0.clone();
        let hours = config.cases.emergency_regularize_hours;
        let dir = state_dir.clone();
        let config_file = config_path.to_owned();
        let path = config_path.to_owned();
        tokio::task::spawn_blocking(move || -> Result<_, DaemonError> {
            let trusted = trust::open_register(&dir, REGISTER_FILE)?;
            let register = trusted.register;
            let cases = Cases::load(register.clone(), &dir)?;
            cases
                .check_people(&people)
                .map_err(|message| ConfigError::Invalid { path, message })?;
            if cases.sync_people(&people)? {
                tracing::info!("people list recorded in the register");
            }
            if crate::config::record_site(&register, &site, &zone, hours)? {
                tracing::info!("site identity recorded in the register");
            }
            trust::record_config(&register, &config_file, "start")?;
            crate::export::journal::close_interrupted(&register)?;
            Ok((register, trusted.site_key, cases))
        })
        .await
        .map_err(|e| DaemonError::Signals(std::io::Error::other(e.to_string())))??
    };
    let socket = config.daemon.socket.clone();
    let listener = server::bind(
        &socket,
        config.daemon.socket_mode.0,
        config.daemon.socket_group.as_deref(),
    )
    .map_err(|source| DaemonError::Socket {
        path: socket.clone(),
        source,
    })?;
    let mut term = signal(SignalKind::terminate()).map_err(DaemonError::Signals)?;
    let mut int = signal(SignalKind::interrupt()).map_err(DaemonError::Signals)?;
    let mut hup = signal(SignalKind::hangup()).map_err(DaemonError::Signals)?;

    let state = Arc::new(State::new(
        config_path.to_owned(),
        config,
        register,
        cases,
        site_key,
    ));
    let tracker = TaskTracker::new();
    let background = TaskTracker::new();
    background.spawn(reload::watch(state.clone()));
    background.spawn(schedule::overdue_emergencies(state.clone()));
    background.spawn(schedule::purge(state.clone()));
    background.spawn(schedule::checkpoints(state.clone()));
    let accept = tokio::spawn(server::serve(state.clone(), listener, tracker.clone()));

    tracing::info!(target: crate::security_log::TARGET, event = "daemon-started",
        socket = %socket.display(), site = %state.config().site.name, "scelle ready");
    notify::notify("READY=1\nSTATUS=accepting commands");
    // After READY=1: systemd expects it first, and the watchdog's first ping is immediate.
    if let Some(every) = notify::watchdog_interval() {
        background.spawn(schedule::watchdog(state.clone(), every));
    }

    loop {
        tokio::select! {
            _ = term.recv() => break,
            _ = int.recv() => break,
            _ = hup.recv() => {
                tracing::info!("SIGHUP: re-reading the configuration");
                let state = state.clone();
                let _ = tokio::task::spawn_blocking(move || reload::reload_once(&state)).await;
            }
        }
    }
    tracing::info!("shutdown requested: finishing running work");
    notify::notify("STOPPING=1\nSTATUS=finishing running work");
    state.shutdown.cancel();
    tokio::spawn(async move {
        tokio::select! {
            _ = term.recv() => {},
            _ = int.recv() => {},
        }
        tracing::warn!(target: crate::security_log::TARGET, event = "daemon-aborted",
            "second signal: exiting at once");
        std::process::exit(1);
    });
    let _ = accept.await;
    tracker.close();
    background.close();
    if tokio::time::timeout(DRAIN, tracker.wait()).await.is_err() {
        tracing::warn!("running work did not finish in time; aborting it");
    }
    let _ = std::fs::remove_file(&socket);
    let register = state.register.clone();
    match tokio::task::spawn_blocking(move || register.checkpoint_if_changed()).await {
        Ok(Ok(Some(cp))) => tracing::info!(seq = cp.seq, "checkpoint written at shutdown"),
        Ok(Ok(None)) => {}
        Ok(Err(e)) => tracing::error!(error = %e, "cannot write the shutdown checkpoint"),
        Err(e) => tracing::error!(error = %e, "shutdown checkpoint panicked"),
    }
    tracing::info!(target: crate::security_log::TARGET, event = "daemon-stopped", "scelle stopped");
    Ok(())
}

/// Before anything else (issue 15): no core dump and no ptrace by the same user
/// (`PR_SET_DUMPABLE` 0: an abort while an export waits for its signature would otherwise
/// write the password to disk), and files created private (umask 0077), whoever started us.
fn harden_process() {
    if let Err(e) =
        rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable)
    {
        tracing::warn!(error = %e, "cannot make the process non-dumpable");
    }
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
}

/// The state directory 0700, the register and the documents folder private, whatever mode an
/// earlier version or an administrator left them with.
fn tighten_state(state_dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let private = |path: &Path, mode: u32| -> std::io::Result<()> {
        match std::fs::symlink_metadata(path) {
            Ok(m) if !m.file_type().is_symlink() && m.permissions().mode() & 0o077 != 0 => {
                tracing::warn!(path = %path.display(), mode = format!("{:04o}", m.permissions().mode() & 0o7777),
                    "was readable by others: made private");
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
            }
            Ok(_) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        }
    };
    private(state_dir, 0o700)?;
    private(&state_dir.join("documents"), 0o700)?;
    for suffix in ["", "-wal", "-shm", "-journal"] {
        private(&state_dir.join(format!("{REGISTER_FILE}{suffix}")), 0o600)?;
    }
    Ok(())
}
