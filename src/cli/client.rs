//! The socket client used by the CLI: connects, identifies the person (peer credentials, or a
//! challenge signed with their SSH key on a shared account), sends requests and reads replies.
//!
//! The client signs only what the command the person typed calls for ([`Expect`]): an
//! identification challenge of the documented form bound to the site key pinned in
//! `~/.config/scelle/known_sites` ([`super::known_sites`]), or the approval, countersignature
//! or `export-completed` statement of the case named on the command line, shown in plain words
//! and confirmed (unless `--yes`). Anything else — another namespace, another case, another
//! form — is refused and said: a relay planted between the CLI and the daemon cannot get a
//! person's signature for something they did not ask for. One sequence, [`Client::signed_call`].
//!
//! Blocking on purpose: a command sends a handful of lines and waits for the answers.

use std::io::{BufRead, BufReader, IsTerminal, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};

use crate::api::protocol::{ErrorCode, Op, PROTOCOL_VERSION, Reply};
use crate::error::{Exit, ExitStatus};

/// Why a command could not get its answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    #[error(
        "cannot connect to the scelle daemon at {path}: {source} (is `scelle serve` running? are you in its group?)"
    )]
    Connect {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("connection to the daemon lost: {0}")]
    Io(#[from] std::io::Error),
    /// The daemon went away in the middle of a command: what happened and what to do next.
    #[error(
        "the daemon stopped answering `{op}` ({why}): it stopped or crashed (its log says why: \
         `journalctl -u scelle`). Start it again (`systemctl start scelle`), then {next}"
    )]
    Lost {
        op: String,
        why: String,
        next: &'static str,
    },
    #[error("unexpected answer from the daemon: {0}")]
    Protocol(String),
    #[error("{message}")]
    Remote { code: ErrorCode, message: String },
    #[error("cannot sign: {0}")]
    Sign(String),
    /// The daemon (or whatever answers on the socket) asked for a signature the typed
    /// command does not call for.
    #[error("refused to sign: {0}")]
    Refused(String),
    /// A local file could not be read or written.
    #[error("{0}")]
    Local(String),
}

impl ExitStatus for ClientError {
    /// 2 when the daemon refused the command's arguments, 1 for anything else.
    fn exit(&self) -> Exit {
        match self {
            ClientError::Remote {
                code: ErrorCode::BadArgs,
                ..
            } => Exit::Usage,
            _ => Exit::Failure,
        }
    }
}

/// What the typed command allows the client to sign.
#[derive(Clone, Copy, Debug)]
pub enum Expect<'a> {
    /// An identification challenge (`scelle-identify`) for this person.
    Identify { person: &'a str },
    /// The approval statement (`scelle-approve`) of this case.
    Approve { case: &'a str },
    /// The countersignature statement (`scelle-countersign`) of an export of this case.
    Countersign { case: &'a str },
    /// The `export-completed` register statement (`scelle-register`) of this case, by `person`.
    ExportCompleted { case: &'a str, person: &'a str },
    /// A register statement (`scelle-register`) of this `kind` (`identity-proven`,
    /// `viewed-on-site`) about this case, by `person`.
    Entry {
        kind: &'static str,
        case: &'a str,
        person: &'a str,
    },
}

impl Expect<'_> {
    fn namespace(&self) -> &'static str {
        match self {
            Expect::Identify { .. } => crate::api::protocol::IDENTIFY_NAMESPACE,
            Expect::Approve { .. } => crate::case::statement::APPROVE_NAMESPACE,
            Expect::Countersign { .. } => crate::case::statement::COUNTERSIGN_NAMESPACE,
            Expect::ExportCompleted { .. } | Expect::Entry { .. } => {
                crate::register::SIGNATURE_NAMESPACE
            }
        }
    }

    fn what(&self) -> String {
        match self {
            Expect::Identify { person } => format!("identification as {person}"),
            Expect::Approve { case } => format!("the approval of case {case}"),
            Expect::Countersign { case } => format!("the countersignature of case {case}"),
            Expect::ExportCompleted { case, .. } => {
                format!("the export-completed entry of case {case}")
            }
            Expect::Entry { kind, case, .. } => format!("the {kind} entry of case {case}"),
        }
    }

    /// Checks `message` against what was asked; the site fingerprint it names, if any.
    fn check(&self, namespace: &str, message: &[u8], site: Option<&str>) -> Result<(), String> {
        if namespace != self.namespace() {
            return Err(format!(
                "you asked for {}, which is signed in the namespace `{}`; the daemon asked for a \
                 signature in `{namespace}`",
                self.what(),
                self.namespace()
            ));
        }
        let text = std::str::from_utf8(message)
            .map_err(|_| "the text to sign is not UTF-8 text".to_owned())?;
        self.check_text(text, site)
    }

    /// Checks the text to sign against what was asked (`site`: the fingerprint this
    /// connection is bound to, if known).
    pub fn check_text(&self, text: &str, site: Option<&str>) -> Result<(), String> {
        let message = text.as_bytes();
        let field = |k: &str| crate::case::statement::field(text, k);
        let site_ok = |named: Option<&str>| -> Result<(), String> {
            match (site, named) {
                (Some(pinned), Some(named)) if pinned != named => Err(format!(
                    "the text names the site key {named}, but this site's key is {pinned}"
                )),
                _ => Ok(()),
            }
        };
        match *self {
            Expect::Identify { person } => {
                let (named_site, named_person, _) = crate::api::identify::parse_challenge(message)
                    .ok_or_else(|| {
                        "the identification challenge is not of the documented form \
                         (`scelle identify v1`, site, person, nonce)"
                            .to_owned()
                    })?;
                if named_person != person {
                    return Err(format!(
                        "the challenge identifies `{named_person}`, you are `{person}`"
                    ));
                }
                site_ok(Some(&named_site))
            }
            Expect::Approve { case } | Expect::Countersign { case } => {
                let header = match self {
                    Expect::Approve { .. } => crate::case::statement::APPROVE_HEADER,
                    _ => crate::case::statement::COUNTERSIGN_HEADER,
                };
                if text.lines().next() != Some(header) {
                    return Err(format!("the text to sign is not a `{header}` statement"));
                }
                if field("case") != Some(case) {
                    return Err(format!(
                        "the statement is for case {}, you asked for case {case}",
                        field("case").unwrap_or("?")
                    ));
                }
                site_ok(field("site"))
            }
            Expect::ExportCompleted { case, person } => {
                if text.lines().next() != Some(crate::register::STATEMENT_HEADER)
                    || field("kind") != Some("export-completed")
                {
                    return Err("the text to sign is not an export-completed statement".into());
                }
                if field("case") != Some(case) || field("actor") != Some(person) {
                    return Err(format!(
                        "the statement is for case {} by {}, you are exporting case {case} as {person}",
                        field("case").unwrap_or("?"),
                        field("actor").unwrap_or("?")
                    ));
                }
                Ok(())
            }
            Expect::Entry { kind, case, person } => {
                if text.lines().next() != Some(crate::register::STATEMENT_HEADER)
                    || field("kind") != Some(kind)
                {
                    return Err(format!("the text to sign is not a {kind} statement"));
                }
                if field("case") != Some(case) || field("actor") != Some(person) {
                    return Err(format!(
                        "the statement is for case {} by {}, you asked for case {case} as {person}",
                        field("case").unwrap_or("?"),
                        field("actor").unwrap_or("?")
                    ));
                }
                Ok(())
            }
        }
    }
}

/// Builds the answer to a signed challenge from the signed message and the signature: the
/// operation and its arguments.
pub type Answer<'a> = dyn FnMut(&[u8], String) -> (Op, Value) + 'a;

/// A connection to the daemon.
pub struct Client {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
    next_id: u64,
    /// The socket, as the known_sites file names the site.
    socket: PathBuf,
    /// Where site keys are pinned; `None`: nothing pinned (the demo's throw-away site).
    known_sites: Option<PathBuf>,
    /// The site key fingerprint this connection is bound to, once identified.
    site: Option<String>,
    signer: Option<Signer>,
    /// The identified person.
    person: Option<String>,
    /// Sign statements without asking (`--yes`).
    pub yes: bool,
}

impl Client {
    pub fn connect(path: &Path) -> Result<Client, ClientError> {
        let stream = UnixStream::connect(path).map_err(|source| ClientError::Connect {
            path: path.to_owned(),
            source,
        })?;
        Ok(Client {
            reader: BufReader::new(stream.try_clone()?),
            writer: stream,
            next_id: 1,
            socket: std::path::absolute(path).unwrap_or_else(|_| path.to_owned()),
            known_sites: super::known_sites::default_path(),
            site: None,
            signer: None,
            person: None,
            yes: false,
        })
    }

    /// Pins site keys in `file` instead of the default (`None`: pin nothing).
    pub fn with_known_sites(mut self, file: Option<PathBuf>) -> Client {
        self.known_sites = file;
        self
    }

    /// The identified person's id.
    pub fn person(&self) -> Option<&str> {
        self.person.as_deref()
    }

    /// The site key fingerprint this connection is bound to.
    pub fn site(&self) -> Option<&str> {
        self.site.as_deref()
    }

    /// Checks `fingerprint` against the pin of this socket (pinning it on first use).
    fn pin(&mut self, fingerprint: &str) -> Result<(), ClientError> {
        if let Some(file) = &self.known_sites {
            super::known_sites::check(file, &self.socket, fingerprint)
                .map_err(ClientError::Refused)?;
        }
        self.site = Some(fingerprint.to_owned());
        Ok(())
    }

    /// Sends `op` and, if the daemon answers with a challenge, signs it — only if it is what
    /// `expect` (the typed command) calls for, after showing statements in plain words and
    /// asking (unless [`Client::yes`]) — then sends `answer(message, signature)` (op, args)
    /// and returns its result. A reply without a challenge is returned as is.
    pub fn signed_call(
        &mut self,
        op: Op,
        args: Value,
        expect: Expect<'_>,
        progress: &mut dyn FnMut(&str, Option<&Value>),
        answer: &mut Answer<'_>,
    ) -> Result<Value, ClientError> {
        let (person, public_key, namespace, message) =
            match self.request_with_data(op, args, progress)? {
                Reply::Ok { result, .. } => return Ok(result),
                Reply::Challenge {
                    person,
                    public_key,
                    namespace,
                    message,
                    ..
                } => (person, public_key, namespace, message),
                other => return Err(ClientError::Protocol(format!("{other:?}"))),
            };
        let message = B64
            .decode(message.as_bytes())
            .map_err(|e| ClientError::Protocol(e.to_string()))?;
        expect
            .check(&namespace, &message, self.site.as_deref())
            .map_err(ClientError::Refused)?;
        if let Expect::Identify { .. } = expect
            && let Some((site, ..)) = crate::api::identify::parse_challenge(&message)
        {
            self.pin(&site)?;
        }
        if !matches!(expect, Expect::Identify { .. }) {
            self.confirm(&person, &message)?;
        }
        let signer = self
            .signer
            .clone()
            .ok_or_else(|| ClientError::Sign("no key to sign with".into()))?;
        let signature = signer.sign(&public_key, &namespace, &message)?;
        let (op, args) = answer(&message, signature);
        self.call(op, args)
    }

    /// Shows a statement in plain words and asks the person to confirm (unless `--yes`).
    fn confirm(&self, person: &str, message: &[u8]) -> Result<(), ClientError> {
        let text = String::from_utf8_lossy(message);
        let french = std::env::var("LANG").is_ok_and(|l| l.starts_with("fr"));
        let shown = if text.starts_with(crate::register::STATEMENT_HEADER) {
            export_words(&text, french)
        } else {
            crate::case::statement::plain_words(&text, french)
        };
        eprintln!("{shown}");
        if self.yes {
            return Ok(());
        }
        if !std::io::stdin().is_terminal() {
            return Err(ClientError::Refused(
                "confirmation needed and no terminal to ask: run again with --yes to sign what \
                 is shown above"
                    .into(),
            ));
        }
        eprint!(
            "{} [{person}] ",
            if french {
                "Signer avec votre clé ? (oui/non)"
            } else {
                "Sign this with your key? (yes/no)"
            }
        );
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer)?;
        match answer.trim().to_lowercase().as_str() {
            "y" | "yes" | "o" | "oui" => Ok(()),
            _ => Err(ClientError::Refused(
                "not confirmed: nothing was signed".into(),
            )),
        }
    }

    /// Sends one request and returns its final reply (`ok` or `challenge`); `progress` sees
    /// each progress stage. An `error` reply becomes [`ClientError::Remote`].
    pub fn request(
        &mut self,
        op: Op,
        args: Value,
        progress: &mut dyn FnMut(&str),
    ) -> Result<Reply, ClientError> {
        self.request_with_data(op, args, &mut |stage, _| progress(stage))
    }

    /// Like [`Client::request`], with each progress line's structured `data` too.
    pub fn request_with_data(
        &mut self,
        op: Op,
        args: Value,
        progress: &mut dyn FnMut(&str, Option<&Value>),
    ) -> Result<Reply, ClientError> {
        let id = self.next_id;
        self.next_id += 1;
        let mut line = serde_json::to_vec(
            &json!({ "v": PROTOCOL_VERSION, "id": id, "op": op.name(), "args": args }),
        )
        .map_err(|e| ClientError::Protocol(e.to_string()))?;
        line.push(b'\n');
        let lost = |why: String| ClientError::Lost {
            op: op.name().to_owned(),
            why,
            next: if op == Op::CaseExport {
                "run the same command again: at start-up the daemon closes the interrupted \
                 export as export-interrupted and removes its files from the drive"
            } else {
                "look at the case (`scelle case show ID`): what the command records is either \
                 in the register whole or not at all, so run it again if it is not there"
            },
        };
        self.writer
            .write_all(&line)
            .map_err(|e| lost(format!("sending failed: {e}")))?;
        let mut buf = String::new();
        loop {
            buf.clear();
            let read = self
                .reader
                .read_line(&mut buf)
                .map_err(|e| lost(format!("reading failed: {e}")))?;
            if read == 0 {
                return Err(lost("it closed the connection before answering".into()));
            }
            let reply: Reply = serde_json::from_str(&buf)
                .map_err(|e| ClientError::Protocol(format!("{e}: {}", buf.trim())))?;
            if reply.id() != id && reply.id() != 0 {
                continue;
            }
            match reply {
                Reply::Progress { stage, data, .. } => progress(&stage, data.as_ref()),
                Reply::Error { error, .. } => {
                    return Err(ClientError::Remote {
                        code: error.code,
                        message: error.message,
                    });
                }
                other => return Ok(other),
            }
        }
    }

    /// Sends a request that must succeed without a challenge; returns its result. A
    /// challenge is refused: this command signs nothing.
    pub fn call(&mut self, op: Op, args: Value) -> Result<Value, ClientError> {
        self.call_with_progress(op, args, &mut |_, _| {})
    }

    /// [`Client::call`], handing each progress line (stage, data) to `progress` on the way.
    pub fn call_with_progress(
        &mut self,
        op: Op,
        args: Value,
        progress: &mut dyn FnMut(&str, Option<&Value>),
    ) -> Result<Value, ClientError> {
        match self.request_with_data(op, args, progress)? {
            Reply::Ok { result, .. } => Ok(result),
            Reply::Challenge { namespace, .. } => Err(ClientError::Refused(format!(
                "the daemon asked for a signature (namespace `{namespace}`) that `{op}` does not \
                 call for: nothing was signed"
            ))),
            other => Err(ClientError::Protocol(format!(
                "expected a result, got {other:?}"
            ))),
        }
    }

    /// Identifies as `person` (or whoever the Unix account is), answering a challenge with
    /// `signer` when the account is shared. Returns the daemon's welcome.
    pub fn identify(
        &mut self,
        person: Option<&str>,
        signer: &Signer,
    ) -> Result<Value, ClientError> {
        self.signer = Some(signer.clone());
        let welcome = match person {
            Some(p) => self.signed_call(
                Op::Hello,
                json!({ "person": person }),
                Expect::Identify { person: p },
                &mut |_, _| {},
                &mut |_, signature| (Op::Identify, json!({ "signature": signature })),
            )?,
            None => self.call(Op::Hello, json!({ "person": person }))?,
        };
        if let Some(fp) = welcome["site_key"].as_str() {
            match self.site.clone() {
                Some(bound) if bound != fp => {
                    return Err(ClientError::Refused(format!(
                        "the daemon reports the site key {fp} after a challenge for {bound}"
                    )));
                }
                Some(_) => {}
                None => self.pin(fp)?,
            }
        }
        self.person = welcome["person"].as_str().map(str::to_owned);
        Ok(welcome)
    }
}

/// An `export-completed` register statement in plain words: case, operator and files.
fn export_words(text: &str, french: bool) -> String {
    let field = |k: &str| crate::case::statement::field(text, k).unwrap_or("?");
    let payload: Value = serde_json::from_str(field("payload")).unwrap_or_default();
    if field("kind") != "export-completed" {
        let shown = serde_json::to_string_pretty(&payload).unwrap_or_default();
        return if french {
            format!(
                "Vous SIGNEZ l'entrée {} du registre pour le dossier {} (par {}) :\n{shown}\n",
                field("kind"),
                field("case"),
                field("actor")
            )
        } else {
            format!(
                "You SIGN the register entry {} of case {} (by {}):\n{shown}\n",
                field("kind"),
                field("case"),
                field("actor")
            )
        };
    }
    let r = &payload["record"];
    let mut out = if french {
        format!(
            "Vous SIGNEZ la fin de l'export {} du dossier {} (opérateur {}) :\n",
            r["export_id"].as_str().unwrap_or("?"),
            field("case"),
            field("actor")
        )
    } else {
        format!(
            "You SIGN the completion of export {} of case {} (operator {}):\n",
            r["export_id"].as_str().unwrap_or("?"),
            field("case"),
            field("actor")
        )
    };
    for f in r["files"].as_array().into_iter().flatten() {
        out += &format!(
            "  {} sha256:{} ({} s, {} gap(s))\n",
            f["file"]["name"].as_str().unwrap_or("?"),
            f["file"]["sha256"].as_str().unwrap_or("?"),
            f["covered_seconds"],
            f["gaps"].as_array().map_or(0, Vec::len)
        );
        if let Some(a) = f.get("anonymized").filter(|a| a.is_object()) {
            let kept = a["kept_track"]
                .as_u64()
                .map_or_else(|| "-".to_owned(), |t| t.to_string());
            out += &if french {
                format!(
                    "    ANONYMISÉ : {} piste(s) de visage floutée(s) sur {}, piste conservée : {kept}, son supprimé\n",
                    a["tracks_blurred"], a["tracks_found"]
                )
            } else {
                format!(
                    "    ANONYMIZED: {} face track(s) blurred of {}, kept track: {kept}, audio removed\n",
                    a["tracks_blurred"], a["tracks_found"]
                )
            };
        }
    }
    out
}

/// How a person signs: with a private key file or through their SSH agent.
#[derive(Clone, Debug)]
pub enum Signer {
    /// An OpenSSH private key file (`-i KEY`); asks for its passphrase if it has one.
    KeyFile(PathBuf),
    /// The agent at `SSH_AUTH_SOCK`, through `ssh-keygen -Y sign`.
    Agent,
}

impl Signer {
    /// An armored SSHSIG over `message` with the key whose public half is `public_key`.
    pub fn sign(
        &self,
        public_key: &str,
        namespace: &str,
        message: &[u8],
    ) -> Result<String, ClientError> {
        match self {
            Signer::KeyFile(path) => sign_with_file(path, public_key, namespace, message),
            Signer::Agent => sign_with_agent(public_key, namespace, message),
        }
    }
}

fn sign_with_file(
    path: &Path,
    public_key: &str,
    namespace: &str,
    message: &[u8],
) -> Result<String, ClientError> {
    let err = |e: &dyn std::fmt::Display| ClientError::Sign(format!("{}: {e}", path.display()));
    let mut key = ssh_key::PrivateKey::read_openssh_file(path).map_err(|e| err(&e))?;
    if key.is_encrypted() {
        let pass = rpassword::prompt_password(format!("Passphrase for {}: ", path.display()))
            .map_err(|e| err(&e))?;
        key = key.decrypt(pass.as_bytes()).map_err(|e| err(&e))?;
    }
    let expected = ssh_key::PublicKey::from_openssh(public_key).map_err(|e| err(&e))?;
    if key.public_key().key_data() != expected.key_data() {
        return Err(ClientError::Sign(format!(
            "{} is not the key listed for you in the people list ({})",
            path.display(),
            expected.fingerprint(ssh_key::HashAlg::Sha256)
        )));
    }
    let sig = key
        .sign(namespace, ssh_key::HashAlg::Sha512, message)
        .map_err(|e| err(&e))?;
    sig.to_pem(ssh_key::LineEnding::LF).map_err(|e| err(&e))
}

fn sign_with_agent(
    public_key: &str,
    namespace: &str,
    message: &[u8],
) -> Result<String, ClientError> {
    if std::env::var_os("SSH_AUTH_SOCK").is_none() {
        return Err(ClientError::Sign(
            "no SSH agent (SSH_AUTH_SOCK is unset): give your private key with -i KEY".into(),
        ));
    }
    let mut rnd = [0u8; 8];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut rnd);
    let pub_path = std::env::temp_dir().join(format!("scelle-{}.pub", hex::encode(rnd)));
    std::fs::write(&pub_path, format!("{}\n", public_key.trim()))?;
    let out = std::process::Command::new("ssh-keygen")
        .args(["-q", "-Y", "sign", "-n", namespace, "-f"])
        .arg(&pub_path)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            if let Some(mut stdin) = child.stdin.take() {
                stdin.write_all(message)?;
            }
            child.wait_with_output()
        });
    let _ = std::fs::remove_file(&pub_path);
    let out = out.map_err(|e| ClientError::Sign(format!("cannot run ssh-keygen: {e}")))?;
    if !out.status.success() {
        return Err(ClientError::Sign(format!(
            "ssh-keygen -Y sign failed (is your key loaded in the agent? `ssh-add -l`): {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    String::from_utf8(out.stdout).map_err(|e| ClientError::Sign(e.to_string()))
}
