//! Reading back a fragmented MP4 as it streams out of the seal reader, without ever holding
//! more than one `moov` or `moof` box in memory and without writing a byte of it anywhere:
//! counts fragments and samples and sums the first track's sample durations, which the
//! verification step (STEP-3) compares with what the writer reported.
//!
//! The input is untrusted in principle (it is read back from a removable drive), so every size
//! is bounded and every read checked; `fuzz/fuzz_targets/export_mp4_scan.rs` fuzzes [`scan`].

use std::io::{self, Read};

/// Largest `moov` or `moof` box read into memory.
const MAX_META_BOX: u64 = 16 << 20;

/// What a scan found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Mp4Scan {
    /// `moof` boxes.
    pub fragments: u32,
    /// Samples of the first track (the video).
    pub samples: u64,
    /// Sum of the first track's sample durations, in its timescale.
    pub duration_ticks: u64,
    /// The first track's timescale (`mdhd`), 0 if none was found.
    pub timescale: u32,
    pub has_ftyp: bool,
    pub has_moov: bool,
}

impl Mp4Scan {
    /// Media seconds of the first track.
    pub fn seconds(&self) -> f64 {
        if self.timescale == 0 {
            0.0
        } else {
            self.duration_ticks as f64 / self.timescale as f64
        }
    }
}

/// Why a file is not the fragmented MP4 it should be.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("read failed: {0}")]
    Io(#[from] io::Error),
    #[error("malformed MP4: {0}")]
    Malformed(String),
}

fn bad(s: impl Into<String>) -> ScanError {
    ScanError::Malformed(s.into())
}

/// Track facts from `moov`: (track id, timescale, default sample duration from `trex`).
#[derive(Default)]
struct TrackFacts {
    first_track: Option<u32>,
    timescale: u32,
    trex_duration: u32,
}

/// Scans `r` to its end.
pub fn scan<R: Read>(mut r: R) -> Result<Mp4Scan, ScanError> {
    let mut out = Mp4Scan::default();
    let mut facts = TrackFacts::default();
    while let Some((kind, body_len)) = read_header(&mut r)? {
        match &kind {
            b"ftyp" => {
                out.has_ftyp = true;
                skip(&mut r, body_len)?;
            }
            b"moov" | b"moof" => {
                let len = body_len.ok_or_else(|| bad("moov/moof without a size"))?;
                if len > MAX_META_BOX {
                    return Err(bad(format!("{} box of {len} bytes", name(&kind))));
                }
                let mut body = vec![0u8; len as usize];
                r.read_exact(&mut body)?;
                if &kind == b"moov" {
                    out.has_moov = true;
                    moov(&body, &mut facts)?;
                    out.timescale = facts.timescale;
                } else {
                    if !out.has_moov {
                        return Err(bad("moof before moov"));
                    }
                    out.fragments += 1;
                    moof(&body, &facts, &mut out)?;
                }
            }
            _ => skip(&mut r, body_len)?,
        }
    }
    if !out.has_ftyp || !out.has_moov {
        return Err(bad("no ftyp or no moov"));
    }
    Ok(out)
}

fn name(kind: &[u8; 4]) -> String {
    String::from_utf8_lossy(kind).into_owned()
}

/// Reads a box header; `None` at a clean end of input. The length is the body's, `None`
/// for a box that runs to the end of the file.
/// A box type and its body length (`None`: to the end of the input).
type BoxHeader = ([u8; 4], Option<u64>);

/// A child box: its type and body.
type Child<'a> = ([u8; 4], &'a [u8]);

fn read_header<R: Read>(r: &mut R) -> Result<Option<BoxHeader>, ScanError> {
    let mut h = [0u8; 8];
    let mut n = 0;
    while n < 8 {
        match r.read(&mut h[n..]) {
            Ok(0) if n == 0 => return Ok(None),
            Ok(0) => return Err(bad("truncated box header")),
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    let size = u32::from_be_bytes([h[0], h[1], h[2], h[3]]) as u64;
    let kind = [h[4], h[5], h[6], h[7]];
    let body = match size {
        0 => None,
        1 => {
            let mut l = [0u8; 8];
            r.read_exact(&mut l)?;
            let large = u64::from_be_bytes(l);
            Some(
                large
                    .checked_sub(16)
                    .ok_or_else(|| bad("box size too small"))?,
            )
        }
        s => Some(s.checked_sub(8).ok_or_else(|| bad("box size too small"))?),
    };
    Ok(Some((kind, body)))
}

fn skip<R: Read>(r: &mut R, len: Option<u64>) -> Result<(), ScanError> {
    match len {
        Some(len) => {
            let copied = io::copy(&mut r.by_ref().take(len), &mut io::sink())?;
            if copied < len {
                return Err(bad("truncated box"));
            }
        }
        None => {
            io::copy(r, &mut io::sink())?;
        }
    }
    Ok(())
}

/// Child boxes of an in-memory body: (type, body).
fn children(mut b: &[u8]) -> Result<Vec<Child<'_>>, ScanError> {
    let mut out = Vec::new();
    while !b.is_empty() {
        if b.len() < 8 {
            return Err(bad("trailing bytes in a container box"));
        }
        let size = u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize;
        let kind = [b[4], b[5], b[6], b[7]];
        let (start, size) = match size {
            0 => (8, b.len()),
            1 => {
                if b.len() < 16 {
                    return Err(bad("truncated large box"));
                }
                let l = u64::from_be_bytes([b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]]);
                (16, usize::try_from(l).map_err(|_| bad("box too large"))?)
            }
            s => (8, s),
        };
        if size < start || size > b.len() {
            return Err(bad(format!("box {} overruns its parent", name(&kind))));
        }
        out.push((kind, &b[start..size]));
        b = &b[size..];
    }
    Ok(out)
}

fn be32(b: &[u8], at: usize) -> Result<u32, ScanError> {
    b.get(at..at + 4)
        .map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
        .ok_or_else(|| bad("truncated full box"))
}

fn moov(body: &[u8], facts: &mut TrackFacts) -> Result<(), ScanError> {
    for (kind, b) in children(body)? {
        match &kind {
            b"trak" if facts.first_track.is_none() => {
                for (k, tb) in children(b)? {
                    if &k == b"tkhd" {
                        // version(1) flags(3), then v1: 8+8 times, v0: 4+4; then track id.
                        let at = if tb.first() == Some(&1) {
                            4 + 16
                        } else {
                            4 + 8
                        };
                        facts.first_track = Some(be32(tb, at)?);
                    }
                    if &k == b"mdia" {
                        for (mk, mb) in children(tb)? {
                            if &mk == b"mdhd" {
                                let at = if mb.first() == Some(&1) {
                                    4 + 16
                                } else {
                                    4 + 8
                                };
                                facts.timescale = be32(mb, at)?;
                            }
                        }
                    }
                }
            }
            b"mvex" => {
                for (k, xb) in children(b)? {
                    if &k == b"trex" && Some(be32(xb, 4)?) == facts.first_track {
                        facts.trex_duration = be32(xb, 12)?;
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

fn moof(body: &[u8], facts: &TrackFacts, out: &mut Mp4Scan) -> Result<(), ScanError> {
    for (kind, traf) in children(body)? {
        if &kind != b"traf" {
            continue;
        }
        let mut track = None;
        let mut default_duration = facts.trex_duration;
        for (k, b) in children(traf)? {
            match &k {
                b"tfhd" => {
                    let flags = be32(b, 0)? & 0x00ff_ffff;
                    track = Some(be32(b, 4)?);
                    let mut at = 8;
                    if flags & 0x01 != 0 {
                        at += 8;
                    }
                    if flags & 0x02 != 0 {
                        at += 4;
                    }
                    if flags & 0x08 != 0 {
                        default_duration = be32(b, at)?;
                    }
                }
                b"trun" if track.is_some() && track == facts.first_track => {
                    let flags = be32(b, 0)? & 0x00ff_ffff;
                    let count = be32(b, 4)?;
                    let mut at = 8;
                    if flags & 0x01 != 0 {
                        at += 4;
                    }
                    if flags & 0x04 != 0 {
                        at += 4;
                    }
                    let per = [0x100, 0x200, 0x400, 0x800]
                        .iter()
                        .filter(|f| flags & **f != 0)
                        .count()
                        * 4;
                    if (count as usize).saturating_mul(per) > b.len().saturating_sub(at) {
                        return Err(bad("trun sample table overruns its box"));
                    }
                    out.samples += count as u64;
                    for i in 0..count as usize {
                        let d = if flags & 0x100 != 0 {
                            be32(b, at + i * per)?
                        } else {
                            default_duration
                        };
                        out.duration_ticks = out.duration_ticks.saturating_add(d as u64);
                    }
                }
                _ => {}
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_an_ffmpeg_fragmented_mp4() {
        // 2 s at 5 fps, a fragment per keyframe (`-movflags frag_keyframe+empty_moov`).
        let data = include_bytes!("../../fuzz/corpus/export_mp4_scan/frag.mp4");
        let s = scan(&data[..]).unwrap();
        assert_eq!(s.samples, 10);
        assert!(s.fragments >= 2, "{s:?}");
        assert!((s.seconds() - 2.0).abs() < 0.01, "{s:?}");
        assert!(scan(&data[..data.len() - 10]).is_err());
    }

    #[test]
    fn refuses_garbage_and_empty() {
        assert!(scan(&b""[..]).is_err());
        assert!(scan(&b"\x00\x00\x00\x10moovxxxx"[..]).is_err());
        assert!(scan(&b"\x00\x00\x00\x04ftyp"[..]).is_err());
    }
}
