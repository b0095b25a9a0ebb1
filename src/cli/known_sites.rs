//! The person's pinned site keys, like SSH's `known_hosts`: `~/.config/scelle/known_sites`
//! (or `$XDG_CONFIG_HOME/scelle/known_sites`, or the file `SCELLE_KNOWN_SITES` names).
//!
//! One line per site: the site key's fingerprint (`SHA256:…`), a space, the control socket's
//! absolute path. The first connection to a socket pins the fingerprint the daemon's
//! identification challenge names; a later connection naming another fingerprint is refused
//! with a warning, until the person removes the line (after checking with the administrator
//! that the site key really changed).

use std::io::Write;
use std::path::{Path, PathBuf};

/// Where the pins are kept for this user; `None` when there is no home directory.
pub fn default_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("SCELLE_KNOWN_SITES") {
        return Some(PathBuf::from(p));
    }
    let base = match std::env::var_os("XDG_CONFIG_HOME") {
        Some(x) if !x.is_empty() => PathBuf::from(x),
        _ => PathBuf::from(std::env::var_os("HOME")?).join(".config"),
    };
    Some(base.join("scelle").join("known_sites"))
}

/// The fingerprint pinned for `socket` in `file`, if any.
pub fn pinned(file: &Path, socket: &Path) -> Option<String> {
    let text = std::fs::read_to_string(file).ok()?;
    let socket = socket.to_string_lossy();
    text.lines().find_map(|l| {
        let (fp, path) = l.split_once(' ')?;
        (path == socket).then(|| fp.to_owned())
    })
}

/// Checks `fingerprint` against the pin of `socket`, pinning it on first use. `Err` says
/// why the connection must not be trusted, and what to do.
pub fn check(file: &Path, socket: &Path, fingerprint: &str) -> Result<(), String> {
    if fingerprint
        .chars()
        .any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(format!(
            "the daemon names a malformed site key `{fingerprint}`"
        ));
    }
    match pinned(file, socket) {
        Some(p) if p == fingerprint => Ok(()),
        Some(p) => Err(format!(
            "WARNING: THE SITE KEY OF {} HAS CHANGED. It was {p}, it is now {fingerprint}. \
             Something may be relaying or impersonating the scelle daemon: nothing was signed. \
             If the administrator confirms the site key changed, remove the line of this socket \
             from {}",
            socket.display(),
            file.display()
        )),
        None => {
            let add = || -> std::io::Result<()> {
                if let Some(dir) = file.parent() {
                    std::fs::create_dir_all(dir)?;
                }
                let mut f = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(file)?;
                writeln!(f, "{fingerprint} {}", socket.display())
            };
            match add() {
                Ok(()) => eprintln!(
                    "scelle: first connection to the site at {}: its key {fingerprint} is now \
                     pinned in {}",
                    socket.display(),
                    file.display()
                ),
                Err(e) => eprintln!(
                    "scelle: cannot pin the site key {fingerprint} in {}: {e}",
                    file.display()
                ),
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_on_first_use_and_refuses_a_change() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("cfg/known_sites");
        let sock = Path::new("/run/scelle/scelle.sock");
        assert_eq!(check(&file, sock, "SHA256:aaa"), Ok(()));
        assert_eq!(pinned(&file, sock).as_deref(), Some("SHA256:aaa"));
        assert_eq!(check(&file, sock, "SHA256:aaa"), Ok(()));
        let e = check(&file, sock, "SHA256:bbb").unwrap_err();
        assert!(e.contains("HAS CHANGED") && e.contains("SHA256:aaa"), "{e}");
        // Another socket is another site.
        assert_eq!(
            check(&file, Path::new("/tmp/other.sock"), "SHA256:bbb"),
            Ok(())
        );
    }
}
