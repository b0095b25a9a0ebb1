//! Shared helpers of the RTSP integration tests: test clips made by ffmpeg, the GStreamer RTSP
//! server (`rtsp_peer.py`, the tests' own copy) on a free loopback port, and third-party checks
//! of what was pulled (Annex-B file → ffprobe frame count, ffmpeg -xerror decode).

#![allow(dead_code)]

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use scelle_adapters::rtsp::{Client, ClientConfig, PullRequest};
use scelle_adapters::{Codec, Error, Event, PullSummary};
use tokio::sync::mpsc;

/// Makes a `secs`-long 25 fps clip with a keyframe every 2 s and no B-frames.
pub fn make_clip(dir: &Path, codec: Codec, secs: u32) -> PathBuf {
    let (name, args): (&str, &[&str]) = match codec {
        Codec::H264 => (
            "clip_h264.mp4",
            &["-c:v", "libx264", "-preset", "ultrafast", "-bf", "0"],
        ),
        Codec::H265 => (
            "clip_h265.mp4",
            &[
                "-c:v",
                "libx265",
                "-preset",
                "ultrafast",
                "-x265-params",
                "bframes=0:log-level=error",
            ],
        ),
        Codec::Aac | Codec::Pcmu | Codec::Pcma => panic!("video only"),
    };
    let out = dir.join(name);
    let st = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg(format!("testsrc=size=320x240:rate=25:duration={secs}"))
        .args(args)
        .args([
            "-pix_fmt",
            "yuv420p",
            "-g",
            "50",
            "-keyint_min",
            "50",
            "-sc_threshold",
            "0",
        ])
        .arg(&out)
        .status()
        .expect("ffmpeg runs");
    assert!(st.success(), "ffmpeg made the clip");
    out
}

/// A free loopback TCP port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The GStreamer RTSP server, stopped on drop.
pub struct Peer {
    child: Child,
    pub port: u16,
}

impl Peer {
    pub fn start(port: u16, media: &[(&str, &Path)], extra: &[&str]) -> Peer {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/rtsp_peer.py");
        let mut cmd = Command::new("/usr/bin/python3");
        cmd.arg(script).arg("--port").arg(port.to_string());
        for (name, path) in media {
            cmd.arg("--media").arg(format!("{name}={}", path.display()));
        }
        cmd.args(extra).stdout(Stdio::piped()).stderr(Stdio::null());
        let mut child = cmd.spawn().expect("rtsp_peer.py starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert!(line.starts_with("ready"), "peer said {line:?}");
        Peer { child, port }
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn url(&self, name: &str) -> String {
        format!("rtsp://127.0.0.1:{}/{name}", self.port)
    }

    /// Kills the server abruptly (mid-stream failure).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Runs a pull and collects every event.
pub async fn pull(
    config: ClientConfig,
    req: PullRequest,
) -> (Result<PullSummary, Error>, Vec<Event>) {
    let (tx, mut rx) = mpsc::channel(64);
    let client = Client::new(config);
    let task = tokio::spawn(async move { client.pull(req, tx).await });
    let mut events = Vec::new();
    while let Some(e) = rx.recv().await {
        events.push(e);
    }
    (task.await.unwrap(), events)
}

/// Writes the video units of stream 0 as an Annex-B elementary stream (parameter sets first).
pub fn write_annexb(events: &[Event], path: &Path) -> usize {
    let mut f = std::fs::File::create(path).unwrap();
    let mut frames = 0;
    for e in events {
        match e {
            Event::Streams(s) => {
                for p in &s[0].parameter_sets {
                    f.write_all(&[0, 0, 0, 1]).unwrap();
                    f.write_all(p).unwrap();
                }
            }
            Event::Unit(u) if u.stream == 0 => {
                let mut d = &u.data[..];
                while d.len() >= 4 {
                    let n = u32::from_be_bytes([d[0], d[1], d[2], d[3]]) as usize;
                    f.write_all(&[0, 0, 0, 1]).unwrap();
                    f.write_all(&d[4..4 + n]).unwrap();
                    d = &d[4 + n..];
                }
                frames += 1;
            }
            _ => {}
        }
    }
    frames
}

/// Frames ffprobe counts in an Annex-B file (`h264` or `hevc`).
pub fn ffprobe_frames(format: &str, path: &Path) -> usize {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-f",
            format,
            "-count_frames",
            "-select_streams",
            "v:0",
        ])
        .args(["-show_entries", "stream=nb_read_frames", "-of", "csv=p=0"])
        .arg(path)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(0)
}

/// ffmpeg's strict decode of an Annex-B file: its stderr (empty when clean).
pub fn ffmpeg_decode_errors(format: &str, path: &Path) -> String {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-xerror", "-f", format, "-i"])
        .arg(path)
        .args(["-f", "null", "-"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn units(events: &[Event]) -> Vec<&scelle_adapters::AccessUnit> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Unit(u) => Some(u),
            _ => None,
        })
        .collect()
}

pub fn quick_config() -> ClientConfig {
    ClientConfig {
        request_timeout: Duration::from_secs(10),
        idle_timeout: Duration::from_secs(10),
        reconnect_attempts: 0,
        reconnect_delay: Duration::from_millis(300),
        ..ClientConfig::default()
    }
}
