//! Outside witnesses: heads of the register (`SEQ:HASH`) held somewhere else — the journal or a
//! SIEM (the daemon's `register-head` security events), receipts, a list an auditor kept — and
//! the proof that each one is in the chain.
//!
//! A chain cannot tell by itself that its newest entries were removed, that an older backup was
//! restored, or that it was rewritten from some entry on (a fork): every one of those leaves a
//! head seen elsewhere that the register no longer contains.

use serde_json::Value;

use super::entry::Head;

/// A head read from a witness file, and where it was read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WitnessHead {
    pub head: Head,
    /// `FILE:LINE`.
    pub source: String,
}

/// Every head in `text`: in JSON lines, the `register-head` security events (`seq`, `hash`)
/// and any `register_head`/`head` object or `SEQ:HEX` string; in other lines, every
/// `SEQ:HEX` token (a list of heads), and a receipt's two head lines as `pdftotext` gives them
/// (`Tête du registre : entrée n° N` / `… empreinte HEX`, or `Register head: entry no. N` /
/// `… hash HEX`).
pub fn parse(text: &str, file: &str) -> Vec<WitnessHead> {
    let mut out = Vec::new();
    // A receipt's "register head: entry no. N" line waiting for its hash line.
    let mut receipt_seq: Option<u64> = None;
    for (n, line) in text.lines().enumerate() {
        let source = format!("{file}:{}", n + 1);
        let trimmed = line.trim();
        if trimmed.starts_with('{')
            && let Ok(value) = serde_json::from_str::<Value>(trimmed)
        {
            let mut heads = Vec::new();
            from_json(&value, &mut heads);
            out.extend(heads.into_iter().map(|head| WitnessHead {
                head,
                source: source.clone(),
            }));
            continue;
        }
        let found = tokens(line);
        let lower = line.to_lowercase();
        if found.is_empty() && (lower.contains("registre") || lower.contains("register")) {
            if let Some(seq) = receipt_seq
                && let Some(hash) = line
                    .split(|c: char| !c.is_ascii_hexdigit())
                    .find(|w| w.len() == 64)
                && let Some(head) = Head::parse(&format!("{seq}:{hash}"))
            {
                out.push(WitnessHead {
                    head,
                    source: source.clone(),
                });
                receipt_seq = None;
                continue;
            }
            let digits: String = line
                .trim_end()
                .chars()
                .rev()
                .take_while(char::is_ascii_digit)
                .collect();
            if !digits.is_empty() {
                receipt_seq = digits.chars().rev().collect::<String>().parse().ok();
                continue;
            }
        }
        out.extend(found.into_iter().map(|head| WitnessHead {
            head,
            source: source.clone(),
        }));
    }
    out.dedup();
    out
}

fn from_json(value: &Value, out: &mut Vec<Head>) {
    match value {
        Value::Object(map) => {
            let event = map
                .get("event")
                .or_else(|| map.get("fields").and_then(|f| f.get("event")));
            if event.and_then(Value::as_str) == Some("register-head") {
                let fields = map.get("fields").filter(|f| f.get("seq").is_some());
                let src = fields.unwrap_or(value);
                if let Some(h) = seq_hash(src) {
                    out.push(h);
                }
                return;
            }
            for (k, v) in map {
                if (k == "register_head" || k == "head")
                    && let Some(h) = seq_hash(v)
                {
                    out.push(h);
                    continue;
                }
                from_json(v, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| from_json(v, out)),
        Value::String(s) => out.extend(tokens(s)),
        _ => {}
    }
}

/// `{"seq": N, "hash": "HEX"}` (numbers may be strings, as some log shippers write them).
fn seq_hash(v: &Value) -> Option<Head> {
    if let Some(s) = v.as_str() {
        return Head::parse(s);
    }
    let seq = v.get("seq")?;
    let seq = seq
        .as_u64()
        .or_else(|| seq.as_str().and_then(|s| s.parse().ok()))?;
    let hash = v.get("hash")?.as_str()?;
    Head::parse(&format!("{seq}:{hash}"))
}

/// Every `DIGITS:64-HEX` token of a line.
fn tokens(line: &str) -> Vec<Head> {
    let b = line.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_digit() && (i == 0 || !b[i - 1].is_ascii_alphanumeric()) {
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            if i + 65 <= b.len()
                && b[i] == b':'
                && b[i + 1..i + 65].iter().all(u8::is_ascii_hexdigit)
                && (i + 65 == b.len() || !b[i + 65].is_ascii_alphanumeric())
                && let Some(h) = Head::parse(&line[start..i + 65])
            {
                out.push(h);
                i += 65;
            }
        } else {
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_lists_log_lines_and_receipts() {
        let h = "ab".repeat(32);
        let text = format!(
            "12:{h}\n\
             {{\"timestamp\":\"t\",\"level\":\"INFO\",\"event\":\"register-head\",\"seq\":13,\"hash\":\"{h}\",\"target\":\"scelle::security\"}}\n\
             {{\"fields\":{{\"event\":\"register-head\",\"seq\":\"14\",\"hash\":\"{h}\"}}}}\n\
             Tête du registre : 15:{h} (reçu)\n\
             {{\"record\":{{\"register_head\":{{\"seq\":16,\"hash\":\"{h}\"}}}}}}\n\
             x12:{h} 7:{}\n",
            "ab".repeat(31)
        );
        let heads: Vec<u64> = parse(&text, "w").iter().map(|w| w.head.seq).collect();
        assert_eq!(heads, vec![12, 13, 14, 15, 16]);
        assert_eq!(parse(&text, "w")[1].source, "w:2");
    }

    #[test]
    fn reads_a_receipts_head_lines() {
        let h = "9f".repeat(32);
        for text in [
            format!("Tête du registre : entrée n°   42\nTête du registre : empreinte   {h}\n"),
            format!("Register head: entry no. 42\nRegister head: hash {h}\n"),
        ] {
            let heads = parse(&text, "recu.txt");
            assert_eq!(heads.len(), 1, "{text}");
            assert_eq!(heads[0].head.to_text(), format!("42:{h}"));
        }
    }
}
