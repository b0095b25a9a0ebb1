//! One movie fragment: `moof` (with `tfdt` and `trun` per track, as ONVIF requires; `trun` with
//! composition offsets when pictures are reordered) followed by its `mdat`. The `moof` is built
//! in memory (a few bytes per sample); sample data goes straight from the access units' buffers
//! to the output.

use std::io::{self, Write};

use bytes::Bytes;

use super::boxes::{self, bx, full};

/// A sample waiting for its fragment.
#[derive(Clone, Debug)]
pub(super) struct Sample {
    /// Parameter sets to put in front of this picture (they changed mid-stream), already
    /// length-prefixed.
    pub prefix: Option<Bytes>,
    pub data: Bytes,
    /// Decode time in the track's timescale, relative to the media origin.
    pub time: u64,
    pub duration: u32,
    /// Presentation time minus decode time (negative for pictures shown before a picture
    /// decoded earlier).
    pub cto: i32,
    pub keyframe: bool,
}

impl Sample {
    pub(super) fn size(&self) -> u64 {
        (self.prefix.as_ref().map_or(0, |p| p.len()) + self.data.len()) as u64
    }
}

/// The samples of one track in a fragment.
pub(super) struct Run<'a> {
    pub track_id: u32,
    pub samples: &'a [Sample],
}

const TRUN_FLAGS: u32 = 0x0001 | 0x0100 | 0x0200 | 0x0400; // offset, duration, size, flags
/// Per-sample composition time offsets (only when a run has B-frames).
const TRUN_CTO: u32 = 0x0800;
const SYNC: u32 = 0x0200_0000; // depends on no other sample
const NON_SYNC: u32 = 0x0101_0000; // depends on others, is_non_sync_sample

/// Writes `moof` + `mdat`; returns the number of bytes written.
pub(super) fn write_fragment<W: Write>(
    out: &mut W,
    sequence: u32,
    runs: &[Run<'_>],
) -> io::Result<u64> {
    let runs: Vec<&Run<'_>> = runs.iter().filter(|r| !r.samples.is_empty()).collect();
    let payload: u64 = runs
        .iter()
        .flat_map(|r| r.samples.iter())
        .map(Sample::size)
        .sum();
    let large = payload + 8 > u64::from(u32::MAX);
    let mdat_header = if large { 16 } else { 8 };

    let mut moof = Vec::with_capacity(
        64 + runs
            .iter()
            .map(|r| 40 + 16 * r.samples.len())
            .sum::<usize>(),
    );
    let mut offset_slots = Vec::with_capacity(runs.len());
    bx(&mut moof, b"moof", |b| {
        full(b, b"mfhd", 0, 0, |b| boxes::u32(b, sequence));
        for run in &runs {
            bx(b, b"traf", |b| {
                full(b, b"tfhd", 0, 0x02_0000, |b| boxes::u32(b, run.track_id));
                full(b, b"tfdt", 1, 0, |b| boxes::u64(b, run.samples[0].time));
                // Composition offsets only when needed; version 1 (signed) when one is
                // negative, which the `iso6` brand announces.
                let cto = run.samples.iter().any(|s| s.cto != 0);
                let version = u8::from(run.samples.iter().any(|s| s.cto < 0));
                let flags = if cto {
                    TRUN_FLAGS | TRUN_CTO
                } else {
                    TRUN_FLAGS
                };
                full(b, b"trun", version, flags, |b| {
                    boxes::u32(b, run.samples.len() as u32);
                    offset_slots.push(b.len());
                    boxes::u32(b, 0);
                    for s in run.samples {
                        boxes::u32(b, s.duration);
                        boxes::u32(b, s.size() as u32);
                        boxes::u32(b, if s.keyframe { SYNC } else { NON_SYNC });
                        if cto {
                            boxes::u32(b, s.cto as u32);
                        }
                    }
                });
            });
        }
    });
    let mut data_offset = moof.len() as u64 + mdat_header;
    for (slot, run) in offset_slots.iter().zip(&runs) {
        let v = u32::try_from(data_offset).unwrap_or(u32::MAX);
        moof[*slot..*slot + 4].copy_from_slice(&v.to_be_bytes());
        data_offset += run.samples.iter().map(Sample::size).sum::<u64>();
    }
    out.write_all(&moof)?;
    if large {
        out.write_all(&1u32.to_be_bytes())?;
        out.write_all(b"mdat")?;
        out.write_all(&(payload + 16).to_be_bytes())?;
    } else {
        out.write_all(&((payload + 8) as u32).to_be_bytes())?;
        out.write_all(b"mdat")?;
    }
    for s in runs.iter().flat_map(|r| r.samples.iter()) {
        if let Some(p) = &s.prefix {
            out.write_all(p)?;
        }
        out.write_all(&s.data)?;
    }
    Ok(moof.len() as u64 + mdat_header + payload)
}
