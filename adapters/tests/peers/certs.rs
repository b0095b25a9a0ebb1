//! A test CA and a camera certificate it signed for 127.0.0.1, made by openssl in the test,
//! for the TLS fronts of the peers (RTSPS, HTTPS). Shared by the adapters' tests and the
//! end-to-end tests (`tests/peers` is this folder).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

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
