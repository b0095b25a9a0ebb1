//! A drive's identity from the system: sysfs (`/sys/dev/block/MAJ:MIN`, vendor, model,
//! serial), udev's `/dev/disk/by-uuid` links and its database in `/run/udev/data`.

use std::path::PathBuf;

use super::DriveIdentity;
use super::mount::MountEntry;

/// The drive behind a mount, from sysfs and udev's by-uuid links (best effort: a field the
/// system does not expose stays empty).
pub fn identify(m: &MountEntry) -> DriveIdentity {
    let mut id = DriveIdentity {
        device: m.source.clone(),
        mount_point: m.mount_point.display().to_string(),
        fs_type: m.fs_type.clone(),
        ..DriveIdentity::default()
    };
    let sys = PathBuf::from(format!("/sys/dev/block/{}:{}", m.major, m.minor));
    if let Ok(mut dev) = std::fs::canonicalize(&sys) {
        if dev.join("partition").exists() {
            dev.pop();
        }
        let read = |name: &str| {
            std::fs::read_to_string(dev.join("device").join(name))
                .map(|s| s.trim().to_owned())
                .unwrap_or_default()
        };
        id.vendor = read("vendor");
        id.model = read("model");
        id.serial = read("serial");
        if id.serial.is_empty() {
            id.serial = read("wwid");
        }
    }
    if let Ok(dir) = std::fs::read_dir("/dev/disk/by-uuid") {
        let target = std::fs::canonicalize(&m.source).ok();
        for e in dir.flatten() {
            if target.is_some() && std::fs::canonicalize(e.path()).ok() == target {
                id.fs_uuid = e.file_name().to_string_lossy().into_owned();
                break;
            }
        }
    }
    // Under systemd's `PrivateDevices=` /dev has no disks: udev's database in /run says the
    // same (issue 15), and needs no device access.
    if id.fs_uuid.is_empty() || id.serial.is_empty() {
        let udev = std::fs::read_to_string(format!("/run/udev/data/b{}:{}", m.major, m.minor))
            .unwrap_or_default();
        let (uuid, serial) = udev_ids(&udev);
        if id.fs_uuid.is_empty() {
            id.fs_uuid = uuid;
        }
        if id.serial.is_empty() {
            id.serial = serial;
        }
    }
    id
}

/// The filesystem UUID and the drive serial in a udev database record (`E:ID_FS_UUID=…`,
/// `E:ID_SERIAL_SHORT=…`); empty when absent.
pub fn udev_ids(record: &str) -> (String, String) {
    let get = |key: &str| {
        record
            .lines()
            .find_map(|l| l.strip_prefix("E:")?.strip_prefix(key)?.strip_prefix('='))
            .map(|v| v.trim().to_owned())
            .unwrap_or_default()
    };
    (get("ID_FS_UUID"), get("ID_SERIAL_SHORT"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn udev_records_give_the_uuid_and_serial() {
        let rec = "S:disk/by-uuid/1A2B-3C4D\nE:ID_FS_UUID_ENC=1A2B-3C4D\nE:ID_FS_UUID=1A2B-3C4D\n\
                   E:ID_SERIAL=Kingston_DT_0019E06B4AC1-0:0\nE:ID_SERIAL_SHORT=0019E06B4AC1\n";
        assert_eq!(
            udev_ids(rec),
            ("1A2B-3C4D".to_owned(), "0019E06B4AC1".to_owned())
        );
        assert_eq!(udev_ids(""), (String::new(), String::new()));
    }
}
