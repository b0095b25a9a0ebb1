//! Reading SOAP responses into [`super::types`]. Every function takes the raw HTTP body a device
//! sent (untrusted bytes) and either returns the typed answer, the device's SOAP fault, or says
//! what was malformed. No function here panics on any input: the `soap_response` fuzz target
//! feeds them arbitrary bytes.

use std::str::FromStr;

use jiff::Timestamp;

use super::types::*;
use super::xml::{self, Element};

/// Why a response could not be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ResponseError {
    #[error("{0}")]
    Malformed(String),
    #[error("SOAP fault {}{}: {}", .0.code, .0.subcode.as_deref().map(|s| format!("/{s}")).unwrap_or_default(), .0.reason)]
    Fault(SoapFault),
}

fn malformed(msg: impl Into<String>) -> ResponseError {
    ResponseError::Malformed(msg.into())
}

fn strip_prefix(v: &str) -> String {
    let v = v.trim();
    v.rsplit(':').next().unwrap_or(v).to_string()
}

/// Reads a SOAP fault out of a Body, SOAP 1.2 or 1.1 shape.
fn fault(body: &Element) -> Option<SoapFault> {
    let f = body.child("Fault")?;
    if let Some(code) = f.child("Code") {
        let mut subcode = None;
        let mut sc = code.child("Subcode");
        while let Some(s) = sc {
            if let Some(v) = s.child_text("Value") {
                subcode = Some(strip_prefix(v));
            }
            sc = s.child("Subcode");
        }
        let reason = f
            .child("Reason")
            .and_then(|r| r.child_text("Text"))
            .unwrap_or("")
            .to_string();
        return Some(SoapFault {
            code: strip_prefix(code.child_text("Value").unwrap_or("")),
            subcode,
            reason,
        });
    }
    Some(SoapFault {
        code: strip_prefix(f.child_text("faultcode").unwrap_or("")),
        subcode: None,
        reason: f.child_text("faultstring").unwrap_or("").to_string(),
    })
}

/// Parses an envelope and returns the first element of its Body, or the fault it carries.
pub fn body_response(bytes: &[u8]) -> Result<Element, ResponseError> {
    let root = xml::parse(bytes).map_err(|e| malformed(e.to_string()))?;
    if root.name != "Envelope" {
        return Err(malformed(format!(
            "expected a SOAP Envelope, got <{}>",
            root.name
        )));
    }
    let body = root
        .child("Body")
        .ok_or_else(|| malformed("SOAP Envelope without a Body"))?;
    if let Some(f) = fault(body) {
        return Err(ResponseError::Fault(f));
    }
    body.children
        .first()
        .cloned()
        .ok_or_else(|| malformed("empty SOAP Body"))
}

fn expect(bytes: &[u8], name: &str) -> Result<Element, ResponseError> {
    let el = body_response(bytes)?;
    if el.name != name {
        return Err(malformed(format!("expected <{name}>, got <{}>", el.name)));
    }
    Ok(el)
}

fn required<'a>(el: &'a Element, name: &str) -> Result<&'a str, ResponseError> {
    el.child_text(name)
        .ok_or_else(|| malformed(format!("<{}> lacks <{name}>", el.name)))
}

/// xs:dateTime as devices write it: with `Z` or an offset, optional fraction; a value without
/// any zone is read as UTC (gSOAP devices sometimes omit it).
pub fn date_time(s: &str) -> Option<Timestamp> {
    let s = s.trim();
    if let Ok(t) = Timestamp::from_str(s) {
        return Some(t);
    }
    let dt = jiff::civil::DateTime::from_str(s).ok()?;
    dt.to_zoned(jiff::tz::TimeZone::UTC)
        .ok()
        .map(|z| z.timestamp())
}

fn opt_time(el: &Element, name: &str) -> Result<Option<Timestamp>, ResponseError> {
    match el.child_text(name) {
        None | Some("") => Ok(None),
        Some(v) => date_time(v)
            .map(Some)
            .ok_or_else(|| malformed(format!("<{name}> is not a date-time: {v:?}"))),
    }
}

fn num<T: FromStr>(el: &Element, name: &str) -> Result<T, ResponseError> {
    required(el, name)?
        .parse()
        .map_err(|_| malformed(format!("<{name}> is not a number")))
}

fn civil(dt: &Element) -> Result<jiff::civil::DateTime, ResponseError> {
    let date = dt
        .child("Date")
        .ok_or_else(|| malformed("DateTime lacks <Date>"))?;
    let time = dt
        .child("Time")
        .ok_or_else(|| malformed("DateTime lacks <Time>"))?;
    jiff::civil::DateTime::new(
        num(date, "Year")?,
        num(date, "Month")?,
        num(date, "Day")?,
        num(time, "Hour")?,
        num(time, "Minute")?,
        num(time, "Second")?,
        0,
    )
    .map_err(|e| malformed(format!("impossible date-time: {e}")))
}

/// GetSystemDateAndTimeResponse.
pub fn system_date_and_time(bytes: &[u8]) -> Result<SystemDateAndTime, ResponseError> {
    let el = expect(bytes, "GetSystemDateAndTimeResponse")?;
    let sdt = el
        .child("SystemDateAndTime")
        .ok_or_else(|| malformed("response lacks <SystemDateAndTime>"))?;
    let utc = match sdt.child("UTCDateTime") {
        Some(u) => Some(
            civil(u)?
                .to_zoned(jiff::tz::TimeZone::UTC)
                .map_err(|e| malformed(e.to_string()))?
                .timestamp(),
        ),
        None => None,
    };
    Ok(SystemDateAndTime {
        utc,
        tz: sdt
            .child("TimeZone")
            .and_then(|t| t.child_text("TZ"))
            .map(str::to_string),
        ntp: sdt.child_text("DateTimeType") == Some("NTP"),
    })
}

/// GetDeviceInformationResponse.
pub fn device_information(bytes: &[u8]) -> Result<crate::DeviceInfo, ResponseError> {
    let el = expect(bytes, "GetDeviceInformationResponse")?;
    let get = |n: &str| el.child_text(n).unwrap_or("").to_string();
    Ok(crate::DeviceInfo {
        vendor: get("Manufacturer"),
        model: get("Model"),
        serial: get("SerialNumber"),
        firmware: get("FirmwareVersion"),
    })
}

/// GetServicesResponse.
pub fn services(bytes: &[u8]) -> Result<Vec<Service>, ResponseError> {
    let el = expect(bytes, "GetServicesResponse")?;
    Ok(el
        .children_named("Service")
        .filter_map(|s| {
            Some(Service {
                namespace: s.child_text("Namespace")?.to_string(),
                xaddr: s.child_text("XAddr")?.to_string(),
            })
        })
        .collect())
}

/// Picks the services scelle uses out of a GetServices answer.
pub fn service_map(services: &[Service]) -> ServiceMap {
    let find = |ns: &str| {
        services
            .iter()
            .find(|s| s.namespace.trim() == ns)
            .map(|s| s.xaddr.clone())
    };
    ServiceMap {
        media: find("http://www.onvif.org/ver10/media/wsdl"),
        recording: find("http://www.onvif.org/ver10/recording/wsdl"),
        search: find("http://www.onvif.org/ver10/search/wsdl"),
        replay: find("http://www.onvif.org/ver10/replay/wsdl"),
    }
}

/// GetCapabilitiesResponse (older devices without GetServices).
pub fn capabilities(bytes: &[u8]) -> Result<ServiceMap, ResponseError> {
    let el = expect(bytes, "GetCapabilitiesResponse")?;
    let caps = el
        .child("Capabilities")
        .ok_or_else(|| malformed("response lacks <Capabilities>"))?;
    let xaddr = |e: Option<&Element>| e.and_then(|e| e.child_text("XAddr")).map(str::to_string);
    let ext = caps.child("Extension");
    Ok(ServiceMap {
        media: xaddr(caps.child("Media")),
        recording: xaddr(ext.and_then(|e| e.child("Recording"))),
        search: xaddr(ext.and_then(|e| e.child("Search"))),
        replay: xaddr(ext.and_then(|e| e.child("Replay"))),
    })
}

/// GetProfilesResponse (media ver10).
pub fn profiles(bytes: &[u8]) -> Result<Vec<Profile>, ResponseError> {
    let el = expect(bytes, "GetProfilesResponse")?;
    Ok(el
        .children_named("Profiles")
        .map(|p| {
            let enc = p.child("VideoEncoderConfiguration");
            let res = enc.and_then(|e| e.child("Resolution"));
            Profile {
                token: p.attr("token").unwrap_or("").to_string(),
                name: p.child_text("Name").unwrap_or("").to_string(),
                encoding: enc
                    .and_then(|e| e.child_text("Encoding"))
                    .map(str::to_string),
                width: res.and_then(|r| r.child_text("Width")?.parse().ok()),
                height: res.and_then(|r| r.child_text("Height")?.parse().ok()),
            }
        })
        .collect())
}

fn media_uri(bytes: &[u8], response: &str) -> Result<String, ResponseError> {
    let el = expect(bytes, response)?;
    let uri = match el.child("MediaUri") {
        Some(m) => required(m, "Uri")?,
        None => required(&el, "Uri")?,
    };
    if uri.is_empty() {
        return Err(malformed(format!("<{response}> has an empty Uri")));
    }
    Ok(uri.to_string())
}

/// GetStreamUriResponse.
pub fn stream_uri(bytes: &[u8]) -> Result<String, ResponseError> {
    media_uri(bytes, "GetStreamUriResponse")
}

/// GetReplayUriResponse.
pub fn replay_uri(bytes: &[u8]) -> Result<String, ResponseError> {
    media_uri(bytes, "GetReplayUriResponse")
}

/// GetRecordingsResponse (recording service).
pub fn recordings(bytes: &[u8]) -> Result<Vec<RecordingItem>, ResponseError> {
    let el = expect(bytes, "GetRecordingsResponse")?;
    el.children_named("RecordingItem")
        .map(|item| {
            let conf = item.child("Configuration");
            Ok(RecordingItem {
                token: required(item, "RecordingToken")?.to_string(),
                source_name: conf
                    .and_then(|c| c.child("Source"))
                    .and_then(|s| s.child_text("Name"))
                    .unwrap_or("")
                    .to_string(),
                content: conf
                    .and_then(|c| c.child_text("Content"))
                    .unwrap_or("")
                    .to_string(),
                tracks: item
                    .child("Tracks")
                    .map(|t| {
                        t.children_named("Track")
                            .map(|t| {
                                (
                                    t.child_text("TrackToken").unwrap_or("").to_string(),
                                    TrackKind::parse(
                                        t.child("Configuration")
                                            .and_then(|c| c.child_text("TrackType"))
                                            .unwrap_or(""),
                                    ),
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
            })
        })
        .collect()
}

fn recording_information(el: &Element) -> Result<RecordingInformation, ResponseError> {
    let tracks = el
        .children_named("Track")
        .map(|t| {
            Ok(TrackInformation {
                token: t.child_text("TrackToken").unwrap_or("").to_string(),
                kind: TrackKind::parse(t.child_text("TrackType").unwrap_or("")),
                data_from: opt_time(t, "DataFrom")?,
                data_to: opt_time(t, "DataTo")?,
            })
        })
        .collect::<Result<Vec<_>, ResponseError>>()?;
    Ok(RecordingInformation {
        token: required(el, "RecordingToken")?.to_string(),
        source_name: el
            .child("Source")
            .and_then(|s| s.child_text("Name"))
            .unwrap_or("")
            .to_string(),
        earliest: opt_time(el, "EarliestRecording")?,
        latest: opt_time(el, "LatestRecording")?,
        tracks,
        status: el.child_text("RecordingStatus").unwrap_or("").to_string(),
    })
}

/// FindRecordingsResponse: the search token.
pub fn find_recordings(bytes: &[u8]) -> Result<String, ResponseError> {
    let el = expect(bytes, "FindRecordingsResponse")?;
    let token = required(&el, "SearchToken")?;
    if token.is_empty() {
        return Err(malformed("empty SearchToken"));
    }
    Ok(token.to_string())
}

/// GetRecordingSearchResultsResponse: one page.
pub fn recording_search_results(bytes: &[u8]) -> Result<SearchPage, ResponseError> {
    let el = expect(bytes, "GetRecordingSearchResultsResponse")?;
    let list = el
        .child("ResultList")
        .ok_or_else(|| malformed("response lacks <ResultList>"))?;
    let state = match list.child_text("SearchState") {
        Some("Queued") => SearchState::Queued,
        Some("Searching") => SearchState::Searching,
        Some("Completed") => SearchState::Completed,
        _ => SearchState::Unknown,
    };
    let recordings = list
        .children_named("RecordingInformation")
        .map(recording_information)
        .collect::<Result<_, _>>()?;
    Ok(SearchPage { state, recordings })
}

/// GetRecordingInformationResponse.
pub fn recording_information_response(bytes: &[u8]) -> Result<RecordingInformation, ResponseError> {
    let el = expect(bytes, "GetRecordingInformationResponse")?;
    let info = el
        .child("RecordingInformation")
        .ok_or_else(|| malformed("response lacks <RecordingInformation>"))?;
    recording_information(info)
}

/// GetRecordingSummaryResponse.
pub fn recording_summary(bytes: &[u8]) -> Result<RecordingSummary, ResponseError> {
    let el = expect(bytes, "GetRecordingSummaryResponse")?;
    let s = el
        .child("Summary")
        .ok_or_else(|| malformed("response lacks <Summary>"))?;
    Ok(RecordingSummary {
        data_from: opt_time(s, "DataFrom")?,
        data_until: opt_time(s, "DataUntil")?,
        number_recordings: s
            .child_text("NumberRecordings")
            .and_then(|n| n.parse().ok())
            .unwrap_or(0),
    })
}

/// EndSearchResponse (its content does not matter, only that it is not a fault).
pub fn end_search(bytes: &[u8]) -> Result<(), ResponseError> {
    expect(bytes, "EndSearchResponse").map(|_| ())
}

/// Runs every parser on `bytes`; for the fuzz target.
pub fn all(bytes: &[u8]) {
    let _ = system_date_and_time(bytes);
    let _ = device_information(bytes);
    let _ = services(bytes).map(|s| service_map(&s));
    let _ = capabilities(bytes);
    let _ = profiles(bytes);
    let _ = stream_uri(bytes);
    let _ = replay_uri(bytes);
    let _ = recordings(bytes);
    let _ = find_recordings(bytes);
    let _ = recording_search_results(bytes);
    let _ = recording_information_response(bytes);
    let _ = recording_summary(bytes);
    let _ = end_search(bytes);
}
