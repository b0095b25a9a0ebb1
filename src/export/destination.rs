//! Destination checks before anything is written (issue 7, ENC-3): the path is a directory on
//! a mounted filesystem (found in `/proc/self/mountinfo`), not the system disk's (unless the
//! configuration allows it, which is recorded), with room for the estimate; the drive's
//! identity ([`crate::drive`]: sysfs, udev) is matched against the approved drives.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::ExportError;
use crate::config::{ApprovedDrive, Export};
use crate::drive::{Destroyed, DriveIdentity, identify, mount_of, parse_mountinfo};

/// What the checks found about the destination.
#[derive(Clone, Debug)]
pub struct Checked {
    /// The canonical `--to` directory.
    pub root: PathBuf,
    pub drive: DriveIdentity,
    /// `false` when the destination shares the system disk's filesystem (allowed only with
    /// `require_separate_drive = false`).
    pub separate_drive: bool,
    pub approved: bool,
    pub accepted_by_operator: bool,
    /// Bytes available to the daemon on the destination.
    pub free_bytes: u64,
}

/// Runs every check on `to`; `estimate` is the bytes the export is expected to need.
pub fn check(
    to: &Path,
    settings: &Export,
    accept_drive: bool,
    estimate: u64,
) -> Result<Checked, ExportError> {
    if !to.is_absolute() {
        return Err(ExportError::BadInput(format!(
            "the destination {} must be an absolute path",
            to.display()
        )));
    }
    let root = std::fs::canonicalize(to).map_err(|e| {
        ExportError::Refused(format!(
            "destination {} is not reachable ({e}): is the drive plugged in and mounted?",
            to.display()
        ))
    })?;
    let meta = std::fs::metadata(&root).map_err(|e| ExportError::io(&root, e))?;
    if !meta.is_dir() {
        return Err(ExportError::Refused(format!(
            "destination {} is not a directory",
            root.display()
        )));
    }
    let system = std::fs::metadata("/").map_err(|e| ExportError::io(Path::new("/"), e))?;
    let separate_drive = meta.dev() != system.dev();
    if !separate_drive && settings.require_separate_drive {
        return Err(ExportError::Refused(format!(
            "destination {} is on the system disk: plug in an approved encrypted drive and \
             export to its mount point",
            root.display()
        )));
    }
    let mounts = std::fs::read_to_string("/proc/self/mountinfo")
        .map(|t| parse_mountinfo(&t))
        .unwrap_or_default();
    let mut drive = match mount_of(&mounts, &root) {
        Some(m) => identify(m),
        None => DriveIdentity::default(),
    };
    if drive.mount_point.is_empty() {
        drive.mount_point = root.display().to_string();
    }
    let approved = is_approved(&drive, &settings.approved_drives);
    if !approved && !accept_drive {
        return Err(ExportError::Refused(format!(
            "the drive at {} (model `{}`, serial `{}`) is not an approved encrypted drive (ENC-3): \
             use an approved drive, or pass --accept-drive to accept it (recorded in the register)",
            drive.mount_point,
            or_unknown(&drive.model),
            or_unknown(&drive.serial)
        )));
    }
    let vfs = rustix::fs::statvfs(&root).map_err(|e| ExportError::io(&root, e.into()))?;
    let free_bytes = vfs.f_bavail.saturating_mul(vfs.f_frsize);
    if free_bytes < estimate {
        return Err(ExportError::Refused(format!(
            "not enough free space on {}: {} MB free, about {} MB needed (estimate from the \
             assumed bitrate): use a larger drive or export fewer ranges",
            drive.mount_point,
            free_bytes / 1_000_000,
            estimate.div_ceil(1_000_000)
        )));
    }
    Ok(Checked {
        root,
        drive,
        separate_drive,
        approved,
        accepted_by_operator: !approved && accept_drive,
        free_bytes,
    })
}

/// Refuses a drive whose destruction the media inventory records (PUR-4): such a drive should
/// not exist any more, so either the certificate is wrong or the drive is not what it says.
/// `destroyed` is the inventory's answer for the drive's serial (an empty serial has none).
pub fn refuse_destroyed(
    drive: &DriveIdentity,
    destroyed: Option<&Destroyed>,
) -> Result<(), ExportError> {
    match destroyed {
        Some(d) if !drive.serial.is_empty() => Err(ExportError::Refused(format!(
            "the drive at {} (serial `{}`) is medium {}, recorded as destroyed on {} \
             (certificate {}): it must not be used; check the drive and `scelle media list`",
            drive.mount_point,
            drive.serial,
            d.destruction.inventory_id,
            d.destruction.destroyed_on,
            d.destruction.certificate
        ))),
        _ => Ok(()),
    }
}

/// A drive is approved when its model and serial match an entry; an unknown serial never does.
pub fn is_approved(drive: &DriveIdentity, approved: &[ApprovedDrive]) -> bool {
    !drive.serial.is_empty()
        && approved
            .iter()
            .any(|a| a.serial.trim() == drive.serial && a.model.trim() == drive.model)
}

/// The certification the configuration gives the approved entry matching `drive`, if any.
pub fn certification(drive: &DriveIdentity, approved: &[ApprovedDrive]) -> Option<String> {
    approved
        .iter()
        .find(|a| {
            !drive.serial.is_empty()
                && a.serial.trim() == drive.serial
                && a.model.trim() == drive.model
        })
        .and_then(|a| a.certification.clone())
}

fn or_unknown(s: &str) -> &str {
    if s.is_empty() { "unknown" } else { s }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn approval_needs_model_and_serial() {
        let list = vec![ApprovedDrive {
            model: "DataTraveler 2000".into(),
            serial: " 0019E06B4AC1 ".into(),
            certification: None,
        }];
        let mut d = DriveIdentity {
            model: "DataTraveler 2000".into(),
            serial: "0019E06B4AC1".into(),
            ..DriveIdentity::default()
        };
        assert!(is_approved(&d, &list));
        assert_eq!(certification(&d, &list), None);
        let certified = vec![ApprovedDrive {
            certification: Some("CSPN-2023/12".into()),
            ..list[0].clone()
        }];
        assert_eq!(
            certification(&d, &certified).as_deref(),
            Some("CSPN-2023/12")
        );
        d.model = "Other".into();
        assert!(!is_approved(&d, &list));
        let unknown = DriveIdentity::default();
        let empty = vec![ApprovedDrive {
            model: String::new(),
            serial: String::new(),
            certification: None,
        }];
        assert!(!is_approved(&unknown, &empty));
    }

    #[test]
    fn a_destroyed_drive_is_refused() {
        let d = DriveIdentity {
            mount_point: "/media/k".into(),
            serial: "S-1".into(),
            ..DriveIdentity::default()
        };
        let destroyed = Destroyed {
            destruction: crate::drive::Destruction {
                serial: "S-1".into(),
                inventory_id: "MED-0001".into(),
                certificate: "CERT-9".into(),
                destroyed_on: "2026-11-20".into(),
                method: "broyage".into(),
            },
            recorded_by: "arthur".into(),
            recorded_at: jiff::Timestamp::UNIX_EPOCH,
            entry: 7,
        };
        let e = refuse_destroyed(&d, Some(&destroyed)).unwrap_err();
        assert!(matches!(e, ExportError::Refused(_)));
        let text = e.to_string();
        assert!(
            text.contains("MED-0001") && text.contains("CERT-9"),
            "{text}"
        );
        assert!(refuse_destroyed(&d, None).is_ok());
        let blank = DriveIdentity::default();
        assert!(refuse_destroyed(&blank, Some(&destroyed)).is_ok());
    }

    #[test]
    fn a_plain_directory_on_the_system_disk_is_refused_unless_allowed() {
        let dir = std::env::temp_dir();
        let strict = Export::default();
        let system = std::fs::metadata("/").unwrap().dev();
        if std::fs::metadata(&dir).unwrap().dev() == system {
            let e = check(&dir, &strict, true, 0).unwrap_err();
            assert!(e.to_string().contains("system disk"), "{e}");
        }
        let relaxed = Export {
            require_separate_drive: false,
            ..Export::default()
        };
        let ok = check(&dir, &relaxed, true, 0).unwrap();
        assert!(ok.accepted_by_operator && !ok.approved);
        let e = check(&dir, &relaxed, false, 0).unwrap_err();
        assert!(e.to_string().contains("--accept-drive"), "{e}");
        let e = check(&dir, &relaxed, true, u64::MAX).unwrap_err();
        assert!(e.to_string().contains("free space"), "{e}");
        assert!(check(Path::new("relative"), &relaxed, true, 0).is_err());
    }
}
