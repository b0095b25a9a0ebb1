//! One RTSP connection over TCP or TLS: writes requests, and splits what the server sends into
//! RTSP responses (parsed by `rtsp-types`) and interleaved binary frames (`$`, channel, length),
//! the latter handed out as zero-copy slices of the receive buffer.

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::net::TcpStream;

use super::tls::{self, TlsTrust};
use crate::Error;

/// Anything the client can talk RTSP over.
trait Io: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}

/// One message from the server.
#[derive(Debug)]
pub enum Incoming {
    Response(rtsp_types::Response<Vec<u8>>),
    /// A request from the server (e.g. ANNOUNCE); answered by nobody, ignored.
    Request(rtsp_types::Method),
    Data {
        channel: u8,
        payload: Bytes,
    },
}

/// Why the byte stream could not be split into messages.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FramingError {
    #[error("malformed RTSP message")]
    Malformed,
    #[error("RTSP message header longer than {0} bytes")]
    TooLong(usize),
}

/// Longest RTSP message (headers and body) accepted.
const MAX_MESSAGE: usize = 1 << 20;

/// Takes one whole message off the front of `buf`, if it holds one.
pub fn split_message(buf: &mut BytesMut) -> Result<Option<Incoming>, FramingError> {
    if buf.is_empty() {
        return Ok(None);
    }
    if buf[0] == b'$' {
        if buf.len() < 4 {
            return Ok(None);
        }
        let channel = buf[1];
        let len = usize::from(u16::from_be_bytes([buf[2], buf[3]]));
        if buf.len() < 4 + len {
            return Ok(None);
        }
        let mut frame = buf.split_to(4 + len);
        let payload = frame.split_off(4).freeze();
        return Ok(Some(Incoming::Data { channel, payload }));
    }
    match rtsp_types::Message::<Vec<u8>>::parse(&buf[..]) {
        Ok((msg, consumed)) => {
            let _ = buf.split_to(consumed);
            Ok(Some(match msg {
                rtsp_types::Message::Response(r) => Incoming::Response(r),
                rtsp_types::Message::Request(r) => Incoming::Request(r.method().clone()),
                rtsp_types::Message::Data(d) => Incoming::Data {
                    channel: d.channel_id(),
                    payload: Bytes::from(d.into_body()),
                },
            }))
        }
        Err(rtsp_types::ParseError::Incomplete(_)) if buf.len() < MAX_MESSAGE => Ok(None),
        Err(rtsp_types::ParseError::Incomplete(_)) => Err(FramingError::TooLong(MAX_MESSAGE)),
        Err(rtsp_types::ParseError::Error) => Err(FramingError::Malformed),
    }
}

/// A connected RTSP transport with its receive buffer.
pub struct Connection {
    io: Box<dyn Io>,
    buf: BytesMut,
    target: String,
    /// The connection is TLS (`rtsps://`).
    pub secure: bool,
    /// SHA-256 of the certificate the server presented (TLS only).
    pub peer_fingerprint: Option<[u8; 32]>,
    /// Bytes received so far.
    pub received: u64,
}

impl Connection {
    /// Connects to the URL's host (default port 554, or 322 for `rtsps`).
    pub async fn connect(
        url: &url::Url,
        trust: Option<&TlsTrust>,
        target: &str,
        timeout: Duration,
    ) -> Result<Connection, Error> {
        let secure = url.scheme().eq_ignore_ascii_case("rtsps");
        let host = url.host_str().ok_or_else(|| Error::Protocol {
            target: target.into(),
            message: "URL has no host".into(),
        })?;
        let port = url.port().unwrap_or(if secure { 322 } else { 554 });
        if secure && trust.is_none() {
            return Err(Error::Tls {
                target: target.into(),
                message: "rtsps:// needs a trusted CA file or a pinned certificate fingerprint"
                    .into(),
            });
        }
        let tcp = tokio::time::timeout(
            timeout,
            TcpStream::connect((host.trim_matches(['[', ']']), port)),
        )
        .await
        .map_err(|_| Error::Timeout {
            target: target.into(),
            what: "the TCP connection".into(),
        })?
        .map_err(|source| Error::Connect {
            target: target.into(),
            source,
        })?;
        let _ = tcp.set_nodelay(true);
        let mut peer_fingerprint = None;
        let io: Box<dyn Io> = if let (true, Some(trust)) = (secure, trust) {
            let tls_err = |message: String| Error::Tls {
                target: target.into(),
                message,
            };
            let config = tls::client_config(trust).map_err(tls_err)?;
            let name = tls::server_name(host).map_err(tls_err)?;
            let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
            let stream = tokio::time::timeout(timeout, connector.connect(name, tcp))
                .await
                .map_err(|_| Error::Timeout {
                    target: target.into(),
                    what: "the TLS handshake".into(),
                })?
                .map_err(|e| tls_err(e.to_string()))?;
            peer_fingerprint = stream
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|c| c.first())
                .map(|c| tls::fingerprint(c.as_ref()));
            Box::new(stream)
        } else {
            Box::new(tcp)
        };
        Ok(Connection {
            io,
            buf: BytesMut::with_capacity(256 * 1024),
            target: target.into(),
            secure,
            peer_fingerprint,
            received: 0,
        })
    }

    /// Writes one serialized request.
    pub async fn send(&mut self, bytes: &[u8]) -> Result<(), Error> {
        self.io.write_all(bytes).await.map_err(|source| Error::Io {
            target: self.target.clone(),
            message: "cannot send a request".into(),
            source,
        })?;
        self.io.flush().await.map_err(|source| Error::Io {
            target: self.target.clone(),
            message: "cannot send a request".into(),
            source,
        })
    }

    /// The next message; `None` when the server closed the connection. Cancel-safe.
    pub async fn next(&mut self) -> Result<Option<Incoming>, Error> {
        loop {
            if let Some(m) = split_message(&mut self.buf).map_err(|e| Error::Protocol {
                target: self.target.clone(),
                message: e.to_string(),
            })? {
                return Ok(Some(m));
            }
            if self.buf.capacity() - self.buf.len() < 64 * 1024 {
                self.buf.reserve(256 * 1024);
            }
            let n = self
                .io
                .read_buf(&mut self.buf)
                .await
                .map_err(|source| Error::Io {
                    target: self.target.clone(),
                    message: "connection lost".into(),
                    source,
                })?;
            if n == 0 {
                return Ok(None);
            }
            self.received += n as u64;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_responses_and_data() {
        let mut b = BytesMut::from(
            &b"RTSP/1.0 200 OK\r\nCSeq: 3\r\nContent-Length: 2\r\n\r\nhi$\x01\x00\x03abc$\x00\x00"
                [..],
        );
        match split_message(&mut b).unwrap() {
            Some(Incoming::Response(r)) => {
                assert_eq!(u16::from(r.status()), 200);
                assert_eq!(r.body(), b"hi");
            }
            other => panic!("{other:?}"),
        }
        match split_message(&mut b).unwrap() {
            Some(Incoming::Data { channel, payload }) => {
                assert_eq!((channel, &payload[..]), (1, &b"abc"[..]));
            }
            other => panic!("{other:?}"),
        }
        assert!(split_message(&mut b).unwrap().is_none());
        let mut bad = BytesMut::from(&b"garbage that is not RTSP\r\n\r\n"[..]);
        assert!(split_message(&mut bad).is_err());
    }
}
