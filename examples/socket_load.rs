//! Load check for the control socket: 200 concurrent clients issue `case-list` while a case is
//! being opened (with a 256 KiB written request). Every request must be answered; prints the
//! latency figures. Runs the daemon in-process on a temporary configuration.
//!
//!     cargo run --example socket_load [CLIENTS] [REQUESTS_PER_CLIENT]

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use base64::Engine;
use scelle::cli::client::{Client, Signer};
use serde_json::json;

fn main() {
    let mut args = std::env::args().skip(1);
    let clients: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(200);
    let per_client: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(5);

    let dir = tempfile::tempdir().expect("tempdir");
    let key = dir.path().join("op");
    let st = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key)
        .status()
        .expect("ssh-keygen");
    assert!(st.success());
    let account = scelle::api::passwd::account_of_uid(current_uid()).expect("account");
    let public = std::fs::read_to_string(key.with_extension("pub")).expect("pub");
    let socket = dir.path().join("scelle.sock");
    let config = dir.path().join("scelle.toml");
    std::fs::write(
        &config,
        format!(
            "[site]\nname = \"load\"\ntime_zone = \"Europe/Paris\"\n[daemon]\n\
             state_dir = \"{}\"\nsocket = \"{}\"\n[[person]]\nid = \"op\"\nname = \"Op\"\n\
             unix_account = \"{account}\"\nroles = [\"operator\"]\npublic_key = \"{}\"\n",
            dir.path().join("state").display(),
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
                let r = c.call("case-list", json!({})).expect("case-list answered");
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
                    "case-open",
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
    let cases = c.call("case-list", json!({})).expect("final list");
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
