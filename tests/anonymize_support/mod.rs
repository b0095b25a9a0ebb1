//! Test footage with real faces for the anonymization engine: scikit-image's `astronaut` and
//! `camera` photographs (fetched from the Python registry by `.ci/run`, see
//! `.ci/test-assets`) cropped to the head, scaled (faces from about 20 pixels wide up),
//! mirrored, darkened and moved across a background by ffmpeg filters. The face boxes are
//! known from the composition (each face was labelled by hand on its photograph): they are the
//! labels recall is measured against.
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

/// A photograph with a face in it, shipped in scikit-image's wheel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Photo {
    /// `astronaut.png` (512x512, colour): Eileen Collins, facing the camera.
    Astronaut,
    /// `camera.png` (512x512, grey): the cameraman, head turned three quarters to the side,
    /// looking into his camera.
    Cameraman,
}

impl Photo {
    pub fn path(self) -> PathBuf {
        match self {
            Photo::Astronaut => astronaut(),
            Photo::Cameraman => astronaut().with_file_name("camera.png"),
        }
    }
    /// Head crop `(x, y, w, h)` taken from the photograph.
    fn crop(self) -> (f32, f32, f32, f32) {
        match self {
            Photo::Astronaut => (130.0, 20.0, 190.0, 200.0),
            Photo::Cameraman => (150.0, 60.0, 130.0, 150.0),
        }
    }
    /// The face labelled by hand on the photograph `(x1, y1, x2, y2)`: hairline to chin, ear
    /// (excluded) to the far cheek or nose tip, the convention of the WIDER FACE boxes
    /// CenterFace was trained on.
    fn face(self) -> (f32, f32, f32, f32) {
        match self {
            Photo::Astronaut => (176.0, 72.0, 272.0, 184.0),
            Photo::Cameraman => (200.0, 122.0, 256.0, 196.0),
        }
    }
}

/// One head moving across the clip: `x = x0 + vx * t`, `y = y0 + vy * t` (pixels, seconds;
/// after `turn` seconds, if set, it walks back the way it came at the same speed),
/// the head crop scaled to `w` pixels wide, mirrored or not, its brightness multiplied by
/// `light` (1 as photographed, 0.3 a face in the shade of a badly lit corridor).
#[derive(Clone, Copy, Debug)]
pub struct Head {
    pub w: f32,
    pub x0: f32,
    pub vx: f32,
    pub y0: f32,
    pub vy: f32,
    pub mirror: bool,
    pub photo: Photo,
    pub light: f32,
    /// When the head turns back (seconds).
    pub turn: Option<f32>,
}

impl Head {
    /// A head whose labelled face is about `face_w` pixels wide, starting at `(x0, y0)`.
    pub fn new(photo: Photo, face_w: f32, (x0, y0): (f32, f32), (vx, vy): (f32, f32)) -> Head {
        let (_, _, cw, _) = photo.crop();
        let (fx1, _, fx2, _) = photo.face();
        // even sizes: the scaled crop is exactly w x h, so the labels are exact
        let w = ((face_w * cw / (fx2 - fx1)) / 2.0).round().max(1.0) * 2.0;
        Head {
            w,
            x0,
            vx,
            y0,
            vy,
            mirror: false,
            photo,
            light: 1.0,
            turn: None,
        }
    }
    /// The same head, turning back after `secs` seconds.
    pub fn turning(mut self, secs: f32) -> Head {
        self.turn = Some(secs);
        self
    }
    /// Seconds of travel at time `t` (time walked out, minus time walked back).
    fn travel(&self, t: f32) -> f32 {
        match self.turn {
            Some(at) => t - 2.0 * (t - at).max(0.0),
            None => t,
        }
    }
    pub fn mirrored(mut self) -> Head {
        self.mirror = true;
        self
    }
    pub fn lit(mut self, light: f32) -> Head {
        self.light = light;
        self
    }
    fn h(&self) -> f32 {
        let (_, _, cw, ch) = self.photo.crop();
        (self.w * ch / cw / 2.0).round().max(1.0) * 2.0
    }
    /// Width of the labelled face in the clip.
    pub fn face_width(&self) -> f32 {
        let b = self.face_at(0, 25.0);
        b[2] - b[0]
    }
    /// The labelled face box on frame `n` at `fps`.
    pub fn face_at(&self, n: u64, fps: f32) -> [f32; 4] {
        let t = n as f32 / fps;
        let t = self.travel(t);
        let (x, y) = (
            (self.x0 + self.vx * t).floor(),
            (self.y0 + self.vy * t).floor(),
        );
        let (cx, cy, cw, ch) = self.photo.crop();
        let (fx1, fy1, fx2, fy2) = self.photo.face();
        let (sx, sy) = (self.w / cw, self.h() / ch);
        let (mut fx1, mut fx2) = (fx1 - cx, fx2 - cx);
        if self.mirror {
            (fx1, fx2) = (cw - fx2, cw - fx1);
        }
        [
            x + fx1 * sx,
            y + (fy1 - cy) * sy,
            x + fx2 * sx,
            y + (fy2 - cy) * sy,
        ]
    }
}

/// A clip of `secs` seconds at 25 fps, `w`x`h`, with these heads, as MP4 bytes (moov at the
/// end, as a normal writer makes it), never written to disk.
pub fn compose(w: u32, h: u32, secs: f32, heads: &[Head]) -> Vec<u8> {
    let photos = [Photo::Astronaut, Photo::Cameraman];
    // input 0 is the background, input 1 + i the photo photos[i]
    let mut graph = format!("[0:v]scale={w}:{h},format=rgb24[bg];");
    for (k, photo) in photos.iter().enumerate() {
        let users: Vec<usize> = (0..heads.len())
            .filter(|&i| heads[i].photo == *photo)
            .collect();
        if !users.is_empty() {
            graph.push_str(&format!("[{}:v]split={}", 1 + k, users.len()));
            for i in users {
                graph.push_str(&format!("[p{i}]"));
            }
            graph.push(';');
        }
    }
    for (i, hd) in heads.iter().enumerate() {
        let (cx, cy, cw, ch) = hd.photo.crop();
        let flip = if hd.mirror { "hflip," } else { "" };
        let l = hd.light;
        graph.push_str(&format!(
            "[p{i}]crop={cw}:{ch}:{cx}:{cy},format=rgb24,{flip}\
             colorchannelmixer=rr={l}:gg={l}:bb={l},scale={}:{}[h{i}];",
            hd.w,
            hd.h()
        ));
    }
    let mut prev = "bg".to_string();
    for (i, hd) in heads.iter().enumerate() {
        // travel time as in `Head::travel`
        let tr = match hd.turn {
            Some(at) => format!("(t-2*max(t-{at},0))"),
            None => "t".to_string(),
        };
        graph.push_str(&format!(
            "[{prev}][h{i}]overlay=x='floor({}+({})*{tr})':y='floor({}+({})*{tr})'[v{i}];",
            hd.x0, hd.vx, hd.y0, hd.vy
        ));
        prev = format!("v{i}");
    }
    graph.push_str(&format!("[{prev}]format=yuv420p[out]"));
    // The MP4 muxer needs a seekable output: an in-memory file as stdout.
    let mem = std::fs::File::from(
        rustix::fs::memfd_create("test-clip", rustix::fs::MemfdFlags::CLOEXEC).expect("memfd"),
    );
    let mut cmd = Command::new("ffmpeg");
    cmd.args(["-hide_banner", "-loglevel", "error", "-nostdin"]);
    cmd.args(["-loop", "1", "-framerate", "25", "-i"])
        .arg(background());
    for p in photos {
        cmd.args(["-loop", "1", "-framerate", "25", "-i"])
            .arg(p.path());
    }
    let st = cmd
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
    let head = |w: f32, (x0, y0): (f32, f32), (vx, vy): (f32, f32), mirror: bool| Head {
        w: w * k,
        x0: x0 * k,
        vx: vx * k,
        y0: y0 * k,
        vy: vy * k,
        mirror,
        photo: Photo::Astronaut,
        light: 1.0,
        turn: None,
    };
    vec![
        head(120.0, (20.0, 20.0), (60.0, 0.0), false),
        head(100.0, (520.0, 240.0), (-60.0, 0.0), true),
        head(150.0, (470.0, 10.0), (0.0, 14.0), false),
    ]
}

/// The tests' 640x360 scene with harder faces added: [`scene`], then the cameraman turned
/// three quarters (face 40 pixels wide) and the astronaut darkened to half (30 pixels wide),
/// on paths that cross no other.
pub fn varied_scene() -> Vec<Head> {
    let mut heads = scene(1.0);
    heads.push(Head::new(
        Photo::Cameraman,
        40.0,
        (340.0, 130.0),
        (10.0, 0.0),
    ));
    heads.push(Head::new(Photo::Astronaut, 30.0, (20.0, 260.0), (30.0, 0.0)).lit(0.5));
    heads
}

/// The benchmark's 1280x720 scene: ten faces from 200 down to 20 pixels wide, the two
/// photographs (one facing the camera, one turned three quarters), mirrored or not, four of
/// them darkened, all moving (10 to 100 pixels/s) on paths that never cross (for 4 seconds).
pub fn size_scene() -> Vec<Head> {
    use Photo::{Astronaut as A, Cameraman as C};
    vec![
        Head::new(A, 200.0, (20.0, 40.0), (20.0, 0.0)),
        Head::new(C, 120.0, (760.0, 20.0), (10.0, 0.0)).mirrored(),
        Head::new(A, 80.0, (560.0, 200.0), (0.0, 30.0)).lit(0.35),
        Head::new(C, 64.0, (760.0, 380.0), (40.0, 0.0)),
        Head::new(A, 48.0, (20.0, 520.0), (100.0, 0.0)).mirrored(),
        Head::new(C, 40.0, (540.0, 510.0), (20.0, 0.0)).lit(0.4),
        Head::new(A, 32.0, (1100.0, 600.0), (-20.0, 0.0)).lit(0.5),
        Head::new(C, 28.0, (540.0, 60.0), (30.0, 0.0)),
        Head::new(A, 24.0, (1180.0, 100.0), (0.0, 30.0)),
        Head::new(C, 20.0, (1180.0, 440.0), (0.0, -20.0)).lit(0.5),
    ]
}

/// The benchmark's second 1280x720 scene: five people walking across the frame at the speeds
/// people walk (a face about 16 cm wide, 1.4 m/s sideways: some 5 to 8 face widths a second),
/// four of them coming in from an edge and three leaving by the other within 4 seconds, two
/// small ones turning back half way, on rows that never cross. Faces 120 down to 24 pixels
/// wide.
pub fn walk_scene() -> Vec<Head> {
    use Photo::{Astronaut as A, Cameraman as C};
    vec![
        Head::new(A, 120.0, (-240.0, 0.0), (600.0, 0.0)),
        Head::new(C, 24.0, (-60.0, 262.0), (200.0, 0.0)).turning(1.7),
        Head::new(A, 48.0, (1280.0, 338.0), (-380.0, 0.0)).mirrored(),
        Head::new(C, 64.0, (-150.0, 446.0), (480.0, 0.0)),
        Head::new(A, 32.0, (1280.0, 640.0), (-260.0, 0.0))
            .lit(0.5)
            .turning(2.2),
    ]
}

/// The benchmark's third 1280x720 scene: two pairs of people of about the same size (faces 40
/// and 40, 48 and 44 pixels wide) walking towards each other along nearly the same row, so
/// their heads overlap as they cross, one hiding the other: their tracks could swap.
pub fn crossing_scene() -> Vec<Head> {
    use Photo::{Astronaut as A, Cameraman as C};
    vec![
        Head::new(A, 40.0, (-80.0, 300.0), (300.0, 0.0)),
        Head::new(A, 40.0, (1280.0, 330.0), (-300.0, 0.0)).mirrored(),
        Head::new(C, 48.0, (-100.0, 500.0), (350.0, 0.0)),
        Head::new(C, 44.0, (1280.0, 520.0), (-330.0, 0.0)).mirrored(),
    ]
}

/// The tests' 640x360 scene of people walking across: three faces (60, 40 and 30 pixels wide)
/// at 5 to 7 widths a second, coming in from the edges, on rows that never cross.
pub fn walkers_scene() -> Vec<Head> {
    use Photo::{Astronaut as A, Cameraman as C};
    vec![
        Head::new(A, 60.0, (-120.0, 0.0), (400.0, 0.0)),
        Head::new(C, 40.0, (640.0, 130.0), (-260.0, 0.0)).mirrored(),
        Head::new(A, 30.0, (-60.0, 270.0), (180.0, 0.0)),
    ]
}

/// The part of a face box inside a `w` x `h` frame, if at least half the face is in it (a
/// face mostly outside the frame is neither expected to be found nor to be masked).
pub fn visible(b: [f32; 4], w: f32, h: f32) -> Option<[f32; 4]> {
    let c = [b[0].max(0.0), b[1].max(0.0), b[2].min(w), b[3].min(h)];
    let area = |r: [f32; 4]| (r[2] - r[0]).max(0.0) * (r[3] - r[1]).max(0.0);
    (area(c) >= 0.5 * area(b)).then_some(c)
}
