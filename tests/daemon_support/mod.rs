//! Test harness: starts the real `scelle serve` binary on a temporary configuration, with
//! `NOTIFY_SOCKET` pointing at a datagram socket the test reads, and runs `scelle case …`
//! commands as subprocesses. Three people share the Unix account running the tests (root in
//! CI), so every command identifies with an SSH challenge signed by a real `ssh-keygen` key.

#![allow(dead_code)]

use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_scelle");

/// People of the test site: (id, roles).
pub const PEOPLE: [(&str, &str); 3] = [
    ("olivia", r#"["operator", "authorizer"]"#),
    ("arthur", r#"["authorizer"]"#),
    ("paul", r#"["operator"]"#),
];

pub struct Daemon {
    pub dir: tempfile::TempDir,
    pub child: Option<Child>,
    pub notify: UnixDatagram,
    pub config: PathBuf,
    pub socket: PathBuf,
    pub log: PathBuf,
}

pub fn account() -> String {
    let out = Command::new("id").arg("-un").output().unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

pub fn keygen(path: &Path) -> String {
    let st = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "test", "-f"])
        .arg(path)
        .status()
        .unwrap();
    assert!(st.success());
    std::fs::read_to_string(path.with_extension("pub"))
        .unwrap()
        .trim()
        .to_owned()
}

pub fn config_text(dir: &Path, extra_people: &str) -> String {
    let account = account();
    let mut people = String::new();
    for (id, roles) in PEOPLE {
        let key = std::fs::read_to_string(dir.join(format!("{id}.pub"))).unwrap();
        people.push_str(&format!(
            "[[person]]\nid = \"{id}\"\nname = \"{id} Test\"\nunix_account = \"{account}\"\n\
             roles = {roles}\npublic_key = \"{}\"\n\n",
            key.trim()
        ));
    }
    format!(
        "[site]\nname = \"Site de test\"\ntime_zone = \"Europe/Paris\"\n\n\
         [daemon]\nstate_dir = \"{state}\"\nsocket = \"{sock}\"\nsocket_mode = \"0660\"\n\n\
         [cases]\nemergency_regularize_hours = 0\n\n{people}{cameras}{extra_people}",
        cameras = default_cameras(dir),
        state = dir.join("state").display(),
        sock = dir.join("scelle.sock").display(),
    )
}

/// Cameras every test site has (cases name them); their folder `DIR/nvr` may stay empty.
fn default_cameras(dir: &Path) -> String {
    ["entree", "caisse-1", "c"]
        .iter()
        .map(|id| {
            format!(
                "[[camera]]\nid = \"{id}\"\nname = \"Caméra {id}\"\n\
                 source = {{ kind = \"segments\", root = \"{}\" }}\n\n",
                dir.join("nvr").display()
            )
        })
        .collect()
}

impl Daemon {
    /// Starts a daemon and waits for READY=1.
    pub fn start() -> Daemon {
        Daemon::start_with("")
    }

    /// Starts a daemon whose configuration ends with `extra` (e.g. `[[camera]]` tables; the
    /// text may use `{dir}` for the test's directory), and waits for READY=1.
    pub fn start_with(extra: &str) -> Daemon {
        Daemon::start_on(extra, Some("400000"), Duration::from_secs(20))
    }

    /// [`start_with`](Self::start_with), with `watchdog` as the daemon's `WATCHDOG_USEC` (none:
    /// no watchdog) and `wait` for how long each notification may take.
    pub fn start_on(extra: &str, watchdog: Option<&str>, wait: Duration) -> Daemon {
        Daemon::launch(extra, watchdog, wait, &[])
    }

    /// A daemon started with `args` after `serve --config FILE` (e.g. `--log-format json`).
    pub fn start_with_args(args: &[&str]) -> Daemon {
        Daemon::launch("", Some("400000"), Duration::from_secs(20), args)
    }

    fn launch(extra: &str, watchdog: Option<&str>, wait: Duration, args: &[&str]) -> Daemon {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        for (id, _) in PEOPLE {
            keygen(&dir.path().join(id));
        }
        let config = dir.path().join("scelle.toml");
        let extra = extra.replace("{dir}", &dir.path().display().to_string());
        std::fs::write(&config, config_text(dir.path(), &extra)).unwrap();
        let notify_path = dir.path().join("notify.sock");
        let notify = UnixDatagram::bind(&notify_path).unwrap();
        notify.set_read_timeout(Some(wait)).unwrap();
        let log = dir.path().join("daemon.log");
        let child = serve_with(&config, &notify_path, &log, watchdog, args);
        let d = Daemon {
            socket: dir.path().join("scelle.sock"),
            dir,
            child: Some(child),
            notify,
            config,
            log,
        };
        let ready = d.next_notification();
        assert!(
            ready.contains("READY=1"),
            "first notification: {ready}\n{}",
            d.log_text()
        );
        d
    }

    /// The next datagram the daemon sent to NOTIFY_SOCKET.
    pub fn next_notification(&self) -> String {
        let mut buf = [0u8; 4096];
        let n = self.notify.recv(&mut buf).unwrap_or_else(|e| {
            panic!(
                "no notification from the daemon ({e}):\n{}",
                self.log_text()
            )
        });
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }

    pub fn key(&self, person: &str) -> PathBuf {
        self.dir.path().join(person)
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn register_path(&self) -> PathBuf {
        self.dir.path().join("state").join("register.sqlite")
    }

    /// The daemon's register opened with its site key, for a test that stages entries the
    /// daemon itself would write (they are sealed like the daemon's own).
    pub fn register_writer(&self) -> scelle::register::Register {
        let key = scelle::register::SiteKey::load_or_create(
            &self.dir.path().join("state").join("site-key"),
        )
        .unwrap();
        scelle::register::Register::open_with_site_key(
            &self.register_path(),
            std::sync::Arc::new(key),
        )
        .unwrap()
    }

    /// Number of register entries (read through the register's read-only API).
    pub fn register_len(&self) -> u64 {
        let r = scelle::register::Register::open_read_only(&self.register_path()).unwrap();
        r.head().unwrap().seq
    }

    /// `scelle COMMAND ARGS…` (a client command: case, camera, purge, media…) as `person`,
    /// signing with their key file.
    pub fn cli(&self, command: &str, person: &str, args: &[&str]) -> Output {
        self.cli_command(command, person)
            .args(args)
            .output()
            .unwrap()
    }

    /// The `scelle COMMAND` client invocation as `person` (socket, `--as`, key file, `--yes`,
    /// no agent, site keys pinned in the test's folder), ready for its arguments; for tests
    /// that spawn it rather than wait for it.
    pub fn cli_command(&self, command: &str, person: &str) -> Command {
        let mut c = Command::new(BIN);
        c.arg(command)
            .arg("--socket")
            .arg(&self.socket)
            .args(["--as", person, "-i"])
            .arg(self.key(person))
            .arg("--yes")
            .env("SCELLE_KNOWN_SITES", self.dir.path().join("known_sites"))
            .env_remove("SSH_AUTH_SOCK");
        c
    }

    /// `scelle case ARGS…` as `person`, signing with their key file.
    pub fn case(&self, person: &str, args: &[&str]) -> Output {
        self.cli("case", person, args)
    }

    /// `scelle camera ARGS…` as `person`, signing with their key file.
    pub fn camera(&self, person: &str, args: &[&str]) -> Output {
        self.cli("camera", person, args)
    }

    /// Like [`case`](Self::case) with `--json`, asserting success; returns the parsed answer.
    pub fn case_json(&self, person: &str, args: &[&str]) -> serde_json::Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let out = self.case(person, &all);
        assert!(
            out.status.success(),
            "scelle case {args:?} as {person} failed: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            self.log_text()
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// Opens an incident case with a written request as `person`; returns its id.
    pub fn open_case(&self, person: &str) -> String {
        let request = self.dir.path().join("request.txt");
        std::fs::write(&request, "Réquisition n° 42 — merci d'extraire…").unwrap();
        let v = self.case_json(
            person,
            &requisition_args(
                "PV 2026/1234",
                "Enquête vol à l'étalage",
                &["entree"],
                "2026-11-20T10:00/2026-11-20T10:30",
                request.to_str().unwrap(),
            ),
        );
        v["case"]["id"].as_str().unwrap().to_owned()
    }

    /// Sends SIGTERM and waits; returns the exit status and how long it took.
    pub fn terminate(&mut self) -> (std::process::ExitStatus, Duration) {
        let mut child = self.child.take().unwrap();
        let t = Instant::now();
        Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        loop {
            if let Some(st) = child.try_wait().unwrap() {
                return (st, t.elapsed());
            }
            assert!(t.elapsed() < Duration::from_secs(15), "daemon did not stop");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Spawns `scelle serve` on `config`, notifying `notify` (systemd's `NOTIFY_SOCKET`) with
/// `watchdog` as its `WATCHDOG_USEC` (none: no watchdog); its log is appended to `log`.
pub fn serve(config: &Path, notify: &Path, log: &Path, watchdog: Option<&str>) -> Child {
    serve_with(config, notify, log, watchdog, &[])
}

/// [`serve`] with more arguments after `serve --config FILE`.
pub fn serve_with(
    config: &Path,
    notify: &Path,
    log: &Path,
    watchdog: Option<&str>,
    args: &[&str],
) -> Child {
    let mut cmd = Command::new(BIN);
    cmd.args(["serve", "--config"])
        .arg(config)
        .args(args)
        .env("NOTIFY_SOCKET", notify)
        .env_remove("WATCHDOG_PID")
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(log)
                .unwrap(),
        );
    match watchdog {
        Some(usec) => cmd.env("WATCHDOG_USEC", usec),
        None => cmd.env_remove("WATCHDOG_USEC"),
    };
    cmd.spawn().unwrap()
}

/// `case open` arguments of a requisition by Capitaine Martin (Commissariat de Lyon 3e) for OPJ
/// Martin: `reference`, `purpose`, `cameras` over `range`, the written request at `request`.
pub fn requisition_args<'a>(
    reference: &'a str,
    purpose: &'a str,
    cameras: &[&'a str],
    range: &'a str,
    request: &'a str,
) -> Vec<&'a str> {
    let mut args = vec![
        "open",
        "--ground",
        "requisition",
        "--requester",
        "Capitaine Martin",
        "--organisation",
        "Commissariat de Lyon 3e",
        "--reference",
        reference,
        "--recipient",
        "OPJ Martin",
        "--purpose",
        purpose,
        "--range",
        range,
        "--request",
        request,
    ];
    for c in cameras {
        args.extend(["--camera", c]);
    }
    args
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}
