//! The destroyed-drive lookup (PUR-4): the recorded destruction of the medium a serial
//! designates now (by the rules of [`super::fold`]), which refuses an export to it.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::register::{Register, RegisterError};

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

/// The recorded destruction of the medium `serial` designates, if any: an export to it is
/// refused. An empty serial is never destroyed.
pub fn destruction_of(
    register: &Register,
    serial: &str,
) -> Result<Option<Destroyed>, RegisterError> {
    Ok(super::fold::inventory(register)?
        .by_serial(serial)
        .and_then(|m| m.destroyed.clone()))
}
