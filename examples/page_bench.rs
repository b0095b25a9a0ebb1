//! Benchmark (not a test): `OUVRIR.html` in headless Chromium on an export folder of SIZE MiB
//! sealed with the production parameters (Argon2id 256 MiB, 3 passes, 4 lanes; 64 KiB chunks).
//! Prints, per size: SHA-256 throughput (no password), Argon2id time per file in the page,
//! decrypt + verify throughput of every chunk, and the browser's memory (the renderer's
//! resident set while the chunks are authenticated, and each process kind's peak).
//!
//!     (cd page/test && npm ci)
//!     cargo run --example page_bench -- [SIZE_MIB...]     (default: 64 1024)
//!
//! (`--release` is not needed: the dependencies are optimised in the dev profile and the
//! measured work happens in the browser.)
//!
//! The folder holds what an export writes (video container, sealed manifest listing it,
//! `SHA256SUMS.txt`, `OUVRIR.html`), in `$SCELLE_BENCH_DIR` (default /dev/shm/scelle-page-bench)
//! so the drive's speed is not what is measured. The video payload is random bytes: the page
//! authenticates chunks without looking at them. The driver is `page/test/bench.mjs`.
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "benchmarks print figures"
)]

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use rand::RngCore;
use scelle::seal::{KdfParams, Metadata, SealParams, SealWriter};
use serde_json::{Value, json};

const PASSWORD: &str = "bench-password-for-the-page-42";

fn seal_random(path: &Path, mib: u64, params: &SealParams) -> (u64, String) {
    let file = BufWriter::with_capacity(1 << 20, File::create(path).unwrap());
    let meta = Metadata::now("cam1_bench.mp4", "video/mp4");
    let mut w = SealWriter::new(file, PASSWORD.as_bytes(), &meta, params).unwrap();
    let mut buf = vec![0u8; 1 << 20];
    for _ in 0..mib {
        rand::thread_rng().fill_bytes(&mut buf);
        w.write_all(&buf).unwrap();
    }
    let summary = w.finish().unwrap();
    (summary.bytes, hex::encode(summary.sha256))
}

fn make_folder(dir: &Path, mib: u64) {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).unwrap();
    let params = SealParams {
        kdf: KdfParams::DEFAULT,
        ..SealParams::default()
    };
    let video = "cam1_20260115T140000Z_20260115T150000Z.mp4.scelle";
    let (size, sha) = seal_random(&dir.join(video), mib, &params);
    let record = json!({
        "format": 1, "export_id": "EXP-BENCH", "case_id": "2026-0001",
        "case_reference": "BENCH", "operator": "bench", "site_name": "Bench",
        "time_zone": "Europe/Paris", "started_at": "2026-01-15T15:00:00Z",
        "finished_at": "2026-01-15T15:10:00Z", "register_head": null,
        "destination": { "path": dir.display().to_string(), "drive": {}, "approved": false,
                         "accepted_by_operator": true },
        "files": [{
            "file": { "name": video, "size": size, "sha256": sha },
            "camera": "cam1", "camera_name": "Bench", "covered": [], "gaps": [],
            "requested": { "start": "2026-01-15T14:00:00Z", "end": "2026-01-15T15:00:00Z" },
            "covered_seconds": 3600.0, "frames": 0, "tracks": [], "start_from_device": false
        }]
    });
    let manifest = serde_json::to_vec_pretty(&record).unwrap();
    let mpath = dir.join("manifest.json.scelle");
    let mut meta = Metadata::now("manifest.json", "application/json");
    meta.case_id = Some("2026-0001".into());
    let mut w = SealWriter::new(
        File::create(&mpath).unwrap(),
        PASSWORD.as_bytes(),
        &meta,
        &params,
    )
    .unwrap();
    w.write_all(&manifest).unwrap();
    let msum = w.finish().unwrap();
    std::fs::write(
        dir.join("SHA256SUMS.txt"),
        format!(
            "{sha}  {video}\n{}  manifest.json.scelle\n",
            hex::encode(msum.sha256)
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join(scelle::export::page::FILE_NAME),
        scelle::export::page::html(),
    )
    .unwrap();
}

fn main() {
    let sizes: Vec<u64> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("sizes in MiB"))
        .collect();
    let sizes = if sizes.is_empty() {
        vec![64, 1024]
    } else {
        sizes
    };
    let root = PathBuf::from(
        std::env::var("SCELLE_BENCH_DIR").unwrap_or_else(|_| "/dev/shm/scelle-page-bench".into()),
    );
    let driver = Path::new(env!("CARGO_MANIFEST_DIR")).join("page/test/bench.mjs");
    // A screenshot of the key derivation's progress, next to the browser tests' ones.
    let exe = std::env::current_exe().unwrap();
    let shots = exe.ancestors().nth(3).unwrap().join("page-browser");
    std::fs::create_dir_all(&shots).unwrap();
    println!("OUVRIR.html in headless Chromium, production Argon2id (256 MiB, t=3, p=4)");
    println!(
        "{:>9} {:>12} {:>14} {:>16} {:>20} {:>14}",
        "size MiB",
        "SHA-256 MB/s",
        "Argon2id ms",
        "decrypt MB/s",
        "renderer RSS MiB",
        "renderer peak"
    );
    for mib in sizes {
        let dir = root.join(format!("{mib}"));
        make_folder(&dir, mib);
        let o = Command::new("node")
            .arg(&driver)
            .arg("--folder")
            .arg(&dir)
            .args(["--password", PASSWORD])
            .arg("--out")
            .arg(&shots)
            .output()
            .expect("node runs page/test/bench.mjs");
        let _ = std::fs::remove_dir_all(&dir);
        let text = String::from_utf8_lossy(&o.stdout);
        let v: Value = match serde_json::from_str(text.trim()) {
            Ok(v) if o.status.success() => v,
            _ => panic!(
                "bench.mjs failed:\n{text}\n{}",
                String::from_utf8_lossy(&o.stderr)
            ),
        };
        let chunks = &v["chunks"][0];
        assert_eq!(chunks["kind"], "chunks-ok", "{v}");
        println!(
            "{:>9} {:>12.0} {:>14} {:>16.0} {:>20.0} {:>14.0}",
            mib,
            v["sha256"]["mbps"].as_f64().unwrap_or(0.0),
            v["argon2"]["ms"]
                .as_array()
                .map(|a| a
                    .iter()
                    .map(|x| x.to_string())
                    .collect::<Vec<_>>()
                    .join("+"))
                .unwrap_or_default(),
            chunks["mbps"].as_f64().unwrap_or(0.0),
            v["rendererRssDuringDecryptMiB"].as_f64().unwrap_or(0.0),
            v["peakMiB"]["renderer"].as_f64().unwrap_or(0.0),
        );
        let cpu = v["decryptCpuSeconds"].as_f64().unwrap_or(0.0);
        let bytes = v["sha256"]["bytes"].as_f64().unwrap_or(0.0);
        println!(
            "          decrypt+verify per CPU second of the browser: {:.0} MB/s; load average {}",
            bytes / 1e6 / cpu.max(0.01),
            v["loadAverage"].as_str().unwrap_or("?")
        );
        println!(
            "          (Argon2id ran in: {}; raw: {v})",
            v["argon2"]["where"]
        );
    }
}
