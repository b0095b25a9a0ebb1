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

use std::path::{Path, PathBuf};

use serde::Deserialize;

pub use camera::{
    Camera, CameraId, CameraSource, CameraTls, DEFAULT_SEGMENT_PATTERN, LinkSecurity, Vendor,
};
pub use export::{ApprovedDrive, Export};
pub use people::{Person, PublicKeyLine, Role};
pub use site::{SiteConfig, SiteLevel};

use crate::error::{Exit, ExitStatus};

/// Default socket path (systemd `RuntimeDirectory=scelle`).
pub const DEFAULT_SOCKET: &str = "/run/scelle/scelle.sock";

/// The whole configuration file.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub site: SiteConfig,
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

/// The `[site]` block (its former name).
pub type Site = SiteConfig;

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
}

impl Default for Daemon {
    fn default() -> Self {
        Daemon {
            state_dir: default_state_dir(),
            socket: default_socket(),
            socket_mode: default_socket_mode(),
            socket_group: None,
            max_connections: default_max_connections(),
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
    /// Reads and validates the file at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Config::parse(path, &text)
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
        config.validate().map_err(|message| ConfigError::Invalid {
            path: path.to_owned(),
            message,
        })?;
        config.check_level(path, text)?;
        Ok(config)
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
