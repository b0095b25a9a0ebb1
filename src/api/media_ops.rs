//! The removable-media operations (PUR-4): `media-list`, `media-add`, `media-destroyed`.
//! Argument decoding, the role checks, the call into [`crate::inventory`] (on a blocking thread:
//! the register is synchronous); their errors map to protocol codes in [`super::error_codes`].

use std::path::PathBuf;

use serde::Deserialize;
use serde_json::{Value, json};

use super::blocking_ops::{args, gate};
use super::error_codes::error_reply;
use super::protocol::{ErrorCode, Reply};
use crate::case::policy;
use crate::config::Person;
use crate::daemon::state::State;
use crate::inventory::record::{self, DestroyRequest, MediaError};
use crate::inventory::{self, MediaFacts};
use crate::security_log::TARGET as SECURITY;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddArgs {
    #[serde(default)]
    pub serial: Option<String>,
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub vendor: Option<String>,
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub fs_uuid: Option<String>,
    /// A mounted path: the drive's identity is read by the daemon (the fields above, when
    /// given, take precedence).
    #[serde(default)]
    pub from_path: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DestroyedArgs {
    #[serde(default)]
    pub serial: Option<String>,
    #[serde(default)]
    pub inventory_id: Option<String>,
    pub certificate: String,
    /// `YYYY-MM-DD`, not in the future (site time).
    pub destroyed_on: String,
    #[serde(default)]
    pub method: String,
}

pub(super) fn list(state: &State, person: &Person, id: u64) -> Result<Reply, Reply> {
    gate(id, policy::may_read(person))?;
    let inv =
        inventory::inventory(&state.register).map_err(|e| error_reply(id, MediaError::from(e)))?;
    Ok(Reply::ok(id, json!({ "inventory": inv })))
}

pub(super) fn add(state: &State, person: &Person, id: u64, a: Value) -> Result<Reply, Reply> {
    let a: AddArgs = args(id, a)?;
    gate(id, policy::may_inventory_media(person))?;
    let mut facts = MediaFacts::default();
    if let Some(path) = &a.from_path {
        let drive = record::identity_of(&PathBuf::from(path)).map_err(|e| error_reply(id, e))?;
        facts.vendor = drive.vendor;
        facts.model = drive.model;
        facts.serial = drive.serial;
        facts.fs_uuid = drive.fs_uuid;
    }
    let set = |field: &mut String, v: Option<String>| {
        if let Some(v) = v {
            *field = v;
        }
    };
    set(&mut facts.serial, a.serial);
    set(&mut facts.model, a.model);
    set(&mut facts.vendor, a.vendor);
    set(&mut facts.fs_uuid, a.fs_uuid);
    set(&mut facts.label, a.label);
    if facts.serial.trim().is_empty() && a.from_path.is_some() {
        return Err(Reply::error(
            id,
            ErrorCode::BadArgs,
            format!(
                "the drive at {} exposes no serial number: read it on the drive or its box and \
                 give --serial",
                a.from_path.as_deref().unwrap_or_default()
            ),
        ));
    }
    let (facts, entry) =
        record::add(&state.register, &person.id, &facts).map_err(|e| error_reply(id, e))?;
    tracing::info!(target: SECURITY, event = "media-inventoried", person = %person.id,
        inventory_id = %facts.inventory_id, serial = %facts.serial, "medium inventoried");
    Ok(Reply::ok(id, json!({ "media": facts, "entry": entry.seq })))
}

pub(super) fn destroyed(state: &State, person: &Person, id: u64, a: Value) -> Result<Reply, Reply> {
    let a: DestroyedArgs = args(id, a)?;
    gate(id, policy::may_record_destruction(person))?;
    let destroyed_on: jiff::civil::Date = a.destroyed_on.trim().parse().map_err(|_| {
        Reply::error(
            id,
            ErrorCode::BadArgs,
            format!(
                "bad date `{}`: expected YYYY-MM-DD",
                a.destroyed_on.chars().take(32).collect::<String>()
            ),
        )
    })?;
    let tz = jiff::tz::TimeZone::get(&state.config().site.time_zone.0)
        .unwrap_or(jiff::tz::TimeZone::UTC);
    let today = jiff::Timestamp::now().to_zoned(tz).date();
    let req = DestroyRequest {
        serial: a.serial,
        inventory_id: a.inventory_id,
        certificate: a.certificate,
        destroyed_on,
        method: a.method,
    };
    let (d, entry) = record::destroy(&state.register, &person.id, &req, today)
        .map_err(|e| error_reply(id, e))?;
    tracing::info!(target: SECURITY, event = "media-destroyed", person = %person.id,
        inventory_id = %d.inventory_id, serial = %d.serial, certificate = %d.certificate,
        "medium destruction recorded");
    Ok(Reply::ok(id, json!({ "destroyed": d, "entry": entry.seq })))
}
