//! Vendor playback URLs: recorders that do not speak ONVIF replay (or do it badly) still serve
//! recorded footage over RTSP when the time range is written into the URL. Each vendor wants a
//! different path and time format, some in UTC and some in the recorder's local time; this
//! module renders those URLs, for the RTSP client to pull.
//!
//! A template is a string with placeholders:
//!
//! | placeholder        | value                                                             |
//! |--------------------|-------------------------------------------------------------------|
//! | `{host}` `{port}`  | the recorder's address                                            |
//! | `{channel}`        | channel number, from 1                                            |
//! | `{stream}`         | 0 for the main stream, 1 for the sub stream                       |
//! | `{track}`          | Hikvision track id: `channel × 100 + stream + 1` (101, 102, 201…) |
//! | `{start:FMT}`      | range start on the device clock, in the template's time zone,     |
//! |  `{end:FMT}`       | formatted with strftime `FMT` (e.g. `%Y%m%dT%H%M%SZ`)             |
//! | `{start_utc:FMT}`  | the same, always in UTC                                           |
//! | `{end_utc:FMT}`    |                                                                   |
//! | `{start_unix}`     | range start/end as Unix seconds                                   |
//! | `{end_unix}`       |                                                                   |
//! | `{{` `}}`          | literal braces                                                    |
//!
//! Times are the requested server-clock range moved onto the device's clock with the measured
//! offset, because the recorder indexes footage by its own clock. Presets:
//! [`Vendor::Hikvision`], [`Vendor::Dahua`], [`Vendor::Uniview`], each saying whether its
//! recorders accept a faster delivery ([`Vendor::speed`]). Credentials never go in the URL: the
//! RTSP client authenticates with Digest.

pub mod source;

use jiff::Timestamp;
use jiff::tz::TimeZone;

pub use source::VendorSource;

use crate::clock::server_to_device;
use crate::{ClockOffset, Error, TimeRange};

/// The recorder kinds a `kind = "playback"` camera names (`vendor = "…"` in the config): the
/// known vendors' URL forms, or a custom template. The one list: the config reads it, the
/// camera builder renders it, [`Vendor::name`] shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Vendor {
    /// `/Streaming/tracks/101?starttime=20261123T100000Z&endtime=…`. Hikvision NVRs read these
    /// times as the recorder's local time despite the `Z`: give the recorder's zone.
    Hikvision,
    /// `/cam/playback?channel=1&subtype=0&starttime=2026_11_23_10_00_00&endtime=…`, local time.
    Dahua,
    /// `/c1/b<unix>/e<unix>/replay/`: Unix seconds, no zone question.
    Uniview,
    /// The camera's own `template` (see the module documentation for placeholders).
    Custom,
}

impl Vendor {
    /// The name in the config and as shown to people (`hikvision`, …, `custom`).
    pub const fn name(self) -> &'static str {
        match self {
            Vendor::Hikvision => "hikvision",
            Vendor::Dahua => "dahua",
            Vendor::Uniview => "uniview",
            Vendor::Custom => "custom",
        }
    }

    /// The preset template, `None` for [`Vendor::Custom`].
    pub const fn preset(self) -> Option<&'static str> {
        match self {
            Vendor::Hikvision => Some(
                "rtsp://{host}:{port}/Streaming/tracks/{track}?starttime={start:%Y%m%dT%H%M%SZ}&endtime={end:%Y%m%dT%H%M%SZ}",
            ),
            Vendor::Dahua => Some(
                "rtsp://{host}:{port}/cam/playback?channel={channel}&subtype={stream}&starttime={start:%Y_%m_%d_%H_%M_%S}&endtime={end:%Y_%m_%d_%H_%M_%S}",
            ),
            Vendor::Uniview => {
                Some("rtsp://{host}:{port}/c{channel}/b{start_unix}/e{end_unix}/replay/")
            }
            Vendor::Custom => None,
        }
    }

    /// The delivery speed (RTSP `Speed`, decision 0093) this vendor's recorders are known to
    /// honour with every picture kept and timestamps that can be mapped back. None of the three
    /// has been checked against a device here, so all play at real time; a site that has
    /// checked its recorder sets `speed` on the camera entry, and every pull still checks it
    /// (the speed answered, the RTP clock, the pictures) before timing a unit.
    pub fn speed(self) -> Option<f64> {
        match self {
            Vendor::Hikvision | Vendor::Dahua | Vendor::Uniview | Vendor::Custom => None,
        }
    }
}

/// Which recorder and channel a URL is for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlaybackTarget {
    pub host: String,
    pub port: u16,
    pub channel: u32,
    /// `true` for the sub stream.
    pub substream: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Piece {
    Literal(String),
    Host,
    Port,
    Channel,
    Stream,
    Track,
    Time {
        end: bool,
        utc: bool,
        format: String,
    },
    Unix {
        end: bool,
    },
}

/// A parsed playback URL template with the recorder's time zone.
#[derive(Clone, Debug, PartialEq)]
pub struct PlaybackTemplate {
    pieces: Vec<Piece>,
    zone: TimeZone,
}

fn bad(template: &str, message: impl std::fmt::Display) -> Error {
    Error::Unsupported {
        what: format!("playback URL template `{template}`"),
        why: message.to_string(),
    }
}

impl PlaybackTemplate {
    /// The template of `vendor`, times in `zone` where the vendor expects local time: its
    /// preset, or `custom` for [`Vendor::Custom`] (a preset vendor takes no custom template).
    pub fn for_vendor(
        vendor: Vendor,
        custom: Option<&str>,
        zone: TimeZone,
    ) -> Result<PlaybackTemplate, Error> {
        let unsupported = |why: &str| Error::Unsupported {
            what: format!("playback vendor `{}`", vendor.name()),
            why: why.into(),
        };
        match (vendor.preset(), custom) {
            (Some(preset), None) => PlaybackTemplate::custom(preset, zone),
            (None, Some(template)) => PlaybackTemplate::custom(template, zone),
            (None, None) => Err(unsupported("vendor `custom` needs a `template`")),
            (Some(_), Some(_)) => Err(unsupported(
                "`template` is only for vendor `custom` (the others have presets)",
            )),
        }
    }

    /// A custom template (see the module documentation for placeholders).
    pub fn custom(template: &str, zone: TimeZone) -> Result<PlaybackTemplate, Error> {
        let mut pieces = Vec::new();
        let mut lit = String::new();
        let mut rest = template;
        while let Some(i) = rest.find(['{', '}']) {
            lit.push_str(&rest[..i]);
            let c = rest.as_bytes()[i];
            rest = &rest[i + 1..];
            if let Some(r) = rest.strip_prefix(c as char) {
                lit.push(c as char);
                rest = r;
                continue;
            }
            if c == b'}' {
                return Err(bad(
                    template,
                    "unmatched `}` (write `}}` for a literal brace)",
                ));
            }
            let close = rest
                .find('}')
                .ok_or_else(|| bad(template, "unclosed `{`"))?;
            let spec = &rest[..close];
            rest = &rest[close + 1..];
            if !lit.is_empty() {
                pieces.push(Piece::Literal(std::mem::take(&mut lit)));
            }
            let (name, format) = match spec.split_once(':') {
                Some((n, f)) => (n, Some(f)),
                None => (spec, None),
            };
            let piece = match (name, format) {
                ("host", None) => Piece::Host,
                ("port", None) => Piece::Port,
                ("channel", None) => Piece::Channel,
                ("stream", None) => Piece::Stream,
                ("track", None) => Piece::Track,
                ("start_unix", None) => Piece::Unix { end: false },
                ("end_unix", None) => Piece::Unix { end: true },
                ("start" | "end" | "start_utc" | "end_utc", Some(f)) if !f.is_empty() => {
                    // Check the format once now rather than at every render.
                    jiff::fmt::strtime::format(
                        f,
                        Timestamp::UNIX_EPOCH.to_zoned(TimeZone::UTC).datetime(),
                    )
                    .map_err(|e| bad(template, format!("time format `{f}`: {e}")))?;
                    Piece::Time {
                        end: name.starts_with("end"),
                        utc: name.ends_with("_utc"),
                        format: f.to_string(),
                    }
                }
                _ => return Err(bad(template, format!("unknown placeholder `{{{spec}}}`"))),
            };
            pieces.push(piece);
        }
        lit.push_str(rest);
        if !lit.is_empty() {
            pieces.push(Piece::Literal(lit));
        }
        Ok(PlaybackTemplate { pieces, zone })
    }

    /// The URL for `range` (server clock), moved onto the device clock with `offset`.
    pub fn render(
        &self,
        target: &PlaybackTarget,
        range: TimeRange,
        offset: Option<&ClockOffset>,
    ) -> Result<String, Error> {
        let (start, end) = match offset {
            Some(o) => (
                server_to_device(range.start, o),
                server_to_device(range.end, o),
            ),
            None => (range.start, range.end),
        };
        let stream = u32::from(target.substream);
        let mut out = String::new();
        for p in &self.pieces {
            match p {
                Piece::Literal(s) => out.push_str(s),
                Piece::Host => out.push_str(&target.host),
                Piece::Port => out.push_str(&target.port.to_string()),
                Piece::Channel => out.push_str(&target.channel.to_string()),
                Piece::Stream => out.push_str(&stream.to_string()),
                Piece::Track => out.push_str(&(target.channel * 100 + stream + 1).to_string()),
                Piece::Unix { end: e } => {
                    out.push_str(&if *e { end } else { start }.as_second().to_string())
                }
                Piece::Time {
                    end: e,
                    utc,
                    format,
                } => {
                    let t = if *e { end } else { start };
                    let zone = if *utc {
                        TimeZone::UTC
                    } else {
                        self.zone.clone()
                    };
                    let z = t.to_zoned(zone);
                    let s = jiff::fmt::strtime::format(format, &z).map_err(|err| {
                        Error::Unsupported {
                            what: "playback URL time".into(),
                            why: err.to_string(),
                        }
                    })?;
                    out.push_str(&s);
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> PlaybackTarget {
        PlaybackTarget {
            host: "192.0.2.7".into(),
            port: 554,
            channel: 2,
            substream: false,
        }
    }

    fn range() -> TimeRange {
        TimeRange {
            start: "2026-11-23T09:00:00Z".parse().unwrap(),
            end: "2026-11-23T09:30:00Z".parse().unwrap(),
        }
    }

    fn paris() -> TimeZone {
        TimeZone::get("Europe/Paris").unwrap_or_else(|_| TimeZone::fixed(jiff::tz::offset(1)))
    }

    #[test]
    fn hikvision_uses_the_track_id_and_local_time() {
        let url = PlaybackTemplate::for_vendor(Vendor::Hikvision, None, paris())
            .unwrap()
            .render(&target(), range(), None)
            .unwrap();
        assert_eq!(
            url,
            "rtsp://192.0.2.7:554/Streaming/tracks/201?starttime=20261123T100000Z&endtime=20261123T103000Z"
        );
    }

    #[test]
    fn dahua_uses_underscored_local_time() {
        let url = PlaybackTemplate::for_vendor(Vendor::Dahua, None, paris())
            .unwrap()
            .render(&target(), range(), None)
            .unwrap();
        assert_eq!(
            url,
            "rtsp://192.0.2.7:554/cam/playback?channel=2&subtype=0&starttime=2026_11_23_10_00_00&endtime=2026_11_23_10_30_00"
        );
    }

    #[test]
    fn uniview_uses_unix_seconds_on_the_device_clock() {
        let off = ClockOffset {
            measured_at: range().start,
            offset_ms: -60_000,
            uncertainty_ms: 500,
        };
        let url = PlaybackTemplate::for_vendor(Vendor::Uniview, None, paris())
            .unwrap()
            .render(&target(), range(), Some(&off))
            .unwrap();
        assert_eq!(
            url,
            "rtsp://192.0.2.7:554/c2/b1795424340/e1795426140/replay/"
        );
    }

    #[test]
    fn one_vendor_list_names_presets_and_custom() {
        for (vendor, name) in [
            (Vendor::Hikvision, "hikvision"),
            (Vendor::Dahua, "dahua"),
            (Vendor::Uniview, "uniview"),
            (Vendor::Custom, "custom"),
        ] {
            assert_eq!(vendor.name(), name);
            assert_eq!(vendor.preset().is_none(), vendor == Vendor::Custom);
        }
        assert!(PlaybackTemplate::for_vendor(Vendor::Custom, None, paris()).is_err());
        assert!(
            PlaybackTemplate::for_vendor(Vendor::Dahua, Some("rtsp://{host}/"), paris()).is_err()
        );
        assert!(
            PlaybackTemplate::for_vendor(Vendor::Custom, Some("rtsp://{host}/"), paris()).is_ok()
        );
    }

    #[test]
    fn custom_templates_are_checked_when_parsed() {
        let t = PlaybackTemplate::custom(
            "rtsp://{host}/x?{{a}}&s={start_utc:%Y-%m-%dT%H:%M:%SZ}",
            paris(),
        )
        .unwrap();
        assert_eq!(
            t.render(&target(), range(), None).unwrap(),
            "rtsp://192.0.2.7/x?{a}&s=2026-11-23T09:00:00Z"
        );
        for bad in [
            "rtsp://{hots}/",
            "rtsp://{host",
            "rtsp://h}/",
            "{start}",
            "{start:%Q}",
        ] {
            assert!(PlaybackTemplate::custom(bad, paris()).is_err(), "{bad}");
        }
    }
}
