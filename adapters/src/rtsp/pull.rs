//! The pull: one or more RTSP sessions (a reconnection resumes where the last one stopped) that
//! turn interleaved RTP into events. Owns the per-stream state that outlives a session (last
//! delivered time, parameter sets announced) and the per-session state (sequence numbers, RTP
//! clock anchor, RTCP mapping), and decides when the requested range is complete.

use std::time::Duration;

use bytes::Bytes;
use jiff::Timestamp;
use rtsp_types::Method;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::au::Frame;
use super::conn::{Connection, Incoming};
use super::pace::{self, Seen};
use super::rtp::{self, RtcpItem};
use super::sdp::{self, Track};
use super::session::{Session, header};
use super::timeline::{self, Unwrapper};
use super::{ClientConfig, PullRequest, Replay, aac, g711, h264, h265, sps};
use crate::media::{AccessUnit, Codec, Event, Gap, GapReason, Pace, StreamInfo};
use crate::{Error, PullSummary, redact_url};

enum Depack {
    H264(h264::Depacketizer),
    H265(h265::Depacketizer),
    Aac(aac::Depacketizer),
    G711(g711::Depacketizer),
}

impl Depack {
    fn new(t: &Track) -> Option<Depack> {
        Some(match t.codec? {
            Codec::H264 => {
                Depack::H264(h264::Depacketizer::new().with_parameter_sets(&t.parameter_sets))
            }
            Codec::H265 => {
                Depack::H265(h265::Depacketizer::new().with_parameter_sets(&t.parameter_sets))
            }
            Codec::Aac => Depack::Aac(aac::Depacketizer::new(t.size_length, t.index_length)),
            Codec::Pcmu | Codec::Pcma => {
                Depack::G711(g711::Depacketizer::new(t.channels.unwrap_or(1)))
            }
        })
    }

    fn push(&mut self, p: &rtp::RtpPacket) -> Result<(), super::au::DepacketizeError> {
        match self {
            Depack::H264(d) => d.push(p),
            Depack::H265(d) => d.push(p),
            Depack::Aac(d) => d.push(p),
            Depack::G711(d) => d.push(p),
        }
    }

    fn pop(&mut self) -> Option<Frame> {
        match self {
            Depack::H264(d) => d.pop(),
            Depack::H265(d) => d.pop(),
            Depack::Aac(d) => d.pop(),
            Depack::G711(d) => d.pop(),
        }
    }

    fn lost(&mut self) {
        match self {
            Depack::H264(d) => d.lost(),
            Depack::H265(d) => d.lost(),
            Depack::Aac(d) => d.lost(),
            Depack::G711(d) => d.lost(),
        }
    }

    fn flush(&mut self) {
        match self {
            Depack::H264(d) => d.flush(),
            Depack::H265(d) => d.flush(),
            Depack::Aac(d) => d.flush(),
            Depack::G711(d) => d.flush(),
        }
    }

    fn parameter_sets(&self) -> Option<Vec<Bytes>> {
        match self {
            Depack::H264(d) => d.parameter_sets(),
            Depack::H265(d) => d.parameter_sets(),
            Depack::Aac(_) | Depack::G711(_) => None,
        }
    }
}

/// One received stream.
struct Stream {
    info: StreamInfo,
    /// `a=control` and encoding, to match tracks again after a reconnection.
    control: Option<String>,
    /// `a=framerate` of the SDP, for the speed check.
    framerate: Option<f64>,
    depack: Depack,
    // Per session:
    rtp_channel: u8,
    rtcp_channel: u8,
    last_seq: Option<u16>,
    unwrap: Unwrapper,
    /// (extended RTP time, position in ticks) that ties this session's RTP clock to the pull.
    anchor: Option<(i64, i64)>,
    /// RTP-Info `rtptime` of this session's PLAY.
    rtptime: Option<u32>,
    /// RTCP sender report: (extended RTP time, absolute time).
    sender_report: Option<(i64, Timestamp)>,
    ended: bool,
    // Across sessions:
    /// Latest presentation time delivered (with B-frames, units come in decode order and their
    /// presentation times go back and forth: this is the highest so far).
    last_pts: Option<i64>,
    /// The last step forward of `last_pts`.
    last_delta: i64,
    last_time: Option<Timestamp>,
    last_pos_ns: Option<i128>,
    /// After a reconnection: units up to this pts were already delivered.
    dedupe_until: Option<i64>,
    resumed: bool,
    pending_gap: Option<GapReason>,
    end_of_section: bool,
    /// A picture shown after the requested end was delivered (see `deliver`).
    closing: bool,
}

impl Stream {
    fn new_session(&mut self) {
        self.last_seq = None;
        self.unwrap.reset();
        self.anchor = None;
        self.rtptime = None;
        self.sender_report = None;
        self.ended = false;
        // Drop whatever unit was half-received when the connection broke.
        self.depack.lost();
        self.depack.flush();
        while self.depack.pop().is_some() {}
    }

    fn add_gap(&mut self, reason: GapReason) {
        self.pending_gap = Some(match (self.pending_gap.take(), reason) {
            (
                Some(GapReason::PacketLoss { lost_packets: a }),
                GapReason::PacketLoss { lost_packets: b },
            ) => GapReason::PacketLoss {
                lost_packets: a.saturating_add(b),
            },
            (Some(old), _) => old,
            (None, r) => r,
        });
    }
}

/// How a session ended.
enum SessionEnd {
    /// The requested range or duration is complete.
    Complete,
    /// A sped-up session failed its check before any unit was timed: pull again at real time.
    RealTime,
}

/// Where a pull stands on speed (decision 0093).
enum Speed {
    /// Real time: none asked for, or given up (the reason was sent as [`Event::Pace`]).
    RealTime,
    /// The server answered `speed`; units are held until [`pace::judge`] has spoken.
    Probing {
        speed: f64,
        held: Vec<Held>,
        started: Instant,
    },
    /// Judged: media time is RTP time × `factor`.
    Fast { speed: f64, factor: f64 },
}

/// A unit held while a sped-up session is judged.
struct Held {
    stream: usize,
    frame: Frame,
    received_at: Timestamp,
    arrived: Instant,
    npt_anchor_ns: Option<i128>,
}

pub(super) struct Pull<'a> {
    config: &'a ClientConfig,
    req: PullRequest,
    /// The URL without credentials.
    url: url::Url,
    target: String,
    tx: mpsc::Sender<Event>,
    streams: Vec<Stream>,
    streams_sent: bool,
    /// Position (ns) of the first delivered unit: pts 0.
    base_ns: Option<i128>,
    /// Server clock at the start of the pull.
    origin: Timestamp,
    origin_instant: Instant,
    summary: PullSummary,
    /// Latest device time (ONVIF replay) of a delivered unit.
    last_device_time: Option<Timestamp>,
    /// When the pull started or last delivered a unit (see [`ClientConfig::stall_limit`]).
    last_unit_at: Instant,
    speed: Speed,
    /// Why a sped-up session must give way to real time, set while judging it.
    slow_down: Option<String>,
}

/// Once replay has delivered up to this close to the requested end, a short silence means the
/// range is done: some servers (GStreamer's ONVIF replay, when the end falls between frames)
/// stop sending at the end without an RTCP BYE.
const END_TOLERANCE: jiff::SignedDuration = jiff::SignedDuration::from_secs(1);
/// The silence that ends a replay which has reached its end (see [`END_TOLERANCE`]).
const END_SILENCE: Duration = Duration::from_secs(2);
/// The same, once every stream's last unit carried the ONVIF E bit (end of a contiguous
/// section, which GStreamer sets on the last unit of the range): more footage would follow a
/// recording gap at once (`Rate-Control: no`), so a short silence is enough.
const END_SILENCE_AFTER_E_BIT: Duration = Duration::from_millis(300);

/// How long a replay may stay silent before the pull ends: the idle timeout, or, once the
/// units have reached the requested end, [`END_SILENCE`] ([`END_SILENCE_AFTER_E_BIT`] when
/// every stream's last unit closed its section).
fn allowed_silence(idle_timeout: Duration, reached_end: bool, sections_closed: bool) -> Duration {
    match (reached_end, sections_closed) {
        (false, _) => idle_timeout,
        (true, false) => idle_timeout.min(END_SILENCE),
        (true, true) => idle_timeout.min(END_SILENCE_AFTER_E_BIT),
    }
}

fn now() -> Timestamp {
    Timestamp::now()
}

impl<'a> Pull<'a> {
    pub(super) fn new(
        config: &'a ClientConfig,
        mut req: PullRequest,
        tx: mpsc::Sender<Event>,
    ) -> Result<Self, Error> {
        let shown = redact_url(&req.url);
        let target = if req.camera.is_empty() {
            shown.clone()
        } else {
            format!("camera {} ({shown})", req.camera)
        };
        let mut url = url::Url::parse(&req.url).map_err(|e| Error::Protocol {
            target: target.clone(),
            message: format!("invalid URL: {e}"),
        })?;
        if !matches!(url.scheme().to_ascii_lowercase().as_str(), "rtsp" | "rtsps") {
            return Err(Error::Unsupported {
                what: format!("URL scheme {}", url.scheme()),
                why: "only rtsp:// and rtsps:// are pulled by the RTSP client".into(),
            });
        }
        if req.credentials.is_none() && !url.username().is_empty() {
            let dec = |s: &str| {
                url::form_urlencoded::parse(format!("x={s}").as_bytes())
                    .next()
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_default()
            };
            req.credentials = Some(super::Credentials::new(
                dec(url.username()),
                dec(url.password().unwrap_or("")),
            ));
        }
        let _ = url.set_username("");
        let _ = url.set_password(None);
        Ok(Pull {
            config,
            req,
            url,
            target,
            tx,
            streams: Vec::new(),
            streams_sent: false,
            base_ns: None,
            origin: now(),
            origin_instant: Instant::now(),
            summary: PullSummary::default(),
            last_device_time: None,
            last_unit_at: Instant::now(),
            speed: Speed::RealTime,
            slow_down: None,
        })
    }

    /// Runs sessions until the range is complete, reconnecting after a lost connection.
    pub(super) async fn run(mut self) -> Result<PullSummary, Error> {
        let mut attempts = 0;
        let mut asked = self.requested_speed();
        loop {
            let before = self.summary.units;
            let result = self.run_once(asked.take()).await;
            match result {
                Ok(SessionEnd::Complete) => {
                    self.send(Event::End).await?;
                    return Ok(self.summary);
                }
                Ok(SessionEnd::RealTime) => {
                    let note = self.slow_down.take().unwrap_or_default();
                    tracing::info!(target_url = %self.target, reason = %note,
                        "playback speed-up refused; pulling again at real time");
                    self.speed = Speed::RealTime;
                    for s in &mut self.streams {
                        s.new_session();
                    }
                    self.send(Event::Pace(Pace {
                        speed: 1.0,
                        note: Some(note),
                    }))
                    .await?;
                }
                Err(e) => {
                    let delivered = self.summary.units > 0;
                    if self.summary.units > before {
                        attempts = 0;
                    }
                    let stalled = self.last_unit_at.elapsed() + self.config.reconnect_delay
                        >= self.config.stall_limit;
                    let retry = delivered
                        && !stalled
                        && attempts < self.config.reconnect_attempts
                        && matches!(
                            e,
                            Error::Io { .. } | Error::Timeout { .. } | Error::Connect { .. }
                        );
                    if retry {
                        attempts += 1;
                        // A sped-up pull resumes at the speed it was judged at.
                        if let Speed::Fast { speed, .. } = self.speed {
                            asked = Some(speed);
                        }
                        tracing::warn!(target_url = %self.target, error = %e, attempt = attempts,
                            "RTSP connection lost; reconnecting to resume");
                        tokio::time::sleep(self.config.reconnect_delay).await;
                        for s in &mut self.streams {
                            s.new_session();
                            s.dedupe_until = s.last_pts;
                            s.resumed = true;
                        }
                        continue;
                    }
                    let e = if matches!(e, Error::Timeout { .. } | Error::Io { .. }) && stalled {
                        self.stalled()
                    } else {
                        e
                    };
                    if delivered && !matches!(e, Error::Abandoned { .. }) {
                        let start = self
                            .streams
                            .iter()
                            .filter_map(|s| s.last_time)
                            .max()
                            .unwrap_or(self.origin);
                        let end = self.requested_end().unwrap_or_else(now).max(start);
                        let gap = Gap {
                            stream: None,
                            start,
                            end,
                            reason: GapReason::ConnectionLost,
                        };
                        self.summary.gaps.push(gap.clone());
                        let _ = self.tx.send(Event::Gap(gap)).await;
                    }
                    return Err(e);
                }
            }
        }
    }

    /// The speed to ask for: the configured one, for replays by offset.
    fn requested_speed(&self) -> Option<f64> {
        let speed = self.config.playback_speed?;
        (matches!(self.req.mode, Replay::Npt { .. }) && speed >= pace::MIN_SPEED)
            .then_some(speed.min(pace::MAX_SPEED))
    }

    /// The error of a pull silent for [`ClientConfig::stall_limit`], saying what arrived.
    fn stalled(&self) -> Error {
        let first = self.base_ns.unwrap_or(0);
        let reached = self
            .streams
            .iter()
            .filter_map(|s| s.last_pos_ns)
            .max()
            .map_or(0.0, |l| (l - first) as f64 / 1e9);
        let received = if self.summary.units == 0 {
            "no media at all".to_owned()
        } else {
            format!(
                "{} units ({} bytes, {reached:.1} s of footage)",
                self.summary.units, self.summary.bytes
            )
        };
        Error::Stalled {
            target: self.target.clone(),
            silent_secs: self.last_unit_at.elapsed().as_secs(),
            received,
        }
    }

    /// The absolute end of the request when it has one.
    /// An ONVIF replay whose units have come within [`END_TOLERANCE`] of the requested end.
    fn reached_end(&self) -> bool {
        match (&self.req.mode, self.last_device_time) {
            (Replay::OnvifClock { end, .. }, Some(t)) => t >= *end - END_TOLERANCE,
            _ => false,
        }
    }

    fn requested_end(&self) -> Option<Timestamp> {
        match self.req.mode {
            Replay::OnvifClock { end, .. } => Some(end),
            Replay::Live { duration } => {
                Some(timeline::add_ns(self.origin, duration.as_nanos() as i128))
            }
            Replay::Npt { .. } => None,
        }
    }

    async fn send(&self, ev: Event) -> Result<(), Error> {
        self.tx.send(ev).await.map_err(|_| Error::Abandoned {
            target: self.target.clone(),
        })
    }

    fn onvif(&self) -> bool {
        matches!(self.req.mode, Replay::OnvifClock { .. })
    }

    /// Where to (re)start, as the PLAY `Range` header.
    fn play_range(&self) -> Option<String> {
        let resume_ns = self.streams.iter().filter_map(|s| s.last_pos_ns).max();
        match &self.req.mode {
            Replay::Npt { start, end } => {
                let from = match resume_ns {
                    Some(ns) => ns as f64 / 1e9,
                    None => start.as_secs_f64(),
                };
                let to = end
                    .map(|e| format!("{:.3}", e.as_secs_f64()))
                    .unwrap_or_default();
                Some(format!("npt={from:.3}-{to}"))
            }
            Replay::OnvifClock { start, end, .. } => {
                let from = match resume_ns {
                    Some(ns) => timeline::add_ns(*start, ns),
                    None => *start,
                };
                Some(format!(
                    "clock={}-{}",
                    timeline::clock_format(from),
                    timeline::clock_format(*end)
                ))
            }
            Replay::Live { .. } => None,
        }
    }

    async fn connect(&self, url: &url::Url) -> Result<Session, Error> {
        let conn = Connection::connect(
            url,
            self.req.tls.as_ref(),
            &self.target,
            self.config.request_timeout,
        )
        .await?;
        Ok(Session::new(
            conn,
            self.target.clone(),
            self.req.credentials.clone(),
            self.config.basic_in_clear,
            self.config.request_timeout,
        ))
    }

    /// DESCRIBE, following redirects.
    async fn describe(&self) -> Result<(Session, String, sdp::Description), Error> {
        let mut url = self.url.clone();
        for _ in 0..4 {
            let mut session = self.connect(&url).await?;
            let mut extra = vec![("Accept", "application/sdp".to_string())];
            if self.onvif() {
                extra.push(("Require", "onvif-replay".into()));
            }
            let resp = session
                .request(Method::Describe, url.as_str(), &extra)
                .await?;
            let status = u16::from(resp.status());
            if (300..400).contains(&status) {
                let loc = header(&resp, "Location").ok_or_else(|| Error::Status {
                    target: self.target.clone(),
                    method: "DESCRIBE".into(),
                    status,
                    reason: "redirect without Location".into(),
                })?;
                url = url::Url::parse(loc.trim()).map_err(|e| Error::Protocol {
                    target: self.target.clone(),
                    message: format!("invalid redirect: {e}"),
                })?;
                let _ = url.set_username("");
                let _ = url.set_password(None);
                tracing::info!(target_url = %self.target, to = %redact_url(url.as_str()), "RTSP redirect");
                continue;
            }
            let desc = sdp::parse(resp.body()).map_err(|e| Error::Protocol {
                target: self.target.clone(),
                message: e.to_string(),
            })?;
            let base = header(&resp, "Content-Base")
                .or_else(|| header(&resp, "Content-Location"))
                .map(|b| b.trim().to_string())
                .unwrap_or_else(|| url.to_string());
            let base = match desc.control.as_deref() {
                Some(c) if c != "*" => sdp::resolve_control(&base, Some(c)),
                _ => base,
            };
            return Ok((session, base, desc));
        }
        Err(Error::Protocol {
            target: self.target.clone(),
            message: "too many redirects".into(),
        })
    }

    /// One session from DESCRIBE to the end of the range (or an error).
    async fn run_once(&mut self, speed: Option<f64>) -> Result<SessionEnd, Error> {
        let (mut session, base, desc) = self.describe().await?;
        let tracks: Vec<&Track> = desc.tracks.iter().filter(|t| t.codec.is_some()).collect();
        if tracks.len() > 32 {
            return Err(Error::Unsupported {
                what: format!("the media of {}", self.target),
                why: format!("{} tracks in its SDP (at most 32)", tracks.len()),
            });
        }
        if tracks.is_empty() {
            return Err(Error::Unsupported {
                what: format!("the media of {}", self.target),
                why: "no H.264, H.265, AAC or G.711 track in its SDP".into(),
            });
        }
        if self.streams.is_empty() {
            for (index, t) in tracks.iter().enumerate() {
                let Some(depack) = Depack::new(t) else {
                    continue;
                };
                let video = t.codec.is_some_and(Codec::is_video);
                let codec = t.codec.unwrap_or(Codec::H264);
                let sets = if video {
                    depack
                        .parameter_sets()
                        .unwrap_or_else(|| t.parameter_sets.clone())
                } else {
                    Vec::new()
                };
                let size = sps::size(codec, &sets);
                self.streams.push(Stream {
                    info: StreamInfo {
                        index,
                        codec,
                        clock_rate: t.clock_rate.max(1),
                        parameter_sets: sets,
                        audio_config: t.audio_config.clone(),
                        width: size.map(|s| s.0),
                        height: size.map(|s| s.1),
                        sample_rate: (!video).then_some(t.clock_rate),
                        channels: if video {
                            None
                        } else {
                            Some(t.channels.unwrap_or(1))
                        },
                    },
                    control: t.control.clone(),
                    framerate: t.framerate,
                    depack,
                    rtp_channel: (2 * index) as u8,
                    rtcp_channel: (2 * index + 1) as u8,
                    last_seq: None,
                    unwrap: Unwrapper::default(),
                    anchor: None,
                    rtptime: None,
                    sender_report: None,
                    ended: false,
                    last_pts: None,
                    last_delta: 0,
                    last_time: None,
                    last_pos_ns: None,
                    dedupe_until: None,
                    resumed: false,
                    pending_gap: None,
                    end_of_section: false,
                    closing: false,
                });
            }
        } else if tracks.len() != self.streams.len()
            || tracks
                .iter()
                .zip(&self.streams)
                .any(|(t, s)| t.codec != Some(s.info.codec) || t.control != s.control)
        {
            return Err(Error::Protocol {
                target: self.target.clone(),
                message: "the tracks changed after reconnecting; cannot resume".into(),
            });
        }

        // SETUP each track on its own pair of interleaved channels.
        let mut controls = Vec::new();
        for (i, t) in tracks.iter().enumerate() {
            let control = sdp::resolve_control(&base, t.control.as_deref());
            let mut extra = vec![(
                "Transport",
                format!("RTP/AVP/TCP;unicast;interleaved={}-{}", 2 * i, 2 * i + 1),
            )];
            if self.onvif() {
                extra.push(("Require", "onvif-replay".into()));
            }
            let resp = session.request(Method::Setup, &control, &extra).await?;
            if let Some(tr) = header(&resp, "Transport")
                && let Some(v) = tr
                    .split(';')
                    .find_map(|p| p.trim().strip_prefix("interleaved="))
            {
                let mut ch = v.split('-').filter_map(|c| c.trim().parse::<u8>().ok());
                if let Some(a) = ch.next() {
                    self.streams[i].rtp_channel = a;
                    self.streams[i].rtcp_channel = ch.next().unwrap_or(a.wrapping_add(1));
                }
            }
            controls.push(control);
        }

        if !self.streams_sent {
            self.send(Event::Streams(self.infos())).await?;
            self.streams_sent = true;
        }

        // PLAY.
        let mut extra = Vec::new();
        if let Some(r) = self.play_range() {
            extra.push(("Range", r));
        }
        if let Replay::OnvifClock { rate_control, .. } = self.req.mode {
            extra.push(("Require", "onvif-replay".into()));
            if !rate_control {
                extra.push(("Rate-Control", "no".into()));
            }
        }
        if let Some(s) = speed {
            extra.push(("Speed", format!("{s:.3}")));
        }
        // Aggregate control: PLAY the session's base URL, which every server accepts.
        let resp = session.request(Method::Play, &base, &extra).await?;
        if let Some(asked) = speed {
            self.answered(asked, header(&resp, "Speed").as_deref())
                .await?;
        }
        let npt_start = header(&resp, "Range")
            .as_deref()
            .and_then(timeline::npt_start)
            .or(match &self.req.mode {
                Replay::Npt { start, .. } => Some(start.as_secs_f64()),
                _ => None,
            });
        if let Some(info) = header(&resp, "RTP-Info") {
            for (i, entry) in info.split(',').enumerate() {
                let mut url = None;
                let mut rtptime = None;
                for p in entry.split(';') {
                    let p = p.trim();
                    if let Some(u) = p.strip_prefix("url=") {
                        url = Some(u.to_string());
                    } else if let Some(t) = p.strip_prefix("rtptime=") {
                        rtptime = t.parse::<u32>().ok();
                    }
                }
                let idx = url
                    .as_deref()
                    .filter(|u| !u.is_empty())
                    .and_then(|u| {
                        controls
                            .iter()
                            .position(|c| c == u || c.ends_with(u) || u.ends_with(c.as_str()))
                    })
                    .unwrap_or(i);
                if let Some(s) = self.streams.get_mut(idx) {
                    s.rtptime = rtptime;
                }
            }
        }
        // ONVIF replay: a stream without the replay extension (GStreamer's audio) is placed by
        // its RTP-Info `rtptime`, which marks where this PLAY started from.
        let npt_anchor_ns = match &self.req.mode {
            Replay::OnvifClock { .. } => Some(
                self.streams
                    .iter()
                    .filter_map(|s| s.last_pos_ns)
                    .max()
                    .unwrap_or(0),
            ),
            _ => npt_start.map(|s| (s * 1e9).round() as i128),
        };
        let keepalive_every = session.timeout / 2;
        let mut next_keepalive = Instant::now() + keepalive_every;

        // Data that came with the answers first, then the stream.
        while let Some((ch, payload)) = session.early_data.pop_front() {
            if self.on_data(ch, payload, npt_anchor_ns).await? {
                return self.finish(&mut session, &base).await;
            }
            if self.slow_down.is_some() {
                return Ok(Self::give_way(&mut session, &base).await);
            }
        }
        let live_end = match self.req.mode {
            Replay::Live { duration } => Some(self.origin_instant + duration),
            _ => None,
        };
        let mut last_data = Instant::now();
        loop {
            let idle = allowed_silence(
                self.config.idle_timeout,
                self.reached_end(),
                self.streams.iter().all(|s| s.end_of_section),
            )
            .min(
                last_data.elapsed()
                    + self
                        .config
                        .stall_limit
                        .saturating_sub(self.last_unit_at.elapsed()),
            );
            let mut wake = next_keepalive.min(last_data + idle);
            if let Some(e) = live_end {
                wake = wake.min(e);
            }
            match tokio::time::timeout_at(wake, session.conn.next()).await {
                Err(_) => {
                    if live_end.is_some_and(|e| Instant::now() >= e) {
                        return self.finish(&mut session, &base).await;
                    }
                    if Instant::now() >= last_data + idle {
                        if self.reached_end() {
                            tracing::debug!(target_url = %self.target, silence_ms = idle.as_millis() as u64,
                                "replay reached its end without RTCP BYE; done");
                            return self.finish(&mut session, &base).await;
                        }
                        return Err(Error::Timeout {
                            target: self.target.clone(),
                            what: "media data".into(),
                        });
                    }
                }
                Ok(Err(e)) => return Err(e),
                Ok(Ok(None)) => {
                    if self.streams.iter().all(|s| s.ended) {
                        return self.finish(&mut session, &base).await;
                    }
                    return Err(Error::Io {
                        target: self.target.clone(),
                        message: "the server closed the connection mid-stream".into(),
                        source: std::io::ErrorKind::UnexpectedEof.into(),
                    });
                }
                Ok(Ok(Some(Incoming::Data { channel, payload }))) => {
                    // Only media counts as life: a server keeps sending RTCP sender reports
                    // on a stalled stream, and those must not hold the idle timeout off.
                    if self.streams.iter().any(|s| s.rtp_channel == channel) {
                        last_data = Instant::now();
                    }
                    if self.on_data(channel, payload, npt_anchor_ns).await? {
                        return self.finish(&mut session, &base).await;
                    }
                    if self.slow_down.is_some() {
                        return Ok(Self::give_way(&mut session, &base).await);
                    }
                    if live_end.is_some_and(|e| Instant::now() >= e) {
                        return self.finish(&mut session, &base).await;
                    }
                }
                Ok(Ok(Some(Incoming::Response(r)))) => {
                    let status = u16::from(r.status());
                    if !(200..300).contains(&status) {
                        tracing::debug!(target_url = %self.target, status, "keep-alive answered with an error");
                    }
                }
                Ok(Ok(Some(Incoming::Request(m)))) => {
                    let m: &str = (&m).into();
                    tracing::debug!(target_url = %self.target, method = m, "ignoring a request from the server");
                }
            }
            if Instant::now() >= next_keepalive {
                session
                    .send(Method::GetParameter, base.as_str(), &[])
                    .await?;
                next_keepalive = Instant::now() + keepalive_every;
            }
        }
    }

    fn infos(&self) -> Vec<StreamInfo> {
        self.streams.iter().map(|s| s.info.clone()).collect()
    }

    /// Flushes what is left, says goodbye (best effort) and reports completion.
    async fn finish(&mut self, session: &mut Session, base: &str) -> Result<SessionEnd, Error> {
        for i in 0..self.streams.len() {
            if !self.streams[i].ended {
                // The range or duration ended: a unit still open is complete only if its
                // marker arrived, so nothing is flushed here.
                continue;
            }
            self.streams[i].depack.flush();
            while let Some(f) = self.streams[i].depack.pop() {
                self.take(i, f, now(), None).await?;
            }
        }
        if matches!(self.speed, Speed::Probing { .. }) {
            // The whole range came before the judging time: judge it whole.
            self.judge(true).await?;
            if self.slow_down.is_some() {
                return Ok(Self::give_way(session, base).await);
            }
        }
        let teardown = session.send(Method::Teardown, base, &[]);
        let _ = tokio::time::timeout(Duration::from_secs(2), teardown).await;
        Ok(SessionEnd::Complete)
    }

    /// Handles one interleaved frame; true when the pull is complete.
    async fn on_data(
        &mut self,
        channel: u8,
        payload: Bytes,
        npt_anchor_ns: Option<i128>,
    ) -> Result<bool, Error> {
        let received_at = now();
        let Some(i) = self
            .streams
            .iter()
            .position(|s| s.rtp_channel == channel || s.rtcp_channel == channel)
        else {
            return Ok(false);
        };
        if self.streams[i].rtcp_channel == channel && self.streams[i].rtp_channel != channel {
            for item in rtp::parse_rtcp(&payload) {
                let s = &mut self.streams[i];
                match item {
                    RtcpItem::SenderReport { ntp, rtp: ts, .. } => {
                        if let Some(t) = rtp::ntp_to_timestamp(ntp) {
                            s.sender_report = Some((s.unwrap.peek(ts), t));
                        }
                    }
                    RtcpItem::Bye => {
                        s.ended = true;
                        s.depack.flush();
                        while let Some(f) = self.streams[i].depack.pop() {
                            self.take(i, f, received_at, npt_anchor_ns).await?;
                        }
                    }
                }
            }
            return Ok(self.streams.iter().all(|s| s.ended));
        }
        if self.streams[i].ended {
            return Ok(self.streams.iter().all(|s| s.ended));
        }
        let pkt = match rtp::parse_rtp(payload) {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(target_url = %self.target, error = %e, "dropping a malformed RTP packet");
                let s = &mut self.streams[i];
                s.depack.lost();
                s.add_gap(GapReason::PacketLoss { lost_packets: 1 });
                return Ok(false);
            }
        };
        {
            let s = &mut self.streams[i];
            if let Some(last) = s.last_seq {
                let step = pkt.sequence.wrapping_sub(last);
                if step == 0 || step >= 0x8000 {
                    // Duplicate or late packet: already accounted for.
                    return Ok(false);
                }
                if step > 1 {
                    s.depack.lost();
                    s.add_gap(GapReason::PacketLoss {
                        lost_packets: u32::from(step - 1),
                    });
                }
            }
            s.last_seq = Some(pkt.sequence);
            if let Err(e) = s.depack.push(&pkt) {
                tracing::warn!(target_url = %self.target, error = %e, "dropping a damaged access unit");
                s.add_gap(GapReason::PacketLoss { lost_packets: 0 });
            }
        }
        while let Some(f) = self.streams[i].depack.pop() {
            self.take(i, f, received_at, npt_anchor_ns).await?;
        }
        Ok(self.streams.iter().all(|s| s.ended))
    }

    /// Delivers a unit, or holds it while a sped-up session is judged.
    async fn take(
        &mut self,
        i: usize,
        f: Frame,
        received_at: Timestamp,
        npt_anchor_ns: Option<i128>,
    ) -> Result<(), Error> {
        let Speed::Probing { held, .. } = &mut self.speed else {
            return self.deliver(i, f, received_at, npt_anchor_ns).await;
        };
        if self.slow_down.is_some() {
            return Ok(());
        }
        held.push(Held {
            stream: i,
            frame: f,
            received_at,
            arrived: Instant::now(),
            npt_anchor_ns,
        });
        // A server racing far past the speed asked must not fill memory: judge at once.
        let full = held.iter().map(|h| h.frame.data.len()).sum::<usize>() > pace::MAX_HELD_BYTES;
        let video = self.streams.iter().position(|s| s.info.codec.is_video());
        let seen = self.seen(video);
        if full || pace::ready(&seen) {
            self.judge(false).await?;
        }
        Ok(())
    }

    /// The held pictures of stream `video`, as [`pace::judge`] sees them.
    fn seen(&self, video: Option<usize>) -> Vec<Seen> {
        let Speed::Probing { held, started, .. } = &self.speed else {
            return Vec::new();
        };
        held.iter()
            .filter(|h| Some(h.stream) == video)
            .map(|h| Seen {
                timestamp: h.frame.timestamp,
                arrived: h.arrived.duration_since(*started).as_secs_f64(),
                keyframe: h.frame.keyframe,
            })
            .collect()
    }

    /// Judges a sped-up session on what it holds: goes on fast and delivers the held units, or
    /// sets [`Pull::slow_down`].
    async fn judge(&mut self, complete: bool) -> Result<(), Error> {
        let video = self.streams.iter().position(|s| s.info.codec.is_video());
        let seen = self.seen(video);
        let Speed::Probing { speed, .. } = self.speed else {
            return Ok(());
        };
        let stream = video.map(|v| &self.streams[v]);
        let requested_secs = match &self.req.mode {
            Replay::Npt {
                start,
                end: Some(end),
            } => Some(end.saturating_sub(*start).as_secs_f64()),
            _ => None,
        };
        let verdict = match stream {
            None => Err("no video stream to check the speed with".to_string()),
            Some(s) => pace::judge(&pace::Probe {
                speed,
                pictures: &seen,
                clock_rate: s.info.clock_rate,
                // The SDP's, else the SPS's VUI timing.
                framerate: s.framerate.or_else(|| {
                    sps::facts(s.info.codec, &s.info.parameter_sets).and_then(|f| f.frame_rate())
                }),
                requested_secs,
                complete,
            }),
        };
        match verdict {
            Err(why) => {
                self.slow_down = Some(format!(
                    "real time: the server accepted Speed {speed} but {why}"
                ));
                Ok(())
            }
            Ok(factor) => {
                tracing::info!(target_url = %self.target, speed, factor,
                    "playback sped up: RTP time × {factor} is media time");
                let held = match std::mem::replace(&mut self.speed, Speed::Fast { speed, factor }) {
                    Speed::Probing { held, .. } => held,
                    _ => Vec::new(),
                };
                self.send(Event::Pace(Pace { speed, note: None })).await?;
                for h in held {
                    self.deliver(h.stream, h.frame, h.received_at, h.npt_anchor_ns)
                        .await?;
                }
                Ok(())
            }
        }
    }

    /// Reads the server's `Speed` answer to a PLAY that asked for `asked`.
    async fn answered(&mut self, asked: f64, answer: Option<&str>) -> Result<(), Error> {
        let got = answer.and_then(pace::answered_speed);
        let note = match got {
            Some(s) if s >= pace::MIN_SPEED => {
                if let Speed::Fast { speed, .. } = self.speed
                    && (speed - s).abs() < 1e-3
                {
                    // A resumed session: the same server, judged already.
                    return Ok(());
                }
                self.speed = Speed::Probing {
                    speed: s,
                    held: Vec::new(),
                    started: Instant::now(),
                };
                return Ok(());
            }
            Some(s) => format!("real time: the server answered Speed {s} to Speed {asked}"),
            None => format!("real time: the server did not accept Speed {asked}"),
        };
        if matches!(self.speed, Speed::Fast { .. }) {
            // A resumed session no longer sped up: the times stay right, only slower.
            self.speed = Speed::RealTime;
        }
        self.send(Event::Pace(Pace {
            speed: 1.0,
            note: Some(note),
        }))
        .await
    }

    /// Ends a sped-up session that failed its check (best-effort TEARDOWN).
    async fn give_way(session: &mut Session, base: &str) -> SessionEnd {
        let teardown = session.send(Method::Teardown, base, &[]);
        let _ = tokio::time::timeout(Duration::from_secs(2), teardown).await;
        SessionEnd::RealTime
    }

    /// Times one access unit and sends it (with any pending gap or new parameters first).
    async fn deliver(
        &mut self,
        i: usize,
        f: Frame,
        received_at: Timestamp,
        npt_anchor_ns: Option<i128>,
    ) -> Result<(), Error> {
        let mode = self.req.mode.clone();
        let origin = self.origin;
        let s = &mut self.streams[i];
        let rate = s.info.clock_rate;
        if s.anchor.is_none()
            && let Some(rt) = s.rtptime
        {
            s.unwrap.unwrap(rt);
        }
        let ext = s.unwrap.unwrap(f.timestamp);
        let onvif_time = f.onvif.and_then(|o| rtp::ntp_to_timestamp(o.ntp));
        // Sped up, a sender report's NTP time is when the server sent, not when it filmed.
        let factor = match self.speed {
            Speed::Fast { factor, .. } => Some(factor),
            _ => None,
        };
        let device_time = onvif_time.or_else(|| {
            s.sender_report
                .filter(|_| factor.is_none())
                .map(|(sr_ext, t)| timeline::add_ns(t, timeline::ticks_to_ns(ext - sr_ext, rate)))
        });
        // RTP time to media time (decision 0093): 1:1 but for a server stamping at the
        // delivery rate.
        let media = |ticks: i64| match factor {
            Some(k) if k != 1.0 => (ticks as f64 * k).round() as i64,
            _ => ticks,
        };
        // Position in ticks on the pull's reference (npt 0, the ONVIF start, or the pull start).
        let pos = match (&mode, onvif_time) {
            (Replay::OnvifClock { start, .. }, Some(t)) => {
                let p = timeline::ns_to_ticks(timeline::nanos_between(*start, t), rate);
                s.anchor = Some((ext, p));
                p
            }
            _ => {
                let (a_ext, a_pos) =
                    *s.anchor
                        .get_or_insert_with(|| match (&mode, npt_anchor_ns) {
                            (Replay::Npt { .. }, Some(ns))
                            | (Replay::OnvifClock { .. }, Some(ns))
                                if s.rtptime.is_some() || matches!(mode, Replay::Npt { .. }) =>
                            {
                                (
                                    s.rtptime.map(|r| s.unwrap.peek(r)).unwrap_or(ext),
                                    timeline::ns_to_ticks(ns, rate),
                                )
                            }
                            _ => (
                                ext,
                                timeline::ns_to_ticks(
                                    timeline::nanos_between(origin, received_at),
                                    rate,
                                ),
                            ),
                        });
                a_pos + media(ext - a_ext)
            }
        };
        let pos_ns = timeline::ticks_to_ns(pos, rate);
        let past_end = match &mode {
            Replay::Npt { end: Some(end), .. } => pos_ns >= end.as_nanos() as i128,
            Replay::OnvifClock { start, end, .. } => {
                pos_ns >= timeline::nanos_between(*start, *end)
            }
            _ => false,
        };
        if past_end {
            // Units come in decode order: pictures shown before the end may follow the first
            // one shown after it, and reference it. That one is kept, and the stream ends at
            // the next one shown after the end.
            let video = s.info.codec.is_video();
            if s.closing || !video {
                s.ended = true;
                return Ok(());
            }
            s.closing = true;
        }
        let base_ns = *self.base_ns.get_or_insert(pos_ns);
        let s = &mut self.streams[i];
        let pts = pos - timeline::ns_to_ticks(base_ns, rate);
        if let Some(d) = s.dedupe_until {
            if pts <= d {
                return Ok(());
            }
            s.dedupe_until = None;
        }
        if let Some(o) = f.onvif {
            if (o.discontinuity || s.end_of_section) && s.last_pts.is_some() {
                s.add_gap(GapReason::Discontinuity);
            }
            s.end_of_section = o.end_of_section;
            if o.terminal {
                s.ended = true;
            }
        }
        if let Some(t) = device_time {
            self.last_device_time = Some(self.last_device_time.map_or(t, |l| l.max(t)));
        }
        let time = device_time.unwrap_or(received_at);
        if s.resumed {
            s.resumed = false;
            if let Some(last) = s.last_pts
                && s.last_delta > 0
                && pts - last > 2 * s.last_delta
            {
                s.add_gap(GapReason::ConnectionLost);
            }
        }
        let new_params = f.new_parameters
            && s.depack
                .parameter_sets()
                .is_some_and(|p| p != s.info.parameter_sets);
        if new_params {
            s.info.parameter_sets = s.depack.parameter_sets().unwrap_or_default();
            if let Some((w, h)) = sps::size(s.info.codec, &s.info.parameter_sets) {
                s.info.width = Some(w);
                s.info.height = Some(h);
            }
        }
        let gap = s.pending_gap.take().map(|reason| Gap {
            stream: Some(i),
            start: s.last_time.unwrap_or(time).min(time),
            end: time,
            reason,
        });
        if let Some(last) = s.last_pts
            && pts > last
        {
            s.last_delta = pts - last;
        }
        if s.last_pts.is_none_or(|last| pts > last) {
            s.last_pts = Some(pts);
            s.last_time = Some(time);
            s.last_pos_ns = Some(pos_ns);
        }
        let unit = AccessUnit {
            stream: i,
            pts,
            // RTP carries presentation times only; the writer derives decode times.
            dts: None,
            device_time,
            received_at,
            keyframe: f.keyframe,
            data: f.data,
        };
        if new_params {
            self.send(Event::Streams(self.infos())).await?;
        }
        if let Some(g) = gap {
            self.summary.gaps.push(g.clone());
            self.send(Event::Gap(g)).await?;
        }
        self.summary.units += 1;
        self.summary.bytes += unit.data.len() as u64;
        self.last_unit_at = Instant::now();
        self.send(Event::Unit(unit)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replay_waits_its_idle_timeout_until_it_reaches_the_end() {
        let idle = Duration::from_secs(10);
        assert_eq!(allowed_silence(idle, false, false), idle);
        assert_eq!(allowed_silence(idle, false, true), idle);
        assert_eq!(allowed_silence(idle, true, false), END_SILENCE);
        assert_eq!(allowed_silence(idle, true, true), END_SILENCE_AFTER_E_BIT);
        let short = Duration::from_millis(100);
        assert_eq!(allowed_silence(short, true, false), short);
    }
}
