//! SSH signatures (SSHSIG) over entry statements: checking a person's signature against the
//! people list in force, signing with a key (the site key, tests), and the site key itself.
//!
//! The format is OpenSSH's, so `ssh-keygen -Y sign -n scelle-register` produces signatures
//! scelle accepts and `ssh-keygen -Y verify` checks the ones scelle stores.

use std::collections::HashMap;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use ssh_key::{HashAlg, LineEnding, PrivateKey, PublicKey, SshSig};

use super::entry::{EntrySignature, PersonRecord, SIGNATURE_NAMESPACE};
use super::error::RegisterError;

/// The person id the daemon signs checkpoints under.
pub const SITE_PERSON: &str = "scelle";
/// The role of the site key's signatures.
pub const SITE_ROLE: &str = "site";

/// Why a signature was not accepted. The one SSHSIG check ([`verify`]) and the people list's
/// check ([`People::check`]) return it; callers keep it typed up to the socket or the report.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    #[error("the signature is not an armored SSH signature: {0}")]
    Format(String),
    #[error(
        "it was made for the namespace `{found}`, not `{expected}` (ssh-keygen -Y sign -n {expected})"
    )]
    Namespace { found: String, expected: String },
    #[error("the signature was not made with the key listed for this person")]
    WrongKey,
    #[error("the signature was made with a key that is not in the people list")]
    UnknownKey,
    #[error("the signature does not match the signed statement and key")]
    Mismatch,
    #[error("public key is not a valid OpenSSH key: {0}")]
    BadKey(String),
    #[error("{0} is not in the people list in force")]
    NotListed(String),
    #[error("{person} does not hold the role {role:?} in the people list in force")]
    NoRole { person: String, role: String },
}

/// The one SSHSIG check: `armored` is an SSH signature by `key` over `message` in `namespace`.
pub fn verify(
    key: &PublicKey,
    namespace: &str,
    message: &[u8],
    armored: &str,
) -> Result<(), SignatureError> {
    let sig = parse(armored)?;
    if sig.namespace() != namespace {
        return Err(SignatureError::Namespace {
            found: sig.namespace().to_owned(),
            expected: namespace.to_owned(),
        });
    }
    if sig.public_key() != key.key_data() {
        return Err(SignatureError::WrongKey);
    }
    key.verify(namespace, message, &sig)
        .map_err(|_| SignatureError::Mismatch)
}

/// An armored SSH signature, parsed (to find its key before checking it).
pub fn parse(armored: &str) -> Result<SshSig, SignatureError> {
    SshSig::from_pem(armored.trim().as_bytes()).map_err(|e| SignatureError::Format(e.to_string()))
}

/// [`verify`] in the register's namespace with an OpenSSH public key line.
pub fn verify_with_key(
    public_key: &str,
    message: &[u8],
    armored: &str,
) -> Result<(), SignatureError> {
    let key = PublicKey::from_openssh(public_key.trim())
        .map_err(|e| SignatureError::BadKey(e.to_string()))?;
    verify(&key, SIGNATURE_NAMESPACE, message, armored)
}

/// Signs `message` with `key` in the register namespace (SHA-512, as `ssh-keygen` does).
pub fn sign_with_key(key: &PrivateKey, message: &[u8]) -> Result<String, String> {
    let sig = key
        .sign(SIGNATURE_NAMESPACE, HashAlg::Sha512, message)
        .map_err(|e| format!("signing failed: {e}"))?;
    sig.to_pem(LineEnding::LF)
        .map_err(|e| format!("encoding the signature failed: {e}"))
}

/// The OpenSSH fingerprint (`SHA256:...`) of a public key line, if it parses.
pub fn fingerprint_of(public_key: &str) -> Option<String> {
    PublicKey::from_openssh(public_key.trim())
        .ok()
        .map(|k| k.fingerprint(HashAlg::Sha256).to_string())
}

/// The people list in force at some point of the chain, by person id.
#[derive(Clone, Debug, Default)]
pub struct People {
    by_id: HashMap<String, (PersonRecord, PublicKey)>,
}

impl People {
    /// Builds the list from a `PeopleChanged` payload (`{"people": [...]}`).
    pub fn from_payload(payload: &serde_json::Value) -> Result<People, String> {
        let list = payload
            .get("people")
            .ok_or_else(|| "people-changed payload has no \"people\" list".to_owned())?;
        let records: Vec<PersonRecord> = serde_json::from_value(list.clone())
            .map_err(|e| format!("people-changed payload is not a people list: {e}"))?;
        let mut by_id = HashMap::new();
        for r in records {
            let key = PublicKey::from_openssh(r.public_key.trim())
                .map_err(|e| format!("public key of {} is not a valid OpenSSH key: {e}", r.id))?;
            if by_id.insert(r.id.clone(), (r, key)).is_some() {
                return Err("people list names the same id twice".to_owned());
            }
        }
        Ok(People { by_id })
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    pub fn get(&self, id: &str) -> Option<&PersonRecord> {
        self.by_id.get(id).map(|(r, _)| r)
    }

    /// The parsed public key of a listed person.
    pub fn key(&self, id: &str) -> Option<&PublicKey> {
        self.by_id.get(id).map(|(_, k)| k)
    }

    /// The key of `id`, if listed with `role`; otherwise why not.
    pub fn role_key(&self, id: &str, role: &str) -> Result<&PublicKey, String> {
        let (person, key) = self
            .by_id
            .get(id)
            .ok_or_else(|| format!("{id} is not in the people list in force"))?;
        if !person.roles.iter().any(|r| r == role) {
            return Err(format!(
                "{id} does not hold the role {role:?} in the people list in force"
            ));
        }
        Ok(key)
    }

    /// Whether `id` is listed with `role`.
    pub fn holds(&self, id: &str, role: &str) -> bool {
        self.get(id)
            .is_some_and(|p| p.roles.iter().any(|r| r == role))
    }

    /// Checks a signature: the person is listed, holds the role, and the SSHSIG verifies.
    pub fn check(&self, sig: &EntrySignature, statement: &[u8]) -> Result<(), SignatureError> {
        let (person, key) = self
            .by_id
            .get(&sig.person)
            .ok_or_else(|| SignatureError::NotListed(sig.person.clone()))?;
        if !person.roles.iter().any(|r| r == &sig.role) {
            return Err(SignatureError::NoRole {
                person: sig.person.clone(),
                role: sig.role.clone(),
            });
        }
        verify(key, SIGNATURE_NAMESPACE, statement, &sig.signature)
    }
}

/// The daemon's own Ed25519 key, kept in the state directory, which signs checkpoints.
pub struct SiteKey {
    key: PrivateKey,
    public: String,
}

impl std::fmt::Debug for SiteKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SiteKey")
            .field("public", &self.public)
            .finish()
    }
}

impl SiteKey {
    /// Loads the key at `path`, or creates it (mode 0600) if the file does not exist.
    pub fn load_or_create(path: &Path) -> Result<SiteKey, RegisterError> {
        let err = |reason: String| RegisterError::SiteKey {
            path: PathBuf::from(path),
            reason,
        };
        let key = if path.exists() {
            PrivateKey::read_openssh_file(path).map_err(|e| err(format!("cannot read: {e}")))?
        } else {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .map_err(|e| err(format!("cannot create {}: {e}", dir.display())))?;
            }
            let mut rng = rand::rngs::OsRng;
            let mut key = PrivateKey::random(&mut rng, ssh_key::Algorithm::Ed25519)
                .map_err(|e| err(format!("cannot generate: {e}")))?;
            key.set_comment("scelle site key");
            // Created 0600 from the start: the private key is never readable by others.
            let text = key
                .to_openssh(LineEnding::LF)
                .map_err(|e| err(format!("cannot encode: {e}")))?;
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
                .map_err(|e| err(format!("cannot create: {e}")))?;
            file.write_all(text.as_bytes())
                .and_then(|()| file.sync_all())
                .map_err(|e| err(format!("cannot write: {e}")))?;
            key
        };
        SiteKey::from_private(key).map_err(err)
    }

    /// Wraps an existing private key.
    pub fn from_private(key: PrivateKey) -> Result<SiteKey, String> {
        let public = key
            .public_key()
            .to_openssh()
            .map_err(|e| format!("cannot encode the public key: {e}"))?;
        Ok(SiteKey { key, public })
    }

    /// The OpenSSH public key line.
    pub fn public_key(&self) -> &str {
        &self.public
    }

    /// The key's fingerprint in OpenSSH's form (`SHA256:` and unpadded base64), as
    /// `ssh-keygen -l` prints it: what an auditor pins and receipts print.
    pub fn fingerprint(&self) -> String {
        self.key
            .public_key()
            .fingerprint(HashAlg::Sha256)
            .to_string()
    }

    /// Signs a statement in the register namespace.
    pub fn sign(&self, message: &[u8]) -> Result<String, RegisterError> {
        sign_with_key(&self.key, message).map_err(RegisterError::InvalidEntry)
    }
}
