//! The demo site: its two people and their keys, the written request of the demo case, and the
//! configuration file of the demo daemon.
//!
//! Both people use the Unix account running the demo, so the daemon cannot tell them apart by
//! peer credentials: each proves who they are by signing the daemon's challenge with their own
//! key file — the shared-technician-account case of a real site. Keys are Ed25519, made
//! in-process with `ssh-key`, unencrypted (demo only), mode 0600.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::footage;

/// One demo person.
#[derive(Clone, Copy, Debug)]
pub struct DemoPerson {
    pub id: &'static str,
    pub name: &'static str,
    /// The role list as written in the configuration.
    pub roles: &'static str,
}

/// Opens the case and runs the export.
pub const OPERATOR: DemoPerson = DemoPerson {
    id: "demo-operateur",
    name: "Odile Opératrice (démo)",
    roles: r#"["operator"]"#,
};

/// Authorizes the case: the data controller's representative, never the operator (AUTH-2).
pub const AUTHORIZER: DemoPerson = DemoPerson {
    id: "demo-autorisant",
    name: "Armand Autorisant (démo)",
    roles: r#"["authorizer", "auditor"]"#,
};

/// The demo case's external reference (the requisition number), also the export folder name.
pub const CASE_REFERENCE: &str = "DEMO-2026-0001";

/// Why a demo site could not be laid out.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SiteError {
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot make the demo key {path}: {message}")]
    Key { path: PathBuf, message: String },
    #[error("cannot find the name of the Unix account running the demo (uid {uid}) in /etc/passwd")]
    Account { uid: u32 },
}

/// Where everything of one demo run lives, all below one directory.
#[derive(Clone, Debug)]
pub struct Layout {
    pub root: PathBuf,
}

impl Layout {
    pub fn new(root: impl Into<PathBuf>) -> Layout {
        Layout { root: root.into() }
    }
    /// The demo daemon's configuration file.
    pub fn config(&self) -> PathBuf {
        self.root.join("scelle.toml")
    }
    /// The daemon's state directory (register, attached documents).
    pub fn state_dir(&self) -> PathBuf {
        self.root.join("state")
    }
    /// The register database in the state directory.
    pub fn register(&self) -> PathBuf {
        self.state_dir().join(crate::daemon::REGISTER_FILE)
    }
    /// The control socket.
    pub fn socket(&self) -> PathBuf {
        self.root.join("scelle.sock")
    }
    /// The "recorder": camera `cam1`'s segment folder.
    pub fn recorder(&self) -> PathBuf {
        self.root.join("recorder")
    }
    /// The "drive" the export is written to.
    pub fn drive(&self) -> PathBuf {
        self.root.join("drive")
    }
    /// Private key files (public halves next to them, `.pub`).
    pub fn key(&self, person: &DemoPerson) -> PathBuf {
        self.root.join("keys").join(person.id)
    }
    /// The written request attached to the case.
    pub fn request(&self) -> PathBuf {
        self.root.join("requisition.txt")
    }
    /// The daemon's log (its stderr).
    pub fn daemon_log(&self) -> PathBuf {
        self.root.join("daemon.log")
    }
}

/// The name of the Unix account running this process.
pub fn current_account() -> Result<String, SiteError> {
    let uid = std::fs::metadata("/proc/self")
        .map(|m| m.uid())
        .map_err(|_| SiteError::Account { uid: u32::MAX })?;
    crate::api::passwd::account_of_uid(uid).ok_or(SiteError::Account { uid })
}

/// Makes an Ed25519 key pair at `path` (private, 0600) and `path.pub`; returns the public line.
pub fn make_key(path: &Path, comment: &str) -> Result<String, SiteError> {
    let key_err = |message: String| SiteError::Key {
        path: path.to_owned(),
        message,
    };
    if let Some(parent) = path.parent() {
        create_dir(parent)?;
    }
    let mut key = ssh_key::PrivateKey::random(&mut rand::rngs::OsRng, ssh_key::Algorithm::Ed25519)
        .map_err(|e| key_err(e.to_string()))?;
    key.set_comment(comment);
    key.write_openssh_file(path, ssh_key::LineEnding::LF)
        .map_err(|e| key_err(e.to_string()))?;
    let public = key
        .public_key()
        .to_openssh()
        .map_err(|e| key_err(e.to_string()))?;
    write(
        &path.with_extension("pub"),
        format!("{public}\n").as_bytes(),
    )?;
    Ok(public)
}

/// The written request of the demo case (AUTH-3): a requisition as a police officer would send.
pub fn written_request() -> String {
    format!(
        "RÉQUISITION JUDICIAIRE — document de démonstration\n\
         Référence : {CASE_REFERENCE}\n\
         Service : Commissariat de démonstration\n\
         Objet : extraction des images de la caméra « {cam} » du 15 janvier 2026, de \
         14 h 00 min 00 s à 14 h 00 min 40 s (UTC), dans le cadre d'une enquête pour vol.\n\
         Remise à : OPJ Démo, sur support chiffré ; mot de passe par un autre canal.\n\
         (Généré par `scelle demo` : aucune donnée réelle.)\n",
        cam = footage::CAMERA
    )
}

/// The demo daemon's configuration: the site, the state directory and socket of `layout`, the
/// two people on `account` with their public keys, and camera `cam1` reading the recorder
/// folder. `extra` is inserted verbatim before the people (sections such as `[export]`).
pub fn config_text(
    layout: &Layout,
    account: &str,
    time_zone: &str,
    operator_key: &str,
    authorizer_key: &str,
    extra: &str,
) -> String {
    format!(
        "{}[[camera]]\nid = \"{cam}\"\nname = \"Entrée (démo)\"\nlocation = \"Hall d'accueil\"\n\
         source = {{ kind = \"segments\", root = {root} }}\n",
        config_without_cameras(
            layout,
            account,
            time_zone,
            operator_key,
            authorizer_key,
            extra
        ),
        cam = footage::CAMERA,
        root = toml_string(&layout.recorder().display().to_string()),
    )
}

/// [`config_text`] without the camera (benchmarks add their own `[[camera]]` tables).
pub fn config_without_cameras(
    layout: &Layout,
    account: &str,
    time_zone: &str,
    operator_key: &str,
    authorizer_key: &str,
    extra: &str,
) -> String {
    let person = |p: &DemoPerson, key: &str| {
        format!(
            "[[person]]\nid = \"{}\"\nname = \"{}\"\nunix_account = {}\nroles = {}\npublic_key = \"{}\"\n\n",
            p.id,
            p.name,
            toml_string(account),
            p.roles,
            key.trim()
        )
    };
    format!(
        "# Generated by `scelle demo`: a throw-away site in this folder.\n\
         [site]\nname = \"Site de démonstration scelle\"\ntime_zone = \"{time_zone}\"\n\n\
         [daemon]\nstate_dir = {state}\nsocket = {socket}\nsocket_mode = \"0600\"\n\n\
         {extra}\n\
         {operator}{authorizer}",
        state = toml_string(&layout.state_dir().display().to_string()),
        socket = toml_string(&layout.socket().display().to_string()),
        operator = person(&OPERATOR, operator_key),
        authorizer = person(&AUTHORIZER, authorizer_key),
    )
}

/// The site's zone: Europe/Paris when this machine's time zone database has it, UTC otherwise
/// (a bare container may have no database at all).
pub fn time_zone() -> &'static str {
    if jiff::tz::TimeZone::get("Europe/Paris").is_ok() {
        "Europe/Paris"
    } else {
        "UTC"
    }
}

/// A TOML basic string (paths may hold quotes or backslashes).
fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

/// Creates `dir` (and parents) readable by its owner only.
pub fn create_dir(dir: &Path) -> Result<(), SiteError> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|source| SiteError::Write {
            path: dir.to_owned(),
            source,
        })
}

/// Writes `bytes` to `path`.
pub fn write(path: &Path, bytes: &[u8]) -> Result<(), SiteError> {
    std::fs::write(path, bytes).map_err(|source| SiteError::Write {
        path: path.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn the_generated_configuration_parses_with_both_people_and_the_camera() {
        let dir = std::env::temp_dir().join(format!("scelle-site-{}", std::process::id()));
        let layout = Layout::new(&dir);
        let op = make_key(&layout.key(&OPERATOR), "op").unwrap();
        let au = make_key(&layout.key(&AUTHORIZER), "au").unwrap();
        let text = config_text(&layout, "some \"account\"", time_zone(), &op, &au, "");
        let config = Config::parse(&layout.config(), &text).unwrap();
        assert_eq!(config.people.len(), 2);
        assert_eq!(config.people[0].unix_account, "some \"account\"");
        assert!(config.camera(footage::CAMERA).is_some());
        assert_eq!(config.daemon.state_dir, layout.state_dir());
        // The key file is the owner's only and signs for the listed public key.
        let meta = std::fs::metadata(layout.key(&OPERATOR)).unwrap();
        assert_eq!(meta.mode() & 0o077, 0);
        let key = ssh_key::PrivateKey::read_openssh_file(&layout.key(&OPERATOR)).unwrap();
        assert_eq!(key.public_key().to_openssh().unwrap(), op);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
