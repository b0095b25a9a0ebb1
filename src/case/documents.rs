//! Attached documents (written requests, AUTH-3), kept in the state directory under their
//! SHA-256 so the register can reference them by hash and any change is detectable.
//!
//! Layout: `STATE/documents/<hex sha256>`, written to a temporary name, synced, then renamed,
//! so a document is either whole or absent. Storing the same bytes twice is a no-op.

use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// Where documents live.
#[derive(Clone, Debug)]
pub struct DocumentStore {
    dir: PathBuf,
}

impl DocumentStore {
    pub fn new(state_dir: &Path) -> DocumentStore {
        DocumentStore {
            dir: state_dir.join("documents"),
        }
    }

    /// Stores `bytes`; returns their SHA-256 (hex).
    pub fn put(&self, bytes: &[u8]) -> std::io::Result<String> {
        let digest = hex::encode(Sha256::digest(bytes));
        std::fs::create_dir_all(&self.dir)?;
        let path = self.path(&digest);
        if path.exists() {
            return Ok(digest);
        }
        let tmp = self.dir.join(format!(".{digest}.tmp"));
        {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(bytes)?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, &path)?;
        std::fs::File::open(&self.dir)?.sync_all()?;
        Ok(digest)
    }

    /// The path of a stored document.
    pub fn path(&self, sha256: &str) -> PathBuf {
        self.dir.join(sha256)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn stores_by_hash_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = super::DocumentStore::new(dir.path());
        let a = store.put(b"requisition").unwrap();
        assert_eq!(a.len(), 64);
        assert_eq!(store.put(b"requisition").unwrap(), a);
        assert_eq!(std::fs::read(store.path(&a)).unwrap(), b"requisition");
    }
}
