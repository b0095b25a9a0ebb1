//! Camera credentials, kept out of the main configuration (which operators share, paste into
//! tickets and back up). Two places are accepted:
//!
//! - a credentials file readable only by the service (mode `0600`/`0400`; a group- or
//!   world-readable file is refused), one camera per line: `camera-id:user:password`
//!   (the password is the rest of the line and may contain `:`; `#` starts a comment line);
//! - systemd credentials (`LoadCredential=cam-entrance:/etc/scelle/cam-entrance`): the file
//!   `$CREDENTIALS_DIRECTORY/<name>` holds `user:password`.
//!
//! The password is wiped from memory when dropped and never printed by `Debug`. Errors name the
//! file and line, never the content.

use std::fmt;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::Error;

/// A user name and password for one device.
#[derive(Clone)]
pub struct Credentials {
    pub user: String,
    password: Zeroizing<String>,
}

impl Credentials {
    pub fn new(user: impl Into<String>, password: impl Into<String>) -> Credentials {
        Credentials {
            user: user.into(),
            password: Zeroizing::new(password.into()),
        }
    }

    pub fn password(&self) -> &str {
        &self.password
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// Where a camera's credentials come from (named in the camera's config entry).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub enum CredentialSource {
    /// A line `id:user:password` of this file.
    File { path: PathBuf, id: String },
    /// systemd credential `name` in `$CREDENTIALS_DIRECTORY`.
    Systemd { name: String },
}

fn cred_err(path: &Path, message: impl Into<String>) -> Error {
    Error::Credentials {
        path: path.display().to_string(),
        message: message.into(),
    }
}

/// Reads a secret file, refusing one that others than its owner can read.
fn read_private(path: &Path) -> Result<Zeroizing<String>, Error> {
    let meta = std::fs::metadata(path).map_err(|e| cred_err(path, format!("cannot read: {e}")))?;
    let mode = meta.permissions().mode();
    if mode & 0o077 != 0 {
        return Err(cred_err(
            path,
            format!(
                "is readable by group or others (mode {:04o}); run `chmod 600` on it",
                mode & 0o7777
            ),
        ));
    }
    let text =
        std::fs::read_to_string(path).map_err(|e| cred_err(path, format!("cannot read: {e}")))?;
    Ok(Zeroizing::new(text))
}

fn split_user(path: &Path, line_no: usize, s: &str) -> Result<Credentials, Error> {
    match s.split_once(':') {
        Some((user, password)) if !user.is_empty() => Ok(Credentials::new(user, password)),
        _ => Err(cred_err(
            path,
            format!("line {line_no}: expected `user:password`"),
        )),
    }
}

/// Credentials for `id` from a credentials file.
pub fn from_file(path: &Path, id: &str) -> Result<Credentials, Error> {
    let text = read_private(path)?;
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let Some((name, rest)) = line.split_once(':') else {
            return Err(cred_err(
                path,
                format!("line {}: expected `camera-id:user:password`", i + 1),
            ));
        };
        if name.trim() == id {
            return split_user(path, i + 1, rest);
        }
    }
    Err(cred_err(path, format!("has no entry for camera `{id}`")))
}

/// Credentials from systemd credential `name` in directory `dir`.
pub fn from_credentials_dir(dir: &Path, name: &str) -> Result<Credentials, Error> {
    if name.is_empty() || name.contains('/') || name.starts_with('.') {
        return Err(cred_err(dir, format!("`{name}` is not a credential name")));
    }
    let path = dir.join(name);
    let text = read_private(&path)?;
    split_user(
        &path,
        1,
        text.lines().next().unwrap_or("").trim_end_matches('\r'),
    )
}

/// Loads credentials from where the camera entry says.
pub fn load(source: &CredentialSource) -> Result<Credentials, Error> {
    match source {
        CredentialSource::File { path, id } => from_file(path, id),
        CredentialSource::Systemd { name } => {
            let dir = std::env::var_os("CREDENTIALS_DIRECTORY").ok_or_else(|| {
                cred_err(
                    Path::new("$CREDENTIALS_DIRECTORY"),
                    format!("is not set: add `LoadCredential={name}:…` to the service unit"),
                )
            })?;
            from_credentials_dir(Path::new(&dir), name)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn write(dir: &Path, name: &str, text: &str, mode: u32) -> PathBuf {
        let p = dir.join(name);
        fs::write(&p, text).unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(mode)).unwrap();
        p
    }

    #[test]
    fn reads_the_right_line_of_a_private_file() {
        let d = tempfile::tempdir().unwrap();
        let p = write(
            d.path(),
            "creds",
            "# cameras\nhall:admin:x\nentrance:viewer:p:a:ss\n",
            0o600,
        );
        let c = from_file(&p, "entrance").unwrap();
        assert_eq!((c.user.as_str(), c.password()), ("viewer", "p:a:ss"));
        assert!(!format!("{c:?}").contains("p:a:ss"));
        let e = from_file(&p, "garage").unwrap_err().to_string();
        assert!(e.contains("garage"), "{e}");
    }

    #[test]
    fn refuses_a_group_or_world_readable_file() {
        let d = tempfile::tempdir().unwrap();
        let p = write(d.path(), "creds", "hall:admin:secret\n", 0o640);
        let e = from_file(&p, "hall").unwrap_err().to_string();
        assert!(e.contains("chmod 600") && !e.contains("secret"), "{e}");
        let p = write(d.path(), "creds2", "hall:admin:secret\n", 0o604);
        assert!(from_file(&p, "hall").is_err());
    }

    #[test]
    fn reads_systemd_credentials() {
        let d = tempfile::tempdir().unwrap();
        write(d.path(), "cam-hall", "admin:s3cret\n", 0o400);
        let c = from_credentials_dir(d.path(), "cam-hall").unwrap();
        assert_eq!((c.user.as_str(), c.password()), ("admin", "s3cret"));
        assert!(from_credentials_dir(d.path(), "../cam-hall").is_err());
        write(d.path(), "bad", "no-colon\n", 0o400);
        let e = from_credentials_dir(d.path(), "bad")
            .unwrap_err()
            .to_string();
        assert!(!e.contains("no-colon"), "{e}");
    }
}
