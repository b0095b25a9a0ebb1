//! Load check for the control socket: 200 concurrent clients issue `case-list` while a case is
//! being opened (with a 256 KiB written request). Every request must be answered; prints the
//! latency figures. Runs the daemon in-process on a temporary configuration.
//!
//! `--hostile` (root: the attacker is a second uid, `scelle-stranger`, created if missing):
//! someone not in the people list opens 300 connections each sending 8 MiB without a newline,
//! then 600 idle connections, while a listed person runs `case-list` (a fresh connection each
//! time, as the CLI does); prints what the daemon closed, its peak memory and the latencies.
//!
//!     cargo run --example socket_load [CLIENTS] [REQUESTS_PER_CLIENT]
//!     cargo run --example socket_load -- --hostile
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "benchmarks print figures"
)]

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use base64::Engine;
use scelle::api::protocol::Op;
use scelle::cli::client::{Client, Signer};
use serde_json::json;

#[path = "support/procfs.rs"]
mod procfs;

const STRANGER: &str = "scelle-stranger";

fn main() {
    let all: Vec<String> = std::env::args().skip(1).collect();
    match all.first().map(String::as_str) {
        Some("--flood") => return flood(&all[1..]),
        Some("--hostile") => {
            let dir = tempfile::tempdir().expect("tempdir");
            // The default per-user cap.
            let socket = start_daemon(dir.path(), 32);
            return hostile(&socket);
        }
        _ => {}
    }
    let mut args = all.into_iter();
    let clients: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(200);
    let per_client: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(5);
    let dir = tempfile::tempdir().expect("tempdir");
    let socket = start_daemon(dir.path(), clients + 8);
    normal(&socket, clients, per_client);
}

/// Starts the daemon in-process on a configuration in `dir` (one person, the current Unix
/// account); returns its socket once it answers.
fn start_daemon(dir: &Path, per_user: usize) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    // The hostile run's second uid must reach the socket (0660, group root) through it.
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let key = dir.join("op");
    let st = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key)
        .status()
        .expect("ssh-keygen");
    assert!(st.success());
    let account = scelle::api::passwd::account_of_uid(current_uid()).expect("account");
    let public = std::fs::read_to_string(key.with_extension("pub")).expect("pub");
    let socket = dir.join("scelle.sock");
    let config = dir.join("scelle.toml");
    std::fs::write(
        &config,
        format!(
            "[site]\nname = \"load\"\ntime_zone = \"Europe/Paris\"\n[daemon]\n\
             state_dir = \"{}\"\nsocket = \"{}\"\nmax_connections = 4096\n\
             max_connections_per_user = {per_user}\n[[person]]\nid = \"op\"\nname = \"Op\"\n\
             unix_account = \"{account}\"\nroles = [\"operator\"]\npublic_key = \"{}\"\n\
             [[camera]]\nid = \"cam1\"\nname = \"Cam 1\"\n\
             source = {{ kind = \"segments\", root = \"/srv/nvr\" }}\n",
            dir.join("state").display(),
            socket.display(),
            public.trim()
        ),
    )
    .expect("config");

    let cfg = config.clone();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("runtime");
        if let Err(e) = rt.block_on(scelle::daemon::run(&cfg)) {
            eprintln!("daemon: {e}");
            std::process::exit(1);
        }
    });
    let t = Instant::now();
    while Client::connect(&socket).is_err() {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "daemon did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    socket
}

fn normal(socket: &Path, clients: usize, per_client: usize) {
    let socket = socket.to_owned();

    let barrier = Arc::new(Barrier::new(clients + 2));
    let mut handles = Vec::new();
    for _ in 0..clients {
        let (barrier, socket) = (barrier.clone(), socket.clone());
        handles.push(std::thread::spawn(move || {
            barrier.wait();
            let mut lat = Vec::new();
            let t = Instant::now();
            let mut c = Client::connect(&socket).expect("connect");
            c.identify(None, &Signer::Agent).expect("identify");
            lat.push(t.elapsed());
            for _ in 0..per_client {
                let t = Instant::now();
                let r = c.call(Op::CaseList, json!({})).expect("case-list answered");
                assert!(r["cases"].is_array());
                lat.push(t.elapsed());
            }
            lat
        }));
    }
    let opener = {
        let (barrier, socket) = (barrier.clone(), socket.clone());
        std::thread::spawn(move || {
            barrier.wait();
            let t = Instant::now();
            let mut c = Client::connect(&socket).expect("connect");
            c.identify(None, &Signer::Agent).expect("identify");
            let doc = base64::engine::general_purpose::STANDARD.encode(vec![b'r'; 256 * 1024]);
            let r = c
                .call(
                    Op::CaseOpen,
                    json!({"ground": "incident", "requester": "r", "organisation": "o",
                        "reference": "ref", "recipient": "x", "purpose": "load test",
                        "cameras": ["cam1"], "ranges": ["2026-11-20T10:00/2026-11-20T10:30"],
                        "request": {"name": "req.bin", "content": doc}}),
                )
                .expect("case-open");
            (
                t.elapsed(),
                r["case"]["id"].as_str().unwrap_or_default().to_owned(),
            )
        })
    };
    let start = Instant::now();
    barrier.wait();
    let mut all: Vec<Duration> = Vec::new();
    let mut answered_clients = 0;
    for h in handles {
        let lat = h.join().expect("client thread");
        answered_clients += 1;
        all.extend(&lat[1..]);
    }
    let (open_took, id) = opener.join().expect("opener");
    let wall = start.elapsed();
    all.sort();
    let pct = |p: f64| all[((all.len() as f64 - 1.0) * p) as usize];
    let mut c = Client::connect(&socket).expect("connect");
    c.identify(None, &Signer::Agent).expect("identify");
    let cases = c.call(Op::CaseList, json!({})).expect("final list");
    println!("clients                 {clients} (+1 opening a case)");
    println!(
        "case-list requests      {} answered of {}",
        all.len(),
        clients * per_client
    );
    println!("clients fully answered  {answered_clients}/{clients}");
    println!("case opened             {id} in {open_took:?}");
    println!(
        "cases after the run     {}",
        cases["cases"].as_array().map_or(0, Vec::len)
    );
    println!("wall time               {wall:?}");
    println!(
        "throughput              {:.0} requests/s",
        all.len() as f64 / wall.as_secs_f64()
    );
    println!(
        "case-list latency       p50 {:?}  p95 {:?}  p99 {:?}  max {:?}",
        pct(0.5),
        pct(0.95),
        pct(0.99),
        all[all.len() - 1]
    );
}

fn current_uid() -> u32 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self")
        .map(|m| m.uid())
        .unwrap_or(0)
}

/// A listed person's `case-list` on a fresh connection, timed.
fn listed_case_list(socket: &Path) -> Duration {
    let t = Instant::now();
    let mut c = Client::connect(socket).expect("connect");
    c.identify(None, &Signer::Agent).expect("identify");
    let r = c.call(Op::CaseList, json!({})).expect("case-list answered");
    assert!(r["cases"].is_array());
    t.elapsed()
}

fn hostile(socket: &Path) {
    if current_uid() != 0 {
        eprintln!("--hostile needs root: the attacker is a second uid ({STRANGER})");
        std::process::exit(2);
    }
    if !Command::new("id")
        .arg(STRANGER)
        .output()
        .is_ok_and(|o| o.status.success())
    {
        let st = Command::new("useradd")
            .args([
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                STRANGER,
            ])
            .status()
            .expect("useradd");
        assert!(st.success(), "useradd {STRANGER}");
    }
    let rss_start = procfs::peak_rss_kib("self");
    println!(
        "daemon (in-process) peak RSS at start  {} MiB",
        rss_start / 1024
    );
    for (label, count, bytes) in [
        (
            "300 connections x 8 MiB without newline",
            300usize,
            8usize << 20,
        ),
        ("600 idle connections", 600, 0),
    ] {
        let hold = Duration::from_secs(16);
        let mut child = Command::new("setpriv")
            .args([
                &format!("--reuid={STRANGER}"),
                &format!("--regid={STRANGER}"),
                "--groups=0",
            ])
            .arg(std::env::current_exe().expect("exe"))
            .arg("--flood")
            .arg(socket)
            .args([
                count.to_string(),
                bytes.to_string(),
                hold.as_millis().to_string(),
            ])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("setpriv");
        let t = Instant::now();
        let mut lat = Vec::new();
        while child.try_wait().expect("wait").is_none() {
            lat.push(listed_case_list(socket));
            std::thread::sleep(Duration::from_millis(100));
        }
        let took = t.elapsed();
        let mut out = String::new();
        child
            .stdout
            .take()
            .expect("stdout")
            .read_to_string(&mut out)
            .expect("read");
        lat.sort();
        let pct = |p: f64| lat[((lat.len() as f64 - 1.0) * p) as usize];
        println!("{label}:");
        println!("  stranger                {}", out.trim());
        println!("  run                     {took:.1?} (connections held {hold:?})");
        println!(
            "  daemon peak RSS         {} MiB (process high-water mark so far)",
            procfs::peak_rss_kib("self") / 1024
        );
        println!(
            "  listed case-list        {} answered, p50 {:?}  p95 {:?}  max {:?}",
            lat.len(),
            pct(0.5),
            pct(0.95),
            lat[lat.len() - 1]
        );
    }
    println!("listed case-list after   {:?}", listed_case_list(socket));
}

/// The stranger's side (`--flood SOCKET COUNT BYTES HOLD_MS`): `COUNT` connections each sending
/// `BYTES` without a newline, held until `HOLD_MS`; prints how many the daemon closed, and when.
fn flood(args: &[String]) {
    let socket = args[0].clone();
    let count: usize = args[1].parse().expect("count");
    let bytes: usize = args[2].parse().expect("bytes");
    let hold = Duration::from_millis(args[3].parse().expect("hold"));
    let start = Instant::now();
    let threads: Vec<_> = (0..count)
        .map(|_| {
            let socket = socket.clone();
            std::thread::spawn(move || -> (bool, Option<Duration>, usize) {
                let Ok(mut s) = UnixStream::connect(&socket) else {
                    return (false, None, 0);
                };
                let chunk = vec![b'a'; 64 * 1024];
                let mut sent = 0;
                while sent < bytes {
                    match s.write(&chunk[..chunk.len().min(bytes - sent)]) {
                        Ok(n) => sent += n,
                        Err(_) => break,
                    }
                }
                let mut buf = [0u8; 4096];
                loop {
                    let left = hold.saturating_sub(start.elapsed());
                    if left.is_zero() {
                        return (true, None, sent);
                    }
                    s.set_read_timeout(Some(left)).expect("timeout");
                    match s.read(&mut buf) {
                        Ok(0) => return (true, Some(start.elapsed()), sent),
                        Ok(_) => continue,
                        Err(e)
                            if matches!(
                                e.kind(),
                                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                            ) =>
                        {
                            return (true, None, sent);
                        }
                        Err(_) => return (true, Some(start.elapsed()), sent),
                    }
                }
            })
        })
        .collect();
    let r: Vec<_> = threads
        .into_iter()
        .map(|t| t.join().expect("thread"))
        .collect();
    let closed: Vec<Duration> = r.iter().filter_map(|x| x.1).collect();
    let sent: usize = r.iter().map(|x| x.2).sum();
    println!(
        "connected={} closed={} last_closed_after={:.1?} bytes_accepted_by_socket={} MiB",
        r.iter().filter(|x| x.0).count(),
        closed.len(),
        closed.iter().max().copied().unwrap_or_default(),
        sent >> 20
    );
}
