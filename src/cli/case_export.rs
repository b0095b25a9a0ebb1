//! `scelle case export`: runs the export through the daemon, shows per-file progress bars
//! (bytes, media time covered, ETA; plain lines when stderr is not a terminal), signs the
//! `export-completed` statement with the operator's SSH key when the daemon has verified every
//! file, then prints the summary and the password, once, with the reminder to send it by
//! another channel.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{Value, json};

use super::case::ExportArgs;
use super::client::{Client, ClientError, Expect};
use super::show::text;
use crate::api::protocol::Op;
use crate::seal::password;

/// Runs the export as `person`; errors are the caller's to print.
pub fn run(
    client: &mut Client,
    person: &str,
    a: &ExportArgs,
    json_out: bool,
) -> Result<(), ClientError> {
    let pw = match &a.password_file {
        Some(path) => Some(password::read_file(path).map_err(|e| {
            ClientError::Sign(format!(
                "cannot read the password file {}: {e}",
                path.display()
            ))
        })?),
        None => None,
    };
    let to =
        a.to.as_ref()
            .map(|t| std::path::absolute(t).unwrap_or_else(|_| t.clone()));
    let args = json!({
        "case": a.case,
        "to": to.map(|t| t.display().to_string()),
        "accept_drive": a.accept_drive,
        "password": pw.as_ref().map(|p| p.as_str()),
        "no_viewing_reason": a.no_viewing_reason,
        "keep_track": a.keep_track,
        "blur_all": a.blur_all,
    });
    if a.to.is_none() {
        // The policy check alone: the daemon says whether the case may be exported now.
        let result = client.call(Op::CaseExport, args)?;
        if json_out {
            super::show::print_json(&result);
        } else {
            let id = result["case"].as_str().unwrap_or(&a.case);
            println!(
                "case {id} may be exported now: nothing was exported (without `--to`, \
                 `scelle case export` only checks).\n\
                 To export it, plug in the drive and run:\n  scelle case export {id} --to /media/DRIVE"
            );
        }
        return Ok(());
    }
    let mut view = View::new(json_out);
    let case = a.case.clone();
    let result = client.signed_call(
        Op::CaseExport,
        args,
        Expect::ExportCompleted {
            case: &a.case,
            person,
        },
        &mut |stage, data| view.update(stage, data),
        &mut |statement, signature| {
            let export_id = String::from_utf8_lossy(statement)
                .lines()
                .find_map(|l| l.strip_prefix("payload: "))
                .and_then(|p| serde_json::from_str::<Value>(p).ok())
                .and_then(|v| v["record"]["export_id"].as_str().map(str::to_owned));
            (
                Op::CaseExport,
                json!({ "case": case, "export": export_id, "signature": signature }),
            )
        },
    );
    view.done();
    let result = result?;
    if json_out {
        super::show::print_json(&result);
        return Ok(());
    }
    summary(&result);
    Ok(())
}

/// Progress as bars on a terminal, as plain lines otherwise (also used by `case review`).
pub(super) struct View {
    quiet: bool,
    bars: Option<MultiProgress>,
    files: BTreeMap<String, (ProgressBar, String)>,
}

impl View {
    pub(super) fn new(quiet: bool) -> View {
        let bars = (!quiet && std::io::stderr().is_terminal())
            .then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        View {
            quiet,
            bars,
            files: BTreeMap::new(),
        }
    }

    pub(super) fn update(&mut self, stage: &str, data: Option<&Value>) {
        if self.quiet {
            return;
        }
        let file = data.and_then(|d| d["file"].as_str());
        let (Some(d), Some(file)) = (data, file) else {
            match &self.bars {
                Some(m) => {
                    let _ = m.println(format!("… {stage}"));
                }
                None => eprintln!("… {stage}"),
            }
            return;
        };
        let camera = d["camera"].as_str().unwrap_or("?");
        let phase = d["phase"].as_str().unwrap_or(stage).to_owned();
        let media = d["media_seconds"].as_f64().unwrap_or(0.0);
        let requested = d["requested_seconds"].as_f64().unwrap_or(0.0);
        let bytes = d["bytes"].as_u64().unwrap_or(0);
        // A source asked to deliver faster says how fast it goes, or why at real time.
        let pace = match (d["speed"].as_f64(), d["speed_note"].as_str()) {
            (_, Some(note)) => format!("  {note}"),
            (Some(s), None) if s > 1.0 => format!("  ×{s}"),
            _ => String::new(),
        };
        // what the line knows: bytes written or pulled, footage time reached of the requested
        let size = if bytes > 0 {
            format!(" {:>8}", human_bytes(bytes))
        } else {
            String::new()
        };
        let time = if requested > 0.0 {
            format!("  {media:>6.1}/{requested:.0} s")
        } else {
            String::new()
        };
        let msg = format!("{phase:<9}{size}{time}{pace}");
        match &self.bars {
            Some(m) => {
                let (bar, _) = self.files.entry(file.to_owned()).or_insert_with(|| {
                    let bar = m.add(ProgressBar::new((requested * 1000.0) as u64));
                    bar.set_style(
                        ProgressStyle::with_template("{prefix:.bold} [{bar:30}] {msg} ETA {eta}")
                            .unwrap_or_else(|_| ProgressStyle::default_bar())
                            .progress_chars("=> "),
                    );
                    bar.set_prefix(camera.to_owned());
                    bar.enable_steady_tick(Duration::from_millis(200));
                    (bar, String::new())
                });
                bar.set_position((media * 1000.0) as u64);
                bar.set_message(msg);
                if phase == "verified" {
                    bar.finish();
                }
            }
            None => {
                let last = self
                    .files
                    .entry(file.to_owned())
                    .or_insert_with(|| (ProgressBar::hidden(), String::new()));
                let seen = format!("{phase}{pace}");
                if last.1 != seen {
                    eprintln!("{camera} {file}: {msg}");
                    last.1 = seen;
                }
            }
        }
    }

    pub(super) fn done(&mut self) {
        for (bar, _) in self.files.values() {
            if !bar.is_finished() {
                bar.abandon();
            }
        }
        if let Some(m) = &self.bars {
            let _ = m.clear();
        }
    }
}

fn human_bytes(n: u64) -> String {
    match n {
        n if n >= 1 << 30 => format!("{:.1} GiB", n as f64 / (1u64 << 30) as f64),
        n if n >= 1 << 20 => format!("{:.1} MiB", n as f64 / (1u64 << 20) as f64),
        n if n >= 1 << 10 => format!("{:.1} KiB", n as f64 / 1024.0),
        n => format!("{n} B"),
    }
}

fn summary(result: &Value) {
    let r = &result["record"];
    println!(
        "export {} of case {} — verified and signed",
        text(&r["export_id"]),
        text(&r["case_id"])
    );
    println!("  folder  {}", text(&r["destination"]["path"]));
    let d = &r["destination"]["drive"];
    println!(
        "  drive   {} {} serial {} ({}){}",
        text(&d["vendor"]),
        text(&d["model"]),
        text(&d["serial"]),
        text(&d["device"]),
        if r["destination"]["accepted_by_operator"] == Value::Bool(true) {
            ", accepted by the operator (not in the approved list)"
        } else {
            ""
        }
    );
    println!();
    println!(
        "{:<48} {:>9} {:>8} {:>6} {:>4}  SHA-256",
        "FILE", "COVERED", "OF", "FRAMES", "GAPS"
    );
    for f in r["files"].as_array().into_iter().flatten() {
        let req = &f["requested"];
        let requested = match (
            req["start"]
                .as_str()
                .and_then(|s| s.parse::<jiff::Timestamp>().ok()),
            req["end"]
                .as_str()
                .and_then(|s| s.parse::<jiff::Timestamp>().ok()),
        ) {
            (Some(a), Some(b)) => (b.as_millisecond() - a.as_millisecond()) as f64 / 1000.0,
            _ => 0.0,
        };
        println!(
            "{:<48} {:>8.1}s {:>7.0}s {:>6} {:>4}  {}",
            text(&f["file"]["name"]),
            f["covered_seconds"].as_f64().unwrap_or(0.0),
            requested,
            text(&f["frames"]),
            f["gaps"].as_array().map_or(0, Vec::len),
            text(&f["file"]["sha256"])
        );
    }
    if let Some(m) = r.get("manifest") {
        println!(
            "{:<48} {:>9} {:>8} {:>6} {:>4}  {}",
            text(&m["name"]),
            "",
            "",
            "",
            "",
            text(&m["sha256"])
        );
    }
    println!();
    println!("password (shown once, stored nowhere):");
    println!("    {}", text(&result["password"]));
    println!(
        "Send it to the recipient by another channel than the drive (phone, separate e-mail), \
         never with it."
    );
}
