//! Test footage with real faces for the anonymization engine: scikit-image's `astronaut`
//! photograph (fetched from the Python registry by `.ci/run`, see `.ci/test-assets`) cropped
//! to the head and moved across a background by ffmpeg overlay filters. The face boxes are
//! known from the composition (the face was labelled by hand on the photograph).
#![allow(dead_code)]

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// The photograph, from `$SCELLE_FACE_IMAGE` or where `.ci/test-assets` puts it.
pub fn astronaut() -> PathBuf {
    if let Some(p) = std::env::var_os("SCELLE_FACE_IMAGE") {
        return PathBuf::from(p);
    }
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/test-assets/astronaut.png");
    assert!(
        p.exists(),
        "{} is missing: run `.ci/test-assets` (downloads scikit-image's astronaut.png from the \
         Python registry) or set SCELLE_FACE_IMAGE",
        p.display()
    );
    p
}

pub fn background() -> PathBuf {
    astronaut().with_file_name("coffee.png")
}

/// Head crop taken from the 512x512 photograph, and the face labelled by hand inside it.
const CROP: (f32, f32, f32, f32) = (130.0, 20.0, 190.0, 200.0); // x, y, w, h
const FACE: (f32, f32, f32, f32) = (176.0, 72.0, 272.0, 184.0); // x1, y1, x2, y2 in the photo

/// One head moving across the clip: `x = x0 + vx * t`, `y = y0 + vy * t`, scaled to `w`
/// pixels wide, mirrored or not.
#[derive(Clone, Copy, Debug)]
pub struct Head {
    pub w: f32,
    pub x0: f32,
    pub vx: f32,
    pub y0: f32,
    pub vy: f32,
    pub mirror: bool,
}

impl Head {
    fn h(&self) -> f32 {
        (self.w * CROP.3 / CROP.2).round()
    }
    /// The labelled face box on frame `n` at `fps`.
    pub fn face_at(&self, n: u64, fps: f32) -> [f32; 4] {
        let t = n as f32 / fps;
        let (x, y) = (
            (self.x0 + self.vx * t).floor(),
            (self.y0 + self.vy * t).floor(),
        );
        let s = self.w / CROP.2;
        let (mut fx1, mut fx2) = (FACE.0 - CROP.0, FACE.2 - CROP.0);
        if self.mirror {
            (fx1, fx2) = (CROP.2 - fx2, CROP.2 - fx1);
        }
        [
            x + fx1 * s,
            y + (FACE.1 - CROP.1) * s,
            x + fx2 * s,
            y + (FACE.3 - CROP.1) * s,
        ]
    }
}

/// A clip of `secs` seconds at 25 fps, `w`x`h`, with these heads, as MP4 bytes (moov at the
/// end, as a normal writer makes it), never written to disk.
pub fn compose(w: u32, h: u32, secs: f32, heads: &[Head]) -> Vec<u8> {
    let mut graph = format!(
        "[0:v]scale={w}:{h},format=rgb24[bg];[1:v]crop={}:{}:{}:{},split={}",
        CROP.2,
        CROP.3,
        CROP.0,
        CROP.1,
        heads.len()
    );
    for i in 0..heads.len() {
        graph.push_str(&format!("[c{i}]"));
    }
    graph.push(';');
    for (i, hd) in heads.iter().enumerate() {
        let flip = if hd.mirror { "hflip," } else { "" };
        graph.push_str(&format!("[c{i}]{flip}scale={}:{}[h{i}];", hd.w, hd.h()));
    }
    let mut prev = "bg".to_string();
    for (i, hd) in heads.iter().enumerate() {
        graph.push_str(&format!(
            "[{prev}][h{i}]overlay=x='floor({}+({})*t)':y='floor({}+({})*t)'[v{i}];",
            hd.x0, hd.vx, hd.y0, hd.vy
        ));
        prev = format!("v{i}");
    }
    graph.push_str(&format!("[{prev}]format=yuv420p[out]"));
    // The MP4 muxer needs a seekable output: an in-memory file as stdout.
    let mem = std::fs::File::from(
        rustix::fs::memfd_create("test-clip", rustix::fs::MemfdFlags::CLOEXEC).expect("memfd"),
    );
    let st = Command::new("ffmpeg")
        .args([
            "-hide_banner",
            "-loglevel",
            "error",
            "-nostdin",
            "-loop",
            "1",
            "-framerate",
            "25",
            "-i",
        ])
        .arg(background())
        .args(["-loop", "1", "-framerate", "25", "-i"])
        .arg(astronaut())
        .args([
            "-filter_complex",
            &graph,
            "-map",
            "[out]",
            "-t",
            &secs.to_string(),
        ])
        .args([
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-crf",
            "18",
            "-f",
            "mp4",
            "-y",
            "file:/dev/stdout",
        ])
        .stdout(Stdio::from(mem.try_clone().unwrap()))
        .status()
        .expect("ffmpeg");
    assert!(st.success(), "ffmpeg could not compose the clip");
    let mut out = Vec::new();
    let mut f = mem;
    std::io::Seek::seek(&mut f, std::io::SeekFrom::Start(0)).unwrap();
    f.read_to_end(&mut out).unwrap();
    out
}

/// Every frame of an MP4 as RGB24, decoded by ffmpeg through pipes.
pub fn decode(mp4: &[u8], w: usize, h: usize) -> Vec<Vec<u8>> {
    // an MP4 with its moov at the end needs a seekable input: an in-memory file as stdin
    let mut mem = std::fs::File::from(
        rustix::fs::memfd_create("test-decode", rustix::fs::MemfdFlags::CLOEXEC).expect("memfd"),
    );
    mem.write_all(mp4).unwrap();
    let out = Command::new("ffmpeg")
        .args([
            "-hide_banner",
            "-loglevel",
            "error",
            "-nostdin",
            "-i",
            "file:/dev/stdin",
        ])
        .args(["-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"])
        .stdin(Stdio::from(mem))
        .stdout(Stdio::piped())
        .output()
        .expect("ffmpeg");
    assert!(
        out.status.success(),
        "ffmpeg could not decode: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
        .chunks_exact(w * h * 3)
        .map(<[u8]>::to_vec)
        .collect()
}

pub fn iou(a: [f32; 4], b: [f32; 4]) -> f32 {
    let iw = (a[2].min(b[2]) - a[0].max(b[0])).max(0.0);
    let ih = (a[3].min(b[3]) - a[1].max(b[1])).max(0.0);
    let i = iw * ih;
    let u = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - i;
    if u <= 0.0 { 0.0 } else { i / u }
}

/// Mean absolute difference of two RGB24 frames inside `b`.
pub fn mean_diff(a: &[u8], b: &[u8], w: usize, h: usize, r: [f32; 4]) -> f64 {
    let (x1, y1) = (r[0].max(0.0) as usize, r[1].max(0.0) as usize);
    let (x2, y2) = ((r[2] as usize).min(w), (r[3] as usize).min(h));
    let mut s = 0u64;
    let mut n = 0u64;
    for y in y1..y2 {
        for x in x1..x2 {
            for c in 0..3 {
                let p = (y * w + x) * 3 + c;
                s += (a[p] as i32 - b[p] as i32).unsigned_abs() as u64;
                n += 1;
            }
        }
    }
    s as f64 / n.max(1) as f64
}

/// The scene used by the tests at 640x360 (scaled by `k` for 720p): the requester (head 0)
/// top left moving right, a mirrored third party bottom right moving left, a larger third
/// party top right moving down.
pub fn scene(k: f32) -> Vec<Head> {
    vec![
        Head {
            w: 120.0 * k,
            x0: 20.0 * k,
            vx: 60.0 * k,
            y0: 20.0 * k,
            vy: 0.0,
            mirror: false,
        },
        Head {
            w: 100.0 * k,
            x0: 520.0 * k,
            vx: -60.0 * k,
            y0: 240.0 * k,
            vy: 0.0,
            mirror: true,
        },
        Head {
            w: 150.0 * k,
            x0: 470.0 * k,
            vx: 0.0,
            y0: 10.0 * k,
            vy: 14.0 * k,
            mirror: false,
        },
    ]
}
