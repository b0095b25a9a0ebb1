//! The adapters' one error type. Every variant names the device or URL it concerns (never with
//! its password) so that an operator reading it knows which camera failed and how.

use std::io;

/// An error talking to a camera or recorder. `target` is always a URL or path without
/// credentials.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("cannot connect to {target}: {source}")]
    Connect {
        target: String,
        #[source]
        source: io::Error,
    },
    #[error("TLS with {target} failed: {message}")]
    Tls { target: String, message: String },
    #[error("{target} refused the credentials for {method} (check the camera's user and password)")]
    Auth { target: String, method: String },
    #[error("{target} answered {method} with {status} {reason}")]
    Status {
        target: String,
        method: String,
        status: u16,
        reason: String,
    },
    #[error("{target} sent something scelle cannot understand: {message}")]
    Protocol { target: String, message: String },
    #[error("{target} did not answer {what} in time")]
    Timeout { target: String, what: String },
    #[error("{target}: {message}")]
    Io {
        target: String,
        message: String,
        #[source]
        source: io::Error,
    },
    #[error("the pull from {target} was abandoned: its consumer stopped reading")]
    Abandoned { target: String },
    #[error("{what} is not supported: {why}")]
    Unsupported { what: String, why: String },
    /// The device answered with a SOAP fault (ONVIF). `subcode` is the ONVIF `ter:` subcode
    /// without prefix (e.g. `NoRecording`, `InvalidToken`).
    #[error("{target} refused {operation}: SOAP fault {code}{} ({reason})", subcode.as_deref().map(|s| format!("/{s}")).unwrap_or_default())]
    Fault {
        target: String,
        operation: String,
        code: String,
        subcode: Option<String>,
        reason: String,
    },
    /// scelle refused to go on because the link would expose a secret or footage (Basic
    /// authentication or an unencrypted stream where the camera's entry does not allow it).
    #[error("{target}: {message}")]
    Insecure { target: String, message: String },
    /// Camera credentials could not be loaded. Never carries the secret itself.
    #[error("camera credentials {path} {message}")]
    Credentials { path: String, message: String },
}

/// Removes user and password from a URL for messages and logs.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.to_string()
        }
        Err(_) => match (url.find("://"), url.rfind('@')) {
            (Some(s), Some(at)) if at > s => format!("{}{}", &url[..s + 3], &url[at + 1..]),
            _ => url.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn redacts_credentials() {
        assert_eq!(
            redact_url("rtsp://admin:secret@127.0.0.1:554/x"),
            "rtsp://127.0.0.1:554/x"
        );
        assert_eq!(redact_url("rtsp://127.0.0.1/x"), "rtsp://127.0.0.1/x");
    }
}
