//! [`OnvifSource`]: the [`Source`] for a Profile G recorder (or a camera with an SD card):
//! device facts from GetDeviceInformation, the clock from GetSystemDateAndTime, the plan from a
//! recording search, and footage through GetReplayUri + RTSP ONVIF replay.

use std::sync::Arc;

use tokio::sync::{Mutex, mpsc};

use super::client::{OnvifClient, OnvifConfig};
use super::plan;
use super::types::RecordingInformation;
use crate::clock::Clock;
use crate::{
    BoxFuture, ClockOffset, DeviceInfo, Error, Event, Plan, PullSummary, Source, TimeRange,
};

/// An ONVIF Profile G device as a [`Source`].
pub struct OnvifSource {
    client: OnvifClient,
    /// The recording to use; `None` = every recording the device has (one-camera devices).
    recording: Option<String>,
    offset: Mutex<Option<ClockOffset>>,
}

impl OnvifSource {
    pub fn new(config: OnvifConfig, recording: Option<String>) -> Result<OnvifSource, Error> {
        Ok(OnvifSource {
            client: OnvifClient::new(config)?,
            recording,
            offset: Mutex::new(None),
        })
    }

    pub fn with_clock(
        config: OnvifConfig,
        recording: Option<String>,
        clock: Arc<dyn Clock>,
    ) -> Result<OnvifSource, Error> {
        Ok(OnvifSource {
            client: OnvifClient::with_clock(config, clock)?,
            recording,
            offset: Mutex::new(None),
        })
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
        let recs = self.recordings().await?;
        let offset = self.offset().await?;
        let token = recs
            .iter()
            .find(|r| {
                !plan::plan(range, std::slice::from_ref(r), &offset)
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

    fn plan(&self, range: TimeRange) -> BoxFuture<'_, Result<Plan, Error>> {
        Box::pin(async move {
            let recs = self.recordings().await?;
            let offset = self.offset().await?;
            Ok(plan::plan(range, &recs, &offset))
        })
    }

    fn pull(
        &self,
        _range: TimeRange,
        _tx: mpsc::Sender<Event>,
    ) -> BoxFuture<'_, Result<PullSummary, Error>> {
        Box::pin(async move {
            Err(Error::Unsupported {
                what: "pulling ONVIF replay footage".into(),
                why: "the RTSP client is not wired to the ONVIF source yet".into(),
            })
        })
    }
}
