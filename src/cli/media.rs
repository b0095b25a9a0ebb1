//! `scelle media …`: the removable-media inventory (PUR-4) through the daemon: the media and
//! the exports that went to them, inventorying a medium, recording its destruction.

use std::process::ExitCode;

use clap::Subcommand;
use serde_json::{Value, json};

use super::client::ClientError;
use super::connect::ClientOptions;
use super::show::text;
use crate::api::protocol::Op;
use crate::error::{Exit, ExitStatus};

/// Arguments of `scelle media`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub client: ClientOptions,
    #[command(subcommand)]
    pub command: MediaCommand,
}

#[derive(Debug, Subcommand)]
pub enum MediaCommand {
    /// Every inventoried medium and every drive an export used, with their exports.
    List,
    /// Inventory a medium: give its identity, or `--from` its mount point.
    Add {
        /// Serial number (required unless `--from` reads one).
        #[arg(long)]
        serial: Option<String>,
        #[arg(long)]
        model: Option<String>,
        #[arg(long)]
        vendor: Option<String>,
        /// Free text, e.g. the sticker on the key.
        #[arg(long)]
        label: Option<String>,
        /// Filesystem UUID.
        #[arg(long)]
        fs_uuid: Option<String>,
        /// A mounted path on the drive: the daemon reads its identity as an export would.
        #[arg(long = "from", value_name = "PATH")]
        from_path: Option<String>,
    },
    /// Record a medium's physical destruction (authorizers).
    Destroyed {
        /// The medium's serial number.
        #[arg(long, required_unless_present = "id")]
        serial: Option<String>,
        /// The medium's inventory id (MED-…).
        #[arg(long, conflicts_with = "serial")]
        id: Option<String>,
        /// Reference of the destruction certificate.
        #[arg(long)]
        certificate: String,
        /// Date of the destruction, YYYY-MM-DD (not in the future).
        #[arg(long = "on", value_name = "DATE")]
        destroyed_on: String,
        /// How it was destroyed (free text).
        #[arg(long, default_value = "")]
        method: String,
    },
}

pub fn run(args: Args) -> ExitCode {
    match run_inner(&args) {
        Ok(()) => Exit::Ok.into(),
        Err(e) => {
            eprintln!("scelle media: {e}");
            e.exit().into()
        }
    }
}

fn run_inner(args: &Args) -> Result<(), ClientError> {
    let (mut client, _) = args.client.connect()?;
    let result = match &args.command {
        MediaCommand::List => client.call(Op::MediaList, json!({}))?,
        MediaCommand::Add {
            serial,
            model,
            vendor,
            label,
            fs_uuid,
            from_path,
        } => client.call(
            Op::MediaAdd,
            json!({ "serial": serial, "model": model, "vendor": vendor, "label": label,
                    "fs_uuid": fs_uuid, "from_path": from_path }),
        )?,
        MediaCommand::Destroyed {
            serial,
            id,
            certificate,
            destroyed_on,
            method,
        } => client.call(
            Op::MediaDestroyed,
            json!({ "serial": serial, "inventory_id": id, "certificate": certificate,
                    "destroyed_on": destroyed_on, "method": method }),
        )?,
    };
    if args.client.json {
        super::show::print_json(&result);
        return Ok(());
    }
    match &args.command {
        MediaCommand::List => print_list(&result["inventory"]),
        MediaCommand::Add { .. } => {
            let m = &result["media"];
            println!(
                "inventoried {}: {} {} serial {} ({}), register entry #{}",
                text(&m["inventory_id"]),
                text(&m["vendor"]),
                text(&m["model"]),
                text(&m["serial"]),
                text(&m["label"]),
                text(&result["entry"])
            );
        }
        MediaCommand::Destroyed { .. } => {
            let d = &result["destroyed"];
            println!(
                "{} (serial {}) recorded as destroyed on {}, certificate {}, register entry #{}",
                text(&d["inventory_id"]),
                text(&d["serial"]),
                text(&d["destroyed_on"]),
                text(&d["certificate"]),
                text(&result["entry"])
            );
        }
    }
    Ok(())
}

fn date(v: &Value) -> String {
    v.as_str()
        .map(|d| d.chars().take(10).collect())
        .unwrap_or_else(|| "-".into())
}

fn print_list(inv: &Value) {
    let media = inv["media"].as_array().cloned().unwrap_or_default();
    if media.is_empty() {
        println!("no medium inventoried, and no export to a drive with a serial number");
    } else {
        println!(
            "{:<15} {:<24} {:<20} {:<16} {:>7} {:<10} {:<10} DESTROYED",
            "ID", "MODEL", "SERIAL", "LABEL", "EXPORTS", "FIRST", "LAST"
        );
    }
    for m in &media {
        let id = match &m["inventory_id"] {
            Value::String(s) => s.clone(),
            _ => "NOT INVENTORIED".into(),
        };
        let model = format!("{} {}", text(&m["vendor"]), text(&m["model"]));
        let destroyed = match &m["destroyed"] {
            Value::Object(_) => format!(
                "{} (certificate {}){}",
                text(&m["destroyed"]["destroyed_on"]),
                text(&m["destroyed"]["certificate"]),
                if m["used_after_destruction"] == Value::Bool(true) {
                    ", USED AFTERWARDS"
                } else {
                    ""
                }
            ),
            _ => "no".into(),
        };
        println!(
            "{:<15} {:<24} {:<20} {:<16} {:>7} {:<10} {:<10} {}",
            id,
            model,
            text(&m["serial"]),
            text(&m["label"]),
            text(&m["exports"]),
            date(&m["first_use"]),
            date(&m["last_use"]),
            destroyed
        );
        if let Some(cases) = m["cases"].as_array().filter(|c| !c.is_empty()) {
            let cases: Vec<String> = cases.iter().map(text).collect();
            println!("{:<15} cases: {}", "", cases.join(", "));
        }
    }
    let blank = inv["exports_without_serial"].as_u64().unwrap_or(0);
    if blank > 0 {
        println!("{blank} export(s) went to a drive that exposed no serial number");
    }
}
