//! Child processes that die with the daemon (decision 0145).
//!
//! The anonymization engine's `ffmpeg`/`ffprobe` children and the export verifier's `ffprobe`
//! hold plaintext frames in memory files. If the daemon is killed (SIGKILL, OOM killer), they
//! must not keep running on their own: [`child_command`] starts them under util-linux's
//! `setpriv --pdeathsig KILL`, which asks the kernel to SIGKILL the child when its parent
//! dies, then through `/bin/sh`, which checks that its parent is still the daemon before it
//! `exec`s the program: a daemon killed between the fork and `setpriv`'s `prctl` would leave an
//! orphan the kernel never signals, and the check closes that gap (the death signal is already
//! set when the shell runs, so a later death is signalled).
//!
//! The kernel sends the signal when the *thread* that forked the child exits, not the whole
//! process: a caller spawns and reaps its children on a thread that outlives them (the engine
//! kills and waits for its children in `Drop`, before the calling thread can end).
//!
//! No `unsafe` (`pre_exec` and `prctl` from Rust would need it): the workspace denies it.

use std::ffi::{OsStr, OsString};
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs as `/bin/sh -c SCRIPT sh DAEMON_PID PROGRAM ARGS…` under `setpriv --pdeathsig KILL`:
/// if the daemon died before the death signal was set, the parent is no longer the daemon and
/// the program is not started.
const SCRIPT: &str = r#"[ "$PPID" = "$1" ] || exit 125; shift; exec "$@""#;

/// A [`Command`] running `program` (looked up on `PATH`, from Debian package `package`) so
/// that it is killed when this process dies. Arguments, standard streams and environment are
/// set on it as usual.
///
/// Errors: `NotFound` when `program` or `setpriv` (Debian package util-linux, essential) is
/// not installed, saying which package to install; nothing is started then.
pub fn child_command(program: &str, package: &str) -> io::Result<Command> {
    let path = std::env::var_os("PATH").unwrap_or_else(|| OsString::from("/usr/bin:/bin"));
    command_under(std::process::id(), program, package, &path)
}

/// [`child_command`] for a child that runs only if its parent is still `parent`, looking
/// programs up in `path`.
fn command_under(parent: u32, program: &str, package: &str, path: &OsStr) -> io::Result<Command> {
    let exe = find_on_path(program, path).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::NotFound,
            format!("`{program}` was not found on PATH: install the Debian package {package}"),
        )
    })?;
    let setpriv = find_on_path("setpriv", path).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::NotFound,
            format!(
                "`setpriv` was not found on PATH: install the Debian package util-linux \
                 (scelle starts `{program}` through it so that `{program}` dies with scelle)"
            ),
        )
    })?;
    let mut cmd = Command::new(setpriv);
    cmd.args(["--pdeathsig", "KILL", "--", "/bin/sh", "-c", SCRIPT, "sh"])
        .arg(parent.to_string())
        .arg(exe);
    Ok(cmd)
}

/// The first executable file named `program` in the absolute folders of `path` (or `program`
/// itself if it is a path).
fn find_on_path(program: &str, path: &OsStr) -> Option<PathBuf> {
    let executable = |p: &Path| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if program.contains('/') {
        let p = PathBuf::from(program);
        return executable(&p).then_some(p);
    }
    std::env::split_paths(path)
        .filter(|d| d.is_absolute())
        .map(|d| d.join(program))
        .find(|p| executable(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_the_program_with_its_arguments() {
        let out = child_command("sh", "dash")
            .unwrap()
            .args(["-c", "echo \"$0|$1\"", "a b"])
            .arg("$c")
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        assert_eq!(String::from_utf8_lossy(&out.stdout), "a b|$c\n");
    }

    #[test]
    fn nothing_runs_once_the_parent_is_gone() {
        // As if the daemon had died between the fork and `setpriv`'s prctl: the shell's
        // parent is not the one expected, so the program is never started.
        let out = command_under(1, "echo", "coreutils", OsStr::new("/usr/bin:/bin"))
            .unwrap()
            .arg("started")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(125), "{out:?}");
        assert!(out.stdout.is_empty(), "{out:?}");
    }

    #[test]
    fn the_child_has_a_death_signal() {
        // /proc/PID/status has no death signal field; `setpriv --dump` prints it.
        let out = child_command("setpriv", "util-linux")
            .unwrap()
            .arg("--dump")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.lines()
                .any(|l| l.starts_with("Parent death signal:") && l.contains("KILL")),
            "{text}"
        );
    }

    #[test]
    fn without_setpriv_nothing_starts_and_the_error_says_what_to_install() {
        let dir = tempfile::tempdir().unwrap();
        let fake = dir.path().join("ffmpeg");
        std::fs::write(&fake, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
        let path = dir.path().as_os_str();
        let e = command_under(std::process::id(), "ffmpeg", "ffmpeg", path).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
        assert!(e.to_string().contains("package util-linux"), "{e}");
    }

    #[test]
    fn a_missing_program_is_named() {
        let e = child_command("scelle-no-such-program", "scelle-tools").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
        let text = e.to_string();
        assert!(text.contains("`scelle-no-such-program`"), "{text}");
        assert!(text.contains("package scelle-tools"), "{text}");
    }
}
