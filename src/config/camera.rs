//! Camera entries of the configuration (`[[camera]]`): an id, a human name, where its footage
//! lives (the source kind and its address) and where its credentials are kept. Credentials are
//! never in this file (which operators share and paste into tickets): only a reference to a
//! service-only credentials file or a systemd credential.

use std::path::PathBuf;

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
        /// `hikvision`, `dahua`, `uniview` or `custom` (then `template` is required).
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

/// Vendors with a playback URL preset, or a custom template.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Vendor {
    Hikvision,
    Dahua,
    Uniview,
    Custom,
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
        match &self.source {
            CameraSource::Onvif { device_url, .. } => {
                let url = url_without_secrets(id, device_url)?;
                if !matches!(url.scheme(), "http" | "https") {
                    return Err(format!(
                        "camera `{id}`: `device_url` must be http:// or https://"
                    ));
                }
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
            }
        }
        Ok(())
    }

    /// The source kind as shown to people (`onvif`, `playback/hikvision`, `segments`).
    pub fn kind(&self) -> String {
        match &self.source {
            CameraSource::Onvif { .. } => "onvif".into(),
            CameraSource::Playback { vendor, .. } => {
                format!("playback/{}", format!("{vendor:?}").to_lowercase())
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
