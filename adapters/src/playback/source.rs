//! [`VendorSource`]: a recorder reached through a vendor playback URL (Hikvision, Dahua,
//! Uniview or a custom template), pulled by scelle's RTSP client.
//!
//! Such recorders give no recording index over RTSP, so `plan` says so (`Unsupported`) instead
//! of guessing; missing footage shows up as gaps during the pull. The clock offset comes from
//! the `Date` header of an RTSP `OPTIONS` answer (one-second resolution, ± RTT/2).

use std::time::Duration;

use jiff::SignedDuration;
use tokio::sync::{Mutex, mpsc};

use super::{PlaybackTarget, PlaybackTemplate};
use crate::clock::{self, Clock, SystemClock};
use crate::credentials::Credentials;
use crate::rtsp::conn::{Connection, Incoming};
use crate::rtsp::{self, PullRequest, Replay, TlsTrust};
use crate::{
    BoxFuture, ClockOffset, DeviceInfo, Error, Event, Plan, PullSummary, Source, TimeRange,
};

/// One camera channel on a recorder with a playback URL template.
pub struct VendorSource {
    /// The camera's name in scelle's configuration.
    pub camera: String,
    /// `hikvision`, `dahua`, `uniview` or `custom`, as configured.
    pub vendor: String,
    pub target: PlaybackTarget,
    pub template: PlaybackTemplate,
    pub credentials: Option<Credentials>,
    /// Trust for the recorder's certificate; `None`: plain `rtsp://`.
    pub tls: Option<TlsTrust>,
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
            tls: None,
            rtsp: rtsp::ClientConfig::default(),
            clock: Box::new(SystemClock),
            offset: Mutex::new(None),
        }
    }

    /// Trusts the recorder's certificate as `tls` says: the playback URL and the clock's
    /// `OPTIONS` then go over RTSPS (`rtsp://` templates are turned into `rtsps://`).
    pub fn with_tls(mut self, tls: Option<TlsTrust>) -> VendorSource {
        self.tls = tls;
        self
    }

    fn scheme(&self) -> &'static str {
        if self.tls.is_some() { "rtsps" } else { "rtsp" }
    }

    fn addr(&self) -> String {
        format!(
            "{}://{}:{}/",
            self.scheme(),
            self.target.host,
            self.target.port
        )
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
        let date = answer.ok_or_else(|| Error::Unsupported {
            what: format!("measuring the clock of {target}"),
            why: "its RTSP answers carry no Date header".into(),
        })?;
        clock::from_date_header(&date, sent, received).ok_or_else(|| Error::Protocol {
            target,
            message: format!("RTSP Date header is not a date: {date:?}"),
        })
    }

    /// The `Date` header of an `OPTIONS` answer, over TLS when the camera's link is encrypted.
    async fn options(&self, target: &str) -> Result<Option<String>, Error> {
        let url = url::Url::parse(target).map_err(|e| Error::Protocol {
            target: target.to_string(),
            message: format!("invalid URL: {e}"),
        })?;
        let mut conn =
            Connection::connect(&url, self.tls.as_ref(), target, self.rtsp.request_timeout).await?;
        conn.send(
            format!("OPTIONS {target} RTSP/1.0\r\nCSeq: 1\r\nUser-Agent: scelle\r\n\r\n")
                .as_bytes(),
        )
        .await?;
        loop {
            match conn.next().await? {
                None => {
                    return Err(Error::Io {
                        target: target.to_string(),
                        message: "connection closed before the OPTIONS answer".into(),
                        source: std::io::ErrorKind::UnexpectedEof.into(),
                    });
                }
                Some(Incoming::Response(r)) => {
                    return Ok(r
                        .header(&rtsp_types::headers::DATE)
                        .map(|v| v.as_str().to_string()));
                }
                Some(_) => {}
            }
        }
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
            let mut url = self.template.render(&self.target, range, Some(&offset))?;
            if self.tls.is_some()
                && let Some(rest) = url.strip_prefix("rtsp://")
            {
                url = format!("rtsps://{rest}");
            }
            let length = range.end.duration_since(range.start);
            let length = Duration::try_from(length.max(SignedDuration::ZERO)).unwrap_or_default();
            let request = PullRequest {
                camera: self.camera.clone(),
                url,
                credentials: self.credentials.clone(),
                tls: self.tls.clone(),
                mode: Replay::Npt {
                    start: Duration::ZERO,
                    end: Some(length),
                },
            };
            rtsp::Client::new(self.rtsp.clone()).pull(request, tx).await
        })
    }
}
