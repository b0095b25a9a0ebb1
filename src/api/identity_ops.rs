//! Who the caller is: `hello` and `identify` (the challenge signed with the person's SSH key
//! on a shared account), and the identified person every other operation starts from.

use std::sync::Arc;

use serde_json::json;

use super::handlers::{Session, printable};
use super::identify::{self, Caller};
use super::protocol::{ErrorCode, IDENTIFY_NAMESPACE, Reply};
use crate::config::Person;
use crate::daemon::state::State;
use crate::security_log::TARGET as SECURITY;

pub(super) fn hello(
    state: &Arc<State>,
    session: &mut Session,
    id: u64,
    wanted: Option<String>,
) -> Reply {
    let config = state.config();
    match identify::caller(&config, session.uid) {
        Caller::Unknown { uid, account } => unknown_user(id, uid, account.as_deref()),
        Caller::One { person, .. } => {
            if wanted.as_ref().is_some_and(|w| *w != person) {
                return Reply::error(
                    id,
                    ErrorCode::NotIdentified,
                    format!("this Unix account belongs to `{person}` only"),
                );
            }
            session.person = Some(person.clone());
            session.pending = None;
            tracing::info!(target: SECURITY, event = "caller-identified", conn = session.conn,
                uid = session.uid, person = %person, how = "peer-credentials", "caller identified");
            welcome(id, &config, &state.site_key.fingerprint(), &person)
        }
        Caller::Shared { account, people } => {
            let Some(wanted) = wanted else {
                return Reply::error(
                    id,
                    ErrorCode::NotIdentified,
                    format!(
                        "the Unix account `{account}` is shared by {}: say who you are with \
                         `--as PERSON` and sign with your SSH key (agent or `-i KEY`)",
                        people.join(", ")
                    ),
                );
            };
            if !people.contains(&wanted) {
                return Reply::error(
                    id,
                    ErrorCode::NotIdentified,
                    format!(
                        "`{}` does not use the Unix account `{account}`",
                        printable(&wanted)
                    ),
                );
            }
            let Some(p) = config.person(&wanted) else {
                return Reply::error(id, ErrorCode::Internal, "people list changed");
            };
            let nonce = identify::new_nonce();
            let message =
                identify::challenge_message(&state.site_key.fingerprint(), &wanted, &nonce);
            session.pending = Some((wanted, nonce));
            super::handlers::challenge(id, p, IDENTIFY_NAMESPACE, &message)
        }
    }
}

pub(super) fn identify(
    state: &Arc<State>,
    session: &mut Session,
    id: u64,
    signature: &str,
) -> Reply {
    let Some((person, nonce)) = session.pending.take() else {
        return Reply::error(
            id,
            ErrorCode::NotIdentified,
            "no challenge pending: send hello first",
        );
    };
    let config = state.config();
    let Some(p) = config.person(&person) else {
        return Reply::error(id, ErrorCode::UnknownUser, "no longer in the people list");
    };
    let site = state.site_key.fingerprint();
    match identify::verify_challenge(&p.public_key.key, &site, &person, &nonce, signature) {
        Ok(()) => {
            tracing::info!(target: SECURITY, event = "caller-identified", conn = session.conn,
                uid = session.uid, person = %person, how = "ssh-challenge", "caller identified");
            session.person = Some(person.clone());
            welcome(id, &config, &state.site_key.fingerprint(), &person)
        }
        Err(e) => {
            tracing::warn!(target: SECURITY, event = "identification-failed", conn = session.conn,
                uid = session.uid, person = %person, reason = %e, "identification failed");
            Reply::error(
                id,
                ErrorCode::BadSignature,
                format!("identification failed: {e}"),
            )
        }
    }
}

fn welcome(id: u64, config: &crate::config::Config, site_key: &str, person: &str) -> Reply {
    let p = config.person(person);
    Reply::ok(
        id,
        json!({
            "person": person,
            "name": p.map(|p| p.name.clone()),
            "roles": p.map(|p| p.roles.clone()),
            "site": config.site.name,
            "site_key": site_key,
            "version": env!("CARGO_PKG_VERSION"),
        }),
    )
}

fn unknown_user(id: u64, uid: u32, account: Option<&str>) -> Reply {
    Reply::error(
        id,
        ErrorCode::UnknownUser,
        format!(
            "Unix account {} (uid {uid}) is not in this site's people list (AUTH-4): \
             ask the administrator to add you to the configuration",
            account.map_or_else(|| "?".to_owned(), |a| format!("`{a}`"))
        ),
    )
}

/// The identified person, identifying by peer credentials alone when that suffices.
pub(super) fn identified(
    state: &Arc<State>,
    session: &mut Session,
    id: u64,
) -> Result<Person, Reply> {
    let config = state.config();
    if session.person.is_none() {
        match identify::caller(&config, session.uid) {
            Caller::Unknown { uid, account } => {
                return Err(unknown_user(id, uid, account.as_deref()));
            }
            Caller::One { person, .. } => session.person = Some(person),
            Caller::Shared { account, .. } => {
                return Err(Reply::error(
                    id,
                    ErrorCode::NotIdentified,
                    format!(
                        "the Unix account `{account}` is shared: identify first (hello, then \
                         identify with a signed challenge)"
                    ),
                ));
            }
        }
    }
    let person = session.person.as_deref().unwrap_or_default();
    config.person(person).cloned().ok_or_else(|| {
        Reply::error(
            id,
            ErrorCode::UnknownUser,
            format!("`{person}` is no longer in the people list"),
        )
    })
}
