//! The options every command that talks to the daemon takes (`--socket`, `--as`,
//! `-i/--identity`, `--json`) and the one way from them to an identified connection.
//!
//! `scelle case`, `scelle camera` and `scelle purge` flatten [`ClientOptions`] into their
//! arguments, so the flags, their environment variables and help texts cannot drift apart.

use std::path::PathBuf;

use super::client::{Client, ClientError, Signer};
use crate::config::DEFAULT_SOCKET;

/// How a command reaches the daemon, who it speaks for, and how it prints the answer.
#[derive(Debug, clap::Args)]
pub struct ClientOptions {
    /// Control socket of the daemon.
    #[arg(long, env = "SCELLE_SOCKET", default_value = DEFAULT_SOCKET, global = true)]
    pub socket: PathBuf,
    /// Who you are, when your Unix account is shared by several people.
    #[arg(long = "as", env = "SCELLE_PERSON", global = true)]
    pub person: Option<String>,
    /// Your SSH private key (default: your SSH agent).
    #[arg(short = 'i', long = "identity", env = "SCELLE_KEY", global = true)]
    pub key: Option<PathBuf>,
    /// Print the daemon's JSON answer.
    #[arg(long, global = true)]
    pub json: bool,
    /// Sign approvals, countersignatures and export completions without asking (they are
    /// still shown, and still checked against the command typed).
    #[arg(long, global = true)]
    pub yes: bool,
}

impl ClientOptions {
    /// How the person signs: with the key file given by `-i`, or through their SSH agent.
    pub fn signer(&self) -> Signer {
        match &self.key {
            Some(k) => Signer::KeyFile(k.clone()),
            None => Signer::Agent,
        }
    }

    /// Connects to the daemon and identifies the person (answering the challenge on a shared
    /// account); returns the connection and the signer, for the challenges still to come.
    pub fn connect(&self) -> Result<(Client, Signer), ClientError> {
        let signer = self.signer();
        let mut client = Client::connect(&self.socket)?;
        client.yes = self.yes;
        client.identify(self.person.as_deref(), &signer)?;
        Ok((client, signer))
    }
}
