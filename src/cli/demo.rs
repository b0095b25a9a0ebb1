//! `scelle demo`: scelle's whole job on embedded defaults, for a newcomer with nothing installed
//! but this binary.
//!
//! Lays out a throw-away site in one folder (see [`crate::demo`]), starts `scelle serve` on it
//! as a child process (socket and state in that folder), and plays both people through the
//! real control socket: the operator opens a requisition case with its written request, the
//! authorizer — never the operator (AUTH-2) — signs its approval statement and records how the
//! requester's authority was checked (AUTH-5), the operator exports camera `cam1`
//! 14:00:00–14:00:40 UTC to the folder's "drive" and signs the completion, the authorizer
//! countersigns what was extracted (STEP-5), and the operator records the hand-over. Then the
//! demo checks the result on its own (register chain and signatures; each sealed file's SHA-256
//! against the record, then every chunk authenticated with the password, in memory) and prints
//! where everything is and the commands to look at it. Exit 0 only if everything verified.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};
use sha2::Digest as _;
use zeroize::Zeroizing;

use super::client::{Client, ClientError, Expect, Signer};
use crate::api::protocol::{Op, Reply};
use crate::demo::footage;
use crate::demo::site::{self, AUTHORIZER, CASE_REFERENCE, DemoPerson, Layout, OPERATOR};
use crate::error::Exit;

/// Arguments of `scelle demo`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Put the demo site in this folder (created; must be absent or empty) instead of a new
    /// folder under the system's temporary directory. It is kept either way, to look at.
    #[arg(long, value_name = "DIR")]
    pub keep: Option<PathBuf>,
}

/// How long the demo daemon gets to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// Why the demo stopped.
#[derive(Debug, thiserror::Error)]
enum DemoError {
    #[error("{0}")]
    Site(#[from] site::SiteError),
    #[error("{what}: {source}")]
    Client {
        what: &'static str,
        #[source]
        source: ClientError,
    },
    #[error("{0}")]
    Daemon(String),
    #[error("verification failed: {0}")]
    Verify(String),
    #[error("{0}")]
    Usage(String),
}

fn step<'a>(what: &'static str) -> impl FnOnce(ClientError) -> DemoError + 'a {
    move |source| DemoError::Client { what, source }
}

pub fn run(args: Args) -> ExitCode {
    let started = Instant::now();
    let root = match prepare_root(args.keep.as_deref()) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("scelle demo: {e}");
            return Exit::Usage.into();
        }
    };
    let layout = Layout::new(root);
    match run_in(&layout) {
        Ok(outcome) => {
            print_summary(&layout, &outcome, started.elapsed());
            Exit::Ok.into()
        }
        Err(e) => {
            eprintln!("\nscelle demo: {e}");
            eprintln!(
                "The demo site is kept in {} (daemon log: {}).",
                layout.root.display(),
                layout.daemon_log().display()
            );
            match e {
                DemoError::Usage(_) => Exit::Usage.into(),
                DemoError::Verify(_) => Exit::Integrity.into(),
                _ => Exit::Failure.into(),
            }
        }
    }
}

/// The folder of this run: `--keep DIR` (absent or empty), or a new one under the temp dir.
fn prepare_root(keep: Option<&Path>) -> Result<PathBuf, DemoError> {
    let root = match keep {
        Some(dir) => {
            if dir.exists()
                && std::fs::read_dir(dir)
                    .map(|mut d| d.next().is_some())
                    .unwrap_or(true)
            {
                return Err(DemoError::Usage(format!(
                    "{} is not an empty folder: give a new or empty one to --keep",
                    dir.display()
                )));
            }
            dir.to_owned()
        }
        None => {
            let mut rnd = [0u8; 4];
            rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut rnd);
            std::env::temp_dir().join(format!("scelle-demo-{}", hex::encode(rnd)))
        }
    };
    site::create_dir(&root)?;
    // Absolute, so the printed commands work from anywhere.
    std::fs::canonicalize(&root).map_err(|e| DemoError::Usage(format!("{}: {e}", root.display())))
}

/// What the run produced, for the summary.
struct Outcome {
    case_id: String,
    export: Value,
    password: Zeroizing<String>,
    files: Vec<CheckedFile>,
    register: crate::register::VerifyReport,
}

struct CheckedFile {
    path: PathBuf,
    size: u64,
    sha256: String,
    sealed: bool,
    chunks: u64,
}

fn run_in(layout: &Layout) -> Result<Outcome, DemoError> {
    println!("scelle demo — a whole export on a throw-away site");
    println!("  site folder: {}\n", layout.root.display());

    say(
        1,
        "laying out the site: recorder footage, two people and their keys, config",
    );
    let segments = footage::write(&layout.recorder()).map_err(|source| site::SiteError::Write {
        path: layout.recorder(),
        source,
    })?;
    println!(
        "      recorder {}: {} segments of camera {} (14:00:20–14:00:30 missing on purpose)",
        layout.recorder().display(),
        segments.len(),
        footage::CAMERA
    );
    let account = site::current_account()?;
    let operator_key = site::make_key(&layout.key(&OPERATOR), OPERATOR.id)?;
    let authorizer_key = site::make_key(&layout.key(&AUTHORIZER), AUTHORIZER.id)?;
    site::create_dir(&layout.drive())?;
    let config = site::config_text(
        layout,
        &account,
        site::time_zone(),
        &operator_key,
        &authorizer_key,
        EXPORT_SECTION,
    );
    site::write(&layout.config(), config.as_bytes())?;
    site::write(&layout.request(), site::written_request().as_bytes())?;
    println!(
        "      people: {} (operator) and {} (authorizer), both on Unix account `{account}`,",
        OPERATOR.id, AUTHORIZER.id
    );
    println!("      each identified by signing the daemon's challenge with their own key");

    say(
        2,
        "starting the daemon (`scelle serve`) on the demo configuration",
    );
    let daemon = DaemonChild::start(layout)?;
    println!("      listening on {}", layout.socket().display());

    say(
        3,
        "the operator opens a requisition case with its written request",
    );
    let mut operator = connect(layout, &OPERATOR)?;
    let request = std::fs::read(layout.request()).map_err(|source| site::SiteError::Write {
        path: layout.request(),
        source,
    })?;
    let opened = operator
        .request(
            Op::CaseOpen,
            json!({
                "ground": "requisition",
                "requester": "Capitaine Démo",
                "organisation": "Commissariat de démonstration",
                "reference": CASE_REFERENCE,
                "recipient": "OPJ Démo",
                "purpose": "Enquête pour vol (démonstration)",
                "cameras": [footage::CAMERA],
                "ranges": [format!("{}/{}", footage::RANGE_START, footage::RANGE_END)],
                "request": {"name": "requisition.txt", "content": B64.encode(&request)},
            }),
            &mut |stage| println!("      … {stage}"),
        )
        .map_err(step("opening the case"))?;
    let case_id = match opened {
        Reply::Ok { result, .. } => result["case"]["id"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| DemoError::Daemon(format!("case-open answered {result}")))?,
        other => return Err(DemoError::Daemon(format!("case-open answered {other:?}"))),
    };
    println!(
        "      case {case_id}: camera {} from {} to {}",
        footage::CAMERA,
        footage::RANGE_START,
        footage::RANGE_END
    );

    say(
        4,
        "the authorizer (not the operator) approves it, signing with their key",
    );
    let mut authorizer = connect(layout, &AUTHORIZER)?;
    sign_statement(&mut authorizer, Op::CaseApprove, &case_id)?;
    authorizer
        .call(
            Op::CaseVerifyRequester,
            json!({"case": case_id, "how": "rappel du commissariat au numéro officiel (démo)"}),
        )
        .map_err(step("recording how the requester was verified"))?;
    println!(
        "      case authorized by {}; requester's authority recorded (AUTH-5)",
        AUTHORIZER.id
    );

    say(
        5,
        "the operator exports it to the \"drive\" and signs the completion",
    );
    let (export, password) = export(&mut operator, &case_id, &layout.drive())?;

    say(
        6,
        "the authorizer countersigns what was extracted; the operator hands it over",
    );
    sign_statement(&mut authorizer, Op::CaseCountersign, &case_id)?;
    drop(authorizer);
    println!(
        "      {} countersigned the files and their SHA-256, what was pulled and the gaps (STEP-5)",
        AUTHORIZER.id
    );
    let receipt = operator
        .call(Op::CaseReceipt, json!({ "case": case_id }))
        .map_err(step("printing the delivery receipt"))?;
    operator
        .call(
            Op::CaseDelivered,
            json!({ "case": case_id, "signed_receipt": {
                "name": "recu-signe-demo.pdf",
                "content": receipt["pdf"],
            }}),
        )
        .map_err(step("recording the hand-over"))?;
    println!(
        "      hand-over recorded with the (demo) scan of the signed receipt: requester checked \
         and export countersigned first (AUTH-5, STEP-5)"
    );
    drop(operator);

    say(7, "checking the result independently of the daemon");
    let files = check_files(&export, &password)?;
    for f in &files {
        println!(
            "      {} {} bytes sha256 {}…{}",
            file_name(&f.path),
            f.size,
            &f.sha256[..12],
            if f.sealed {
                format!(", {} chunks authenticated with the password", f.chunks)
            } else {
                String::new()
            }
        );
    }
    daemon.stop();
    let register = crate::register::Register::open_read_only(&layout.register())
        .and_then(|r| r.verify(None))
        .map_err(|e| DemoError::Verify(format!("register: {e}")))?;
    println!(
        "      register: {} entries, {} signatures, chain intact (head {}:{})",
        register.entries,
        register.signatures,
        register.head.seq,
        hex::encode(register.head.hash)
    );
    Ok(Outcome {
        case_id,
        export,
        password,
        files,
        register,
    })
}

/// Configuration sections the export needs on the demo site: the "drive" is a plain folder of
/// the system disk, which a real site refuses (`require_separate_drive`).
const EXPORT_SECTION: &str = "[export]\nrequire_separate_drive = false\n";

fn say(n: u32, what: &str) {
    println!("[{n}/7] {what}");
}

/// A connection identified as `person` (shared account: challenge signed with their key).
fn connect(layout: &Layout, person: &DemoPerson) -> Result<Client, DemoError> {
    // A throw-away site: its key is not pinned in the person's known_sites.
    let mut client = Client::connect(&layout.socket())
        .map_err(step("connecting to the daemon"))?
        .with_known_sites(None);
    client.yes = true;
    client
        .identify(Some(person.id), &Signer::KeyFile(layout.key(person)))
        .map_err(step("identifying"))?;
    Ok(client)
}

/// `case-approve` / `case-countersign` on site: the daemon's challenge holds the statement,
/// which the client checks names this case before signing it in the statement's namespace.
fn sign_statement(client: &mut Client, op: Op, case_id: &str) -> Result<(), DemoError> {
    let expect = if op == Op::CaseApprove {
        Expect::Approve { case: case_id }
    } else {
        Expect::Countersign { case: case_id }
    };
    client
        .signed_call(
            op,
            json!({ "case": case_id }),
            expect,
            &mut |_, _| {},
            &mut |message, signature| {
                (
                    op.to_owned(),
                    json!({ "case": case_id, "signature": signature,
                            "statement": String::from_utf8_lossy(message) }),
                )
            },
        )
        .map_err(step(op.name()))?;
    Ok(())
}

/// `case-export` to `to`: the daemon pulls, seals, writes and reads back (progress lines), then
/// asks the operator to sign the `export-completed` statement; the signed second call returns
/// the record and the generated password.
fn export(
    client: &mut Client,
    case_id: &str,
    to: &Path,
) -> Result<(Value, Zeroizing<String>), DemoError> {
    let mut last = String::new();
    let case = case_id.to_owned();
    let person = OPERATOR.id;
    let mut result = client
        .signed_call(
            Op::CaseExport,
            json!({ "case": case_id, "to": to.display().to_string(), "accept_drive": true }),
            Expect::ExportCompleted {
                case: case_id,
                person,
            },
            &mut |stage, _| {
                // Progress lines repeat their stage with new figures: print each stage once.
                if stage != last {
                    println!("      … {stage}");
                    last = stage.to_owned();
                }
            },
            &mut |statement, signature| {
                let export_id = export_id_of(statement);
                println!(
                    "      export {} written and read back; the operator signs its completion",
                    export_id.as_deref().unwrap_or("?")
                );
                (
                    Op::CaseExport,
                    json!({ "case": case, "export": export_id, "signature": signature }),
                )
            },
        )
        .map_err(step("exporting"))?;
    let password = result
        .get_mut("password")
        .and_then(|p| p.as_str().map(str::to_owned))
        .map(Zeroizing::new)
        .ok_or_else(|| DemoError::Daemon("the export's answer holds no password".into()))?;
    if let Some(p) = result.get_mut("password") {
        *p = Value::Null;
    }
    Ok((result, password))
}

/// The `export_id` named in an `export-completed` statement (its payload is canonical JSON).
fn export_id_of(statement: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(statement).ok()?;
    let key = "\"export_id\":\"";
    let start = text.find(key)? + key.len();
    let end = text[start..].find('"')? + start;
    Some(text[start..end].to_owned())
}

/// Every file the export record names: size and SHA-256 of the bytes on the drive against the
/// record, and for sealed files every chunk authenticated with the password (in memory: no
/// plaintext is written anywhere).
fn check_files(export: &Value, password: &str) -> Result<Vec<CheckedFile>, DemoError> {
    let record = &export["record"];
    let folder = PathBuf::from(
        record["destination"]["path"]
            .as_str()
            .ok_or_else(|| DemoError::Verify("the export record has no destination".into()))?,
    );
    let mut digests: Vec<&Value> = record["files"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| &f["file"])
        .collect();
    if digests.is_empty() {
        return Err(DemoError::Verify("the export record lists no file".into()));
    }
    let manifest = &export["manifest"];
    if manifest.is_object() {
        digests.push(manifest);
    } else if record["manifest"].is_object() {
        digests.push(&record["manifest"]);
    }
    let mut checked = Vec::new();
    for d in digests {
        let name = d["name"].as_str().unwrap_or_default();
        let path = folder.join(name);
        let bytes = std::fs::read(&path)
            .map_err(|e| DemoError::Verify(format!("{}: {e}", path.display())))?;
        let sha256 = hex::encode(sha2::Sha256::digest(&bytes));
        if Some(sha256.as_str()) != d["sha256"].as_str()
            || Some(bytes.len() as u64) != d["size"].as_u64()
        {
            return Err(DemoError::Verify(format!(
                "{}: size or SHA-256 differs from the export record",
                path.display()
            )));
        }
        let sealed = name.ends_with(".scelle");
        let mut chunks = 0;
        if sealed {
            let mut reader = crate::seal::SealReader::new(&bytes[..], password.as_bytes())
                .map_err(|e| DemoError::Verify(format!("{}: {e}", path.display())))?;
            let mut first = true;
            while let Some(chunk) = reader
                .next_chunk()
                .map_err(|e| DemoError::Verify(format!("{}: {e}", path.display())))?
            {
                if first && name.ends_with(".mp4.scelle") && chunk.get(4..8) != Some(b"ftyp") {
                    return Err(DemoError::Verify(format!(
                        "{}: the decrypted content is not an MP4 file",
                        path.display()
                    )));
                }
                first = false;
                chunks += 1;
            }
        }
        checked.push(CheckedFile {
            path,
            size: bytes.len() as u64,
            sha256,
            sealed,
            chunks,
        });
    }
    Ok(checked)
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The daemon as a child process, stopped (SIGTERM, then kill) when dropped.
struct DaemonChild {
    child: Option<Child>,
}

impl DaemonChild {
    fn start(layout: &Layout) -> Result<DaemonChild, DemoError> {
        let exe = std::env::current_exe()
            .map_err(|e| DemoError::Daemon(format!("cannot find the scelle binary: {e}")))?;
        let log = std::fs::File::create(layout.daemon_log()).map_err(|source| {
            site::SiteError::Write {
                path: layout.daemon_log(),
                source,
            }
        })?;
        let child = Command::new(exe)
            .arg("serve")
            .arg("--config")
            .arg(layout.config())
            .env("RUST_LOG", "info")
            .env_remove("NOTIFY_SOCKET")
            .env_remove("WATCHDOG_USEC")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| DemoError::Daemon(format!("cannot start `scelle serve`: {e}")))?;
        let mut daemon = DaemonChild { child: Some(child) };
        let t = Instant::now();
        loop {
            if std::os::unix::net::UnixStream::connect(layout.socket()).is_ok() {
                return Ok(daemon);
            }
            if let Some(c) = daemon.child.as_mut()
                && let Ok(Some(status)) = c.try_wait()
            {
                daemon.child = None;
                return Err(DemoError::Daemon(format!(
                    "the daemon stopped at start ({status}):\n{}",
                    tail(&layout.daemon_log())
                )));
            }
            if t.elapsed() > START_TIMEOUT {
                return Err(DemoError::Daemon(format!(
                    "the daemon did not listen within {} s:\n{}",
                    START_TIMEOUT.as_secs(),
                    tail(&layout.daemon_log())
                )));
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// SIGTERM (running work finishes, the socket is removed), then a kill after a while.
    fn stop(mut self) {
        self.stop_now();
    }

    fn stop_now(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .stderr(Stdio::null())
            .status();
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(10) {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for DaemonChild {
    fn drop(&mut self) {
        self.stop_now();
    }
}

/// The last lines of a log file, for error messages.
fn tail(path: &Path) -> String {
    let mut text = String::new();
    let _ = std::fs::File::open(path).and_then(|mut f| f.read_to_string(&mut text));
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

fn print_summary(layout: &Layout, o: &Outcome, took: Duration) {
    // The binary that ran the demo (`cargo run` leaves it in target/): the commands work as
    // printed, whether or not scelle is installed.
    let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("scelle"));
    let bin = exe.display();
    let record = &o.export["record"];
    let folder = record["destination"]["path"].as_str().unwrap_or_default();
    println!("\nEverything verified in {:.1} s.\n", took.as_secs_f64());
    println!(
        "Case {} ({CASE_REFERENCE}) — export folder on the \"drive\":",
        o.case_id
    );
    println!("  {folder}");
    if let Ok(entries) = std::fs::read_dir(folder) {
        let mut names: Vec<String> = entries
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        for n in names {
            println!("    {n}");
        }
    }
    for f in record["files"].as_array().into_iter().flatten() {
        let gaps = f["gaps"].as_array().map_or(0, Vec::len);
        println!(
            "  {}: {} s of footage, {} frames, {} gap(s) reported",
            f["camera"].as_str().unwrap_or_default(),
            f["covered_seconds"].as_f64().unwrap_or(0.0),
            f["frames"],
            gaps
        );
    }
    println!("\nPassword of this export (shown once, stored nowhere; give it by another channel):");
    println!("  {}\n", o.password.as_str());
    println!(
        "Register: {} ({} entries, chain and signatures verified)",
        layout.register().display(),
        o.register.entries
    );
    println!(
        "Delivery receipt: printed from the `export-completed` entry of case {} (files, SHA-256, \
         spans, gaps, clock offsets, register head) by `scelle case receipt` (last command below).",
        o.case_id
    );
    println!("\nLook at it yourself:");
    let sample = o
        .files
        .iter()
        .find(|f| f.sealed && f.path.to_string_lossy().ends_with(".mp4.scelle"))
        .or(o.files.first());
    if let Some(f) = sample {
        let p = f.path.display();
        println!("  {bin} verify {p} --sha256 {}", f.sha256);
        println!("  {bin} open {p} -o clip.mp4          # asks for the password above");
    }
    println!("  {folder}/OUVRIR.html in a browser   # what a recipient opens first");
    println!("  (cd {folder} && sha256sum -c SHA256SUMS.txt)   # or its check by hand");
    println!(
        "  {bin} register verify --db {}",
        layout.register().display()
    );
    println!(
        "  {bin} register report --db {} --format pdf -o register.pdf",
        layout.register().display()
    );
    println!(
        "  sqlite3 {} 'select seq, kind, actor from entries'",
        layout.register().display()
    );
    println!(
        "  {bin} serve --config {}   # the demo daemon again; then, in another shell:",
        layout.config().display()
    );
    println!(
        "  {bin} case show {} --socket {} --as {} -i {}",
        o.case_id,
        layout.socket().display(),
        AUTHORIZER.id,
        layout.key(&AUTHORIZER).display()
    );
    println!(
        "  {bin} case receipt {} -o recu.pdf --socket {} --as {} -i {}   # the A4 receipt (--lang en)",
        o.case_id,
        layout.socket().display(),
        AUTHORIZER.id,
        layout.key(&AUTHORIZER).display()
    );
    println!(
        "\nThe demo site stays in {} — remove it with `rm -rf {}`.",
        layout.root.display(),
        layout.root.display()
    );
}
