//! The hash chain: how an entry's hash is computed from its stored columns.
//!
//! The preimage is text an auditor can rebuild with `sqlite3` alone (see `docs/REGISTER.md`
//! and the `entry_preimage` view): a domain line, then each field as a netstring
//! (`<byte length>:<bytes>,`), so no field can bleed into the next:
//!
//! ```text
//! scelle-register entry v1\n
//! ns(seq) ns(time) ns(kind) ns(case id or "") ns(actor) ns(payload) ns(statement)
//! ns(prev hash hex) ns(signature count) { ns(person) ns(role) ns(signature) }*
//! ```
//!
//! The entry hash is SHA-256 of those bytes. Every column of `entries` and `signatures` is
//! covered, so changing, removing or adding any byte of an entry changes its hash, and each
//! hash is covered by the next entry's `prev_hash`.

use sha2::{Digest, Sha256};

/// First line of every hash preimage.
pub const PREIMAGE_HEADER: &str = "scelle-register entry v1\n";

/// An entry as its columns are stored, before any parsing: what the hash covers.
#[derive(Clone, Debug)]
pub struct RawEntry {
    pub seq: i64,
    pub time: String,
    pub kind: String,
    pub case_id: Option<String>,
    pub actor: String,
    pub payload: String,
    pub statement: String,
    pub prev_hash: String,
    pub hash: String,
    /// (person, role, armored signature), in `idx` order.
    pub signatures: Vec<(String, String, String)>,
}

fn netstring(out: &mut Vec<u8>, field: &[u8]) {
    out.extend_from_slice(field.len().to_string().as_bytes());
    out.push(b':');
    out.extend_from_slice(field);
    out.push(b',');
}

impl RawEntry {
    /// The bytes the entry hash covers.
    pub fn preimage(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            256 + self.payload.len() + self.statement.len() + self.signatures.len() * 400,
        );
        out.extend_from_slice(PREIMAGE_HEADER.as_bytes());
        netstring(&mut out, self.seq.to_string().as_bytes());
        netstring(&mut out, self.time.as_bytes());
        netstring(&mut out, self.kind.as_bytes());
        netstring(&mut out, self.case_id.as_deref().unwrap_or("").as_bytes());
        netstring(&mut out, self.actor.as_bytes());
        netstring(&mut out, self.payload.as_bytes());
        netstring(&mut out, self.statement.as_bytes());
        netstring(&mut out, self.prev_hash.as_bytes());
        netstring(&mut out, self.signatures.len().to_string().as_bytes());
        for (person, role, signature) in &self.signatures {
            netstring(&mut out, person.as_bytes());
            netstring(&mut out, role.as_bytes());
            netstring(&mut out, signature.as_bytes());
        }
        out
    }

    /// SHA-256 of [`RawEntry::preimage`].
    pub fn compute_hash(&self) -> [u8; 32] {
        Sha256::digest(self.preimage()).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_cannot_bleed_into_each_other() {
        let mut a = RawEntry {
            seq: 1,
            time: "t".into(),
            kind: "k".into(),
            case_id: None,
            actor: "ab".into(),
            payload: "{}".into(),
            statement: "s".into(),
            prev_hash: "00".into(),
            hash: String::new(),
            signatures: vec![],
        };
        let h1 = a.compute_hash();
        a.actor = "a".into();
        a.payload = "b{}".into();
        assert_ne!(h1, a.compute_hash());
    }
}
