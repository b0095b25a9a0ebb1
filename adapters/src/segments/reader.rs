//! Reads one recorded MP4 segment (untrusted bytes from a recorder's share): finds `moov`
//! wherever it is (recorders write it last), decodes it with `mp4-atom`, expands the sample
//! tables of the first video track (H.264/H.265) and the first AAC track, and reads samples on
//! demand by offset, so a segment's `mdat` is never loaded whole. Video samples come out with
//! 4-byte NAL length prefixes whatever the file used; parameter sets come from `avcC`/`hvcC`.

use std::io::{self, Read, Seek, SeekFrom};
use std::time::Duration;

use bytes::Bytes;
use jiff::Timestamp;
use mp4_atom::{Codec as Entry, Decode, Moov, StszSamples};

use crate::{Codec, StreamInfo};

/// `moov` larger than this is refused (a real one is kilobytes to a few MiB).
const MAX_MOOV: u64 = 64 << 20;
/// A sample larger than this is refused (no camera picture is this big).
const MAX_SAMPLE: u32 = 32 << 20;
/// Samples per track beyond this are refused (≈ 11 h at 25 fps).
const MAX_SAMPLES: usize = 1_000_000;

/// Why a segment cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error("not a readable MP4 segment: {0}")]
    Format(String),
}

fn bad(msg: impl Into<String>) -> ReadError {
    ReadError::Format(msg.into())
}

/// Where one sample lives and when it plays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SampleRef {
    /// Index into [`SegmentReader::streams`].
    pub stream: usize,
    pub offset: u64,
    pub size: u32,
    /// Decode time in the track's timescale, from the start of the segment.
    pub time: u64,
    /// Presentation time minus decode time (`ctts`), shifted so the track's first picture shown
    /// is shown at time 0, as an edit list would (the B-frame delay): `time + cto` is the
    /// presentation time from the start of the segment.
    pub cto: i64,
    pub keyframe: bool,
}

/// An opened segment: its streams, its sample list (in time order across tracks), its length.
pub struct SegmentReader<R> {
    r: R,
    pub streams: Vec<StreamInfo>,
    /// NAL length size of each stream (video), 0 for audio.
    length_sizes: Vec<u8>,
    pub samples: Vec<SampleRef>,
    /// Media length of the longest track.
    pub duration: Duration,
    /// `mvhd` creation time, when the file sets one (0 means unset).
    pub creation_time: Option<Timestamp>,
}

impl<R: Read + Seek> SegmentReader<R> {
    pub fn open(mut r: R) -> Result<Self, ReadError> {
        let mut moov = find_moov(&mut r)?;
        keep_only_needed_boxes(&mut moov, 0);
        let moov = Moov::decode(&mut &moov[..]).map_err(|e| bad(format!("moov: {e}")))?;
        let mut streams = Vec::new();
        let mut length_sizes = Vec::new();
        let mut samples = Vec::new();
        let mut duration = Duration::ZERO;
        let (mut have_video, mut have_audio) = (false, false);
        for trak in &moov.trak {
            let stbl = &trak.mdia.minf.stbl;
            let timescale = trak.mdia.mdhd.timescale;
            if timescale == 0 {
                continue;
            }
            let Some(entry) = stbl.stsd.codecs.first() else {
                continue;
            };
            let (info, length_size) = match entry {
                Entry::Avc1(a) if !have_video => {
                    let c = &a.avcc;
                    let mut sets: Vec<Bytes> = c
                        .sequence_parameter_sets
                        .iter()
                        .cloned()
                        .map(Bytes::from)
                        .collect();
                    sets.extend(c.picture_parameter_sets.iter().cloned().map(Bytes::from));
                    let video = video_info(
                        Codec::H264,
                        timescale,
                        sets,
                        a.visual.width,
                        a.visual.height,
                    );
                    (video, c.length_size)
                }
                Entry::Hvc1(h) if !have_video => {
                    let video = video_info(
                        Codec::H265,
                        timescale,
                        hevc_sets(&h.hvcc),
                        h.visual.width,
                        h.visual.height,
                    );
                    (video, h.hvcc.length_size_minus_one + 1)
                }
                Entry::Hev1(h) if !have_video => {
                    let video = video_info(
                        Codec::H265,
                        timescale,
                        hevc_sets(&h.hvcc),
                        h.visual.width,
                        h.visual.height,
                    );
                    (video, h.hvcc.length_size_minus_one + 1)
                }
                Entry::Mp4a(m) if !have_audio => {
                    let Some(dsi) = &m.esds.es_desc.dec_config.dec_specific else {
                        continue;
                    };
                    let raw = aac_config(dsi);
                    let info = StreamInfo {
                        index: 0,
                        codec: Codec::Aac,
                        clock_rate: timescale,
                        parameter_sets: Vec::new(),
                        audio_config: Bytes::from(raw),
                        width: None,
                        height: None,
                        sample_rate: Some(u32::from(m.audio.sample_rate.integer())),
                        channels: Some(m.audio.channel_count),
                    };
                    (info, 0)
                }
                _ => continue,
            };
            if !matches!(length_size, 0 | 1 | 2 | 4) {
                return Err(bad(format!("NAL length size {length_size}")));
            }
            let is_video = info.codec != Codec::Aac;
            let track_samples = expand(stbl, streams.len(), is_video)?;
            if let Some(last) = track_samples.last() {
                let ticks = last.time + last_delta(stbl);
                let d = Duration::from_nanos(
                    (u128::from(ticks) * 1_000_000_000 / u128::from(timescale)) as u64,
                );
                duration = duration.max(d);
            }
            have_video |= is_video;
            have_audio |= !is_video;
            streams.push(info);
            length_sizes.push(length_size);
            samples.extend(track_samples);
        }
        // Video first: stream 0 is the video stream when there is one.
        if let Some(v) = streams.iter().position(|s| s.codec != Codec::Aac)
            && v != 0
        {
            streams.swap(0, v);
            length_sizes.swap(0, v);
            for s in &mut samples {
                s.stream = if s.stream == v {
                    0
                } else if s.stream == 0 {
                    v
                } else {
                    s.stream
                };
            }
        }
        for (i, s) in streams.iter_mut().enumerate() {
            s.index = i;
        }
        if streams.is_empty() {
            return Err(bad("no H.264, H.265 or AAC track"));
        }
        let rates: Vec<u32> = streams.iter().map(|s| s.clock_rate).collect();
        samples.sort_by(|a, b| {
            let ta = u128::from(a.time) * u128::from(rates[b.stream]);
            let tb = u128::from(b.time) * u128::from(rates[a.stream]);
            ta.cmp(&tb).then(a.stream.cmp(&b.stream))
        });
        let creation_time = match moov.mvhd.creation_time {
            0 => None,
            t => Timestamp::from_second(t as i64 - 2_082_844_800).ok(),
        };
        Ok(SegmentReader {
            r,
            streams,
            length_sizes,
            samples,
            duration,
            creation_time,
        })
    }

    /// Reads one sample's bytes; video is returned with 4-byte NAL lengths.
    pub fn read(&mut self, s: &SampleRef) -> Result<Bytes, ReadError> {
        self.r.seek(SeekFrom::Start(s.offset))?;
        let mut buf = vec![0u8; s.size as usize];
        self.r.read_exact(&mut buf)?;
        match self.length_sizes.get(s.stream).copied() {
            Some(4) => {
                check_nals(&buf)?;
                Ok(Bytes::from(buf))
            }
            Some(n @ (1 | 2)) => relength(&buf, n).map(Bytes::from),
            _ => Ok(Bytes::from(buf)),
        }
    }
}

fn video_info(codec: Codec, clock_rate: u32, sets: Vec<Bytes>, w: u16, h: u16) -> StreamInfo {
    StreamInfo {
        index: 0,
        codec,
        clock_rate,
        parameter_sets: sets,
        audio_config: Bytes::new(),
        width: (w > 0).then_some(u32::from(w)),
        height: (h > 0).then_some(u32::from(h)),
        sample_rate: None,
        channels: None,
    }
}

fn hevc_sets(c: &mp4_atom::Hvcc) -> Vec<Bytes> {
    let mut out = Vec::new();
    for ty in [32u8, 33, 34] {
        for a in c.arrays.iter().filter(|a| a.nal_unit_type == ty) {
            out.extend(a.nalus.iter().cloned().map(Bytes::from));
        }
    }
    for a in c
        .arrays
        .iter()
        .filter(|a| !(32..=34).contains(&a.nal_unit_type))
    {
        out.extend(a.nalus.iter().cloned().map(Bytes::from));
    }
    out
}

fn aac_config(dsi: &mp4_atom::esds::DecoderSpecific) -> Vec<u8> {
    if dsi.raw.len() >= 2 {
        return dsi.raw.clone();
    }
    // Two-byte AudioSpecificConfig rebuilt from the decoded fields (object type, frequency
    // index, channel configuration); enough for AAC-LC, which is what cameras send.
    let profile = dsi.profile.min(31);
    let freq = dsi.freq_index.min(15);
    let chan = dsi.chan_conf.min(15);
    vec![
        (profile << 3) | (freq >> 1),
        ((freq & 1) << 7) | (chan << 3),
    ]
}

fn last_delta(stbl: &mp4_atom::Stbl) -> u64 {
    stbl.stts
        .entries
        .last()
        .map_or(0, |e| u64::from(e.sample_delta))
}

/// Expands stts/stsz/stsc/stco/stss into one entry per sample.
fn expand(
    stbl: &mp4_atom::Stbl,
    stream: usize,
    is_video: bool,
) -> Result<Vec<SampleRef>, ReadError> {
    let sizes: Vec<u32> = match &stbl.stsz.samples {
        StszSamples::Identical { count, size } => {
            if *count as usize > MAX_SAMPLES {
                return Err(bad("too many samples"));
            }
            vec![*size; *count as usize]
        }
        StszSamples::Different { sizes } => sizes.clone(),
    };
    if sizes.len() > MAX_SAMPLES {
        return Err(bad("too many samples"));
    }
    let chunks: Vec<u64> = match (&stbl.stco, &stbl.co64) {
        (Some(s), _) => s.entries.iter().map(|&o| u64::from(o)).collect(),
        (None, Some(c)) => c.entries.clone(),
        (None, None) => return Err(bad("no chunk offsets")),
    };
    let n = sizes.len();
    let mut out = Vec::with_capacity(n);
    // Decode times.
    let mut times = Vec::with_capacity(n);
    let mut t = 0u64;
    'stts: for e in &stbl.stts.entries {
        for _ in 0..e.sample_count {
            if times.len() == n {
                break 'stts;
            }
            times.push(t);
            t = t.saturating_add(u64::from(e.sample_delta));
        }
    }
    if times.len() < n {
        return Err(bad("stts covers fewer samples than stsz"));
    }
    // Sample → chunk.
    let stsc = &stbl.stsc.entries;
    let mut sample = 0usize;
    for (ci, &chunk_offset) in chunks.iter().enumerate() {
        let chunk_no = ci as u32 + 1;
        let per_chunk = stsc
            .iter()
            .rev()
            .find(|e| e.first_chunk <= chunk_no)
            .map_or(0, |e| e.samples_per_chunk) as usize;
        let mut offset = chunk_offset;
        for _ in 0..per_chunk {
            if sample == n {
                break;
            }
            let size = sizes[sample];
            if size > MAX_SAMPLE {
                return Err(bad(format!("sample {sample} is {size} bytes")));
            }
            out.push(SampleRef {
                stream,
                offset,
                size,
                time: times[sample],
                cto: 0,
                keyframe: !is_video,
            });
            offset = offset.saturating_add(u64::from(size));
            sample += 1;
        }
        if sample == n {
            break;
        }
    }
    if out.len() < n {
        return Err(bad("chunks hold fewer samples than stsz lists"));
    }
    // Composition offsets (B-frames), then the shift that shows the first picture at 0.
    if let Some(ctts) = &stbl.ctts {
        let mut i = 0usize;
        'ctts: for e in &ctts.entries {
            for _ in 0..e.sample_count {
                let Some(s) = out.get_mut(i) else {
                    break 'ctts;
                };
                // A real offset is a few frames; clamp what a hostile file claims.
                s.cto = e.sample_offset.clamp(-(1 << 40), 1 << 40);
                i += 1;
            }
        }
        let first_shown = out
            .iter()
            .map(|s| ticks(s.time).saturating_add(s.cto))
            .min()
            .unwrap_or(0);
        let shift = first_shown.saturating_sub(out.first().map_or(0, |s| ticks(s.time)));
        for s in &mut out {
            s.cto = s.cto.saturating_sub(shift);
        }
    }
    if is_video {
        match &stbl.stss {
            Some(stss) => {
                for &k in &stss.entries {
                    if let Some(s) = (k as usize).checked_sub(1).and_then(|i| out.get_mut(i)) {
                        s.keyframe = true;
                    }
                }
            }
            None => out.iter_mut().for_each(|s| s.keyframe = true),
        }
    }
    Ok(out)
}

fn ticks(t: u64) -> i64 {
    i64::try_from(t).unwrap_or(i64::MAX)
}

/// Children each container may keep; everything else is renamed `free` before `mp4-atom`
/// decodes the `moov`. Boxes we do not use (sample groups, sub-samples, encryption, edit
/// lists, user data) cannot then cost memory or fail the decode: the fuzzer found an `sgpd`
/// whose entry count made `mp4-atom` allocate gigabytes.
const KEEP: &[(&[u8; 4], &[&[u8; 4]])] = &[
    (b"moov", &[b"mvhd", b"trak"]),
    (b"trak", &[b"tkhd", b"mdia"]),
    (b"mdia", &[b"mdhd", b"hdlr", b"minf"]),
    (b"minf", &[b"vmhd", b"smhd", b"dinf", b"stbl"]),
    (
        b"stbl",
        &[
            b"stsd", b"stts", b"ctts", b"stss", b"stsc", b"stsz", b"stco", b"co64",
        ],
    ),
];

/// Renames unneeded children of the container box at `buf[0..]` to `free`, recursively.
fn keep_only_needed_boxes(buf: &mut [u8], depth: usize) {
    if buf.len() < 8 || depth > 8 {
        return;
    }
    let kind: [u8; 4] = [buf[4], buf[5], buf[6], buf[7]];
    let Some((_, keep)) = KEEP.iter().find(|(k, _)| **k == kind) else {
        return;
    };
    let mut pos = 8;
    while pos + 8 <= buf.len() {
        let size =
            u32::from_be_bytes([buf[pos], buf[pos + 1], buf[pos + 2], buf[pos + 3]]) as usize;
        // 64-bit or to-the-end sizes do not occur inside a real moov; leave them to the decoder.
        if size < 8 || pos + size > buf.len() {
            return;
        }
        let child = [buf[pos + 4], buf[pos + 5], buf[pos + 6], buf[pos + 7]];
        if keep.contains(&&child) {
            keep_only_needed_boxes(&mut buf[pos..pos + size], depth + 1);
        } else {
            buf[pos + 4..pos + 8].copy_from_slice(b"free");
        }
        pos += size;
    }
}

/// Scans top-level boxes for `moov` and returns its bytes (header included).
fn find_moov<R: Read + Seek>(r: &mut R) -> Result<Vec<u8>, ReadError> {
    let end = r.seek(SeekFrom::End(0))?;
    let mut pos = 0u64;
    r.seek(SeekFrom::Start(0))?;
    while pos + 8 <= end {
        let mut h = [0u8; 8];
        r.read_exact(&mut h)?;
        let size32 = u32::from_be_bytes([h[0], h[1], h[2], h[3]]);
        let (size, header) = match size32 {
            0 => (end - pos, 8),
            1 => {
                let mut l = [0u8; 8];
                r.read_exact(&mut l)?;
                (u64::from_be_bytes(l), 16)
            }
            s => (u64::from(s), 8),
        };
        if size < header || pos.checked_add(size).is_none_or(|e| e > end) {
            return Err(bad(format!("box at {pos} runs past the end of the file")));
        }
        if &h[4..8] == b"moov" {
            if size > MAX_MOOV {
                return Err(bad("moov too large"));
            }
            let mut buf = vec![0u8; size as usize];
            r.seek(SeekFrom::Start(pos))?;
            r.read_exact(&mut buf)?;
            if header == 16 {
                // Rewrite as a 32-bit header for the decoder.
                let body = buf.split_off(16);
                let mut out = Vec::with_capacity(body.len() + 8);
                out.extend_from_slice(&((body.len() + 8) as u32).to_be_bytes());
                out.extend_from_slice(b"moov");
                out.extend_from_slice(&body);
                return Ok(out);
            }
            return Ok(buf);
        }
        pos += size;
        r.seek(SeekFrom::Start(pos))?;
    }
    Err(bad(
        "no moov box (an unfinished recording, or a fragmented file)",
    ))
}

/// Checks that 4-byte length-prefixed NAL units exactly fill the sample.
fn check_nals(buf: &[u8]) -> Result<(), ReadError> {
    let mut rest = buf;
    while !rest.is_empty() {
        if rest.len() < 4 {
            return Err(bad("truncated NAL length"));
        }
        let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        rest = rest
            .get(4 + len..)
            .ok_or_else(|| bad("NAL unit runs past its sample"))?;
    }
    Ok(())
}

/// Rewrites 1- or 2-byte NAL lengths as 4-byte ones.
fn relength(buf: &[u8], n: u8) -> Result<Vec<u8>, ReadError> {
    let n = usize::from(n);
    let mut out = Vec::with_capacity(buf.len() + buf.len() / 8);
    let mut rest = buf;
    while !rest.is_empty() {
        let head = rest.get(..n).ok_or_else(|| bad("truncated NAL length"))?;
        let len = head.iter().fold(0usize, |a, &b| (a << 8) | usize::from(b));
        let nal = rest
            .get(n..n + len)
            .ok_or_else(|| bad("NAL unit runs past its sample"))?;
        out.extend_from_slice(&(len as u32).to_be_bytes());
        out.extend_from_slice(nal);
        rest = &rest[n + len..];
    }
    Ok(out)
}
