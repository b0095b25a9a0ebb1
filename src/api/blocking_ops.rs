//! What the operations that work on the register synchronously (receipt, hand-over, purge,
//! media inventory) share: running on a blocking thread with a panic turned into an internal
//! error, decoding their arguments, and the role check with its refusal message.

use serde::Deserialize;
use serde_json::{Value, json};

use super::protocol::{ErrorCode, Reply};
use crate::config::{Person, Role};

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

/// Refuses `person` unless they hold one of `roles`; `what` names the operation.
pub fn need_role(id: u64, person: &Person, roles: &[Role], what: &str) -> Result<(), Reply> {
    if roles.iter().any(|r| person.has(*r)) {
        return Ok(());
    }
    Err(Reply::error(
        id,
        ErrorCode::Refused,
        format!(
            "refused: {what} is for {}; {} has none of these roles",
            roles
                .iter()
                .map(|r| r.as_str())
                .collect::<Vec<_>>()
                .join(" or "),
            person.id
        ),
    ))
}
