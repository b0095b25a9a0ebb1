//! Benchmark (not a test): seal and open throughput excluding the KDF, and peak RSS, next to
//! `gpg --symmetric --cipher-algo AES256 --compress-algo none` and `age -r` + `sha256sum`.
//!
//!     cargo run --release --example seal_bench -- [SIZE_GIB...]      (default: 1 8)
//!
//! Environment: `SCELLE_BENCH_ROUNDS=N` runs each scelle row N times and prints the best and
//! the median (the machine is shared: single runs are noise); `SCELLE_BENCH_ONLY=scelle` skips
//! gpg and age; `SCELLE_BENCH_BEFORE=PATH` adds the same scelle rows run by another build of
//! this example (e.g. the previous commit's), interleaved round by round with this one.
//! Besides wall-clock throughput, each scelle row prints its throughput per CPU second (user +
//! system time of all its threads), which other engineers' jobs on the same cores disturb far
//! less than wall time, and "2-core": input bytes over the CPU time of its busiest thread (the
//! caller, or the hashing thread), i.e. the throughput it reaches when two cores are free.
//!
//! Inputs live in tmpfs (`$SCELLE_BENCH_DIR`, default /dev/shm/scelle-bench); outputs go to
//! /dev/null, except the encrypted files the decryption rows read back, which live in tmpfs one
//! at a time (so tmpfs needs one input size free, never two). Each measured
//! operation runs in its own child process so its peak RSS (VmHWM) is its own. The Argon2id
//! time with the default parameters is measured once, separately.
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "benchmarks print figures"
)]

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use scelle::seal::{KdfParams, Metadata, ReadAhead, SealParams, SealReader, SealWriter};

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

/// User + system CPU seconds of this process so far, all threads (including ended ones).
fn cpu_secs() -> f64 {
    stat_cpu_secs("/proc/self/stat")
}

/// User + system CPU seconds of the calling thread so far.
fn thread_cpu_secs() -> f64 {
    stat_cpu_secs("/proc/thread-self/stat")
}

fn stat_cpu_secs(path: &str) -> f64 {
    let stat = std::fs::read_to_string(path).unwrap_or_default();
    // Fields after the command name (which may hold spaces) start at field 3.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let f: Vec<u64> = rest
        .split_whitespace()
        .map(|v| v.parse().unwrap_or(0))
        .collect();
    // utime and stime are fields 14 and 15, in clock ticks of 1/100 s on Linux.
    (f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0)) as f64 / 100.0
}

/// Child mode: one operation, prints "<seconds> <vmhwm_kib> <cpu seconds> <cpu seconds of
/// the calling thread>".
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
            let (cpu, cpu_main) = (cpu_secs(), thread_cpu_secs());
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
            let main = thread_cpu_secs() - cpu_main;
            println!("{secs} {} {} {main}", vm_hwm_kib(), cpu_secs() - cpu);
        }
        "open" => {
            // open INPUT OUTPUT (reading ahead on a second thread, as `scelle open` does)
            let input = ReadAhead::new(File::open(&args[1])?)?;
            let mut out = BufWriter::with_capacity(1 << 20, File::create(&args[2])?);
            let mut r = SealReader::new(input, PASSWORD)?;
            let (cpu, cpu_main) = (cpu_secs(), thread_cpu_secs());
            let start = Instant::now();
            while let Some(chunk) = r.next_chunk()? {
                out.write_all(chunk)?;
            }
            out.flush()?;
            let secs = start.elapsed().as_secs_f64();
            let main = thread_cpu_secs() - cpu_main;
            println!("{secs} {} {} {main}", vm_hwm_kib(), cpu_secs() - cpu);
        }
        "kdf-default" => {
            let params = SealParams::default();
            let start = Instant::now();
            let w = SealWriter::new(std::io::sink(), PASSWORD, &Metadata::now("k", "x"), &params)?;
            let secs = start.elapsed().as_secs_f64();
            w.finish()?;
            println!("{secs} {}", vm_hwm_kib());
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
    let r = run_child_of(&std::env::current_exe().expect("own path"), args);
    (r.wall, r.rss_kib)
}

/// What one child run measured.
#[derive(Clone, Copy)]
struct Run {
    wall: f64,
    rss_kib: u64,
    /// CPU seconds, all threads.
    cpu: f64,
    /// CPU seconds of the busiest thread: the calling one, or all the others together. With
    /// two free cores the operation could not take less wall time than this.
    critical: f64,
}

/// Runs `exe` (this example, maybe another build of it) in child mode.
fn run_child_of(exe: &Path, args: &[&str]) -> Run {
    let out = Command::new(exe)
        .arg("--child")
        .args(args)
        .output()
        .expect("child runs");
    assert!(
        out.status.success(),
        "child {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = String::from_utf8_lossy(&out.stdout);
    let mut it = s.split_whitespace();
    let a = it.next().and_then(|v| v.parse().ok()).unwrap_or(f64::NAN);
    let b = it.next().and_then(|v| v.parse().ok()).unwrap_or(0);
    let c: f64 = it.next().and_then(|v| v.parse().ok()).unwrap_or(f64::NAN);
    let d: f64 = it.next().and_then(|v| v.parse().ok()).unwrap_or(c);
    Run {
        wall: a,
        rss_kib: b,
        cpu: c,
        critical: d.max(c - d),
    }
}

/// Runs a scelle row `rounds` times for each build (this one, and `before` if given),
/// alternating, and prints best / median wall and CPU throughput and the largest peak RSS.
fn scelle_rows(name: &str, bytes: u64, rounds: usize, before: Option<&Path>, args: &[&str]) {
    let me = std::env::current_exe().expect("own path");
    let mut builds: Vec<(String, PathBuf)> = vec![(name.to_owned(), me)];
    if let Some(b) = before {
        builds.push((format!("{name} [before]"), b.to_path_buf()));
    }
    let mut results: Vec<Vec<Run>> = vec![Vec::new(); builds.len()];
    for _ in 0..rounds {
        for (i, (_, exe)) in builds.iter().enumerate() {
            results[i].push(run_child_of(exe, args));
        }
    }
    for ((label, _), r) in builds.iter().zip(results) {
        let gb = bytes as f64 / 1e9;
        let sorted = |f: &dyn Fn(&Run) -> f64| {
            let mut v: Vec<f64> = r.iter().map(|x| gb / f(x)).collect();
            v.sort_by(|a, b| b.total_cmp(a));
            v
        };
        let wall = sorted(&|x| x.wall);
        let cpu = sorted(&|x| x.cpu);
        let crit = sorted(&|x| x.critical);
        let rss = r.iter().map(|x| x.rss_kib).max().unwrap_or(0);
        let m = wall.len() / 2;
        println!(
            "  {label:<44} {:>5.2} / {:>5.2} GB/s wall {:>5.2} / {:>5.2} GB/s CPU \
             {:>5.2} / {:>5.2} GB/s 2-core {:>7.1} MiB",
            wall[0],
            wall[m],
            cpu[0],
            cpu[m],
            crit[0],
            crit[m],
            rss as f64 / 1024.0
        );
    }
}

/// Runs a shell pipeline under `/usr/bin/time`; returns (wall seconds, max RSS KiB of any
/// process in it, as reported per command, CPU seconds summed over the timed commands).
fn run_shell(script: &str) -> (f64, u64, f64) {
    let wrapped = format!(
        "set -e -o pipefail; {}",
        script.replace("%T", "/usr/bin/time -a -o $RSSFILE -f '%M %U %S'")
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
    let (mut rss, mut cpu) = (0u64, 0f64);
    for line in std::fs::read_to_string(&rss_file)
        .unwrap_or_default()
        .lines()
    {
        let f: Vec<&str> = line.split_whitespace().collect();
        if let [m, u, s] = f[..] {
            rss = rss.max(m.parse().unwrap_or(0));
            cpu += u.parse::<f64>().unwrap_or(0.0) + s.parse::<f64>().unwrap_or(0.0);
        }
    }
    let _ = std::fs::remove_file(&rss_file);
    (secs, rss, cpu)
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

/// One external tool's row: wall and CPU throughput (a single run), peak RSS.
fn row(name: &str, bytes: u64, (secs, rss, cpu): (f64, u64, f64)) {
    let gb = bytes as f64 / 1e9;
    println!(
        "  {name:<44} {:>13.2} GB/s wall {:>13.2} GB/s CPU {:>7.1} MiB",
        gb / secs,
        gb / cpu,
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
    let rounds: usize = std::env::var("SCELLE_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
        .max(1);
    let only_scelle = std::env::var("SCELLE_BENCH_ONLY").as_deref() == Ok("scelle");
    let before = std::env::var_os("SCELLE_BENCH_BEFORE").map(PathBuf::from);
    let before = before.as_deref();
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

    let d = KdfParams::DEFAULT;
    let (secs, rss) = run_child(&["kdf-default"]);
    println!(
        "Argon2id default (m = {} MiB, t = {}, p = {}): {secs:.3} s, peak RSS {:.0} MiB",
        d.m_cost_kib / 1024,
        d.t_cost,
        d.p_cost,
        rss as f64 / 1024.0
    );
    println!("Argon2id key derivation (one run each, p = 1):");
    let table: &[(u32, u32)] = if only_scelle {
        &[]
    } else {
        &[(1024, 2), (512, 3), (256, 4), (64, 3), (8, 1)]
    };
    for &(m, t) in table {
        let (secs, rss) = run_child(&["kdf", &m.to_string(), &t.to_string()]);
        println!(
            "  m = {m:>4} MiB, t = {t}: {secs:>6.3} s, peak RSS {:.0} MiB",
            rss as f64 / 1024.0
        );
    }

    for gib in sizes {
        let bytes = gib * GIB;
        println!(
            "\n{gib} GiB input in tmpfs ({bytes} bytes); throughput = input bytes per wall second \
             and per CPU second (best / median of {rounds} for scelle), peak RSS"
        );
        make_input(&input, bytes)?;
        let i_s = i.to_string();
        scelle_rows(
            "scelle seal -> /dev/null (2 threads)",
            bytes,
            rounds,
            before,
            &["seal", &i_s, "/dev/null", "pipelined"],
        );
        scelle_rows(
            "scelle seal -> /dev/null (1 thread)",
            bytes,
            rounds,
            before,
            &["seal", &i_s, "/dev/null", "inline"],
        );
        if !only_scelle {
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
        }
        // Decryption: the input is removed first, and each encrypted file is made from a
        // stream of zeros (same cipher work), so tmpfs holds one file of the size at a time.
        std::fs::remove_file(&input)?;
        let zeros = format!("head -c {bytes} /dev/zero");
        let me = std::env::current_exe()?;
        run_shell(&format!(
            "{zeros} | {} --child seal /dev/stdin {s} pipelined > /dev/null",
            me.display()
        ));
        scelle_rows(
            "scelle open -> /dev/null",
            bytes,
            rounds,
            before,
            &["open", &s.to_string(), "/dev/null"],
        );
        std::fs::remove_file(&sealed)?;
        if only_scelle {
            continue;
        }
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
