//! Anonymization benchmark, side by side with `deface` (the Python tool shipping the same
//! CenterFace model): detection recall against the labelled face boxes, per face size, and
//! speed in frames/s at 720p, with the engine's time split (decode, detect, render, encode).
//!
//! The clip is composed by `tests/anonymize_support` (`size_scene`: ten real faces from 200
//! down to 20 pixels wide, facing or turned, some darkened, moving); the composer knows every
//! face's box on every frame and writes them out as the labels
//! (`target/anonymize-bench/labels.json`, next to `clip.mp4`, which deface reads).
//!
//! `cargo run --release --example anonymize_bench [-- SECONDS]`; needs `.ci/test-assets`
//! and, for the comparison, deface in a venv: `python3 -m venv .venv && .venv/bin/pip install
//! deface onnx onnxruntime` (or set `DEFACE_VENV`). The machine's load average is printed
//! with the figures: other builds share its cores.
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "benchmarks print figures"
)]

#[path = "../tests/anonymize_support/mod.rs"]
mod anonymize_support;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anonymize_support as s;
use scelle::anonymize::{Anonymizer, Detector, Input, Level, Params, default_model_path};

const W: usize = 1280;
const H: usize = 720;
const FPS: f32 = 25.0;
const THRESHOLDS: [f32; 4] = [0.1, 0.2, 0.3, 0.5];

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// A head's labelled face on frame `n`, the part inside the frame, if at least half of it is.
fn label(h: &s::Head, n: usize) -> Option<[f32; 4]> {
    s::visible(h.face_at(n as u64, FPS), W as f32, H as f32)
}

/// Per head: frames where some box has IoU >= 0.5 with the label, and frames where the face
/// is visible (at least half inside the frame); and boxes matching no label.
fn recall(found: &[Vec<[f32; 4]>], heads: &[s::Head]) -> (Vec<usize>, Vec<usize>, usize) {
    let mut hits = vec![0; heads.len()];
    let mut seen = vec![0; heads.len()];
    let mut false_pos = 0;
    for (n, boxes) in found.iter().enumerate() {
        let labels: Vec<Option<[f32; 4]>> = heads.iter().map(|h| label(h, n)).collect();
        for (i, gt) in labels.iter().enumerate() {
            let Some(gt) = gt else { continue };
            seen[i] += 1;
            if boxes.iter().any(|b| s::iou(*b, *gt) >= 0.5) {
                hits[i] += 1;
            }
        }
        let all: Vec<[f32; 4]> = heads.iter().map(|h| h.face_at(n as u64, FPS)).collect();
        false_pos += boxes
            .iter()
            .filter(|b| all.iter().all(|gt| s::iou(**b, *gt) < 0.3))
            .count();
    }
    (hits, seen, false_pos)
}

fn recall_line(name: &str, found: &[Vec<[f32; 4]>], heads: &[s::Head]) {
    let (hits, seen, false_pos) = recall(found, heads);
    let total: usize = hits.iter().sum();
    let all: usize = seen.iter().sum();
    let per: Vec<String> = hits.iter().map(|h| format!("{:>4}", h)).collect();
    println!(
        "{name:<34} {} | {total:>4}/{all:<4} = {:.3} | false {false_pos}",
        per.join(""),
        total as f64 / all.max(1) as f64
    );
}

/// Fraction of `gt` covered by the union of `boxes` (sampled on a 1-pixel grid).
fn covered(gt: [f32; 4], boxes: &[[f32; 4]]) -> f32 {
    let (mut inside, mut all) = (0, 0);
    let mut y = gt[1].floor() + 0.5;
    while y < gt[3] {
        let mut x = gt[0].floor() + 0.5;
        while x < gt[2] {
            all += 1;
            if boxes
                .iter()
                .any(|b| x >= b[0] && x < b[2] && y >= b[1] && y < b[3])
            {
                inside += 1;
            }
            x += 1.0;
        }
        y += 1.0;
    }
    inside as f32 / all.max(1) as f32
}

fn out_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/anonymize-bench");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Wall time of ffmpeg decoding the clip to raw frames on a pipe (`out`: the output options,
/// as the engine's analysis or render asks them), and the frames.
fn time_decode(clip: &Path, out: &[&str]) -> (f64, Vec<Vec<u8>>) {
    let t0 = Instant::now();
    let mut child = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-nostdin", "-i"])
        .arg(clip)
        .args(["-an", "-f", "rawvideo"])
        .args(out)
        .arg("pipe:1")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut all = Vec::new();
    child.stdout.take().unwrap().read_to_end(&mut all).unwrap();
    child.wait().unwrap();
    let dt = t0.elapsed().as_secs_f64();
    let frame = W * H * 3 / 2;
    (dt, all.chunks(frame).map(<[u8]>::to_vec).collect())
}

/// Wall time of ffmpeg encoding YUV 4:2:0 frames from a pipe with the engine's settings.
fn time_encode(frames: &[Vec<u8>]) -> f64 {
    let t0 = Instant::now();
    let mut child = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-f", "rawvideo"])
        .args(["-pix_fmt", "yuv420p", "-s", &format!("{W}x{H}"), "-r", "25"])
        .args([
            "-i", "pipe:0", "-an", "-c:v", "libx264", "-preset", "veryfast",
        ])
        .args([
            "-crf",
            "20",
            "-pix_fmt",
            "yuv420p",
            "-f",
            "mp4",
            "-y",
            "/dev/null",
        ])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    for f in frames {
        stdin.write_all(f).unwrap();
    }
    drop(stdin);
    child.wait().unwrap();
    t0.elapsed().as_secs_f64()
}

/// The detection schedule in words: "960 px 1/12, 640 px 1/6, 320 px 1/3".
fn schedule(p: &Params) -> String {
    let mut levels: Vec<String> = Vec::new();
    for l in p.levels {
        let s = format!("{} px 1/{}", l.width, l.every);
        if !levels.contains(&s) {
            levels.push(s);
        }
    }
    levels.join(", ")
}

/// Runs the engine with each of `variants` on `clip` (`n` frames, faces `heads`): the tracks'
/// recall, faces fully masked, speed; returns the first variant's output.
fn engine(clip_path: &Path, heads: &[s::Head], n: usize, variants: &[Params]) -> Vec<u8> {
    let mut kept = Vec::new();
    for &params in variants {
        let mut eng = Anonymizer::new(Detector::load(&default_model_path()).unwrap(), params);
        let t0 = Instant::now();
        let analysis = eng.analyze(Input::Path(clip_path)).unwrap();
        let t_an = t0.elapsed().as_secs_f64();
        let boxes: Vec<Vec<[f32; 4]>> = (0..n)
            .map(|i| {
                analysis
                    .boxes_at(i as u64, params.persist, None)
                    .into_iter()
                    .map(|(_, b)| [b.x1, b.y1, b.x2, b.y2])
                    .collect()
            })
            .collect();
        println!(
            "schedule: {}; gap {}, persistence {}, reach {} widths/s",
            schedule(&params),
            params.max_gap,
            params.persist,
            params.max_speed
        );
        recall_line("engine tracks", &boxes, heads);
        let mut masked = vec![0usize; heads.len()];
        for (i, b) in boxes.iter().enumerate() {
            let padded: Vec<[f32; 4]> = b
                .iter()
                .map(|b| {
                    let c = [(b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0];
                    let (hw, hh) = (
                        (b[2] - b[0]) * params.pad / 2.0,
                        (b[3] - b[1]) * params.pad / 2.0,
                    );
                    [c[0] - hw, c[1] - hh, c[0] + hw, c[1] + hh]
                })
                .collect();
            for (k, h) in heads.iter().enumerate() {
                if label(h, i).is_some_and(|gt| covered(gt, &padded) >= 0.999) {
                    masked[k] += 1;
                }
            }
        }
        let per: Vec<String> = masked.iter().map(|m| format!("{m:>4}")).collect();
        let total: usize = masked.iter().sum();
        let seen: usize = (0..n)
            .map(|i| heads.iter().filter(|h| label(h, i).is_some()).count())
            .sum();
        println!(
            "{:<34} {} | {total:>4}/{:<4} = {:.3}",
            "  face fully inside a mask",
            per.join(""),
            seen,
            total as f64 / seen.max(1) as f64
        );
        let t1 = Instant::now();
        let mut out = Vec::new();
        eng.render(Input::Path(clip_path), &analysis, None, &mut out)
            .unwrap();
        let t_re = t1.elapsed().as_secs_f64();
        println!(
            "  speed: analyze {:.1} frames/s, render {:.1} frames/s, both passes {:.1} frames/s \
             ({:.2}x real time), {} tracks (load {})",
            n as f64 / t_an,
            n as f64 / t_re,
            n as f64 / (t_an + t_re),
            n as f64 / (t_an + t_re) / FPS as f64,
            analysis.tracks.len(),
            load()
        );
        if kept.is_empty() {
            kept = out;
        }
    }
    kept
}

fn main() {
    let secs: f32 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(4.0);
    let heads = s::size_scene();
    let clip = s::compose(W as u32, H as u32, secs, &heads);
    let frames = s::decode(&clip, W, H);
    let n = frames.len();
    let dir = out_dir();
    let clip_path = dir.join("clip.mp4");
    std::fs::write(&clip_path, &clip).unwrap();
    let labels: Vec<Vec<[f32; 4]>> = (0..n)
        .map(|i| heads.iter().map(|h| h.face_at(i as u64, FPS)).collect())
        .collect();
    let faces: Vec<serde_json::Value> = heads
        .iter()
        .map(|h| {
            serde_json::json!({
                "photo": format!("{:?}", h.photo), "face_width": h.face_width(),
                "mirrored": h.mirror, "light": h.light,
            })
        })
        .collect();
    std::fs::write(
        dir.join("labels.json"),
        serde_json::to_vec_pretty(&serde_json::json!({
            "clip": "clip.mp4", "width": W, "height": H, "fps": FPS,
            "faces": faces, "boxes_per_frame": labels,
        }))
        .unwrap(),
    )
    .unwrap();
    println!(
        "clip: {W}x{H}, {n} frames at 25 fps ({secs} s), {} faces, labels in {}",
        heads.len(),
        dir.join("labels.json").display()
    );
    println!(
        "machine: {} cores, load average {} at start (shared with other builds)",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        load()
    );
    let cols: Vec<String> = heads
        .iter()
        .map(|h| format!("{:>4}", h.face_width().round()))
        .collect();
    println!(
        "\nrecall per face (frames with a box at IoU >= 0.5; columns: face width in px; \
         d = darkened, t = turned):"
    );
    let marks: Vec<String> = heads
        .iter()
        .map(|h| {
            let t = if h.photo == s::Photo::Cameraman {
                "t"
            } else {
                ""
            };
            let d = if h.light < 1.0 { "d" } else { "" };
            format!("{:>4}", format!("{t}{d}"))
        })
        .collect();
    println!("{:<34} {}", "face width", cols.join(""));
    println!("{:<34} {}", "", marks.join(""));

    // 1. The detector alone on every frame, per detection width and threshold
    // (`ANONYMIZE_BENCH_ENGINE_ONLY=1` skips this and deface's recall: the slow part).
    let engine_only = std::env::var_os("ANONYMIZE_BENCH_ENGINE_ONLY").is_some();
    let widths: &[usize] = if engine_only { &[] } else { &[640, 960, 1280] };
    let mut det = Detector::load(&default_model_path()).expect("model");
    for &width in widths {
        let mut per_thr: Vec<Vec<Vec<[f32; 4]>>> = vec![Vec::new(); THRESHOLDS.len()];
        let t0 = Instant::now();
        for f in &frames {
            let found = det.detect(f, W, H, width, THRESHOLDS[0]).unwrap();
            for (t, out) in THRESHOLDS.iter().zip(&mut per_thr) {
                out.push(
                    found
                        .iter()
                        .filter(|b| b.score > *t)
                        .map(|b| [b.x1, b.y1, b.x2, b.y2])
                        .collect(),
                );
            }
        }
        let dt = t0.elapsed().as_secs_f64();
        for (t, out) in THRESHOLDS.iter().zip(&per_thr) {
            recall_line(&format!("scelle detector {width} px, thr {t}"), out, &heads);
        }
        println!(
            "  detection alone at {width} px: {:.1} frames/s on one thread (load {})",
            n as f64 / dt,
            load()
        );
    }

    // 2. deface's CenterFace at full size on the same clip (its default), every frame.
    let venv = std::env::var("DEFACE_VENV").unwrap_or_else(|_| {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(".venv")
            .to_string_lossy()
            .into_owned()
    });
    let python = format!("{venv}/bin/python");
    let have_deface = Path::new(&format!("{venv}/bin/deface")).exists();
    if have_deface && !engine_only {
        let script = r#"
import sys, json, imageio.v2 as iio
from deface.centerface import CenterFace
cf = CenterFace(in_shape=None, backend='auto')
for f in iio.get_reader(sys.argv[1]):
    dets, _ = cf(f, threshold=0.1)
    print(json.dumps([[float(v) for v in d] for d in dets]))
"#;
        let out = Command::new(&python)
            .args(["-c", script])
            .arg(&clip_path)
            .output()
            .unwrap();
        let rows: Vec<Vec<Vec<f32>>> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        assert_eq!(
            rows.len(),
            n,
            "deface: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        for t in THRESHOLDS {
            let found: Vec<Vec<[f32; 4]>> = rows
                .iter()
                .map(|r| {
                    r.iter()
                        .filter(|d| d[4] > t)
                        .map(|d| [d[0], d[1], d[2], d[3]])
                        .collect()
                })
                .collect();
            recall_line(
                &format!("deface detector full size, thr {t}"),
                &found,
                &heads,
            );
        }
    } else {
        println!("deface: not found in {venv} (set DEFACE_VENV): comparison skipped");
    }

    // 3. The engine end to end: its tracks' boxes on every frame, then speed.
    let defaults = Params::default();
    // the defaults; the denser schedule tried first (decision 0142); 0141's schedule with its
    // tracker (overlap only: a reach of zero)
    let level = |i: usize, every: u64| Level {
        every,
        ..defaults.levels[i]
    };
    let variants = [
        defaults,
        Params {
            levels: [level(0, 12), level(1, 6), level(2, 3)],
            max_gap: 24,
            persist: 12,
            ..defaults
        },
        Params {
            max_gap: 12,
            persist: 12,
            max_speed: 0.0,
            ..defaults.single_level(960, 3)
        },
    ];
    let only_default = std::env::var_os("ANONYMIZE_BENCH_DEFAULT_ONLY").is_some();
    let variants = &variants[..if only_default { 1 } else { variants.len() }];
    println!("\nthe engine (defaults {defaults:?}):");
    let out = engine(&clip_path, &heads, n, variants);
    std::fs::write(dir.join("scelle-out.mp4"), out).unwrap();

    // 3b. The same on people walking across the frame at walking speed.
    let walkers = s::walk_scene();
    let walk = s::compose(W as u32, H as u32, secs, &walkers);
    let walk_path = dir.join("walk.mp4");
    std::fs::write(&walk_path, &walk).unwrap();
    let cols: Vec<String> = walkers
        .iter()
        .map(|h| format!("{:>4}", h.face_width().round()))
        .collect();
    println!(
        "\nwalking scene ({}): faces {} px wide, {} px/s sideways; frames with the face at \
         least half in the frame only",
        walk_path.display(),
        cols.join(""),
        walkers
            .iter()
            .map(|h| format!("{:.0}", h.vx.abs()))
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!("{:<34} {}", "face width", cols.join(""));
    engine(&walk_path, &walkers, n, variants);

    // 3c. People of about the same size crossing each other (tracks could swap).
    let crossers = s::crossing_scene();
    let cross = s::compose(W as u32, H as u32, secs, &crossers);
    let cross_path = dir.join("cross.mp4");
    std::fs::write(&cross_path, &cross).unwrap();
    println!(
        "\ncrossing scene ({}): two pairs of faces of about the same size walking into each \
         other, the defaults only",
        cross_path.display()
    );
    engine(&cross_path, &crossers, n, &variants[..1]);

    let (t_rgb, _) = time_decode(
        &clip_path,
        &["-vf", "scale=960:544:flags=bilinear", "-pix_fmt", "rgb24"],
    );
    let (t_yuv, yuv) = time_decode(&clip_path, &["-pix_fmt", "yuv420p"]);
    let t_enc = time_encode(&yuv);
    println!(
        "  split: ffmpeg decode alone, to RGB at 960x544 (analysis) {:.1} frames/s, to YUV \
         4:2:0 at 1280x720 (render) {:.1} frames/s; libx264 encode from YUV alone {:.1} \
         frames/s (load {})",
        n as f64 / t_rgb,
        n as f64 / t_yuv,
        n as f64 / t_enc,
        load()
    );

    // 4. deface's command line end to end (defaults: full size, threshold 0.2).
    if have_deface {
        let t0 = Instant::now();
        let st = Command::new(format!("{venv}/bin/deface"))
            .arg(&clip_path)
            .arg("-o")
            .arg(dir.join("deface-out.mp4"))
            .args(["--thresh", "0.2"])
            .output()
            .unwrap();
        let dt = t0.elapsed().as_secs_f64();
        assert!(
            st.status.success(),
            "deface: {}",
            String::from_utf8_lossy(&st.stderr)
        );
        println!(
            "\ndeface CLI (full size, threshold 0.2, {}): {:.1} frames/s end to end (load {})",
            String::from_utf8_lossy(&st.stdout)
                .lines()
                .find(|l| l.contains("Running on"))
                .unwrap_or("backend ?")
                .trim(),
            n as f64 / dt,
            load()
        );
    }
}
