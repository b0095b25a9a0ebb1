//! Frame decoding: the first code to touch bytes from the socket.
//!
//! A frame is one line. [`decode`] turns a line into an [`Envelope`] or a typed
//! [`FrameError`] that becomes an error reply; it never panics, whatever the bytes (a fuzz
//! target holds it to that). [`read_frame`] bounds each line at [`MAX_FRAME`] bytes without
//! buffering the excess, so an endless line costs the daemon nothing but the reading.

use tokio::io::{AsyncBufRead, AsyncBufReadExt};

use super::protocol::{Envelope, ErrorCode, PROTOCOL_VERSION};

/// Longest accepted line, newline excluded: 8 MiB, room for a scanned written request.
pub const MAX_FRAME: usize = 8 * 1024 * 1024;

/// Why a line is not a request.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum FrameError {
    #[error("line longer than {MAX_FRAME} bytes")]
    TooLarge,
    #[error("not UTF-8 JSON: {0}")]
    Malformed(String),
    #[error("protocol version {0} is not supported (this daemon speaks {PROTOCOL_VERSION})")]
    UnsupportedVersion(u32),
}

impl FrameError {
    pub fn code(&self) -> ErrorCode {
        match self {
            FrameError::TooLarge => ErrorCode::TooLarge,
            FrameError::Malformed(_) => ErrorCode::Malformed,
            FrameError::UnsupportedVersion(_) => ErrorCode::UnsupportedVersion,
        }
    }
}

/// Decodes one line (without its newline).
pub fn decode(line: &[u8]) -> Result<Envelope, FrameError> {
    if line.len() > MAX_FRAME {
        return Err(FrameError::TooLarge);
    }
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let env: Envelope = serde_json::from_slice(line).map_err(|e| {
        // serde_json's message may quote the input; keep only its category and position.
        FrameError::Malformed(format!(
            "{:?} error at line {} column {}",
            e.classify(),
            e.line(),
            e.column()
        ))
    })?;
    if env.v != PROTOCOL_VERSION {
        return Err(FrameError::UnsupportedVersion(env.v));
    }
    Ok(env)
}

/// What [`read_frame`] found.
#[derive(Debug, PartialEq)]
pub enum Frame {
    /// A complete line (newline removed).
    Line(Vec<u8>),
    /// A line longer than [`MAX_FRAME`]; its bytes were skipped up to and including the newline.
    TooLarge,
    /// The peer closed the connection.
    Eof,
}

/// Reads one line into `buf` (cleared first), skipping the rest of an oversized line.
pub async fn read_frame<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    buf: &mut Vec<u8>,
) -> std::io::Result<Frame> {
    read_frame_max(reader, buf, MAX_FRAME).await
}

/// [`read_frame`] with a smaller bound: lines longer than `max` (at most [`MAX_FRAME`]) are
/// [`Frame::TooLarge`], and `buf` never holds more than `max` bytes. Below [`MAX_FRAME`] the
/// rest of an oversized line is not read (the caller closes the connection): `TooLarge` comes
/// as soon as the bound is passed.
pub async fn read_frame_max<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    buf: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<Frame> {
    let max = max.min(MAX_FRAME);
    buf.clear();
    let mut oversized = false;
    loop {
        let chunk = reader.fill_buf().await?;
        if chunk.is_empty() {
            // EOF; a last line without newline still counts.
            return Ok(if oversized {
                Frame::TooLarge
            } else if buf.is_empty() {
                Frame::Eof
            } else {
                Frame::Line(std::mem::take(buf))
            });
        }
        let (part, found) = match memchr(chunk) {
            Some(i) => (&chunk[..i], Some(i)),
            None => (chunk, None),
        };
        if !oversized {
            if buf.len() + part.len() > max {
                oversized = true;
                zeroize::Zeroize::zeroize(buf);
                buf.shrink_to(max.min(64 * 1024));
                if max < MAX_FRAME {
                    return Ok(Frame::TooLarge);
                }
            } else {
                buf.extend_from_slice(part);
            }
        }
        let used = found.map_or(chunk.len(), |i| i + 1);
        reader.consume(used);
        if found.is_some() {
            return Ok(if oversized {
                Frame::TooLarge
            } else {
                Frame::Line(std::mem::take(buf))
            });
        }
    }
}

fn memchr(bytes: &[u8]) -> Option<usize> {
    bytes.iter().position(|&b| b == b'\n')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_a_request() {
        let e = decode(br#"{"v":1,"id":3,"op":"case-list"}"#).unwrap();
        assert_eq!((e.id, e.op.as_str()), (3, "case-list"));
    }

    #[test]
    fn refuses_garbage_unknown_fields_and_versions() {
        assert!(matches!(decode(b"\xff\xfe"), Err(FrameError::Malformed(_))));
        assert!(matches!(
            decode(br#"{"v":1,"id":3,"op":"x","extra":1}"#),
            Err(FrameError::Malformed(_))
        ));
        assert_eq!(
            decode(br#"{"v":9,"id":3,"op":"x"}"#),
            Err(FrameError::UnsupportedVersion(9))
        );
    }

    #[tokio::test]
    async fn skips_an_oversized_line_and_reads_the_next() {
        let mut input = vec![b'a'; MAX_FRAME + 10];
        input.extend_from_slice(b"\nnext\n");
        let mut reader = tokio::io::BufReader::new(&input[..]);
        let mut buf = Vec::new();
        assert_eq!(
            read_frame(&mut reader, &mut buf).await.unwrap(),
            Frame::TooLarge
        );
        assert_eq!(
            read_frame(&mut reader, &mut buf).await.unwrap(),
            Frame::Line(b"next".to_vec())
        );
        assert_eq!(read_frame(&mut reader, &mut buf).await.unwrap(), Frame::Eof);
    }
}
