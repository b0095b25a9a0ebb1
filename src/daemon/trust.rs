//! What the daemon checks before it trusts its state directory, and what it leaves there so
//! the next start can check again (decision 0061):
//!
//! - `scelle.lock`: an exclusive POSIX record lock (`fcntl`, not `flock`: decision 0146) held
//!   for the daemon's whole life, with its pid inside, so a second `scelle serve` on the same
//!   state directory stops before touching anything;
//! - `site-key`: the Ed25519 key that seals every register entry (made at the first start);
//! - `register.head`: the last head the daemon wrote (`SEQ:HASH`), rewritten after every
//!   append. At start the register must contain it: a register that is shorter, older
//!   (a restored backup), rewritten (a fork) or missing is refused.
//!
//! The register itself is verified at start: entirely when small, and from the last checkpoint
//! at or before the recorded head when large (entries up to it were verified when written).

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::path::Path;
use std::sync::Arc;

use crate::register::{
    EntryKind, Head, Register, RegisterError, SiteKey, VerifyOptions, VerifyReport,
};

use super::DaemonError;

/// The lock file of the state directory.
pub const LOCK_FILE: &str = "scelle.lock";
/// The site key (OpenSSH private key, 0600).
pub const SITE_KEY_FILE: &str = "site-key";
/// The last head the daemon wrote.
pub const HEAD_FILE: &str = "register.head";
/// Registers with more entries than this are verified at start from the last trusted
/// checkpoint rather than from entry 1.
pub const FULL_VERIFY_LIMIT: u64 = 10_000;

/// The state directory's lock, held until dropped (the process exits).
///
/// A POSIX record lock belongs to the process, not to the open file: a child that holds a copy
/// of the descriptor (one forked but not yet `exec`ed when the daemon is killed, which first
/// tears down the dead daemon's whole address space) does not keep it, where it kept a `flock`
/// (decision 0146). The price: closing *any* descriptor of this file in this process drops the
/// lock, so nothing else in the daemon may open `scelle.lock`.
#[derive(Debug)]
pub struct StateLock {
    _file: File,
}

/// Takes the state directory's exclusive lock, or says which process holds it.
pub fn lock_state_dir(dir: &Path) -> Result<StateLock, DaemonError> {
    let path = dir.join(LOCK_FILE);
    let io = |source| DaemonError::StateDir {
        path: path.clone(),
        source,
    };
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(io)?;
    match rustix::fs::fcntl_lock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => {}
        Err(rustix::io::Errno::AGAIN | rustix::io::Errno::ACCESS) => {
            let mut text = String::new();
            let _ = file.read_to_string(&mut text);
            return Err(DaemonError::AlreadyRunning {
                dir: dir.to_owned(),
                pid: text.trim().to_owned(),
            });
        }
        Err(e) => return Err(io(e.into())),
    }
    file.set_len(0).map_err(io)?;
    file.rewind().map_err(io)?;
    writeln!(file, "{}", std::process::id()).map_err(io)?;
    file.sync_all().map_err(io)?;
    Ok(StateLock { _file: file })
}

/// Reads the head file; `None` if it does not exist.
pub fn read_head_file(path: &Path) -> Result<Option<Head>, DaemonError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Head::parse(&text)
            .map(Some)
            .ok_or_else(|| DaemonError::RegisterRefused {
                reason: format!(
                    "the head file {} does not hold SEQ:HASH (it holds {:?})",
                    path.display(),
                    text.chars().take(80).collect::<String>()
                ),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(DaemonError::StateDir {
            path: path.to_owned(),
            source,
        }),
    }
}

/// Replaces the head file with `head` (a new file renamed over the old one, so a crash leaves
/// either the old or the new head).
pub fn write_head_file(path: &Path, head: &Head) -> std::io::Result<()> {
    let tmp = path.with_extension("head.new");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&tmp)?;
    writeln!(f, "{head}")?;
    f.sync_data()?;
    std::fs::rename(&tmp, path)
}

/// The register the daemon may trust, its site key, and what the start found.
pub struct Trusted {
    pub register: Arc<Register>,
    pub site_key: Arc<SiteKey>,
    pub report: VerifyReport,
}

/// Opens, checks and seals the register of state directory `dir`; refuses a broken, shortened,
/// rolled-back, forked or missing one.
pub fn open_register(dir: &Path, register_file: &str) -> Result<Trusted, DaemonError> {
    let reg_path = dir.join(register_file);
    let key_path = dir.join(SITE_KEY_FILE);
    let head_path = dir.join(HEAD_FILE);
    let refuse = |reason: String| DaemonError::RegisterRefused { reason };
    let recorded = read_head_file(&head_path)?;
    let had_key = key_path.exists();
    let had_register = reg_path.exists();
    if !had_register && (recorded.is_some() || had_key) {
        let what = match &recorded {
            Some(h) => format!("the head file says it held {} entries (head {h})", h.seq),
            None => format!("the site key {} exists", key_path.display()),
        };
        return Err(refuse(format!(
            "the register {} is missing, but this state directory held one ({what}); restore \
             the register from a backup, never start on an empty one",
            reg_path.display()
        )));
    }
    if had_register && had_key && recorded.is_none() {
        return Err(refuse(format!(
            "the head file {} is missing: the register cannot be compared with the last head \
             this daemon wrote",
            head_path.display()
        )));
    }
    if had_register && !had_key && recorded.is_some() {
        return Err(refuse(format!(
            "the site key {} is missing: the register's seals cannot be continued",
            key_path.display()
        )));
    }
    let site_key = Arc::new(SiteKey::load_or_create(&key_path)?);
    if !had_key {
        tracing::info!(target: crate::security_log::TARGET, event = "site-key-created",
            fingerprint = %site_key.fingerprint(), path = %key_path.display(),
            "site key created: pin its fingerprint (receipts and the register report print it)");
    }
    if !had_register {
        tracing::info!(target: crate::security_log::TARGET, event = "register-created",
            path = %reg_path.display(), site_key = %site_key.fingerprint(),
            "first start on an empty state directory: a new register is created");
    }
    let register = Register::open(&reg_path)?;
    let head = register.head()?;
    // A large register is verified from the last checkpoint at or before the recorded head.
    let trusted = match recorded {
        Some(r) if head.seq > FULL_VERIFY_LIMIT && r.seq <= head.seq => {
            register.checkpoint_head_at_or_before(r.seq)?
        }
        _ => None,
    };
    let pin = register.sealed_by();
    let report = register
        .verify_with(VerifyOptions {
            expected: recorded.as_ref(),
            trusted: trusted.as_ref(),
            site_key: pin.as_deref(),
        })
        .map_err(|e| match e {
            RegisterError::Truncated { .. } => refuse(format!(
                "the register is not the one this daemon left: {e}. It was shortened, replaced \
                 by an older copy, or rewritten"
            )),
            e if e.is_integrity() => refuse(format!("the register does not verify: {e}")),
            e => DaemonError::Register(e),
        })?;
    match register.seal(site_key.clone()) {
        Ok(Some(marker)) => {
            if head.seq > 0 {
                tracing::warn!(target: crate::security_log::TARGET, event = "register-sealed",
                    seq = marker.seq, unsealed = head.seq, site_key = %site_key.fingerprint(),
                    "register written before sealing: entries 1 to {} are chained but not sealed \
                     by a site key; sealed from entry {} on (decision 0060)", head.seq, marker.seq);
            }
        }
        Ok(None) => {}
        Err(e @ RegisterError::SiteKeyMismatch { .. }) => {
            return Err(refuse(e.to_string()));
        }
        Err(e) => return Err(e.into()),
    }
    let head = register.head()?;
    write_head_file(&head_path, &head).map_err(|source| DaemonError::StateDir {
        path: head_path.clone(),
        source,
    })?;
    let hook_path = head_path.clone();
    register.on_append(Box::new(move |entry| {
        let head = entry.head();
        if let Err(e) = write_head_file(&hook_path, &head) {
            tracing::error!(error = %e, path = %hook_path.display(),
                "cannot write the head file: the next start will refuse the register");
        }
        tracing::info!(target: crate::security_log::TARGET, event = "register-head",
            seq = head.seq, hash = %hex::encode(head.hash), kind = %entry.kind,
            "register head");
    }));
    tracing::info!(target: crate::security_log::TARGET, event = "register-head",
        seq = head.seq, hash = %hex::encode(head.hash), kind = "start",
        entries = report.entries, trusted = report.trusted, "register verified at start");
    Ok(Trusted {
        register: Arc::new(register),
        site_key,
        report,
    })
}

/// The configuration file's SHA-256 (hex), recorded by `config-changed` entries.
pub fn config_digest(path: &Path) -> Option<String> {
    use sha2::Digest;
    std::fs::read(path)
        .ok()
        .map(|bytes| hex::encode(sha2::Sha256::digest(bytes)))
}

/// Records a `config-changed` entry if the configuration file differs from the one last
/// recorded; `why` is `start` or `reload`. Returns whether an entry was appended.
pub fn record_config(register: &Register, path: &Path, why: &str) -> Result<bool, RegisterError> {
    let Some(digest) = config_digest(path) else {
        return Ok(false);
    };
    let last = register.last_field(EntryKind::ConfigChanged, "config_sha256")?;
    if last.as_deref() == Some(digest.as_str()) {
        return Ok(false);
    }
    let entry = register.append(crate::register::NewEntry::new(
        EntryKind::ConfigChanged,
        None,
        crate::register::SITE_PERSON,
        serde_json::json!({
            "config_sha256": digest,
            "path": path.display().to_string(),
            "previous_sha256": last,
            "on": why,
        }),
    ))?;
    tracing::info!(target: crate::security_log::TARGET, event = "config-changed", seq = entry.seq,
        sha256 = %digest, on = why, path = %path.display(), "configuration change recorded");
    Ok(true)
}

#[cfg(test)]
mod tests {
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    use super::*;

    /// Helper process of `a_killed_daemons_lock_is_free_even_if_a_child_holds_its_file`:
    /// takes the lock of `SCELLE_LOCK_DIR` like the daemon, lets a `sleep` inherit its
    /// descriptor (as a child forked but not yet `exec`ed holds it), writes that child's pid,
    /// then waits to be killed.
    #[test]
    #[ignore = "helper process of a_killed_daemons_lock_is_free_even_if_a_child_holds_its_file"]
    fn lock_holder() {
        let Some(dir) = std::env::var_os("SCELLE_LOCK_DIR") else {
            return;
        };
        let dir = Path::new(&dir);
        let lock = lock_state_dir(dir).unwrap();
        // Inherited as is (closing a duplicate here would drop a POSIX lock at once).
        rustix::io::fcntl_setfd(&lock._file, rustix::io::FdFlags::empty()).unwrap();
        let mut sleeper = Command::new("sleep").arg("60").spawn().unwrap();
        std::fs::write(dir.join("sleeper.pid"), sleeper.id().to_string()).unwrap();
        std::thread::sleep(Duration::from_secs(60));
        let _ = sleeper.kill();
        let _ = sleeper.wait();
    }

    /// The daemon SIGKILLed while a child still holds a copy of the lock file's descriptor:
    /// the next daemon takes the lock at once (a `flock` stayed held until the child let go).
    #[test]
    fn a_killed_daemons_lock_is_free_even_if_a_child_holds_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let mut holder = Command::new(std::env::current_exe().unwrap())
            .args(["--ignored", "--exact", "daemon::trust::tests::lock_holder"])
            .args(["--test-threads=1", "--quiet"])
            .env("SCELLE_LOCK_DIR", dir.path())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let pid_file = dir.path().join("sleeper.pid");
        let t = Instant::now();
        let sleeper: i32 = loop {
            if let Some(pid) = std::fs::read_to_string(&pid_file)
                .ok()
                .and_then(|s| s.trim().parse().ok())
            {
                break pid;
            }
            assert!(t.elapsed() < Duration::from_secs(20), "no helper process");
            assert!(holder.try_wait().unwrap().is_none(), "the helper died");
            std::thread::sleep(Duration::from_millis(10));
        };
        // Held while the "daemon" lives.
        assert!(matches!(
            lock_state_dir(dir.path()),
            Err(DaemonError::AlreadyRunning { .. })
        ));
        holder.kill().unwrap();
        holder.wait().unwrap();
        let taken = lock_state_dir(dir.path());
        if let Some(pid) = rustix::process::Pid::from_raw(sleeper) {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
        }
        let lock = taken.expect("the killed daemon's lock is free");
        drop(lock);
    }
}
