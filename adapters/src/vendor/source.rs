//! [`VendorSource`]: a recorder reached through a vendor playback URL (Hikvision, Dahua,
//! Uniview or a custom template), pulled by scelle's RTSP client.
//!
//! Such recorders give no recording index over RTSP, so `plan` says so (`Unsupported`) instead
//! of guessing; missing footage shows up as gaps during the pull. The clock offset comes from
//! the `Date` header of an RTSP `OPTIONS` answer (one-second resolution, ± RTT/2).

use std::time::Duration;

use jiff::SignedDuration;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::sync::{Mutex, mpsc};

use super::{PlaybackTarget, PlaybackTemplate};
use crate::clock::{self, Clock, SystemClock};
use crate::credentials::Credentials;
use crate::rtsp::{self, PullRequest, Replay};
use crate::{
    BoxFuture, ClockOffset, DeviceInfo, Error, Event, Plan, PullSummary, Source, TimeRange,
};

/// Largest OPTIONS answer read.
const MAX_OPTIONS_ANSWER: usize = 16 << 10;

/// One camera channel on a recorder with a playback URL template.
pub struct VendorSource {
    /// The camera's name in scelle's configuration.
    pub camera: String,
    /// `hikvision`, `dahua`, `uniview` or `custom`, as configured.
    pub vendor: String,
    pub target: PlaybackTarget,
    pub template: PlaybackTemplate,
    pub credentials: Option<Credentials>,
    pub rtsp: rtsp::ClientConfig,
    clock: Box<dyn Clock>,
    offset: Mutex<Option<ClockOffset>>,
}

impl VendorSource {
    pub fn new(
        camera: impl Into<String>,
        vendor: impl Into<String>,
        target: PlaybackTarget,
        template: PlaybackTemplate,
        credentials: Option<Credentials>,
    ) -> VendorSource {
        VendorSource {
            camera: camera.into(),
            vendor: vendor.into(),
            target,
            template,
            credentials,
            rtsp: rtsp::ClientConfig::default(),
            clock: Box::new(SystemClock),
            offset: Mutex::new(None),
        }
    }

    fn addr(&self) -> String {
        format!("rtsp://{}:{}/", self.target.host, self.target.port)
    }

    async fn measure(&self) -> Result<ClockOffset, Error> {
        let target = self.addr();
        let limit = self.rtsp.request_timeout;
        let sent = self.clock.now();
        let answer = tokio::time::timeout(limit, self.options(&target))
            .await
            .map_err(|_| Error::Timeout {
                target: target.clone(),
                what: "OPTIONS".into(),
            })??;
        let received = self.clock.now();
        let date = answer
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.trim()
                    .eq_ignore_ascii_case("date")
                    .then(|| v.trim().to_string())
            })
            .ok_or_else(|| Error::Unsupported {
                what: format!("measuring the clock of {target}"),
                why: "its RTSP answers carry no Date header".into(),
            })?;
        clock::from_date_header(&date, sent, received).ok_or_else(|| Error::Protocol {
            target,
            message: format!("RTSP Date header is not a date: {date:?}"),
        })
    }

    async fn options(&self, target: &str) -> Result<String, Error> {
        let addr = (self.target.host.as_str(), self.target.port);
        let mut sock = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| Error::Connect {
                target: target.to_string(),
                source: e,
            })?;
        let io = |e: std::io::Error| Error::Io {
            target: target.to_string(),
            message: "RTSP OPTIONS".into(),
            source: e,
        };
        sock.write_all(
            format!("OPTIONS {target} RTSP/1.0\r\nCSeq: 1\r\nUser-Agent: scelle\r\n\r\n")
                .as_bytes(),
        )
        .await
        .map_err(io)?;
        let mut buf = Vec::new();
        let mut chunk = [0u8; 2048];
        while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = sock.read(&mut chunk).await.map_err(io)?;
            if n == 0 || buf.len() + n > MAX_OPTIONS_ANSWER {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        Ok(String::from_utf8_lossy(&buf).into_owned())
    }

    /// The measured offset, measured once.
    pub async fn offset(&self) -> Result<ClockOffset, Error> {
        let mut guard = self.offset.lock().await;
        if let Some(o) = *guard {
            return Ok(o);
        }
        let o = self.measure().await?;
        *guard = Some(o);
        Ok(o)
    }
}

impl Source for VendorSource {
    fn describe(&self) -> BoxFuture<'_, Result<DeviceInfo, Error>> {
        // Playback URLs tell nothing about the device beyond what the configuration says.
        Box::pin(async move {
            Ok(DeviceInfo {
                vendor: self.vendor.clone(),
                ..DeviceInfo::default()
            })
        })
    }

    fn clock_offset(&self) -> BoxFuture<'_, Result<ClockOffset, Error>> {
        Box::pin(async move {
            let o = self.measure().await?;
            *self.offset.lock().await = Some(o);
            Ok(o)
        })
    }

    fn plan(&self, _range: TimeRange) -> BoxFuture<'_, Result<Plan, Error>> {
        Box::pin(async move {
            Err(Error::Unsupported {
                what: format!("planning for {} (vendor playback URL)", self.camera),
                why: "the recorder offers no recording index over RTSP; missing spans are reported as gaps during the pull".into(),
            })
        })
    }

    /// Renders the URL for the range on the device clock and pulls it from the start of the
    /// playback session for the range's duration.
    fn pull(
        &self,
        range: TimeRange,
        tx: mpsc::Sender<Event>,
    ) -> BoxFuture<'_, Result<PullSummary, Error>> {
        Box::pin(async move {
            let offset = self.offset().await?;
            let url = self.template.render(&self.target, range, Some(&offset))?;
            let length = range.end.duration_since(range.start);
            let length = Duration::try_from(length.max(SignedDuration::ZERO)).unwrap_or_default();
            let request = PullRequest {
                camera: self.camera.clone(),
                url,
                credentials: self.credentials.as_ref().map(|c| rtsp::Credentials {
                    user: c.user.clone(),
                    password: c.password().to_string(),
                }),
                tls: None,
                mode: Replay::Npt {
                    start: Duration::ZERO,
                    end: Some(length),
                },
            };
            rtsp::Client::new(self.rtsp.clone()).pull(request, tx).await
        })
    }
}
