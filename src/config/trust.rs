//! Whether a file the daemon trusts (its configuration, camera credentials) could have been
//! changed by someone else (issue 15), as sshd's `StrictModes`: the file must be owned by root
//! or by the account scelle runs as, not writable by group or others, and its directory not
//! writable by others unless sticky. A secret (credentials) must not be readable by them
//! either. Checked at start and at every reload.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// `Err(message)` when `path` fails the checks; the message says what to run.
pub fn check(path: &Path, secret: bool) -> Result<(), String> {
    let meta =
        std::fs::metadata(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let me = rustix::process::geteuid().as_raw();
    if meta.uid() != 0 && meta.uid() != me {
        return Err(format!(
            "{} is owned by uid {}, neither root nor the account scelle runs as (uid {me}): \
             anyone using that account could change it; `chown root {}`",
            path.display(),
            meta.uid(),
            path.display()
        ));
    }
    let mode = meta.mode() & 0o7777;
    let forbidden = if secret { 0o077 } else { 0o022 };
    if mode & forbidden != 0 {
        return Err(format!(
            "{} is {} by group or others (mode {mode:04o}): anyone in that group could {}; \
             `chmod {} {}`",
            path.display(),
            if secret {
                "readable or writable"
            } else {
                "writable"
            },
            if secret {
                "read the cameras' passwords"
            } else {
                "change who may do what"
            },
            if secret { "600" } else { "go-w" },
            path.display()
        ));
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && let Ok(d) = std::fs::metadata(dir)
    {
        let dmode = d.mode() & 0o7777;
        let sticky = dmode & 0o1000 != 0;
        if (d.uid() != 0 && d.uid() != me) || (dmode & 0o022 != 0 && !sticky) {
            return Err(format!(
                "{} sits in {}, which someone else than root or the account scelle runs as can \
                 write (owner uid {}, mode {dmode:04o}): they could replace it; `chmod go-w {}`",
                path.display(),
                dir.display(),
                d.uid(),
                dir.display()
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn group_writable_and_readable_secrets_are_refused() {
        let d = tempfile::tempdir().unwrap();
        std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let f = d.path().join("scelle.toml");
        std::fs::write(&f, "x").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        check(&f, false).unwrap();
        assert!(check(&f, true).unwrap_err().contains("chmod 600"));
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o664)).unwrap();
        assert!(check(&f, false).unwrap_err().contains("mode 0664"));
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
        check(&f, true).unwrap();
        std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        assert!(check(&f, false).unwrap_err().contains("replace it"));
        std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o1777)).unwrap();
        check(&f, false).unwrap();
    }
}
