//! Benchmark of faster vendor playback (RTSP `Speed`, decision 0093) against GStreamer's RTSP
//! server on loopback: a 60 s clip (H.264 with B-frames, AAC) pulled at real time, then at each
//! speed asked for, printing for each the wall time, the speed the pull settled on, the units
//! per stream, and whether every unit is identical to the real-time pull's (same pictures and
//! audio frames in the same order: bytes compared but for in-band parameter sets, which
//! GStreamer repeats at will; the largest presentation time difference shown). Run (needs ffmpeg and the GStreamer RTSP
//! server, as the tests):
//!
//!     cargo run --release -p scelle-adapters --example playback_speed -- [SECONDS] [SPEED…]
//!
//! Defaults: 60 s, speeds 4 8 16.
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "benchmarks print figures"
)]

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use scelle_adapters::Event;
use scelle_adapters::rtsp::{Client, ClientConfig, PullRequest, Replay};
use sha2::{Digest as _, Sha256};
use tokio::sync::mpsc;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_peer(clip: &Path, port: u16) -> Child {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/rtsp_peer.py");
    let mut child = Command::new("/usr/bin/python3")
        .arg(script)
        .args(["--port", &port.to_string(), "--audio", "--media"])
        .arg(format!("h264={}", clip.display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("rtsp_peer.py");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.starts_with("ready"), "peer: {line}");
    child
}

/// One unit as compared: stream, presentation time in µs, digest of its bytes, its size.
type Seen = (usize, i64, [u8; 32], usize);

struct Pulled {
    wall: f64,
    speed: f64,
    note: Option<String>,
    units: Vec<Seen>,
}

async fn pull(url: String, secs: u64, speed: Option<f64>) -> Pulled {
    let (tx, mut rx) = mpsc::channel(256);
    let req = PullRequest {
        camera: "bench".into(),
        url,
        credentials: None,
        tls: None,
        mode: Replay::Npt {
            start: Duration::ZERO,
            end: Some(Duration::from_secs(secs)),
        },
    };
    let config = ClientConfig {
        playback_speed: speed,
        ..ClientConfig::default()
    };
    let t0 = Instant::now();
    let task = tokio::spawn(async move { Client::new(config).pull(req, tx).await });
    let mut rates = Vec::new();
    let mut out = Pulled {
        wall: 0.0,
        speed: 1.0,
        note: None,
        units: Vec::new(),
    };
    while let Some(e) = rx.recv().await {
        match e {
            Event::Streams(s) => rates = s.iter().map(|s| i64::from(s.clock_rate)).collect(),
            Event::Pace(p) => {
                out.speed = p.speed;
                out.note = p.note;
            }
            Event::Unit(u) => {
                let rate = rates.get(u.stream).copied().unwrap_or(90_000).max(1);
                out.units.push((
                    u.stream,
                    u.pts * 1_000_000 / rate,
                    picture_digest(&u.data, u.stream == 0),
                    u.data.len(),
                ));
            }
            _ => {}
        }
    }
    task.await.unwrap().expect("pull");
    out.wall = t0.elapsed().as_secs_f64();
    out
}

/// SHA-256 of a unit; for video, of its NAL units but the parameter sets and access unit
/// delimiters (GStreamer repeats SPS/PPS in band at will: they configure, they are no picture).
fn picture_digest(data: &[u8], video: bool) -> [u8; 32] {
    if !video {
        return Sha256::digest(data).into();
    }
    let mut h = Sha256::new();
    let mut rest = data;
    while rest.len() >= 4 {
        let n =
            (u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize).min(rest.len() - 4);
        let nal = &rest[4..4 + n];
        if !nal.is_empty() && !matches!(nal[0] & 0x1f, 7..=9) {
            h.update(nal);
        }
        rest = &rest[4 + n..];
    }
    h.finalize().into()
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let secs: u64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(60);
    let mut speeds: Vec<f64> = args.iter().skip(2).filter_map(|s| s.parse().ok()).collect();
    if speeds.is_empty() {
        speeds = vec![4.0, 8.0, 16.0];
    }
    let dir = tempfile::tempdir().unwrap();
    let clip = dir.path().join("clip.mp4");
    eprintln!("making a {secs} s clip (640x360, 25 fps, 2 B-frames, GOP 50, AAC 48 kHz) …");
    let st = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg(format!("testsrc=size=640x360:rate=25:duration={secs}"))
        .args(["-f", "lavfi", "-i"])
        .arg(format!(
            "sine=frequency=440:sample_rate=48000:duration={secs}"
        ))
        .args([
            "-c:v", "libx264", "-preset", "veryfast", "-bf", "2", "-g", "50",
        ])
        .args(["-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k"])
        .arg(&clip)
        .status()
        .unwrap();
    assert!(st.success());
    let port = free_port();
    let mut peer = start_peer(&clip, port);
    let url = format!("rtsp://127.0.0.1:{port}/h264");

    eprintln!("pulling {secs} s at real time …");
    let reference = pull(url.clone(), secs, None).await;
    let count = |p: &Pulled, s: usize| p.units.iter().filter(|u| u.0 == s).count();
    println!(
        "speed asked  wall s  speed used  video units  audio units  identical  max Δt µs  note"
    );
    let row = |asked: &str, p: &Pulled, identical: &str, dt: i64| {
        println!(
            "{asked:>11}  {:>6.2}  {:>10.1}  {:>11}  {:>11}  {identical:>9}  {dt:>9}  {}",
            p.wall,
            p.speed,
            count(p, 0),
            count(p, 1),
            p.note.as_deref().unwrap_or("")
        );
    };
    row("real time", &reference, "-", 0);
    for speed in speeds {
        eprintln!("pulling {secs} s at Speed {speed} …");
        let p = pull(url.clone(), secs, Some(speed)).await;
        // Per stream, in order (audio and video interleave differently at another speed).
        let of = |q: &Pulled, s: usize| -> Vec<Seen> {
            q.units.iter().filter(|u| u.0 == s).copied().collect()
        };
        let (mut same_data, mut dt) = (true, 0);
        for s in 0..2 {
            let (a, b) = (of(&p, s), of(&reference, s));
            same_data &= a.len() == b.len() && a.iter().zip(&b).all(|(x, y)| x.2 == y.2);
            if let Some(i) = a.iter().zip(&b).position(|(x, y)| x.2 != y.2) {
                eprintln!(
                    "stream {s}: {} of {} units differ, the first at #{i} (pts {} µs, {} bytes \
                     here, {} at real time)",
                    a.iter().zip(&b).filter(|(x, y)| x.2 != y.2).count(),
                    a.len(),
                    b[i].1,
                    a[i].3,
                    b[i].3
                );
            }
            dt = a
                .iter()
                .zip(&b)
                .map(|(x, y)| (x.1 - y.1).abs())
                .fold(dt, i64::max);
        }
        row(
            &format!("{speed}"),
            &p,
            if same_data { "yes" } else { "NO" },
            dt,
        );
    }
    let _ = Command::new("kill")
        .args(["-TERM", &peer.id().to_string()])
        .status();
    let _ = peer.wait();
}
