//! The `[site]` block: who and where the site is (shown on receipts and in the register) and
//! the security level it must meet. `level` is the minimum the whole site is held to:
//! on `renforce` and `premium`, every link to a camera must be encrypted (ENC-5), and a camera
//! entry that is not is refused at load unless it carries an exception with its reason.

use serde::Deserialize;

use super::TimeZoneName;

/// The `[site]` block.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SiteConfig {
    /// Shown on receipts and in the register.
    pub name: String,
    /// IANA time zone name (`Europe/Paris`), used for every local time shown to people.
    pub time_zone: TimeZoneName,
    /// Short stable identifier of the site.
    #[serde(default)]
    pub id: Option<String>,
    /// The data controller (responsable de traitement).
    #[serde(default)]
    pub controller: Option<String>,
    /// Postal address of the site.
    #[serde(default)]
    pub address: Option<String>,
    /// How to reach the data protection officer.
    #[serde(default)]
    pub dpo_contact: Option<String>,
    /// The security level the site must meet; default `standard`.
    #[serde(default)]
    pub level: SiteLevel,
}

/// Security levels, in increasing order of demands.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum SiteLevel {
    #[default]
    Standard,
    /// "Renforcé": encrypted links to every device (ENC-5).
    Renforce,
    Premium,
}

impl SiteLevel {
    /// The name as written in the configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            SiteLevel::Standard => "standard",
            SiteLevel::Renforce => "renforce",
            SiteLevel::Premium => "premium",
        }
    }

    /// Links to cameras must be encrypted.
    pub fn requires_encrypted_links(self) -> bool {
        self >= SiteLevel::Renforce
    }
}
