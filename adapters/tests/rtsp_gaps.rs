//! Gaps are reported, never hidden: packets dropped by a lossy relay in front of GStreamer's
//! RTSP server become a `PacketLoss` gap with the right count, and a server that dies for good
//! becomes a `ConnectionLost` gap followed by an error.

#[path = "peers/support.rs"]
mod support;

use std::time::Duration;

use scelle_adapters::rtsp::{PullRequest, Replay};
use scelle_adapters::{Codec, Error, Event, GapReason};
use support::*;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

/// Relays one RTSP connection to `upstream`, dropping the interleaved RTP packets (channel 0)
/// whose index is in `drop`. Everything else passes byte for byte.
async fn lossy_relay(listener: TcpListener, upstream: u16, drop: Vec<usize>) {
    let (client, _) = listener.accept().await.unwrap();
    let server = TcpStream::connect(("127.0.0.1", upstream)).await.unwrap();
    let (mut cr, mut cw) = client.into_split();
    let (mut sr, mut sw) = server.into_split();
    tokio::spawn(async move {
        let _ = tokio::io::copy(&mut cr, &mut sw).await;
    });
    let mut buf: Vec<u8> = Vec::new();
    let mut tmp = vec![0u8; 64 * 1024];
    let mut rtp_index = 0usize;
    loop {
        let n = match sr.read(&mut tmp).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        buf.extend_from_slice(&tmp[..n]);
        loop {
            if buf.first() == Some(&b'$') {
                if buf.len() < 4 {
                    break;
                }
                let len = 4 + usize::from(u16::from_be_bytes([buf[2], buf[3]]));
                if buf.len() < len {
                    break;
                }
                let frame: Vec<u8> = buf.drain(..len).collect();
                let dropped = frame[1] == 0 && {
                    rtp_index += 1;
                    drop.contains(&rtp_index)
                };
                if !dropped && cw.write_all(&frame).await.is_err() {
                    return;
                }
            } else if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                let body = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse::<usize>().ok())
                    .unwrap_or(0);
                let len = end + 4 + body;
                if buf.len() < len {
                    break;
                }
                let msg: Vec<u8> = buf.drain(..len).collect();
                if cw.write_all(&msg).await.is_err() {
                    return;
                }
            } else {
                break;
            }
        }
    }
}

#[tokio::test]
async fn lost_packets_are_reported_as_a_gap() {
    let dir = tempfile::tempdir().unwrap();
    let clip = make_clip(dir.path(), Codec::H264, 10);
    let peer = Peer::start(free_port(), &[("h264", &clip)], &["--onvif"]);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(lossy_relay(listener, peer.port, vec![100, 101, 102]));
    let start = "1900-01-01T00:00:00Z".parse().unwrap();
    let req = PullRequest {
        camera: "lossy".into(),
        url: format!("rtsp://127.0.0.1:{port}/h264"),
        credentials: None,
        tls: None,
        mode: Replay::OnvifClock {
            start,
            end: "1900-01-01T00:00:10Z".parse().unwrap(),
            rate_control: false,
        },
    };
    let (res, events) = pull(quick_config(), req).await;
    let summary = res.unwrap();
    assert_eq!(summary.gaps.len(), 1, "{:?}", summary.gaps);
    let gap = &summary.gaps[0];
    assert_eq!(gap.reason, GapReason::PacketLoss { lost_packets: 3 });
    assert_eq!(gap.stream, Some(0));
    // The gap spans from the last unit before the loss to the first one after, in device time.
    assert!(gap.start < gap.end && gap.start >= start);
    let pos = events
        .iter()
        .position(|e| matches!(e, Event::Gap(_)))
        .unwrap();
    let before = match &events[pos - 1] {
        Event::Unit(u) => u.device_time.unwrap(),
        e => panic!("{e:?}"),
    };
    let after = match &events[pos + 1] {
        Event::Unit(u) => u.device_time.unwrap(),
        e => panic!("{e:?}"),
    };
    assert_eq!((gap.start, gap.end), (before, after));
    // Fewer than the 250 frames, but the rest arrived.
    let n = units(&events).len();
    assert!((200..250).contains(&n), "{n} units");
}

#[tokio::test]
async fn a_server_that_dies_for_good_leaves_a_connection_lost_gap() {
    let dir = tempfile::tempdir().unwrap();
    let clip = make_clip(dir.path(), Codec::H264, 20);
    let mut peer = Peer::start(free_port(), &[("h264", &clip)], &[]);
    let mut config = quick_config();
    config.reconnect_attempts = 2;
    config.idle_timeout = Duration::from_secs(2);
    let req = PullRequest {
        camera: "dies".into(),
        url: peer.url("h264"),
        credentials: None,
        tls: None,
        mode: Replay::Npt {
            start: Duration::ZERO,
            end: Some(Duration::from_secs(10)),
        },
    };
    let (tx, mut rx) = tokio::sync::mpsc::channel(64);
    let task = tokio::spawn(async move {
        scelle_adapters::rtsp::Client::new(config)
            .pull(req, tx)
            .await
    });
    let mut events = Vec::new();
    let mut killed = false;
    while let Some(e) = rx.recv().await {
        events.push(e);
        if !killed && units(&events).len() == 25 {
            peer.kill();
            killed = true;
        }
    }
    let err = task.await.unwrap().unwrap_err();
    assert!(
        matches!(
            err,
            Error::Connect { .. } | Error::Io { .. } | Error::Timeout { .. }
        ),
        "{err:?}"
    );
    assert!(!err.to_string().contains('@'));
    match events.last() {
        Some(Event::Gap(g)) => {
            assert_eq!(g.reason, GapReason::ConnectionLost);
            assert!(g.end > g.start);
        }
        other => panic!("last event {other:?}"),
    }
    assert!(!events.iter().any(|e| matches!(e, Event::End)));
}
