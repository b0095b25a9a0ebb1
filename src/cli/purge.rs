//! `scelle purge …`: the temporary copies scelle knows of and their deadlines (PUR-1), and the
//! purge itself on request (PUR-2, PUR-3), through the daemon.

use std::process::ExitCode;

use clap::Subcommand;
use serde_json::{Value, json};

use super::client::ClientError;
use super::connect::ClientOptions;
use super::show::text;
use crate::api::protocol::Op;
use crate::error::{Exit, ExitStatus};

/// Arguments of `scelle purge`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub client: ClientOptions,
    #[command(subcommand)]
    pub command: PurgeCommand,
}

#[derive(Debug, Subcommand)]
pub enum PurgeCommand {
    /// What is to be purged and when; overdue items are flagged.
    List,
    /// Purge now: one item on request, or (without ID) every item due.
    Run {
        /// An item id from `scelle purge list` (export:…, staged:…, document:…).
        item: Option<String>,
    },
}

pub fn run(args: Args) -> ExitCode {
    match run_inner(&args) {
        Ok(true) => Exit::Ok.into(),
        Ok(false) => Exit::Failure.into(),
        Err(e) => {
            eprintln!("scelle purge: {e}");
            e.exit().into()
        }
    }
}

/// `Ok(false)` when some purge failed.
fn run_inner(args: &Args) -> Result<bool, ClientError> {
    let (mut client, _) = args.client.connect()?;
    let result = match &args.command {
        PurgeCommand::List => client.call(Op::PurgeList, json!({}))?,
        PurgeCommand::Run { item } => client.call(Op::PurgeRun, json!({ "item": item }))?,
    };
    if args.client.json {
        super::show::print_json(&result);
    } else {
        match &args.command {
            PurgeCommand::List => print_list(&result),
            PurgeCommand::Run { .. } => print_run(&result),
        }
    }
    Ok(result["failed"].as_array().is_none_or(Vec::is_empty))
}

fn print_list(result: &Value) {
    let items = result["items"].as_array().cloned().unwrap_or_default();
    if items.is_empty() {
        println!("nothing to purge");
        return;
    }
    println!(
        "{:<22} {:<10} {:<10} {:<21} {:<8} ITEM",
        "DUE (UTC)", "KIND", "CASE", "STATE", "HERE"
    );
    for i in &items {
        let due = i["due"]
            .as_str()
            .map(|d| d.chars().take(19).collect::<String>().replace('T', " "))
            .unwrap_or_else(|| "(case open)".into());
        let state = if i["overdue"] == Value::Bool(true) {
            "OVERDUE"
        } else if i["due_now"] == Value::Bool(true) {
            "due"
        } else if i["kind"] == "document" {
            "retained (5 years)"
        } else {
            "waiting"
        };
        println!(
            "{:<22} {:<10} {:<10} {:<21} {:<8} {}",
            due,
            text(&i["kind"]),
            text(&i["case_id"]),
            state,
            if i["present"] == Value::Bool(true) {
                "yes"
            } else {
                "absent"
            },
            text(&i["id"])
        );
    }
}

fn print_run(result: &Value) {
    let purged = result["purged"].as_array().cloned().unwrap_or_default();
    let failed = result["failed"].as_array().cloned().unwrap_or_default();
    if purged.is_empty() && failed.is_empty() {
        println!("nothing was due");
    }
    for p in &purged {
        println!(
            "purged {} ({} file(s), {} bytes), register entry #{}",
            text(&p["item"]),
            text(&p["files"]),
            text(&p["bytes"]),
            text(&p["entry"])
        );
    }
    for f in &failed {
        eprintln!("NOT purged {}: {}", text(&f["item"]), text(&f["error"]));
    }
}
