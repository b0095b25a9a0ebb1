//! [`write_events`]: drives an [`Mp4Writer`] from a source's [`Event`] sequence — the loop every
//! export runs (streams first, units, gaps, end), including gaps reported before the streams
//! are known and streams described again mid-pull.

use std::io::Write;

use jiff::Timestamp;
use scelle_adapters::{Event, Gap};

use super::{Mp4Error, Mp4Summary, Mp4Writer, Provenance};

/// Writes every event until [`Event::End`] (or the end of `events`) and finishes the file.
/// Synchronous like the writer: from a tokio channel, run it in `spawn_blocking` with
/// `std::iter::from_fn(|| rx.blocking_recv())`.
pub fn write_events<W: Write>(
    events: impl IntoIterator<Item = Event>,
    out: W,
    provenance: Provenance,
    fallback_start: Timestamp,
) -> Result<(W, Mp4Summary), Mp4Error> {
    let mut out = Some(out);
    let mut writer: Option<Mp4Writer<W>> = None;
    let mut early_gaps: Vec<Gap> = Vec::new();
    for ev in events {
        match ev {
            Event::Streams(streams) => match writer.as_mut() {
                Some(w) => w.update_streams(&streams)?,
                None => {
                    let sink = out.take().ok_or(Mp4Error::NoStreams { gaps: Vec::new() })?;
                    let mut w = Mp4Writer::new(sink, &streams, provenance.clone(), fallback_start)?;
                    for g in early_gaps.drain(..) {
                        w.gap(&g)?;
                    }
                    writer = Some(w);
                }
            },
            Event::Unit(unit) => match writer.as_mut() {
                Some(w) => w.push(unit)?,
                None => {
                    return Err(Mp4Error::UnknownStream {
                        stream: unit.stream,
                    });
                }
            },
            Event::Gap(gap) => match writer.as_mut() {
                Some(w) => w.gap(&gap)?,
                None => early_gaps.push(gap),
            },
            // The delivery speed is for the progress line; times are already media times.
            Event::Pace(_) => {}
            Event::End => break,
        }
    }
    match writer {
        Some(w) => w.finish(),
        None => Err(Mp4Error::NoStreams { gaps: early_gaps }),
    }
}
