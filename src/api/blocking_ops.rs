//! What the operations that work on the register synchronously (receipt, hand-over, purge,
//! media inventory) share: running on a blocking thread with a panic turned into an internal
//! error, decoding their arguments, and the policy gate's refusal as a reply.

use serde::Deserialize;
use serde_json::{Value, json};

use super::protocol::{ErrorCode, Reply};

/// Runs `op` on a blocking thread; its `Err` is the reply too. A panic is logged with `what`
/// and answered as an internal error.
pub async fn run(
    id: u64,
    what: &'static str,
    op: impl FnOnce() -> Result<Reply, Reply> + Send + 'static,
) -> Reply {
    match tokio::task::spawn_blocking(move || op().unwrap_or_else(|r| r)).await {
        Ok(reply) => reply,
        Err(e) => {
            tracing::error!(error = %e, "{what} operation panicked");
            Reply::error(id, ErrorCode::Internal, "internal error: see the journal")
        }
    }
}

/// The operation's arguments (absent = `{}`), or a `bad-args` reply.
pub fn args<T: for<'de> Deserialize<'de>>(id: u64, args: Value) -> Result<T, Reply> {
    let args = if args.is_null() { json!({}) } else { args };
    serde_json::from_value(args)
        .map_err(|e| Reply::error(id, ErrorCode::BadArgs, format!("bad arguments: {e}")))
}

/// The answer of the policy gate ([`crate::case::policy`]) as a `refused` reply.
pub fn gate(id: u64, verdict: Result<(), crate::case::Refusal>) -> Result<(), Reply> {
    verdict.map_err(|r| super::error_codes::case_error_reply(id, r.into()))
}
