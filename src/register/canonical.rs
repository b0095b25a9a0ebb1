//! Canonical JSON for register payloads: object keys sorted by their UTF-8 bytes, no
//! whitespace, serde_json's string escaping and number text. The payload is hashed and signed
//! as this text, so it must not depend on the order a caller built the map in, nor on whether
//! serde_json's `preserve_order` feature is enabled somewhere in the build.

use serde_json::Value;

/// The canonical text of `value`.
pub fn to_canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_value(value, &mut out);
    out
}

fn write_value(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_unstable_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(key, out);
                out.push(':');
                write_value(&map[key], out);
            }
            out.push('}');
        }
    }
}

fn write_string(s: &str, out: &mut String) {
    // serde_json's escaping of a plain string cannot fail.
    out.push_str(&serde_json::to_string(s).unwrap_or_default());
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sorts_keys_and_drops_whitespace() {
        let v = json!({"b": [1, {"z": null, "a": "é\n"}], "a": true});
        assert_eq!(
            to_canonical_json(&v),
            r#"{"a":true,"b":[1,{"a":"é\n","z":null}]}"#
        );
    }

    #[test]
    fn reparsing_is_stable() {
        let v = json!({"files": [{"sha256": "00", "size": 12}], "cameras": ["c1"]});
        let text = to_canonical_json(&v);
        let back: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(to_canonical_json(&back), text);
    }
}
