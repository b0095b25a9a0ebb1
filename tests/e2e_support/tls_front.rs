//! TLS in front of the test peers, as a camera with RTSPS or HTTPS would present it: a CA and a
//! camera certificate it signed for 127.0.0.1, made by openssl in the test, and `stunnel`
//! terminating TLS on a free loopback port and forwarding to a plain peer (GStreamer's RTSP
//! server, or the ONVIF SOAP double).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::peers::free_port;

/// Certificates of one test camera.
pub struct Certs {
    /// The CA's certificate (PEM), for `tls = { ca_file = … }`.
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
    /// `sha256:<hex>` of the camera certificate, the configuration's pin form.
    pub fingerprint: String,
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl runs");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA and a camera certificate (subject `CN=<name>`, for 127.0.0.1) in `dir`.
pub fn make_certs(dir: &Path, name: &str) -> Certs {
    std::fs::create_dir_all(dir).unwrap();
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
    let subject = format!("/CN={name}");
    let mut a = vec!["req"];
    a.extend(ec);
    a.extend(["-keyout", "cam.key", "-out", "cam.csr", "-subj", &subject]);
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
    let hex: String = text
        .trim()
        .rsplit('=')
        .next()
        .unwrap()
        .replace(':', "")
        .to_lowercase();
    assert_eq!(hex.len(), 64, "{text}");
    Certs {
        ca: dir.join("ca.pem"),
        cert: dir.join("cam.pem"),
        key: dir.join("cam.key"),
        fingerprint: format!("sha256:{hex}"),
    }
}

/// `stunnel` presenting `certs` on a free loopback port, forwarding to `backend_port`.
pub struct Stunnel {
    child: Child,
    pub port: u16,
}

impl Stunnel {
    pub fn start(certs: &Certs, backend_port: u16) -> Stunnel {
        Stunnel::start_on(certs, backend_port, free_port())
    }

    /// On a given port (to replace a camera's certificate behind the same address).
    pub fn start_on(certs: &Certs, backend_port: u16, port: u16) -> Stunnel {
        let dir = certs.cert.parent().unwrap();
        let conf = dir.join(format!("stunnel-{port}.conf"));
        std::fs::write(
            &conf,
            format!(
                "foreground = yes\npid =\ndebug = 3\n[front]\naccept = 127.0.0.1:{port}\n\
                 connect = 127.0.0.1:{backend_port}\ncert = {}\nkey = {}\n",
                certs.cert.display(),
                certs.key.display()
            ),
        )
        .unwrap();
        let child = Command::new("stunnel")
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("stunnel runs (apt-get install stunnel4)");
        let t = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "stunnel did not listen"
            );
            std::thread::sleep(Duration::from_millis(30));
        }
        Stunnel { child, port }
    }

    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Stunnel {
    fn drop(&mut self) {
        self.stop();
    }
}
