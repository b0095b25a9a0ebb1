//! [`OnvifSource`]: the [`Source`] for a Profile G recorder (or a camera with an SD card):
//! device facts from GetDeviceInformation, the clock from GetSystemDateAndTime, the plan from a
//! recording search, and footage through GetReplayUri + RTSP ONVIF replay.

use std::sync::Arc;

use tokio::sync::{Mutex, mpsc};

use super::client::{OnvifClient, OnvifConfig};
use super::plan;
use super::types::RecordingInformation;
use crate::clock::{Clock, SystemClock, server_to_device};
use crate::credentials::Credentials;
use crate::rtsp::{self, PullRequest, Replay, TlsTrust};
use crate::{
    BoxFuture, ClockOffset, DeviceInfo, Error, Event, Gap, Plan, PullSummary, Source, TimeRange,
};

/// An ONVIF Profile G device as a [`Source`].
pub struct OnvifSource {
    client: OnvifClient,
    /// The camera's name in scelle's configuration, for errors and logs.
    camera: String,
    credentials: Option<Credentials>,
    /// Trust for the device's certificate, used for the replay stream too (`rtsps://`).
    tls: Option<TlsTrust>,
    /// The recording to use; `None` = every recording the device has (one-camera devices).
    recording: Option<String>,
    offset: Mutex<Option<ClockOffset>>,
    rtsp: rtsp::ClientConfig,
}

impl OnvifSource {
    pub fn new(config: OnvifConfig, recording: Option<String>) -> Result<OnvifSource, Error> {
        OnvifSource::with_clock(config, recording, Arc::new(SystemClock))
    }

    pub fn with_clock(
        config: OnvifConfig,
        recording: Option<String>,
        clock: Arc<dyn Clock>,
    ) -> Result<OnvifSource, Error> {
        let credentials = config.credentials.clone();
        let tls = config.tls.clone();
        let client = OnvifClient::with_clock(config, clock)?;
        Ok(OnvifSource {
            camera: client.target().to_string(),
            client,
            credentials,
            tls,
            recording,
            offset: Mutex::new(None),
            rtsp: rtsp::ClientConfig::default(),
        })
    }

    /// Names the camera (as in scelle's configuration) for RTSP errors and logs.
    pub fn with_camera(mut self, camera: impl Into<String>) -> OnvifSource {
        self.camera = camera.into();
        self
    }

    /// RTSP timeouts and reconnection policy for replay pulls.
    pub fn with_rtsp_config(mut self, config: rtsp::ClientConfig) -> OnvifSource {
        self.rtsp = config;
        self
    }

    /// The underlying SOAP client, for probes (profiles, summaries…).
    pub fn client(&self) -> &OnvifClient {
        &self.client
    }

    /// The clock offset, measured once and then reused.
    pub async fn offset(&self) -> Result<ClockOffset, Error> {
        let mut guard = self.offset.lock().await;
        if let Some(o) = *guard {
            return Ok(o);
        }
        let o = self.client.measure_clock().await?;
        *guard = Some(o);
        Ok(o)
    }

    /// The recordings this source covers, with their spans (device clock).
    pub async fn recordings(&self) -> Result<Vec<RecordingInformation>, Error> {
        self.offset().await?;
        self.client
            .search_recordings(self.recording.as_deref())
            .await
    }

    /// The replay URI of the recording covering the range.
    pub async fn replay_uri(&self, range: TimeRange) -> Result<String, Error> {
        let recs = OnvifSource::recordings(self).await?;
        let offset = self.offset().await?;
        self.replay_uri_for(range, &recs, &offset).await
    }

    async fn replay_uri_for(
        &self,
        range: TimeRange,
        recs: &[RecordingInformation],
        offset: &ClockOffset,
    ) -> Result<String, Error> {
        let token = recs
            .iter()
            .find(|r| {
                !plan::plan(range, std::slice::from_ref(r), offset)
                    .recorded
                    .is_empty()
            })
            .or(recs.first())
            .map(|r| r.token.clone())
            .ok_or_else(|| Error::Protocol {
                target: self.client.target().to_string(),
                message: "the device has no recording to replay".into(),
            })?;
        self.client.replay_uri(&token).await
    }
}

impl Source for OnvifSource {
    fn describe(&self) -> BoxFuture<'_, Result<DeviceInfo, Error>> {
        Box::pin(async move {
            self.offset().await?;
            self.client.device_information().await
        })
    }

    fn clock_offset(&self) -> BoxFuture<'_, Result<ClockOffset, Error>> {
        Box::pin(async move {
            let o = self.client.measure_clock().await?;
            *self.offset.lock().await = Some(o);
            Ok(o)
        })
    }

    fn recordings(&self) -> BoxFuture<'_, Result<Vec<crate::Recording>, Error>> {
        Box::pin(async move {
            Ok(OnvifSource::recordings(self)
                .await?
                .into_iter()
                .map(|r| crate::Recording {
                    id: r.token,
                    source: r.source_name,
                    start: r.earliest,
                    end: r.latest,
                    status: r.status,
                    spans: Vec::new(),
                })
                .collect())
        })
    }

    fn plan(&self, range: TimeRange) -> BoxFuture<'_, Result<Plan, Error>> {
        Box::pin(async move {
            let recs = OnvifSource::recordings(self).await?;
            let offset = self.offset().await?;
            Ok(plan::plan(range, &recs, &offset))
        })
    }

    /// Plans the range, asks GetReplayUri, and pulls with RTSP ONVIF replay
    /// (`Range: clock=` on the *device's* clock, `Rate-Control: no`). The planned gaps
    /// (not recorded) are sent right after the first [`Event::Streams`] and listed in the
    /// summary with the gaps the RTSP client found; like the units' times, all of them are on
    /// the device's clock.
    fn pull(
        &self,
        range: TimeRange,
        tx: mpsc::Sender<Event>,
    ) -> BoxFuture<'_, Result<PullSummary, Error>> {
        Box::pin(async move {
            let offset = self.offset().await?;
            let recs = OnvifSource::recordings(self).await?;
            let planned = plan::plan(range, &recs, &offset);
            let uri = self.replay_uri_for(range, &recs, &offset).await?;
            // Ask the device only for what it holds: a replay server refuses a clock range
            // that starts before its recording (GStreamer answers 503); the planned gaps
            // already say what is missing before and after.
            let asked = match (planned.recorded.first(), planned.recorded.last()) {
                (Some(first), Some(last)) => TimeRange {
                    start: first.start.max(range.start),
                    end: last.end.min(range.end),
                },
                _ => range,
            };
            let secure = uri
                .get(..8)
                .is_some_and(|s| s.eq_ignore_ascii_case("rtsps://"));
            if self.tls.is_some() && !secure {
                return Err(Error::Insecure {
                    target: format!("camera {}", self.camera),
                    message: format!(
                        "its link is configured encrypted but the device handed out an \
                         unencrypted replay URI ({}): enable RTSPS on the device",
                        crate::redact_url(&uri)
                    ),
                });
            }
            let request = PullRequest {
                camera: self.camera.clone(),
                url: uri,
                credentials: self.credentials.clone(),
                tls: if secure { self.tls.clone() } else { None },
                mode: Replay::OnvifClock {
                    start: server_to_device(asked.start, &offset),
                    end: server_to_device(asked.end, &offset),
                    rate_control: false,
                },
            };
            let (inner_tx, mut inner_rx) = mpsc::channel(16);
            let client = rtsp::Client::new(self.rtsp.clone());
            let pulling = client.pull(request, inner_tx);
            // Events are on the device's clock, like the units' times; the plan is on the
            // server's.
            let missing: Vec<Gap> = planned
                .missing
                .iter()
                .map(|g| Gap {
                    start: server_to_device(g.start, &offset),
                    end: server_to_device(g.end, &offset),
                    ..g.clone()
                })
                .collect();
            let mut pending = Some(missing.clone());
            let forwarding = async move {
                while let Some(ev) = inner_rx.recv().await {
                    let streams = matches!(ev, Event::Streams(_));
                    if tx.send(ev).await.is_err() {
                        return;
                    }
                    if streams && let Some(gaps) = pending.take() {
                        for g in gaps {
                            if tx.send(Event::Gap(g)).await.is_err() {
                                return;
                            }
                        }
                    }
                }
            };
            let (result, ()) = tokio::join!(pulling, forwarding);
            let mut summary = result?;
            let mut gaps = missing;
            gaps.append(&mut summary.gaps);
            gaps.sort_by_key(|g| g.start);
            summary.gaps = gaps;
            Ok(summary)
        })
    }
}
