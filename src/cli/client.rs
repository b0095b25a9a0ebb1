//! The socket client used by the CLI: connects, identifies the person (peer credentials, or a
//! challenge signed with their SSH key on a shared account), sends requests and reads replies.
//!
//! Blocking on purpose: a command sends a handful of lines and waits for the answers.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};

use crate::api::protocol::{ErrorCode, PROTOCOL_VERSION, Reply};
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
    #[error("unexpected answer from the daemon: {0}")]
    Protocol(String),
    #[error("{message}")]
    Remote { code: ErrorCode, message: String },
    #[error("cannot sign: {0}")]
    Sign(String),
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

/// A connection to the daemon.
pub struct Client {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
    next_id: u64,
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
        })
    }

    /// Sends one request and returns its final reply (`ok` or `challenge`); `progress` sees
    /// each progress stage. An `error` reply becomes [`ClientError::Remote`].
    pub fn request(
        &mut self,
        op: &str,
        args: Value,
        progress: &mut dyn FnMut(&str),
    ) -> Result<Reply, ClientError> {
        self.request_with_data(op, args, &mut |stage, _| progress(stage))
    }

    /// Like [`Client::request`], with each progress line's structured `data` too.
    pub fn request_with_data(
        &mut self,
        op: &str,
        args: Value,
        progress: &mut dyn FnMut(&str, Option<&Value>),
    ) -> Result<Reply, ClientError> {
        let id = self.next_id;
        self.next_id += 1;
        let mut line =
            serde_json::to_vec(&json!({ "v": PROTOCOL_VERSION, "id": id, "op": op, "args": args }))
                .map_err(|e| ClientError::Protocol(e.to_string()))?;
        line.push(b'\n');
        self.writer.write_all(&line)?;
        let mut buf = String::new();
        loop {
            buf.clear();
            if self.reader.read_line(&mut buf)? == 0 {
                return Err(ClientError::Protocol(format!(
                    "the daemon closed the connection before answering `{op}`: it stopped or \
                     crashed (its log says why: `journalctl -u scelle`). Start it again \
                     (`systemctl start scelle`); an export it was running is then closed as \
                     export-interrupted and its files removed from the drive, so the same \
                     command can simply be run again"
                )));
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

    /// Sends a request that must succeed without a challenge; returns its result.
    pub fn call(&mut self, op: &str, args: Value) -> Result<Value, ClientError> {
        match self.request(op, args, &mut |_| {})? {
            Reply::Ok { result, .. } => Ok(result),
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
        match self.request("hello", json!({ "person": person }), &mut |_| {})? {
            Reply::Ok { result, .. } => Ok(result),
            Reply::Challenge {
                public_key,
                namespace,
                message,
                ..
            } => {
                let message = B64
                    .decode(message.as_bytes())
                    .map_err(|e| ClientError::Protocol(e.to_string()))?;
                let signature = signer.sign(&public_key, &namespace, &message)?;
                self.call("identify", json!({ "signature": signature }))
            }
            other => Err(ClientError::Protocol(format!("{other:?}"))),
        }
    }
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
