//! TLS in front of the test peers, as a camera with RTSPS or HTTPS would present it: a CA and a
//! camera certificate it signed for 127.0.0.1 (`peers/certs.rs`), and `stunnel`
//! terminating TLS on a free loopback port and forwarding to a plain peer (GStreamer's RTSP
//! server, or the ONVIF SOAP double).

#![allow(dead_code)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::certs::Certs;
use super::peers::free_port;

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
