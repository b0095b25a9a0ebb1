//! The removable-media inventory (PUR-4): the operations that change it ([`record`]: add a
//! drive, record its destruction), over the fold of the register that tells the drives
//! ([`crate::drive::fold`], re-exported here), which the export's destroyed-drive check reads
//! too.

pub mod record;

pub use crate::drive::fold::{Inventory, MediaFacts, Medium, fold, inventory};
pub use crate::drive::{Destroyed, Destruction, destruction_of};

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::register::{EntryKind, Register};

    fn drive(serial: &str) -> Value {
        json!({"device": "/dev/sdb1", "mount_point": "/media/k", "fs_type": "exfat",
               "vendor": "Kingston", "model": "DT2000", "serial": serial})
    }

    #[test]
    fn fold_of_a_register_in_a_sqlite_file() {
        use crate::register::NewEntry;
        let dir = tempfile::tempdir().unwrap();
        let reg = Register::open(&dir.path().join("register.sqlite")).unwrap();
        let (facts, _) = record::add(
            &reg,
            "olivia",
            &MediaFacts {
                serial: "S-1".into(),
                model: "DT2000".into(),
                ..MediaFacts::default()
            },
        )
        .unwrap();
        for (export, serial) in [("EXP-1", "S-1"), ("EXP-2", "S-OTHER")] {
            reg.append(NewEntry::new(
                EntryKind::ExportStarted,
                Some("2026-0001"),
                "paul",
                json!({"export_id": export, "drive": drive(serial)}),
            ))
            .unwrap();
        }
        let inv = inventory(&reg).unwrap();
        let key = inv.by_serial("S-1").unwrap();
        assert_eq!(key.inventory_id.as_ref(), Some(&facts.inventory_id));
        assert_eq!(
            (key.exports, key.cases.as_slice()),
            (1, &["2026-0001".to_owned()][..])
        );
        let other = inv.by_serial("S-OTHER").unwrap();
        assert!(!other.is_inventoried());
        assert_eq!(other.exports, 1);
        assert!(crate::drive::destruction_of(&reg, "S-1").unwrap().is_none());
        reg.verify(None).unwrap();
    }
}
