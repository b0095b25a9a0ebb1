//! The two changes to the inventory: a medium inventoried (`media-inventoried`) and a medium
//! destroyed (`media-destroyed`), with their checks. Both are site-level entries (no case id),
//! the actor being the person who recorded them. The check and the append run under one lock
//! so two requests cannot inventory the same serial twice.
//!
//! The identity of a mounted drive is read with the export's own destination code
//! ([`crate::drive`]), so the inventory and the export entries name a drive alike.

use std::path::Path;
use std::sync::Mutex;

use jiff::civil::Date;
use serde_json::json;

use super::{Destruction, MediaFacts, inventory};
use crate::drive::{DriveIdentity, identify, mount_of, parse_mountinfo};
use crate::register::{Entry, EntryKind, NewEntry, Register, RegisterError};

/// Longest free-text field accepted.
const MAX_TEXT: usize = 200;

/// Serializes check-then-append of the inventory's entries within the daemon.
static APPEND: Mutex<()> = Mutex::new(());

/// Why an inventory change was not recorded.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// The request is well formed but the inventory forbids it.
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    BadInput(String),
    #[error("{0}")]
    NotFound(String),
    #[error("register: {0}")]
    Register(#[from] RegisterError),
}

/// The identity of the drive mounted at (or holding) `path`, as an export would record it.
pub fn identity_of(path: &Path) -> Result<DriveIdentity, MediaError> {
    if !path.is_absolute() {
        return Err(MediaError::BadInput(format!(
            "{} must be an absolute path (the drive's mount point)",
            path.display()
        )));
    }
    let root = std::fs::canonicalize(path).map_err(|e| {
        MediaError::NotFound(format!(
            "{} is not reachable ({e}): is the drive plugged in and mounted?",
            path.display()
        ))
    })?;
    let mounts = std::fs::read_to_string("/proc/self/mountinfo")
        .map(|t| parse_mountinfo(&t))
        .unwrap_or_default();
    let m = mount_of(&mounts, &root).ok_or_else(|| {
        MediaError::NotFound(format!("no mounted filesystem holds {}", root.display()))
    })?;
    Ok(identify(m))
}

fn clean(what: &str, value: &str) -> Result<String, MediaError> {
    let v = value.trim();
    if v.chars().count() > MAX_TEXT || v.chars().any(char::is_control) {
        return Err(MediaError::BadInput(format!(
            "{what} must be one line of at most {MAX_TEXT} characters"
        )));
    }
    Ok(v.to_owned())
}

/// Inventories a medium as `person`: refuses an empty serial and a serial inventoried and not
/// destroyed; `facts.inventory_id` is ignored (the next `MED-NNNN` is given).
pub fn add(
    register: &Register,
    person: &str,
    facts: &MediaFacts,
) -> Result<(MediaFacts, Entry), MediaError> {
    let mut facts = MediaFacts {
        inventory_id: String::new(),
        vendor: clean("vendor", &facts.vendor)?,
        model: clean("model", &facts.model)?,
        serial: clean("serial", &facts.serial)?,
        fs_uuid: clean("fs_uuid", &facts.fs_uuid)?,
        label: clean("label", &facts.label)?,
    };
    if facts.serial.is_empty() {
        return Err(MediaError::BadInput(
            "a medium needs its serial number (exports name drives by serial): give --serial, \
             or --from the drive's mount point if it exposes one"
                .into(),
        ));
    }
    let _guard = APPEND.lock().unwrap_or_else(|p| p.into_inner());
    let inv = inventory(register)?;
    if let Some(m) = inv.by_serial(&facts.serial)
        && let Some(id) = &m.inventory_id
        && m.destroyed.is_none()
    {
        return Err(MediaError::Refused(format!(
            "serial `{}` is already inventoried as {id} and not destroyed",
            facts.serial
        )));
    }
    facts.inventory_id = inv.next_inventory_id();
    let entry = register.append(NewEntry::new(
        EntryKind::MediaInventoried,
        None,
        person,
        json!({ "media": facts, "by": person }),
    ))?;
    Ok((facts, entry))
}

/// What the authorizer says of a destroyed medium.
#[derive(Clone, Debug)]
pub struct DestroyRequest {
    /// Serial or inventory id (at least one).
    pub serial: Option<String>,
    pub inventory_id: Option<String>,
    pub certificate: String,
    pub destroyed_on: Date,
    pub method: String,
}

/// Records the destruction of an inventoried medium as `person`. `today` is the site's date:
/// a destruction cannot be dated later.
pub fn destroy(
    register: &Register,
    person: &str,
    req: &DestroyRequest,
    today: Date,
) -> Result<(Destruction, Entry), MediaError> {
    let certificate = clean("certificate", &req.certificate)?;
    if certificate.is_empty() {
        return Err(MediaError::BadInput(
            "the destruction certificate's reference is required (--certificate)".into(),
        ));
    }
    let method = clean("method", &req.method)?;
    if req.destroyed_on > today {
        return Err(MediaError::BadInput(format!(
            "destruction date {} is in the future (today is {today})",
            req.destroyed_on
        )));
    }
    let _guard = APPEND.lock().unwrap_or_else(|p| p.into_inner());
    let inv = inventory(register)?;
    let found = match (&req.inventory_id, &req.serial) {
        (Some(id), _) if !id.trim().is_empty() => inv.by_inventory_id(id),
        (_, Some(serial)) if !serial.trim().is_empty() => inv.by_serial(serial),
        _ => {
            return Err(MediaError::BadInput(
                "say which medium: its serial or its inventory id".into(),
            ));
        }
    };
    let medium = found.filter(|m| m.is_inventoried()).ok_or_else(|| {
        MediaError::NotFound(format!(
            "no inventoried medium {} (`scelle media list`)",
            req.inventory_id
                .as_deref()
                .or(req.serial.as_deref())
                .unwrap_or_default()
                .trim()
        ))
    })?;
    if let Some(d) = &medium.destroyed {
        return Err(MediaError::Refused(format!(
            "{} was already recorded as destroyed on {} (certificate {})",
            medium.inventory_id.as_deref().unwrap_or_default(),
            d.destruction.destroyed_on,
            d.destruction.certificate
        )));
    }
    let destruction = Destruction {
        serial: medium.serial.clone(),
        inventory_id: medium.inventory_id.clone().unwrap_or_default(),
        certificate,
        destroyed_on: req.destroyed_on.to_string(),
        method,
    };
    let entry = register.append(NewEntry::new(
        EntryKind::MediaDestroyed,
        None,
        person,
        serde_json::to_value(&destruction).unwrap_or_default(),
    ))?;
    Ok((destruction, entry))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(serial: &str) -> MediaFacts {
        MediaFacts {
            serial: serial.into(),
            model: "DT2000".into(),
            label: "clé rouge".into(),
            ..MediaFacts::default()
        }
    }

    #[test]
    fn add_destroy_and_add_again() {
        let dir = tempfile::tempdir().unwrap();
        let reg = Register::open(&dir.path().join("r.sqlite")).unwrap();
        let (f, _) = add(&reg, "olivia", &facts(" S-1 ")).unwrap();
        assert_eq!(
            (f.inventory_id.as_str(), f.serial.as_str()),
            ("MED-0001", "S-1")
        );
        assert!(matches!(
            add(&reg, "olivia", &facts("S-1")),
            Err(MediaError::Refused(_))
        ));
        assert!(matches!(
            add(&reg, "olivia", &facts("  ")),
            Err(MediaError::BadInput(_))
        ));
        let today: Date = "2026-11-23".parse().unwrap();
        let mut req = DestroyRequest {
            serial: Some("S-1".into()),
            inventory_id: None,
            certificate: " ".into(),
            destroyed_on: today,
            method: "broyage".into(),
        };
        assert!(matches!(
            destroy(&reg, "arthur", &req, today),
            Err(MediaError::BadInput(_))
        ));
        req.certificate = "CERT-42".into();
        req.destroyed_on = "2026-11-24".parse().unwrap();
        let e = destroy(&reg, "arthur", &req, today).unwrap_err();
        assert!(e.to_string().contains("future"), "{e}");
        req.destroyed_on = today;
        let (d, _) = destroy(&reg, "arthur", &req, today).unwrap();
        assert_eq!(d.inventory_id, "MED-0001");
        assert!(matches!(
            destroy(&reg, "arthur", &req, today),
            Err(MediaError::Refused(_))
        ));
        req.serial = Some("nope".into());
        assert!(matches!(
            destroy(&reg, "arthur", &req, today),
            Err(MediaError::NotFound(_))
        ));
        let (again, _) = add(&reg, "olivia", &facts("S-1")).unwrap();
        assert_eq!(again.inventory_id, "MED-0002");
        assert!(super::super::destruction_of(&reg, "S-1").unwrap().is_none());
        reg.verify(None).unwrap();
    }
}
