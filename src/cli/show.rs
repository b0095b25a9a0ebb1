//! How the client commands (`case`, `camera`, `purge`, `media`) show the daemon's JSON answers:
//! raw and pretty with `--json`, and one value at a time in their tables.

use serde_json::Value;

/// A JSON value in a table cell: strings as they are, nothing (null or "") as `-`.
pub fn text(v: &Value) -> String {
    match v {
        Value::String(s) if s.is_empty() => "-".into(),
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}

/// The whole answer, pretty-printed on stdout (`--json`).
pub fn print_json(result: &Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(result).unwrap_or_default()
    );
}
