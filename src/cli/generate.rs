//! `scelle generate man|completions DIR`: the manual pages and shell completions, made from the
//! same clap definitions the binary parses with, so they never drift from the real options.
//!
//! The Debian package runs these at build time (`packaging/build-deb`); they are hidden from
//! `scelle --help` because people never need them on a site.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args as ClapArgs, CommandFactory, Subcommand};
use clap_complete::Shell;

use crate::error::Exit;

use super::Cli;

/// Section of every page: scelle is a system administration daemon and its tools.
pub const MAN_SECTION: &str = "8";

#[derive(Debug, ClapArgs)]
pub struct Args {
    #[command(subcommand)]
    pub what: What,
}

#[derive(Debug, Subcommand)]
pub enum What {
    /// Write `scelle.8` and one page per command group (`scelle-case.8`, …) into DIR.
    Man {
        /// Output folder (created if missing).
        dir: PathBuf,
    },
    /// Write the bash (`scelle`) and zsh (`_scelle`) completion scripts into DIR.
    Completions {
        /// Output folder (created if missing).
        dir: PathBuf,
    },
}

/// Runs the command; prints the files written, one per line.
pub fn run(args: Args) -> ExitCode {
    let result = match &args.what {
        What::Man { dir } => write_man_pages(dir),
        What::Completions { dir } => write_completions(dir),
    };
    match result {
        Ok(files) => {
            let mut out = std::io::stdout().lock();
            for f in files {
                let _ = writeln!(out, "{}", f.display());
            }
            Exit::Ok.into()
        }
        Err(e) => {
            eprintln!("scelle generate: {e}");
            Exit::Failure.into()
        }
    }
}

/// The user-visible command tree: hidden commands (this one) are left out of the pages.
fn command() -> clap::Command {
    Cli::command()
}

/// Writes the main page and one page per visible command and subcommand (`scelle-case.8`,
/// `scelle-case-open.8`, …, as git does); returns the paths written.
pub fn write_man_pages(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    fs::create_dir_all(dir)?;
    let mut cmd = command();
    cmd.build();
    let mut written = Vec::new();
    write_tree(&cmd, "scelle", dir, &mut written)?;
    Ok(written)
}

/// Writes `cmd`'s page under `name`, then its visible subcommands' (clap's `help` left out).
fn write_tree(
    cmd: &clap::Command,
    name: &str,
    dir: &Path,
    written: &mut Vec<PathBuf>,
) -> std::io::Result<()> {
    let path = dir.join(format!("{name}.{MAN_SECTION}"));
    render_page(cmd.clone().name(name.to_owned()), &path)?;
    written.push(path);
    for sub in cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
    {
        write_tree(sub, &format!("{name}-{}", sub.get_name()), dir, written)?;
    }
    Ok(())
}

fn render_page(cmd: clap::Command, path: &Path) -> std::io::Result<()> {
    let man = clap_mangen::Man::new(cmd)
        .section(MAN_SECTION)
        .manual("scelle manual")
        .source(format!("scelle {}", env!("CARGO_PKG_VERSION")));
    let mut buf = Vec::new();
    man.render(&mut buf)?;
    fs::write(path, buf)
}

/// Writes the bash and zsh completion scripts; returns the paths written.
pub fn write_completions(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    for shell in [Shell::Bash, Shell::Zsh] {
        let mut cmd = command();
        let path = clap_complete::generate_to(shell, &mut cmd, "scelle", dir)?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_page_per_visible_command_group_and_both_shells() {
        let dir = tempfile::tempdir().unwrap();
        let pages = write_man_pages(dir.path()).unwrap();
        let names: Vec<String> = pages
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert!(names.contains(&"scelle.8".to_owned()));
        assert!(names.contains(&"scelle-case.8".to_owned()));
        assert!(names.contains(&"scelle-doctor.8".to_owned()));
        assert!(
            names.contains(&"scelle-case-open.8".to_owned()),
            "{names:?}"
        );
        assert!(!names.iter().any(|n| n.contains("generate")), "{names:?}");
        assert!(!names.iter().any(|n| n.contains("help")), "{names:?}");
        let case = fs::read_to_string(dir.path().join("scelle-case.8")).unwrap();
        assert!(
            case.contains("approve"),
            "subcommands listed in the group page"
        );
        let comp = write_completions(dir.path()).unwrap();
        assert_eq!(comp.len(), 2);
        let bash = fs::read_to_string(dir.path().join("scelle.bash")).unwrap();
        assert!(bash.contains("doctor"));
    }
}
