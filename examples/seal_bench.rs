//! Benchmark (not a test): seal and open throughput excluding the KDF, and peak RSS, next to
//! `gpg --symmetric --cipher-algo AES256 --compress-algo none` and `age -r` + `sha256sum`.
//!
//!     cargo run --release --example seal_bench -- [SIZE_GIB...]      (default: 1 8)
//!
//! Inputs live in tmpfs (`$SCELLE_BENCH_DIR`, default /dev/shm/scelle-bench); outputs go to
//! /dev/null, except the encrypted files the decryption rows read back, which live in tmpfs one
//! at a time (so tmpfs needs one input size free, never two). Each measured
//! operation runs in its own child process so its peak RSS (VmHWM) is its own. The Argon2id
//! time with the default parameters is measured once, separately.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use scelle::seal::{KdfParams, Metadata, SealParams, SealReader, SealWriter};

const PASSWORD: &[u8] = b"bench-password-42!";
const GIB: u64 = 1 << 30;

fn vm_hwm_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).map(str::to_owned))
        })
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Child mode: one operation, prints "<seconds> <vmhwm_kib>".
fn child(args: &[String]) -> Result<(), Box<dyn std::error::Error>> {
    let minimum = SealParams {
        kdf: KdfParams::MINIMUM,
        ..SealParams::default()
    };
    match args[0].as_str() {
        "seal" => {
            // seal INPUT OUTPUT pipelined|inline
            let params = SealParams {
                pipelined: args[3] == "pipelined",
                ..minimum
            };
            let mut input = File::open(&args[1])?;
            let out = BufWriter::with_capacity(1 << 20, File::create(&args[2])?);
            let mut w = SealWriter::new(out, PASSWORD, &Metadata::now("bench", "x"), &params)?;
            let start = Instant::now();
            let mut buf = vec![0u8; 1 << 20];
            loop {
                let n = input.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                w.write_all(&buf[..n])?;
            }
            let s = w.finish()?;
            let secs = start.elapsed().as_secs_f64();
            std::hint::black_box(s.sha256);
            println!("{secs} {}", vm_hwm_kib());
        }
        "open" => {
            // open INPUT OUTPUT
            let input = BufReader::with_capacity(1 << 20, File::open(&args[1])?);
            let mut out = BufWriter::with_capacity(1 << 20, File::create(&args[2])?);
            let mut r = SealReader::new(input, PASSWORD)?;
            let start = Instant::now();
            while let Some(chunk) = r.next_chunk()? {
                out.write_all(chunk)?;
            }
            out.flush()?;
            println!("{} {}", start.elapsed().as_secs_f64(), vm_hwm_kib());
        }
        "kdf" => {
            let m: u32 = args[1].parse()?;
            let t: u32 = args[2].parse()?;
            let params = SealParams {
                kdf: KdfParams {
                    m_cost_kib: m * 1024,
                    t_cost: t,
                    p_cost: 1,
                },
                ..SealParams::default()
            };
            let start = Instant::now();
            let w = SealWriter::new(std::io::sink(), PASSWORD, &Metadata::now("k", "x"), &params)?;
            let secs = start.elapsed().as_secs_f64();
            w.finish()?;
            println!("{secs} {}", vm_hwm_kib());
        }
        other => return Err(format!("unknown child mode {other}").into()),
    }
    Ok(())
}

/// Runs this binary in child mode; returns (seconds, peak RSS KiB).
fn run_child(args: &[&str]) -> (f64, u64) {
    let out = Command::new(std::env::current_exe().expect("own path"))
        .arg("--child")
        .args(args)
        .output()
        .expect("child runs");
    assert!(
        out.status.success(),
        "child {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    parse_pair(&String::from_utf8_lossy(&out.stdout))
}

fn parse_pair(s: &str) -> (f64, u64) {
    let mut it = s.split_whitespace();
    let a = it.next().and_then(|v| v.parse().ok()).unwrap_or(f64::NAN);
    let b = it.next().and_then(|v| v.parse().ok()).unwrap_or(0);
    (a, b)
}

/// Runs a shell pipeline under `/usr/bin/time`; returns (wall seconds, max RSS KiB of any
/// process in it, as reported per command).
fn run_shell(script: &str) -> (f64, u64) {
    let wrapped = format!(
        "set -e -o pipefail; {}",
        script.replace("%T", "/usr/bin/time -a -o $RSSFILE -f %M")
    );
    let rss_file = std::env::temp_dir().join(format!("scelle-bench-rss-{}", std::process::id()));
    let _ = std::fs::remove_file(&rss_file);
    let start = Instant::now();
    let st = Command::new("bash")
        .arg("-c")
        .arg(&wrapped)
        .env("RSSFILE", &rss_file)
        .status()
        .expect("bash runs");
    let secs = start.elapsed().as_secs_f64();
    assert!(st.success(), "command failed: {script}");
    let rss = std::fs::read_to_string(&rss_file)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().parse::<u64>().ok())
        .max()
        .unwrap_or(0);
    let _ = std::fs::remove_file(&rss_file);
    (secs, rss)
}

fn make_input(path: &Path, size: u64) -> std::io::Result<()> {
    // Incompressible-looking data: a xorshift stream (no tool here compresses anyway).
    let mut f = BufWriter::with_capacity(1 << 20, File::create(path)?);
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut block = vec![0u8; 1 << 20];
    let mut left = size;
    while left > 0 {
        for w in block.chunks_exact_mut(8) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            w.copy_from_slice(&state.to_le_bytes());
        }
        let n = left.min(block.len() as u64) as usize;
        f.write_all(&block[..n])?;
        left -= n as u64;
    }
    f.flush()
}

fn row(name: &str, bytes: u64, (secs, rss): (f64, u64)) {
    println!(
        "  {name:<44} {:>8.2} GB/s {:>8.2} s {:>9.1} MiB",
        bytes as f64 / secs / 1e9,
        secs,
        rss as f64 / 1024.0
    );
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--child") {
        return child(&args[1..]);
    }
    let sizes: Vec<u64> = if args.is_empty() {
        vec![1, 8]
    } else {
        args.iter().map(|a| a.parse()).collect::<Result<_, _>>()?
    };
    let dir = PathBuf::from(
        std::env::var("SCELLE_BENCH_DIR").unwrap_or_else(|_| "/dev/shm/scelle-bench".into()),
    );
    std::fs::create_dir_all(&dir)?;
    // gpg uses it as its home directory and wants it private.
    std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o700))?;
    let pw_file = dir.join("password");
    std::fs::write(&pw_file, PASSWORD)?;
    let key_file = dir.join("age.key");
    let _ = std::fs::remove_file(&key_file);
    let kg = Command::new("age-keygen")
        .arg("-o")
        .arg(&key_file)
        .output()?;
    let recipient = String::from_utf8_lossy(&kg.stderr)
        .split_whitespace()
        .last()
        .unwrap_or_default()
        .to_owned();
    let input = dir.join("input");
    let sealed = dir.join("input.scelle");
    let other = dir.join("other");
    let (i, s, o, p, k) = (
        input.display(),
        sealed.display(),
        other.display(),
        pw_file.display(),
        key_file.display(),
    );
    let gpg = format!(
        "gpg --batch --quiet --yes --pinentry-mode loopback --passphrase-file {p} \
         --homedir {}",
        dir.display()
    );

    println!("Argon2id key derivation (one run each, p = 1):");
    for (m, t) in [(1024, 2), (512, 3), (256, 4), (64, 3), (8, 1)] {
        let (secs, rss) = run_child(&["kdf", &m.to_string(), &t.to_string()]);
        println!(
            "  m = {m:>4} MiB, t = {t}: {secs:>6.3} s, peak RSS {:.0} MiB",
            rss as f64 / 1024.0
        );
    }

    for gib in sizes {
        let bytes = gib * GIB;
        println!(
            "\n{gib} GiB input in tmpfs ({bytes} bytes); throughput = input bytes / wall time"
        );
        println!(
            "  {:<44} {:>13} {:>10} {:>13}",
            "operation", "throughput", "time", "peak RSS"
        );
        make_input(&input, bytes)?;
        row(
            "scelle seal -> /dev/null (2 threads)",
            bytes,
            run_child(&["seal", &i.to_string(), "/dev/null", "pipelined"]),
        );
        row(
            "scelle seal -> /dev/null (1 thread)",
            bytes,
            run_child(&["seal", &i.to_string(), "/dev/null", "inline"]),
        );
        row(
            "gpg --symmetric AES256 -> /dev/null",
            bytes,
            run_shell(&format!(
                "%T {gpg} --symmetric --cipher-algo AES256 --compress-algo none -o /dev/null {i}"
            )),
        );
        row(
            "age -r | sha256sum",
            bytes,
            run_shell(&format!(
                "%T age -r {recipient} {i} | %T sha256sum > /dev/null"
            )),
        );
        row(
            "sha256sum alone (reference)",
            bytes,
            run_shell(&format!("%T sha256sum {i} > /dev/null")),
        );
        // Decryption: the input is removed first, and each encrypted file is made from a
        // stream of zeros (same cipher work), so tmpfs holds one file of the size at a time.
        std::fs::remove_file(&input)?;
        let zeros = format!("head -c {bytes} /dev/zero");
        let me = std::env::current_exe()?;
        run_shell(&format!(
            "{zeros} | {} --child seal /dev/stdin {s} pipelined > /dev/null",
            me.display()
        ));
        row(
            "scelle open -> /dev/null",
            bytes,
            run_child(&["open", &s.to_string(), "/dev/null"]),
        );
        std::fs::remove_file(&sealed)?;
        run_shell(&format!(
            "{zeros} | {gpg} --symmetric --cipher-algo AES256 --compress-algo none -o {o}.gpg"
        ));
        row(
            "gpg --decrypt -> /dev/null",
            bytes,
            run_shell(&format!("%T {gpg} --decrypt -o /dev/null {o}.gpg")),
        );
        std::fs::remove_file(format!("{o}.gpg"))?;
        run_shell(&format!("{zeros} | age -r {recipient} -o {o}.age"));
        row(
            "age -d -> /dev/null",
            bytes,
            run_shell(&format!("%T age -d -i {k} -o /dev/null {o}.age")),
        );
        std::fs::remove_file(format!("{o}.age"))?;
    }
    let _ = Command::new("gpgconf")
        .arg("--homedir")
        .arg(&dir)
        .args(["--kill", "gpg-agent"])
        .status();
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
