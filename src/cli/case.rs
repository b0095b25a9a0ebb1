//! `scelle case …`: the case workflow from a shell, through the control socket.
//!
//! Every command identifies its person first (peer credentials; on a shared account `--as`
//! and a signature with the person's SSH key), then sends one request and prints the answer.
//! `--json` prints the daemon's result as is, for scripts.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use clap::Subcommand;
use serde_json::{Value, json};

use super::client::{Client, ClientError, Signer};
use crate::api::protocol::{ErrorCode, Reply};
use crate::config::DEFAULT_SOCKET;
use crate::error::Exit;

/// Arguments of `scelle case`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Control socket of the daemon.
    #[arg(long, env = "SCELLE_SOCKET", default_value = DEFAULT_SOCKET, global = true)]
    pub socket: PathBuf,
    /// Who you are, when your Unix account is shared by several people.
    #[arg(long = "as", env = "SCELLE_PERSON", global = true)]
    pub person: Option<String>,
    /// Your SSH private key (default: your SSH agent).
    #[arg(short = 'i', long = "identity", env = "SCELLE_KEY", global = true)]
    pub key: Option<PathBuf>,
    /// Print the daemon's JSON answer.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: CaseCommand,
}

#[derive(Debug, Subcommand)]
pub enum CaseCommand {
    /// Open a case (STEP-2), with its written request or as an emergency.
    Open(OpenArgs),
    /// Attach the written request to a case (AUTH-3).
    Attach {
        case: String,
        #[arg(long)]
        request: PathBuf,
    },
    /// Authorize a case (authorizers only; never the case's operator), signed with your SSH key.
    Approve { case: String },
    /// Record how the requester's authority was verified (AUTH-5).
    VerifyRequester {
        case: String,
        #[arg(long)]
        how: String,
    },
    /// List the cases; overdue emergencies are flagged.
    List,
    /// Show one case and its register entries.
    Show { case: String },
    /// Close a case.
    Close {
        case: String,
        #[arg(long)]
        reason: String,
    },
    /// Export a case to a drive: pull, seal, verify, and sign the export-completed entry.
    Export(ExportArgs),
}

#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    pub case: String,
    /// The destination: the approved drive's mount point (or a folder on it). Without it,
    /// only the policy check runs (may this case be exported now?).
    #[arg(long)]
    pub to: Option<PathBuf>,
    /// A file holding the export's password (checked by the strength rule); without it
    /// scelle generates one and shows it once.
    #[arg(long)]
    pub password_file: Option<PathBuf>,
    /// Accept a drive that is not in the approved list (recorded in the register, ENC-3).
    #[arg(long)]
    pub accept_drive: bool,
}

#[derive(Debug, clap::Args)]
pub struct OpenArgs {
    /// Legal ground (AUTH-1).
    #[arg(long, value_parser = ["requisition", "incident", "access-request"])]
    pub ground: String,
    /// Who asks (name).
    #[arg(long)]
    pub requester: String,
    /// The requester's organisation (police station, insurer…).
    #[arg(long)]
    pub organisation: String,
    /// Their reference (requisition number, claim number…).
    #[arg(long)]
    pub reference: String,
    /// Who receives the export.
    #[arg(long)]
    pub recipient: String,
    /// What the export is for.
    #[arg(long)]
    pub purpose: String,
    /// A camera to export (repeat for several).
    #[arg(long = "camera", required = true)]
    pub cameras: Vec<String>,
    /// A time range START/END (repeat for several), e.g. 2026-11-20T10:00/2026-11-20T10:30.
    #[arg(long = "range", required = true)]
    pub ranges: Vec<String>,
    /// The written request (e-mail, form, requisition scan).
    #[arg(long, conflicts_with = "emergency")]
    pub request: Option<PathBuf>,
    /// Open before the written request arrives, with this justification.
    #[arg(long, required_unless_present = "request")]
    pub emergency: Option<String>,
}

pub fn run(args: Args) -> ExitCode {
    match run_inner(&args) {
        Ok(()) => Exit::Ok.into(),
        Err(e) => {
            eprintln!("scelle case: {e}");
            match e {
                ClientError::Remote {
                    code: ErrorCode::BadArgs,
                    ..
                } => Exit::Usage.into(),
                _ => Exit::Failure.into(),
            }
        }
    }
}

fn run_inner(args: &Args) -> Result<(), ClientError> {
    let signer = match &args.key {
        Some(k) => Signer::KeyFile(k.clone()),
        None => Signer::Agent,
    };
    let mut client = Client::connect(&args.socket)?;
    client.identify(args.person.as_deref(), &signer)?;
    let result = match &args.command {
        CaseCommand::Open(o) => {
            let request = o.request.as_deref().map(document).transpose()?;
            let a = json!({
                "ground": o.ground, "requester": o.requester, "organisation": o.organisation,
                "reference": o.reference, "recipient": o.recipient, "purpose": o.purpose,
                "cameras": o.cameras, "ranges": o.ranges, "request": request,
                "emergency": o.emergency,
            });
            let quiet = args.json;
            match client.request("case-open", a, &mut |stage| {
                if !quiet {
                    eprintln!("… {stage}");
                }
            })? {
                Reply::Ok { result, .. } => result,
                other => return Err(ClientError::Protocol(format!("{other:?}"))),
            }
        }
        CaseCommand::Attach { case, request } => client.call(
            "case-attach",
            json!({ "case": case, "request": document(request)? }),
        )?,
        CaseCommand::Approve { case } => {
            match client.request("case-approve", json!({ "case": case }), &mut |_| {})? {
                Reply::Challenge {
                    public_key,
                    namespace,
                    message,
                    ..
                } => {
                    let statement = B64
                        .decode(message.as_bytes())
                        .map_err(|e| ClientError::Protocol(e.to_string()))?;
                    let signature = signer.sign(&public_key, &namespace, &statement)?;
                    client.call(
                        "case-approve",
                        json!({ "case": case, "signature": signature }),
                    )?
                }
                other => return Err(ClientError::Protocol(format!("{other:?}"))),
            }
        }
        CaseCommand::VerifyRequester { case, how } => {
            client.call("case-verify-requester", json!({ "case": case, "how": how }))?
        }
        CaseCommand::List => client.call("case-list", json!({}))?,
        CaseCommand::Show { case } => client.call("case-show", json!({ "case": case }))?,
        CaseCommand::Close { case, reason } => {
            client.call("case-close", json!({ "case": case, "reason": reason }))?
        }
        CaseCommand::Export(e) => {
            return super::case_export::run(&mut client, &signer, e, args.json);
        }
    };
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&result).unwrap_or_default()
        );
        return Ok(());
    }
    match &args.command {
        CaseCommand::List => print_list(&result),
        _ => {
            if let Some(case) = result.get("case") {
                print_case(case);
            }
            if let Some(entries) = result.get("entries").and_then(Value::as_array) {
                println!("register entries:");
                for e in entries {
                    println!(
                        "  #{} {} {} by {}",
                        e["seq"],
                        text(&e["time"]),
                        text(&e["kind"]),
                        text(&e["actor"])
                    );
                }
            }
        }
    }
    Ok(())
}

fn document(path: &Path) -> Result<Value, ClientError> {
    let bytes = std::fs::read(path)
        .map_err(|e| ClientError::Sign(format!("cannot read {}: {e}", path.display())))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(json!({ "name": name, "content": B64.encode(bytes) }))
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}

fn flags(c: &Value) -> String {
    let mut f = Vec::new();
    if !c["opening"]["emergency"].is_null() {
        f.push(if c["regularized_at"].is_null() {
            "EMERGENCY"
        } else {
            "emergency-regularized"
        });
    }
    if c["overdue"] == Value::Bool(true) {
        f.push("OVERDUE");
    }
    if c["has_request"] == Value::Bool(false) {
        f.push("no-written-request");
    }
    f.join(",")
}

fn print_list(result: &Value) {
    let cases = result["cases"].as_array().cloned().unwrap_or_default();
    println!(
        "{:<11} {:<23} {:<15} {:<12} {:<12} FLAGS",
        "CASE", "STATE", "GROUND", "OPERATOR", "AUTHORIZER"
    );
    for c in &cases {
        println!(
            "{:<11} {:<23} {:<15} {:<12} {:<12} {}",
            text(&c["id"]),
            text(&c["state"]),
            text(&c["opening"]["ground"]),
            text(&c["operator"]),
            text(&c["authorized_by"]),
            flags(c)
        );
    }
}

fn print_case(c: &Value) {
    let o = &c["opening"];
    println!(
        "case {}  [{}] {}",
        text(&c["id"]),
        text(&c["state"]),
        flags(c)
    );
    println!(
        "  opened     {} by {}",
        text(&c["opened_at"]),
        text(&c["operator"])
    );
    println!("  ground     {}", text(&o["ground"]));
    println!(
        "  requester  {} ({}), ref {}",
        text(&o["requester"]),
        text(&o["organisation"]),
        text(&o["reference"])
    );
    println!("  recipient  {}", text(&o["recipient"]));
    println!("  purpose    {}", text(&o["purpose"]));
    println!("  cameras    {}", text(&o["cameras"]));
    for r in o["ranges"].as_array().into_iter().flatten() {
        println!("  range      {} → {}", text(&r["start"]), text(&r["end"]));
    }
    if !o["emergency"].is_null() {
        println!("  emergency  {}", text(&o["emergency"]));
    }
    for d in c["documents"].as_array().into_iter().flatten() {
        println!(
            "  document   {} sha256:{}",
            text(&d["name"]),
            text(&d["sha256"])
        );
    }
    println!("  authorized {}", text(&c["authorized_by"]));
    println!("  requester verified: {}", text(&c["requester_verified"]));
    if !c["closed"].is_null() {
        println!("  closed     {}", text(&c["closed"]));
    }
}
