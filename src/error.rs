//! Exit statuses shared by every command, and the mapping from each module's typed errors to
//! them, kept in one place so the CLI's contract (documented in the README) cannot drift.

use std::process::ExitCode;

/// The exit status of a `scelle` command. The numbers are part of the CLI contract.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// Everything held.
    Ok = 0,
    /// Anything not covered below (I/O, configuration, refused by policy...).
    Failure = 1,
    /// The command line was wrong.
    Usage = 2,
    /// The password does not open the container (or its header is damaged).
    WrongPassword = 3,
    /// Integrity failure: a container chunk, a hash or the register chain does not hold.
    Integrity = 4,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> Self {
        ExitCode::from(e as u8)
    }
}

/// Implemented by each module's error type to say which exit status it maps to.
pub trait ExitStatus {
    fn exit(&self) -> Exit;
}
