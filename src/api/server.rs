//! The socket server: binds the control socket, accepts connections, reads frames, and writes
//! replies. One task per connection, so a slow or hostile client only ever blocks itself;
//! a semaphore bounds the number of connections; every line is bounded in size.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncWriteExt, BufReader, BufWriter};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{Semaphore, mpsc};
use tokio_util::task::TaskTracker;

use super::frame::{self, Frame, FrameError};
use super::handlers::{self, Session};
use super::passwd;
use super::protocol::{ErrorCode, Reply};
use crate::daemon::state::State;

/// A connection idle this long is closed.
const IDLE: Duration = Duration::from_secs(15 * 60);
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
                let state = state.clone();
                tracker.spawn(async move {
                    connection(state, stream, conn).await;
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

async fn connection(state: Arc<State>, stream: UnixStream, conn: u64) {
    let uid = match stream.peer_cred() {
        Ok(c) => c.uid(),
        Err(e) => {
            tracing::warn!(conn, error = %e, "connection refused: no peer credentials");
            return;
        }
    };
    let account = passwd::account_of_uid(uid);
    tracing::info!(
        conn,
        uid,
        account = account.as_deref().unwrap_or("?"),
        "connection opened"
    );
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
    let mut reader = BufReader::with_capacity(64 * 1024, read);
    let mut session = Session::new(conn, uid);
    let mut buf = Vec::new();
    let (mut requests, mut bad) = (0u64, 0u64);
    loop {
        let frame = tokio::select! {
            _ = state.shutdown.cancelled() => {
                let _ = tx.send(Reply::error(0, ErrorCode::ShuttingDown,
                    "the daemon is shutting down")).await;
                break;
            }
            _ = tokio::time::sleep(IDLE) => break,
            f = frame::read_frame(&mut reader, &mut buf) => f,
        };
        let line = match frame {
            Ok(Frame::Line(line)) => line,
            Ok(Frame::Eof) | Err(_) => break,
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
