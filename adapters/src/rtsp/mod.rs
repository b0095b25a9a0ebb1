//! scelle's own RTSP/RTSPS client for evidence pulls (RFC 2326 over TCP-interleaved RTP, or
//! over TLS), built on `rtsp-types` and `sdp-types` because replay needs request headers that
//! general clients do not let us send (`Require: onvif-replay`, `Range: clock=`,
//! `Rate-Control: no`) and `rtsps://` with pinned certificates.
//!
//! One call, [`Client::pull`], runs DESCRIBE/SETUP/PLAY, keeps the session alive, depacketizes
//! H.264/H.265/AAC/G.711 into [`crate::AccessUnit`]s, reports packet loss and discontinuities as
//! [`crate::Gap`]s, reconnects after a dropped connection and resumes from the last delivered
//! time without duplicating units, and ends with [`crate::Event::End`].

pub mod aac;
pub mod au;
pub mod auth;
pub mod conn;
pub mod g711;
pub mod h264;
pub mod h265;
pub mod pace;
mod pull;
pub mod rtp;
pub mod sdp;
mod session;
pub mod sps;
mod timeline;
pub mod tls;

use std::time::Duration;

use jiff::Timestamp;
use tokio::sync::mpsc;

pub use auth::Credentials;
pub use tls::TlsTrust;

use crate::{Error, Event, PullSummary};

/// What part of the media to pull.
#[derive(Clone, Debug, PartialEq)]
pub enum Replay {
    /// A plain server's recording by offset (`Range: npt=start-end`, seconds).
    Npt {
        start: Duration,
        end: Option<Duration>,
    },
    /// ONVIF replay by absolute time (`Require: onvif-replay`, `Range: clock=start-end`).
    /// `rate_control: false` sends `Rate-Control: no`: as fast as the device can.
    OnvifClock {
        start: Timestamp,
        end: Timestamp,
        rate_control: bool,
    },
    /// A live stream for a duration on the site server's clock.
    Live { duration: Duration },
}

/// One pull from one camera.
#[derive(Clone, Debug)]
pub struct PullRequest {
    /// The camera's name in scelle's configuration, for errors and logs.
    pub camera: String,
    /// `rtsp://` or `rtsps://` URL; credentials in it are used if `credentials` is `None`, and
    /// never shown.
    pub url: String,
    pub credentials: Option<Credentials>,
    /// Required for `rtsps://`.
    pub tls: Option<TlsTrust>,
    pub mode: Replay,
}

/// Timeouts and reconnection policy.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// Longest wait for the answer to one request (and for the TCP/TLS connection).
    pub request_timeout: Duration,
    /// Longest silence from the server during streaming before the connection is deemed lost.
    pub idle_timeout: Duration,
    /// Reconnections tried in a row after a lost connection (0: report the gap and fail).
    pub reconnect_attempts: u32,
    /// Wait before each reconnection.
    pub reconnect_delay: Duration,
    /// A server offering only Basic authentication may get the password over an unencrypted
    /// connection (a camera entry's `allow_basic`); otherwise such a pull is refused.
    pub basic_in_clear: bool,
    /// Longest a pull may go without a new access unit, reconnections included: past it the
    /// pull fails with [`Error::Stalled`], saying what had arrived.
    pub stall_limit: Duration,
    /// Delivery speed to ask of a server replaying by offset ([`Replay::Npt`], a vendor
    /// playback URL) with RTSP `Speed` (RFC 7826 §18.50): `None` or at most 1.0, real time. The
    /// pull checks, before timing any unit, that the server honours it, how its RTP timestamps
    /// run, and that it keeps every picture; otherwise it goes on at real time and says why
    /// ([`crate::Event::Pace`], decision 0093).
    pub playback_speed: Option<f64>,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            request_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(20),
            reconnect_attempts: 5,
            reconnect_delay: Duration::from_secs(1),
            basic_in_clear: false,
            stall_limit: Duration::from_secs(60),
            playback_speed: None,
        }
    }
}

/// The RTSP client. Cheap to clone; holds only its configuration.
#[derive(Clone, Debug, Default)]
pub struct Client {
    config: ClientConfig,
}

impl Client {
    pub fn new(config: ClientConfig) -> Self {
        Client { config }
    }

    /// Pulls `req` into `tx`: [`Event::Streams`] first, then units and gaps, then
    /// [`Event::End`]. The channel is bounded; a slow consumer slows the pull.
    ///
    /// Errors name the camera, the URL without credentials, the request and the status:
    /// [`Error::Auth`] for refused credentials, [`Error::Tls`] for an untrusted certificate,
    /// [`Error::Status`] for a refusal. If the connection drops for good mid-stream, a
    /// [`crate::GapReason::ConnectionLost`] gap is sent before the error is returned.
    pub async fn pull(
        &self,
        req: PullRequest,
        tx: mpsc::Sender<Event>,
    ) -> Result<PullSummary, Error> {
        pull::Pull::new(&self.config, req, tx)?.run().await
    }
}
