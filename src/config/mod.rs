//! The daemon's configuration: a TOML file read at start and re-read when it changes.
//!
//! Owns parsing and validation only. Every key is known (`deny_unknown_fields`), so a typo is
//! refused at start with the file, line and column and what was expected, instead of being
//! silently ignored; the people list (AUTH-4) is validated down to each public key, and each
//! camera entry down to its source address (see `camera.rs`).

mod camera;
mod export;
mod people;
mod site;
pub mod trust;

use std::path::{Path, PathBuf};

use serde::Deserialize;

pub use camera::{
    Camera, CameraId, CameraSource, CameraTls, DEFAULT_SEGMENT_PATTERN, LinkSecurity,
};
pub use export::{ApprovedDrive, Export};
pub use people::{Person, PublicKeyLine, Role};
pub use site::{SiteConfig, SiteLevel, record_site};

use crate::error::{Exit, ExitStatus};

/// Default socket path (systemd `RuntimeDirectory=scelle`).
pub const DEFAULT_SOCKET: &str = "/run/scelle/scelle.sock";

/// The whole configuration file.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub site: Site,
    #[serde(default)]
    pub daemon: Daemon,
    #[serde(default)]
    pub cases: Cases,
    /// The people list (AUTH-4): who may operate, authorize or audit.
    #[serde(default, rename = "person")]
    pub people: Vec<Person>,
    /// Cameras and recorder channels footage is pulled from.
    #[serde(default, rename = "camera")]
    pub cameras: Vec<Camera>,
    /// Export destinations and sealing settings.
    #[serde(default)]
    pub export: Export,
}

/// Where the site is.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Site {
    /// Shown on receipts and in the register.
    pub name: String,
    /// IANA time zone name (`Europe/Paris`), used for every local time shown to people.
    pub time_zone: TimeZoneName,
    /// The identity documents for outsiders print (`site.rs`).
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub controller: Option<String>,
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub dpo_contact: Option<String>,
    #[serde(default)]
    pub level: SiteLevel,
}

impl Site {
    /// The site's identity as the register records it.
    pub fn identity(&self) -> SiteConfig {
        SiteConfig {
            id: self.id.clone(),
            name: Some(self.name.clone()),
            controller: self.controller.clone(),
            address: self.address.clone(),
            dpo_contact: self.dpo_contact.clone(),
            level: self.level,
        }
    }
}

/// A time zone name checked against the system's time zone database.
#[derive(Clone, Debug, PartialEq)]
pub struct TimeZoneName(pub String);

impl<'de> Deserialize<'de> for TimeZoneName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        jiff::tz::TimeZone::get(&s).map_err(|_| {
            serde::de::Error::custom(format!(
                "unknown time zone `{s}`: expected an IANA name such as `Europe/Paris`"
            ))
        })?;
        Ok(TimeZoneName(s))
    }
}

/// Where the daemon keeps things and listens.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Daemon {
    /// State directory: the register database and the attached documents.
    #[serde(default = "default_state_dir")]
    pub state_dir: PathBuf,
    /// The control socket.
    #[serde(default = "default_socket")]
    pub socket: PathBuf,
    /// Permission bits of the socket, as an octal string (`"0660"`).
    #[serde(default = "default_socket_mode")]
    pub socket_mode: SocketMode,
    /// Group owning the socket (members may connect); none keeps the daemon's group.
    #[serde(default)]
    pub socket_group: Option<String>,
    /// Most simultaneous client connections; more wait in the listen backlog.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// Most simultaneous connections of one Unix user; more are refused at once.
    #[serde(default = "default_max_connections_per_user")]
    pub max_connections_per_user: usize,
}

impl Default for Daemon {
    fn default() -> Self {
        Daemon {
            state_dir: default_state_dir(),
            socket: default_socket(),
            socket_mode: default_socket_mode(),
            socket_group: None,
            max_connections: default_max_connections(),
            max_connections_per_user: default_max_connections_per_user(),
        }
    }
}

fn default_state_dir() -> PathBuf {
    PathBuf::from("/var/lib/scelle")
}
fn default_socket() -> PathBuf {
    PathBuf::from(DEFAULT_SOCKET)
}
fn default_socket_mode() -> SocketMode {
    SocketMode(0o660)
}
fn default_max_connections() -> usize {
    512
}
fn default_max_connections_per_user() -> usize {
    32
}

/// Unix permission bits written as an octal string.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SocketMode(pub u32);

impl<'de> Deserialize<'de> for SocketMode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        match u32::from_str_radix(s.trim_start_matches("0o"), 8) {
            Ok(m) if m <= 0o777 => Ok(SocketMode(m)),
            _ => Err(serde::de::Error::custom(format!(
                "bad socket mode `{s}`: expected octal permission bits such as \"0660\""
            ))),
        }
    }
}

/// Case workflow settings.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Cases {
    /// Hours an emergency case may stay without its written request (AUTH-3) before it is
    /// flagged as overdue (its approval is needed before any export, emergency or not).
    #[serde(default = "default_regularize_hours")]
    pub emergency_regularize_hours: u32,
}

impl Default for Cases {
    fn default() -> Self {
        Cases {
            emergency_regularize_hours: default_regularize_hours(),
        }
    }
}

fn default_regularize_hours() -> u32 {
    72
}

/// Why a configuration was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    #[error("cannot read configuration {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}:{line}:{column}: {message}")]
    Syntax {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

impl ExitStatus for ConfigError {
    fn exit(&self) -> Exit {
        Exit::Failure
    }
}

impl Config {
    /// Reads and validates the file at `path`. The file, and the camera credentials files it
    /// names, are refused when someone else than root or the account scelle runs as could
    /// have changed them (as sshd's `StrictModes`): see [`trust::check`].
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let invalid = |message| ConfigError::Invalid {
            path: path.to_owned(),
            message,
        };
        trust::check(path, false).map_err(invalid)?;
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let config = Config::parse(path, &text)?;
        for c in &config.cameras {
            if let Some(creds) = &c.credentials_file
                && creds.exists()
            {
                trust::check(creds, true)
                    .map_err(|m| invalid(format!("camera `{}`: {m}", c.id)))?;
            }
        }
        Ok(config)
    }

    /// Parses and validates `text`; `path` is only used in messages.
    pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| {
            let (line, column) = e
                .span()
                .map(|s| line_column(text, s.start))
                .unwrap_or((0, 0));
            ConfigError::Syntax {
                path: path.to_owned(),
                line,
                column,
                message: e.message().trim().to_owned(),
            }
        })?;
        people::validate(&config.people, text).map_err(|(at, message)| {
            let (line, column) = line_column(text, at);
            ConfigError::Syntax {
                path: path.to_owned(),
                line,
                column,
                message,
            }
        })?;
        if let Err((section, key, message)) = config.check_ranges() {
            let (line, column) = locate(text, section, key);
            return Err(ConfigError::Syntax {
                path: path.to_owned(),
                line,
                column,
                message,
            });
        }
        config.validate().map_err(|message| ConfigError::Invalid {
            path: path.to_owned(),
            message,
        })?;
        config.check_level(path, text)?;
        Ok(config)
    }

    /// Values outside what scelle accepts: `(section, key, message with the allowed range)`.
    fn check_ranges(&self) -> Result<(), (&'static str, &'static str, String)> {
        fn range(
            section: &'static str,
            key: &'static str,
            value: u64,
            allowed: std::ops::RangeInclusive<u64>,
            what: &str,
        ) -> Result<(), (&'static str, &'static str, String)> {
            if allowed.contains(&value) {
                return Ok(());
            }
            Err((
                section,
                key,
                format!(
                    "[{section}] {key} = {value} is out of range: allowed {}..={} ({what})",
                    allowed.start(),
                    allowed.end()
                ),
            ))
        }
        let d = &self.daemon;
        if d.socket_mode.0 & !0o660 != 0 {
            return Err((
                "daemon",
                "socket_mode",
                format!(
                    "[daemon] socket_mode = \"{:04o}\" gives more than \"0660\" (owner and group \
                     read/write): anyone else could reach the control socket; use \"0660\" and \
                     socket_group for the people's group",
                    d.socket_mode.0
                ),
            ));
        }
        range(
            "daemon",
            "max_connections",
            d.max_connections as u64,
            1..=MAX_CONNECTIONS,
            "simultaneous client connections",
        )?;
        range(
            "daemon",
            "max_connections_per_user",
            d.max_connections_per_user as u64,
            1..=d.max_connections.clamp(1, MAX_CONNECTIONS as usize) as u64,
            "connections of one Unix user, at most max_connections",
        )?;
        range(
            "cases",
            "emergency_regularize_hours",
            self.cases.emergency_regularize_hours.into(),
            0..=720,
            "hours, at most 30 days",
        )?;
        let e = &self.export;
        range(
            "export",
            "kdf_memory_mib",
            e.kdf_memory_mib.into(),
            8..=KDF_MEMORY_MAX_MIB,
            "MiB of Argon2id memory; more than 1024 and recipients need \
             `scelle open --max-kdf-memory-mib`",
        )?;
        range(
            "export",
            "kdf_passes",
            e.kdf_passes.into(),
            1..=16,
            "Argon2id passes",
        )?;
        range(
            "export",
            "assumed_bitrate_kbps",
            e.assumed_bitrate_kbps.into(),
            1..=1_000_000,
            "kbit/s per camera",
        )?;
        Ok(())
    }

    /// On `renforce` and above, every network camera has an encrypted link or an exception
    /// with its reason (ENC-5); the first that has neither is refused at its position.
    fn check_level(&self, path: &Path, text: &str) -> Result<(), ConfigError> {
        let level = self.site.level;
        if !level.requires_encrypted_links() {
            return Ok(());
        }
        let Some((i, camera)) = self
            .cameras
            .iter()
            .enumerate()
            .find(|(_, c)| c.unprotected())
        else {
            return Ok(());
        };
        let (line, column) = camera_position(text, i);
        let id = &camera.id;
        Err(ConfigError::Syntax {
            path: path.to_owned(),
            line,
            column,
            message: format!(
                "camera `{id}` has an unencrypted link, which the site's level `{}` does not \
                 allow: set `tls = {{ pin = \"sha256:…\" }}` (`scelle camera probe {id}` shows the \
                 certificate) or `tls = {{ ca_file = \"…\" }}` with an https:// or rtsps:// \
                 address, or except it with `allow_unencrypted = \"<reason>\"`",
                level.as_str()
            ),
        })
    }

    /// Checks that only the parser cannot: uniqueness across the camera list, settings.
    fn validate(&self) -> Result<(), String> {
        let mut cams = std::collections::HashSet::new();
        for c in &self.cameras {
            if !cams.insert(c.id.as_str()) {
                return Err(format!(
                    "camera `{}` is listed twice: ids must be unique",
                    c.id
                ));
            }
            c.validate()?;
        }
        let kdf = crate::seal::KdfParams {
            m_cost_kib: self.export.kdf_memory_mib.saturating_mul(1024),
            t_cost: self.export.kdf_passes,
            p_cost: crate::seal::KdfParams::DEFAULT.p_cost,
        };
        kdf.check()
            .map_err(|e| format!("[export] kdf_memory_mib / kdf_passes: {e}"))?;
        if self.daemon.max_connections == 0 {
            return Err("daemon.max_connections must be at least 1".into());
        }
        Ok(())
    }

    /// The person with this id.
    pub fn person(&self, id: &str) -> Option<&Person> {
        self.people.iter().find(|p| p.id == id)
    }

    /// The camera with this id.
    pub fn camera(&self, id: &str) -> Option<&Camera> {
        self.cameras.iter().find(|c| c.id.as_str() == id)
    }

    /// The people whose Unix account is `account`.
    pub fn people_of_account(&self, account: &str) -> Vec<&Person> {
        self.people
            .iter()
            .filter(|p| p.unix_account == account)
            .collect()
    }
}

/// Line and column where the `index`-th `[[camera]]` table starts.
fn camera_position(text: &str, index: usize) -> (usize, usize) {
    #[derive(Deserialize)]
    struct Spans {
        #[serde(default)]
        camera: Vec<toml::Spanned<toml::Table>>,
    }
    toml::from_str::<Spans>(text)
        .ok()
        .and_then(|s| {
            s.camera
                .get(index)
                .map(|c| line_column(text, c.span().start))
        })
        .unwrap_or((0, 0))
}

/// Most client connections `[daemon] max_connections` may allow.
pub const MAX_CONNECTIONS: u64 = 4096;
/// Most Argon2id memory `[export] kdf_memory_mib` may ask for: what `scelle open` accepts
/// without `--max-kdf-memory-mib`.
pub const KDF_MEMORY_MAX_MIB: u64 = 1024;

/// Line and column of the value of `key` in `[section]` (where a range error points); the
/// section header when the key is not written (a default), `(0, 0)` when neither is.
fn locate(text: &str, section: &str, key: &str) -> (usize, usize) {
    let mut in_section = false;
    let mut header = (0, 0);
    for (i, line) in text.lines().enumerate() {
        let t = line.trim_start();
        if t.starts_with('[') {
            in_section = t.trim_end() == format!("[{section}]");
            if in_section {
                header = (i + 1, line.len() - t.len() + 1);
            }
            continue;
        }
        if in_section
            && let Some(rest) = t.strip_prefix(key)
            && rest.trim_start().starts_with('=')
        {
            let eq = line.find('=').unwrap_or(0);
            let value = line[eq + 1..].len() - line[eq + 1..].trim_start().len();
            return (i + 1, line[..eq + 1 + value].chars().count() + 1);
        }
    }
    header
}

/// 1-based line and column of byte offset `at` in `text`.
fn line_column(text: &str, at: usize) -> (usize, usize) {
    let before = &text[..at.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBjEyKGIeoDXWcHpQnKH7MF6640HiLn3nGN5trltSCwv root@vm";

    fn base(extra: &str) -> String {
        format!(
            "[site]\nname = \"Entrepôt\"\ntime_zone = \"Europe/Paris\"\n{extra}\n\
             [[person]]\nid = \"alice\"\nname = \"Alice A\"\nunix_account = \"alice\"\n\
             roles = [\"operator\"]\npublic_key = \"{KEY}\"\n"
        )
    }

    #[test]
    fn a_good_file_parses() {
        let c = Config::parse(Path::new("x.toml"), &base("")).unwrap();
        assert_eq!(c.people[0].roles, vec![Role::Operator]);
        assert_eq!(c.daemon.socket_mode, SocketMode(0o660));
    }

    #[test]
    fn an_unknown_key_is_refused_with_its_position() {
        let err = Config::parse(Path::new("x.toml"), &base("colour = 1")).unwrap_err();
        match err {
            ConfigError::Syntax {
                line,
                column,
                message,
                ..
            } => {
                assert_eq!((line, column), (4, 1));
                assert!(message.contains("unknown field `colour`"), "{message}");
                assert!(message.contains("expected"), "{message}");
            }
            e => panic!("{e}"),
        }
    }

    #[test]
    fn a_bad_role_and_a_bad_key_are_refused() {
        let text = base("").replace("[\"operator\"]", "[\"boss\"]");
        let e = Config::parse(Path::new("x.toml"), &text).unwrap_err();
        assert!(e.to_string().contains("x.toml:9:"), "{e}");
        let text = base("").replace(KEY, "ssh-ed25519 AAAAnot-a-key");
        let e = Config::parse(Path::new("x.toml"), &text).unwrap_err();
        assert!(e.to_string().contains("public key"), "{e}");
    }

    #[test]
    fn the_people_list_is_checked_with_positions() {
        const OTHER: &str =
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIY8Dwujco01pajrgAbKnIIiFMQX/kgxtu94h5mFND66 b";
        let person = |id: &str, key: &str| {
            format!(
                "[[person]]\nid = \"{id}\"\nname = \"B\"\nunix_account = \"b\"\n\
                 roles = [\"authorizer\"]\npublic_key = \"{key}\"\n"
            )
        };
        // The same key under another id, even with another comment: one person, not two.
        let other_comment = KEY.replace("root@vm", "bob@laptop");
        let text = format!("{}{}", base(""), person("bob", &other_comment));
        let e = Config::parse(Path::new("x.toml"), &text).unwrap_err();
        assert!(e.to_string().contains("x.toml:16:14:"), "{e}");
        assert!(
            e.to_string()
                .contains("same public key as `alice` (line 10)"),
            "{e}"
        );
        // Reserved ids.
        for id in ["scelle", "Scelle", "root", "-"] {
            let text = format!("{}{}", base(""), person(id, OTHER));
            let e = Config::parse(Path::new("x.toml"), &text).unwrap_err();
            assert!(e.to_string().contains("x.toml:12:6:"), "{id}: {e}");
        }
        // An id twice.
        let text = format!("{}{}", base(""), person("alice", OTHER));
        let e = Config::parse(Path::new("x.toml"), &text).unwrap_err();
        assert!(
            e.to_string()
                .contains("x.toml:12:6: person `alice` is listed twice"),
            "{e}"
        );
        // Two keys: fine.
        let text = format!("{}{}", base(""), person("bob", OTHER));
        assert_eq!(
            Config::parse(Path::new("x.toml"), &text)
                .unwrap()
                .people
                .len(),
            2
        );
    }

    #[test]
    fn the_documented_example_parses() {
        let text = include_str!("../../config/scelle.toml");
        let c = Config::parse(Path::new("config/scelle.toml"), text).unwrap();
        assert_eq!(c.people.len(), 3);
        assert_eq!(c.daemon.socket, PathBuf::from(DEFAULT_SOCKET));
        assert_eq!(c.export, Export::default());
    }

    #[test]
    fn the_export_section_is_checked() {
        let text = format!(
            "{}\n[export]\nrequire_separate_drive = false\n\
             approved_drives = [{{ model = \"M\", serial = \"S\" }}]\n",
            base("")
        );
        let c = Config::parse(Path::new("x.toml"), &text).unwrap();
        assert!(!c.export.require_separate_drive);
        assert_eq!(c.export.approved_drives[0].serial, "S");
        let e = Config::parse(
            Path::new("x.toml"),
            &format!("{}\n[export]\nkdf_memory_mib = 1\n", base("")),
        )
        .unwrap_err();
        assert!(e.to_string().contains("kdf"), "{e}");
        let e = Config::parse(
            Path::new("x.toml"),
            &format!("{}\n[export]\napproved = []\n", base("")),
        )
        .unwrap_err();
        assert!(e.to_string().contains("approved"), "{e}");
    }

    #[test]
    fn the_site_identity_and_drive_certifications_parse() {
        let text = base(
            "id = \"venissieux\"\ncontroller = \"SAS Entrepôts du Rhône\"\n\
             address = \"12 rue de l'Industrie\"\ndpo_contact = \"dpo@example.fr\"\n\
             level = \"renforce\"",
        ) + "\n[export]\napproved_drives = [{ model = \"M\", serial = \"S\", \
             certification = \"CSPN-2023/12\" }]\n";
        let c = Config::parse(Path::new("x.toml"), &text).unwrap();
        let id = c.site.identity();
        assert_eq!(id.controller.as_deref(), Some("SAS Entrepôts du Rhône"));
        assert_eq!(id.name.as_deref(), Some("Entrepôt"));
        assert_eq!(id.level, SiteLevel::Renforce);
        assert_eq!(
            c.export.approved_drives[0].certification.as_deref(),
            Some("CSPN-2023/12")
        );
        // Without the new keys the site is standard, with no identity beyond its name.
        let c = Config::parse(Path::new("x.toml"), &base("")).unwrap();
        assert_eq!(c.site.identity().level, SiteLevel::Standard);
        assert_eq!(c.site.identity().controller, None);
        let e = Config::parse(Path::new("x.toml"), &base("level = \"gold\"")).unwrap_err();
        assert!(e.to_string().contains("gold"), "{e}");
    }

    #[test]
    fn values_out_of_range_name_line_column_and_range() {
        let text = format!("{}\n[export]\nkdf_memory_mib = 100000\n", base(""));
        let e = Config::parse(Path::new("x.toml"), &text).unwrap_err();
        assert!(e.to_string().contains("x.toml:13:18:"), "{e}");
        assert!(e.to_string().contains("allowed 8..=1024"), "{e}");
        for (extra, want) in [
            ("[daemon]\nsocket_mode = \"0777\"\n", "x.toml:5:15:"),
            ("[daemon]\nmax_connections = 0\n", "allowed 1..=4096"),
            ("[daemon]\nmax_connections = 1000000\n", "allowed 1..=4096"),
            (
                "[daemon]\nmax_connections = 8\nmax_connections_per_user = 9\n",
                "allowed 1..=8",
            ),
            (
                "[cases]\nemergency_regularize_hours = 100000\n",
                "allowed 0..=720",
            ),
        ] {
            let e = Config::parse(Path::new("x.toml"), &base(extra)).unwrap_err();
            assert!(e.to_string().contains(want), "{extra}: {e}");
        }
        let ok = base("[daemon]\nsocket_mode = \"0600\"\n");
        assert!(Config::parse(Path::new("x.toml"), &ok).is_ok());
    }

    #[test]
    fn a_bad_time_zone_is_refused() {
        let text = base("").replace("Europe/Paris", "Mars/Olympus");
        let e = Config::parse(Path::new("x.toml"), &text).unwrap_err();
        assert!(e.to_string().contains("Mars/Olympus"), "{e}");
    }

    fn with_camera(camera: &str) -> Result<Config, ConfigError> {
        // Camera tables come after the people (TOML arrays of tables).
        let text = format!("{}\n{camera}\n", base(""));
        Config::parse(Path::new("x.toml"), &text)
    }

    #[test]
    fn camera_entries_of_each_kind_parse() {
        let c = with_camera(
            "[[camera]]\nid = \"quai-1\"\nname = \"Quai\"\n\
             source = { kind = \"segments\", root = \"/srv/nvr\" }\n\
             [[camera]]\nid = \"entree\"\nname = \"Entrée\"\ncredentials_file = \"/etc/scelle/cameras\"\n\
             source = { kind = \"onvif\", device_url = \"http://192.0.2.10/onvif/device_service\" }\n\
             [[camera]]\nid = \"nvr-3\"\nname = \"Parking\"\ncredentials_systemd = \"nvr\"\n\
             source = { kind = \"playback\", vendor = \"hikvision\", host = \"192.0.2.20\", channel = 3 }\n",
        )
        .unwrap();
        assert_eq!(c.cameras.len(), 3);
        assert_eq!(c.camera("quai-1").unwrap().kind(), "segments");
        assert_eq!(c.camera("nvr-3").unwrap().kind(), "playback/hikvision");
        match &c.camera("quai-1").unwrap().source {
            CameraSource::Segments { pattern, .. } => assert_eq!(pattern, DEFAULT_SEGMENT_PATTERN),
            s => panic!("{s:?}"),
        }
    }

    #[test]
    fn camera_tls_settings_are_checked() {
        let pin = format!("sha256:{}", "0a".repeat(32));
        let c = with_camera(&format!(
            "[[camera]]\nid = \"a\"\nname = \"A\"\ntls = {{ pin = \"{pin}\" }}\n\
             source = {{ kind = \"onvif\", device_url = \"https://192.0.2.1/onvif/device_service\" }}\n\
             [[camera]]\nid = \"b\"\nname = \"B\"\ntls = {{ ca_file = \"/etc/scelle/ca.pem\" }}\n\
             source = {{ kind = \"playback\", vendor = \"dahua\", host = \"192.0.2.2\", port = 322 }}\n"
        ))
        .unwrap();
        let a = c.camera("a").unwrap().link();
        assert!(
            a.encrypted && a.pin.as_deref() == Some(pin.as_str()),
            "{a:?}"
        );
        assert_eq!(c.camera("b").unwrap().link().transport, "tls");
        let cases = [
            ("tls = { pin = \"sha256:abc\" }", "64 hex digits"),
            ("tls = { }", "exactly one"),
            (
                "tls = { pin = \"sha256:0a0a\", ca_file = \"/x\" }",
                "64 hex digits",
            ),
            ("allow_basic = \" \"", "must say why"),
        ];
        for (line, want) in cases {
            let e = with_camera(&format!(
                "[[camera]]\nid = \"x\"\nname = \"X\"\n{line}\n\
                 source = {{ kind = \"playback\", vendor = \"dahua\", host = \"h\" }}"
            ))
            .unwrap_err();
            assert!(e.to_string().contains(want), "{line}: {e}");
        }
        let e = with_camera(
            "[[camera]]\nid = \"x\"\nname = \"X\"\ntls = { ca_file = \"/ca\" }\n\
             source = { kind = \"onvif\", device_url = \"http://h/onvif/device_service\" }",
        )
        .unwrap_err();
        assert!(e.to_string().contains("https://"), "{e}");
    }

    #[test]
    fn a_playback_speed_is_checked_when_loaded() {
        let camera = |speed: &str| {
            with_camera(&format!(
                "[[camera]]\nid = \"x\"\nname = \"X\"\n\
                 source = {{ kind = \"playback\", vendor = \"dahua\", host = \"h\"{speed} }}"
            ))
        };
        assert!(camera("").is_ok());
        assert!(camera(", speed = 4").is_ok());
        for bad in [", speed = 1", ", speed = 40", ", speed = nan"] {
            let e = camera(bad).unwrap_err();
            assert!(
                e.to_string().contains("`speed` must be between"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn a_renforce_site_refuses_an_unencrypted_camera_where_it_is() {
        let plain = "[[camera]]\nid = \"seg\"\nname = \"S\"\nsource = { kind = \"segments\", root = \"/srv\" }\n\n\
                     [[camera]]\nid = \"clair\"\nname = \"C\"\n\
                     source = { kind = \"playback\", vendor = \"dahua\", host = \"h\" }\n";
        let text = format!("{}\n{plain}", base("level = \"renforce\""));
        let line = text
            .lines()
            .position(|l| l.starts_with("[[camera]]") && text.contains("clair"))
            .map(|first| {
                first
                    + 1
                    + text
                        .lines()
                        .skip(first + 1)
                        .position(|l| l.starts_with("[[camera]]"))
                        .unwrap()
                    + 1
            })
            .unwrap();
        match Config::parse(Path::new("x.toml"), &text).unwrap_err() {
            ConfigError::Syntax {
                line: l,
                column,
                message,
                ..
            } => {
                assert_eq!((l, column), (line, 1), "{message}");
                assert!(
                    message.contains("clair") && message.contains("allow_unencrypted"),
                    "{message}"
                );
            }
            e => panic!("{e}"),
        }
        // Excepted with a reason, it loads and the reason is what the record will say.
        let text = text.replace(
            "name = \"C\"\n",
            "name = \"C\"\nallow_unencrypted = \"câble dédié\"\n",
        );
        let c = Config::parse(Path::new("x.toml"), &text).unwrap();
        let link = c.camera("clair").unwrap().link();
        assert_eq!(
            (link.encrypted, link.unencrypted_reason.as_deref()),
            (false, Some("câble dédié"))
        );
        assert_eq!(c.camera("seg").unwrap().link().transport, "local");
        assert_eq!(c.site.level, SiteLevel::Renforce);
    }

    #[test]
    fn bad_camera_entries_are_refused_with_a_reason() {
        let cases = [
            (
                "id = \"../x\"\nname = \"X\"\nsource = { kind = \"segments\", root = \"/srv\" }",
                "camera id",
            ),
            (
                "id = \"x\"\nname = \"X\"\nsource = { kind = \"segments\", root = \"rel\" }",
                "absolute",
            ),
            (
                "id = \"x\"\nname = \"X\"\nsource = { kind = \"floppy\" }",
                "floppy",
            ),
            (
                "id = \"x\"\nname = \"X\"\nsource = { kind = \"segments\", root = \"/s\", colour = 1 }",
                "colour",
            ),
            (
                "id = \"x\"\nname = \"X\"\nsource = { kind = \"onvif\", device_url = \"http://u:p@h/\" }",
                "no credentials",
            ),
            (
                "id = \"x\"\nname = \"X\"\nsource = { kind = \"playback\", vendor = \"custom\", host = \"h\" }",
                "template",
            ),
            (
                "id = \"x\"\nname = \"X\"\ncredentials_file = \"/a\"\ncredentials_systemd = \"b\"\nsource = { kind = \"segments\", root = \"/s\" }",
                "not both",
            ),
        ];
        for (entry, want) in cases {
            let e = with_camera(&format!("[[camera]]\n{entry}")).unwrap_err();
            assert!(e.to_string().contains(want), "{entry}: {e}");
        }
        let twice = "[[camera]]\nid = \"x\"\nname = \"X\"\nsource = { kind = \"segments\", root = \"/s\" }\n";
        let e = with_camera(&format!("{twice}{twice}")).unwrap_err();
        assert!(e.to_string().contains("twice"), "{e}");
    }
}
