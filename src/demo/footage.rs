//! Camera `cam1`'s demo recording: three 10 s H.264 segments of 2026-01-15 starting 14:00:00,
//! 14:00:10 and 14:00:30 UTC (the 14:00:20 one is missing on purpose, so an export of
//! 14:00:00–14:00:40 reports one gap). Embedded so the demo runs from the binary alone.

use std::path::{Path, PathBuf};

/// Camera id of the demo footage, and its folder name below the recorder root.
pub const CAMERA: &str = "cam1";

/// The range the demo exports (RFC 3339, UTC): the whole recording, gap included.
pub const RANGE_START: &str = "2026-01-15T14:00:00Z";
pub const RANGE_END: &str = "2026-01-15T14:00:40Z";

/// Segment files relative to the recorder root (pattern `{camera}/%Y/%m/%d/%H-%M-%S.mp4`).
pub const SEGMENTS: [(&str, &[u8]); 3] = [
    (
        "cam1/2026/01/15/14-00-00.mp4",
        include_bytes!("../../demo/footage/cam1/2026/01/15/14-00-00.mp4"),
    ),
    (
        "cam1/2026/01/15/14-00-10.mp4",
        include_bytes!("../../demo/footage/cam1/2026/01/15/14-00-10.mp4"),
    ),
    (
        "cam1/2026/01/15/14-00-30.mp4",
        include_bytes!("../../demo/footage/cam1/2026/01/15/14-00-30.mp4"),
    ),
];

/// Writes the segments below `root` (the demo's "recorder"); returns the files written.
pub fn write(root: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut written = Vec::with_capacity(SEGMENTS.len());
    for (name, bytes) in SEGMENTS {
        let path = root.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, bytes)?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_segments_are_mp4_files_named_by_their_start() {
        for (name, bytes) in SEGMENTS {
            assert!(name.starts_with("cam1/2026/01/15/14-00-"), "{name}");
            assert_eq!(&bytes[4..8], b"ftyp", "{name} is an MP4 file");
        }
        let dir = std::env::temp_dir().join(format!("scelle-footage-{}", std::process::id()));
        let files = write(&dir).unwrap();
        assert_eq!(files.len(), 3);
        assert_eq!(std::fs::read(&files[0]).unwrap(), SEGMENTS[0].1);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
