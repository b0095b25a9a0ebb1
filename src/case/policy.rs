//! Every authorization rule, as pure functions over a person and a case (AUTH-1…5, STEP-1).
//!
//! Each returns `Ok(())` or the [`Refusal`] a person is shown. Refusals are logged by the
//! caller and change nothing in the register: the requirements ask to record what was done,
//! and a refused action was not done.

use crate::config::{Person, Role};

use super::model::{Case, CaseState, Ground};

/// Why an action is not allowed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    #[error("{person} does not have the {role} role (AUTH-4): ask for it in the people list")]
    MissingRole { person: String, role: &'static str },
    #[error(
        "{person} opened case {case} and cannot also authorize it (AUTH-2): another authorizer must"
    )]
    SelfApproval { person: String, case: String },
    #[error(
        "{person} authorized case {case} and cannot also export it (AUTH-2): another operator must"
    )]
    ApproverExports { person: String, case: String },
    #[error("case {case} is closed")]
    Closed { case: String },
    #[error("case {case} is already authorized (by {by})")]
    AlreadyAuthorized { case: String, by: String },
    #[error(
        "case {case} is not authorized (AUTH-2): an authorizer must run `scelle case approve {case}`"
    )]
    NotAuthorized { case: String },
    #[error(
        "case {case} has no written request attached (AUTH-3): `scelle case attach {case} --request FILE`"
    )]
    NoWrittenRequest { case: String },
    #[error(
        "the requester's authority is not verified for requisition {case} (AUTH-5): `scelle case verify-requester {case} --how \"…\"`"
    )]
    RequesterNotVerified { case: String },
    #[error(
        "a case needs its written request (--request FILE) or an emergency justification (--emergency \"…\") (AUTH-3)"
    )]
    NoRequestNorEmergency,
    #[error("{0} (STEP-1)")]
    Incomplete(String),
}

fn require(person: &Person, role: Role) -> Result<(), Refusal> {
    if person.has(role) {
        Ok(())
    } else {
        Err(Refusal::MissingRole {
            person: person.id.clone(),
            role: role.as_str(),
        })
    }
}

fn open_case(case: &Case) -> Result<(), Refusal> {
    if case.state == CaseState::Closed {
        Err(Refusal::Closed {
            case: case.id.clone(),
        })
    } else {
        Ok(())
    }
}

/// Opening a case: an operator, and a written request or an emergency justification.
pub fn may_open(
    person: &Person,
    has_request: bool,
    emergency: Option<&str>,
) -> Result<(), Refusal> {
    require(person, Role::Operator)?;
    match (has_request, emergency.map(str::trim)) {
        (_, Some("")) => Err(Refusal::Incomplete(
            "an emergency needs a justification".into(),
        )),
        (false, None) => Err(Refusal::NoRequestNorEmergency),
        _ => Ok(()),
    }
}

/// Attaching a document: an operator or authorizer, on an open case.
pub fn may_attach(person: &Person, case: &Case) -> Result<(), Refusal> {
    if !person.has(Role::Authorizer) {
        require(person, Role::Operator)?;
    }
    open_case(case)
}

/// Approving: an authorizer who is not the case's operator, once (AUTH-2).
pub fn may_approve(person: &Person, case: &Case) -> Result<(), Refusal> {
    require(person, Role::Authorizer)?;
    open_case(case)?;
    if person.id == case.operator {
        return Err(Refusal::SelfApproval {
            person: person.id.clone(),
            case: case.id.clone(),
        });
    }
    if let Some(by) = &case.authorized_by {
        return Err(Refusal::AlreadyAuthorized {
            case: case.id.clone(),
            by: by.clone(),
        });
    }
    Ok(())
}

/// Recording how the requester was verified: an operator or authorizer, on an open case.
pub fn may_verify_requester(person: &Person, case: &Case) -> Result<(), Refusal> {
    may_attach(person, case)
}

/// Exporting: an operator, on an open case that is authorized with its written request
/// attached (AUTH-2, AUTH-3), or an emergency (regularized afterwards).
pub fn may_export(person: &Person, case: &Case) -> Result<(), Refusal> {
    require(person, Role::Operator)?;
    open_case(case)?;
    // AUTH-2: the authorizer never exports (the register's `four-eyes` rule would refuse it).
    if case.authorized_by.as_deref() == Some(person.id.as_str()) {
        return Err(Refusal::ApproverExports {
            person: person.id.clone(),
            case: case.id.clone(),
        });
    }
    if case.is_emergency() {
        return Ok(());
    }
    if case.authorized_by.is_none() {
        return Err(Refusal::NotAuthorized {
            case: case.id.clone(),
        });
    }
    if !case.has_request() {
        return Err(Refusal::NoWrittenRequest {
            case: case.id.clone(),
        });
    }
    Ok(())
}

/// Delivering: exportable, and for a requisition the requester's authority verified (AUTH-5).
pub fn may_deliver(person: &Person, case: &Case) -> Result<(), Refusal> {
    may_export(person, case)?;
    if case.opening.ground == Ground::Requisition && case.requester_verified.is_none() {
        return Err(Refusal::RequesterNotVerified {
            case: case.id.clone(),
        });
    }
    Ok(())
}

/// Closing: an operator or authorizer, on an open case.
pub fn may_close(person: &Person, case: &Case) -> Result<(), Refusal> {
    may_attach(person, case)
}

/// Reading cases: anyone listed.
pub fn may_read(_person: &Person) -> Result<(), Refusal> {
    Ok(())
}
