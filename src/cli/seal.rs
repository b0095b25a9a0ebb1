//! `scelle seal`, `scelle open`, `scelle verify`: the offline tools around the sealed container
//! (a recipient needs only these and the password). Output, prompts and exit statuses live here;
//! the container itself is [`crate::seal`].
//!
//! Exit statuses: 0 ok, 1 anything else (I/O, refused password, existing output), 2 usage,
//! 3 wrong password (or damaged header), 4 integrity failure.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use zeroize::Zeroizing;

use crate::error::{Exit, ExitStatus};
use crate::seal::{
    KdfParams, Metadata, ReadAhead, SealError, SealParams, SealReader, SealWriter, inspect,
    password,
};

/// Arguments of `scelle seal`.
#[derive(Debug, Args)]
pub struct SealArgs {
    /// File to seal.
    pub input: PathBuf,
    /// Sealed file to create (never overwritten).
    #[arg(short, long)]
    pub output: PathBuf,
    /// File holding the password (one line). Without it scelle generates one and shows it once.
    #[arg(long)]
    pub password_file: Option<PathBuf>,
    /// Case id recorded in the encrypted metadata.
    #[arg(long)]
    pub case_id: Option<String>,
    /// Media type recorded in the metadata (default: from the file extension).
    #[arg(long)]
    pub media_type: Option<String>,
    /// Argon2id memory in MiB (default 256, see docs/decisions/0002-argon2-parameters.md).
    #[arg(long, default_value_t = KdfParams::DEFAULT.m_cost_kib / 1024)]
    pub kdf_memory_mib: u32,
    /// Argon2id passes.
    #[arg(long, default_value_t = KdfParams::DEFAULT.t_cost)]
    pub kdf_passes: u32,
}

/// Arguments of `scelle open`.
#[derive(Debug, Args)]
pub struct OpenArgs {
    /// Sealed file.
    pub input: PathBuf,
    /// Where to write the plaintext; an existing file is never overwritten. The plaintext goes
    /// to a hidden temporary file (mode 0600) next to it, renamed to this name only once the
    /// final chunk is authenticated, and removed on failure, Ctrl-C, SIGTERM or SIGHUP.
    /// `-` writes to stdout as each chunk is authenticated: a program reading the pipe gets
    /// the first chunks before the last is checked, so it must discard what it read when
    /// `scelle open` exits with a non-zero status (4: the file is damaged or tampered with).
    #[arg(short, long, verbatim_doc_comment)]
    pub output: PathBuf,
    /// File holding the password; without it, the password is asked for (no echo).
    #[arg(long)]
    pub password_file: Option<PathBuf>,
    /// Largest Argon2id memory (MiB) a container may ask for; a header asking for more is
    /// refused before any work (a forged header could otherwise take gigabytes). Files sealed
    /// by scelle ask for 256 MiB.
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u32).range(8..=4096))]
    pub max_kdf_memory_mib: u32,
}

/// Arguments of `scelle verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Sealed file.
    pub input: PathBuf,
    /// Expected SHA-256 of the sealed file (from the delivery receipt).
    #[arg(long)]
    pub sha256: Option<String>,
    /// With the password, every chunk and the end of the stream are authenticated.
    #[arg(long)]
    pub password_file: Option<PathBuf>,
}

/// A failure of one of these commands: what to print and which status to exit with.
struct Failed {
    exit: Exit,
    message: String,
}

impl From<SealError> for Failed {
    fn from(e: SealError) -> Self {
        Failed {
            exit: e.exit(),
            message: e.to_string(),
        }
    }
}

fn fail(exit: Exit, message: impl Into<String>) -> Failed {
    Failed {
        exit,
        message: message.into(),
    }
}

fn io_fail(what: &str, path: &Path, e: io::Error) -> Failed {
    fail(Exit::Failure, format!("{what} {}: {e}", path.display()))
}

fn finish(command: &str, r: Result<(), Failed>) -> ExitCode {
    match r {
        Ok(()) => Exit::Ok.into(),
        Err(f) => {
            eprintln!("scelle {command}: {}", f.message);
            f.exit.into()
        }
    }
}

/// `scelle seal`.
pub fn run_seal(args: SealArgs) -> ExitCode {
    finish("seal", seal(&args))
}

/// `scelle open`.
pub fn run_open(args: OpenArgs) -> ExitCode {
    finish("open", open(&args))
}

/// `scelle verify`.
pub fn run_verify(args: VerifyArgs) -> ExitCode {
    finish("verify", verify(&args))
}

fn read_password_file(path: &Path) -> Result<Zeroizing<String>, Failed> {
    password::read_file(path).map_err(|e| io_fail("cannot read password file", path, e))
}

fn media_type_for(path: &Path) -> &'static str {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("mp4" | "m4v") => "video/mp4",
        Some("mkv") => "video/x-matroska",
        Some("pdf") => "application/pdf",
        Some("json") => "application/json",
        Some("txt") => "text/plain",
        _ => "application/octet-stream",
    }
}

/// Creates `path` only if it does not exist yet.
fn create_new(path: &Path) -> Result<File, Failed> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| {
            if e.kind() == io::ErrorKind::AlreadyExists {
                fail(
                    Exit::Failure,
                    format!(
                        "{} already exists: refusing to overwrite it; choose another output",
                        path.display()
                    ),
                )
            } else {
                io_fail("cannot create", path, e)
            }
        })
}

/// Removes a partial output after a failure (best effort; says so if it cannot).
fn discard(path: &Path) {
    if let Err(e) = std::fs::remove_file(path) {
        eprintln!(
            "scelle: could not remove the partial output {}: {e}; delete it by hand",
            path.display()
        );
    }
}

fn seal(args: &SealArgs) -> Result<(), Failed> {
    let (password, generated) = match &args.password_file {
        Some(path) => {
            let pw = read_password_file(path)?;
            password::check(&pw).map_err(|e| fail(Exit::Failure, e.to_string()))?;
            (pw, false)
        }
        None => (password::generate(), true),
    };
    let params = SealParams {
        kdf: KdfParams {
            m_cost_kib: args.kdf_memory_mib.saturating_mul(1024),
            t_cost: args.kdf_passes,
            p_cost: KdfParams::DEFAULT.p_cost,
        },
        ..SealParams::default()
    };
    params.kdf.check()?;
    let input = File::open(&args.input).map_err(|e| io_fail("cannot open", &args.input, e))?;
    let name = args
        .input
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut metadata = Metadata::now(
        name,
        args.media_type
            .clone()
            .unwrap_or_else(|| media_type_for(&args.input).to_owned()),
    );
    metadata.case_id.clone_from(&args.case_id);

    let out = create_new(&args.output)?;
    let result = (|| {
        let mut writer = SealWriter::new(
            io::BufWriter::with_capacity(1 << 20, out),
            password.as_bytes(),
            &metadata,
            &params,
        )?;
        let mut input = input;
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = match input.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(io_fail("cannot read", &args.input, e)),
            };
            writer
                .write_all(&buf[..n])
                .map_err(|e| Failed::from(SealError::from_io(e)))?;
        }
        let (summary, out) = writer.finish_into_inner()?;
        let file = out
            .into_inner()
            .map_err(|e| io_fail("cannot write", &args.output, e.into_error()))?;
        file.sync_all()
            .map_err(|e| io_fail("cannot sync", &args.output, e))?;
        Ok(summary)
    })();
    let summary = match result {
        Ok(s) => s,
        Err(f) => {
            discard(&args.output);
            return Err(f);
        }
    };
    println!("{}  {}", hex::encode(summary.sha256), args.output.display());
    eprintln!(
        "sealed {} bytes into {} ({} bytes, {} chunks); SHA-256 above goes on the receipt",
        summary.plaintext_bytes,
        args.output.display(),
        summary.bytes,
        summary.chunks
    );
    if generated {
        eprintln!(
            "\nPassword (shown only this once, scelle does not keep it):\n\n    {}\n\n\
             Send it to the recipient by a different channel than the file \
             (e.g. by phone or SMS if the file goes by hand).",
            password.as_str()
        );
    }
    Ok(())
}

fn ask_password(args_file: Option<&PathBuf>) -> Result<Zeroizing<String>, Failed> {
    match args_file {
        Some(path) => read_password_file(path),
        None => rpassword::prompt_password("Password: ")
            .map(Zeroizing::new)
            .map_err(|e| fail(Exit::Failure, format!("cannot read the password: {e}"))),
    }
}

fn open(args: &OpenArgs) -> Result<(), Failed> {
    let to_stdout = args.output.as_os_str() == "-";
    if !to_stdout && std::fs::symlink_metadata(&args.output).is_ok() {
        return Err(fail(
            Exit::Failure,
            format!(
                "{} already exists: refusing to overwrite it; choose another output",
                args.output.display()
            ),
        ));
    }
    let mut input = File::open(&args.input).map_err(|e| io_fail("cannot open", &args.input, e))?;
    // The header's key-derivation cost is checked before the password is even asked for.
    let (header, header_bytes) = crate::seal::read_header(&mut input)?;
    let limit_kib = u64::from(args.max_kdf_memory_mib) * 1024;
    if u64::from(header.kdf.m_cost_kib) > limit_kib {
        return Err(fail(
            Exit::Failure,
            format!(
                "{} asks for {} MiB of memory to derive its key, more than the limit of {} MiB \
                 (a forged header can ask for gigabytes): if the file comes from a trusted \
                 sender, pass --max-kdf-memory-mib {}",
                args.input.display(),
                header.kdf.m_cost_kib.div_ceil(1024),
                args.max_kdf_memory_mib,
                header.kdf.m_cost_kib.div_ceil(1024)
            ),
        ));
    }
    let password = ask_password(args.password_file.as_ref())?;
    // Reading runs ahead on a second thread while this one decrypts and writes.
    let input = io::Cursor::new(header_bytes).chain(input);
    let input = ReadAhead::new(input).map_err(|e| io_fail("cannot read", &args.input, e))?;
    let mut reader = SealReader::new(input, password.as_bytes())?;
    drop(password);
    let temp = if to_stdout {
        None
    } else {
        Some(TempOutput::create(&args.output)?)
    };
    let mut out: Box<dyn Write> = match &temp {
        None => Box::new(io::BufWriter::new(io::stdout().lock())),
        Some(t) => Box::new(io::BufWriter::with_capacity(
            1 << 20,
            t.file()
                .map_err(|e| io_fail("cannot write", &args.output, e))?,
        )),
    };
    let result = (|| {
        let mut total = 0u64;
        while let Some(chunk) = reader.next_chunk()? {
            out.write_all(chunk)
                .map_err(|e| io_fail("cannot write", &args.output, e))?;
            total += chunk.len() as u64;
        }
        out.flush()
            .map_err(|e| io_fail("cannot write", &args.output, e))?;
        Ok(total)
    })();
    drop(out);
    // The final chunk verified: only now does the plaintext get its name.
    let result = match (result, temp) {
        (Ok(total), Some(t)) => t.promote(&args.output).map(|()| total),
        (r, _) => r,
    };
    match result {
        Ok(total) => {
            let m = reader.metadata();
            eprintln!(
                "opened {} ({}, {total} bytes, sealed {}{})",
                m.name,
                m.media_type,
                m.created,
                m.case_id
                    .as_deref()
                    .map(|c| format!(", case {c}"))
                    .unwrap_or_default()
            );
            Ok(())
        }
        Err(f) => Err(f),
    }
}

/// The hidden temporary file `scelle open` writes into: mode 0600, next to the output (same
/// filesystem, so the final rename is atomic), removed when dropped unless promoted, and
/// removed by the signal watcher on SIGINT, SIGTERM or SIGHUP.
struct TempOutput {
    path: PathBuf,
    file: File,
}

/// The temporary file the signal watcher removes; `None` once promoted.
static PENDING: std::sync::Mutex<Option<PathBuf>> = std::sync::Mutex::new(None);

impl TempOutput {
    fn create(output: &Path) -> Result<TempOutput, Failed> {
        use std::os::unix::fs::OpenOptionsExt;
        let dir = match output.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
            _ => PathBuf::from("."),
        };
        let name = output
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut random = [0u8; 6];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut random);
        let path = dir.join(format!(".{name}.{}.scelle-open", hex::encode(random)));
        watch_signals();
        let mut pending = PENDING.lock().unwrap_or_else(|e| e.into_inner());
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
            .open(&path)
            .map_err(|e| io_fail("cannot create", &path, e))?;
        *pending = Some(path.clone());
        Ok(TempOutput { path, file })
    }

    fn file(&self) -> io::Result<File> {
        self.file.try_clone()
    }

    /// Syncs the file and renames it to `output`, never over an existing file.
    fn promote(self, output: &Path) -> Result<(), Failed> {
        self.file
            .sync_all()
            .map_err(|e| io_fail("cannot sync", &self.path, e))?;
        let mut pending = PENDING.lock().unwrap_or_else(|e| e.into_inner());
        rustix::fs::renameat_with(
            rustix::fs::CWD,
            &self.path,
            rustix::fs::CWD,
            output,
            rustix::fs::RenameFlags::NOREPLACE,
        )
        .map_err(|e| {
            if e == rustix::io::Errno::EXIST {
                fail(
                    Exit::Failure,
                    format!(
                        "{} appeared while opening: refusing to overwrite it; choose another \
                         output",
                        output.display()
                    ),
                )
            } else {
                io_fail("cannot rename the opened file to", output, e.into())
            }
        })?;
        *pending = None;
        Ok(())
    }
}

impl Drop for TempOutput {
    fn drop(&mut self) {
        let mut pending = PENDING.lock().unwrap_or_else(|e| e.into_inner());
        if pending.as_ref() == Some(&self.path) {
            discard(&self.path);
            *pending = None;
        }
    }
}

/// Starts (once) a thread that, on SIGINT, SIGTERM or SIGHUP, removes the pending temporary
/// file and exits with 128 + the signal number.
fn watch_signals() {
    static STARTED: std::sync::Once = std::sync::Once::new();
    STARTED.call_once(|| {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let spawned = std::thread::Builder::new()
            .name("signals".into())
            .spawn(move || {
                use tokio::signal::unix::{SignalKind, signal};
                let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_io()
                    .build()
                else {
                    let _ = ready_tx.send(());
                    return;
                };
                rt.block_on(async move {
                    let streams = (
                        signal(SignalKind::interrupt()),
                        signal(SignalKind::terminate()),
                        signal(SignalKind::hangup()),
                    );
                    let _ = ready_tx.send(());
                    let (Ok(mut int), Ok(mut term), Ok(mut hup)) = streams else {
                        return;
                    };
                    let code = tokio::select! {
                        _ = int.recv() => 130,
                        _ = term.recv() => 143,
                        _ = hup.recv() => 129,
                    };
                    let pending = PENDING.lock().unwrap_or_else(|e| e.into_inner());
                    if let Some(path) = pending.as_ref() {
                        let _ = std::fs::remove_file(path);
                    }
                    eprintln!("scelle open: interrupted; the partial output was removed");
                    std::process::exit(code);
                });
            });
        if spawned.is_ok() {
            let _ = ready_rx.recv();
        }
    });
}

fn verify(args: &VerifyArgs) -> Result<(), Failed> {
    let expected = match &args.sha256 {
        Some(h) => {
            let bytes = hex::decode(h.trim()).ok().filter(|b| b.len() == 32);
            Some(
                bytes
                    .ok_or_else(|| fail(Exit::Usage, "--sha256 takes 64 hexadecimal characters"))?,
            )
        }
        None => None,
    };
    let input = File::open(&args.input).map_err(|e| io_fail("cannot open", &args.input, e))?;
    let input = ReadAhead::new(input).map_err(|e| io_fail("cannot read", &args.input, e))?;
    let (sha256, bytes, chunks) = match &args.password_file {
        None => {
            let s = inspect(input)?;
            (s.sha256, s.bytes, s.chunks)
        }
        Some(path) => {
            let password = read_password_file(path)?;
            let mut hashing = crate::seal::Hashing::new(input);
            let mut reader = SealReader::new(&mut hashing, password.as_bytes())?;
            drop(password);
            reader.verify_all()?;
            let chunks = reader.chunks_read();
            drop(reader);
            let (sha256, bytes) = hashing
                .finish()
                .map_err(|e| io_fail("cannot read", &args.input, e))?;
            (sha256, bytes, chunks)
        }
    };
    println!("sha256 {}", hex::encode(sha256));
    if let Some(expected) = &expected
        && expected[..] != sha256[..]
    {
        return Err(fail(
            Exit::Integrity,
            format!(
                "SHA-256 mismatch: the file is {} but the receipt says {}; \
                 this is not the file that was sealed",
                hex::encode(sha256),
                hex::encode(expected)
            ),
        ));
    }
    let what = if args.password_file.is_some() {
        "every chunk and the end of the stream authenticated"
    } else {
        "structure valid (authenticity needs the password)"
    };
    let hash_note = if expected.is_some() {
        ", SHA-256 matches the receipt"
    } else {
        ""
    };
    eprintln!("ok: {bytes} bytes, {chunks} chunks, {what}{hash_note}");
    Ok(())
}
