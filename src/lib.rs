//! scelle: turns CCTV footage into sealed, encrypted legal evidence.
//!
//! The crate is laid out one room per concern (see `docs/` and the design notes):
//! - [`seal`] owns the encrypted container format (spec: `docs/FORMAT.md`);
//! - [`register`] owns the tamper-evident extraction register;
//! - [`cli`] is the command line: argument parsing, output, exit codes;
//! - [`daemon`] runs the service; [`api`] is its control socket; [`case`] holds the case
//!   workflow and every authorization rule; [`config`] reads the configuration file.
//!
//! Only `seal` knows the container bytes and only `register` writes the register; everything
//! else goes through their public APIs.

// A `pub` item nothing outside its module tree can reach says `pub(crate)` or less, so dead
// code (a check nobody calls) stays visible.
#![warn(unreachable_pub)]

#[cfg(feature = "anonymize")]
pub mod anonymize;
pub mod api;
pub mod camera;
pub mod case;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod demo;
pub mod drive;
pub mod error;
pub mod export;
pub mod inventory;
pub mod mp4;
pub mod pdf;
pub mod purge;
pub mod receipt;
pub mod register;
pub mod report;
pub mod seal;
pub mod security_log;
pub mod subprocess;
pub mod wording;
