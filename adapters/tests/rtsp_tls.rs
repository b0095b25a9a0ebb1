//! `rtsps://` through a TLS-terminating peer (socat in front of GStreamer's RTSP server) with a
//! certificate made by openssl in the test: the pinned fingerprint is accepted, a wrong one is
//! refused, and a configured CA file works.

#[path = "peers/certs.rs"]
mod certs;
#[path = "peers/support.rs"]
mod support;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use scelle_adapters::rtsp::{PullRequest, Replay, TlsTrust};
use scelle_adapters::{Codec, Error};
use support::*;

/// The camera certificate made in `dir` (CA-signed, for 127.0.0.1); returns its SHA-256.
fn make_certs(dir: &Path) -> [u8; 32] {
    let certs = certs::make_certs(dir, "camera");
    match TlsTrust::pinned_hex(&certs.fingerprint) {
        Some(TlsTrust::Pinned(fp)) => fp,
        other => panic!("fingerprint {} gave {other:?}", certs.fingerprint),
    }
}

/// socat terminating TLS on `port` and forwarding to the RTSP server.
struct TlsFront(Child);

impl TlsFront {
    fn start(dir: &Path, port: u16, rtsp_port: u16) -> TlsFront {
        let child = Command::new("socat")
            .current_dir(dir)
            .arg(format!(
                "OPENSSL-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork,cert=cam.pem,key=cam.key,verify=0"
            ))
            .arg(format!("TCP:127.0.0.1:{rtsp_port}"))
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        TlsFront(child)
    }
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn request(port: u16, tls: Option<TlsTrust>) -> PullRequest {
    PullRequest {
        camera: "tls".into(),
        url: format!("rtsps://127.0.0.1:{port}/h264"),
        credentials: None,
        tls,
        mode: Replay::Npt {
            start: Duration::ZERO,
            end: Some(Duration::from_secs(2)),
        },
    }
}

#[tokio::test]
async fn rtsps_trusts_only_the_pinned_or_ca_signed_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let fp = make_certs(dir.path());
    let clip = make_clip(dir.path(), Codec::H264, 4);
    let peer = Peer::start(free_port(), &[("h264", &clip)], &[]);
    let port = free_port();
    let _front = TlsFront::start(dir.path(), port, peer.port);

    let (res, events) = pull(quick_config(), request(port, Some(TlsTrust::Pinned(fp)))).await;
    res.unwrap();
    assert!(units(&events).len() >= 50);

    let mut wrong = fp;
    wrong[0] ^= 1;
    let (res, events) = pull(quick_config(), request(port, Some(TlsTrust::Pinned(wrong)))).await;
    let err = res.unwrap_err();
    assert!(matches!(err, Error::Tls { .. }), "{err:?}");
    assert!(
        err.to_string().contains("does not match the pinned"),
        "{err}"
    );
    assert!(events.is_empty());

    let ca = TlsTrust::CaFile(dir.path().join("ca.pem"));
    let (res, events) = pull(quick_config(), request(port, Some(ca))).await;
    res.unwrap();
    assert!(units(&events).len() >= 50);

    // A CA that did not sign the camera's certificate is refused.
    let other = TlsTrust::CaFile(dir.path().join("cam.pem"));
    let (res, _) = pull(quick_config(), request(port, Some(other))).await;
    assert!(matches!(res, Err(Error::Tls { .. })), "{res:?}");

    // rtsps without any configured trust is refused before connecting to anything.
    let (res, _) = pull(quick_config(), request(port, None)).await;
    assert!(matches!(res, Err(Error::Tls { .. })), "{res:?}");
}
