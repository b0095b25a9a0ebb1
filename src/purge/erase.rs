//! Secure erasure of one file or folder (PUR-2): simple deletion is not enough.
//!
//! For a sealed container (it starts with the container magic, docs/FORMAT.md) the key is
//! destroyed first ([`crate::seal::destroy_key`]: the header's wrapped key overwritten with
//! random bytes and synced), so the file can never be opened again even if a later step fails
//! or the medium (flash) keeps old copies of the blocks. Then every byte of the file is
//! overwritten with random data in place, synced, the file unlinked and its folder synced.
//!
//! The file's SHA-256 and size are taken while it is read before the overwrite, so the
//! register can say exactly what was destroyed.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::seal::{self, HEADER_LEN};

const BLOCK: usize = 1 << 20;

/// What was erased.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Erased {
    pub path: PathBuf,
    pub size: u64,
    /// SHA-256 of the bytes before erasure, lowercase hex.
    pub sha256: String,
    /// A sealed container, whose key was destroyed first.
    pub sealed: bool,
}

/// Overwrites `path` in place (key area first for sealed files) and syncs it, without
/// unlinking it. [`erase_file`] is this plus unlink; tests call it alone to look at the blocks.
pub fn overwrite(path: &Path) -> std::io::Result<Erased> {
    let mut f = OpenOptions::new().read(true).write(true).open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; BLOCK];
    let mut head = Vec::new();
    let mut size = 0u64;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        if head.len() < HEADER_LEN {
            let take = (HEADER_LEN - head.len()).min(n);
            head.extend_from_slice(&buf[..take]);
        }
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    let sealed = seal::is_container_header(&head);
    if sealed {
        seal::destroy_key(&f)?;
    }
    let mut offset = 0u64;
    while offset < size {
        let n = (size - offset).min(BLOCK as u64) as usize;
        rand::thread_rng().fill_bytes(&mut buf[..n]);
        f.write_all_at(&buf[..n], offset)?;
        offset += n as u64;
    }
    f.flush()?;
    f.sync_all()?;
    Ok(Erased {
        path: path.to_owned(),
        size,
        sha256: hex::encode(hasher.finalize()),
        sealed,
    })
}

/// Overwrites, syncs, unlinks `path` and syncs its folder.
pub fn erase_file(path: &Path) -> std::io::Result<Erased> {
    let erased = overwrite(path)?;
    std::fs::remove_file(path)?;
    sync_dir(path.parent().unwrap_or(Path::new(".")))?;
    Ok(erased)
}

/// Erases a file, or every file below a folder (then removes the emptied folders).
/// Symbolic links, FIFOs, sockets and device nodes hold no content of their own: they are
/// removed, never followed or opened (opening a FIFO would block the purge).
pub fn erase_tree(path: &Path) -> std::io::Result<Vec<Erased>> {
    let mut out = Vec::new();
    erase_tree_into(path, &mut out)?;
    Ok(out)
}

/// Like [`erase_tree`], pushing each erased file to `out` as it goes. A file that cannot be
/// erased does not stop the others: every file that can be is erased, and the first error is
/// returned at the end, so the caller knows both what was destroyed and what was not.
pub fn erase_tree_into(path: &Path, out: &mut Vec<Erased>) -> std::io::Result<()> {
    let meta = std::fs::symlink_metadata(path)?;
    if meta.is_file() {
        out.push(erase_file(path)?);
        return Ok(());
    }
    if !meta.is_dir() {
        return std::fs::remove_file(path);
    }
    let mut children: Vec<PathBuf> = std::fs::read_dir(path)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    children.sort();
    let mut first_error = None;
    for child in children {
        if let Err(e) = erase_tree_into(&child, out) {
            first_error.get_or_insert(e);
        }
    }
    if let Some(e) = first_error {
        return Err(e);
    }
    std::fs::remove_dir(path)?;
    sync_dir(path.parent().unwrap_or(Path::new(".")))
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_header_loses_its_key_first_and_everything_is_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.mp4.scelle");
        let mut bytes = seal::MAGIC.to_vec();
        bytes.resize(300, 0x5a);
        std::fs::write(&path, &bytes).unwrap();
        let e = overwrite(&path).unwrap();
        assert!(e.sealed);
        assert_eq!(e.size, 300);
        assert_eq!(e.sha256, hex::encode(Sha256::digest(&bytes)));
        let after = std::fs::read(&path).unwrap();
        assert_eq!(after.len(), 300);
        assert!(after.windows(8).all(|w| w != [0x5a; 8]));
        let gone = erase_tree(dir.path()).unwrap();
        assert_eq!(gone.len(), 1);
        assert!(!dir.path().exists());
    }
}
