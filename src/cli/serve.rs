//! `scelle serve`: runs the daemon (normally started by systemd, see `systemd/scelle.service`).

use std::path::PathBuf;
use std::process::ExitCode;

use crate::error::{Exit, ExitStatus};

/// Arguments of `scelle serve`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Configuration file (TOML; see config/scelle.toml).
    #[arg(long, env = "SCELLE_CONFIG", default_value = "/etc/scelle/scelle.toml")]
    pub config: PathBuf,
    /// Diagnostics on stderr (the journal under systemd): `text` lines, or `json` objects, one
    /// per line, for a SIEM (security events: docs/LOGS.md).
    #[arg(long, env = "SCELLE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

/// How `scelle serve` writes its diagnostics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

pub fn run(args: Args) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("scelle")
        // The unit's TasksMax= leaves room for these and the workers.
        .max_blocking_threads(64)
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("scelle serve: cannot start the runtime: {e}");
            return Exit::Failure.into();
        }
    };
    let result = runtime.block_on(crate::daemon::run(&args.config));
    // Blocking tasks still running (a register append) are given a moment, not waited for.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    match result {
        Ok(()) => Exit::Ok.into(),
        Err(e) => {
            tracing::error!(error = %e, "scelle serve failed to start");
            eprintln!("scelle serve: {e}");
            e.exit().into()
        }
    }
}
