//! The command line: argument definitions, dispatch, and everything printed to people.
//!
//! Each command family lives in its own file and exposes `run(args) -> ExitCode`. Library
//! modules never print; this module turns their results and typed errors into output and exit
//! statuses (see [`crate::error::Exit`]).

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::error::Exit;

pub mod seal;

/// scelle: sealed, encrypted CCTV evidence with a tamper-evident extraction register.
#[derive(Debug, Parser)]
#[command(name = "scelle", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Seal a file into an encrypted evidence container.
    Seal(seal::SealArgs),
    /// Decrypt a sealed container (asks for the password).
    Open(seal::OpenArgs),
    /// Check a sealed container: structure and SHA-256, or everything with the password.
    Verify(seal::VerifyArgs),
}

/// Entry point used by `main.rs`.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                Exit::Usage.into()
            } else {
                Exit::Ok.into()
            };
        }
    };
    init_tracing();
    match cli.command {
        Command::Seal(args) => seal::run_seal(args),
        Command::Open(args) => seal::run_open(args),
        Command::Verify(args) => seal::run_verify(args),
    }
}

/// Diagnostics go to stderr through `tracing` (the journal picks them up under systemd);
/// `RUST_LOG` selects the level, `warn` by default for interactive commands.
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
