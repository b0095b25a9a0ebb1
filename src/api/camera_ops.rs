//! `camera-list` and `camera-probe`: open to every person the policy gate lets read (they
//! change nothing).

use serde_json::json;

use super::error_codes::case_error_reply;
use super::handlers::printable;
use super::protocol::{ErrorCode, ProbeArgs, Reply};
use crate::case::policy;
use crate::config::{Config, Person};

/// `camera-list`.
pub(super) fn list(config: &Config, person: &Person, id: u64) -> Reply {
    if let Err(r) = policy::may_read(person) {
        return case_error_reply(id, r.into());
    }
    let cameras: Vec<crate::camera::Listed> = config.cameras.iter().map(Into::into).collect();
    Reply::ok(
        id,
        json!({ "cameras": cameras, "time_zone": config.site.time_zone.0 }),
    )
}

/// `camera-probe`.
pub(super) async fn probe(config: &Config, person: &Person, id: u64, a: ProbeArgs) -> Reply {
    if let Err(r) = policy::may_read(person) {
        return case_error_reply(id, r.into());
    }
    let Some(camera) = config.camera(&a.camera) else {
        return Reply::error(
            id,
            ErrorCode::NotFound,
            format!(
                "no camera `{}` in the configuration (`scelle camera list`)",
                printable(&a.camera)
            ),
        );
    };
    let zone = &config.site.time_zone.0;
    let range = match a.range.as_deref().map(|r| {
        let tz = jiff::tz::TimeZone::get(zone).unwrap_or(jiff::tz::TimeZone::UTC);
        crate::case::service::parse_range(r, &tz)
    }) {
        None => None,
        Some(Ok(r)) => Some(scelle_adapters::TimeRange {
            start: r.start,
            end: r.end,
        }),
        Some(Err(e)) => return Reply::error(id, ErrorCode::BadArgs, e.to_string()),
    };
    let probe = crate::camera::probe(camera, zone, range).await;
    Reply::ok(id, json!({ "probe": probe, "time_zone": zone }))
}
