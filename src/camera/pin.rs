//! `scelle camera pin ID`: trust on first use of a camera's certificate, confirmed by the
//! operator. The certificate the camera presents is read (never trusted for data), compared with
//! the fingerprint the operator typed from the device's own screen or label, and only when both
//! agree is `tls = { pin = "sha256:…" }` written into the camera's `[[camera]]` entry of the
//! configuration file (decision 0110: the configuration is the one place trust is written; the
//! daemon re-reads it on change). A camera already pinned to another certificate is refused,
//! both fingerprints shown: replacing a pin is a deliberate edit, never a side effect.

use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::time::Duration;

use scelle_adapters::rtsp::tls::{self, CertificateInfo};
use serde::Deserialize;

use crate::config::{Camera, CameraSource, Config};

/// What `pin` did.
#[derive(Debug)]
pub enum Pinned {
    /// The line was written into the configuration.
    Recorded { line: String },
    /// The entry already pins this very certificate.
    Already,
}

/// Why nothing was written. Every variant that read a certificate carries it, for display.
#[derive(Debug)]
pub enum PinError {
    /// The operator must confirm the fingerprint read on the device.
    NeedsConfirmation(Box<CertificateInfo>),
    /// The certificate presented is not the one expected (the typed one, or the pinned one).
    Mismatch {
        info: Box<CertificateInfo>,
        expected: String,
        what: &'static str,
    },
    Other(String),
}

impl std::fmt::Display for PinError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PinError::NeedsConfirmation(info) => write!(
                f,
                "read the certificate's SHA-256 fingerprint on the camera itself (its web page \
                 over a trusted path, its screen or label) and run again with \
                 `--fingerprint {}` if it is the same",
                info.fingerprint
            ),
            PinError::Mismatch {
                info,
                expected,
                what,
            } => write!(
                f,
                "refused: the camera presents certificate {} but {what} is {expected}; nothing \
                 was written (if the camera's certificate was really renewed, check it on the \
                 device, remove the old `tls` line of its entry and pin again)",
                info.fingerprint
            ),
            PinError::Other(m) => f.write_str(m),
        }
    }
}

#[derive(Deserialize)]
struct Cameras {
    #[serde(default)]
    camera: Vec<toml::Spanned<Camera>>,
}

/// The TLS endpoint to read: an https:// ONVIF service, or a playback recorder's port.
fn endpoint(camera: &Camera) -> Result<(String, u16), String> {
    if let Some(e) = camera.tls_endpoint() {
        return Ok(e);
    }
    match &camera.source {
        CameraSource::Playback { host, port, .. } => Ok((host.clone(), *port)),
        CameraSource::Onvif { .. } => Err(format!(
            "camera `{}`: its `device_url` is http://; change it to the device's https:// \
             address first",
            camera.id
        )),
        CameraSource::Segments { .. } => Err(format!(
            "camera `{}` is a segment folder: it has no network link to pin",
            camera.id
        )),
    }
}

/// Pins `id`'s certificate in the configuration file at `path` when it matches `typed`.
pub async fn pin(path: &Path, id: &str, typed: Option<&str>) -> Result<Pinned, PinError> {
    let other = PinError::Other;
    let text = std::fs::read_to_string(path)
        .map_err(|e| other(format!("cannot read {}: {e}", path.display())))?;
    let cams: Cameras = toml::from_str(&text).map_err(|e| {
        other(format!(
            "cannot read the camera entries of {}: {}",
            path.display(),
            e.message()
        ))
    })?;
    let Some(entry) = cams.camera.iter().find(|c| c.get_ref().id.as_str() == id) else {
        return Err(other(format!(
            "no camera `{id}` in {} (`scelle camera list`)",
            path.display()
        )));
    };
    let camera = entry.get_ref();
    let (host, port) = endpoint(camera).map_err(other)?;
    let info = tls::inspect(&host, port, Duration::from_secs(10))
        .await
        .map_err(|e| other(e.to_string()))?;
    let presented = info.fingerprint.clone();
    if let Some(t) = &camera.tls {
        return match (t.pin, &t.ca_file) {
            (Some(p), _) if p.to_string() == presented => Ok(Pinned::Already),
            (Some(p), _) => Err(PinError::Mismatch {
                info: Box::new(info),
                expected: p.to_string(),
                what: "its entry pins",
            }),
            (None, Some(f)) => Err(other(format!(
                "camera `{id}` is trusted through the CA file {}: remove its `tls` line first \
                 to pin a certificate instead",
                f.display()
            ))),
            (None, None) => Err(other(format!("camera `{id}`: `tls` is empty"))),
        };
    }
    let Some(typed) = typed else {
        return Err(PinError::NeedsConfirmation(Box::new(info)));
    };
    let Some(typed_fp) = tls::parse_fingerprint(typed) else {
        return Err(other(format!(
            "`{typed}` is not a SHA-256 fingerprint (sha256: and 64 hex digits)"
        )));
    };
    if tls::format_fingerprint(&typed_fp) != presented {
        return Err(PinError::Mismatch {
            info: Box::new(info),
            expected: tls::format_fingerprint(&typed_fp),
            what: "the fingerprint you read on the device",
        });
    }
    let line = format!("tls = {{ pin = \"{presented}\" }}");
    let new = insert_line(&text, entry.span().start, &line);
    // The edited file must still be a configuration the daemon accepts, with the pin in place.
    let check: Result<Cameras, _> = toml::from_str(&new);
    let placed = check.ok().is_some_and(|c| {
        c.camera.iter().any(|c| {
            let c = c.get_ref();
            c.id.as_str() == id
                && c.tls
                    .as_ref()
                    .and_then(|t| t.pin)
                    .is_some_and(|p| p.to_string() == presented)
        })
    });
    if !placed {
        return Err(other(format!(
            "cannot place the line in camera `{id}`'s entry automatically: add `{line}` to it by hand"
        )));
    }
    Config::parse(path, &new).map_err(|e| {
        other(format!(
            "with the pin the configuration would be refused ({e}); nothing was written: add \
             `{line}` to camera `{id}`'s entry by hand once that is fixed"
        ))
    })?;
    write_replacing(path, &new).map_err(|e| {
        other(format!(
            "cannot write {}: {e} (add `{line}` to camera `{id}`'s entry by hand)",
            path.display()
        ))
    })?;
    Ok(Pinned::Recorded { line })
}

/// Inserts `line` into the table whose span starts at `at`: after its `[[camera]]` header, or
/// before its first key.
fn insert_line(text: &str, at: usize, line: &str) -> String {
    let at = at.min(text.len());
    let pos = if text[at..].starts_with('[') {
        text[at..].find('\n').map_or(text.len(), |n| at + n + 1)
    } else {
        text[..at].rfind('\n').map_or(0, |n| n + 1)
    };
    let mut out = String::with_capacity(text.len() + line.len() + 2);
    out.push_str(&text[..pos]);
    if pos == text.len() && !text.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(line);
    out.push('\n');
    out.push_str(&text[pos..]);
    out
}

/// Replaces `path` with `text` atomically (same folder, same permission bits, synced).
fn write_replacing(path: &Path, text: &str) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    let dir = dir.unwrap_or(Path::new("."));
    let mode = std::fs::metadata(path)?.permissions().mode() & 0o7777;
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let tmp = dir.join(format!(".{name}.pin-{}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)?;
        f.set_permissions(std::fs::Permissions::from_mode(mode))?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        std::fs::File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::insert_line;

    #[test]
    fn the_line_goes_into_the_right_table() {
        let text = "[[camera]]\nid = \"a\"\n\n[[camera]]\nid = \"b\"\n";
        let at = text.rfind("[[camera]]").unwrap();
        assert_eq!(
            insert_line(text, at, "tls = 1"),
            "[[camera]]\nid = \"a\"\n\n[[camera]]\ntls = 1\nid = \"b\"\n"
        );
        let at = text.find("id = \"b\"").unwrap();
        assert_eq!(
            insert_line(text, at, "tls = 1"),
            "[[camera]]\nid = \"a\"\n\n[[camera]]\ntls = 1\nid = \"b\"\n"
        );
    }
}
