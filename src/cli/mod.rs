//! The command line: argument definitions, dispatch, and everything printed to people.
//!
//! Each command family lives in its own file and exposes `run(args) -> ExitCode`. Library
//! modules never print; this module turns their results and typed errors into output and exit
//! statuses (see [`crate::error::Exit`]).
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "the CLI prints for people"
)]

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub mod camera;
pub mod case;
pub mod case_export;
pub mod client;
pub mod connect;
pub mod demo;
pub mod doctor;
pub mod generate;
pub mod known_sites;
pub mod logline;
pub mod media;
pub mod serve;
pub mod show;

use crate::error::Exit;

pub mod purge;
pub mod register;
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
    /// Run the daemon (systemd starts it; see systemd/scelle.service).
    Serve(serve::Args),
    /// Open, authorize, list and close cases through the daemon.
    Case(Box<case::Args>),
    /// The configured cameras, and what a camera says of itself and its recordings.
    Camera(camera::Args),
    /// Temporary copies and their purge deadlines: list, run.
    Purge(purge::Args),
    /// Removable media: inventory, exports per drive, destruction (PUR-4).
    Media(media::Args),
    /// The extraction register: verify, report, head, backup.
    Register(register::RegisterArgs),
    /// Seal a file into an encrypted evidence container.
    Seal(seal::SealArgs),
    /// Decrypt a sealed container (asks for the password).
    Open(seal::OpenArgs),
    /// Check a sealed container: structure and SHA-256, or everything with the password.
    Verify(seal::VerifyArgs),
    /// The whole job on a throw-away demo site: open, approve, export, verify.
    Demo(demo::Args),
    /// Commissioning check: configuration, register, site key, daemon, cameras, drives, purges.
    Doctor(doctor::Args),
    /// Manual pages and shell completions (used when building the package).
    #[command(hide = true)]
    Generate(generate::Args),
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
    match cli.command {
        Command::Serve(args) => {
            init_daemon_tracing(args.log_format);
            serve::run(args)
        }
        Command::Case(args) => {
            init_tracing("warn");
            case::run(*args)
        }
        Command::Camera(args) => {
            init_tracing("warn");
            camera::run(args)
        }
        Command::Purge(args) => {
            init_tracing("warn");
            purge::run(args)
        }
        Command::Media(args) => {
            init_tracing("warn");
            media::run(args)
        }
        Command::Register(args) => {
            init_tracing("warn");
            register::run(args)
        }
        Command::Seal(args) => {
            init_tracing("warn");
            seal::run_seal(args)
        }
        Command::Open(args) => {
            init_tracing("warn");
            seal::run_open(args)
        }
        Command::Verify(args) => {
            init_tracing("warn");
            seal::run_verify(args)
        }
        Command::Demo(args) => {
            init_tracing("warn");
            demo::run(args)
        }
        Command::Doctor(args) => {
            init_tracing("error");
            doctor::run(args)
        }
        Command::Generate(args) => generate::run(args),
    }
}

/// Diagnostics go to stderr through `tracing` (the journal picks them up under systemd);
/// `RUST_LOG` selects the level; `default` otherwise (`warn` for interactive commands, `info`
/// for the daemon, whose connections and commands are logged at that level, REG-3).
fn init_tracing(default: &str) {
    use std::io::IsTerminal;
    let ansi = std::io::stderr().is_terminal();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(env_filter(default))
        .with_ansi(ansi)
        .with_writer(logline::EscapedStderr { ansi })
        .try_init();
}

/// The daemon's diagnostics: as [`init_tracing`] at `info`, or one JSON object per line
/// (`--log-format json`: `timestamp`, `level`, `target`, the fields flattened, `message`) for a
/// SIEM reading the journal; security events are on `scelle::security` (docs/LOGS.md).
fn init_daemon_tracing(format: serve::LogFormat) {
    match format {
        serve::LogFormat::Text => init_tracing("info"),
        serve::LogFormat::Json => {
            let _ = tracing_subscriber::fmt()
                .json()
                .flatten_event(true)
                .with_current_span(false)
                .with_span_list(false)
                .with_env_filter(env_filter("info"))
                .with_writer(std::io::stderr)
                .try_init();
        }
    }
}

fn env_filter(default: &str) -> tracing_subscriber::EnvFilter {
    tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default))
}
