//! The socket server: binds the control socket, accepts connections, reads frames, and writes
//! replies. One task per connection, so a slow or hostile client only ever blocks itself;
//! a semaphore bounds the number of connections, and a cap the connections of each Unix user;
//! every line is bounded in size. A connection whose caller is not yet identified (a uid
//! nobody in the people list uses, or a shared account before its signed challenge) may send
//! lines of at most [`UNIDENTIFIED_FRAME`] bytes and must identify within [`IDENTIFY_WITHIN`]:
//! otherwise it is closed. Refusals are logged once per minute per uid ([`super::limits`]).

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncWriteExt, BufReader, BufWriter};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{Semaphore, mpsc};
use tokio_util::task::TaskTracker;
use zeroize::Zeroizing;

use super::frame::{self, Frame, FrameError};
use super::handlers::{self, Session};
use super::limits::{self, PerUser};
use super::protocol::{ErrorCode, Reply};
use super::{identify, passwd};
use crate::daemon::state::State;
use crate::security_log::TARGET as SECURITY;

/// A connection idle this long is closed.
const IDLE: Duration = Duration::from_secs(15 * 60);
/// Longest line from a caller not yet identified (an identification fits in 2 KiB).
pub const UNIDENTIFIED_FRAME: usize = 64 * 1024;
/// Time a caller not identified by its uid alone has to identify, from the connection.
pub const IDENTIFY_WITHIN: Duration = Duration::from_secs(10);
/// Read buffer of each connection.
pub const READ_BUFFER: usize = 16 * 1024;
/// Malformed lines logged per connection before only counting them.
const LOGGED_BAD_LINES: u64 = 5;

/// Binds the socket at `path` with `mode`, replacing a stale socket file.
pub fn bind(path: &Path, mode: u32, group: Option<&str>) -> std::io::Result<UnixListener> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        use std::os::unix::fs::FileTypeExt;
        if meta.file_type().is_socket() {
            std::fs::remove_file(path)?;
        } else {
            return Err(std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                format!("{} exists and is not a socket", path.display()),
            ));
        }
    }
    let listener = UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    if let Some(group) = group {
        let gid = passwd::gid_of_group(group).ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("socket group `{group}` does not exist"),
            )
        })?;
        std::os::unix::fs::chown(path, None, Some(gid))?;
    }
    Ok(listener)
}

/// Accepts connections until shutdown; connection tasks are tracked by `tracker`.
pub async fn serve(state: Arc<State>, listener: UnixListener, tracker: TaskTracker) {
    let limit = Arc::new(Semaphore::new(state.config().daemon.max_connections));
    let per_user_cap = state.config().daemon.max_connections_per_user;
    let users = Arc::new(PerUser::default());
    let counter = AtomicU64::new(0);
    loop {
        let permit = tokio::select! {
            _ = state.shutdown.cancelled() => break,
            p = limit.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
        };
        let accepted = tokio::select! {
            _ = state.shutdown.cancelled() => break,
            a = listener.accept() => a,
        };
        match accepted {
            Ok((stream, _)) => {
                let conn = counter.fetch_add(1, Ordering::Relaxed) + 1;
                let uid = match stream.peer_cred() {
                    Ok(c) => c.uid(),
                    Err(e) => {
                        tracing::warn!(conn, error = %e, "connection refused: no peer credentials");
                        continue;
                    }
                };
                let Some(slot) = users.take(uid, per_user_cap) else {
                    refuse_over_cap(&stream, uid, per_user_cap);
                    continue;
                };
                let state = state.clone();
                tracker.spawn(async move {
                    connection(state, stream, conn, uid).await;
                    drop(slot);
                    drop(permit);
                });
            }
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    tracing::info!("control socket: no longer accepting connections");
}

/// Tells a uid over its connection cap why (best effort, never waits) and logs it, at most
/// once a minute per uid.
fn refuse_over_cap(stream: &UnixStream, uid: u32, cap: usize) {
    let message =
        format!("too many connections from this Unix user (at most {cap}): close some and retry");
    let _ = stream.try_write(&Reply::error(0, ErrorCode::Refused, &message).to_line());
    if let Some(skipped) = limits::refusals().allow(uid, "connection-cap") {
        tracing::warn!(target: SECURITY, event = "connection-refused", uid, cap,
            refused_since_last_logged = skipped, "connection refused: too many from this user");
    }
}

async fn connection(state: Arc<State>, stream: UnixStream, conn: u64, uid: u32) {
    let account = passwd::account_of_uid(uid);
    // Identified by its uid alone (one person uses the account): the full frame size at once.
    let by_uid = matches!(
        identify::caller(&state.config(), uid),
        identify::Caller::One { .. }
    );
    // A uid nobody in the people list uses is logged once a minute, not per connection.
    let quiet = !by_uid
        && account
            .as_deref()
            .is_none_or(|a| state.config().people_of_account(a).is_empty())
        && limits::refusals()
            .allow(uid, "unlisted-connection")
            .is_none();
    if !quiet {
        tracing::info!(
            conn,
            uid,
            account = account.as_deref().unwrap_or("?"),
            "connection opened"
        );
    }
    let deadline = tokio::time::Instant::now() + IDENTIFY_WITHIN;
    let (read, write) = stream.into_split();
    let (tx, mut rx) = mpsc::channel::<Reply>(64);
    let writer = tokio::spawn(async move {
        let mut w = BufWriter::new(write);
        while let Some(reply) = rx.recv().await {
            if w.write_all(&reply.to_line()).await.is_err() {
                return;
            }
            if rx.is_empty() && w.flush().await.is_err() {
                return;
            }
        }
        let _ = w.flush().await;
    });
    let mut reader = BufReader::with_capacity(READ_BUFFER, read);
    let mut session = Session::new(conn, uid);
    let mut buf = Zeroizing::new(Vec::new());
    let (mut requests, mut bad) = (0u64, 0u64);
    loop {
        let identified = by_uid || session.person.is_some();
        let max = if identified {
            frame::MAX_FRAME
        } else {
            UNIDENTIFIED_FRAME
        };
        let frame = tokio::select! {
            _ = state.shutdown.cancelled() => {
                let _ = tx.send(Reply::error(0, ErrorCode::ShuttingDown,
                    "the daemon is shutting down")).await;
                break;
            }
            _ = tokio::time::sleep(IDLE) => break,
            _ = tokio::time::sleep_until(deadline), if !identified => {
                let _ = tx.send(Reply::error(0, ErrorCode::NotIdentified, format!(
                    "not identified within {} s: connection closed", IDENTIFY_WITHIN.as_secs()
                ))).await;
                if let Some(skipped) = limits::refusals().allow(uid, "identify-timeout") {
                    tracing::warn!(target: SECURITY, event = "connection-closed", conn, uid,
                        closed_since_last_logged = skipped,
                        "connection closed: not identified in time");
                }
                break;
            }
            f = frame::read_frame_max(&mut reader, &mut buf, max) => f,
        };
        // The raw line may hold a password (case-export): wiped when dropped.
        let line =
            match frame {
                Ok(Frame::Line(line)) => Zeroizing::new(line),
                Ok(Frame::Eof) | Err(_) => break,
                Ok(Frame::TooLarge) if !identified => {
                    // Reading on would only feed a stranger's line: close.
                    let _ = tx.send(Reply::error(0, ErrorCode::TooLarge, format!(
                    "line longer than {UNIDENTIFIED_FRAME} bytes before identification: \
                     connection closed"
                ))).await;
                    bad += 1;
                    if let Some(skipped) = limits::refusals().allow(uid, "too-large-unidentified") {
                        tracing::warn!(target: SECURITY, event = "connection-closed", conn, uid,
                        closed_since_last_logged = skipped,
                        "connection closed: oversized line before identification");
                    }
                    break;
                }
                Ok(Frame::TooLarge) => {
                    bad += 1;
                    reject(conn, bad, &FrameError::TooLarge, &tx).await;
                    continue;
                }
            };
        let env = match frame::decode(&line) {
            Ok(env) => env,
            Err(e) => {
                bad += 1;
                reject(conn, bad, &e, &tx).await;
                continue;
            }
        };
        requests += 1;
        let reply = handlers::handle(&state, &mut session, env, &tx).await;
        if tx.send(reply).await.is_err() {
            break;
        }
    }
    drop(tx);
    let _ = writer.await;
    if quiet {
        return;
    }
    tracing::info!(
        conn,
        uid,
        person = session.person.as_deref().unwrap_or("-"),
        requests,
        bad_lines = bad,
        "connection closed"
    );
}

async fn reject(conn: u64, bad: u64, e: &FrameError, tx: &mpsc::Sender<Reply>) {
    if bad <= LOGGED_BAD_LINES {
        tracing::warn!(conn, error = %e, "bad line from client");
    }
    let _ = tx.send(Reply::error(0, e.code(), e.to_string())).await;
}
