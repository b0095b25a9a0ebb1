//! `scelle camera list` and `scelle camera probe ID [--from T --to T]`, through the daemon's
//! socket (the daemon holds the credentials; the shell never sees them). Times are shown in the
//! site's time zone with UTC beside them. `scelle camera pin ID` works on the configuration file
//! itself (see `crate::camera::pin`): it needs no credentials, only to write that file.

use std::process::ExitCode;

use clap::Subcommand;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde_json::{Value, json};

use super::client::ClientError;
use super::connect::ClientOptions;
use super::show::text;
use crate::api::protocol::Op;
use crate::error::{Exit, ExitStatus};

/// Arguments of `scelle camera`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub client: ClientOptions,
    #[command(subcommand)]
    pub command: CameraCommand,
}

#[derive(Debug, Subcommand)]
pub enum CameraCommand {
    /// The configured cameras: id, name, source kind, address, where credentials are kept.
    List,
    /// Ask a camera who it is and what its clock says; with --from/--to, what it has recorded
    /// in that range and what is missing.
    Probe {
        camera: String,
        /// Start of the range (RFC 3339, or civil time in the site's zone: 2026-11-20T10:00).
        #[arg(long, requires = "to")]
        from: Option<String>,
        /// End of the range.
        #[arg(long, requires = "from")]
        to: Option<String>,
    },
    /// Record the camera's TLS certificate in its configuration entry (trust on first use):
    /// shows the certificate the camera presents, and writes `tls = { pin = "sha256:…" }` only
    /// when it matches the fingerprint you read on the device itself.
    Pin {
        camera: String,
        /// The certificate's SHA-256 fingerprint as read on the device (`sha256:…`, or hex with
        /// or without colons).
        #[arg(long)]
        fingerprint: Option<String>,
        /// The configuration file to write the pin into.
        #[arg(long, env = "SCELLE_CONFIG", default_value = "/etc/scelle/scelle.toml")]
        config: std::path::PathBuf,
    },
}

pub fn run(args: Args) -> ExitCode {
    match run_inner(&args) {
        Ok(exit) => exit.into(),
        Err(e) => {
            eprintln!("scelle camera: {e}");
            e.exit().into()
        }
    }
}

fn run_inner(args: &Args) -> Result<Exit, ClientError> {
    if let CameraCommand::Pin {
        camera,
        fingerprint,
        config,
    } = &args.command
    {
        return Ok(run_pin(config, camera, fingerprint.as_deref()));
    }
    let (mut client, _) = args.client.connect()?;
    let result = match &args.command {
        CameraCommand::Pin { .. } => return Ok(Exit::Failure),
        CameraCommand::List => client.call(Op::CameraList, json!({}))?,
        CameraCommand::Probe { camera, from, to } => {
            let range = from
                .as_ref()
                .zip(to.as_ref())
                .map(|(f, t)| format!("{f}/{t}"));
            client.call(Op::CameraProbe, json!({ "camera": camera, "range": range }))?
        }
    };
    if args.client.json {
        super::show::print_json(&result);
        return Ok(probe_exit(&result));
    }
    let zone = result["time_zone"]
        .as_str()
        .and_then(|z| TimeZone::get(z).ok())
        .unwrap_or(TimeZone::UTC);
    match &args.command {
        CameraCommand::List => print_list(&result),
        CameraCommand::Probe { .. } => print_probe(&result["probe"], &zone),
        CameraCommand::Pin { .. } => {}
    }
    Ok(probe_exit(&result))
}

/// `scelle camera pin`: reads the certificate, compares, writes; says what it did.
fn run_pin(config: &std::path::Path, camera: &str, typed: Option<&str>) -> Exit {
    use crate::camera::pin::{PinError, Pinned, pin};
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("scelle camera pin: {e}");
            return Exit::Failure;
        }
    };
    match runtime.block_on(pin(config, camera, typed)) {
        Ok(Pinned::Recorded { line }) => {
            println!(
                "camera {camera}: recorded `{line}` in {} (the daemon re-reads it)",
                config.display()
            );
            Exit::Ok
        }
        Ok(Pinned::Already) => {
            println!("camera {camera}: already pinned to the certificate it presents");
            Exit::Ok
        }
        Err(e) => {
            if let PinError::NeedsConfirmation(info) | PinError::Mismatch { info, .. } = &e {
                print_certificate(&serde_json::to_value(info).unwrap_or_default(), None);
            }
            eprintln!("scelle camera pin: {e}");
            Exit::Failure
        }
    }
}

/// Subject, issuer, validity and fingerprint of a certificate (UTC when no zone is given).
fn print_certificate(c: &Value, zone: Option<&TimeZone>) {
    let zone = zone.cloned().unwrap_or(TimeZone::UTC);
    println!("  tls      {}", text(&c["endpoint"]));
    println!("    subject     {}", text(&c["subject"]));
    println!("    issuer      {}", text(&c["issuer"]));
    println!(
        "    valid       {} → {}",
        show_time(&c["not_before"], &zone),
        show_time(&c["not_after"], &zone)
    );
    println!("    fingerprint {}", text(&c["fingerprint"]));
}

/// A probe that could not reach the device at all exits 1, so scripts notice.
fn probe_exit(result: &Value) -> Exit {
    let p = &result["probe"];
    if p.is_object() && p["device"].get("ok").is_none() && p["clock_offset"].get("ok").is_none() {
        Exit::Failure
    } else {
        Exit::Ok
    }
}

/// A gap reason: `segment-missing /srv/…/14-00-20.mp4`, `not-recorded`, ….
fn reason(v: &Value) -> String {
    match v {
        Value::Object(m) => m
            .iter()
            .map(|(k, inner)| match inner {
                Value::Object(f) => {
                    let fields: Vec<String> = f.values().map(text).collect();
                    format!("{k} {}", fields.join(" "))
                }
                other => format!("{k} {}", text(other)),
            })
            .collect::<Vec<_>>()
            .join(", "),
        other => text(other),
    }
}

fn print_list(result: &Value) {
    let cameras = result["cameras"].as_array().cloned().unwrap_or_default();
    if cameras.is_empty() {
        println!("no camera configured (add [[camera]] entries to the configuration)");
        return;
    }
    println!(
        "{:<14} {:<26} {:<18} {:<34} {:<8} CREDENTIALS",
        "CAMERA", "NAME", "KIND", "ADDRESS", "LINK"
    );
    for c in &cameras {
        println!(
            "{:<14} {:<26} {:<18} {:<34} {:<8} {}",
            text(&c["id"]),
            text(&c["name"]),
            text(&c["kind"]),
            text(&c["address"]),
            text(&c["link"]["transport"]),
            text(&c["credentials"])
        );
    }
}

/// `2026-11-20 11:00:00 CET (10:00:00 UTC)`.
fn show_time(v: &Value, zone: &TimeZone) -> String {
    match v.as_str().and_then(|s| s.parse::<Timestamp>().ok()) {
        Some(t) => {
            let local = t.to_zoned(zone.clone());
            format!(
                "{} ({} UTC)",
                local.strftime("%Y-%m-%d %H:%M:%S %Z"),
                t.strftime("%H:%M:%S")
            )
        }
        None => text(v),
    }
}

fn print_probe(p: &Value, zone: &TimeZone) {
    println!("camera {}  {}", text(&p["camera"]), text(&p["name"]));
    println!("  source   {} {}", text(&p["kind"]), text(&p["address"]));
    let link = &p["link"];
    match link["transport"].as_str() {
        Some("tls") => match (link["pin"].as_str(), link["ca_file"].as_str()) {
            (Some(pin), _) => println!("  link     encrypted (TLS, pinned {pin})"),
            (_, Some(ca)) => println!("  link     encrypted (TLS, CA file {ca})"),
            _ => println!("  link     encrypted (TLS)"),
        },
        Some("plain") => println!(
            "  link     NOT ENCRYPTED{}",
            link["unencrypted_reason"]
                .as_str()
                .map(|r| format!(" (excepted: {r})"))
                .unwrap_or_default()
        ),
        Some(other) => println!("  link     {other}"),
        None => {}
    }
    if let Some(cert) = p.get("certificate") {
        match (&cert["ok"], &cert["error"]) {
            (c, _) if c.is_object() => {
                print_certificate(c, Some(zone));
                match c["status"].as_str() {
                    Some("matches") => println!("    pinned      yes, this certificate"),
                    Some("differs") => println!(
                        "    pinned      ANOTHER CERTIFICATE ({}): connections are refused",
                        text(&link["pin"])
                    ),
                    Some("ca-file") => println!("    trusted     through the CA file"),
                    _ => {
                        println!(
                            "    not pinned: check this fingerprint on the device itself, then \
                             paste into the camera's [[camera]] entry:"
                        );
                        println!("      {}", text(&c["config_line"]));
                        println!(
                            "    or run `scelle camera pin {} --fingerprint <what the device shows>`",
                            text(&p["camera"])
                        );
                    }
                }
            }
            (_, e) => println!("  tls      UNKNOWN: {}", text(e)),
        }
    }
    match (&p["device"]["ok"], &p["device"]["error"]) {
        (d, _) if d.is_object() => println!(
            "  device   {} {}  serial {}  firmware {}",
            text(&d["vendor"]),
            text(&d["model"]),
            text(&d["serial"]),
            text(&d["firmware"])
        ),
        (_, e) => println!("  device   UNKNOWN: {}", text(e)),
    }
    match (&p["clock_offset"]["ok"], &p["clock_offset"]["error"]) {
        (c, _) if c.is_object() => {
            let ms = c["offset_ms"].as_i64().unwrap_or(0);
            let verdict = if ms.unsigned_abs() > 2000 {
                "  ← the recorder's clock is off: its times will be corrected in the record"
            } else {
                ""
            };
            println!(
                "  clock    device = server {}{:.3} s ± {:.3} s (measured {}){verdict}",
                if ms < 0 { "-" } else { "+" },
                ms.unsigned_abs() as f64 / 1000.0,
                c["uncertainty_ms"].as_u64().unwrap_or(0) as f64 / 1000.0,
                show_time(&c["measured_at"], zone)
            );
        }
        (_, e) => println!("  clock    UNKNOWN: {}", text(e)),
    }
    match (&p["recordings"]["ok"], &p["recordings"]["error"]) {
        (Value::Array(recs), _) if recs.is_empty() => println!("  recordings NONE"),
        (Value::Array(recs), _) => {
            for r in recs {
                println!(
                    "  recording {} {}  {} → {}  {}",
                    text(&r["id"]),
                    text(&r["source"]),
                    show_time(&r["start"], zone),
                    show_time(&r["end"], zone),
                    text(&r["status"])
                );
                let spans = r["spans"].as_array().cloned().unwrap_or_default();
                if spans.len() > 1 {
                    for s in spans.iter().take(20) {
                        println!(
                            "            span {} → {}",
                            show_time(&s["start"], zone),
                            show_time(&s["end"], zone)
                        );
                    }
                    if spans.len() > 20 {
                        println!(
                            "            … {} spans in all (--json lists them)",
                            spans.len()
                        );
                    }
                }
            }
        }
        (_, e) => println!("  recordings UNKNOWN: {}", text(e)),
    }
    let Some(plan) = p.get("plan") else {
        return;
    };
    if let Some(e) = plan.get("error") {
        println!("  plan     FAILED: {}", text(e));
        return;
    }
    let plan = &plan["ok"];
    println!(
        "  asked    {} → {}",
        show_time(&plan["requested"]["start"], zone),
        show_time(&plan["requested"]["end"], zone)
    );
    let recorded = plan["recorded"].as_array().cloned().unwrap_or_default();
    if recorded.is_empty() {
        println!("  recorded NOTHING in this range");
    }
    for r in &recorded {
        println!(
            "  recorded {} → {}",
            show_time(&r["start"], zone),
            show_time(&r["end"], zone)
        );
    }
    for g in plan["missing"].as_array().into_iter().flatten() {
        println!(
            "  MISSING  {} → {}  ({})",
            show_time(&g["start"], zone),
            show_time(&g["end"], zone),
            reason(&g["reason"])
        );
    }
}
