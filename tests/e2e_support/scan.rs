//! The plaintext scanner of the no-plaintext tests (ENC-2): walks folders and reports every
//! regular file holding an MP4 signature (`ftyp`) that is not a sealed container — the
//! signature of a plaintext MP4 (or a piece of one) left on disk.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// A plaintext MP4 signature found on disk.
#[derive(Clone, Debug)]
pub struct Finding {
    pub path: PathBuf,
    pub offset: usize,
}

/// Scans `roots` recursively; paths under `allowed` (the tests' own source clips, the
/// "recorder") are skipped. Files vanishing during the walk are fine (a scan runs during an
/// export).
pub fn scan(roots: &[&Path], allowed: &[&Path]) -> Vec<Finding> {
    let mut found = Vec::new();
    for root in roots {
        walk(root, allowed, &mut found);
    }
    found
}

fn walk(dir: &Path, allowed: &[&Path], found: &mut Vec<Finding>) {
    if allowed.iter().any(|a| dir.starts_with(a)) {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            walk(&path, allowed, found);
        } else if kind.is_file()
            && !allowed.iter().any(|a| path.starts_with(a))
            && let Some(offset) = plaintext_signature(&path)
        {
            found.push(Finding { path, offset });
        }
    }
}

/// The offset of `ftyp` in the file unless it is a sealed container.
pub fn plaintext_signature(path: &Path) -> Option<usize> {
    let bytes = std::fs::read(path).ok()?;
    if scelle::seal::read_header(&mut &bytes[..]).is_ok() {
        // Ciphertext: its content is authenticated, not readable; a sealed file is what
        // an export is made of.
        return None;
    }
    bytes.windows(4).position(|w| w == b"ftyp")
}
