//! Drives: what a removable drive is and what the register says about it, for the export
//! (which checks the destination) and the inventory (which records drives) alike, so both name
//! a drive the same way and neither imports the other.
//!
//! - [`DriveIdentity`]: the drive as sysfs/udev describe it, recorded in every export entry;
//! - [`mount`]: which mounted filesystem holds a path (`/proc/self/mountinfo`);
//! - [`sysfs`]: the identity of the drive behind a mount;
//! - [`fold`]: the drives as the register tells them (the inventory: inventoried, used by
//!   exports, destroyed);
//! - [`destroyed`]: whether the register records the destruction of the drive a serial
//!   designates (PUR-4), which refuses an export to it.

pub mod destroyed;
pub mod fold;
pub mod mount;
pub mod sysfs;

use serde::{Deserialize, Serialize};

use crate::register::{Entry, EntryKind};

pub use destroyed::{Destroyed, Destruction, destruction_of};
pub use mount::{MountEntry, mount_of, parse_mountinfo};
pub use sysfs::{identify, udev_ids};

/// The destination drive as sysfs/udev describe it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriveIdentity {
    /// Block device backing the mount, e.g. `/dev/sdb1`.
    pub device: String,
    pub mount_point: String,
    pub fs_type: String,
    pub vendor: String,
    pub model: String,
    pub serial: String,
    /// Filesystem UUID when known.
    #[serde(default)]
    pub fs_uuid: String,
}

/// The drive an export entry names: `drive` in `export-started`, `record.destination.drive`
/// in `export-verified` / `export-completed`.
pub fn drive_of(e: &Entry) -> Option<DriveIdentity> {
    let v = match e.kind {
        EntryKind::ExportStarted => e.payload.get("drive")?,
        EntryKind::ExportVerified | EntryKind::ExportCompleted => {
            e.payload.get("record")?.get("destination")?.get("drive")?
        }
        EntryKind::PeopleChanged
        | EntryKind::ConfigChanged
        | EntryKind::CaseOpened
        | EntryKind::DocumentAttached
        | EntryKind::RequesterVerified
        | EntryKind::IdentityProven
        | EntryKind::ViewedOnSite
        | EntryKind::CaseAuthorized
        | EntryKind::EmergencyStarted
        | EntryKind::EmergencyRegularized
        | EntryKind::ExportFailed
        | EntryKind::ExportInterrupted
        | EntryKind::Delivered
        | EntryKind::ReceiptAttached
        | EntryKind::Purged
        | EntryKind::MediaInventoried
        | EntryKind::CaseClosed
        | EntryKind::Checkpoint
        | EntryKind::MediaDestroyed
        | EntryKind::ExportCountersigned => return None,
    };
    serde_json::from_value(v.clone()).ok()
}

/// The id of the export an entry is about, if it is an export entry.
pub fn export_id_of(e: &Entry) -> Option<String> {
    let p = &e.payload;
    let id = p
        .get("export_id")
        .or_else(|| p.get("record").and_then(|r| r.get("export_id")))?;
    id.as_str().map(str::to_owned)
}
