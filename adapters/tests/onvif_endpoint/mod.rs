//! A test ONVIF device: a small HTTP/1.1 server on 127.0.0.1 that answers SOAP calls with the
//! project's fixtures (`tests/fixtures/onvif/`) and checks what a real device checks: the
//! WS-UsernameToken digest, a fresh nonce, `Created` within a few seconds of *its own* clock
//! (which runs `device_offset` away from the test machine's), and HTTP Digest when asked to.
//! It can also misbehave on purpose: answer a fault, never answer, or send broken XML.

#![allow(dead_code)]

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use jiff::{SignedDuration, Timestamp};
use md5::{Digest as _, Md5};
use scelle_adapters::onvif::xml;
use sha1::Sha1;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// How far `Created` may be from the device clock (real devices allow about 5 s).
const CREATED_TOLERANCE_MS: i64 = 5_000;
const REALM: &str = "scelle-test-device";
const DIGEST_NONCE: &str = "b3d1c0ffee0042";

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/onvif/{name}.xml",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("fixture {path}: {e}"))
}

/// What the device is set up to do.
#[derive(Clone, Debug)]
pub struct Options {
    pub user: String,
    pub password: String,
    /// Device clock minus the real clock.
    pub device_offset: SignedDuration,
    /// Require HTTP Digest before looking at the SOAP request.
    pub http_digest: bool,
    /// Answer this operation with a SOAP fault (HTTP 400).
    pub fault_on: Option<&'static str>,
    /// Never answer this operation.
    pub hang_on: Option<&'static str>,
    /// Answer this operation with truncated XML.
    pub malformed_on: Option<&'static str>,
    /// Replace the replay URI in GetReplayUri.
    pub replay_uri: Option<String>,
    /// Serve this fixture (one completed page) for GetRecordingSearchResults.
    pub search_results: Option<&'static str>,
    /// Behave like an older device: fault on GetServices, answer GetCapabilities.
    pub capabilities_only: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            user: "scelle".into(),
            password: "c0rrect-h0rse".into(),
            device_offset: SignedDuration::from_secs(-180),
            http_digest: false,
            fault_on: None,
            hang_on: None,
            malformed_on: None,
            replay_uri: None,
            search_results: None,
            capabilities_only: false,
        }
    }
}

/// One request the device received.
#[derive(Clone, Debug)]
pub struct Seen {
    pub operation: String,
    /// `Some(skew)` when a valid UsernameToken came: `Created − device clock` in ms.
    pub created_skew_ms: Option<i64>,
    pub wsse_valid: bool,
    pub http_digest_valid: bool,
}

pub struct Endpoint {
    pub url: String,
    pub seen: Arc<Mutex<Vec<Seen>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct State {
    opts: Options,
    seen: Arc<Mutex<Vec<Seen>>>,
    nonces: Mutex<HashSet<String>>,
    search_page: Mutex<usize>,
}

impl Endpoint {
    pub async fn start(opts: Options) -> Endpoint {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let state = Arc::new(State {
            opts,
            seen: seen.clone(),
            nonces: Mutex::new(HashSet::new()),
            search_page: Mutex::new(0),
        });
        let task = tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                tokio::spawn(serve(sock, state.clone()));
            }
        });
        Endpoint {
            url: format!("http://{addr}/onvif/device_service"),
            seen,
            task,
        }
    }

    pub fn operations(&self) -> Vec<String> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .map(|s| s.operation.clone())
            .collect()
    }
}

struct Request {
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

async fn read_request(sock: &mut TcpStream, buf: &mut Vec<u8>) -> Option<Request> {
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            let mut lines = head.split("\r\n");
            let path = lines.next()?.split(' ').nth(1)?.to_string();
            let headers: Vec<(String, String)> = lines
                .filter_map(|l| l.split_once(':'))
                .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
                .collect();
            let len: usize = headers
                .iter()
                .find(|(k, _)| k == "content-length")
                .and_then(|(_, v)| v.parse().ok())
                .unwrap_or(0);
            while buf.len() < end + 4 + len {
                let mut chunk = [0u8; 4096];
                let n = sock.read(&mut chunk).await.ok()?;
                if n == 0 {
                    return None;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            let body = buf[end + 4..end + 4 + len].to_vec();
            buf.drain(..end + 4 + len);
            return Some(Request {
                path,
                headers,
                body,
            });
        }
        let mut chunk = [0u8; 4096];
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

async fn serve(mut sock: TcpStream, state: Arc<State>) {
    let mut buf = Vec::new();
    while let Some(req) = read_request(&mut sock, &mut buf).await {
        let Some((status, extra, body)) = answer(&state, &req).await else {
            // Hang: keep the connection open and silent.
            tokio::time::sleep(Duration::from_secs(3600)).await;
            return;
        };
        let reason = match status {
            200 => "OK",
            400 => "Bad Request",
            401 => "Unauthorized",
            _ => "Error",
        };
        let mut out = format!(
            "HTTP/1.1 {status} {reason}\r\nContent-Type: application/soap+xml; charset=utf-8\r\nContent-Length: {}\r\n{extra}\r\n",
            body.len()
        )
        .into_bytes();
        out.extend_from_slice(&body);
        if sock.write_all(&out).await.is_err() {
            return;
        }
    }
}

fn header<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn digest_params(h: &str) -> Vec<(String, String)> {
    h.trim_start_matches("Digest")
        .split(',')
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().trim_matches('"').to_string()))
        .collect()
}

fn md5_hex(s: &str) -> String {
    hex::encode(Md5::digest(s.as_bytes()))
}

fn http_digest_ok(opts: &Options, req: &Request) -> bool {
    let Some(h) = header(req, "authorization") else {
        return false;
    };
    let p = digest_params(h);
    let get = |k: &str| {
        p.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    };
    if get("username") != opts.user || get("uri") != req.path || get("nonce") != DIGEST_NONCE {
        return false;
    }
    let ha1 = md5_hex(&format!("{}:{REALM}:{}", opts.user, opts.password));
    let ha2 = md5_hex(&format!("POST:{}", req.path));
    let expected = md5_hex(&format!(
        "{ha1}:{DIGEST_NONCE}:{}:{}:auth:{ha2}",
        get("nc"),
        get("cnonce")
    ));
    get("response") == expected
}

fn device_now(opts: &Options) -> Timestamp {
    Timestamp::now().checked_add(opts.device_offset).unwrap()
}

/// Checks the UsernameToken; returns `Created − device clock` in ms when valid.
fn wsse_check(state: &State, envelope: &xml::Element) -> Option<i64> {
    let token = envelope
        .child("Header")?
        .child("Security")?
        .child("UsernameToken")?;
    let user = token.child_text("Username")?;
    let password = token.child("Password")?;
    if !password.attr("Type")?.ends_with("#PasswordDigest") || user != state.opts.user {
        return None;
    }
    let nonce_b64 = token.child_text("Nonce")?;
    let nonce = base64::engine::general_purpose::STANDARD
        .decode(nonce_b64)
        .ok()?;
    let created = token.child_text("Created")?;
    let mut h = Sha1::new();
    h.update(&nonce);
    h.update(created.as_bytes());
    h.update(state.opts.password.as_bytes());
    let expected = base64::engine::general_purpose::STANDARD.encode(h.finalize());
    if expected != password.text.trim() {
        return None;
    }
    if !state.nonces.lock().unwrap().insert(nonce_b64.to_string()) {
        return None; // replayed nonce
    }
    let created: Timestamp = created.parse().ok()?;
    Some(created.duration_since(device_now(&state.opts)).as_millis() as i64)
}

fn with_device_time(state: &State, xml_bytes: Vec<u8>) -> Vec<u8> {
    let text = String::from_utf8(xml_bytes).unwrap();
    let start = text.find("<tt:UTCDateTime>").unwrap();
    let end = text.find("</tt:UTCDateTime>").unwrap() + "</tt:UTCDateTime>".len();
    let now = device_now(&state.opts).to_zoned(jiff::tz::TimeZone::UTC);
    let block = format!(
        "<tt:UTCDateTime><tt:Time><tt:Hour>{}</tt:Hour><tt:Minute>{}</tt:Minute><tt:Second>{}</tt:Second></tt:Time>\
         <tt:Date><tt:Year>{}</tt:Year><tt:Month>{}</tt:Month><tt:Day>{}</tt:Day></tt:Date></tt:UTCDateTime>",
        now.hour(),
        now.minute(),
        now.second(),
        now.year(),
        now.month(),
        now.day()
    );
    format!("{}{block}{}", &text[..start], &text[end..]).into_bytes()
}

async fn answer(state: &State, req: &Request) -> Option<(u16, String, Vec<u8>)> {
    let opts = &state.opts;
    let digest_valid = opts.http_digest && http_digest_ok(opts, req);
    let envelope = xml::parse(&req.body).ok();
    let operation = envelope
        .as_ref()
        .and_then(|e| e.child("Body"))
        .and_then(|b| b.children.first())
        .map(|e| e.name.clone())
        .unwrap_or_default();
    if opts.http_digest && !digest_valid {
        state.seen.lock().unwrap().push(Seen {
            operation: operation.clone(),
            created_skew_ms: None,
            wsse_valid: false,
            http_digest_valid: false,
        });
        let challenge = format!(
            "WWW-Authenticate: Digest realm=\"{REALM}\", qop=\"auth\", nonce=\"{DIGEST_NONCE}\", algorithm=MD5\r\n"
        );
        return Some((401, challenge, Vec::new()));
    }
    let skew = envelope.as_ref().and_then(|e| wsse_check(state, e));
    let wsse_valid = skew.is_some_and(|s| s.abs() <= CREATED_TOLERANCE_MS);
    state.seen.lock().unwrap().push(Seen {
        operation: operation.clone(),
        created_skew_ms: skew,
        wsse_valid,
        http_digest_valid: digest_valid,
    });
    if opts.hang_on == Some(operation.as_str()) {
        return None;
    }
    // GetSystemDateAndTime is answered without authentication, as ONVIF requires.
    if operation != "GetSystemDateAndTime" && !wsse_valid {
        return Some((
            400,
            String::new(),
            fixture("hikvision_fault_not_authorized"),
        ));
    }
    if opts.fault_on == Some(operation.as_str()) {
        return Some((400, String::new(), fixture("axis_fault_invalid_token")));
    }
    let body = match operation.as_str() {
        "GetSystemDateAndTime" => with_device_time(state, fixture("axis_get_system_date_and_time")),
        "GetDeviceInformation" => fixture("axis_get_device_information"),
        "GetServices" if opts.capabilities_only => {
            return Some((400, String::new(), fixture("axis_fault_invalid_token")));
        }
        "GetServices" => fixture("axis_get_services"),
        "GetCapabilities" => fixture("hikvision_get_capabilities"),
        "GetProfiles" => fixture("axis_get_profiles"),
        "GetStreamUri" => fixture("axis_get_stream_uri"),
        "GetRecordings" => fixture("axis_get_recordings"),
        "FindRecordings" => {
            *state.search_page.lock().unwrap() = 0;
            fixture("axis_find_recordings")
        }
        "GetRecordingSearchResults" if opts.search_results.is_some() => {
            fixture(opts.search_results.unwrap_or_default())
        }
        "GetRecordingSearchResults" => {
            let mut page = state.search_page.lock().unwrap();
            *page += 1;
            fixture(if *page == 1 {
                "axis_get_recording_search_results_1"
            } else {
                "axis_get_recording_search_results_2"
            })
        }
        "EndSearch" => fixture("axis_end_search"),
        "GetRecordingSummary" => fixture("axis_get_recording_summary"),
        "GetRecordingInformation" => fixture("axis_get_recording_information"),
        "GetReplayUri" => match &opts.replay_uri {
            Some(uri) => {
                let text = String::from_utf8(fixture("axis_get_replay_uri")).unwrap();
                let s = text.find("<trp:Uri>").unwrap() + "<trp:Uri>".len();
                let e = text.find("</trp:Uri>").unwrap();
                let escaped = uri.replace('&', "&amp;");
                format!("{}{escaped}{}", &text[..s], &text[e..]).into_bytes()
            }
            None => fixture("axis_get_replay_uri"),
        },
        _ => return Some((400, String::new(), fixture("axis_fault_invalid_token"))),
    };
    if opts.malformed_on == Some(operation.as_str()) {
        let cut = body.len() * 2 / 3;
        return Some((200, String::new(), body[..cut].to_vec()));
    }
    Some((200, String::new(), body))
}
