//! From a camera's configuration entry to a live [`Source`]: loads its credentials (from the
//! service-only file or the systemd credential, at the moment of use, never kept in the
//! configuration) and builds the adapter its `source.kind` names. Also the facts `scelle camera
//! probe` shows: device, clock offset, the plan of a range, and the certificate of each TLS
//! endpoint with the configuration line that pins it.

pub mod pin;

use std::sync::Arc;

use jiff::tz::TimeZone;
use scelle_adapters::credentials::{self, CredentialSource, Credentials};
use scelle_adapters::onvif::{OnvifConfig, OnvifSource};
use scelle_adapters::playback::{PlaybackTarget, PlaybackTemplate, VendorSource};
use scelle_adapters::rtsp::tls::{self, CertificateInfo};
use scelle_adapters::segments::SegmentFolder;
use scelle_adapters::{ClockOffset, DeviceInfo, Error, Plan, Recording, Source, TimeRange};
use serde::Serialize;

use crate::config::{Camera, CameraSource, LinkSecurity};

/// RTSP policy of a camera's pulls: Basic over a plain link only where the entry allows it.
fn rtsp_config(camera: &Camera) -> scelle_adapters::rtsp::ClientConfig {
    scelle_adapters::rtsp::ClientConfig {
        basic_in_clear: camera.allow_basic.is_some(),
        ..Default::default()
    }
}

/// The camera's credentials, if its entry names a place for them.
pub fn credentials(camera: &Camera) -> Result<Option<Credentials>, Error> {
    let source = match (&camera.credentials_file, &camera.credentials_systemd) {
        (Some(path), _) => CredentialSource::File {
            path: path.clone(),
            id: camera
                .credentials_id
                .clone()
                .unwrap_or_else(|| camera.id.to_string()),
        },
        (None, Some(name)) => CredentialSource::Systemd { name: name.clone() },
        (None, None) => return Ok(None),
    };
    credentials::load(&source).map(Some)
}

/// The adapter for `camera`; `site_zone` is the default zone of recorders reading local times,
/// `stall` how long an RTSP pull may go without media (reconnections included).
pub fn source(
    camera: &Camera,
    site_zone: &str,
    stall: std::time::Duration,
) -> Result<Arc<dyn Source>, Error> {
    let rtsp = scelle_adapters::rtsp::ClientConfig {
        stall_limit: stall,
        ..rtsp_config(camera)
    };
    let creds = credentials(camera)?;
    let id = camera.id.to_string();
    let trust = camera.tls.as_ref().and_then(|t| t.trust());
    Ok(match &camera.source {
        CameraSource::Onvif {
            device_url,
            recording,
        } => Arc::new(
            OnvifSource::new(
                OnvifConfig::new(device_url.clone(), creds).with_tls(trust),
                recording.clone(),
            )?
            .with_camera(id)
            .with_rtsp_config(rtsp),
        ),
        CameraSource::Playback {
            vendor,
            host,
            port,
            channel,
            substream,
            template,
            time_zone,
            speed,
        } => {
            let zone_name = time_zone.as_ref().map_or(site_zone, |z| z.0.as_str());
            let zone = TimeZone::get(zone_name).map_err(|e| Error::Unsupported {
                what: format!("time zone `{zone_name}`"),
                why: e.to_string(),
            })?;
            let template = PlaybackTemplate::for_vendor(*vendor, template.as_deref(), zone)?;
            let target = PlaybackTarget {
                host: host.clone(),
                port: *port,
                channel: *channel,
                substream: *substream,
            };
            let mut source =
                VendorSource::new(id, vendor.name(), target, template, creds).with_tls(trust);
            source.rtsp = scelle_adapters::rtsp::ClientConfig {
                playback_speed: speed.or(vendor.speed()),
                ..rtsp
            };
            Arc::new(source)
        }
        CameraSource::Segments {
            root,
            pattern,
            folder,
        } => Arc::new(SegmentFolder::new(
            root.clone(),
            pattern,
            folder.as_deref().unwrap_or(&id),
        )?),
    })
}

/// A camera as `scelle camera list` shows it (no credentials, only where they are kept).
#[derive(Clone, Debug, Serialize, serde::Deserialize, PartialEq)]
pub struct Listed {
    pub id: String,
    pub name: String,
    pub location: String,
    pub kind: String,
    pub address: String,
    /// `file:PATH[#ID]`, `systemd:NAME` or `none`.
    pub credentials: String,
    /// How the link is secured.
    #[serde(default)]
    pub link: Option<LinkSecurity>,
}

impl From<&Camera> for Listed {
    fn from(c: &Camera) -> Listed {
        let credentials = match (&c.credentials_file, &c.credentials_systemd) {
            (Some(p), _) => match &c.credentials_id {
                Some(id) => format!("file:{}#{id}", p.display()),
                None => format!("file:{}", p.display()),
            },
            (None, Some(n)) => format!("systemd:{n}"),
            (None, None) => "none".into(),
        };
        Listed {
            id: c.id.to_string(),
            name: c.name.clone(),
            location: c.location.clone(),
            kind: c.kind(),
            address: c.address(),
            credentials,
            link: Some(c.link()),
        }
    }
}

/// What `scelle camera probe` reports. Each part is measured on its own: a device that answers
/// its clock but not its identity still shows what it could.
#[derive(Clone, Debug, Serialize)]
pub struct Probe {
    pub camera: String,
    pub name: String,
    pub kind: String,
    pub address: String,
    pub device: Outcome<DeviceInfo>,
    pub clock_offset: Outcome<ClockOffset>,
    /// The recordings the device holds and their spans.
    pub recordings: Outcome<Vec<Recording>>,
    /// The plan of the asked range, if one was asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan: Option<Outcome<Plan>>,
    /// How the link is secured, as configured.
    pub link: LinkSecurity,
    /// The certificate of the camera's TLS endpoint, read without trusting it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate: Option<Outcome<CertificateView>>,
}

/// A certificate as the probe shows it, with what the configuration says of it.
#[derive(Clone, Debug, Serialize, serde::Deserialize, PartialEq)]
pub struct CertificateView {
    #[serde(flatten)]
    pub info: CertificateInfo,
    /// `matches`, `differs` (the configured pin is another certificate's: connections are
    /// refused), `ca-file` (checked against the CA at connection) or `not-pinned`.
    pub status: String,
    /// The line to paste into the camera's `[[camera]]` entry (or record with
    /// `scelle camera pin`).
    pub config_line: String,
}

/// Reads the certificate of `camera`'s TLS endpoint, if it has one.
pub async fn certificate(camera: &Camera) -> Option<Result<CertificateView, Error>> {
    let (host, port) = camera.tls_endpoint()?;
    let info = tls::inspect(&host, port, std::time::Duration::from_secs(10)).await;
    Some(info.map(|info| {
        let status = match camera.tls.as_ref() {
            Some(t) => match t.pin {
                Some(p) if p.to_string() == info.fingerprint => "matches",
                Some(_) => "differs",
                None => "ca-file",
            },
            None => "not-pinned",
        };
        CertificateView {
            config_line: format!("tls = {{ pin = \"{}\" }}", info.fingerprint),
            status: status.into(),
            info,
        }
    }))
}

/// A measured fact or why it could not be measured: `{"ok": …}` or `{"error": "…"}`.
#[derive(Clone, Debug, Serialize, serde::Deserialize, PartialEq)]
#[serde(rename_all = "lowercase")]
pub enum Outcome<T> {
    Ok(T),
    Error(String),
}

impl<T> From<Result<T, Error>> for Outcome<T> {
    fn from(r: Result<T, Error>) -> Self {
        match r {
            Ok(v) => Outcome::Ok(v),
            Err(e) => Outcome::Error(e.to_string()),
        }
    }
}

/// Probes `camera`: device facts, clock offset, recordings, and the plan of `range` when given.
pub async fn probe(camera: &Camera, site_zone: &str, range: Option<TimeRange>) -> Probe {
    let mut probe = Probe {
        camera: camera.id.to_string(),
        name: camera.name.clone(),
        kind: camera.kind(),
        address: camera.address(),
        device: Outcome::Error(String::new()),
        clock_offset: Outcome::Error(String::new()),
        recordings: Outcome::Error(String::new()),
        plan: None,
        link: camera.link(),
        certificate: certificate(camera).await.map(Outcome::from),
    };
    let source = match source(camera, site_zone, std::time::Duration::from_secs(60)) {
        Ok(s) => s,
        Err(e) => {
            let msg = e.to_string();
            probe.device = Outcome::Error(msg.clone());
            probe.clock_offset = Outcome::Error(msg.clone());
            probe.recordings = Outcome::Error(msg.clone());
            probe.plan = range.map(|_| Outcome::Error(msg));
            return probe;
        }
    };
    probe.device = source.describe().await.into();
    probe.clock_offset = source.clock_offset().await.into();
    probe.recordings = source.recordings().await.into();
    if let Some(range) = range {
        probe.plan = Some(source.plan(range).await.into());
    }
    probe
}
