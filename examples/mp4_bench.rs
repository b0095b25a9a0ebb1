//! Benchmark of the pulls and the fragmented MP4 writer. Prints CPU seconds and wall
//! MB/s per GB and the peak RSS, for these stages:
//! 0. pull only against pull + MP4 writing to a sink (/dev/null), streamed as an export does,
//!    side by side: from an RTSP ONVIF replay server (`Rate-Control: no`, GStreamer's server
//!    from `tests/peers/`, a clip made by ffmpeg) with `--rtsp SECONDS`, and from the segment
//!    folder; the peak RSS is reset before each row (`/proc/self/clear_refs`), so it is that
//!    row's own;
//! 1. reading: the segment-folder source pulling every unit of a folder (repeated);
//! 2. writing: those units replayed (with advancing pts) into `Mp4Writer` → BufWriter → /dev/null
//!    until `--gb` GiB were written.
//!
//! Usage: cargo run --release --example mp4_bench -- [--rtsp SECONDS] [FOLDER] [PATTERN] [CAMERA] [GB]
//! Defaults: no RTSP stage; demo/footage "{camera}/%Y/%m/%d/%H-%M-%S.mp4" cam1 1
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "benchmarks print figures"
)]

use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use jiff::Timestamp;
use scelle::mp4::{Mp4Writer, Provenance};
use scelle_adapters::rtsp::{Client, ClientConfig, PullRequest, Replay};
use scelle_adapters::segments::SegmentFolder;
use scelle_adapters::{AccessUnit, Event, Source, StreamInfo, TimeRange};
use tokio::sync::mpsc;

#[path = "../tests/peers/support.rs"]
mod peers;
#[path = "support/procfs.rs"]
mod procfs;

/// Resets this process's peak RSS (VmHWM) to its current RSS, so the next figure is the next
/// stage's own.
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// One pull, streamed: events go through a bounded channel either to a counter (pull only) or
/// to `write_events` → Mp4Writer → 1 MiB BufWriter → /dev/null (pull + MP4). Returns the
/// bytes of unit payload pulled.
async fn streamed_pull<F>(pull: F, with_mp4: bool, start: Timestamp) -> u64
where
    F: FnOnce(mpsc::Sender<Event>) -> tokio::task::JoinHandle<()>,
{
    let (tx, mut rx) = mpsc::channel(64);
    let task = pull(tx);
    let bytes = if with_mp4 {
        let counted = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let c = counted.clone();
        let write = tokio::task::spawn_blocking(move || {
            let sink = BufWriter::with_capacity(
                1 << 20,
                std::fs::File::create("/dev/null").expect("/dev/null"),
            );
            let events = std::iter::from_fn(move || rx.blocking_recv()).inspect(move |e| {
                if let Event::Unit(u) = e {
                    c.fetch_add(u.data.len() as u64, std::sync::atomic::Ordering::Relaxed);
                }
            });
            scelle::mp4::write_events(events, sink, Provenance::default(), start)
        });
        write.await.expect("write task").expect("write");
        counted.load(std::sync::atomic::Ordering::Relaxed)
    } else {
        let mut bytes = 0u64;
        while let Some(e) = rx.recv().await {
            if let Event::Unit(u) = e {
                bytes += u.data.len() as u64;
            }
        }
        bytes
    };
    task.await.expect("pull task");
    bytes
}

/// Runs `rounds` alternating pull-only / pull + MP4 rounds and prints one row per mode.
async fn compare<F>(label: &str, rounds: usize, start: Timestamp, pull: F)
where
    F: Fn(mpsc::Sender<Event>) -> tokio::task::JoinHandle<()>,
{
    let mut rows: [(u64, f64, f64, f64); 2] = [(0, 0.0, 0.0, 0.0); 2];
    for _ in 0..rounds {
        for (i, with_mp4) in [false, true].into_iter().enumerate() {
            reset_peak_rss();
            let (cpu0, t0) = (cpu_seconds(), Instant::now());
            let bytes = streamed_pull(&pull, with_mp4, start).await;
            let r = &mut rows[i];
            r.0 += bytes;
            r.1 += t0.elapsed().as_secs_f64();
            r.2 += cpu_seconds() - cpu0;
            r.3 = r.3.max(peak_rss_mib());
        }
    }
    for (name, (bytes, wall, cpu, rss)) in ["pull only", "pull + MP4 → sink"].iter().zip(rows) {
        let gb = bytes as f64 / 1e9;
        println!(
            "{label} {name:<18}: {:>7.1} MB in {wall:>6.2} s = {:>6.1} MB/s, {:>5.2} CPU s/GB, peak RSS {rss:.1} MiB",
            bytes as f64 / 1e6,
            bytes as f64 / 1e6 / wall,
            cpu / gb
        );
    }
}

/// Makes an H.264 clip with ffmpeg and starts GStreamer's RTSP server (ONVIF replay) on it.
fn start_onvif_peer(dir: &Path, secs: u32) -> peers::Peer {
    let clip = dir.join("clip.mp4");
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
            "-b:v", "8M", "-minrate", "8M", "-maxrate", "8M", "-bufsize", "4M",
        ])
        .args(["-bf", "0", "-g", "50", "-pix_fmt", "yuv420p"])
        .arg(&clip)
        .status()
        .expect("ffmpeg");
    assert!(st.success(), "ffmpeg could not make the clip");
    peers::Peer::start(peers::free_port(), &[("h264", &clip)], &["--onvif"])
}

/// User + system CPU seconds of this process.
fn cpu_seconds() -> f64 {
    procfs::cpu_secs("self")
}

/// Peak resident set size in MiB (VmHWM).
fn peak_rss_mib() -> f64 {
    procfs::peak_rss_kib("self") as f64 / 1024.0
}

async fn pull_all(folder: &SegmentFolder, range: TimeRange) -> (Vec<StreamInfo>, Vec<AccessUnit>) {
    let (tx, mut rx) = mpsc::channel(256);
    let f = folder.clone();
    let task = tokio::spawn(async move { f.pull(range, tx).await });
    let mut streams = Vec::new();
    let mut units = Vec::new();
    while let Some(ev) = rx.recv().await {
        match ev {
            Event::Streams(s) if streams.is_empty() => streams = s,
            Event::Unit(u) => units.push(u),
            Event::End => break,
            _ => {}
        }
    }
    task.await.expect("pull task").expect("pull");
    (streams, units)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let rtsp_secs: Option<u32> = match args.iter().position(|a| a == "--rtsp") {
        Some(i) => {
            let secs = args.get(i + 1).and_then(|v| v.parse().ok()).unwrap_or(30);
            args.drain(i..(i + 2).min(args.len()));
            Some(secs)
        }
        None => None,
    };
    if let Some(secs) = rtsp_secs {
        let dir = tempfile::tempdir().expect("temp dir");
        eprintln!("making a {secs} s 720p clip at 8 Mbit/s …");
        let peer = start_onvif_peer(dir.path(), secs);
        let port = peer.port;
        let start: Timestamp = "1900-01-01T00:00:00Z".parse().expect("time");
        let end = start + jiff::SignedDuration::from_secs(i64::from(secs));
        let url = format!("rtsp://127.0.0.1:{port}/h264");
        compare("rtsp onvif replay", 3, start, |tx| {
            let req = PullRequest {
                camera: "bench".into(),
                url: url.clone(),
                credentials: None,
                tls: None,
                mode: Replay::OnvifClock {
                    start,
                    end,
                    rate_control: false,
                },
            };
            tokio::spawn(async move {
                Client::new(ClientConfig::default())
                    .pull(req, tx)
                    .await
                    .expect("rtsp pull");
            })
        })
        .await;
        drop(peer);
    }
    let root = args
        .first()
        .cloned()
        .unwrap_or_else(|| "demo/footage".into());
    let pattern = args
        .get(1)
        .cloned()
        .unwrap_or_else(|| "{camera}/%Y/%m/%d/%H-%M-%S.mp4".into());
    let camera = args.get(2).cloned().unwrap_or_else(|| "cam1".into());
    let gb: f64 = args.get(3).and_then(|v| v.parse().ok()).unwrap_or(1.0);
    let folder = SegmentFolder::new(&root, &pattern, &camera).expect("folder");
    let listed = folder.list().expect("list");
    let (Some(first), Some(last)) = (listed.first(), listed.last()) else {
        eprintln!("no segments under {root}");
        std::process::exit(1);
    };
    let range = TimeRange {
        start: first.start,
        end: last
            .start
            .checked_add(jiff::SignedDuration::from_hours(1))
            .expect("time"),
    };

    compare("segment folder   ", 3, range.start, |tx| {
        let f = folder.clone();
        tokio::spawn(async move {
            f.pull(range, tx).await.expect("segment pull");
        })
    })
    .await;
    reset_peak_rss();

    // 0. The export's own shape, streamed: pull → channel → write_events → /dev/null, one
    // file per pull, repeated for about `gb` GB. Peak RSS here is the pipeline's, measured
    // before the later stages hold a whole pull in memory.
    let (cpu0, t0) = (cpu_seconds(), Instant::now());
    let mut streamed = 0u64;
    while streamed < (gb * 1e9) as u64 {
        let (tx, mut rx) = mpsc::channel(64);
        let f = folder.clone();
        let pull = tokio::spawn(async move { f.pull(range, tx).await });
        let write = tokio::task::spawn_blocking(move || {
            let sink = BufWriter::with_capacity(
                1 << 20,
                std::fs::File::create("/dev/null").expect("/dev/null"),
            );
            let events = std::iter::from_fn(move || rx.blocking_recv());
            scelle::mp4::write_events(events, sink, Provenance::default(), range.start)
        });
        pull.await.expect("pull task").expect("pull");
        let (_, summary) = write.await.expect("write task").expect("write");
        streamed += summary.bytes;
    }
    let (cpu, wall) = (cpu_seconds() - cpu0, t0.elapsed().as_secs_f64());
    println!(
        "pull → mp4 (streamed): {:.2} GB, {:.0} MB/s, {:.2} CPU s/GB, peak RSS {:.1} MiB",
        streamed as f64 / 1e9,
        streamed as f64 / 1e6 / wall,
        cpu / (streamed as f64 / 1e9),
        peak_rss_mib()
    );

    // 1. Reading.
    let (cpu0, t0) = (cpu_seconds(), Instant::now());
    let mut read_bytes = 0u64;
    let mut rounds = 0;
    let (streams, units) = loop {
        let (s, u) = pull_all(&folder, range).await;
        read_bytes += u.iter().map(|u| u.data.len() as u64).sum::<u64>();
        rounds += 1;
        if t0.elapsed().as_secs_f64() > 3.0 || rounds >= 200 {
            break (s, u);
        }
    };
    let (cpu, wall) = (cpu_seconds() - cpu0, t0.elapsed().as_secs_f64());
    let gbr = read_bytes as f64 / 1e9;
    println!(
        "segment reader: {rounds} pulls, {:.1} MB of units, {:.1} MB/s, {:.2} CPU s/GB",
        read_bytes as f64 / 1e6,
        read_bytes as f64 / 1e6 / wall,
        cpu / gbr
    );

    // 2. Writing.
    let span: Vec<i64> = streams
        .iter()
        .map(|s| {
            units
                .iter()
                .filter(|u| u.stream == s.index)
                .map(|u| u.pts)
                .max()
                .unwrap_or(0)
                + i64::from(s.clock_rate)
        })
        .collect();
    let sink = BufWriter::with_capacity(
        1 << 20,
        std::fs::File::create("/dev/null").expect("/dev/null"),
    );
    let mut writer =
        Mp4Writer::new(sink, &streams, Provenance::default(), Timestamp::now()).expect("writer");
    let target = (gb * 1e9) as u64;
    let (cpu0, t0) = (cpu_seconds(), Instant::now());
    let mut written = 0u64;
    let mut lap = 0i64;
    while written < target {
        for u in &units {
            let mut u = u.clone();
            u.pts += lap * span[u.stream];
            written += u.data.len() as u64;
            writer.push(u).expect("push");
        }
        lap += 1;
    }
    let (mut out, summary) = writer.finish().expect("finish");
    out.flush().expect("flush");
    let (cpu, wall) = (cpu_seconds() - cpu0, t0.elapsed().as_secs_f64());
    let gbw = summary.bytes as f64 / 1e9;
    println!(
        "mp4 writer: {:.2} GB in {} fragments, {:.0} MB/s, {:.3} CPU s/GB",
        gbw,
        summary.fragments,
        summary.bytes as f64 / 1e6 / wall,
        cpu / gbw
    );
    println!(
        "peak RSS (stages 1-2 hold one pull in memory): {:.1} MiB",
        peak_rss_mib()
    );
}
