//! SDP (RFC 8866) as an RTSP DESCRIBE answers it: which tracks exist, their codec, clock rate,
//! control URL and the parameter sets or AudioSpecificConfig from `a=fmtp`. Parsing of the
//! text itself is `sdp-types`'; this module only interprets it.

use base64::Engine as _;
use bytes::Bytes;

use crate::media::Codec;

/// One `m=` section the client knows how to receive.
#[derive(Clone, Debug, PartialEq)]
pub struct Track {
    /// `video`, `audio`, …
    pub media: String,
    /// The `a=control` attribute, unresolved.
    pub control: Option<String>,
    pub payload_type: u8,
    /// Encoding name from `a=rtpmap`, upper case (`H264`, `H265`, `MPEG4-GENERIC`).
    pub encoding: String,
    pub clock_rate: u32,
    pub channels: Option<u16>,
    /// `None` when the codec is not one scelle records.
    pub codec: Option<Codec>,
    /// Video parameter sets from the fmtp line (H.264: SPS, PPS; H.265: VPS, SPS, PPS).
    pub parameter_sets: Vec<Bytes>,
    /// AAC AudioSpecificConfig (`config=`).
    pub audio_config: Bytes,
    /// AAC AU header layout (`sizelength`, `indexlength`).
    pub size_length: u32,
    pub index_length: u32,
    /// Video: pictures per second from `a=framerate`, when the server states it.
    pub framerate: Option<f64>,
}

/// What DESCRIBE answered.
#[derive(Clone, Debug, PartialEq)]
pub struct Description {
    /// Session-level `a=control`.
    pub control: Option<String>,
    /// Session-level `a=range`.
    pub range: Option<String>,
    pub tracks: Vec<Track>,
}

/// Why an SDP could not be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SdpError {
    #[error("invalid SDP: {0}")]
    Syntax(String),
}

/// Parses and interprets an SDP body.
pub fn parse(body: &[u8]) -> Result<Description, SdpError> {
    let clean = well_formed_lines(body);
    let session = sdp_types::Session::parse(&clean).map_err(|e| SdpError::Syntax(e.to_string()))?;
    let attr = |attrs: &[sdp_types::Attribute], name: &str| {
        attrs
            .iter()
            .find(|a| a.attribute.eq_ignore_ascii_case(name))
            .and_then(|a| a.value.clone())
    };
    let mut tracks = Vec::new();
    for m in &session.medias {
        let Some(pt) = m
            .fmt
            .split_ascii_whitespace()
            .next()
            .and_then(|f| f.parse::<u8>().ok())
        else {
            continue;
        };
        let mut encoding = String::new();
        let mut clock_rate = 0;
        let mut channels = None;
        let mut fmtp = String::new();
        for a in &m.attributes {
            let Some(v) = &a.value else { continue };
            let (p, rest) = v.split_once(' ').unwrap_or((v, ""));
            if p.trim().parse::<u8>().ok() != Some(pt) {
                continue;
            }
            if a.attribute.eq_ignore_ascii_case("rtpmap") {
                let mut parts = rest.trim().split('/');
                encoding = parts.next().unwrap_or("").to_ascii_uppercase();
                clock_rate = parts.next().and_then(|c| c.parse().ok()).unwrap_or(0);
                channels = parts.next().and_then(|c| c.parse().ok());
            } else if a.attribute.eq_ignore_ascii_case("fmtp") {
                fmtp = rest.to_string();
            }
        }
        let params: Vec<(String, String)> = fmtp
            .split(';')
            .filter_map(|kv| {
                let (k, v) = kv.trim().split_once('=')?;
                Some((k.trim().to_ascii_lowercase(), v.trim().to_string()))
            })
            .collect();
        let param = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        let b64 = |v: &str| {
            v.split(',')
                .filter_map(|s| {
                    base64::engine::general_purpose::STANDARD
                        .decode(s.trim())
                        .ok()
                })
                .filter(|s| !s.is_empty())
                .map(Bytes::from)
                .collect::<Vec<_>>()
        };
        // Static payload types (RFC 3551) may come without `a=rtpmap`.
        if encoding.is_empty() && matches!(pt, 0 | 8) {
            encoding = if pt == 0 { "PCMU" } else { "PCMA" }.to_string();
            clock_rate = 8000;
        }
        let audio = m.media.eq_ignore_ascii_case("audio");
        let codec = match encoding.as_str() {
            "H264" => Some(Codec::H264),
            "H265" => Some(Codec::H265),
            "MPEG4-GENERIC" if audio => Some(Codec::Aac),
            "PCMU" if audio && clock_rate > 0 => Some(Codec::Pcmu),
            "PCMA" if audio && clock_rate > 0 => Some(Codec::Pcma),
            _ => None,
        };
        let parameter_sets = match codec {
            Some(Codec::H264) => param("sprop-parameter-sets").map(b64).unwrap_or_default(),
            Some(Codec::H265) => ["sprop-vps", "sprop-sps", "sprop-pps"]
                .iter()
                .filter_map(|k| param(k))
                .flat_map(b64)
                .collect(),
            _ => Vec::new(),
        };
        let audio_config = param("config")
            .and_then(|c| hex::decode(c).ok())
            .map(Bytes::from)
            .unwrap_or_default();
        tracks.push(Track {
            media: m.media.to_ascii_lowercase(),
            control: attr(&m.attributes, "control"),
            payload_type: pt,
            encoding,
            clock_rate,
            channels,
            codec,
            parameter_sets,
            audio_config,
            size_length: param("sizelength")
                .and_then(|v| v.parse().ok())
                .unwrap_or(13),
            index_length: param("indexlength")
                .and_then(|v| v.parse().ok())
                .unwrap_or(3),
            framerate: attr(&m.attributes, "framerate")
                .and_then(|f| f.trim().parse::<f64>().ok())
                .filter(|f| f.is_finite() && *f > 0.0 && *f <= 1000.0),
        });
    }
    Ok(Description {
        control: attr(&session.attributes, "control"),
        range: attr(&session.attributes, "range"),
        tracks,
    })
}

/// Keeps only `x=value` lines. Cameras emit stray junk lines, and sdp-types 0.1.8 panics (an
/// `assert_eq!` in its media parser, found by the `sdp` fuzz target) on a media section that
/// follows a line not in `key=value` form; such lines are dropped before it sees them.
fn well_formed_lines(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 16);
    for line in body.split(|b| *b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.len() >= 2 && line[1] == b'=' && line[0] != b'=' {
            out.extend_from_slice(line);
            out.extend_from_slice(b"\r\n");
        }
    }
    out
}

/// Resolves a track's control attribute against the session base URL.
pub fn resolve_control(base: &str, control: Option<&str>) -> String {
    match control {
        None | Some("*") | Some("") => base.to_string(),
        // `get`: the attribute is the server's text, its 8th byte may sit inside a character.
        Some(c)
            if c.len() > 7
                && c.get(..7)
                    .is_some_and(|p| p.eq_ignore_ascii_case("rtsp://")) =>
        {
            c.to_string()
        }
        Some(c)
            if c.len() > 8
                && c.get(..8)
                    .is_some_and(|p| p.eq_ignore_ascii_case("rtsps://")) =>
        {
            c.to_string()
        }
        Some(c) => {
            if base.ends_with('/') {
                format!("{base}{c}")
            } else {
                format!("{base}/{c}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GST_H264: &str = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=Session streamed with GStreamer\r\n\
        t=0 0\r\na=range:npt=0-30\r\nm=video 0 RTP/AVP 96\r\nc=IN IP4 0.0.0.0\r\n\
        a=rtpmap:96 H264/90000\r\n\
        a=fmtp:96 packetization-mode=1;sprop-parameter-sets=Z2QAHqzZQKAv+XARAAADAAEAAAMAMg8WLZY=,aOvjyyLA;profile-level-id=64001E\r\n\
        a=control:stream=0\r\nm=audio 0 RTP/AVP 97\r\na=rtpmap:97 MPEG4-GENERIC/48000/2\r\n\
        a=fmtp:97 streamtype=5;profile-level-id=2;mode=AAC-hbr;config=1190;sizelength=13;indexlength=3;indexdeltalength=3\r\n\
        a=control:stream=1\r\n";

    #[test]
    fn junk_lines_are_dropped_not_fatal() {
        let sdp = GST_H264.replace(
            "a=control:stream=0\r\n",
            "a=control:stream=0\r\nt0/2\r\n\r\r\n",
        );
        let d = parse(sdp.as_bytes()).unwrap();
        assert_eq!(d.tracks.len(), 2);
    }

    #[test]
    fn reads_gstreamer_description() {
        let d = parse(GST_H264.as_bytes()).unwrap();
        assert_eq!(d.range.as_deref(), Some("npt=0-30"));
        assert_eq!(d.tracks.len(), 2);
        let v = &d.tracks[0];
        assert_eq!(v.codec, Some(Codec::H264));
        assert_eq!(v.clock_rate, 90000);
        assert_eq!(v.parameter_sets.len(), 2);
        assert_eq!(v.parameter_sets[0][0] & 0x1f, 7);
        let a = &d.tracks[1];
        assert_eq!(a.codec, Some(Codec::Aac));
        assert_eq!(a.channels, Some(2));
        assert_eq!(&a.audio_config[..], &[0x11, 0x90]);
        assert_eq!(v.framerate, None);
        assert_eq!(
            resolve_control("rtsp://h/x/", v.control.as_deref()),
            "rtsp://h/x/stream=0"
        );
        assert_eq!(
            resolve_control("rtsp://h/x", Some("rtsp://o/y")),
            "rtsp://o/y"
        );
    }

    #[test]
    fn reads_g711_tracks_with_or_without_rtpmap() {
        let sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=x\r\nt=0 0\r\n\
            m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=framerate:25\r\n\
            a=control:stream=0\r\nm=audio 0 RTP/AVP 0\r\na=control:stream=1\r\n\
            m=audio 0 RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\na=control:stream=2\r\n\
            m=audio 0 RTP/AVP 98\r\na=rtpmap:98 pcmu/16000/2\r\na=control:stream=3\r\n";
        let d = parse(sdp.as_bytes()).unwrap();
        assert_eq!(d.tracks[0].framerate, Some(25.0));
        let got: Vec<_> = d.tracks[1..]
            .iter()
            .map(|t| (t.codec, t.clock_rate, t.channels))
            .collect();
        assert_eq!(
            got,
            [
                (Some(Codec::Pcmu), 8000, None),
                (Some(Codec::Pcma), 8000, None),
                (Some(Codec::Pcmu), 16000, Some(2)),
            ]
        );
    }
}
