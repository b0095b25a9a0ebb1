//! The ONVIF side of a test "recorder": a small HTTP/1.1 SOAP server on 127.0.0.1 answering
//! from the project's own fixtures (`adapters/tests/fixtures/onvif/`), whose GetReplayUri hands
//! out the URI of GStreamer's ONVIF replay server and whose clock reads the replay server's
//! (1900-01-01 + elapsed) time, so the daemon's measured clock offset maps the case's server
//! times onto the replay clip. Runs on its own tokio runtime so sync tests can host it.
//!
//! Authentication is not checked here (the adapters' own `onvif_endpoint` test double does
//! that); the search answer's end is rewritten to the clip's length.

#![allow(dead_code)]

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Where GStreamer's replay clock starts.
pub const REPLAY_EPOCH: &str = "1900-01-01T00:00:00Z";

fn fixture(name: &str) -> String {
    let path = format!(
        "{}/adapters/tests/fixtures/onvif/{name}.xml",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("fixture {path}: {e}"))
}

struct Setup {
    replay_uri: String,
    clip_secs: u32,
    /// Device clock minus the real clock.
    device_offset: SignedDuration,
}

pub struct OnvifDevice {
    pub url: String,
    /// Device clock minus the real clock.
    pub device_offset: SignedDuration,
    runtime: Option<tokio::runtime::Runtime>,
}

impl OnvifDevice {
    /// A device whose replay URI is `replay_uri`, holding one `clip_secs`-long recording that
    /// starts at the replay epoch; its clock reads the epoch + `hour_offset` hours now.
    pub fn start(replay_uri: &str, clip_secs: u32) -> OnvifDevice {
        let epoch: Timestamp = REPLAY_EPOCH.parse().unwrap();
        let device_offset =
            (epoch + SignedDuration::from_hours(1)).duration_since(Timestamp::now());
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let setup = Arc::new(Setup {
            replay_uri: replay_uri.to_owned(),
            clip_secs,
            device_offset,
        });
        let listener = runtime.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
        let addr = listener.local_addr().unwrap();
        runtime.spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                tokio::spawn(serve(sock, setup.clone()));
            }
        });
        OnvifDevice {
            url: format!("http://{addr}/onvif/device_service"),
            device_offset,
            runtime: Some(runtime),
        }
    }

    /// The server-clock instant the recording starts at (the replay epoch on the device).
    pub fn recording_start(&self) -> Timestamp {
        let epoch: Timestamp = REPLAY_EPOCH.parse().unwrap();
        epoch - self.device_offset
    }
}

impl Drop for OnvifDevice {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

async fn serve(mut sock: TcpStream, setup: Arc<Setup>) {
    let mut buf = Vec::new();
    loop {
        let Some(body) = read_request(&mut sock, &mut buf).await else {
            return;
        };
        let (status, answer) = answer(&setup, &body);
        let reason = if status == 200 { "OK" } else { "Bad Request" };
        let head = format!(
            "HTTP/1.1 {status} {reason}\r\nContent-Type: application/soap+xml; charset=utf-8\r\nContent-Length: {}\r\n\r\n",
            answer.len()
        );
        if sock.write_all(head.as_bytes()).await.is_err()
            || sock.write_all(answer.as_bytes()).await.is_err()
        {
            return;
        }
    }
}

async fn read_request(sock: &mut TcpStream, buf: &mut Vec<u8>) -> Option<String> {
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            while buf.len() < end + 4 + len {
                let mut chunk = [0u8; 4096];
                let n = sock.read(&mut chunk).await.ok()?;
                if n == 0 {
                    return None;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            let body = String::from_utf8_lossy(&buf[end + 4..end + 4 + len]).into_owned();
            buf.drain(..end + 4 + len);
            return Some(body);
        }
        let mut chunk = [0u8; 4096];
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// The SOAP operation: the first element inside `Body`.
fn operation(body: &str) -> String {
    let after = body
        .find(":Body")
        .and_then(|i| body[i..].find('>').map(|j| &body[i + j + 1..]))
        .unwrap_or("");
    let start = after.find('<').map_or("", |i| &after[i + 1..]);
    let name: String = start
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != '>' && *c != '/')
        .collect();
    name.rsplit(':').next().unwrap_or("").to_owned()
}

fn answer(setup: &Setup, body: &str) -> (u16, String) {
    let op = operation(body);
    let text = match op.as_str() {
        "GetSystemDateAndTime" => with_device_time(setup, fixture("axis_get_system_date_and_time")),
        "GetDeviceInformation" => fixture("axis_get_device_information"),
        "GetServices" => fixture("axis_get_services"),
        "GetCapabilities" => fixture("hikvision_get_capabilities"),
        "GetRecordings" => fixture("axis_get_recordings"),
        "FindRecordings" => fixture("axis_find_recordings"),
        "GetRecordingSearchResults" => {
            let end = REPLAY_EPOCH.parse::<Timestamp>().unwrap()
                + SignedDuration::from_secs(i64::from(setup.clip_secs));
            fixture("gstreamer_get_recording_search_results")
                .replace("1900-01-01T00:00:10Z", &end.to_string())
        }
        "EndSearch" => fixture("axis_end_search"),
        "GetRecordingSummary" => fixture("axis_get_recording_summary"),
        "GetRecordingInformation" => fixture("axis_get_recording_information"),
        "GetReplayUri" => {
            let text = fixture("axis_get_replay_uri");
            let s = text.find("<trp:Uri>").unwrap() + "<trp:Uri>".len();
            let e = text.find("</trp:Uri>").unwrap();
            format!(
                "{}{}{}",
                &text[..s],
                setup.replay_uri.replace('&', "&amp;"),
                &text[e..]
            )
        }
        _ => return (400, fixture("axis_fault_invalid_token")),
    };
    (200, text)
}

fn with_device_time(setup: &Setup, text: String) -> String {
    let start = text.find("<tt:UTCDateTime>").unwrap();
    let end = text.find("</tt:UTCDateTime>").unwrap() + "</tt:UTCDateTime>".len();
    let now = (Timestamp::now() + setup.device_offset).to_zoned(jiff::tz::TimeZone::UTC);
    let block = format!(
        "<tt:UTCDateTime><tt:Time><tt:Hour>{}</tt:Hour><tt:Minute>{}</tt:Minute><tt:Second>{}</tt:Second></tt:Time>\
         <tt:Date><tt:Year>{}</tt:Year><tt:Month>{}</tt:Month><tt:Day>{}</tt:Day></tt:Date></tt:UTCDateTime>",
        now.hour(),
        now.minute(),
        now.second(),
        now.year(),
        now.month(),
        now.day()
    );
    format!("{}{block}{}", &text[..start], &text[end..])
}
