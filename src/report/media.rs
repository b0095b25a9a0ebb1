//! The report's removable-media section (PUR-4): one row per medium of the inventory folded by
//! [`crate::inventory`] (inventoried media, and drives exports used without being inventoried),
//! with French (default) or English headings and words. The section covers the whole register:
//! `--from`/`--to` select cases, not media.

use serde::Serialize;

use super::{Lang, format_time};
use crate::inventory::{Inventory, fold};
use crate::register::Entry;

/// One medium as the report shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct MediaRow {
    pub inventory_id: String,
    pub model: String,
    pub serial: String,
    pub label: String,
    pub exports: String,
    pub destroyed: String,
}

/// The column keys, in order.
pub const MEDIA_COLUMNS: [&str; 6] = [
    "inventory_id",
    "model",
    "serial",
    "label",
    "exports",
    "destroyed",
];

/// The heading of media column `key` in `lang`.
pub fn media_heading(key: &str, lang: Lang) -> &'static str {
    let (fr, en) = match key {
        "inventory_id" => ("N° d'inventaire", "Inventory id"),
        "model" => ("Modèle", "Model"),
        "serial" => ("N° de série", "Serial number"),
        "label" => ("Étiquette", "Label"),
        "exports" => ("Extractions (dossiers)", "Exports (cases)"),
        "destroyed" => (
            "Destruction (date, certificat)",
            "Destroyed (date, certificate)",
        ),
        _ => ("", ""),
    };
    match lang {
        Lang::Fr => fr,
        Lang::En => en,
    }
}

/// The section's title.
pub fn media_title(lang: Lang) -> &'static str {
    match lang {
        Lang::Fr => "Supports amovibles (inventaire et destruction)",
        Lang::En => "Removable media (inventory and destruction)",
    }
}

impl MediaRow {
    /// The cell of column `key`.
    pub fn cell(&self, key: &str) -> &str {
        match key {
            "inventory_id" => &self.inventory_id,
            "model" => &self.model,
            "serial" => &self.serial,
            "label" => &self.label,
            "exports" => &self.exports,
            "destroyed" => &self.destroyed,
            _ => "",
        }
    }
}

/// The rows of an inventory, in `lang`.
pub fn rows_of(inv: &Inventory, lang: Lang) -> Vec<MediaRow> {
    let fr = lang == Lang::Fr;
    let mut rows: Vec<MediaRow> = inv
        .media
        .iter()
        .map(|m| {
            let mut exports = m.exports.to_string();
            if !m.cases.is_empty() {
                exports.push_str(&format!(" ({})", m.cases.join(", ")));
            }
            if let (Some(first), Some(last)) = (m.first_use, m.last_use) {
                exports.push_str(&format!(
                    " {} {} → {} UTC",
                    if fr { "du" } else { "from" },
                    format_time(first),
                    format_time(last)
                ));
            }
            let destroyed = match &m.destroyed {
                Some(d) => {
                    let mut s = format!(
                        "{}, {} {}",
                        d.destruction.destroyed_on,
                        if fr { "certificat" } else { "certificate" },
                        d.destruction.certificate
                    );
                    if !d.destruction.method.is_empty() {
                        s.push_str(&format!(", {}", d.destruction.method));
                    }
                    s.push_str(&format!(" ({})", d.recorded_by));
                    if m.used_after_destruction {
                        s.push_str(if fr {
                            " — UTILISÉ APRÈS DESTRUCTION"
                        } else {
                            " — USED AFTER DESTRUCTION"
                        });
                    }
                    s
                }
                None => (if fr { "non" } else { "no" }).to_owned(),
            };
            MediaRow {
                inventory_id: m.inventory_id.clone().unwrap_or_else(|| {
                    (if fr {
                        "NON INVENTORIÉ"
                    } else {
                        "NOT INVENTORIED"
                    })
                    .to_owned()
                }),
                model: format!("{} {}", m.vendor, m.model).trim().to_owned(),
                serial: m.serial.clone(),
                label: m.label.clone(),
                exports,
                destroyed,
            }
        })
        .collect();
    if inv.exports_without_serial > 0 {
        rows.push(MediaRow {
            inventory_id: if fr {
                "NON IDENTIFIABLE".into()
            } else {
                "NOT IDENTIFIABLE".into()
            },
            model: if fr {
                "supports qui ne communiquent pas de numéro de série (non rattachables à l'inventaire)"
                    .into()
            } else {
                "drives that report no serial number (cannot be matched to the inventory)".into()
            },
            exports: inv.exports_without_serial.to_string(),
            ..MediaRow::default()
        });
    }
    rows
}

/// The rows of the media section for a register's entries (oldest first).
pub fn media_rows(entries: &[Entry], lang: Lang) -> Vec<MediaRow> {
    rows_of(&fold(entries), lang)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::register::EntryKind;
    use serde_json::json;

    fn entry(seq: u64, kind: EntryKind, payload: serde_json::Value) -> Entry {
        Entry {
            seq,
            time: jiff::Timestamp::from_second(1_800_000_000).unwrap(),
            kind,
            case_id: Some("2026-0001".into()).filter(|_| kind == EntryKind::ExportStarted),
            actor: "arthur".into(),
            payload,
            statement: String::new(),
            prev_hash: [0; 32],
            hash: [0; 32],
            signatures: Vec::new(),
        }
    }

    #[test]
    fn rows_in_both_languages() {
        let entries = vec![
            entry(
                1,
                EntryKind::MediaInventoried,
                json!({"media": {"inventory_id": "MED-0001", "vendor": "Kingston",
                       "model": "DT2000", "serial": "S-1", "label": "clé 1"}}),
            ),
            entry(
                2,
                EntryKind::ExportStarted,
                json!({"export_id": "EXP-1", "drive": {"device": "", "mount_point": "",
                       "fs_type": "", "vendor": "", "model": "X", "serial": "S-2"}}),
            ),
            entry(
                3,
                EntryKind::MediaDestroyed,
                json!({"serial": "S-1", "inventory_id": "MED-0001", "certificate": "C-9",
                       "destroyed_on": "2026-11-20", "method": "broyage"}),
            ),
        ];
        let fr = media_rows(&entries, Lang::Fr);
        assert_eq!(fr.len(), 2);
        assert_eq!(fr[0].model, "Kingston DT2000");
        assert_eq!(
            fr[0].destroyed,
            "2026-11-20, certificat C-9, broyage (arthur)"
        );
        assert_eq!(fr[1].inventory_id, "NON INVENTORIÉ");
        assert!(
            fr[1].exports.starts_with("1 (2026-0001) du "),
            "{}",
            fr[1].exports
        );
        let en = media_rows(&entries, Lang::En);
        assert_eq!(en[1].inventory_id, "NOT INVENTORIED");
        assert_eq!(en[1].destroyed, "no");
        assert_eq!(media_heading("serial", Lang::Fr), "N° de série");
    }
}
