//! End-to-end export benchmark: the real `scelle serve` (release build, a child process)
//! exports 1 and 8 cameras in parallel, for two clip lengths, and reports the throughput (MB of
//! sealed files written, read back and verified per second of wall time, case-export call to
//! signed completion), the daemon's CPU time per GB, and its peak RSS (`VmHWM`), which must not
//! grow with the clip length (the pipeline streams with bounded buffers).
//!
//!     cargo build --release --bin scelle --example export_bench
//!     nice -n 19 target/release/examples/export_bench [--source onvif|segments|both]
//!         [--short 30] [--long 120]
//!
//! Sources (`--source`, default `onvif`):
//! - `onvif`: each camera is an ONVIF recorder: GStreamer's ONVIF replay server
//!   (`tests/peers/rtsp_peer.py --onvif`, one per camera, as fast as it can send:
//!   `Rate-Control: no`) behind the SOAP test device of the end-to-end tests
//!   (`tests/e2e_support/onvif_device.rs`). The daemon measures each device's clock, searches its
//!   recordings, asks for the replay URI and pulls over RTSP/TCP.
//! - `segments`: each camera is a folder of 10 s segments (hard links of one file), so the
//!   figures are the pipeline's alone (pull → fragmented MP4 → seal → drive → read-back).
//!
//! The footage is H.264 1280x720 25 fps at about 2 Mbit/s (ffmpeg `testsrc2`). Argon2id is set to
//! its 8 MiB minimum so its memory (256 MiB by default, once per file written and once per file
//! read back) does not hide the pipeline's; `--kdf default` keeps the production cost.
//! `--cameras 1,8` chooses the camera counts; `SCELLE_BIN` another `scelle` binary. `EXPORT_BENCH_LOG=FILTER` sets the daemon's `RUST_LOG` and prints its log after
//! each export. Needs ffmpeg and, for `onvif`, GStreamer's RTSP server (the packages `.ci/run`
//! installs); everything is made below `$TMPDIR` and removed at the end.
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "benchmarks print figures"
)]

#[path = "../tests/e2e_support/onvif_device.rs"]
mod onvif_device;
#[path = "../tests/peers/support.rs"]
mod peers;
#[path = "support/procfs.rs"]
mod procfs;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use jiff::{SignedDuration, Timestamp};
use scelle::api::protocol::{Op, Reply};
use scelle::cli::client::{Client, Signer};
use scelle::demo::site;
use serde_json::{Value, json};

const SEGMENT_SECS: u64 = 10;

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Onvif,
    Segments,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Onvif => "onvif",
            Kind::Segments => "segments",
        }
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let (mut short, mut long) = (30u64, 120u64);
    let mut kinds = vec![Kind::Onvif];
    let mut cameras_list = vec![1usize, 8];
    let mut kdf = "kdf_memory_mib = 8\nkdf_passes = 1\n";
    while let Some(a) = args.next() {
        let v = args.next();
        match (a.as_str(), v.as_deref()) {
            ("--short", Some(v)) if v.parse::<u64>().is_ok_and(|v| v >= 10) => {
                short = v.parse().unwrap()
            }
            ("--long", Some(v)) if v.parse::<u64>().is_ok_and(|v| v >= 10) => {
                long = v.parse().unwrap()
            }
            ("--source", Some("onvif")) => kinds = vec![Kind::Onvif],
            ("--source", Some("segments")) => kinds = vec![Kind::Segments],
            ("--source", Some("both")) => kinds = vec![Kind::Onvif, Kind::Segments],
            ("--cameras", Some(list))
                if list
                    .split(',')
                    .all(|c| c.parse::<usize>().is_ok_and(|c| c > 0)) =>
            {
                cameras_list = list.split(',').map(|c| c.parse().unwrap()).collect()
            }
            ("--kdf", Some("minimal")) => kdf = "kdf_memory_mib = 8\nkdf_passes = 1\n",
            ("--kdf", Some("default")) => kdf = "",
            _ => {
                eprintln!(
                    "usage: export_bench [--source onvif|segments|both] [--short SECS] [--long SECS] \
                     [--cameras 1,8] [--kdf minimal|default] (clips of at least 10 s)"
                );
                std::process::exit(2);
            }
        }
    }
    let bin = std::env::var_os("SCELLE_BIN")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::current_exe()
                .unwrap()
                .parent()
                .and_then(Path::parent)
                .map(|d| d.join("scelle"))
        })
        .filter(|p| p.is_file())
        .expect("target/<profile>/scelle: build it with `cargo build --release --bin scelle`");
    let work = tempfile::tempdir().unwrap();
    let segment = make_clip(work.path(), SEGMENT_SECS);
    println!(
        "footage: H.264 1280x720 25 fps, {:.2} Mbit/s",
        std::fs::metadata(&segment).unwrap().len() as f64 * 8.0 / SEGMENT_SECS as f64 / 1e6
    );
    println!(
        "source    cameras  clip_s  sealed_MB  wall_s   MB/s  media_s/s  daemon_CPU_s/GB  \
         servers_CPU_s/GB  daemon_peak_RSS_MiB"
    );
    for kind in kinds {
        for &cameras in &cameras_list {
            for secs in [short, long] {
                let r = match kind {
                    Kind::Segments => segments(&bin, work.path(), &segment, cameras, secs, kdf),
                    Kind::Onvif => onvif(&bin, work.path(), cameras, secs, kdf),
                };
                let mb = r.bytes as f64 / 1e6;
                let servers = r
                    .peer_cpu_secs
                    .map_or("-".to_owned(), |c| format!("{:.2}", c / (mb / 1e3)));
                println!(
                    "{:<8}  {cameras:>7}  {secs:>6}  {mb:>9.1}  {:>6.2}  {:>5.1}  {:>9.1}  {:>15.2}  \
                     {servers:>16}  {:>19.1}",
                    kind.name(),
                    r.wall.as_secs_f64(),
                    mb / r.wall.as_secs_f64(),
                    r.media_secs / r.wall.as_secs_f64(),
                    r.cpu_secs / (mb / 1e3),
                    r.peak_rss_kib as f64 / 1024.0
                );
            }
        }
    }
}

/// An H.264 1280x720 clip of `secs` seconds (2 Mbit/s, a keyframe every 2 s, no B-frames).
fn make_clip(dir: &Path, secs: u64) -> PathBuf {
    let clip = dir.join(format!("clip-{secs}s.mp4"));
    if clip.is_file() {
        return clip;
    }
    let st = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg(format!("testsrc2=size=1280x720:rate=25:duration={secs}"))
        .args(["-c:v", "libx264", "-preset", "ultrafast", "-b:v", "2M"])
        .args(["-g", "50", "-bf", "0", "-pix_fmt", "yuv420p"])
        .arg(&clip)
        .status()
        .expect("ffmpeg");
    assert!(st.success(), "ffmpeg could not make the clip");
    clip
}

struct Figures {
    bytes: u64,
    wall: Duration,
    /// Media seconds exported, all cameras together.
    media_secs: f64,
    /// The daemon's user + system CPU time over its whole life.
    cpu_secs: f64,
    /// The replay servers' CPU time during the export (ONVIF only).
    peer_cpu_secs: Option<f64>,
    peak_rss_kib: u64,
}

/// Cameras recording to segment folders, the range their whole length.
fn segments(
    bin: &Path,
    work: &Path,
    segment: &Path,
    cameras: usize,
    secs: u64,
    kdf: &str,
) -> Figures {
    let root = work.join(format!("segments-c{cameras}-s{secs}"));
    let layout = site::Layout::new(&root);
    let recorder = layout.recorder();
    let mut camera_toml = String::new();
    let start: Timestamp = "2026-01-15T14:00:00Z".parse().unwrap();
    for c in 0..cameras {
        for i in 0..secs.div_ceil(SEGMENT_SECS) {
            let t = start + SignedDuration::from_secs((i * SEGMENT_SECS) as i64);
            let name = t.strftime("%Y/%m/%d/%H-%M-%S.mp4").to_string();
            let path = recorder.join(format!("cam{c}")).join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::hard_link(segment, &path)
                .or_else(|_| std::fs::copy(segment, &path).map(|_| ()))
                .unwrap();
        }
        camera_toml.push_str(&format!(
            "[[camera]]\nid = \"cam{c}\"\nname = \"Camera {c}\"\n\
             source = {{ kind = \"segments\", root = \"{}\" }}\n",
            recorder.display()
        ));
    }
    let end = start + SignedDuration::from_secs(secs as i64);
    let figures = export(bin, &layout, &camera_toml, cameras, start, end, kdf);
    std::fs::remove_dir_all(&root).unwrap();
    figures
}

/// Cameras that are ONVIF recorders, one GStreamer replay server and one SOAP device each; the
/// range starts a second or two into the recording (the device clock is read to the second) and
/// ends after it.
fn onvif(bin: &Path, work: &Path, cameras: usize, secs: u64, kdf: &str) -> Figures {
    let root = work.join(format!("onvif-c{cameras}-s{secs}"));
    let layout = site::Layout::new(&root);
    let clip = make_clip(work, secs);
    let mut servers = Vec::new();
    let mut camera_toml = String::new();
    for c in 0..cameras {
        let peer = peers::Peer::start(peers::free_port(), &[("h264", &clip)], &["--onvif"]);
        let device = onvif_device::OnvifDevice::start(&peer.url("h264"), secs as u32);
        camera_toml.push_str(&format!(
            "[[camera]]\nid = \"cam{c}\"\nname = \"Camera {c}\"\n\
             source = {{ kind = \"onvif\", device_url = \"{}\" }}\n",
            device.url
        ));
        servers.push((peer, device));
    }
    let recording = servers
        .iter()
        .map(|(_, d)| d.recording_start())
        .max()
        .unwrap();
    let start = recording
        .checked_add(SignedDuration::from_millis(1500))
        .unwrap()
        .round(jiff::Unit::Second)
        .unwrap();
    // Past the recording's end, like an export "until now": the device is asked up to the end
    // of what it holds, plays its file to the end and says so (E bit, RTCP BYE). A range that
    // ends inside the recording costs each file up to 2 s more: GStreamer's replay server then
    // stops without a word and the pull waits that long to be sure (see `rtsp::pull`).
    let end = (recording + SignedDuration::from_secs(secs as i64 + 2))
        .round(jiff::Unit::Second)
        .unwrap();
    let peers_cpu = || -> f64 {
        servers
            .iter()
            .map(|(p, _)| procfs::cpu_secs(&p.pid().to_string()))
            .sum()
    };
    let before = peers_cpu();
    let mut figures = export(bin, &layout, &camera_toml, cameras, start, end, kdf);
    figures.peer_cpu_secs = Some(peers_cpu() - before);
    drop(servers);
    std::fs::remove_dir_all(&root).unwrap();
    figures
}

/// Sets up the site (config, keys, drive), starts the daemon, opens and approves a case over
/// `cameras` and `start..end`, exports it and measures.
fn export(
    bin: &Path,
    layout: &site::Layout,
    camera_toml: &str,
    cameras: usize,
    start: Timestamp,
    end: Timestamp,
    kdf: &str,
) -> Figures {
    let account = site::current_account().unwrap();
    let op_key = site::make_key(&layout.key(&site::OPERATOR), "op").unwrap();
    let au_key = site::make_key(&layout.key(&site::AUTHORIZER), "au").unwrap();
    let config = site::config_without_cameras(
        layout,
        &account,
        "UTC",
        &op_key,
        &au_key,
        &format!("[export]\nrequire_separate_drive = false\n{kdf}"),
    );
    std::fs::write(layout.config(), format!("{config}\n{camera_toml}")).unwrap();
    std::fs::create_dir_all(layout.drive()).unwrap();
    let daemon = Daemon::start(bin, layout);

    let ids: Vec<String> = (0..cameras).map(|c| format!("cam{c}")).collect();
    let mut op = connect(layout, &site::OPERATOR);
    let case = op
        .call(
            Op::CaseOpen,
            json!({
                "ground": "incident", "requester": "Bench", "organisation": "Bench",
                "reference": format!("BENCH-{cameras}"), "recipient": "Bench",
                "purpose": "benchmark", "cameras": ids, "ranges": [format!("{start}/{end}")],
                "request": {"name": "r.txt", "content": B64.encode("benchmark")},
            }),
        )
        .unwrap()["case"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut au = connect(layout, &site::AUTHORIZER);
    sign_through(
        &mut au,
        &layout.key(&site::AUTHORIZER),
        Op::CaseApprove,
        json!({ "case": case }),
        |sig, _| json!({ "case": case, "signature": sig }),
    );

    let t = Instant::now();
    let result = sign_through(
        &mut op,
        &layout.key(&site::OPERATOR),
        Op::CaseExport,
        json!({ "case": case, "to": layout.drive().display().to_string(), "accept_drive": true }),
        |sig, _| json!({ "case": case, "signature": sig }),
    );
    let wall = t.elapsed();
    let peak_rss_kib = daemon.peak_rss_kib();
    let cpu_secs = daemon.cpu_secs();
    daemon.stop();
    if std::env::var_os("EXPORT_BENCH_LOG").is_some() {
        eprint!(
            "{}",
            std::fs::read_to_string(layout.daemon_log()).unwrap_or_default()
        );
    }
    let files = result["record"]["files"].as_array().unwrap();
    assert_eq!(files.len(), cameras, "one file per camera: {result}");
    Figures {
        bytes: files
            .iter()
            .map(|f| f["file"]["size"].as_u64().unwrap())
            .sum(),
        wall,
        media_secs: files
            .iter()
            .map(|f| f["covered_seconds"].as_f64().unwrap_or(0.0))
            .sum(),
        cpu_secs,
        peer_cpu_secs: None,
        peak_rss_kib,
    }
}

fn connect(layout: &site::Layout, person: &site::DemoPerson) -> Client {
    let mut c = Client::connect(&layout.socket()).unwrap();
    c.identify(Some(person.id), &Signer::KeyFile(layout.key(person)))
        .unwrap();
    c
}

/// Sends `op` with `first`, signs the challenge, sends `second(signature)`; returns the result.
fn sign_through(
    client: &mut Client,
    key: &Path,
    op: Op,
    first: Value,
    second: impl FnOnce(String, &[u8]) -> Value,
) -> Value {
    let Reply::Challenge {
        public_key,
        namespace,
        message,
        ..
    } = client.request(op, first, &mut |_| {}).unwrap()
    else {
        panic!("{op}: expected a challenge");
    };
    let statement = B64.decode(message).unwrap();
    let sig = Signer::KeyFile(key.to_owned())
        .sign(&public_key, &namespace, &statement)
        .unwrap();
    client.call(op, second(sig, &statement)).unwrap()
}

struct Daemon {
    child: Child,
}

impl Daemon {
    fn start(bin: &Path, layout: &site::Layout) -> Daemon {
        let child = Command::new(bin)
            .args(["serve", "--config"])
            .arg(layout.config())
            .env(
                "RUST_LOG",
                std::env::var("EXPORT_BENCH_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .env_remove("NOTIFY_SOCKET")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(layout.daemon_log()).unwrap())
            .spawn()
            .unwrap();
        let t = Instant::now();
        while std::os::unix::net::UnixStream::connect(layout.socket()).is_err() {
            assert!(
                t.elapsed() < Duration::from_secs(20),
                "daemon did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Daemon { child }
    }

    /// `VmHWM` of the daemon: its peak resident set since it started.
    fn peak_rss_kib(&self) -> u64 {
        procfs::peak_rss_kib(&self.child.id().to_string())
    }

    /// User + system CPU seconds of the daemon so far.
    fn cpu_secs(&self) -> f64 {
        procfs::cpu_secs(&self.child.id().to_string())
    }

    fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}
