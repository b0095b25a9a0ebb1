//! The SOAP 1.2 client: one POST per call, WS-UsernameToken on every authenticated request,
//! HTTP Digest when the device answers 401 with a Digest challenge, SOAP faults and transport
//! failures turned into [`crate::Error`] kinds an operator can act on.
//!
//! Service addresses (XAddr) are taken from GetServices but re-based on the configured device
//! URL's scheme, host and port: recorders behind NAT or with several interfaces routinely
//! advertise an address scelle cannot reach, while the path is what differs between services.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use tokio::sync::OnceCell;

use super::parse::{self, ResponseError};
use super::types::*;
use super::wsse;
use crate::clock::{self, Clock, SystemClock};
use crate::credentials::Credentials;
use crate::digest::{self, Challenge};
use crate::rtsp::tls::{self, TlsTrust};
use crate::{ClockOffset, DeviceInfo, Error, redact_url};

const NS_DEVICE: &str = "http://www.onvif.org/ver10/device/wsdl";
const NS_MEDIA: &str = "http://www.onvif.org/ver10/media/wsdl";
const NS_RECORDING: &str = "http://www.onvif.org/ver10/recording/wsdl";
const NS_SEARCH: &str = "http://www.onvif.org/ver10/search/wsdl";
const NS_REPLAY: &str = "http://www.onvif.org/ver10/replay/wsdl";

/// Largest response body read (a recorder listing thousands of recordings stays far below).
const MAX_BODY: usize = 8 << 20;
/// Most GetRecordingSearchResults rounds before giving up on a search that never completes.
const MAX_SEARCH_ROUNDS: usize = 1000;
/// Recordings asked per page.
const PAGE_SIZE: u32 = 100;

/// How to reach one ONVIF device.
#[derive(Clone, Debug)]
pub struct OnvifConfig {
    /// The device service, e.g. `http://192.0.2.10/onvif/device_service` (no credentials in it).
    pub device_url: String,
    pub credentials: Option<Credentials>,
    /// How the device's certificate is trusted; required for `https://` (cameras present
    /// self-signed certificates, and no system store is consulted).
    pub tls: Option<TlsTrust>,
    /// Per-request time limit.
    pub timeout: Duration,
}

impl OnvifConfig {
    pub fn new(device_url: impl Into<String>, credentials: Option<Credentials>) -> OnvifConfig {
        OnvifConfig {
            device_url: device_url.into(),
            credentials,
            tls: None,
            timeout: Duration::from_secs(10),
        }
    }

    /// Trusts the device's certificate as `tls` says (pinned or CA file).
    pub fn with_tls(mut self, tls: Option<TlsTrust>) -> OnvifConfig {
        self.tls = tls;
        self
    }
}

/// A thin ONVIF client for one device.
pub struct OnvifClient {
    http: reqwest::Client,
    device_url: url::Url,
    target: String,
    credentials: Option<Credentials>,
    clock: Arc<dyn Clock>,
    /// Device clock offset applied to WS-Security `Created` (0 until measured).
    offset_ms: AtomicI64,
    /// The last Digest challenge and how many times its nonce was used.
    digest: Mutex<Option<(Challenge, u32)>>,
    services: OnceCell<ServiceMap>,
}

fn envelope(header: &str, body: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
         <s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\" \
         xmlns:tt=\"http://www.onvif.org/ver10/schema\" xmlns:tds=\"{NS_DEVICE}\" \
         xmlns:trt=\"{NS_MEDIA}\" xmlns:trc=\"{NS_RECORDING}\" xmlns:tse=\"{NS_SEARCH}\" \
         xmlns:trp=\"{NS_REPLAY}\"><s:Header>{header}</s:Header><s:Body>{body}</s:Body></s:Envelope>"
    )
}

fn esc(s: &str) -> std::borrow::Cow<'_, str> {
    quick_xml::escape::escape(s)
}

const RTSP_SETUP: &str = "<tt:Stream>RTP-Unicast</tt:Stream><tt:Transport><tt:Protocol>RTSP</tt:Protocol></tt:Transport>";

impl OnvifClient {
    pub fn new(config: OnvifConfig) -> Result<OnvifClient, Error> {
        OnvifClient::with_clock(config, Arc::new(SystemClock))
    }

    pub fn with_clock(config: OnvifConfig, clock: Arc<dyn Clock>) -> Result<OnvifClient, Error> {
        let target = redact_url(&config.device_url);
        let device_url = url::Url::parse(&config.device_url).map_err(|e| Error::Protocol {
            target: target.clone(),
            message: format!("the ONVIF device URL is not a URL: {e}"),
        })?;
        if !matches!(device_url.scheme(), "http" | "https") {
            return Err(Error::Unsupported {
                what: format!("ONVIF device URL scheme `{}`", device_url.scheme()),
                why: "use http:// or https://".into(),
            });
        }
        if !device_url.username().is_empty() || device_url.password().is_some() {
            return Err(Error::Protocol {
                target,
                message: "credentials belong in the credentials file, not in the device URL".into(),
            });
        }
        let mut builder = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .redirect(reqwest::redirect::Policy::none());
        match (device_url.scheme(), &config.tls) {
            ("https", Some(trust)) => {
                let tls = tls::client_config(trust).map_err(|message| Error::Tls {
                    target: target.clone(),
                    message,
                })?;
                builder = builder.use_preconfigured_tls(tls);
            }
            ("https", None) => {
                return Err(Error::Tls {
                    target,
                    message: "https:// needs the device's certificate pinned or a CA file \
                              (`tls = { pin = \"sha256:…\" }` or `tls = { ca_file = \"…\" }`; \
                              `scelle camera probe` shows the certificate)"
                        .into(),
                });
            }
            _ => {}
        }
        let http = builder.build().map_err(|e| Error::Tls {
            target: target.clone(),
            message: e.to_string(),
        })?;
        Ok(OnvifClient {
            http,
            device_url,
            target,
            credentials: config.credentials,
            clock,
            offset_ms: AtomicI64::new(0),
            digest: Mutex::new(None),
            services: OnceCell::new(),
        })
    }

    /// The device URL, without credentials, for messages.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// Sets the device clock offset used for WS-Security `Created`.
    pub fn set_offset(&self, offset: &ClockOffset) {
        self.offset_ms.store(offset.offset_ms, Ordering::Relaxed);
    }

    fn rebase(&self, xaddr: &str) -> String {
        match url::Url::parse(xaddr) {
            Ok(x) => {
                let mut u = self.device_url.clone();
                u.set_path(x.path());
                u.set_query(x.query());
                u.to_string()
            }
            Err(_) => self.device_url.to_string(),
        }
    }

    fn transport_error(&self, url: &str, operation: &str, e: reqwest::Error) -> Error {
        let target = redact_url(url);
        // reqwest's own message is "error sending request"; a refused certificate is a
        // rustls error further down the chain (wrapped in io and connector errors).
        let mut causes: Vec<String> = Vec::new();
        let mut tls = false;
        let mut source = std::error::Error::source(&e);
        while let Some(cause) = source {
            tls |= cause.downcast_ref::<rustls::Error>().is_some()
                || cause
                    .downcast_ref::<std::io::Error>()
                    .and_then(|io| io.get_ref())
                    .is_some_and(|inner| inner.downcast_ref::<rustls::Error>().is_some());
            let text = cause.to_string();
            tls |= text.contains("certificate");
            if !causes.iter().any(|c| c.contains(&text)) {
                causes.push(text);
            }
            source = cause.source();
        }
        if tls {
            return Error::Tls {
                target,
                message: format!(
                    "{operation}: {}",
                    causes
                        .last()
                        .map(String::as_str)
                        .unwrap_or("handshake failed")
                ),
            };
        }
        if e.is_timeout() {
            Error::Timeout {
                target,
                what: operation.to_string(),
            }
        } else if e.is_connect() {
            Error::Connect {
                target,
                source: std::io::Error::other(e.to_string()),
            }
        } else {
            Error::Protocol {
                target,
                message: format!("{operation}: {e}"),
            }
        }
    }

    fn map_response(&self, url: &str, operation: &str, e: ResponseError) -> Error {
        let target = redact_url(url);
        match e {
            ResponseError::Malformed(m) => Error::Protocol {
                target,
                message: format!("{operation} response: {m}"),
            },
            ResponseError::Fault(f)
                if matches!(
                    f.subcode.as_deref(),
                    Some("NotAuthorized" | "FailedAuthentication" | "InvalidSecurity")
                ) =>
            {
                Error::Auth {
                    target,
                    method: operation.to_string(),
                }
            }
            ResponseError::Fault(f) => Error::Fault {
                target,
                operation: operation.to_string(),
                code: f.code,
                subcode: f.subcode,
                reason: f.reason,
            },
        }
    }

    fn digest_header(&self, uri: &str) -> Option<String> {
        let creds = self.credentials.as_ref()?;
        let mut guard = self.digest.lock().ok()?;
        let (challenge, nc) = guard.as_mut()?;
        *nc += 1;
        Some(challenge.authorization(creds, "POST", uri, *nc))
    }

    async fn post(
        &self,
        url: &str,
        operation: &str,
        namespace: &str,
        body: &str,
        authenticated: bool,
    ) -> Result<reqwest::Response, Error> {
        let header = match (&self.credentials, authenticated) {
            (Some(c), true) => wsse::security_header(
                &c.user,
                c.password(),
                self.clock.now(),
                self.offset_ms.load(Ordering::Relaxed),
            ),
            _ => String::new(),
        };
        let mut req = self
            .http
            .post(url)
            .header(
                "Content-Type",
                format!("application/soap+xml; charset=utf-8; action=\"{namespace}/{operation}\""),
            )
            .body(envelope(&header, body));
        let path = url::Url::parse(url)
            .map(|u| match u.query() {
                Some(q) => format!("{}?{q}", u.path()),
                None => u.path().to_string(),
            })
            .unwrap_or_else(|_| "/".into());
        if let Some(h) = self.digest_header(&path) {
            req = req.header("Authorization", h);
        }
        req.send()
            .await
            .map_err(|e| self.transport_error(url, operation, e))
    }

    /// One SOAP call; returns the response body.
    async fn call(
        &self,
        url: &str,
        operation: &str,
        namespace: &str,
        body: &str,
        authenticated: bool,
    ) -> Result<Vec<u8>, Error> {
        let target = redact_url(url);
        tracing::debug!(target = %target, operation, "ONVIF request");
        let mut resp = self
            .post(url, operation, namespace, body, authenticated)
            .await?;
        if resp.status() == reqwest::StatusCode::UNAUTHORIZED {
            let challenge = digest::best(
                resp.headers()
                    .get_all("WWW-Authenticate")
                    .iter()
                    .filter_map(|v| v.to_str().ok()),
            );
            if let (Some(c), Some(_)) = (challenge, &self.credentials) {
                let stale_retry = self
                    .digest
                    .lock()
                    .map(|g| g.as_ref().map(|(old, _)| old.nonce != c.nonce))
                    .unwrap_or(None);
                if stale_retry == Some(false) {
                    // Same nonce refused again: the password is wrong.
                    return Err(Error::Auth {
                        target,
                        method: operation.to_string(),
                    });
                }
                if let Ok(mut g) = self.digest.lock() {
                    *g = Some((c, 0));
                }
                resp = self
                    .post(url, operation, namespace, body, authenticated)
                    .await?;
            }
        }
        let status = resp.status();
        if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
            return Err(Error::Auth {
                target,
                method: operation.to_string(),
            });
        }
        let reason = status.canonical_reason().unwrap_or("").to_string();
        let mut bytes = Vec::new();
        let mut resp = resp;
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| self.transport_error(url, operation, e))?
        {
            if bytes.len() + chunk.len() > MAX_BODY {
                return Err(Error::Protocol {
                    target,
                    message: format!("{operation} response larger than {MAX_BODY} bytes"),
                });
            }
            bytes.extend_from_slice(&chunk);
        }
        if status.is_success() {
            return Ok(bytes);
        }
        // SOAP 1.2 sends faults with 400/500: report the fault when there is one.
        match parse::body_response(&bytes) {
            Err(e @ ResponseError::Fault(_)) => Err(self.map_response(url, operation, e)),
            _ => Err(Error::Status {
                target,
                method: operation.to_string(),
                status: status.as_u16(),
                reason,
            }),
        }
    }

    async fn call_parse<T>(
        &self,
        url: &str,
        operation: &str,
        namespace: &str,
        body: &str,
        parser: fn(&[u8]) -> Result<T, ResponseError>,
    ) -> Result<T, Error> {
        let bytes = self.call(url, operation, namespace, body, true).await?;
        parser(&bytes).map_err(|e| self.map_response(url, operation, e))
    }

    fn device(&self) -> String {
        self.device_url.to_string()
    }

    /// GetSystemDateAndTime (sent without authentication, as the spec allows, since the
    /// offset is needed to authenticate).
    pub async fn system_date_and_time(&self) -> Result<SystemDateAndTime, Error> {
        let url = self.device();
        let op = "GetSystemDateAndTime";
        let bytes = self
            .call(&url, op, NS_DEVICE, "<tds:GetSystemDateAndTime/>", false)
            .await?;
        parse::system_date_and_time(&bytes).map_err(|e| self.map_response(&url, op, e))
    }

    /// Measures the device clock (offset ± RTT/2) and uses it for later `Created` values.
    pub async fn measure_clock(&self) -> Result<ClockOffset, Error> {
        let sent = self.clock.now();
        let sdt = self.system_date_and_time().await?;
        let received = self.clock.now();
        let device = sdt.utc.ok_or_else(|| Error::Protocol {
            target: self.target.clone(),
            message: "GetSystemDateAndTime gave no UTC time".into(),
        })?;
        let offset = clock::from_reading(sent, received, device, 1000);
        self.set_offset(&offset);
        tracing::info!(target = %self.target, offset_ms = offset.offset_ms, uncertainty_ms = offset.uncertainty_ms, "device clock measured");
        Ok(offset)
    }

    pub async fn device_information(&self) -> Result<DeviceInfo, Error> {
        self.call_parse(
            &self.device(),
            "GetDeviceInformation",
            NS_DEVICE,
            "<tds:GetDeviceInformation/>",
            parse::device_information,
        )
        .await
    }

    /// GetServices, falling back to GetCapabilities on devices that fault on it. Cached.
    pub async fn services(&self) -> Result<&ServiceMap, Error> {
        self.services
            .get_or_try_init(|| async {
                let url = self.device();
                let services = self
                    .call_parse(&url, "GetServices", NS_DEVICE, "<tds:GetServices><tds:IncludeCapability>false</tds:IncludeCapability></tds:GetServices>", parse::services)
                    .await;
                let map = match services {
                    Ok(s) => parse::service_map(&s),
                    Err(Error::Fault { .. }) | Err(Error::Status { .. }) => {
                        self.call_parse(&url, "GetCapabilities", NS_DEVICE, "<tds:GetCapabilities><tds:Category>All</tds:Category></tds:GetCapabilities>", parse::capabilities)
                            .await?
                    }
                    Err(e) => return Err(e),
                };
                let rebase = |x: Option<String>| x.map(|x| self.rebase(&x));
                Ok(ServiceMap {
                    media: rebase(map.media),
                    recording: rebase(map.recording),
                    search: rebase(map.search),
                    replay: rebase(map.replay),
                })
            })
            .await
    }

    async fn service(
        &self,
        pick: fn(&ServiceMap) -> &Option<String>,
        name: &str,
    ) -> Result<String, Error> {
        pick(self.services().await?)
            .clone()
            .ok_or_else(|| Error::Unsupported {
                what: format!("the ONVIF {name} service on {}", self.target),
                why: "the device does not list it in GetServices (not a Profile G recorder?)"
                    .into(),
            })
    }

    pub async fn profiles(&self) -> Result<Vec<Profile>, Error> {
        let url = self.service(|m| &m.media, "media").await?;
        self.call_parse(
            &url,
            "GetProfiles",
            NS_MEDIA,
            "<trt:GetProfiles/>",
            parse::profiles,
        )
        .await
    }

    pub async fn stream_uri(&self, profile: &str) -> Result<String, Error> {
        let url = self.service(|m| &m.media, "media").await?;
        let body = format!(
            "<trt:GetStreamUri><trt:StreamSetup>{RTSP_SETUP}</trt:StreamSetup><trt:ProfileToken>{}</trt:ProfileToken></trt:GetStreamUri>",
            esc(profile)
        );
        self.call_parse(&url, "GetStreamUri", NS_MEDIA, &body, parse::stream_uri)
            .await
    }

    pub async fn recordings(&self) -> Result<Vec<RecordingItem>, Error> {
        let url = self.service(|m| &m.recording, "recording").await?;
        self.call_parse(
            &url,
            "GetRecordings",
            NS_RECORDING,
            "<trc:GetRecordings/>",
            parse::recordings,
        )
        .await
    }

    pub async fn recording_summary(&self) -> Result<RecordingSummary, Error> {
        let url = self.service(|m| &m.search, "search").await?;
        self.call_parse(
            &url,
            "GetRecordingSummary",
            NS_SEARCH,
            "<tse:GetRecordingSummary/>",
            parse::recording_summary,
        )
        .await
    }

    pub async fn recording_information(&self, token: &str) -> Result<RecordingInformation, Error> {
        let url = self.service(|m| &m.search, "search").await?;
        let body = format!(
            "<tse:GetRecordingInformation><tse:RecordingToken>{}</tse:RecordingToken></tse:GetRecordingInformation>",
            esc(token)
        );
        self.call_parse(
            &url,
            "GetRecordingInformation",
            NS_SEARCH,
            &body,
            parse::recording_information_response,
        )
        .await
    }

    /// FindRecordings, then GetRecordingSearchResults page after page until the device says
    /// the search is complete, then EndSearch. `only` restricts the search to one recording.
    pub async fn search_recordings(
        &self,
        only: Option<&str>,
    ) -> Result<Vec<RecordingInformation>, Error> {
        let url = self.service(|m| &m.search, "search").await?;
        let scope = only
            .map(|t| format!("<tt:IncludedRecordings>{}</tt:IncludedRecordings>", esc(t)))
            .unwrap_or_default();
        let body = format!(
            "<tse:FindRecordings><tse:Scope>{scope}</tse:Scope><tse:KeepAliveTime>PT30S</tse:KeepAliveTime></tse:FindRecordings>"
        );
        let token = self
            .call_parse(
                &url,
                "FindRecordings",
                NS_SEARCH,
                &body,
                parse::find_recordings,
            )
            .await?;
        let result = self.collect_results(&url, &token).await;
        let end = format!(
            "<tse:EndSearch><tse:SearchToken>{}</tse:SearchToken></tse:EndSearch>",
            esc(&token)
        );
        if let Err(e) = self
            .call_parse(&url, "EndSearch", NS_SEARCH, &end, parse::end_search)
            .await
        {
            // A completed search may already be gone on the device; nothing to release then.
            tracing::debug!(target = %self.target, error = %e, "EndSearch");
        }
        result
    }

    async fn collect_results(
        &self,
        url: &str,
        token: &str,
    ) -> Result<Vec<RecordingInformation>, Error> {
        let body = format!(
            "<tse:GetRecordingSearchResults><tse:SearchToken>{}</tse:SearchToken><tse:MaxResults>{PAGE_SIZE}</tse:MaxResults><tse:WaitTime>PT2S</tse:WaitTime></tse:GetRecordingSearchResults>",
            esc(token)
        );
        let mut all = Vec::new();
        for _ in 0..MAX_SEARCH_ROUNDS {
            let page = self
                .call_parse(
                    url,
                    "GetRecordingSearchResults",
                    NS_SEARCH,
                    &body,
                    parse::recording_search_results,
                )
                .await?;
            all.extend(page.recordings);
            if page.state == SearchState::Completed {
                return Ok(all);
            }
        }
        Err(Error::Protocol {
            target: redact_url(url),
            message: format!(
                "recording search did not complete after {MAX_SEARCH_ROUNDS} result pages"
            ),
        })
    }

    pub async fn replay_uri(&self, recording: &str) -> Result<String, Error> {
        let url = self.service(|m| &m.replay, "replay").await?;
        let body = format!(
            "<trp:GetReplayUri><trp:StreamSetup>{RTSP_SETUP}</trp:StreamSetup><trp:RecordingToken>{}</trp:RecordingToken></trp:GetReplayUri>",
            esc(recording)
        );
        self.call_parse(&url, "GetReplayUri", NS_REPLAY, &body, parse::replay_uri)
            .await
    }
}
