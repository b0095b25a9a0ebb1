//! Camera entries of the configuration (`[[camera]]`): an id, a human name, where its footage
//! lives (the source kind and its address) and where its credentials are kept. Credentials are
//! never in this file (which operators share and paste into tickets): only a reference to a
//! service-only credentials file or a systemd credential.
//!
//! Also how the link to it is secured (ENC-5): `tls = { pin = "sha256:…" }` (the certificate
//! `scelle camera probe` shows, confirmed on the device) or `tls = { ca_file = "…" }`, for both
//! RTSPS and the ONVIF service's HTTPS; and the exceptions, each with its reason, which every
//! export record repeats: `allow_unencrypted` (a plain link on a site whose level asks for
//! encryption) and `allow_basic` (Basic authentication over a plain link).

use std::path::PathBuf;

use scelle_adapters::playback::Vendor;
use serde::Deserialize;
use serde::de::Error as _;

use super::TimeZoneName;

/// One camera or recorder channel.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Camera {
    /// Short stable identifier, used on the command line, in cases and in the register.
    pub id: CameraId,
    /// Human name, as printed on receipts ("Entrée principale").
    pub name: String,
    /// Where it is, as printed on receipts (optional).
    #[serde(default)]
    pub location: String,
    /// Where its footage lives.
    pub source: CameraSource,
    /// A credentials file readable only by the service: lines `camera-id:user:password`.
    #[serde(default)]
    pub credentials_file: Option<PathBuf>,
    /// The entry in that file, when it is not the camera's id.
    #[serde(default)]
    pub credentials_id: Option<String>,
    /// A systemd credential name (`LoadCredential=NAME:…`) holding `user:password`.
    #[serde(default)]
    pub credentials_systemd: Option<String>,
    /// How the camera's certificate is trusted (RTSPS and HTTPS); none: plain links.
    #[serde(default)]
    pub tls: Option<CameraTls>,
    /// Why this camera's link may stay unencrypted on a site whose level asks for encryption.
    #[serde(default)]
    pub allow_unencrypted: Option<String>,
    /// Why the camera may get its password with Basic authentication over a plain link.
    #[serde(default)]
    pub allow_basic: Option<String>,
}

/// `tls = { pin = "sha256:…" }` or `tls = { ca_file = "/etc/scelle/ca.pem" }`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CameraTls {
    /// SHA-256 of the camera's certificate, as `scelle camera probe` prints it.
    #[serde(default)]
    pub pin: Option<Pin>,
    /// PEM file of the CA that issued the camera's certificate.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
}

/// A certificate fingerprint: `sha256:` and 64 hex digits (`:` separators allowed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pin(pub [u8; 32]);

impl std::fmt::Display for Pin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&scelle_adapters::rtsp::tls::format_fingerprint(&self.0))
    }
}

impl<'de> Deserialize<'de> for Pin {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        scelle_adapters::rtsp::tls::parse_fingerprint(&s)
            .map(Pin)
            .ok_or_else(|| {
                D::Error::custom(format!(
                    "pin `{s}`: expected `sha256:` and 64 hex digits, as `scelle camera probe` prints it"
                ))
            })
    }
}

impl CameraTls {
    /// The adapters' form.
    pub fn trust(&self) -> Option<scelle_adapters::rtsp::TlsTrust> {
        use scelle_adapters::rtsp::TlsTrust;
        match (&self.pin, &self.ca_file) {
            (Some(p), None) => Some(TlsTrust::Pinned(p.0)),
            (None, Some(f)) => Some(TlsTrust::CaFile(f.clone())),
            _ => None,
        }
    }
}

/// How the link to a camera is secured, as every export record states it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, Deserialize)]
pub struct LinkSecurity {
    /// `tls`, `plain`, or `local` (a segment folder: no network link of scelle's).
    pub transport: String,
    /// Every network link to the camera is TLS.
    pub encrypted: bool,
    /// The pinned certificate (`sha256:…`), when trust is a pin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin: Option<String>,
    /// The CA file, when trust is a CA.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<String>,
    /// The configured reason for a plain link (`allow_unencrypted`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unencrypted_reason: Option<String>,
    /// The configured reason for Basic over a plain link (`allow_basic`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basic_reason: Option<String>,
}

/// A camera id: letters, digits, `-`, `_`, `.`; 1 to 64 characters, not starting with `.`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CameraId(pub String);

impl CameraId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for CameraId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for CameraId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let ok = !s.is_empty()
            && s.len() <= 64
            && !s.starts_with('.')
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !ok {
            return Err(D::Error::custom(format!(
                "camera id `{s}`: use 1 to 64 letters, digits, `-`, `_` or `.` (it names files)"
            )));
        }
        Ok(CameraId(s))
    }
}

/// Where a camera's footage is pulled from.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum CameraSource {
    /// An ONVIF Profile G device (camera with SD card, or recorder): search and replay.
    Onvif {
        /// The device service, e.g. `http://192.0.2.10/onvif/device_service`.
        device_url: String,
        /// The recording token to use (recorders with several); default: every recording.
        #[serde(default)]
        recording: Option<String>,
    },
    /// A recorder's RTSP playback URL with the time range in it.
    Playback {
        /// A name of [`Vendor`] (`custom` needs `template`, the others have presets).
        vendor: Vendor,
        host: String,
        #[serde(default = "default_rtsp_port")]
        port: u16,
        #[serde(default = "default_channel")]
        channel: u32,
        #[serde(default)]
        substream: bool,
        /// Custom URL template (see docs/decisions/0033-vendor-playback-urls.md).
        #[serde(default)]
        template: Option<String>,
        /// The recorder's time zone when it reads local times; default: the site's.
        #[serde(default)]
        time_zone: Option<TimeZoneName>,
        /// Ask the recorder to deliver this many times faster than real time (RTSP `Speed`,
        /// 1.5 to 16; decision 0093); default: the preset's (real time for all three). Each pull
        /// checks that every picture comes and falls back to real time, saying so, if not.
        #[serde(default)]
        speed: Option<f64>,
    },
    /// A folder of time-named MP4 segments (an NVR's recordings share).
    Segments {
        root: PathBuf,
        /// Path pattern below `root`; default `{camera}/%Y/%m/%d/%H-%M-%S.mp4`.
        #[serde(default = "default_pattern")]
        pattern: String,
        /// The value of `{camera}` in the pattern; default: the camera's id.
        #[serde(default)]
        folder: Option<String>,
    },
}

fn default_rtsp_port() -> u16 {
    554
}

fn default_channel() -> u32 {
    1
}

/// The segment layout scelle's own demo and many NVRs use.
pub const DEFAULT_SEGMENT_PATTERN: &str = "{camera}/%Y/%m/%d/%H-%M-%S.mp4";

fn default_pattern() -> String {
    DEFAULT_SEGMENT_PATTERN.to_owned()
}

impl Camera {
    /// What only a whole entry can tell: one credentials place at most, a template when custom.
    pub(super) fn validate(&self) -> Result<(), String> {
        let id = &self.id;
        if self.name.trim().is_empty() {
            return Err(format!("camera `{id}`: `name` is empty"));
        }
        if self.credentials_file.is_some() && self.credentials_systemd.is_some() {
            return Err(format!(
                "camera `{id}`: give `credentials_file` or `credentials_systemd`, not both"
            ));
        }
        if self.credentials_id.is_some() && self.credentials_file.is_none() {
            return Err(format!(
                "camera `{id}`: `credentials_id` needs `credentials_file`"
            ));
        }
        if let Some(tls) = &self.tls
            && tls.pin.is_some() == tls.ca_file.is_some()
        {
            return Err(format!(
                "camera `{id}`: `tls` takes `pin` or `ca_file`, exactly one of them"
            ));
        }
        for (key, reason) in [
            ("allow_unencrypted", &self.allow_unencrypted),
            ("allow_basic", &self.allow_basic),
        ] {
            if reason.as_ref().is_some_and(|r| r.trim().is_empty()) {
                return Err(format!(
                    "camera `{id}`: `{key}` must say why (it is recorded in every export)"
                ));
            }
        }
        if self.tls.is_some() && self.allow_unencrypted.is_some() {
            return Err(format!(
                "camera `{id}`: `allow_unencrypted` is for a camera without `tls`"
            ));
        }
        match &self.source {
            CameraSource::Onvif { device_url, .. } => {
                let url = url_without_secrets(id, device_url)?;
                match (url.scheme(), &self.tls) {
                    // https:// without `tls` loads (it is how a camera is commissioned:
                    // `scelle camera probe` shows the certificate, `scelle camera pin` records
                    // it) but is never connected to before then.
                    ("https", _) | ("http", None) => {}
                    ("http", Some(_)) => {
                        return Err(format!(
                            "camera `{id}`: `tls` is set but `device_url` is http://: use https://"
                        ));
                    }
                    _ => {
                        return Err(format!(
                            "camera `{id}`: `device_url` must be http:// or https://"
                        ));
                    }
                }
            }
            CameraSource::Playback { speed: Some(x), .. }
                if !(scelle_adapters::rtsp::pace::MIN_SPEED
                    ..=scelle_adapters::rtsp::pace::MAX_SPEED)
                    .contains(x) =>
            {
                return Err(format!(
                    "camera `{id}`: `speed` must be between {} and {} (times real time): leave \
                     it out for real time",
                    scelle_adapters::rtsp::pace::MIN_SPEED,
                    scelle_adapters::rtsp::pace::MAX_SPEED
                ));
            }
            CameraSource::Playback {
                vendor, template, ..
            } => match (vendor, template) {
                (Vendor::Custom, None) => {
                    return Err(format!("camera `{id}`: vendor `custom` needs a `template`"));
                }
                (Vendor::Custom, Some(_)) | (_, None) => {}
                (_, Some(_)) => {
                    return Err(format!(
                        "camera `{id}`: `template` is only for vendor `custom` (the others have presets)"
                    ));
                }
            },
            CameraSource::Segments { root, .. } => {
                if !root.is_absolute() {
                    return Err(format!(
                        "camera `{id}`: segment `root` must be an absolute path"
                    ));
                }
                if self.tls.is_some() {
                    return Err(format!(
                        "camera `{id}`: a segment folder has no network link: remove `tls`"
                    ));
                }
            }
        }
        Ok(())
    }

    /// The link's protection as configured.
    pub fn link(&self) -> LinkSecurity {
        let local = matches!(self.source, CameraSource::Segments { .. });
        let tls = self.tls.as_ref();
        LinkSecurity {
            transport: match (local, tls) {
                (true, _) => "local",
                (false, Some(_)) => "tls",
                (false, None) => "plain",
            }
            .into(),
            encrypted: !local && tls.is_some(),
            pin: tls.and_then(|t| t.pin).map(|p| p.to_string()),
            ca_file: tls
                .and_then(|t| t.ca_file.as_ref())
                .map(|f| f.display().to_string()),
            unencrypted_reason: self.allow_unencrypted.clone(),
            basic_reason: self.allow_basic.clone(),
        }
    }

    /// Where a TLS endpoint of the camera is (`host`, `port`): the ONVIF service of an https://
    /// `device_url`, or the recorder of a playback camera with `tls` or an rtsps:// template.
    pub fn tls_endpoint(&self) -> Option<(String, u16)> {
        match &self.source {
            CameraSource::Onvif { device_url, .. } => {
                let url = url::Url::parse(device_url).ok()?;
                if url.scheme() != "https" {
                    return None;
                }
                Some((url.host_str()?.to_string(), url.port_or_known_default()?))
            }
            CameraSource::Playback {
                host,
                port,
                template,
                ..
            } => {
                let rtsps = template
                    .as_deref()
                    .is_some_and(|t| t.trim_start().to_ascii_lowercase().starts_with("rtsps:"));
                (self.tls.is_some() || rtsps).then(|| (host.clone(), *port))
            }
            CameraSource::Segments { .. } => None,
        }
    }

    /// A network camera whose link is neither encrypted nor excepted with a reason.
    pub fn unprotected(&self) -> bool {
        !matches!(self.source, CameraSource::Segments { .. })
            && self.tls.is_none()
            && self.allow_unencrypted.is_none()
    }

    /// The source kind as shown to people (`onvif`, `playback/hikvision`, `segments`).
    pub fn kind(&self) -> String {
        match &self.source {
            CameraSource::Onvif { .. } => "onvif".into(),
            CameraSource::Playback { vendor, .. } => {
                format!("playback/{}", vendor.name())
            }
            CameraSource::Segments { .. } => "segments".into(),
        }
    }

    /// Where, without credentials: the device URL, the recorder's address or the folder.
    pub fn address(&self) -> String {
        match &self.source {
            CameraSource::Onvif { device_url, .. } => scelle_adapters::redact_url(device_url),
            CameraSource::Playback {
                host,
                port,
                channel,
                ..
            } => format!("{host}:{port} channel {channel}"),
            CameraSource::Segments { root, .. } => root.display().to_string(),
        }
    }
}

fn url_without_secrets(id: &CameraId, s: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(s).map_err(|e| format!("camera `{id}`: bad `device_url`: {e}"))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!(
            "camera `{id}`: no credentials in `device_url`: use `credentials_file` or `credentials_systemd`"
        ));
    }
    Ok(url)
}
