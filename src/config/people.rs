//! The people list (AUTH-4): who is expressly allowed to operate, authorize or audit, with the
//! Unix account they log in with and the SSH public key their signatures are checked against.

use serde::Deserialize;

use crate::register::PersonRecord;

/// What a person may do. Kebab-case names in the file and in the register.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Opens cases and runs exports.
    Operator,
    /// Authorizes cases (the data controller's representative).
    Authorizer,
    /// Reads the register.
    Auditor,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Operator => "operator",
            Role::Authorizer => "authorizer",
            Role::Auditor => "auditor",
        }
    }
}

/// One listed person.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Person {
    /// Short stable identifier used in the register (`jdupont`).
    pub id: String,
    /// Full name, as printed on receipts.
    pub name: String,
    /// Unix account the person logs in with; several people may share one.
    pub unix_account: String,
    pub roles: Vec<Role>,
    /// OpenSSH one-line public key.
    pub public_key: PublicKeyLine,
}

impl Person {
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// The form the register records in a `people-changed` entry.
    pub fn record(&self) -> PersonRecord {
        PersonRecord {
            id: self.id.clone(),
            name: self.name.clone(),
            unix_account: self.unix_account.clone(),
            roles: self.roles.iter().map(|r| r.as_str().to_owned()).collect(),
            public_key: self.public_key.line.clone(),
        }
    }
}

/// An OpenSSH public key line, parsed when the file is read so a damaged key is refused at
/// start rather than at the first signature.
#[derive(Clone, Debug)]
pub struct PublicKeyLine {
    pub line: String,
    pub key: ssh_key::PublicKey,
}

impl PartialEq for PublicKeyLine {
    fn eq(&self, other: &Self) -> bool {
        self.line == other.line
    }
}

impl<'de> Deserialize<'de> for PublicKeyLine {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let line = String::deserialize(d)?.trim().to_owned();
        let key = ssh_key::PublicKey::from_openssh(&line).map_err(|e| {
            serde::de::Error::custom(format!(
                "bad public key ({e}): expected an OpenSSH one-line public key such as \
                 the content of ~/.ssh/id_ed25519.pub"
            ))
        })?;
        Ok(PublicKeyLine { line, key })
    }
}
