//! The security event stream (REG-4), at the crate root because the daemon, export and purge
//! all emit it: the events a SIEM collects from the system journal, all
//! on the tracing target [`TARGET`] with a stable `event` field naming what happened, beside
//! the plain diagnostics. The list of events and their fields is `docs/LOGS.md`; a test
//! (`tests/daemon_security_log.rs`) reads them back from the daemon's JSON log.
//!
//! These lines are diagnostics about the daemon's use, distinct from the extraction register
//! (REG-1); like every log line they never carry passwords, keys or footage.

/// The tracing target of security events (`RUST_LOG=scelle::security=info` keeps only them).
pub const TARGET: &str = "scelle::security";
