//! The file's head: `ftyp`, the file-level `meta` carrying the ONVIF export boxes (`suep`,
//! `cstb`), and `moov` with one `trak` per stream plus `mvex`. Written once, before the first
//! fragment, when the absolute start time is known.

use bytes::Bytes;
use jiff::Timestamp;
use scelle_adapters::{Codec, StreamInfo};

use super::boxes::{self, MP4_EPOCH_OFFSET_SECS, WINDOWS_EPOCH_OFFSET_SECS, bx, full};
use super::{Mp4Error, Provenance};
use scelle_adapters::rtsp::sps::{self as nal, SpsFacts};

/// A stream as the writer tracks it: its description plus what was derived from the SPS.
#[derive(Clone, Debug)]
pub(super) struct Track {
    pub info: StreamInfo,
    pub track_id: u32,
    pub width: u32,
    pub height: u32,
    pub sps: Option<SpsFacts>,
    /// The B-frame delay: composition time of the first picture shown, in the track's
    /// timescale. An edit list starts presentation there, so the first picture is shown at 0.
    pub delay: u32,
}

impl Track {
    pub(super) fn new(info: &StreamInfo, track_id: u32) -> Result<Track, Mp4Error> {
        let bad = |why: &str| Mp4Error::BadStream {
            stream: info.index,
            why: why.to_string(),
        };
        if info.clock_rate == 0 {
            return Err(bad("clock rate is 0"));
        }
        let sps = match info.codec {
            Codec::H264 => {
                let sps = find_nal(&info.parameter_sets, |t| t[0] & 0x1f == 7)
                    .ok_or_else(|| bad("no H.264 SPS among the parameter sets"))?;
                find_nal(&info.parameter_sets, |t| t[0] & 0x1f == 8)
                    .ok_or_else(|| bad("no H.264 PPS among the parameter sets"))?;
                if sps.len() < 4 {
                    return Err(bad("H.264 SPS too short"));
                }
                nal::h264(sps)
            }
            Codec::H265 => {
                for (t, name) in [(32, "VPS"), (33, "SPS"), (34, "PPS")] {
                    find_nal(&info.parameter_sets, |n| (n[0] >> 1) & 0x3f == t)
                        .ok_or_else(|| bad(&format!("no H.265 {name} among the parameter sets")))?;
                }
                let sps = find_nal(&info.parameter_sets, |n| (n[0] >> 1) & 0x3f == 33)
                    .unwrap_or_default();
                Some(nal::h265(sps).ok_or_else(|| bad("H.265 SPS cannot be parsed"))?)
            }
            Codec::Aac => {
                if info.audio_config.len() < 2 {
                    return Err(bad("AAC stream without an AudioSpecificConfig"));
                }
                None
            }
            Codec::Pcmu | Codec::Pcma => None,
        };
        let width = info.width.or(sps.as_ref().map(|s| s.width)).unwrap_or(0);
        let height = info.height.or(sps.as_ref().map(|s| s.height)).unwrap_or(0);
        if info.codec.is_video() && (width == 0 || height == 0) {
            return Err(bad(
                "picture size unknown (not in the stream info, SPS unreadable)",
            ));
        }
        Ok(Track {
            info: info.clone(),
            track_id,
            width,
            height,
            sps,
            delay: 0,
        })
    }

    pub(super) fn is_video(&self) -> bool {
        self.info.codec.is_video()
    }
}

fn find_nal(sets: &[Bytes], pred: impl Fn(&[u8]) -> bool) -> Option<&[u8]> {
    sets.iter()
        .map(|b| &b[..])
        .find(|b| !b.is_empty() && pred(b))
}

/// Seconds since 1904 for `mvhd`/`tkhd`/`mdhd` and `suep`.
pub(super) fn mp4_time(t: Timestamp) -> u64 {
    (t.as_second() + MP4_EPOCH_OFFSET_SECS).max(0) as u64
}

/// 100-ns intervals since 1601 for `cstb`.
pub(super) fn windows_time(t: Timestamp) -> u64 {
    let ns = t.as_nanosecond() + i128::from(WINDOWS_EPOCH_OFFSET_SECS) * 1_000_000_000;
    (ns / 100).max(0) as u64
}

/// Writes ftyp + meta + moov. `start` is the absolute time of media time 0.
pub(super) fn write_head(buf: &mut Vec<u8>, tracks: &[Track], start: Timestamp, prov: &Provenance) {
    let export_time = prov.export_time.unwrap_or_else(Timestamp::now);
    bx(buf, b"ftyp", |b| {
        b.extend_from_slice(b"isom");
        boxes::u32(b, 0x200);
        for brand in [b"isom", b"iso6", b"mp41"] {
            b.extend_from_slice(brand);
        }
    });
    write_meta(buf, tracks, start, export_time, prov);
    let created = mp4_time(start);
    let modified = mp4_time(export_time);
    bx(buf, b"moov", |b| {
        full(b, b"mvhd", 1, 0, |b| {
            boxes::u64(b, created);
            boxes::u64(b, modified);
            boxes::u32(b, 1000);
            boxes::u64(b, 0);
            boxes::u32(b, 0x0001_0000); // rate 1.0
            boxes::u16(b, 0x0100); // volume 1.0
            boxes::zeros(b, 10);
            boxes::matrix(b);
            boxes::zeros(b, 24);
            boxes::u32(b, tracks.len() as u32 + 1);
        });
        for t in tracks {
            write_trak(b, t, created, modified);
        }
        bx(b, b"mvex", |b| {
            for t in tracks {
                full(b, b"trex", 0, 0, |b| {
                    boxes::u32(b, t.track_id);
                    boxes::u32(b, 1);
                    boxes::u32(b, 0);
                    boxes::u32(b, 0);
                    boxes::u32(b, 0);
                });
            }
        });
        write_udta(b, prov);
    });
}

/// The file-level `meta`: `hdlr`, ONVIF `suep` (provenance) and `cstb` (start time per track).
/// Placed before `moov` because ONVIF asks for `suep` "as early as possible".
fn write_meta(
    buf: &mut Vec<u8>,
    tracks: &[Track],
    start: Timestamp,
    export: Timestamp,
    prov: &Provenance,
) {
    full(buf, b"meta", 0, 0, |b| {
        full(b, b"hdlr", 0, 0, |b| {
            boxes::u32(b, 0);
            b.extend_from_slice(b"null");
            boxes::zeros(b, 12);
            boxes::cstr(b, "ONVIF export information");
        });
        full(b, b"suep", 1, 0, |b| {
            boxes::cstr(b, &prov.export_unit_name);
            boxes::cstr(b, &prov.export_unit_url);
            boxes::cstr(b, &prov.export_unit_mac);
            boxes::u64(b, mp4_time(export));
            boxes::cstr(b, &prov.operator);
            boxes::u32(b, tracks.len() as u32);
            for (i, t) in tracks.iter().enumerate() {
                let src = prov.sources.get(i).cloned().unwrap_or_default();
                boxes::u16(b, t.track_id as u16);
                boxes::cstr(b, &src.name);
                boxes::cstr(b, &src.url);
                boxes::cstr(b, &src.mac);
                boxes::cstr(b, &src.line);
            }
        });
        bx(b, b"cstb", |b| {
            boxes::u32(b, tracks.len() as u32);
            for t in tracks {
                boxes::u32(b, t.track_id);
                boxes::u64(b, windows_time(start));
            }
        });
    });
}

/// `udta` with a QuickTime-style comment that ordinary players (ffprobe) show, so the case
/// and operator are visible without an ONVIF-aware tool.
fn write_udta(buf: &mut Vec<u8>, prov: &Provenance) {
    let mut text = String::from("scelle export");
    if let Some(case) = &prov.case_id {
        text.push_str(&format!("; case {case}"));
    }
    if !prov.operator.is_empty() {
        text.push_str(&format!("; operator {}", prov.operator));
    }
    if !prov.export_unit_name.is_empty() {
        text.push_str(&format!("; unit {}", prov.export_unit_name));
    }
    let text: Vec<u8> = text.bytes().filter(|&b| b != 0).take(4000).collect();
    bx(buf, b"udta", |b| {
        bx(b, b"\xa9cmt", |b| {
            boxes::u16(b, text.len() as u16);
            boxes::u16(b, 0x55c4); // language "und"
            b.extend_from_slice(&text);
        });
    });
}

fn write_trak(buf: &mut Vec<u8>, t: &Track, created: u64, modified: u64) {
    bx(buf, b"trak", |b| {
        full(b, b"tkhd", 1, 3, |b| {
            boxes::u64(b, created);
            boxes::u64(b, modified);
            boxes::u32(b, t.track_id);
            boxes::u32(b, 0);
            boxes::u64(b, 0);
            boxes::zeros(b, 8);
            boxes::u16(b, 0); // layer
            boxes::u16(b, 0); // alternate group
            boxes::u16(b, if t.is_video() { 0 } else { 0x0100 });
            boxes::u16(b, 0);
            boxes::matrix(b);
            boxes::u32(b, t.width << 16);
            boxes::u32(b, t.height << 16);
        });
        if t.delay > 0 {
            // One edit: the whole (fragmented, so unknown: 0) duration from media time `delay`.
            bx(b, b"edts", |b| {
                full(b, b"elst", 0, 0, |b| {
                    boxes::u32(b, 1);
                    boxes::u32(b, 0);
                    boxes::u32(b, t.delay);
                    boxes::u32(b, 0x0001_0000);
                });
            });
        }
        bx(b, b"mdia", |b| {
            full(b, b"mdhd", 1, 0, |b| {
                boxes::u64(b, created);
                boxes::u64(b, modified);
                boxes::u32(b, t.info.clock_rate);
                boxes::u64(b, 0);
                boxes::u16(b, 0x55c4);
                boxes::u16(b, 0);
            });
            full(b, b"hdlr", 0, 0, |b| {
                boxes::u32(b, 0);
                b.extend_from_slice(if t.is_video() { b"vide" } else { b"soun" });
                boxes::zeros(b, 12);
                boxes::cstr(
                    b,
                    if t.is_video() {
                        "scelle video"
                    } else {
                        "scelle audio"
                    },
                );
            });
            bx(b, b"minf", |b| {
                if t.is_video() {
                    full(b, b"vmhd", 0, 1, |b| boxes::zeros(b, 8));
                } else {
                    full(b, b"smhd", 0, 0, |b| boxes::zeros(b, 4));
                }
                bx(b, b"dinf", |b| {
                    full(b, b"dref", 0, 0, |b| {
                        boxes::u32(b, 1);
                        full(b, b"url ", 0, 1, |_| {});
                    });
                });
                bx(b, b"stbl", |b| {
                    full(b, b"stsd", 0, 0, |b| {
                        boxes::u32(b, 1);
                        write_sample_entry(b, t);
                    });
                    full(b, b"stts", 0, 0, |b| boxes::u32(b, 0));
                    full(b, b"stsc", 0, 0, |b| boxes::u32(b, 0));
                    full(b, b"stsz", 0, 0, |b| boxes::zeros(b, 8));
                    full(b, b"stco", 0, 0, |b| boxes::u32(b, 0));
                });
            });
        });
    });
}

fn write_sample_entry(buf: &mut Vec<u8>, t: &Track) {
    match t.info.codec {
        Codec::H264 => visual_entry(buf, b"avc1", t, |b| {
            bx(b, b"avcC", |b| write_avcc(b, &t.info.parameter_sets));
        }),
        Codec::H265 => visual_entry(buf, b"hvc1", t, |b| {
            bx(b, b"hvcC", |b| write_hvcc(b, t));
        }),
        Codec::Aac => write_mp4a(buf, t),
        Codec::Pcmu => write_g711(buf, b"ulaw", t),
        Codec::Pcma => write_g711(buf, b"alaw", t),
    }
}

fn visual_entry(buf: &mut Vec<u8>, kind: &[u8; 4], t: &Track, config: impl FnOnce(&mut Vec<u8>)) {
    bx(buf, kind, |b| {
        boxes::zeros(b, 6);
        boxes::u16(b, 1); // data_reference_index
        boxes::zeros(b, 16);
        boxes::u16(b, t.width.min(65535) as u16);
        boxes::u16(b, t.height.min(65535) as u16);
        boxes::u32(b, 0x0048_0000);
        boxes::u32(b, 0x0048_0000);
        boxes::u32(b, 0);
        boxes::u16(b, 1); // frame_count
        boxes::zeros(b, 32); // compressorname
        boxes::u16(b, 0x0018);
        boxes::u16(b, 0xffff);
        config(b);
    });
}

fn write_avcc(b: &mut Vec<u8>, sets: &[Bytes]) {
    let sps: Vec<&Bytes> = sets
        .iter()
        .filter(|n| !n.is_empty() && n[0] & 0x1f == 7)
        .collect();
    let pps: Vec<&Bytes> = sets
        .iter()
        .filter(|n| !n.is_empty() && n[0] & 0x1f == 8)
        .collect();
    let first = sps.first().map(|s| &s[..]).unwrap_or(&[0, 0, 0, 0]);
    boxes::u8(b, 1);
    b.extend_from_slice(&first[1..4]);
    boxes::u8(b, 0xff); // 4-byte lengths
    boxes::u8(b, 0xe0 | (sps.len().min(31) as u8));
    for s in sps.iter().take(31) {
        boxes::u16(b, s.len() as u16);
        b.extend_from_slice(s);
    }
    boxes::u8(b, pps.len().min(255) as u8);
    for p in pps.iter().take(255) {
        boxes::u16(b, p.len() as u16);
        b.extend_from_slice(p);
    }
}

fn write_hvcc(b: &mut Vec<u8>, t: &Track) {
    let facts = t.sps.clone().unwrap_or_default();
    let ptl = facts.h265_ptl.unwrap_or([0; 12]);
    boxes::u8(b, 1);
    b.extend_from_slice(&ptl);
    boxes::u16(b, 0xf000); // min_spatial_segmentation_idc = 0
    boxes::u8(b, 0xfc); // parallelismType unknown
    boxes::u8(b, 0xfc | (facts.chroma_format_idc & 3) as u8);
    boxes::u8(b, 0xf8 | (facts.bit_depth_luma_minus8 & 7) as u8);
    boxes::u8(b, 0xf8 | (facts.bit_depth_chroma_minus8 & 7) as u8);
    boxes::u16(b, 0); // avgFrameRate unknown
    let layers = ((facts.max_sub_layers_minus1 + 1) & 7) as u8;
    boxes::u8(
        b,
        (layers << 3) | (u8::from(facts.temporal_id_nesting) << 2) | 3,
    );
    let mut arrays: Vec<(u8, Vec<&Bytes>)> = Vec::new();
    for nal in t.info.parameter_sets.iter().filter(|n| n.len() >= 2) {
        let ty = (nal[0] >> 1) & 0x3f;
        match arrays.iter_mut().find(|(t, _)| *t == ty) {
            Some((_, v)) => v.push(nal),
            None => arrays.push((ty, vec![nal])),
        }
    }
    boxes::u8(b, arrays.len() as u8);
    for (ty, nals) in arrays {
        boxes::u8(b, 0x80 | ty);
        boxes::u16(b, nals.len() as u16);
        for n in nals {
            boxes::u16(b, n.len() as u16);
            b.extend_from_slice(n);
        }
    }
}

fn write_mp4a(buf: &mut Vec<u8>, t: &Track) {
    let asc = &t.info.audio_config;
    let rate = t.info.sample_rate.unwrap_or(t.info.clock_rate);
    bx(buf, b"mp4a", |b| {
        boxes::zeros(b, 6);
        boxes::u16(b, 1);
        boxes::zeros(b, 8);
        boxes::u16(b, t.info.channels.unwrap_or(2));
        boxes::u16(b, 16);
        boxes::zeros(b, 4);
        boxes::u32(b, if rate < 65536 { rate << 16 } else { 0 });
        full(b, b"esds", 0, 0, |b| {
            let dsi_len = asc.len() as u32;
            let dcd_len = 13 + 5 + dsi_len;
            let es_len = 3 + 5 + dcd_len + 5 + 1;
            descriptor(b, 3, es_len);
            boxes::u16(b, 1); // ES_ID
            boxes::u8(b, 0);
            descriptor(b, 4, dcd_len);
            boxes::u8(b, 0x40); // MPEG-4 audio
            boxes::u8(b, 0x15); // audio stream
            b.extend_from_slice(&[0, 0, 0]); // buffer size
            boxes::u32(b, 0);
            boxes::u32(b, 0);
            descriptor(b, 5, dsi_len);
            b.extend_from_slice(asc);
            descriptor(b, 6, 1);
            boxes::u8(b, 2);
        });
    });
}

/// G.711 as received: the QuickTime `ulaw`/`alaw` sound entry (version 0), one byte per
/// sample, the sample rate in 16.16 (decision 0094). ffmpeg reads it as `pcm_mulaw`/`pcm_alaw`.
fn write_g711(buf: &mut Vec<u8>, kind: &[u8; 4], t: &Track) {
    let rate = t.info.sample_rate.unwrap_or(t.info.clock_rate);
    bx(buf, kind, |b| {
        boxes::zeros(b, 6);
        boxes::u16(b, 1); // data_reference_index
        boxes::zeros(b, 8); // version 0, revision, vendor
        boxes::u16(b, t.info.channels.unwrap_or(1));
        boxes::u16(b, 16); // sample size as QuickTime states it for 8-bit companded audio
        boxes::zeros(b, 4); // compression id, packet size
        boxes::u32(b, if rate < 65536 { rate << 16 } else { 0 });
    });
}

/// An MPEG-4 descriptor header with a 4-byte expandable length.
fn descriptor(b: &mut Vec<u8>, tag: u8, len: u32) {
    boxes::u8(b, tag);
    b.extend_from_slice(&[
        0x80 | ((len >> 21) & 0x7f) as u8,
        0x80 | ((len >> 14) & 0x7f) as u8,
        0x80 | ((len >> 7) & 0x7f) as u8,
        (len & 0x7f) as u8,
    ]);
}
