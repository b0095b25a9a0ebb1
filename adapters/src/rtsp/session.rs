//! One RTSP session on one connection: numbered requests (CSeq), authentication retries,
//! the `Session` header and its timeout, and the wait for a matching response. Interleaved data
//! that arrives while a response is awaited is kept, in order, for the pull to consume.

use std::collections::VecDeque;
use std::time::Duration;

use bytes::Bytes;
use rtsp_types::{HeaderName, Method, Response, Version, headers};

use super::auth::{self, Challenge, Credentials};
use super::conn::{Connection, Incoming};
use crate::Error;

/// Media packets kept while waiting for an answer before the server is deemed broken.
const MAX_EARLY_FRAMES: usize = 4096;

const USER_AGENT: &str = concat!("scelle/", env!("CARGO_PKG_VERSION"));

/// One RTSP session.
pub(super) struct Session {
    pub conn: Connection,
    /// Credential-free URL (with the camera's label) for errors.
    pub target: String,
    cseq: u32,
    creds: Option<Credentials>,
    /// Basic may be answered over an unencrypted connection (the camera entry allows it).
    basic_in_clear: bool,
    challenge: Option<Challenge>,
    nc: u32,
    /// `Session` id from the first SETUP.
    pub id: Option<String>,
    /// Server's session timeout (default 60 s).
    pub timeout: Duration,
    request_timeout: Duration,
    /// Interleaved frames received before the awaited response.
    pub early_data: VecDeque<(u8, Bytes)>,
}

/// Reads a header as a string.
pub(super) fn header(resp: &Response<Vec<u8>>, name: &str) -> Option<String> {
    let name = HeaderName::try_from(name).ok()?;
    resp.header(&name).map(|v| v.as_str().to_string())
}

impl Session {
    pub(super) fn new(
        conn: Connection,
        target: String,
        creds: Option<Credentials>,
        basic_in_clear: bool,
        request_timeout: Duration,
    ) -> Self {
        Session {
            conn,
            target,
            cseq: 0,
            creds,
            basic_in_clear,
            challenge: None,
            nc: 0,
            id: None,
            timeout: Duration::from_secs(60),
            request_timeout,
            early_data: VecDeque::new(),
        }
    }

    /// Sends a request without waiting for its answer; returns its CSeq.
    pub(super) async fn send(
        &mut self,
        method: Method,
        uri: &str,
        extra: &[(&str, String)],
    ) -> Result<u32, Error> {
        self.cseq += 1;
        let name: &str = (&method).into();
        let name = name.to_string();
        let parsed = rtsp_types::Url::parse(uri).map_err(|e| Error::Protocol {
            target: self.target.clone(),
            message: format!("invalid request URL: {e}"),
        })?;
        let mut b = rtsp_types::Request::builder(method, Version::V1_0)
            .request_uri(parsed)
            .header(headers::CSEQ, self.cseq.to_string())
            .header(headers::USER_AGENT, USER_AGENT);
        if let Some(id) = &self.id {
            b = b.header(headers::SESSION, id.clone());
        }
        if let (Some(ch), Some(creds)) = (&self.challenge, &self.creds) {
            let value = auth::authorization(ch, creds, &name, uri, &mut self.nc);
            b = b.header(headers::AUTHORIZATION, value);
        }
        for (k, v) in extra {
            let k = HeaderName::try_from(*k).map_err(|_| Error::Protocol {
                target: self.target.clone(),
                message: format!("invalid header name {k}"),
            })?;
            b = b.header(k, v.clone());
        }
        let req = b.build(Vec::<u8>::new());
        let mut out = Vec::with_capacity(512);
        req.write(&mut out).map_err(|e| Error::Protocol {
            target: self.target.clone(),
            message: format!("cannot serialize {name}: {e}"),
        })?;
        self.conn.send(&out).await?;
        Ok(self.cseq)
    }

    /// Waits for the response to `cseq`, keeping interleaved data for later.
    async fn wait(&mut self, cseq: u32, method: &str) -> Result<Response<Vec<u8>>, Error> {
        let deadline = tokio::time::Instant::now() + self.request_timeout;
        loop {
            let next = tokio::time::timeout_at(deadline, self.conn.next())
                .await
                .map_err(|_| Error::Timeout {
                    target: self.target.clone(),
                    what: method.to_string(),
                })??;
            match next {
                None => {
                    return Err(Error::Io {
                        target: self.target.clone(),
                        message: format!("connection closed while waiting for the {method} answer"),
                        source: std::io::ErrorKind::UnexpectedEof.into(),
                    });
                }
                Some(Incoming::Data { channel, payload }) => {
                    if self.early_data.len() >= MAX_EARLY_FRAMES {
                        return Err(Error::Protocol {
                            target: self.target.clone(),
                            message: format!(
                                "no answer to {method} among {MAX_EARLY_FRAMES} media packets"
                            ),
                        });
                    }
                    self.early_data.push_back((channel, payload))
                }
                Some(Incoming::Request(_)) => {}
                Some(Incoming::Response(r)) => {
                    let got = header(&r, "CSeq").and_then(|c| c.trim().parse::<u32>().ok());
                    if got.is_none() || got == Some(cseq) {
                        return Ok(r);
                    }
                }
            }
        }
    }

    /// Sends a request and returns its successful or redirecting answer; answers a 401 once
    /// with the credentials, and maps other failures to errors.
    pub(super) async fn request(
        &mut self,
        method: Method,
        uri: &str,
        extra: &[(&str, String)],
    ) -> Result<Response<Vec<u8>>, Error> {
        let name: &str = (&method).into();
        let name = name.to_string();
        for attempt in 0..2 {
            let cseq = self.send(method.clone(), uri, extra).await?;
            let resp = self.wait(cseq, &name).await?;
            let status = u16::from(resp.status());
            if status == 401 {
                let challenge = header(&resp, "WWW-Authenticate")
                    .as_deref()
                    .and_then(auth::parse_challenge);
                if attempt == 1 || self.creds.is_none() || challenge.is_none() {
                    return Err(Error::Auth {
                        target: self.target.clone(),
                        method: name,
                    });
                }
                if challenge == Some(Challenge::Basic) && !self.conn.secure && !self.basic_in_clear
                {
                    return Err(Error::Insecure {
                        target: self.target.clone(),
                        message: format!(
                            "answered {name} with 401 offering only Basic authentication over an \
                             unencrypted link: scelle will not send the password in clear; enable \
                             Digest or RTSPS on the camera (`tls = {{ pin = … }}`), or allow it \
                             with `allow_basic = \"<reason>\"` in its [[camera]] entry"
                        ),
                    });
                }
                self.challenge = challenge;
                self.nc = 0;
                continue;
            }
            if let Some(s) = header(&resp, "Session") {
                let mut parts = s.split(';');
                let id = parts.next().unwrap_or("").trim().to_string();
                for p in parts {
                    if let Some(t) = p.trim().strip_prefix("timeout=")
                        && let Ok(secs) = t.trim().parse::<u64>()
                    {
                        self.timeout = Duration::from_secs(secs.clamp(5, 3600));
                    }
                }
                if !id.is_empty() {
                    self.id = Some(id);
                }
            }
            if (200..400).contains(&status) {
                return Ok(resp);
            }
            return Err(Error::Status {
                target: self.target.clone(),
                method: name,
                status,
                reason: resp.reason_phrase().to_string(),
            });
        }
        Err(Error::Auth {
            target: self.target.clone(),
            method: name,
        })
    }
}
