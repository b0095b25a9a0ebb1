//! The systemd notification protocol (`sd_notify`): one datagram per state change to the
//! socket named by `NOTIFY_SOCKET`, and the watchdog period from `WATCHDOG_USEC`.
//!
//! Written against the documented protocol (a datagram of `KEY=VALUE` lines) with the
//! standard library alone; outside systemd (`NOTIFY_SOCKET` unset) every call is a no-op.

use std::os::unix::net::UnixDatagram;
use std::time::Duration;

/// Sends `state` (e.g. `READY=1`) to systemd, if it listens. Errors are logged, not fatal:
/// a daemon must not die because its supervisor went away.
pub fn notify(state: &str) {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    match send(&path.to_string_lossy(), state) {
        Ok(()) => {}
        // The supervisor's queue is full (it is not reading): drop this one rather than block
        // a runtime thread; systemd reads promptly, a test harness may not.
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
            tracing::debug!(state, "notification queue full; notification dropped")
        }
        Err(e) => tracing::warn!(error = %e, state, "cannot notify systemd"),
    }
}

fn send(path: &str, state: &str) -> std::io::Result<()> {
    let sock = UnixDatagram::unbound()?;
    // Never wait on the supervisor: callers run on the async runtime's threads.
    sock.set_nonblocking(true)?;
    if let Some(name) = path.strip_prefix('@') {
        use std::os::linux::net::SocketAddrExt;
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())?;
        sock.send_to_addr(state.as_bytes(), &addr)?;
    } else {
        sock.send_to(state.as_bytes(), path)?;
    }
    Ok(())
}

/// How often to send `WATCHDOG=1`: half the period systemd asked for, if it asked this
/// process (`WATCHDOG_PID` unset or ours).
pub fn watchdog_interval() -> Option<Duration> {
    if let Some(pid) = std::env::var_os("WATCHDOG_PID")
        && pid.to_string_lossy().parse::<u32>().ok() != Some(std::process::id())
    {
        return None;
    }
    let usec: u64 = std::env::var("WATCHDOG_USEC").ok()?.parse().ok()?;
    (usec > 0).then(|| Duration::from_micros(usec / 2))
}
