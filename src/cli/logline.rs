//! Text log lines nobody can forge (issue 15): every value in a log line may come from a
//! client (an `op`, a person's name), a camera (a model string) or a file, and a newline in
//! one would start a new line — a fake security event in the journal. The text writer escapes
//! every control character of a formatted event (`\n`, `\r`, `\t`, `\xNN`) except the newline
//! that ends it, so one event is always exactly one line. JSON logs are escaped by their
//! encoder already. ANSI colour sequences pass only when colours are on (a terminal).

use std::io::{self, Write};

use tracing_subscriber::fmt::MakeWriter;

/// Escapes `body` (one formatted event without its final newline) into `out`.
pub fn escape_into(body: &[u8], out: &mut Vec<u8>, ansi: bool) {
    for &b in body {
        match b {
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x1b if ansi => out.push(b),
            0..=0x1f | 0x7f => out.extend_from_slice(format!("\\x{b:02x}").as_bytes()),
            _ => out.push(b),
        }
    }
}

/// A writer that makes each write one line (the formatter writes one event per write).
pub struct Escaped<W> {
    inner: W,
    ansi: bool,
}

impl<W: Write> Write for Escaped<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let body = buf.strip_suffix(b"\n").unwrap_or(buf);
        let mut out = Vec::with_capacity(buf.len() + 16);
        escape_into(body, &mut out, self.ansi);
        out.push(b'\n');
        self.inner.write_all(&out)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Standard error through [`Escaped`], for `tracing_subscriber::fmt().with_writer(…)`.
pub struct EscapedStderr {
    pub ansi: bool,
}

impl<'a> MakeWriter<'a> for EscapedStderr {
    type Writer = Escaped<io::Stderr>;

    fn make_writer(&'a self) -> Self::Writer {
        Escaped {
            inner: io::stderr(),
            ansi: self.ansi,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_event_is_one_line() {
        let mut w = Escaped {
            inner: Vec::new(),
            ansi: false,
        };
        w.write_all(b"op=x\n2026-01-01T00:00:00Z INFO fake\r\x1b[2J\x00 done\n")
            .unwrap();
        let text = String::from_utf8(w.inner).unwrap();
        assert_eq!(
            text,
            "op=x\\n2026-01-01T00:00:00Z INFO fake\\r\\x1b[2J\\x00 done\n"
        );
        assert_eq!(text.lines().count(), 1);
    }
}
