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

use super::client::{ClientError, Expect};
use super::connect::ClientOptions;
use super::show::text;
use crate::api::protocol::{Op, Reply};
use crate::error::{Exit, ExitStatus};

/// Arguments of `scelle case`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub client: ClientOptions,
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
    /// Authorize a case (authorizers only; never the case's opener nor its exporter), signed
    /// with your SSH key; or, for an authorizer off site, print the statement to sign with
    /// `ssh-keygen -Y sign -n scelle-approve` and submit the signature (anyone may).
    Approve(StatementArgs),
    /// Countersign what an export actually extracted (authorizers only; STEP-5), as
    /// `approve` does: on site, or remotely with `ssh-keygen -Y sign -n scelle-countersign`.
    Countersign {
        #[command(flatten)]
        statement: StatementArgs,
        /// The export (default: the case's last completed one).
        #[arg(long)]
        export: Option<String>,
    },
    /// Record how the requester's authority was verified (AUTH-5).
    VerifyRequester {
        case: String,
        #[arg(long)]
        how: String,
    },
    /// Access requests: record how the data subject's identity and the legitimacy of the
    /// request were proven (AUTH-5, DEL-2), signed with your SSH key. Needed before approval.
    Identity {
        case: String,
        /// The document shown: national identity card, passport, residence permit…
        #[arg(long)]
        document_kind: String,
        /// Its number or other reference.
        #[arg(long = "document-ref")]
        document_ref: String,
        /// Why the request is legitimate (how the person was recognized on the footage…).
        #[arg(long)]
        legitimacy: String,
        /// The scan of the document, attached to the case like the written request.
        #[arg(long)]
        scan: Option<PathBuf>,
        /// When the document was checked (default: now), e.g. 2026-11-23T15:30 in site time.
        #[arg(long)]
        at: Option<String>,
    },
    /// Access requests: record an on-site viewing of the footage (DEL-2, the first option),
    /// signed with your SSH key.
    Viewed {
        case: String,
        /// Who attended (repeat for several).
        #[arg(long = "attendee", required = true)]
        attendees: Vec<String>,
        /// On which screen or client the footage was shown.
        #[arg(long)]
        screen: String,
        /// A range shown, START/END (repeat; default: every range of the case).
        #[arg(long = "range")]
        ranges: Vec<String>,
        /// When (default: now), e.g. 2026-11-23T15:30 in site time.
        #[arg(long)]
        at: Option<String>,
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
    /// Print the delivery receipt of the case's last export as a PDF (DEL-1).
    Receipt {
        case: String,
        /// Where to write the PDF (default: `<case>-recu.pdf`).
        #[arg(short = 'o', long = "output")]
        output: Option<PathBuf>,
        /// Language of the receipt.
        #[arg(long, default_value = "fr", value_parser = ["fr", "en"])]
        lang: String,
        /// The export (default: the last completed one).
        #[arg(long)]
        export: Option<String>,
        /// Hand-over date printed (default: now), e.g. 2026-11-23T15:30 in site time.
        #[arg(long)]
        at: Option<String>,
    },
    /// Record the hand-over, with the scan of the signed receipt (DEL-1).
    Delivered {
        case: String,
        /// The scan (PDF, image) of the receipt both parties signed.
        #[arg(long = "signed-receipt")]
        signed_receipt: PathBuf,
        /// When it was handed over (default: now), e.g. 2026-11-23 or 2026-11-23T15:30.
        #[arg(long)]
        at: Option<String>,
    },
    /// Export a case to a drive: pull, seal, verify, and sign the export-completed entry.
    Export(ExportArgs),
    /// Access requests: pull and analyze the footage, and write the sealed review sheet of the
    /// faces found (one thumbnail per track; open it with `scelle open FILE -o -` and the
    /// export's password). The daemon keeps the analysis in memory for your export.
    Review {
        case: String,
        /// Where to write the sealed sheet (default: `<case>-review.html.scelle`).
        #[arg(short = 'o', long = "output")]
        output: Option<PathBuf>,
        /// The export's password (default: generated and shown once).
        #[arg(long)]
        password_file: Option<PathBuf>,
    },
}

/// How a statement is signed: here with your key, or elsewhere with `ssh-keygen`.
#[derive(Debug, clap::Args)]
pub struct StatementArgs {
    pub case: String,
    /// Print the exact statement to sign (to a file with `> statement.txt`) and stop.
    #[arg(long, conflicts_with = "signature")]
    pub print_statement: bool,
    /// How long the printed statement stays valid, in hours (at most 720).
    #[arg(long, default_value_t = crate::case::statement::DEFAULT_VALID_HOURS)]
    pub valid_hours: u32,
    /// Submit the signature made elsewhere (`ssh-keygen -Y sign` writes `statement.txt.sig`).
    #[arg(long, value_name = "FILE")]
    pub signature: Option<PathBuf>,
    /// The signed statement (default: the signature file without its `.sig`).
    #[arg(long, value_name = "FILE", requires = "signature")]
    pub statement: Option<PathBuf>,
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
    /// Access requests (DEL-2): why the footage could not be viewed on site; the export is
    /// then anonymized (third parties' faces blurred, audio removed), never the original.
    #[arg(long, value_name = "REASON")]
    pub no_viewing_reason: Option<String>,
    /// Access requests: leave the requester's face visible, FILE:TRACK as on the sealed
    /// review sheet of `scelle case review` (repeat per file); otherwise every face is blurred.
    #[arg(long, value_name = "FILE:TRACK", conflicts_with = "blur_all")]
    pub keep_track: Vec<String>,
    /// Access requests: blur every face, the requester's too (the default).
    #[arg(long)]
    pub blur_all: bool,
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
            e.exit().into()
        }
    }
}

fn run_inner(args: &Args) -> Result<(), ClientError> {
    let (mut client, _signer) = args.client.connect()?;
    let result = match &args.command {
        CaseCommand::Open(o) => {
            let request = o.request.as_deref().map(document).transpose()?;
            let a = json!({
                "ground": o.ground, "requester": o.requester, "organisation": o.organisation,
                "reference": o.reference, "recipient": o.recipient, "purpose": o.purpose,
                "cameras": o.cameras, "ranges": o.ranges, "request": request,
                "emergency": o.emergency,
            });
            let quiet = args.client.json;
            match client.request(Op::CaseOpen, a, &mut |stage| {
                if !quiet {
                    eprintln!("… {stage}");
                }
            })? {
                Reply::Ok { result, .. } => result,
                other => return Err(ClientError::Protocol(format!("{other:?}"))),
            }
        }
        CaseCommand::Attach { case, request } => client.call(
            Op::CaseAttach,
            json!({ "case": case, "request": document(request)? }),
        )?,
        CaseCommand::Approve(st) => {
            match statement_step(&mut client, Op::CaseApprove, st, json!({}))? {
                Some(v) => v,
                None => return Ok(()),
            }
        }
        CaseCommand::Countersign { statement, export } => {
            match statement_step(
                &mut client,
                Op::CaseCountersign,
                statement,
                json!({ "export": export }),
            )? {
                Some(v) => v,
                None => return Ok(()),
            }
        }
        CaseCommand::VerifyRequester { case, how } => {
            client.call(Op::CaseVerifyRequester, json!({ "case": case, "how": how }))?
        }
        CaseCommand::Identity {
            case,
            document_kind,
            document_ref,
            legitimacy,
            scan,
            at,
        } => {
            let scan = scan.as_deref().map(document).transpose()?;
            let a = json!({
                "case": case, "document_kind": document_kind, "document_reference": document_ref,
                "legitimacy": legitimacy, "scan": scan, "checked_at": stated_now(at.as_deref()),
            });
            signed_entry(&mut client, Op::CaseIdentity, "identity-proven", case, a)?
        }
        CaseCommand::Viewed {
            case,
            attendees,
            screen,
            ranges,
            at,
        } => {
            let a = json!({
                "case": case, "attendees": attendees, "screen": screen, "ranges": ranges,
                "at": stated_now(at.as_deref()),
            });
            signed_entry(&mut client, Op::CaseViewed, "viewed-on-site", case, a)?
        }
        CaseCommand::List => client.call(Op::CaseList, json!({}))?,
        CaseCommand::Show { case } => client.call(Op::CaseShow, json!({ "case": case }))?,
        CaseCommand::Close { case, reason } => {
            client.call(Op::CaseClose, json!({ "case": case, "reason": reason }))?
        }
        CaseCommand::Receipt {
            case,
            lang,
            export,
            at,
            ..
        } => client.call(
            Op::CaseReceipt,
            json!({ "case": case, "lang": lang, "export": export, "at": at }),
        )?,
        CaseCommand::Delivered {
            case,
            signed_receipt,
            at,
        } => client.call(
            Op::CaseDelivered,
            json!({ "case": case, "signed_receipt": document(signed_receipt)?, "at": at }),
        )?,
        CaseCommand::Review {
            case,
            output,
            password_file,
        } => {
            return review(
                &mut client,
                case,
                output.as_deref(),
                password_file.as_deref(),
            );
        }
        CaseCommand::Export(e) => {
            let me = client.person().unwrap_or_default().to_owned();
            return super::case_export::run(&mut client, &me, e, args.client.json);
        }
    };
    if let CaseCommand::Receipt { case, output, .. } = &args.command {
        return write_receipt(case, output.as_deref(), &result);
    }
    if args.client.json {
        super::show::print_json(&result);
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

/// `approve` / `countersign`: print the statement, submit a signature made elsewhere, or sign
/// here (shown, confirmed, checked against the case typed). `None`: nothing more to print.
fn statement_step(
    client: &mut super::client::Client,
    op: Op,
    st: &StatementArgs,
    extra: Value,
) -> Result<Option<Value>, ClientError> {
    let mut args = json!({ "case": st.case, "valid_hours": st.valid_hours });
    if let (Value::Object(a), Value::Object(e)) = (&mut args, extra) {
        a.extend(e);
    }
    let expect = if op == Op::CaseApprove {
        Expect::Approve { case: &st.case }
    } else {
        Expect::Countersign { case: &st.case }
    };
    if st.print_statement {
        let text = match client.request(op, args, &mut |_| {})? {
            Reply::Challenge { message, .. } => B64
                .decode(message.as_bytes())
                .map_err(|e| ClientError::Protocol(e.to_string()))?,
            other => return Err(ClientError::Protocol(format!("{other:?}"))),
        };
        let text = String::from_utf8(text)
            .map_err(|_| ClientError::Protocol("the statement is not UTF-8".into()))?;
        expect
            .check_text(&text, client.site())
            .map_err(ClientError::Refused)?;
        print!("{text}");
        return Ok(None);
    }
    if let Some(sig_path) = &st.signature {
        let text_path = match &st.statement {
            Some(p) => p.clone(),
            None => match sig_path.to_str().and_then(|s| s.strip_suffix(".sig")) {
                Some(s) => PathBuf::from(s),
                None => {
                    return Err(ClientError::Local(format!(
                        "give the signed statement with --statement FILE ({} does not end in .sig)",
                        sig_path.display()
                    )));
                }
            },
        };
        let read = |p: &Path| {
            std::fs::read_to_string(p)
                .map_err(|e| ClientError::Local(format!("cannot read {}: {e}", p.display())))
        };
        let (text, signature) = (read(&text_path)?, read(sig_path)?);
        if let Value::Object(a) = &mut args {
            a.remove("valid_hours");
            a.insert("statement".into(), Value::String(text));
            a.insert("signature".into(), Value::String(signature));
        }
        return client.call(op, args).map(Some);
    }
    let answer_args = args.clone();
    client
        .signed_call(
            op,
            args,
            expect,
            &mut |_, _| {},
            &mut |message, signature| {
                let mut a = answer_args.clone();
                if let Value::Object(m) = &mut a {
                    m.remove("valid_hours");
                    m.insert(
                        "statement".into(),
                        Value::String(String::from_utf8_lossy(message).into_owned()),
                    );
                    m.insert("signature".into(), Value::String(signature));
                }
                (op.to_owned(), a)
            },
        )
        .map(Some)
}

/// `case review`: writes the sealed sheet (ciphertext only) and prints the tracks.
fn review(
    client: &mut super::client::Client,
    case: &str,
    output: Option<&Path>,
    password_file: Option<&Path>,
) -> Result<(), ClientError> {
    let pw = password_file
        .map(|p| {
            crate::seal::password::read_file(p).map_err(|e| {
                ClientError::Local(format!(
                    "cannot read the password file {}: {e}",
                    p.display()
                ))
            })
        })
        .transpose()?;
    let mut view = super::case_export::View::new(false);
    let result = client.call_with_progress(
        Op::CaseReview,
        json!({ "case": case, "password": pw.as_ref().map(|p| p.as_str()) }),
        &mut |stage, data| view.update(stage, data),
    );
    view.done();
    let result = result?;
    let sealed = B64
        .decode(result["sheet"].as_str().unwrap_or_default().as_bytes())
        .map_err(|e| ClientError::Protocol(format!("the sheet is not base64: {e}")))?;
    let path = output
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(text(&result["file_name"])));
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .and_then(|mut f| std::io::Write::write_all(&mut f, &sealed))
        .map_err(|e| ClientError::Local(format!("cannot write {}: {e}", path.display())))?;
    println!(
        "sealed review sheet of case {case} written to {}",
        path.display()
    );
    for f in result["files"].as_array().into_iter().flatten() {
        println!(
            "  file {}: camera {}, {} frames, face tracks {}",
            text(&f["file"]),
            text(&f["camera"]),
            text(&f["frames"]),
            f["tracks"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|t| format!("{}:{}", text(&f["file"]), text(&t["track"])))
                .collect::<Vec<_>>()
                .join(" ")
        );
    }
    if let Some(p) = result["password"].as_str() {
        println!("export password (shown once; the export uses it): {p}");
    }
    println!(
        "open it with `scelle open {} -o -` (to stdout) or the recipient page; then export with \
         --keep-track FILE:TRACK or --blur-all within {} minutes",
        path.display(),
        text(&result["valid_minutes"])
    );
    Ok(())
}

/// A time the person states, or now (sent as is so both calls sign the same statement).
fn stated_now(at: Option<&str>) -> String {
    at.map(str::to_owned).unwrap_or_else(|| {
        jiff::Timestamp::now()
            .round(jiff::Unit::Second)
            .map_or_else(|_| jiff::Timestamp::now().to_string(), |t| t.to_string())
    })
}

/// Sends `op`, signs the register entry of `kind` it shows (checked: this case, this
/// person; shown and confirmed), and sends the same arguments with the signature.
fn signed_entry(
    client: &mut super::client::Client,
    op: Op,
    kind: &'static str,
    case: &str,
    args: Value,
) -> Result<Value, ClientError> {
    let me = client.person().unwrap_or_default().to_owned();
    let answer_args = args.clone();
    client.signed_call(
        op,
        args,
        Expect::Entry {
            kind,
            case,
            person: &me,
        },
        &mut |_, _| {},
        &mut |_, signature| {
            let mut a = answer_args.clone();
            a["signature"] = Value::String(signature);
            (op, a)
        },
    )
}

/// Writes the receipt's PDF where asked; prints where it went.
fn write_receipt(case: &str, output: Option<&Path>, result: &Value) -> Result<(), ClientError> {
    let pdf = B64
        .decode(result["pdf"].as_str().unwrap_or_default().as_bytes())
        .map_err(|e| ClientError::Protocol(format!("receipt is not base64: {e}")))?;
    let path = output
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(format!("{case}-recu.pdf")));
    std::fs::write(&path, &pdf)
        .map_err(|e| ClientError::Local(format!("cannot write {}: {e}", path.display())))?;
    println!(
        "receipt of {} (export {}) written to {}",
        case,
        text(&result["export_id"]),
        path.display()
    );
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
    let id = &c["identity"];
    if !id.is_null() {
        println!(
            "  identity   {} {} checked {} by {}; legitimacy: {}",
            text(&id["document_kind"]),
            text(&id["document_reference"]),
            text(&id["checked_at"]),
            text(&id["checked_by"]),
            text(&id["legitimacy"])
        );
    }
    for v in c["viewings"].as_array().into_iter().flatten() {
        println!(
            "  viewed     {} on {} by {} with {}",
            text(&v["at"]),
            text(&v["screen"]),
            text(&v["held_by"]),
            text(&v["attendees"])
        );
    }
    if !c["closed"].is_null() {
        println!("  closed     {}", text(&c["closed"]));
    }
}
