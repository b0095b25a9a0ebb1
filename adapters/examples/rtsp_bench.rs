//! Benchmark of the RTSP client against GStreamer's RTSP server on loopback, printing:
//! - CPU seconds and peak RSS per GB pulled, side by side with
//!   `ffmpeg -rtsp_transport tcp -i URL -c copy -f mp4` on the same plain (real-time) server;
//! - MB/s pulled from the ONVIF replay server with `Rate-Control: no`, repeated to show that
//!   resident memory stays flat.
//!
//! Both consumers write what they receive to a file (ffmpeg an MP4, scelle the raw access
//! units), so each side does comparable work. Run (needs ffmpeg and the GStreamer RTSP server):
//!
//!     cargo run --release -p scelle-adapters --example rtsp_bench -- [SECONDS] [BITRATE]
//!
//! Defaults: a 20 s 1280x720 clip at 8 Mbit/s.
//!
//! Measured 2026-11-23 on the shared 2-core development VM (`rtsp_bench 40 20M`, 93.5 MB):
//! scelle 1.8 CPU s/GB, peak RSS 6 MiB; ffmpeg 8.2 CPU s/GB, peak RSS 57 MiB; ONVIF replay with
//! `Rate-Control: no` 94–150 MB/s (40–64x real time, GStreamer-bound), 1.1–1.3 CPU s/GB, RSS
//! flat at 7 MiB over three runs.
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "benchmarks print figures"
)]

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use scelle_adapters::Event;
use scelle_adapters::rtsp::{Client, ClientConfig, PullRequest, Replay};
use tokio::sync::mpsc;

/// (user+system CPU seconds of this process, of its waited-for children).
fn cpu_seconds() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<f64> = after
        .split_whitespace()
        .map(|v| v.parse().unwrap_or(0.0))
        .collect();
    // Fields after the command name start at field 3; utime=14, stime=15, cutime=16, cstime=17.
    let tick = 100.0;
    let get = |n: usize| f.get(n - 3).copied().unwrap_or(0.0) / tick;
    (get(14) + get(15), get(16) + get(17))
}

/// Peak resident set (VmHWM) of a process, in MiB.
fn peak_rss_mib(pid: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0
}

fn start_peer(clip: &Path, port: u16, onvif: bool) -> Child {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/rtsp_peer.py");
    let mut cmd = Command::new("/usr/bin/python3");
    cmd.arg(script)
        .args(["--port", &port.to_string(), "--media"])
        .arg(format!("h264={}", clip.display()));
    if onvif {
        cmd.arg("--onvif");
    }
    let mut child = cmd
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

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Pulls with scelle's client, writing unit payloads to `out`; returns (bytes, seconds).
async fn scelle_pull(url: String, mode: Replay, out: &Path) -> (u64, f64) {
    let (tx, mut rx) = mpsc::channel(64);
    let req = PullRequest {
        camera: "bench".into(),
        url,
        credentials: None,
        tls: None,
        mode,
    };
    let t0 = Instant::now();
    let task =
        tokio::spawn(async move { Client::new(ClientConfig::default()).pull(req, tx).await });
    let mut file = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(out).unwrap());
    let mut bytes = 0u64;
    while let Some(e) = rx.recv().await {
        if let Event::Unit(u) = e {
            bytes += u.data.len() as u64;
            file.write_all(&u.data).unwrap();
        }
    }
    file.flush().unwrap();
    task.await.unwrap().expect("pull");
    (bytes, t0.elapsed().as_secs_f64())
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let secs: u32 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(20);
    let bitrate = args.get(2).cloned().unwrap_or_else(|| "8M".into());
    let dir = tempfile::tempdir().unwrap();
    let clip = dir.path().join("clip.mp4");
    eprintln!("making a {secs} s 720p clip at {bitrate}bit/s …");
    let st = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg(format!("testsrc2=size=1280x720:rate=25:duration={secs}"))
        .args([
            "-vf",
            "noise=alls=30:allf=t",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
        ])
        .args([
            "-b:v", &bitrate, "-minrate", &bitrate, "-maxrate", &bitrate, "-bufsize", "4M",
        ])
        .args(["-bf", "0", "-g", "50", "-pix_fmt", "yuv420p"])
        .arg(&clip)
        .status()
        .unwrap();
    assert!(st.success());
    let clip_mb = std::fs::metadata(&clip).unwrap().len() as f64 / 1e6;

    // 1. Plain server, real time: scelle.
    let port = free_port();
    let mut peer = start_peer(&clip, port, false);
    let url = format!("rtsp://127.0.0.1:{port}/h264");
    let (c0, _) = cpu_seconds();
    let (bytes, took) = scelle_pull(
        url.clone(),
        Replay::Npt {
            start: Duration::ZERO,
            end: None,
        },
        &dir.path().join("scelle.h264"),
    )
    .await;
    let (c1, k1) = cpu_seconds();
    let scelle_cpu = c1 - c0;
    let scelle_rss = peak_rss_mib("self");
    let gb = bytes as f64 / 1e9;

    // 2. Same server, ffmpeg.
    let mut ff = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-rtsp_transport", "tcp", "-i", &url])
        .args(["-c", "copy", "-f", "mp4"])
        .arg(dir.path().join("ffmpeg.mp4"))
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let pid = ff.id().to_string();
    let mut ff_rss: f64 = 0.0;
    let t0 = Instant::now();
    loop {
        ff_rss = ff_rss.max(peak_rss_mib(&pid));
        if ff.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let ff_took = t0.elapsed().as_secs_f64();
    let (_, k2) = cpu_seconds();
    let ff_cpu = k2 - k1;
    let ff_bytes = std::fs::metadata(dir.path().join("ffmpeg.mp4"))
        .map(|m| m.len())
        .unwrap_or(0);
    let ff_gb = ff_bytes as f64 / 1e9;
    let _ = peer.kill();
    let _ = peer.wait();

    println!("clip: {secs} s, {clip_mb:.1} MB (H.264 720p25, {bitrate}bit/s)");
    println!("plain server (real time), per GB pulled:");
    println!(
        "  scelle : {:>7.2} CPU s/GB  peak RSS {:>6.1} MiB  ({:.1} MB in {took:.1} s, CPU {scelle_cpu:.2} s)",
        scelle_cpu / gb,
        scelle_rss,
        bytes as f64 / 1e6
    );
    println!(
        "  ffmpeg : {:>7.2} CPU s/GB  peak RSS {:>6.1} MiB  ({:.1} MB in {ff_took:.1} s, CPU {ff_cpu:.2} s)",
        ff_cpu / ff_gb.max(1e-9),
        ff_rss,
        ff_bytes as f64 / 1e6
    );

    // 3. ONVIF replay, Rate-Control: no, repeated: MB/s and RSS over repetitions.
    let port = free_port();
    let mut peer = start_peer(&clip, port, true);
    let start: Timestamp = "1900-01-01T00:00:00Z".parse().unwrap();
    let end = start + jiff::SignedDuration::from_secs(i64::from(secs));
    println!("ONVIF replay server, Rate-Control: no:");
    for round in 1..=3 {
        let (c0, _) = cpu_seconds();
        let (bytes, took) = scelle_pull(
            format!("rtsp://127.0.0.1:{port}/h264"),
            Replay::OnvifClock {
                start,
                end,
                rate_control: false,
            },
            &dir.path().join("onvif.h264"),
        )
        .await;
        let (c1, _) = cpu_seconds();
        println!(
            "  run {round}: {:.1} MB in {took:.2} s = {:.1} MB/s ({:.1}x real time), CPU {:.2} s = {:.2} CPU s/GB, peak RSS {:.1} MiB",
            bytes as f64 / 1e6,
            bytes as f64 / 1e6 / took,
            f64::from(secs) / took,
            c1 - c0,
            (c1 - c0) / (bytes as f64 / 1e9),
            peak_rss_mib("self")
        );
    }
    let _ = peer.kill();
    let _ = peer.wait();
}
