//! `ffmpeg`/`ffprobe` as subprocesses, fed and read through memory only (ENC-2).
//!
//! The input MP4, when given as bytes, goes into an anonymous memory file (`memfd_create`)
//! handed to the child as its standard input, which the child opens as `file:/dev/stdin`: the
//! demuxer can seek (an MP4 whose `moov` is at the end needs it) and nothing touches a file
//! system. Raw RGB frames come out of the decoder on a pipe and go into the encoder on a pipe;
//! the encoder writes its MP4 into another memory file (`file:/dev/stdout`), copied to the
//! caller's writer at the end. No frame, crop or temporary file is ever written to disk.
//!
//! The analysis reads RGB frames already scaled by ffmpeg to the detector's finest input size;
//! the render reads and writes planar YUV 4:2:0 at full size, so no colour conversion is done
//! on the way through (decision 0142).

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::thread::JoinHandle;

use super::AnonymizeError;

/// Where the footage to anonymize comes from.
#[derive(Clone, Copy, Debug)]
pub enum Input<'a> {
    /// An MP4 byte stream in memory (what the export pipeline produces before sealing).
    Bytes(&'a [u8]),
    /// A file (tests and benchmarks).
    Path(&'a Path),
}

/// Geometry and rate of the first video stream.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct VideoInfo {
    pub width: usize,
    pub height: usize,
    /// Frame rate as a fraction (numerator, denominator).
    pub rate: (u32, u32),
}

fn io_err(what: &str) -> impl Fn(std::io::Error) -> AnonymizeError + '_ {
    move |e| AnonymizeError::Video {
        reason: format!("{what}: {e}"),
    }
}

/// An anonymous in-memory file (never linked into any file system).
fn memfd(name: &str) -> Result<File, AnonymizeError> {
    let fd = rustix::fs::memfd_create(name, rustix::fs::MemfdFlags::CLOEXEC).map_err(|e| {
        AnonymizeError::Video {
            reason: format!("memfd_create: {e}"),
        }
    })?;
    Ok(File::from(fd))
}

/// The input as a child's stdin plus the URL the child opens.
struct Feed {
    stdin: Stdio,
    url: String,
}

fn feed(input: Input<'_>, mem: &mut Option<File>) -> Result<Feed, AnonymizeError> {
    match input {
        Input::Path(p) => Ok(Feed {
            stdin: Stdio::null(),
            url: format!("file:{}", p.display()),
        }),
        Input::Bytes(bytes) => {
            if mem.is_none() {
                let mut f = memfd("scelle-anonymize-in")?;
                f.write_all(bytes)
                    .map_err(io_err("writing the input to memory"))?;
                *mem = Some(f);
            }
            let f = mem.as_ref().expect("set above");
            let mut f = f.try_clone().map_err(io_err("duplicating the input"))?;
            f.seek(SeekFrom::Start(0))
                .map_err(io_err("rewinding the input"))?;
            Ok(Feed {
                stdin: Stdio::from(f),
                url: "file:/dev/stdin".to_string(),
            })
        }
    }
}

/// Collects a child's stderr (bounded) on a thread so it can never block the child.
fn drain_stderr(child: &mut Child) -> JoinHandle<String> {
    let mut err = child.stderr.take().expect("stderr piped");
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = (&mut err).take(64 * 1024).read_to_end(&mut buf);
        let _ = std::io::copy(&mut err, &mut std::io::sink());
        String::from_utf8_lossy(&buf).trim().to_string()
    })
}

fn spawn(cmd: &mut Command, what: &str) -> Result<Child, AnonymizeError> {
    cmd.spawn().map_err(|e| AnonymizeError::Video {
        reason: format!("cannot start {what}: {e} (install the Debian package ffmpeg)"),
    })
}

/// `program` (of Debian's ffmpeg), killed if the daemon dies (decision 0145).
fn command(program: &str) -> Result<Command, AnonymizeError> {
    crate::subprocess::child_command(program, "ffmpeg").map_err(|e| AnonymizeError::Video {
        reason: format!("cannot start {program}: {e}"),
    })
}

/// Reads the first video stream's geometry and frame rate with `ffprobe`.
pub(super) fn probe(input: Input<'_>, mem: &mut Option<File>) -> Result<VideoInfo, AnonymizeError> {
    let f = feed(input, mem)?;
    let out = command("ffprobe")?
        .args(["-v", "error", "-select_streams", "v:0", "-show_entries"])
        .args([
            "stream=width,height,r_frame_rate",
            "-of",
            "default=nw=1",
            &f.url,
        ])
        .stdin(f.stdin)
        .stderr(Stdio::piped())
        .stdout(Stdio::piped())
        .output()
        .map_err(|e| AnonymizeError::Video {
            reason: format!("cannot start ffprobe: {e} (install the Debian package ffmpeg)"),
        })?;
    let text = String::from_utf8_lossy(&out.stdout);
    let field = |k: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(k).and_then(|v| v.strip_prefix('=')))
            .map(str::trim)
    };
    let bad = || AnonymizeError::Video {
        reason: format!(
            "the input has no readable video stream ({})",
            String::from_utf8_lossy(&out.stderr).trim()
        ),
    };
    let width: usize = field("width")
        .and_then(|v| v.parse().ok())
        .ok_or_else(bad)?;
    let height: usize = field("height")
        .and_then(|v| v.parse().ok())
        .ok_or_else(bad)?;
    let rate = field("r_frame_rate")
        .and_then(|v| v.split_once('/'))
        .and_then(|(n, d)| Some((n.parse().ok()?, d.parse().ok()?)))
        .filter(|&(n, d): &(u32, u32)| n > 0 && d > 0)
        .unwrap_or((25, 1));
    if width == 0
        || height == 0
        || width > 8192
        || height > 8192
        || !width.is_multiple_of(2)
        || !height.is_multiple_of(2)
    {
        return Err(AnonymizeError::Video {
            reason: format!("unsupported frame size {width}x{height} (even sizes up to 8192)"),
        });
    }
    Ok(VideoInfo {
        width,
        height,
        rate,
    })
}

/// What a [`Decoder`] delivers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Frames {
    /// RGB24 frames scaled (bilinear, stretched) to this size: what the detector reads.
    Rgb { width: usize, height: usize },
    /// Planar YUV 4:2:0 frames at the input's size: what the render masks and encodes.
    Yuv420,
}

/// An `ffmpeg` decoding the first video stream to raw frames on a pipe (audio dropped).
pub(super) struct Decoder {
    child: Child,
    stdout: ChildStdout,
    stderr: Option<JoinHandle<String>>,
    pub frame_len: usize,
}

impl Decoder {
    pub(super) fn start(
        input: Input<'_>,
        mem: &mut Option<File>,
        info: &VideoInfo,
        frames: Frames,
    ) -> Result<Self, AnonymizeError> {
        let f = feed(input, mem)?;
        let (format, frame_len, scale) = match frames {
            Frames::Rgb { width, height } => (
                "rgb24",
                width * height * 3,
                ((width, height) != (info.width, info.height))
                    .then(|| format!("scale={width}:{height}:flags=bilinear")),
            ),
            Frames::Yuv420 => ("yuv420p", info.width * info.height * 3 / 2, None),
        };
        let filter: &[&str] = match &scale {
            Some(vf) => &["-vf", vf],
            None => &[],
        };
        let mut child = spawn(
            command("ffmpeg")?
                .args([
                    "-hide_banner",
                    "-loglevel",
                    "error",
                    "-nostdin",
                    "-i",
                    &f.url,
                ])
                .args([
                    "-map",
                    "0:v:0",
                    "-an",
                    "-sn",
                    "-dn",
                    "-fps_mode",
                    "passthrough",
                ])
                .args(filter)
                .args(["-f", "rawvideo", "-pix_fmt", format, "pipe:1"])
                .stdin(f.stdin)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped()),
            "the ffmpeg decoder",
        )?;
        let stdout = child.stdout.take().expect("stdout piped");
        let stderr = Some(drain_stderr(&mut child));
        Ok(Decoder {
            child,
            stdout,
            stderr,
            frame_len,
        })
    }

    /// Fills `frame` with the next frame; false at the end of the stream.
    pub(super) fn next_frame(&mut self, frame: &mut [u8]) -> Result<bool, AnonymizeError> {
        let mut got = 0;
        while got < frame.len() {
            match self.stdout.read(&mut frame[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(io_err("reading decoded frames")(e)),
            }
        }
        if got == frame.len() {
            return Ok(true);
        }
        let status = self
            .child
            .wait()
            .map_err(io_err("waiting for the decoder"))?;
        let msg = self
            .stderr
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default();
        if !status.success() {
            return Err(AnonymizeError::Video {
                reason: format!("ffmpeg could not decode the input: {msg}"),
            });
        }
        if got != 0 {
            return Err(AnonymizeError::Video {
                reason: "the decoder stopped mid-frame".into(),
            });
        }
        Ok(false)
    }
}

impl Drop for Decoder {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An `ffmpeg` encoding planar YUV 4:2:0 frames from a pipe to H.264 in MP4, into memory.
pub(super) struct Encoder {
    child: Child,
    stdin: Option<ChildStdin>,
    stderr: Option<JoinHandle<String>>,
    out: File,
}

impl Encoder {
    pub(super) fn start(info: &VideoInfo) -> Result<Self, AnonymizeError> {
        let out = memfd("scelle-anonymize-out")?;
        let stdout = out.try_clone().map_err(io_err("duplicating the output"))?;
        let size = format!("{}x{}", info.width, info.height);
        let rate = format!("{}/{}", info.rate.0, info.rate.1);
        let mut child = spawn(
            command("ffmpeg")?
                .args([
                    "-hide_banner",
                    "-loglevel",
                    "error",
                    "-f",
                    "rawvideo",
                    "-pix_fmt",
                    "yuv420p",
                ])
                .args(["-s", &size, "-r", &rate, "-i", "pipe:0", "-an"])
                .args([
                    "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p",
                ])
                .args(["-f", "mp4", "-y", "file:/dev/stdout"])
                .stdin(Stdio::piped())
                .stdout(Stdio::from(stdout))
                .stderr(Stdio::piped()),
            "the ffmpeg encoder",
        )?;
        let stdin = child.stdin.take();
        let stderr = Some(drain_stderr(&mut child));
        Ok(Encoder {
            child,
            stdin,
            stderr,
            out,
        })
    }

    pub(super) fn write_frame(&mut self, frame: &[u8]) -> Result<(), AnonymizeError> {
        let stdin = self.stdin.as_mut().expect("open until finish");
        stdin.write_all(frame).map_err(|e| {
            let msg = self
                .stderr
                .take()
                .and_then(|h| h.join().ok())
                .unwrap_or_default();
            AnonymizeError::Video {
                reason: format!("the ffmpeg encoder stopped: {e} {msg}"),
            }
        })
    }

    /// Ends the stream and copies the MP4 to `out`; returns its size.
    pub(super) fn finish(mut self, out: &mut dyn Write) -> Result<u64, AnonymizeError> {
        drop(self.stdin.take());
        let status = self
            .child
            .wait()
            .map_err(io_err("waiting for the encoder"))?;
        let msg = self
            .stderr
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default();
        if !status.success() {
            return Err(AnonymizeError::Video {
                reason: format!("ffmpeg could not encode: {msg}"),
            });
        }
        self.out
            .seek(SeekFrom::Start(0))
            .map_err(io_err("rewinding the output"))?;
        std::io::copy(&mut self.out, out).map_err(io_err("writing the anonymized MP4"))
    }
}

impl Drop for Encoder {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Encodes one RGB24 image as PNG in memory (stored deflate blocks: thumbnails are small and
/// this needs no codec dependency).
pub fn png(rgb: &[u8], width: usize, height: usize) -> Vec<u8> {
    let mut raw = Vec::with_capacity((width * 3 + 1) * height);
    for row in rgb.chunks(width * 3).take(height) {
        raw.push(0);
        raw.extend_from_slice(row);
    }
    let mut z = vec![0x78, 0x01];
    let mut blocks = raw.chunks(65535).peekable();
    if blocks.peek().is_none() {
        z.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    while let Some(b) = blocks.next() {
        z.push(u8::from(blocks.peek().is_none()));
        let len = b.len() as u16;
        z.extend_from_slice(&len.to_le_bytes());
        z.extend_from_slice(&(!len).to_le_bytes());
        z.extend_from_slice(b);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for &x in &raw {
        a = (a + x as u32) % 65521;
        b = (b + a) % 65521;
    }
    z.extend_from_slice(&((b << 16) | a).to_be_bytes());
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&(width as u32).to_be_bytes());
    ihdr.extend_from_slice(&(height as u32).to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(&mut png, b"IHDR", &ihdr);
    chunk(&mut png, b"IDAT", &z);
    chunk(&mut png, b"IEND", &[]);
    png
}

fn chunk(png: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    png.extend_from_slice(&(data.len() as u32).to_be_bytes());
    png.extend_from_slice(kind);
    png.extend_from_slice(data);
    let mut crc = 0xffff_ffffu32;
    for &x in kind.iter().chain(data) {
        crc ^= x as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    png.extend_from_slice(&(!crc).to_be_bytes());
}
