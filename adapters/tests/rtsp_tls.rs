//! `rtsps://` through a TLS-terminating peer (socat in front of GStreamer's RTSP server) with a
//! certificate made by openssl in the test: the pinned fingerprint is accepted, a wrong one is
//! refused, and a configured CA file works.

#[path = "peers/support.rs"]
mod support;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use scelle_adapters::rtsp::{PullRequest, Replay, TlsTrust};
use scelle_adapters::{Codec, Error};
use support::*;

fn openssl(dir: &Path, args: &[&str]) {
    let st = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success(), "openssl {args:?}");
}

/// A CA and a camera certificate for 127.0.0.1 signed by it; returns the camera cert's SHA-256.
fn make_certs(dir: &Path) -> [u8; 32] {
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let mut a = vec!["req", "-x509"];
    a.extend(ec);
    a.extend([
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=test CA",
    ]);
    openssl(dir, &a);
    let mut a = vec!["req"];
    a.extend(ec);
    a.extend([
        "-keyout",
        "cam.key",
        "-out",
        "cam.csr",
        "-subj",
        "/CN=camera",
    ]);
    openssl(dir, &a);
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "cam.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "cam.pem",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
        ],
    );
    let out = Command::new("openssl")
        .current_dir(dir)
        .args([
            "x509",
            "-in",
            "cam.pem",
            "-noout",
            "-fingerprint",
            "-sha256",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    match TlsTrust::pinned_hex(text.trim().rsplit('=').next().unwrap()) {
        Some(TlsTrust::Pinned(fp)) => fp,
        other => panic!("fingerprint {text:?} gave {other:?}"),
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
