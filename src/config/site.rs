//! The site's identity as documents for outsiders print it (issue 17): the `[site]` keys
//! `id`, `controller` (the data controller, "responsable de traitement"), `address`,
//! `dpo_contact` and `level` (the site's security level), beside `name` and `time_zone`.
//!
//! [`SiteConfig`] is that identity on its own, the form the register records in a
//! `config-changed` entry (`{"site": {...}}`, [`record_site`]) so the register report can print
//! the controller's identity from the register alone.

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::register::{EntryKind, NewEntry, Register, RegisterError};

/// The site's security level (`standard` by default), in increasing order of demands: on
/// `renforce` and `premium`, every link to a camera must be encrypted (ENC-5), and a camera
/// entry that is not is refused at load unless it carries an exception with its reason.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
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

/// The site's identity; every key is optional.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SiteConfig {
    /// A short stable identifier of the site (`lyon-gerland`).
    pub id: Option<String>,
    pub name: Option<String>,
    /// The data controller: the legal entity responsible for the processing.
    pub controller: Option<String>,
    /// The controller's postal address.
    pub address: Option<String>,
    /// How to reach the data protection officer (name, e-mail, telephone).
    pub dpo_contact: Option<String>,
    pub level: SiteLevel,
}

/// Appends a `config-changed` entry `{"site": identity, "time_zone": …,
/// "emergency_regularize_hours": …}` unless the last such entry says the same. Returns
/// whether it appended.
pub fn record_site(
    register: &Register,
    identity: &SiteConfig,
    time_zone: &str,
    emergency_regularize_hours: u32,
) -> Result<bool, RegisterError> {
    let payload = json!({
        "site": identity,
        "time_zone": time_zone,
        "emergency_regularize_hours": emergency_regularize_hours,
    });
    let last = register
        .entries(None)?
        .into_iter()
        .rev()
        .find(|e| e.kind == EntryKind::ConfigChanged && e.payload.get("site").is_some());
    if last.is_some_and(|e| e.payload == payload) {
        return Ok(false);
    }
    register.append(NewEntry::new(
        EntryKind::ConfigChanged,
        None,
        "scelle",
        payload,
    ))?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_identity_is_recorded_once_per_change() {
        let reg = Register::open(std::path::Path::new(":memory:")).unwrap();
        let mut id = SiteConfig {
            controller: Some("SCI Entrepôts du Rhône".into()),
            ..SiteConfig::default()
        };
        assert!(record_site(&reg, &id, "Europe/Paris", 72).unwrap());
        assert!(!record_site(&reg, &id, "Europe/Paris", 72).unwrap());
        id.dpo_contact = Some("dpo@example.fr".into());
        assert!(record_site(&reg, &id, "Europe/Paris", 72).unwrap());
        let e = reg.entries(None).unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!(e[1].payload["site"]["level"], "standard");
    }
}
