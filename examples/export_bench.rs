//! End-to-end export benchmark: the real `scelle serve` (release build, a child process)
//! exports 1 and 8 cameras in parallel, for two clip lengths, and reports the throughput (MB of
//! sealed files written, read back and verified per second of wall time, case-export call to
//! signed completion) and the daemon's peak RSS (`VmHWM`), which must not grow with the clip
//! length (the pipeline streams with bounded buffers).
//!
//!     cargo build --release --bin scelle --example export_bench
//!     nice -n 19 target/release/examples/export_bench [--short 30] [--long 120]
//!
//! Each camera is a segment folder of 10 s H.264 segments (1280x720, about 2 Mbit/s, made once
//! by ffmpeg and hard-linked), so the figures are the pipeline's (pull → fragmented MP4 → seal
//! → drive → read-back), not a network's. Argon2id is set to its 8 MiB minimum so its memory
//! (256 MiB by default, once per file) does not hide the pipeline's.
//! Needs ffmpeg at run time; everything is made below `$TMPDIR` and removed at the end.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use scelle::api::protocol::Reply;
use scelle::cli::client::{Client, Signer};
use scelle::demo::site;
use serde_json::{Value, json};

const SEGMENT_SECS: u64 = 10;

fn main() {
    let mut args = std::env::args().skip(1);
    let (mut short, mut long) = (30u64, 120u64);
    while let Some(a) = args.next() {
        let v = args.next().and_then(|v| v.parse().ok());
        match (a.as_str(), v) {
            ("--short", Some(v)) => short = v,
            ("--long", Some(v)) => long = v,
            _ => {
                eprintln!("usage: export_bench [--short SECS] [--long SECS]");
                std::process::exit(2);
            }
        }
    }
    let bin = std::env::current_exe()
        .unwrap()
        .parent()
        .and_then(Path::parent)
        .map(|d| d.join("scelle"))
        .filter(|p| p.is_file())
        .expect("target/<profile>/scelle: build it with `cargo build --release --bin scelle`");
    let work = tempfile::tempdir().unwrap();
    let segment = work.path().join("segment.mp4");
    let st = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg(format!(
            "testsrc2=size=1280x720:rate=25:duration={SEGMENT_SECS}"
        ))
        .args(["-c:v", "libx264", "-preset", "ultrafast", "-b:v", "2M"])
        .args(["-g", "50", "-bf", "0", "-pix_fmt", "yuv420p"])
        .arg(&segment)
        .status()
        .expect("ffmpeg");
    assert!(st.success(), "ffmpeg could not make the segment");
    println!(
        "segment: {} bytes per {SEGMENT_SECS} s ({:.1} Mbit/s)",
        std::fs::metadata(&segment).unwrap().len(),
        std::fs::metadata(&segment).unwrap().len() as f64 * 8.0 / SEGMENT_SECS as f64 / 1e6
    );
    println!("cameras  clip_s  sealed_MB  wall_s  MB/s   media_s/s  peak_RSS_MiB");
    for cameras in [1usize, 8] {
        for secs in [short, long] {
            let r = scenario(&bin, work.path(), &segment, cameras, secs);
            println!(
                "{cameras:>7}  {secs:>6}  {:>9.1}  {:>6.2}  {:>5.1}  {:>9.1}  {:>12.1}",
                r.bytes as f64 / 1e6,
                r.wall.as_secs_f64(),
                r.bytes as f64 / 1e6 / r.wall.as_secs_f64(),
                (cameras as u64 * secs) as f64 / r.wall.as_secs_f64(),
                r.peak_rss_kib as f64 / 1024.0
            );
        }
    }
}

struct Figures {
    bytes: u64,
    wall: Duration,
    peak_rss_kib: u64,
}

fn scenario(bin: &Path, work: &Path, segment: &Path, cameras: usize, secs: u64) -> Figures {
    let root = work.join(format!("c{cameras}-s{secs}"));
    let layout = site::Layout::new(&root);
    let recorder = layout.recorder();
    let mut camera_toml = String::new();
    let start: jiff::Timestamp = "2026-01-15T14:00:00Z".parse().unwrap();
    for c in 0..cameras {
        for i in 0..secs.div_ceil(SEGMENT_SECS) {
            let t = start + jiff::SignedDuration::from_secs((i * SEGMENT_SECS) as i64);
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
    let account = site::current_account().unwrap();
    let op_key = site::make_key(&layout.key(&site::OPERATOR), "op").unwrap();
    let au_key = site::make_key(&layout.key(&site::AUTHORIZER), "au").unwrap();
    let config = site::config_without_cameras(
        &layout,
        &account,
        "UTC",
        &op_key,
        &au_key,
        "[export]\nrequire_separate_drive = false\nkdf_memory_mib = 8\nkdf_passes = 1\n",
    );
    std::fs::write(layout.config(), format!("{config}\n{camera_toml}")).unwrap();
    std::fs::create_dir_all(layout.drive()).unwrap();
    let daemon = Daemon::start(bin, &layout);

    let ids: Vec<String> = (0..cameras).map(|c| format!("cam{c}")).collect();
    let end = start + jiff::SignedDuration::from_secs(secs as i64);
    let mut op = connect(&layout, &site::OPERATOR);
    let case = op
        .call(
            "case-open",
            json!({
                "ground": "incident", "requester": "Bench", "organisation": "Bench",
                "reference": format!("BENCH-{cameras}-{secs}"), "recipient": "Bench",
                "purpose": "benchmark", "cameras": ids, "ranges": [format!("{start}/{end}")],
                "request": {"name": "r.txt", "content": B64.encode("benchmark")},
            }),
        )
        .unwrap()["case"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut au = connect(&layout, &site::AUTHORIZER);
    sign_through(
        &mut au,
        &layout.key(&site::AUTHORIZER),
        "case-approve",
        json!({ "case": case }),
        |sig, _| json!({ "case": case, "signature": sig }),
    );

    let t = Instant::now();
    let result = sign_through(
        &mut op,
        &layout.key(&site::OPERATOR),
        "case-export",
        json!({ "case": case, "to": layout.drive().display().to_string(), "accept_drive": true }),
        |sig, _| json!({ "case": case, "signature": sig }),
    );
    let wall = t.elapsed();
    let peak_rss_kib = daemon.peak_rss_kib();
    daemon.stop();
    let bytes = result["record"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["file"]["size"].as_u64().unwrap())
        .sum();
    std::fs::remove_dir_all(&root).unwrap();
    Figures {
        bytes,
        wall,
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
    op: &str,
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
            .env("RUST_LOG", "warn")
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
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }

    fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}
