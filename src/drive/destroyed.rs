//! The destroyed-drive lookup (PUR-4): the recorded destruction of the medium a serial
//! designates now. It follows the inventory's rules for which medium a serial designates
//! (`crate::inventory::fold`, checked equal by the inventory's tests) but keeps only what the
//! export's refusal needs, so the export does not depend on the inventory.

use std::collections::HashMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::drive_of;
use crate::register::{Entry, EntryKind, Register, RegisterError};

/// A `media-destroyed` payload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Destruction {
    pub serial: String,
    pub inventory_id: String,
    /// Reference of the destruction certificate.
    pub certificate: String,
    /// `YYYY-MM-DD`.
    pub destroyed_on: String,
    #[serde(default)]
    pub method: String,
}

/// A destruction as the inventory shows it: the payload, who recorded it and when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Destroyed {
    #[serde(flatten)]
    pub destruction: Destruction,
    pub recorded_by: String,
    pub recorded_at: Timestamp,
    /// Sequence number of the `media-destroyed` entry.
    pub entry: u64,
}

/// A medium as far as destruction goes: its serial, inventory id and recorded destruction.
struct Ledger {
    serial: String,
    inventory_id: Option<String>,
    destroyed: Option<Destroyed>,
}

fn text(v: &serde_json::Value) -> String {
    v.as_str().unwrap_or_default().trim().to_owned()
}

/// The destruction recorded for the medium `serial` designates in `entries` (chain order):
/// the last medium recorded with that serial. An empty serial designates nothing.
pub fn destruction_in(entries: &[Entry], serial: &str) -> Option<Destroyed> {
    let serial = serial.trim();
    if serial.is_empty() {
        return None;
    }
    let mut media: Vec<Ledger> = Vec::new();
    let mut current: HashMap<String, usize> = HashMap::new();
    let new = |media: &mut Vec<Ledger>, serial: &str| {
        media.push(Ledger {
            serial: serial.to_owned(),
            inventory_id: None,
            destroyed: None,
        });
        media.len() - 1
    };
    for e in entries {
        match e.kind {
            EntryKind::MediaInventoried => {
                let Some(m) = e.payload.get("media") else {
                    continue;
                };
                let s = text(&m["serial"]);
                let reuse = current
                    .get(&s)
                    .copied()
                    .filter(|&i| media[i].inventory_id.is_none() && !s.is_empty());
                let idx = match reuse {
                    Some(i) => i,
                    None => new(&mut media, &s),
                };
                media[idx].inventory_id = Some(text(&m["inventory_id"]));
                if !s.is_empty() {
                    current.insert(s, idx);
                }
            }
            EntryKind::MediaDestroyed => {
                let Ok(d) = serde_json::from_value::<Destruction>(e.payload.clone()) else {
                    continue;
                };
                let idx = media
                    .iter()
                    .position(|m| {
                        !d.inventory_id.is_empty()
                            && m.inventory_id.as_deref() == Some(d.inventory_id.as_str())
                    })
                    .or_else(|| current.get(d.serial.trim()).copied());
                if let Some(i) = idx {
                    media[i].destroyed = Some(Destroyed {
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
                let s = drive.serial.trim().to_owned();
                if !s.is_empty() && !current.contains_key(&s) {
                    let idx = new(&mut media, &s);
                    current.insert(s, idx);
                }
            }
            EntryKind::PeopleChanged
            | EntryKind::ConfigChanged
            | EntryKind::CaseOpened
            | EntryKind::DocumentAttached
            | EntryKind::RequesterVerified
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
    media
        .iter()
        .rev()
        .find(|m| m.serial == serial)
        .and_then(|m| m.destroyed.clone())
}

/// The recorded destruction of the medium `serial` designates, if any: an export to it is
/// refused. An empty serial is never destroyed.
pub fn destruction_of(
    register: &Register,
    serial: &str,
) -> Result<Option<Destroyed>, RegisterError> {
    Ok(destruction_in(&register.entries(None)?, serial))
}
