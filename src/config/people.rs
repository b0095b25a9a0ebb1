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

/// Ids a person may not take: the daemon's own (`scelle`, the actor of its entries) and names
/// that read as something other than a person in the register.
pub(super) const RESERVED_IDS: &[&str] = &[
    crate::register::SITE_PERSON,
    "site",
    "daemon",
    "system",
    "root",
    "admin",
    "nobody",
    "anonymous",
    "unknown",
    "none",
    "-",
];

/// Where each person's `id` and `public_key` are in the file (byte offsets).
#[derive(Deserialize)]
struct Positions {
    #[serde(default, rename = "person")]
    people: Vec<PersonPositions>,
}

#[derive(Deserialize)]
struct PersonPositions {
    id: toml::Spanned<String>,
    public_key: toml::Spanned<String>,
}

/// Checks what the parser cannot (AUTH-4, AUTH-2): ids unique and not reserved, and one key
/// per person — the same key under two ids would let one person pass as two and hold both
/// sides of a case. `Err` is the byte offset in `text` of the offending value and why.
pub(super) fn validate(people: &[Person], text: &str) -> Result<(), (usize, String)> {
    let positions: Positions = toml::from_str(text).map_err(|e| (0, e.to_string()))?;
    let at = |i: usize, key: bool| {
        positions.people.get(i).map_or(0, |p| {
            if key {
                p.public_key.span().start
            } else {
                p.id.span().start
            }
        })
    };
    for (i, p) in people.iter().enumerate() {
        let id = p.id.as_str();
        if RESERVED_IDS.iter().any(|r| r.eq_ignore_ascii_case(id)) {
            return Err((
                at(i, false),
                format!(
                    "`{id}` is a reserved id (reserved: {}): give this person another id",
                    RESERVED_IDS.join(", ")
                ),
            ));
        }
        if id.is_empty()
            || id.starts_with('-')
            || !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return Err((
                at(i, false),
                format!(
                    "person id `{id}`: use letters, digits, `-`, `_` or `.`, not starting with `-`"
                ),
            ));
        }
        for (j, q) in people[..i].iter().enumerate() {
            if q.id == p.id {
                return Err((
                    at(i, false),
                    format!("person `{id}` is listed twice: ids must be unique"),
                ));
            }
            if q.public_key.key.key_data() == p.public_key.key.key_data() {
                return Err((
                    at(i, true),
                    format!(
                        "person `{id}` has the same public key as `{}` (line {}): one key is \
                         one person (AUTH-2); give each person their own key",
                        q.id,
                        text[..at(j, true).min(text.len())].matches('\n').count() + 1
                    ),
                ));
            }
        }
    }
    Ok(())
}
