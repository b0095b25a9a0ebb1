//! Benchmark of the segment reader and the fragmented MP4 writer. Prints CPU seconds and wall
//! MB/s per GB and the peak RSS, for two stages:
//! 1. reading: the segment-folder source pulling every unit of a folder (repeated);
//! 2. writing: those units replayed (with advancing pts) into `Mp4Writer` → BufWriter → /dev/null
//!    until `--gb` GiB were written.
//!
//! Usage: cargo run --release --example mp4_bench -- [FOLDER] [PATTERN] [CAMERA] [GB]
//! Defaults: demo/footage "{camera}/%Y/%m/%d/%H-%M-%S.mp4" cam1 1

use std::io::{BufWriter, Write};
use std::time::Instant;

use jiff::Timestamp;
use scelle::mp4::{Mp4Writer, Provenance};
use scelle_adapters::segments::SegmentFolder;
use scelle_adapters::{AccessUnit, Event, Source, StreamInfo, TimeRange};
use tokio::sync::mpsc;

/// User + system CPU seconds of this process (from /proc/self/stat, 100 ticks/s).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

/// Peak resident set size in MiB (VmHWM).
fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
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
    let args: Vec<String> = std::env::args().skip(1).collect();
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
