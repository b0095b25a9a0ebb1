//! End-to-end harness: a test site with real peers and the real `scelle` binary.
//!
//! - [`Site`]: a temporary folder holding the daemon's configuration (an operator and an
//!   authorizer on the Unix account running the tests, each signing with a key file), its state
//!   directory, a private `TMPDIR`, and an export destination; `scelle serve` runs as a child
//!   process that tests can stop, SIGKILL and restart.
//! - [`peers`]: GStreamer's RTSP server (`tests/peers/rtsp_peer.py`, plain or ONVIF replay) and
//!   ffmpeg-made clips; [`onvif_device`]: the SOAP side of an ONVIF recorder;
//!   [`scan`]: the plaintext scanner; [`tls_front`]: openssl-made certificates and stunnel in
//!   front of a peer (RTSPS, HTTPS).

#![allow(dead_code)]

#[path = "../peers/certs.rs"]
pub mod certs;
#[path = "../peers/support.rs"]
pub mod peers;

pub mod onvif_device;
pub mod scan;
pub mod tls_front;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use scelle::api::protocol::{Op, Reply};
use scelle::cli::client::{Client, ClientError, Signer};
use scelle::demo::site;
use serde_json::{Value, json};

pub const BIN: &str = env!("CARGO_BIN_EXE_scelle");
pub const OPERATOR: &str = "olga";
pub const AUTHORIZER: &str = "alain";

/// A password that satisfies STEP-4, given to exports with `--password-file`.
pub const PASSWORD: &str = "Tr0ub4dor&3-horse-Battery!";

pub struct Site {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    pub socket: PathBuf,
    pub state: PathBuf,
    /// The daemon's `TMPDIR`.
    pub tmp: PathBuf,
    /// Export destinations are made below this.
    pub drive: PathBuf,
    /// Source clips and other inputs (allowed to hold plaintext).
    pub media: PathBuf,
    pub log: PathBuf,
    pub password_file: PathBuf,
    child: Option<Child>,
    starts: u32,
    /// Runs the daemon inside `unshare -rm` with a tmpfs of this many KiB on this folder.
    pub small_fs: Option<(PathBuf, u32)>,
}

impl Site {
    /// Lays out a site whose configuration ends with `cameras` (TOML `[[camera]]` tables) and
    /// holds `extra` before the people (sections such as `[export]`).
    pub fn new(extra: &str, cameras: &str) -> Site {
        Site::new_as(&site::current_account().unwrap(), extra, cameras)
    }

    /// [`new`](Self::new) with the people on Unix account `account`.
    pub fn new_as(account: &str, extra: &str, cameras: &str) -> Site {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let p = dir.path();
        for d in ["state", "tmp", "drive", "media", "keys"] {
            std::fs::create_dir_all(p.join(d)).unwrap();
        }
        let mut people = String::new();
        for (id, roles) in [
            (OPERATOR, r#"["operator"]"#),
            (AUTHORIZER, r#"["authorizer", "auditor"]"#),
        ] {
            let key = site::make_key(&p.join("keys").join(id), id).unwrap();
            people.push_str(&format!(
                "[[person]]\nid = \"{id}\"\nname = \"{id} Test\"\nunix_account = \"{account}\"\n\
                 roles = {roles}\npublic_key = \"{key}\"\n\n"
            ));
        }
        let config = p.join("scelle.toml");
        std::fs::write(
            &config,
            format!(
                "[site]\nname = \"Site e2e\"\ntime_zone = \"Europe/Paris\"\n\n\
                 [daemon]\nstate_dir = \"{state}\"\nsocket = \"{sock}\"\nsocket_mode = \"0600\"\n\n\
                 {extra}\n{people}{cameras}\n",
                state = p.join("state").display(),
                sock = p.join("scelle.sock").display(),
            ),
        )
        .unwrap();
        let password_file = p.join("media").join("password");
        std::fs::write(&password_file, format!("{PASSWORD}\n")).unwrap();
        Site {
            config,
            socket: p.join("scelle.sock"),
            state: p.join("state"),
            tmp: p.join("tmp"),
            drive: p.join("drive"),
            media: p.join("media"),
            log: p.join("daemon.log"),
            password_file,
            dir,
            child: None,
            starts: 0,
            small_fs: None,
        }
    }

    pub fn key(&self, person: &str) -> PathBuf {
        self.dir.path().join("keys").join(person)
    }

    pub fn register_path(&self) -> PathBuf {
        self.state.join("register.sqlite")
    }

    /// Starts `scelle serve` and waits until it listens.
    pub fn start(&mut self) {
        assert!(self.child.is_none(), "daemon already running");
        let _ = std::fs::remove_file(&self.socket);
        self.starts += 1;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let mut cmd = match &self.small_fs {
            None => {
                let mut c = Command::new(BIN);
                c.args(["serve", "--config"]).arg(&self.config);
                c
            }
            Some((mount, kib)) => {
                // A user + mount namespace (no root needed): a tiny tmpfs only the daemon sees;
                // `exec` keeps one pid, so kill/terminate reach the daemon itself.
                let mut c = Command::new("unshare");
                c.args(["-rm", "sh", "-c"])
                    .arg(format!(
                        "mount -t tmpfs -o size={kib}k scelle-small \"$1\" && exec \"$2\" serve --config \"$3\""
                    ))
                    .arg("sh")
                    .arg(mount)
                    .arg(BIN)
                    .arg(&self.config);
                c
            }
        };
        let child = cmd
            .env("TMPDIR", &self.tmp)
            .env(
                "RUST_LOG",
                std::env::var("E2E_DAEMON_LOG").unwrap_or_else(|_| "info".into()),
            )
            .env_remove("NOTIFY_SOCKET")
            .env_remove("WATCHDOG_USEC")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
        let t = Instant::now();
        while std::os::unix::net::UnixStream::connect(&self.socket).is_err() {
            if let Some(st) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("daemon exited at start ({st}):\n{}", self.log_text());
            }
            assert!(
                t.elapsed() < Duration::from_secs(20),
                "daemon did not listen:\n{}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("daemon running").id()
    }

    /// SIGKILL: the daemon dies where it stands (a crash).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM and wait.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let mut c = self.child.take().expect("daemon running");
        Command::new("kill")
            .args(["-TERM", &c.id().to_string()])
            .status()
            .unwrap();
        let t = Instant::now();
        loop {
            if let Some(st) = c.try_wait().unwrap() {
                return st;
            }
            assert!(t.elapsed() < Duration::from_secs(20), "daemon did not stop");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// A connection identified as `person` with their key file (site key pinned in the
    /// site's folder, not the tester's home).
    pub fn client(&self, person: &str) -> Client {
        let mut c = Client::connect(&self.socket)
            .unwrap()
            .with_known_sites(Some(self.dir.path().join("known_sites")));
        c.identify(Some(person), &Signer::KeyFile(self.key(person)))
            .unwrap_or_else(|e| panic!("identify {person}: {e}\n{}", self.log_text()));
        c
    }

    /// Opens a requisition case (operator) and has it approved (authorizer); returns its id.
    pub fn authorized_case(&self, reference: &str, cameras: &[&str], ranges: &[String]) -> String {
        let mut op = self.client(OPERATOR);
        let request = base64::engine::general_purpose::STANDARD.encode(format!(
            "Réquisition {reference}: extraire les images demandées."
        ));
        let result = op
            .call(
                Op::CaseOpen,
                json!({
                    "ground": "requisition", "requester": "Lieutenant Test",
                    "organisation": "Commissariat de test", "reference": reference,
                    "recipient": "OPJ Test", "purpose": "test de bout en bout",
                    "cameras": cameras, "ranges": ranges,
                    "request": {"name": "requisition.txt", "content": request},
                }),
            )
            .unwrap_or_else(|e| panic!("case-open: {e}\n{}", self.log_text()));
        let case = result["case"]["id"].as_str().unwrap().to_owned();
        self.approve(&case)
            .unwrap_or_else(|e| panic!("case-approve: {e}\n{}", self.log_text()));
        case
    }

    /// Approves `case` as the authorizer: `case-approve`, the statement signed with the
    /// authorizer's key (namespace `scelle-approve`), sent back with it.
    pub fn approve(&self, case: &str) -> Result<Value, ClientError> {
        let mut au = self.client(AUTHORIZER);
        match au.request(Op::CaseApprove, json!({ "case": case }), &mut |_| {})? {
            scelle::api::protocol::Reply::Challenge {
                public_key,
                namespace,
                message,
                ..
            } => {
                let statement = base64::engine::general_purpose::STANDARD
                    .decode(message)
                    .unwrap();
                let signature = Signer::KeyFile(self.key(AUTHORIZER))
                    .sign(&public_key, &namespace, &statement)
                    .unwrap();
                au.call(
                    Op::CaseApprove,
                    json!({ "case": case, "signature": signature,
                            "statement": String::from_utf8(statement).unwrap() }),
                )
            }
            other => panic!("case-approve: {other:?}"),
        }
    }

    /// Exports `case` to `dest` as the operator through the control socket (`case-export`
    /// with the test's password, then the operator's signature of `export-completed`);
    /// returns the daemon's final result (record, password).
    pub fn export(&self, case: &str, dest: &Path) -> Result<Value, ClientError> {
        export_with(&mut self.client(OPERATOR), &self.key(OPERATOR), case, dest)
    }
    /// `scelle ARGS…` with the test's TMPDIR.
    pub fn scelle(&self, args: &[&str]) -> Output {
        Command::new(BIN)
            .args(args)
            .env("TMPDIR", &self.tmp)
            .output()
            .unwrap()
    }

    /// The register, walked offline (chain and signatures).
    pub fn verify_register(&self) -> scelle::register::VerifyReport {
        let r = scelle::register::Register::open_read_only(&self.register_path()).unwrap();
        r.verify(None)
            .unwrap_or_else(|e| panic!("register does not verify: {e}"))
    }

    /// The register's entries of `case` as JSON values.
    pub fn entries(&self, case: Option<&str>) -> Vec<Value> {
        let r = scelle::register::Register::open_read_only(&self.register_path()).unwrap();
        r.entries(case)
            .unwrap()
            .into_iter()
            .map(|e| serde_json::to_value(e).unwrap())
            .collect()
    }

    /// Kinds of the register's entries of `case`.
    pub fn kinds(&self, case: Option<&str>) -> Vec<String> {
        self.entries(case)
            .iter()
            .map(|e| e["kind"].as_str().unwrap_or_default().to_owned())
            .collect()
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The plaintext scanner over a site's state dir, tmp and destination (sources allowed).
pub fn plaintext(site: &Site) -> Vec<scan::Finding> {
    scan::scan(&[&site.state, &site.tmp, &site.drive], &[&site.media])
}

pub fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// `ffprobe` of an MP4 read from stdin (`scelle open … -o -` piped in): the video stream's
/// frame count and the format's start time and tags, as JSON.
pub fn ffprobe_sealed(site: &Site, sealed: &Path) -> Value {
    let mut open = Command::new(BIN)
        .arg("open")
        .arg(sealed)
        .args(["-o", "-", "--password-file"])
        .arg(&site.password_file)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = open.stdout.take().unwrap();
    let probe = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-count_packets",
            "-show_entries",
            "stream=codec_name,nb_read_packets,width,height:format=start_time,duration:format_tags",
            "-of",
            "json",
            "-i",
            "pipe:0",
        ])
        .stdin(stdout)
        .output()
        .unwrap();
    let st = open.wait().unwrap();
    assert!(st.success(), "scelle open {} failed", sealed.display());
    assert!(
        probe.status.success(),
        "ffprobe: {}",
        String::from_utf8_lossy(&probe.stderr)
    );
    serde_json::from_slice(&probe.stdout).unwrap()
}

/// The export conversation on an identified operator connection `op` (see [`Site::export`]).
pub fn export_with(
    op: &mut Client,
    key: &Path,
    case: &str,
    dest: &Path,
) -> Result<Value, ClientError> {
    export_seeing(op, key, case, dest, &mut |_, _| {})
}

/// [`export_with`], showing `seen` each progress line (stage and data).
pub fn export_seeing(
    op: &mut Client,
    key: &Path,
    case: &str,
    dest: &Path,
    seen: &mut dyn FnMut(&str, Option<&Value>),
) -> Result<Value, ClientError> {
    let reply = op.request_with_data(
        Op::CaseExport,
        json!({ "case": case, "to": dest.display().to_string(), "accept_drive": true,
                "password": PASSWORD }),
        seen,
    )?;
    let Reply::Challenge {
        public_key,
        namespace,
        message,
        ..
    } = reply
    else {
        panic!("case-export answered {reply:?}");
    };
    let statement = base64::engine::general_purpose::STANDARD
        .decode(message)
        .unwrap();
    let signature = Signer::KeyFile(key.to_owned()).sign(&public_key, &namespace, &statement)?;
    op.call(
        Op::CaseExport,
        json!({ "case": case, "signature": signature }),
    )
}

/// Whether `unshare -rm` can mount a tmpfs here (user namespaces allowed, util-linux present).
pub fn small_fs_possible() -> Result<(), String> {
    let probe = tempfile::tempdir().map_err(|e| e.to_string())?;
    let out = Command::new("unshare")
        .args([
            "-rm",
            "sh",
            "-c",
            "mount -t tmpfs -o size=64k probe \"$1\"",
            "sh",
        ])
        .arg(probe.path())
        .output()
        .map_err(|e| format!("cannot run unshare: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`unshare -rm` + tmpfs mount failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}
