//! The register's vocabulary: entry kinds, entries to append, stored entries, signatures and
//! people records, and the statement text a person signs.
//!
//! The statement covers what an entry says (kind, case, actor, payload) but not where it lands
//! in the chain (sequence, time, previous hash), so a person can sign before the daemon appends.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::canonical::to_canonical_json;
use super::error::RegisterError;

/// SSHSIG namespace of every signature in the register (`ssh-keygen -Y sign -n scelle-register`).
pub const SIGNATURE_NAMESPACE: &str = "scelle-register";

/// First line of every statement; versioned so the format can change without ambiguity.
pub const STATEMENT_HEADER: &str = "scelle-register statement v1";

/// First line of the text the site key signs for every entry of a sealed register (the
/// "seal"): unlike a statement it names the entry's place in the chain.
pub const SEAL_HEADER: &str = "scelle-register sealed v1";

/// Defines [`EntryKind`] from one list: the variants, their stored names ([`EntryKind::as_str`],
/// and serde's), and [`EntryKind::ALL`] in declaration order. A kind added here is a compile
/// error in every fold that matches on `EntryKind` without a wildcard until it is handled.
macro_rules! entry_kinds {
    ($($(#[$doc:meta])* $variant:ident => $name:literal,)+) => {
        /// What an entry records. The kebab-case names are stored in the database and are stable.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[non_exhaustive]
        pub enum EntryKind {
            $($(#[$doc])* #[serde(rename = $name)] $variant,)+
        }

        impl EntryKind {
            /// Every kind, in declaration order.
            pub const ALL: [EntryKind; [$($name),+].len()] = [$(EntryKind::$variant),+];

            /// The stable name stored in the database.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(EntryKind::$variant => $name,)+
                }
            }
        }
    };
}

entry_kinds! {
    PeopleChanged => "people-changed",
    ConfigChanged => "config-changed",
    CaseOpened => "case-opened",
    DocumentAttached => "document-attached",
    RequesterVerified => "requester-verified",
    CaseAuthorized => "case-authorized",
    EmergencyStarted => "emergency-started",
    EmergencyRegularized => "emergency-regularized",
    ExportStarted => "export-started",
    ExportCompleted => "export-completed",
    ExportFailed => "export-failed",
    ExportInterrupted => "export-interrupted",
    ExportVerified => "export-verified",
    Delivered => "delivered",
    ReceiptAttached => "receipt-attached",
    Purged => "purged",
    MediaInventoried => "media-inventoried",
    CaseClosed => "case-closed",
    Checkpoint => "checkpoint",
    MediaDestroyed => "media-destroyed",
    /// The authorizer's countersignature of what an export actually extracted (STEP-5).
    ExportCountersigned => "export-countersigned",
    /// How a data subject's identity and the legitimacy of their access request were proven
    /// (AUTH-5, DEL-2), signed by the person who checked.
    IdentityProven => "identity-proven",
    /// An on-site viewing of an access-request case's footage (DEL-2), signed by the operator
    /// who held it.
    ViewedOnSite => "viewed-on-site",
}

impl EntryKind {
    /// Parses a stored name.
    pub fn parse(name: &str) -> Option<EntryKind> {
        EntryKind::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

impl std::fmt::Display for EntryKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One signature attached to an entry: who signed, in which role, and the armored SSHSIG
/// (`-----BEGIN SSH SIGNATURE-----`) over the entry's statement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntrySignature {
    pub person: String,
    pub role: String,
    pub signature: String,
}

/// A person of the people list. A `PeopleChanged` entry's payload is `{"people": [...]}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonRecord {
    pub id: String,
    pub name: String,
    pub unix_account: String,
    pub roles: Vec<String>,
    /// OpenSSH one-line public key (`ssh-ed25519 AAAA... comment`).
    pub public_key: String,
}

/// An entry to append. The register assigns sequence, time and hashes.
#[derive(Clone, Debug, PartialEq)]
pub struct NewEntry {
    pub kind: EntryKind,
    pub case_id: Option<String>,
    /// A person id from the people list, or `"scelle"` for the daemon itself.
    pub actor: String,
    pub payload: Value,
    pub signatures: Vec<EntrySignature>,
}

impl NewEntry {
    /// An unsigned entry.
    pub fn new(kind: EntryKind, case_id: Option<&str>, actor: &str, payload: Value) -> NewEntry {
        NewEntry {
            kind,
            case_id: case_id.map(str::to_owned),
            actor: actor.to_owned(),
            payload,
            signatures: Vec::new(),
        }
    }

    /// The canonical bytes a signer signs (SSHSIG, namespace [`SIGNATURE_NAMESPACE`]).
    ///
    /// UTF-8 text, one field per line, ending with a newline; stored verbatim in the
    /// `statement` column so an auditor can feed it to `ssh-keygen -Y verify`.
    pub fn statement(&self) -> Vec<u8> {
        statement_text(
            self.kind.as_str(),
            self.case_id.as_deref(),
            &self.actor,
            &to_canonical_json(&self.payload),
        )
        .into_bytes()
    }

    /// Checks the fields that end up in the one-line-per-field statement.
    pub(crate) fn validate(&self) -> Result<(), RegisterError> {
        check_line("actor", &self.actor)?;
        if let Some(case) = &self.case_id {
            check_line("case id", case)?;
        }
        for s in &self.signatures {
            check_line("signature person", &s.person)?;
            check_line("signature role", &s.role)?;
        }
        Ok(())
    }
}

fn check_line(what: &str, value: &str) -> Result<(), RegisterError> {
    if value.is_empty() {
        return Err(RegisterError::InvalidEntry(format!("{what} is empty")));
    }
    if value.chars().any(char::is_control) {
        return Err(RegisterError::InvalidEntry(format!(
            "{what} contains control characters"
        )));
    }
    Ok(())
}

/// Builds the statement text from stored fields (the payload already canonical).
pub(crate) fn statement_text(
    kind: &str,
    case_id: Option<&str>,
    actor: &str,
    payload: &str,
) -> String {
    format!(
        "{STATEMENT_HEADER}\nkind: {kind}\ncase: {}\nactor: {actor}\npayload: {payload}\n",
        case_id.unwrap_or("-")
    )
}

/// The text the site key signs for the entry at `seq` (its seal): the seal header, the entry's
/// sequence number, time and previous hash, then its statement. Because it covers the previous
/// hash, a seal vouches for the whole chain before the entry as well; moving, editing or
/// re-chaining any entry breaks every seal from there on.
pub fn seal_text(seq: u64, time: &str, prev_hash: &str, statement: &str) -> String {
    format!("{SEAL_HEADER}\nseq: {seq}\ntime: {time}\nprev: {prev_hash}\n{statement}")
}

/// The head of the chain: the last sequence number and its hash (seq 0 and zero hash when
/// the register is empty).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Head {
    pub seq: u64,
    #[serde(with = "hex32")]
    pub hash: [u8; 32],
}

impl Head {
    /// The head of an empty register.
    pub const GENESIS: Head = Head {
        seq: 0,
        hash: [0; 32],
    };

    /// `SEQ:HEX`, the form printed on receipts and accepted by `register verify --head`.
    pub fn to_text(&self) -> String {
        format!("{}:{}", self.seq, hex::encode(self.hash))
    }

    /// Parses `SEQ:HEX`.
    pub fn parse(text: &str) -> Option<Head> {
        let (seq, hash) = text.trim().split_once(':')?;
        let seq = seq.parse().ok()?;
        let mut out = [0u8; 32];
        hex::decode_to_slice(hash, &mut out).ok()?;
        Some(Head { seq, hash: out })
    }
}

impl std::fmt::Display for Head {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_text())
    }
}

/// A stored entry.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Entry {
    pub seq: u64,
    /// UTC time of the append, as stored (RFC 3339, microseconds, `Z`).
    pub time: jiff::Timestamp,
    pub kind: EntryKind,
    pub case_id: Option<String>,
    pub actor: String,
    pub payload: Value,
    /// The exact statement text the signatures cover.
    pub statement: String,
    #[serde(with = "hex32")]
    pub prev_hash: [u8; 32],
    #[serde(with = "hex32")]
    pub hash: [u8; 32],
    pub signatures: Vec<EntrySignature>,
}

impl Entry {
    /// The head this entry makes when it is the last one.
    pub fn head(&self) -> Head {
        Head {
            seq: self.seq,
            hash: self.hash,
        }
    }
}

/// Hashes as 64 lower-case hex digits in JSON.
mod hex32 {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub(super) fn serialize<S: Serializer>(hash: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(hash))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let text = String::deserialize(d)?;
        let mut out = [0u8; 32];
        hex::decode_to_slice(&text, &mut out).map_err(D::Error::custom)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::EntryKind;

    /// The stored names are part of every register ever written: this list is the register's
    /// contract, written out once more on purpose so a rename fails here.
    #[test]
    fn stored_names_are_stable() {
        let names: Vec<&str> = EntryKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "people-changed",
                "config-changed",
                "case-opened",
                "document-attached",
                "requester-verified",
                "case-authorized",
                "emergency-started",
                "emergency-regularized",
                "export-started",
                "export-completed",
                "export-failed",
                "export-interrupted",
                "export-verified",
                "delivered",
                "receipt-attached",
                "purged",
                "media-inventoried",
                "case-closed",
                "checkpoint",
                "media-destroyed",
                "export-countersigned",
                "identity-proven",
                "viewed-on-site",
            ]
        );
    }

    /// serde (payloads, JSON exports), `as_str` (the database) and `parse` agree on every kind.
    #[test]
    fn serde_as_str_and_parse_agree() {
        for kind in EntryKind::ALL {
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
            assert_eq!(serde_json::from_str::<EntryKind>(&json).unwrap(), kind);
            assert_eq!(EntryKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(EntryKind::parse("Export-Started"), None);
    }
}
