//! `scelle doctor`: the commissioning check a technician runs on the site server, before and
//! after starting the service.
//!
//! It reads the configuration and the state directory directly (run it as root or as the
//! `scelle` user), never through the daemon, so it also works before the first start. Each check
//! prints one line (`ok`, `warn` or `FAIL`) and, for anything not ok, what to do about it. The
//! exit status is 0 when no check failed, 1 otherwise; warnings never fail (a daemon not yet
//! started is expected at commissioning).

use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::Args as ClapArgs;
use serde::Serialize;

use crate::camera::{self, Outcome};
use crate::config::Config;
use crate::daemon::REGISTER_FILE;
use crate::error::Exit;
use crate::register::Register;

/// File of the site key in the state directory (the daemon makes it at first start).
pub const SITE_KEY_FILE: &str = "site-key";

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// The configuration to check.
    #[arg(long, env = "SCELLE_CONFIG", default_value = "/etc/scelle/scelle.toml")]
    pub config: PathBuf,
    /// Fail (instead of warn) when the daemon's socket does not answer.
    #[arg(long)]
    pub expect_running: bool,
    /// Seconds each camera has to answer.
    #[arg(long, default_value_t = 10)]
    pub camera_timeout: u64,
    /// Print the checks as JSON (one object with a `checks` list).
    #[arg(long)]
    pub json: bool,
}

/// How a check came out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Ok,
    Warn,
    Fail,
}

/// One line of the report: what was checked, what was found, what to do.
#[derive(Clone, Debug, Serialize)]
pub struct Check {
    pub name: String,
    pub level: Level,
    pub found: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub todo: Option<String>,
}

impl Check {
    fn ok(name: impl Into<String>, found: impl Into<String>) -> Check {
        Check {
            name: name.into(),
            level: Level::Ok,
            found: found.into(),
            todo: None,
        }
    }
    fn warn(name: impl Into<String>, found: impl Into<String>, todo: impl Into<String>) -> Check {
        Check {
            name: name.into(),
            level: Level::Warn,
            found: found.into(),
            todo: Some(todo.into()),
        }
    }
    fn fail(name: impl Into<String>, found: impl Into<String>, todo: impl Into<String>) -> Check {
        Check {
            name: name.into(),
            level: Level::Fail,
            found: found.into(),
            todo: Some(todo.into()),
        }
    }
}

/// Runs every check and prints the report.
pub fn run(args: Args) -> ExitCode {
    let checks = checks(&args);
    let failed = checks.iter().filter(|c| c.level == Level::Fail).count();
    let mut out = std::io::stdout().lock();
    if args.json {
        let _ = serde_json::to_writer_pretty(
            &mut out,
            &serde_json::json!({ "checks": checks, "failed": failed }),
        );
        let _ = writeln!(out);
    } else {
        for c in &checks {
            let tag = match c.level {
                Level::Ok => " ok ",
                Level::Warn => "warn",
                Level::Fail => "FAIL",
            };
            let _ = writeln!(out, "[{tag}] {}: {}", c.name, c.found);
            if let Some(todo) = &c.todo {
                let _ = writeln!(out, "       -> {todo}");
            }
        }
        let warned = checks.iter().filter(|c| c.level == Level::Warn).count();
        let _ = if failed == 0 {
            writeln!(out, "doctor: all checks passed ({warned} warning(s))")
        } else {
            writeln!(
                out,
                "doctor: {failed} check(s) failed, {warned} warning(s): fix the FAIL lines above"
            )
        };
    }
    if failed == 0 {
        Exit::Ok.into()
    } else {
        Exit::Failure.into()
    }
}

/// Every check, in the order a technician fixes them.
pub fn checks(args: &Args) -> Vec<Check> {
    let mut out = Vec::new();
    let config = match Config::load(&args.config) {
        Ok(c) => {
            out.push(Check::ok(
                "configuration",
                format!(
                    "{} loads: site \"{}\", {} person(s), {} camera(s)",
                    args.config.display(),
                    c.site.name,
                    c.people.len(),
                    c.cameras.len()
                ),
            ));
            c
        }
        Err(e) => {
            out.push(Check::fail(
                "configuration",
                e.to_string(),
                format!(
                    "edit {} (the documented example is /usr/share/doc/scelle/scelle.toml.example)",
                    args.config.display()
                ),
            ));
            return out;
        }
    };
    out.push(config_mode(&args.config));
    out.push(people(&config));
    let state = config.daemon.state_dir.clone();
    out.push(register(&state));
    out.push(site_key(&state));
    out.push(socket(&config.daemon.socket, args.expect_running));
    out.extend(cameras(
        &config,
        Duration::from_secs(args.camera_timeout.max(1)),
    ));
    out.push(drives(&config));
    out.push(purges(&state));
    out
}

fn config_mode(path: &Path) -> Check {
    match std::fs::metadata(path) {
        Ok(m) if m.mode() & 0o022 != 0 => Check::fail(
            "configuration rights",
            format!(
                "{} is group- or world-writable ({:o})",
                path.display(),
                m.mode() & 0o777
            ),
            format!("chmod 0640 {} (owner root, group scelle)", path.display()),
        ),
        Ok(m) if m.mode() & 0o004 != 0 => Check::warn(
            "configuration rights",
            format!(
                "{} is world-readable ({:o})",
                path.display(),
                m.mode() & 0o777
            ),
            format!("chmod 0640 {}", path.display()),
        ),
        Ok(m) => Check::ok(
            "configuration rights",
            format!("mode {:o}, owner uid {}", m.mode() & 0o777, m.uid()),
        ),
        Err(e) => Check::fail("configuration rights", e.to_string(), "check the path"),
    }
}

fn people(config: &Config) -> Check {
    use crate::config::Role;
    let operators: Vec<&str> = config
        .people
        .iter()
        .filter(|p| p.has(Role::Operator))
        .map(|p| p.id.as_str())
        .collect();
    let authorizers: Vec<&str> = config
        .people
        .iter()
        .filter(|p| p.has(Role::Authorizer))
        .map(|p| p.id.as_str())
        .collect();
    let todo = "list at least one operator and one authorizer who is another person ([[person]])";
    if operators.is_empty() || authorizers.is_empty() {
        return Check::fail(
            "people",
            format!(
                "{} operator(s), {} authorizer(s): no export can be authorized",
                operators.len(),
                authorizers.len()
            ),
            todo,
        );
    }
    let four_eyes = operators.iter().any(|o| authorizers.iter().any(|a| a != o));
    if !four_eyes {
        return Check::fail(
            "people",
            "the only authorizer is also the only operator: nobody can approve their cases",
            todo,
        );
    }
    Check::ok(
        "people",
        format!(
            "operators: {}; authorizers: {}",
            operators.join(", "),
            authorizers.join(", ")
        ),
    )
}

fn register(state: &Path) -> Check {
    let path = state.join(REGISTER_FILE);
    if !path.exists() {
        return Check::warn(
            "register",
            format!("{} does not exist yet", path.display()),
            "it is created at the service's first start: systemctl enable --now scelle",
        );
    }
    let reg = match Register::open_read_only(&path) {
        Ok(r) => r,
        Err(e) => {
            return Check::fail(
                "register",
                e.to_string(),
                "run scelle doctor as root or as the scelle user; see docs/REGISTER.md (recovery)",
            );
        }
    };
    match reg.verify(None) {
        Ok(report) => Check::ok(
            "register",
            format!(
                "{}: {} entries, chain and signatures verified",
                path.display(),
                report.entries
            ),
        ),
        Err(e) => Check::fail(
            "register",
            e.to_string(),
            "do not start the service on it; follow the recovery procedure of docs/REGISTER.md",
        ),
    }
}

fn site_key(state: &Path) -> Check {
    let path = state.join(SITE_KEY_FILE);
    let pub_path = state.join(format!("{SITE_KEY_FILE}.pub"));
    let key = std::fs::read_to_string(&pub_path)
        .ok()
        .and_then(|t| ssh_key::PublicKey::from_openssh(t.trim()).ok())
        .or_else(|| {
            ssh_key::PrivateKey::read_openssh_file(&path)
                .ok()
                .map(|k| k.public_key().clone())
        });
    match key {
        Some(k) => Check::ok(
            "site key",
            format!(
                "{} — write it down on the commissioning sheet: receipts and reports carry it",
                k.fingerprint(ssh_key::HashAlg::Sha256)
            ),
        ),
        None if path.exists() => Check::fail(
            "site key",
            format!("{} exists but cannot be read", path.display()),
            "run scelle doctor as root or as the scelle user",
        ),
        None => Check::warn(
            "site key",
            format!("{} does not exist yet", path.display()),
            "the service makes it at first start; run scelle doctor again then and note its fingerprint",
        ),
    }
}

fn socket(path: &Path, expect_running: bool) -> Check {
    use std::io::{BufRead, BufReader};
    use std::os::unix::net::UnixStream;
    let answer = UnixStream::connect(path).and_then(|mut s| {
        s.set_read_timeout(Some(Duration::from_secs(5)))?;
        s.write_all(b"{\"id\":1,\"op\":\"hello\",\"args\":{}}\n")?;
        let mut line = String::new();
        BufReader::new(s).read_line(&mut line)?;
        Ok(line)
    });
    match answer {
        Ok(line) if serde_json::from_str::<serde_json::Value>(&line).is_ok() => {
            Check::ok("daemon", format!("{} answers", path.display()))
        }
        Ok(line) => Check::fail(
            "daemon",
            format!("{} answered unexpectedly: {}", path.display(), line.trim()),
            "journalctl -u scelle",
        ),
        Err(e) => {
            let found = format!("{} does not answer ({e})", path.display());
            let todo =
                "systemctl enable --now scelle; then journalctl -u scelle if it does not start";
            if expect_running {
                Check::fail("daemon", found, todo)
            } else {
                Check::warn("daemon", found, todo)
            }
        }
    }
}

fn cameras(config: &Config, timeout: Duration) -> Vec<Check> {
    if config.cameras.is_empty() {
        return vec![Check::fail(
            "cameras",
            "no camera is configured",
            "add a [[camera]] entry per camera or recorder channel, then `scelle doctor` again",
        )];
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return vec![Check::fail("cameras", e.to_string(), "retry")],
    };
    let zone = config.site.time_zone.0.clone();
    config
        .cameras
        .iter()
        .map(|cam| {
            let name = format!("camera {}", cam.id);
            let probe = runtime.block_on(async {
                tokio::time::timeout(timeout, camera::probe(cam, &zone, None)).await
            });
            let Ok(probe) = probe else {
                return Check::fail(
                    name,
                    format!("{} did not answer within {} s", cam.address(), timeout.as_secs()),
                    "check the address, the network and the device's power",
                );
            };
            let offset = match &probe.clock_offset {
                Outcome::Ok(o) => format!("clock offset {:+} ms (±{})", o.offset_ms, o.uncertainty_ms),
                Outcome::Error(e) => format!("clock unknown ({e})"),
            };
            match &probe.recordings {
                Outcome::Ok(recs) if recs.is_empty() => Check::warn(
                    name,
                    format!("{}: no recordings; {offset}", probe.address),
                    "check the recorder holds footage for this channel",
                ),
                Outcome::Ok(recs) => {
                    let big_offset = matches!(&probe.clock_offset, Outcome::Ok(o) if o.offset_ms.abs() > 5_000);
                    let found = format!("{}: {} recording(s); {offset}", probe.address, recs.len());
                    if big_offset {
                        Check::warn(
                            name,
                            found,
                            "the device's clock is more than 5 s off: set NTP on it (the offset is recorded with every export)",
                        )
                    } else {
                        Check::ok(name, found)
                    }
                }
                Outcome::Error(e) => Check::fail(
                    name,
                    format!("{}: {e}", probe.address),
                    "check the address, credentials and that the device allows replay (scelle camera probe)",
                ),
            }
        })
        .collect()
}

fn drives(config: &Config) -> Check {
    let drives = &config.export.approved_drives;
    if drives.is_empty() {
        Check::warn(
            "drives",
            "no encrypted drive is approved: every export needs --accept-drive, recorded",
            "list the site's hardware-encrypted drives under [export] approved_drives",
        )
    } else {
        let list: Vec<String> = drives
            .iter()
            .map(|d| format!("{} {}", d.model, d.serial))
            .collect();
        Check::ok("drives", format!("approved: {}", list.join("; ")))
    }
}

fn purges(state: &Path) -> Check {
    let path = state.join(REGISTER_FILE);
    let Ok(reg) = Register::open_read_only(&path) else {
        return Check::ok("purges", "no register yet: nothing to purge");
    };
    let items = match crate::purge::items(&reg, state) {
        Ok(i) => i,
        Err(e) => return Check::fail("purges", e.to_string(), "scelle purge list"),
    };
    let now = jiff::Timestamp::now();
    let overdue = items.iter().filter(|i| i.is_overdue(now)).count();
    let pending = items.iter().filter(|i| i.present).count();
    if overdue > 0 {
        Check::fail(
            "purges",
            format!("temporary copies past their 30-day deadline (PUR-1): {overdue}"),
            "scelle purge list; scelle purge run ID",
        )
    } else {
        Check::ok(
            "purges",
            format!("temporary copies kept: {pending}, none past its deadline"),
        )
    }
}
