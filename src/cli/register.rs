//! `scelle register verify|report|head|backup`: the auditor's and the administrator's commands.
//!
//! They work directly on a database file (the live one, read-only, or any copy), so an auditor
//! can check a copy on another machine without the daemon.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};

use super::connect::ClientOptions;
use crate::api::protocol::Op;
use crate::error::{Exit, ExitStatus};
use crate::register::{Head, Register, RegisterError, VerifyOptions, witness};
use crate::report::{self, Lang, Report};

/// Where the daemon keeps the register unless configured otherwise (the default state
/// directory and [`crate::daemon::REGISTER_FILE`]).
pub const DEFAULT_DB: &str = "/var/lib/scelle/register.sqlite";

#[derive(Debug, Args)]
pub struct RegisterArgs {
    #[command(subcommand)]
    pub command: RegisterCommand,
}

#[derive(Debug, Args)]
pub struct DbArg {
    /// The register database (any copy of it).
    #[arg(long, env = "SCELLE_REGISTER_DB", default_value = DEFAULT_DB)]
    pub db: PathBuf,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ReportFormat {
    Csv,
    Json,
    Pdf,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ReportLang {
    Fr,
    En,
}

#[derive(Debug, Subcommand)]
pub enum RegisterCommand {
    /// Walk the whole chain offline: every link, hash and signature. Exit 0 only if all holds;
    /// 4 names the first bad entry.
    Verify {
        #[command(flatten)]
        db: DbArg,
        /// A head known from elsewhere (receipt, witness), `SEQ:HEX`: also detects removal of
        /// the newest entries.
        #[arg(long, value_parser = parse_head)]
        head: Option<Head>,
        /// A file of heads seen elsewhere, each proved to be in the chain: the daemon's JSON log
        /// (`register-head` events), receipts' heads, or `SEQ:HEX` lines. Repeatable.
        #[arg(long)]
        witness: Vec<PathBuf>,
        /// The site key the register must be sealed by: its fingerprint (`SHA256:...`, as
        /// printed at commissioning and on receipts) or its public key line.
        #[arg(long)]
        site_key: Option<String>,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// The register as an auditor reads it (PDF, CSV or JSON): site and controller, people
    /// and their changes, a summary, one section per case and one block per export, media.
    Report {
        #[command(flatten)]
        db: DbArg,
        /// Ask the running daemon for the report (auditors and authorizers), instead of
        /// reading the database file.
        #[arg(long)]
        daemon: bool,
        #[command(flatten)]
        client: ClientOptions,
        #[arg(long, value_enum, default_value = "csv")]
        format: ReportFormat,
        /// Cases opened on or after this UTC date (YYYY-MM-DD).
        #[arg(long)]
        from: Option<jiff::civil::Date>,
        /// Cases opened on or before this UTC date (YYYY-MM-DD).
        #[arg(long)]
        to: Option<jiff::civil::Date>,
        /// Heading language.
        #[arg(long, value_enum, default_value = "fr")]
        lang: ReportLang,
        /// Write to this file instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// The current sequence number and head hash (`SEQ:HEX`), for receipts and witnesses.
    Head {
        #[command(flatten)]
        db: DbArg,
        #[arg(long)]
        json: bool,
    },
    /// A consistent copy through SQLite's backup API, verified after copying.
    Backup {
        #[command(flatten)]
        db: DbArg,
        /// Destination file (must not exist).
        #[arg(long)]
        to: PathBuf,
    },
}

fn parse_head(text: &str) -> Result<Head, String> {
    Head::parse(text)
        .ok_or_else(|| "expected SEQ:HEX (a sequence number, a colon, 64 hex digits)".into())
}

fn fail(e: &RegisterError) -> ExitCode {
    eprintln!("scelle register: {e}");
    e.exit().into()
}

/// Runs a `register` subcommand.
pub fn run(args: RegisterArgs) -> ExitCode {
    match args.command {
        RegisterCommand::Verify {
            db,
            head,
            witness,
            site_key,
            json,
        } => verify(&db.db, head.as_ref(), &witness, site_key.as_deref(), json),
        RegisterCommand::Report {
            db,
            daemon,
            client,
            format,
            from,
            to,
            lang,
            output,
        } => {
            if daemon {
                report_from_daemon(&client, format, from, to, lang, output.as_deref())
            } else {
                report(&db.db, format, from, to, lang, output.as_deref())
            }
        }
        RegisterCommand::Head { db, json } => head_cmd(&db.db, json),
        RegisterCommand::Backup { db, to } => backup(&db.db, &to),
    }
}

fn open(db: &Path) -> Result<Register, RegisterError> {
    if !db.exists() {
        return Err(RegisterError::Io {
            what: format!("register database {}", db.display()),
            source: std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "no such file (give --db PATH)",
            ),
        });
    }
    Register::open_read_only(db)
}

fn verify(
    db: &Path,
    head: Option<&Head>,
    witnesses: &[PathBuf],
    site_key: Option<&str>,
    json: bool,
) -> ExitCode {
    let mut heads = Vec::new();
    for w in witnesses {
        match std::fs::read(w) {
            Ok(bytes) => heads.extend(witness::parse(
                &String::from_utf8_lossy(&bytes),
                &w.display().to_string(),
            )),
            Err(source) => {
                return fail(&RegisterError::Io {
                    what: format!("witness file {}", w.display()),
                    source,
                });
            }
        }
    }
    if !witnesses.is_empty() && heads.is_empty() {
        eprintln!(
            "scelle register: no head (SEQ:HEX, register-head event) found in the witness files"
        );
        return Exit::Usage.into();
    }
    let result = open(db).and_then(|r| {
        let rep = r.verify_with(VerifyOptions {
            expected: head,
            trusted: None,
            site_key,
        })?;
        r.check_witnesses(&heads, &rep)?;
        Ok(rep)
    });
    match result {
        Ok(rep) => {
            if json {
                let doc = serde_json::json!({"ok": true, "report": rep, "witnessed": heads.len()});
                println!("{doc}");
            } else {
                println!(
                    "register OK: {} entries, {} signatures, {} checkpoints, head {}",
                    rep.entries, rep.signatures, rep.checkpoints, rep.head
                );
                match (&rep.site_key, rep.sealed_from) {
                    (Some(key), Some(1)) => println!("every entry sealed by site key {key}"),
                    (Some(key), Some(from)) => println!(
                        "entries {from} to {} sealed by site key {key}; entries 1 to {} were written before sealing (chained, not sealed)",
                        rep.head.seq,
                        from - 1
                    ),
                    _ => println!(
                        "WARNING: no entry is sealed by a site key (a register written before sealing): authority cannot be proved, pin a head with --head or --witness"
                    ),
                }
                if !heads.is_empty() {
                    println!("{} witnessed heads are in the chain", heads.len());
                }
            }
            Exit::Ok.into()
        }
        Err(e) => {
            if json {
                let doc =
                    serde_json::json!({"ok": false, "entry": e.entry(), "error": e.to_string()});
                println!("{doc}");
            }
            match e.entry() {
                Some(n) => eprintln!("register FAILED: first bad entry is {n}: {e}"),
                None => eprintln!("register FAILED: {e}"),
            }
            e.exit().into()
        }
    }
}

fn head_cmd(db: &Path, json: bool) -> ExitCode {
    match open(db).and_then(|r| r.head()) {
        Ok(h) => {
            if json {
                println!(
                    "{}",
                    serde_json::json!({"seq": h.seq, "hash": hex::encode(h.hash)})
                );
            } else {
                println!("{h}");
            }
            Exit::Ok.into()
        }
        Err(e) => fail(&e),
    }
}

fn backup(db: &Path, to: &Path) -> ExitCode {
    if to.exists() {
        eprintln!(
            "scelle register: {} already exists; choose a new file for the backup",
            to.display()
        );
        return Exit::Failure.into();
    }
    let copied = open(db)
        .and_then(|r| r.backup(to))
        .and_then(|()| Register::open_read_only(to))
        .and_then(|copy| copy.verify(None));
    match copied {
        Ok(rep) => {
            println!(
                "backup written to {}: {} entries, head {} (verified)",
                to.display(),
                rep.entries,
                rep.head
            );
            Exit::Ok.into()
        }
        Err(e) => fail(&e),
    }
}

fn report(
    db: &Path,
    format: ReportFormat,
    from: Option<jiff::civil::Date>,
    to: Option<jiff::civil::Date>,
    lang: ReportLang,
    output: Option<&Path>,
) -> ExitCode {
    let lang = match lang {
        ReportLang::Fr => Lang::Fr,
        ReportLang::En => Lang::En,
    };
    let reg = match open(db) {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    let verified = reg.verify(None);
    let entries = match reg.entries(None) {
        Ok(e) => e,
        Err(e) => return fail(&e),
    };
    let rep = Report::new(
        &entries,
        verified.as_ref().map(|_| ()).map_err(|e| e.to_string()),
        from,
        to,
        lang,
    );
    let bytes = match format {
        ReportFormat::Csv => rep.to_csv().into_bytes(),
        ReportFormat::Json => rep.to_json().into_bytes(),
        ReportFormat::Pdf => report::pdf::to_pdf(&rep),
    };
    let written = match output {
        Some(path) => std::fs::write(path, &bytes),
        None => std::io::stdout().lock().write_all(&bytes),
    };
    if let Err(source) = written {
        return fail(&RegisterError::Io {
            what: "writing the report".into(),
            source,
        });
    }
    match verified {
        Ok(_) => Exit::Ok.into(),
        Err(e) => {
            eprintln!("scelle register: the report was written, but {e}");
            e.exit().into()
        }
    }
}

fn write_out(output: Option<&Path>, bytes: &[u8]) -> std::io::Result<()> {
    match output {
        Some(path) => std::fs::write(path, bytes),
        None => std::io::stdout().lock().write_all(bytes),
    }
}

/// `register report --daemon`: the same report, made by the daemon from its own register.
fn report_from_daemon(
    client: &ClientOptions,
    format: ReportFormat,
    from: Option<jiff::civil::Date>,
    to: Option<jiff::civil::Date>,
    lang: ReportLang,
    output: Option<&Path>,
) -> ExitCode {
    use base64::Engine;
    let format = match format {
        ReportFormat::Csv => "csv",
        ReportFormat::Json => "json",
        ReportFormat::Pdf => "pdf",
    };
    let lang = match lang {
        ReportLang::Fr => "fr",
        ReportLang::En => "en",
    };
    let args = serde_json::json!({
        "format": format, "lang": lang,
        "from": from.map(|d| d.to_string()), "to": to.map(|d| d.to_string()),
    });
    let result = client
        .connect()
        .and_then(|(mut c, _)| c.call(Op::RegisterReport, args));
    let result = match result {
        Ok(r) => r,
        Err(e) => {
            eprintln!("scelle register: {e}");
            return e.exit().into();
        }
    };
    let content = result["content"].as_str().unwrap_or_default();
    let bytes = match base64::engine::general_purpose::STANDARD.decode(content) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("scelle register: the daemon's report is not base64: {e}");
            return Exit::Failure.into();
        }
    };
    if let Err(source) = write_out(output, &bytes) {
        return fail(&RegisterError::Io {
            what: "writing the report".into(),
            source,
        });
    }
    match result["integrity_failure"].as_str() {
        None => Exit::Ok.into(),
        Some(f) => {
            eprintln!("scelle register: the report was written, but {f}");
            Exit::Integrity.into()
        }
    }
}
