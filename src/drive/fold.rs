//! The drives as the register tells them (PUR-4): the removable-media inventory folded from the
//! register like cases are. A `media-inventoried` entry adds a medium (inventory id, vendor,
//! model, serial, filesystem UUID, the label stuck on it), a `media-destroyed` entry records
//! its physical destruction (certificate reference, date, method), and every export entry names
//! the drive it went to ([`DriveIdentity`](super::DriveIdentity), matched here by serial).
//!
//! Drives an export used that were never inventoried are listed too, without an inventory id:
//! that is what an auditor looks for. An empty serial never matches anything (a drive that
//! does not expose one cannot be told apart from another); such exports are only counted.
//!
//! Nothing is stored outside the register: the inventory is recomputed from it on demand. The
//! operations that change it are `crate::inventory`'s.

use std::collections::{BTreeSet, HashMap};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Destroyed, Destruction, drive_of, export_id_of};
use crate::register::{Entry, EntryKind, Register, RegisterError};

/// What a `media-inventoried` payload's `media` object holds.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaFacts {
    pub inventory_id: String,
    #[serde(default)]
    pub vendor: String,
    #[serde(default)]
    pub model: String,
    pub serial: String,
    #[serde(default)]
    pub fs_uuid: String,
    /// Free text, e.g. the sticker on the key.
    #[serde(default)]
    pub label: String,
}

/// One medium: inventoried, or only seen as an export's destination.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Medium {
    /// `None`: an export used this drive but it was never inventoried.
    pub inventory_id: Option<String>,
    pub vendor: String,
    pub model: String,
    pub serial: String,
    pub fs_uuid: String,
    pub label: String,
    pub inventoried_at: Option<Timestamp>,
    pub inventoried_by: Option<String>,
    /// Distinct exports whose entries name this drive.
    pub exports: usize,
    /// Of those, the exports completed (signed by their operator).
    pub completed_exports: usize,
    /// The cases those exports belong to.
    pub cases: Vec<String>,
    /// Time of the first and last export entry naming this drive.
    pub first_use: Option<Timestamp>,
    pub last_use: Option<Timestamp>,
    pub destroyed: Option<Destroyed>,
    /// An export entry named this drive after its destruction was recorded.
    pub used_after_destruction: bool,
    #[serde(skip)]
    export_ids: BTreeSet<String>,
    #[serde(skip)]
    completed_ids: BTreeSet<String>,
}

impl Medium {
    fn new(serial: &str) -> Medium {
        Medium {
            inventory_id: None,
            vendor: String::new(),
            model: String::new(),
            serial: serial.to_owned(),
            fs_uuid: String::new(),
            label: String::new(),
            inventoried_at: None,
            inventoried_by: None,
            exports: 0,
            completed_exports: 0,
            cases: Vec::new(),
            first_use: None,
            last_use: None,
            destroyed: None,
            used_after_destruction: false,
            export_ids: BTreeSet::new(),
            completed_ids: BTreeSet::new(),
        }
    }

    pub fn is_inventoried(&self) -> bool {
        self.inventory_id.is_some()
    }
}

/// The folded inventory, in the order the media first appear in the register.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Inventory {
    pub media: Vec<Medium>,
    /// Distinct exports to a drive that exposed no serial (they match no medium).
    pub exports_without_serial: usize,
}

impl Inventory {
    /// The medium a serial designates now: the last one recorded with it (a serial inventoried
    /// again after its destruction designates the new record). Empty serials designate nothing.
    pub fn by_serial(&self, serial: &str) -> Option<&Medium> {
        let serial = serial.trim();
        if serial.is_empty() {
            return None;
        }
        self.media.iter().rev().find(|m| m.serial == serial)
    }

    pub fn by_inventory_id(&self, id: &str) -> Option<&Medium> {
        self.media
            .iter()
            .find(|m| m.inventory_id.as_deref() == Some(id.trim()))
    }

    /// The next free inventory id, `MED-0001` onwards.
    pub fn next_inventory_id(&self) -> String {
        let n = self.media.iter().filter(|m| m.is_inventoried()).count();
        let mut k = n + 1;
        loop {
            let id = format!("MED-{k:04}");
            if self.by_inventory_id(&id).is_none() {
                return id;
            }
            k += 1;
        }
    }
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().trim().to_owned()
}

/// Folds register entries (in chain order) into the inventory. Lenient: an entry whose payload
/// lacks a key contributes what it has.
pub fn fold(entries: &[Entry]) -> Inventory {
    let mut inv = Inventory::default();
    // serial -> index of the medium it designates now.
    let mut current: HashMap<String, usize> = HashMap::new();
    let mut without_serial = BTreeSet::new();
    for e in entries {
        match e.kind {
            EntryKind::MediaInventoried => {
                let Some(m) = e.payload.get("media") else {
                    continue;
                };
                let facts = MediaFacts {
                    inventory_id: text(&m["inventory_id"]),
                    vendor: text(&m["vendor"]),
                    model: text(&m["model"]),
                    serial: text(&m["serial"]),
                    fs_uuid: text(&m["fs_uuid"]),
                    label: text(&m["label"]),
                };
                // A drive seen in exports before it was inventoried: that record gets the
                // inventory facts; otherwise (new, or destroyed and inventoried again) a new one.
                let reuse = current
                    .get(&facts.serial)
                    .copied()
                    .filter(|&i| !inv.media[i].is_inventoried() && !facts.serial.is_empty());
                let idx = match reuse {
                    Some(i) => i,
                    None => {
                        inv.media.push(Medium::new(&facts.serial));
                        inv.media.len() - 1
                    }
                };
                let medium = &mut inv.media[idx];
                medium.inventory_id = Some(facts.inventory_id);
                medium.vendor = facts.vendor;
                medium.model = facts.model;
                medium.fs_uuid = facts.fs_uuid;
                medium.label = facts.label;
                medium.inventoried_at = Some(e.time);
                medium.inventoried_by = Some(e.actor.clone());
                if !facts.serial.is_empty() {
                    current.insert(facts.serial, idx);
                }
            }
            EntryKind::MediaDestroyed => {
                let Ok(d) = serde_json::from_value::<Destruction>(e.payload.clone()) else {
                    continue;
                };
                let idx = inv
                    .media
                    .iter()
                    .position(|m| {
                        !d.inventory_id.is_empty()
                            && m.inventory_id.as_deref() == Some(d.inventory_id.as_str())
                    })
                    .or_else(|| current.get(d.serial.trim()).copied());
                if let Some(i) = idx {
                    inv.media[i].destroyed = Some(Destroyed {
                        destruction: d,
                        recorded_by: e.actor.clone(),
                        recorded_at: e.time,
                        entry: e.seq,
                    });
                }
            }
            EntryKind::ExportStarted | EntryKind::ExportVerified | EntryKind::ExportCompleted => {
                let Some(drive) = drive_of(e) else {
                    continue;
                };
                let export_id = export_id_of(e).unwrap_or_else(|| format!("entry-{}", e.seq));
                let serial = drive.serial.trim().to_owned();
                if serial.is_empty() {
                    without_serial.insert(export_id);
                    continue;
                }
                let idx = *current.entry(serial.clone()).or_insert_with(|| {
                    let mut m = Medium::new(&serial);
                    m.vendor = drive.vendor.trim().to_owned();
                    m.model = drive.model.trim().to_owned();
                    m.fs_uuid = drive.fs_uuid.trim().to_owned();
                    inv.media.push(m);
                    inv.media.len() - 1
                });
                let m = &mut inv.media[idx];
                if m.destroyed.is_some() {
                    m.used_after_destruction = true;
                }
                m.export_ids.insert(export_id.clone());
                if e.kind == EntryKind::ExportCompleted {
                    m.completed_ids.insert(export_id);
                }
                if let Some(case) = &e.case_id
                    && !m.cases.contains(case)
                {
                    m.cases.push(case.clone());
                }
                m.first_use.get_or_insert(e.time);
                m.last_use = Some(e.time);
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
            | EntryKind::CaseClosed
            | EntryKind::Checkpoint
            | EntryKind::ExportCountersigned => {}
        }
    }
    for m in &mut inv.media {
        m.exports = m.export_ids.len();
        m.completed_exports = m.completed_ids.len();
    }
    inv.exports_without_serial = without_serial.len();
    inv
}

/// The inventory of a register.
pub fn inventory(register: &Register) -> Result<Inventory, RegisterError> {
    Ok(fold(&register.entries(None)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry(seq: u64, kind: EntryKind, case: Option<&str>, actor: &str, payload: Value) -> Entry {
        Entry {
            seq,
            time: Timestamp::from_second(1_800_000_000 + seq as i64 * 60).unwrap(),
            kind,
            case_id: case.map(str::to_owned),
            actor: actor.into(),
            payload,
            statement: String::new(),
            prev_hash: [0; 32],
            hash: [0; 32],
            signatures: Vec::new(),
        }
    }

    fn drive(serial: &str) -> Value {
        json!({"device": "/dev/sdb1", "mount_point": "/media/k", "fs_type": "exfat",
               "vendor": "Kingston", "model": "DT2000", "serial": serial})
    }

    fn inventoried(seq: u64, id: &str, serial: &str) -> Entry {
        entry(
            seq,
            EntryKind::MediaInventoried,
            None,
            "olivia",
            json!({"media": {"inventory_id": id, "vendor": "Kingston", "model": "DT2000",
                   "serial": serial, "fs_uuid": "", "label": "clé 1"}, "by": "olivia"}),
        )
    }

    #[test]
    fn exports_are_matched_by_serial_and_empty_serials_never_match() {
        let entries = vec![
            entry(
                1,
                EntryKind::ExportStarted,
                Some("2026-0001"),
                "paul",
                json!({"export_id": "EXP-1", "drive": drive("S-1")}),
            ),
            inventoried(2, "MED-0001", "S-1"),
            inventoried(3, "MED-0002", "S-2"),
            entry(
                4,
                EntryKind::ExportCompleted,
                Some("2026-0002"),
                "paul",
                json!({"record": {"export_id": "EXP-2",
                       "destination": {"drive": drive("S-1")}}}),
            ),
            entry(
                5,
                EntryKind::ExportStarted,
                Some("2026-0003"),
                "paul",
                json!({"export_id": "EXP-3", "drive": drive("S-9")}),
            ),
            entry(
                6,
                EntryKind::ExportStarted,
                Some("2026-0003"),
                "paul",
                json!({"export_id": "EXP-4", "drive": drive("")}),
            ),
            inventoried(7, "MED-0003", ""),
        ];
        let inv = fold(&entries);
        let k1 = inv.by_serial("S-1").unwrap();
        assert_eq!(k1.inventory_id.as_deref(), Some("MED-0001"));
        assert_eq!((k1.exports, k1.completed_exports), (2, 1));
        assert_eq!(k1.cases, ["2026-0001", "2026-0002"]);
        assert_eq!(k1.first_use, Some(entries[0].time));
        assert_eq!(k1.last_use, Some(entries[3].time));
        assert_eq!(k1.label, "clé 1");
        let k2 = inv.by_serial("S-2").unwrap();
        assert_eq!((k2.exports, k2.first_use), (0, None));
        let stranger = inv.by_serial("S-9").unwrap();
        assert!(!stranger.is_inventoried());
        assert_eq!((stranger.exports, stranger.model.as_str()), (1, "DT2000"));
        assert_eq!(inv.exports_without_serial, 1);
        assert!(inv.by_serial("").is_none());
        // The empty-serial medium is listed, but no export is attributed to it.
        let blank = inv.by_inventory_id("MED-0003").unwrap();
        assert_eq!(blank.exports, 0);
        assert_eq!(inv.media.len(), 4);
        assert_eq!(inv.next_inventory_id(), "MED-0004");
    }

    #[test]
    fn destruction_then_a_new_record_of_the_same_serial() {
        let destroyed = entry(
            2,
            EntryKind::MediaDestroyed,
            None,
            "arthur",
            json!({"serial": "S-1", "inventory_id": "MED-0001", "certificate": "CERT-9",
                   "destroyed_on": "2026-11-20", "method": "broyage"}),
        );
        let mut entries = vec![inventoried(1, "MED-0001", "S-1"), destroyed];
        let inv = fold(&entries);
        let d = inv.by_serial("S-1").unwrap().destroyed.clone().unwrap();
        assert_eq!(d.destruction.certificate, "CERT-9");
        assert_eq!((d.recorded_by.as_str(), d.entry), ("arthur", 2));

        entries.push(entry(
            3,
            EntryKind::ExportStarted,
            Some("2026-0001"),
            "paul",
            json!({"export_id": "EXP-1", "drive": drive("S-1")}),
        ));
        assert!(
            fold(&entries)
                .by_serial("S-1")
                .unwrap()
                .used_after_destruction
        );

        entries.push(inventoried(4, "MED-0002", "S-1"));
        let inv = fold(&entries);
        let now = inv.by_serial("S-1").unwrap();
        assert_eq!(now.inventory_id.as_deref(), Some("MED-0002"));
        assert!(now.destroyed.is_none());
        assert!(inv.by_inventory_id("MED-0001").unwrap().destroyed.is_some());
    }
}
