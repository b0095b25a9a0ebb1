//! Every authorization rule, as pure functions over a person and a case (AUTH-1…5, STEP-1,
//! STEP-5), and the single gate every socket operation asks before it acts.
//!
//! Each returns `Ok(())` or the [`Refusal`] a person is shown. Refusals are logged by the
//! caller and change nothing in the register: the requirements ask to record what was done,
//! and a refused action was not done. Rules apply to the person (one key, one id), never to a
//! role: someone holding both the operator and the authorizer roles is still only one pair of
//! eyes, so the person who opened or exported a case never approves or countersigns it, and
//! the person who approved it never exports it (AUTH-2).

use crate::config::{Person, Role};

use super::model::{Case, CaseState, ExportFact, Ground};

/// Why an action is not allowed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    #[error("{person} does not have the {role} role (AUTH-4): ask for it in the people list")]
    MissingRole { person: String, role: &'static str },
    #[error("{what} is for {roles}; {person} has none of these roles (AUTH-4)")]
    MissingRoles {
        person: String,
        roles: String,
        what: &'static str,
    },
    #[error(
        "{person} opened case {case} and cannot also authorize it (AUTH-2): another authorizer \
         must approve it, with `scelle case approve {case}` under their own name"
    )]
    SelfApproval { person: String, case: String },
    #[error(
        "{person} approved case {case} and cannot also export it (AUTH-2): another operator \
         must export it, with `scelle case export {case} --to DIR` under their own name"
    )]
    ApproverExports { person: String, case: String },
    #[error(
        "{person} exported case {case} and cannot also approve or countersign it (AUTH-2, STEP-5): \
         another authorizer must do it, with `scelle case approve {case}` or \
         `scelle case countersign {case}` under their own name"
    )]
    ExporterApproves { person: String, case: String },
    #[error(
        "{person} opened case {case} and cannot countersign its export (STEP-5): another \
         authorizer must countersign it, with `scelle case countersign {case}` under their own \
         name"
    )]
    SelfCountersign { person: String, case: String },
    #[error("case {case} is closed")]
    Closed { case: String },
    #[error("case {case} is already authorized (by {by})")]
    AlreadyAuthorized { case: String, by: String },
    #[error(
        "case {case} is not authorized (AUTH-2, emergencies included): an authorizer must run \
         `scelle case approve {case}` (remotely: `--print-statement`, then `--signature FILE`)"
    )]
    NotAuthorized { case: String },
    #[error(
        "case {case} has no written request attached (AUTH-3): `scelle case attach {case} --request FILE`"
    )]
    NoWrittenRequest { case: String },
    #[error(
        "the requester's authority is not verified for case {case} (AUTH-5): `scelle case verify-requester {case} --how \"…\"`"
    )]
    RequesterNotVerified { case: String },
    #[error(
        "the data subject's identity and the legitimacy of the request are not proven for case \
         {case} (AUTH-5, PROC-RGPD-001 §01): `scelle case identity {case} --document-kind … \
         --document-ref … --legitimacy \"…\"` first"
    )]
    IdentityNotProven { case: String },
    #[error(
        "case {case} is not an access request: {what} is for access-request cases only \
         (for a requisition: `scelle case verify-requester`)"
    )]
    NotAccessRequest { case: String, what: &'static str },
    #[error(
        "case {case} is an access request: the requester's identity is recorded with \
         `scelle case identity {case} …` (document, legitimacy, scan), not verify-requester"
    )]
    UseIdentity { case: String },
    #[error(
        "case {case} is an access request: viewing on site comes first (DEL-2, PROC-RGPD-001 \
         §03); an anonymized export says why it was not possible: `--no-viewing-reason \"…\"`"
    )]
    NoViewingReason { case: String },
    #[error("case {case} has no completed export: nothing to countersign or deliver")]
    NoExport { case: String },
    #[error(
        "export {export} of case {case} is not countersigned by an authorizer (STEP-5): \
         `scelle case countersign {case}` first"
    )]
    NotCountersigned { case: String, export: String },
    #[error("export {export} of case {case} is already countersigned (by {by})")]
    AlreadyCountersigned {
        case: String,
        export: String,
        by: String,
    },
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

fn require_any(person: &Person, roles: &[Role], what: &'static str) -> Result<(), Refusal> {
    if roles.iter().any(|r| person.has(*r)) {
        return Ok(());
    }
    Err(Refusal::MissingRoles {
        person: person.id.clone(),
        roles: roles
            .iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>()
            .join(" or "),
        what,
    })
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
    require_any(
        person,
        &[Role::Operator, Role::Authorizer],
        "attaching a document",
    )?;
    open_case(case)
}

/// Approving: an authorizer who is neither the case's opener nor anyone who exported it,
/// once (AUTH-2).
pub fn may_approve(person: &Person, case: &Case) -> Result<(), Refusal> {
    require(person, Role::Authorizer)?;
    open_case(case)?;
    if person.id == case.operator {
        return Err(Refusal::SelfApproval {
            person: person.id.clone(),
            case: case.id.clone(),
        });
    }
    if case.exporters().any(|e| e == person.id) {
        return Err(Refusal::ExporterApproves {
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
    if case.is_access_request() && case.identity.is_none() {
        return Err(Refusal::IdentityNotProven {
            case: case.id.clone(),
        });
    }
    Ok(())
}

/// Recording how the requester was verified: an operator or authorizer, on an open case that
/// is not an access request (whose data subject's identity is proven with
/// [`may_prove_identity`], decision 0150).
pub fn may_verify_requester(person: &Person, case: &Case) -> Result<(), Refusal> {
    may_attach(person, case)?;
    if case.is_access_request() {
        return Err(Refusal::UseIdentity {
            case: case.id.clone(),
        });
    }
    Ok(())
}

/// Recording how a data subject's identity and the legitimacy of the request were proven
/// (AUTH-5, DEL-2): an operator or authorizer, on an open access-request case, before or
/// after its approval (the approval needs it, [`may_approve`]).
pub fn may_prove_identity(person: &Person, case: &Case) -> Result<(), Refusal> {
    may_attach(person, case)?;
    if !case.is_access_request() {
        return Err(Refusal::NotAccessRequest {
            case: case.id.clone(),
            what: "recording an identity proof",
        });
    }
    Ok(())
}

/// Recording an on-site viewing (DEL-2): an operator, on an open, authorized access-request
/// case (showing footage is a disclosure: it needs the approval as an export does).
pub fn may_record_viewing(person: &Person, case: &Case) -> Result<(), Refusal> {
    require(person, Role::Operator)?;
    open_case(case)?;
    if !case.is_access_request() {
        return Err(Refusal::NotAccessRequest {
            case: case.id.clone(),
            what: "recording an on-site viewing",
        });
    }
    if case.authorized_by.is_none() {
        return Err(Refusal::NotAuthorized {
            case: case.id.clone(),
        });
    }
    Ok(())
}

/// Reviewing the faces of an access-request case before its export (the sealed review sheet,
/// decision 0151): whoever may export it, once the data subject's identity is proven.
pub fn may_review(person: &Person, case: &Case) -> Result<(), Refusal> {
    may_export(person, case)?;
    if !case.is_access_request() {
        return Err(Refusal::NotAccessRequest {
            case: case.id.clone(),
            what: "a face review",
        });
    }
    if case.identity.is_none() {
        return Err(Refusal::IdentityNotProven {
            case: case.id.clone(),
        });
    }
    Ok(())
}

/// What an export of `case` hands over (DEL-2): the original footage, or, for an access
/// request, only third parties' faces blurred. There is no way to ask for the original of
/// an access-request case: the ground decides, not the caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Handover {
    Original,
    Anonymized,
}

/// Exporting `case` with the reason on-site viewing was not possible (`no_viewing_reason`):
/// [`may_export`], and for an access request its identity proof and that reason (DEL-2).
/// Returns what the export must hand over.
pub fn may_export_as(
    person: &Person,
    case: &Case,
    no_viewing_reason: Option<&str>,
) -> Result<Handover, Refusal> {
    may_export(person, case)?;
    if !case.is_access_request() {
        return Ok(Handover::Original);
    }
    if case.identity.is_none() {
        return Err(Refusal::IdentityNotProven {
            case: case.id.clone(),
        });
    }
    if no_viewing_reason.is_none_or(|r| r.trim().is_empty()) {
        return Err(Refusal::NoViewingReason {
            case: case.id.clone(),
        });
    }
    Ok(Handover::Anonymized)
}

/// Exporting: an operator who did not approve the case, on an open case that is authorized
/// (always, emergencies included: AUTH-2) with its written request attached, unless it is an
/// emergency, whose written request may follow (AUTH-3).
pub fn may_export(person: &Person, case: &Case) -> Result<(), Refusal> {
    require(person, Role::Operator)?;
    open_case(case)?;
    let Some(by) = &case.authorized_by else {
        return Err(Refusal::NotAuthorized {
            case: case.id.clone(),
        });
    };
    if *by == person.id {
        return Err(Refusal::ApproverExports {
            person: person.id.clone(),
            case: case.id.clone(),
        });
    }
    if !case.is_emergency() && !case.has_request() {
        return Err(Refusal::NoWrittenRequest {
            case: case.id.clone(),
        });
    }
    Ok(())
}

/// When the written request of an emergency is due (AUTH-3): `hours` after its opening.
/// `None` for a case that is not an emergency.
pub fn request_due(case: &Case, hours: u32) -> Option<jiff::Timestamp> {
    if !case.is_emergency() {
        return None;
    }
    jiff::Timestamp::from_second(case.opened_at.as_second() + i64::from(hours) * 3600).ok()
}

/// Whether an emergency's written request is overdue at `now` (AUTH-3): still absent after
/// the configured delay, on a case still open.
pub fn request_overdue(case: &Case, now: jiff::Timestamp, hours: u32) -> bool {
    case.state != CaseState::Closed
        && !case.has_request()
        && request_due(case, hours).is_some_and(|due| now > due)
}

/// Countersigning an export (STEP-5): an authorizer who neither opened the case nor made
/// that export, on an open case, once per export.
pub fn may_countersign(person: &Person, case: &Case, export: &ExportFact) -> Result<(), Refusal> {
    require(person, Role::Authorizer)?;
    open_case(case)?;
    if person.id == case.operator {
        return Err(Refusal::SelfCountersign {
            person: person.id.clone(),
            case: case.id.clone(),
        });
    }
    if export.operator == person.id {
        return Err(Refusal::ExporterApproves {
            person: person.id.clone(),
            case: case.id.clone(),
        });
    }
    if let Some(by) = &export.countersigned_by {
        return Err(Refusal::AlreadyCountersigned {
            case: case.id.clone(),
            export: export.export_id.clone(),
            by: by.clone(),
        });
    }
    Ok(())
}

/// The export a countersignature or a delivery is about: `export` by id, or the case's last
/// completed one.
pub fn export_of<'a>(case: &'a Case, export: Option<&str>) -> Result<&'a ExportFact, Refusal> {
    let found = match export {
        Some(id) => case.exports.iter().find(|e| e.export_id == id),
        None => case.exports.last(),
    };
    found.ok_or_else(|| Refusal::NoExport {
        case: case.id.clone(),
    })
}

/// Delivering (recording the hand-over): an operator, on an open authorized case whose
/// requester (requisition) or data subject (access request) was verified (AUTH-5) and whose
/// last completed export the authorizer countersigned (STEP-5).
pub fn may_deliver(person: &Person, case: &Case) -> Result<(), Refusal> {
    require(person, Role::Operator)?;
    open_case(case)?;
    if case.authorized_by.is_none() {
        return Err(Refusal::NotAuthorized {
            case: case.id.clone(),
        });
    }
    if case.opening.ground == Ground::Requisition && case.requester_verified.is_none() {
        return Err(Refusal::RequesterNotVerified {
            case: case.id.clone(),
        });
    }
    if case.is_access_request() && case.identity.is_none() {
        return Err(Refusal::IdentityNotProven {
            case: case.id.clone(),
        });
    }
    let export = export_of(case, None)?;
    if export.countersigned_by.is_none() {
        return Err(Refusal::NotCountersigned {
            case: case.id.clone(),
            export: export.export_id.clone(),
        });
    }
    Ok(())
}

/// Closing: an operator or authorizer, on an open case.
pub fn may_close(person: &Person, case: &Case) -> Result<(), Refusal> {
    may_attach(person, case)
}

/// Reading cases, the register's facts, the camera list and probes, the purge list and the
/// media inventory: anyone listed with at least one role.
pub fn may_read(person: &Person) -> Result<(), Refusal> {
    require_any(
        person,
        &[Role::Operator, Role::Authorizer, Role::Auditor],
        "reading",
    )
}

/// Printing a delivery receipt: an operator or authorizer.
pub fn may_print_receipt(person: &Person) -> Result<(), Refusal> {
    require_any(
        person,
        &[Role::Operator, Role::Authorizer],
        "a delivery receipt",
    )
}

/// The register report (issue 17) through the daemon: an auditor or authorizer.
pub fn may_read_register_report(person: &Person) -> Result<(), Refusal> {
    require_any(
        person,
        &[Role::Auditor, Role::Authorizer],
        "the register report",
    )
}

/// Running a purge (PUR-1): an operator.
pub fn may_purge(person: &Person) -> Result<(), Refusal> {
    require(person, Role::Operator)
}

/// Inventorying a medium (PUR-4): an operator or authorizer.
pub fn may_inventory_media(person: &Person) -> Result<(), Refusal> {
    require_any(
        person,
        &[Role::Operator, Role::Authorizer],
        "inventorying a medium",
    )
}

/// Recording a medium's destruction (PUR-4): an authorizer.
pub fn may_record_destruction(person: &Person) -> Result<(), Refusal> {
    require_any(person, &[Role::Authorizer], "recording a destruction")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::model::{Opening, Range};

    fn person(id: &str, roles: &[Role]) -> Person {
        let line =
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIY8Dwujco01pajrgAbKnIIiFMQX/kgxtu94h5mFND66 t";
        Person {
            id: id.into(),
            name: id.into(),
            unix_account: "u".into(),
            roles: roles.to_vec(),
            public_key: crate::config::PublicKeyLine {
                line: line.into(),
                key: ssh_key::PublicKey::from_openssh(line).unwrap(),
            },
        }
    }

    fn case(ground: Ground, emergency: bool, request: bool) -> Case {
        let t: jiff::Timestamp = "2026-11-20T10:00:00Z".parse().unwrap();
        Case {
            id: "2026-0001".into(),
            opened_at: t,
            operator: "olivia".into(),
            opened_entry: "00".repeat(32),
            opening: Opening {
                ground,
                requester: "r".into(),
                organisation: "o".into(),
                reference: "ref".into(),
                recipient: "rc".into(),
                purpose: "p".into(),
                cameras: vec!["c".into()],
                ranges: vec![Range { start: t, end: t }],
                emergency: emergency.then(|| "urgent".into()),
            },
            state: CaseState::AwaitingAuthorization,
            documents: if request {
                vec![crate::case::model::Document {
                    sha256: "aa".into(),
                    name: "r".into(),
                    size: 1,
                    role: "request".into(),
                }]
            } else {
                Vec::new()
            },
            ..Case::blank()
        }
    }

    fn authorized(mut c: Case, by: &str) -> Case {
        c.authorized_by = Some(by.into());
        c.state = CaseState::Authorized;
        c
    }

    fn exported(mut c: Case, by: &str, countersigned: Option<&str>) -> Case {
        c.exports.push(ExportFact {
            export_id: "EXP-1".into(),
            operator: by.into(),
            completed_entry: "11".repeat(32),
            countersigned_by: countersigned.map(Into::into),
            ..ExportFact::default()
        });
        c
    }

    const OP: &[Role] = &[Role::Operator];
    const AU: &[Role] = &[Role::Authorizer];
    const BOTH: &[Role] = &[Role::Operator, Role::Authorizer];

    #[test]
    fn every_export_needs_an_approval_emergencies_included() {
        let c = case(Ground::Incident, true, false);
        assert!(matches!(
            may_export(&person("paul", OP), &c),
            Err(Refusal::NotAuthorized { .. })
        ));
        let c = case(Ground::Requisition, false, true);
        assert!(matches!(
            may_export(&person("paul", OP), &c),
            Err(Refusal::NotAuthorized { .. })
        ));
        assert_eq!(
            may_export(&person("paul", OP), &authorized(c, "arthur")),
            Ok(())
        );
    }

    #[test]
    fn the_approver_is_neither_the_opener_nor_an_exporter() {
        let c = case(Ground::Requisition, false, true);
        assert!(matches!(
            may_approve(&person("olivia", BOTH), &c),
            Err(Refusal::SelfApproval { .. })
        ));
        let c = exported(c, "paul", None);
        assert!(matches!(
            may_approve(&person("paul", BOTH), &c),
            Err(Refusal::ExporterApproves { .. })
        ));
        assert_eq!(may_approve(&person("arthur", AU), &c), Ok(()));
        assert!(matches!(
            may_approve(&person("paul", OP), &c),
            Err(Refusal::MissingRole { .. })
        ));
    }

    #[test]
    fn an_emergency_is_exported_before_its_written_request_never_before_approval() {
        let c = authorized(case(Ground::Incident, true, false), "arthur");
        assert_eq!(may_export(&person("paul", OP), &c), Ok(()));
        let c = authorized(case(Ground::Incident, false, false), "arthur");
        assert!(matches!(
            may_export(&person("paul", OP), &c),
            Err(Refusal::NoWrittenRequest { .. })
        ));
    }

    #[test]
    fn an_emergency_written_request_is_due_and_flagged_when_absent() {
        let c = case(Ground::Incident, true, false);
        let due = request_due(&c, 72).unwrap();
        assert_eq!(due.to_string(), "2026-11-23T10:00:00Z");
        let before: jiff::Timestamp = "2026-11-23T09:59:59Z".parse().unwrap();
        let after: jiff::Timestamp = "2026-11-23T10:00:01Z".parse().unwrap();
        assert!(!request_overdue(&c, before, 72));
        assert!(request_overdue(&c, after, 72));
        // Attached: no longer flagged, even if the approval is still missing.
        let attached = case(Ground::Incident, true, true);
        assert!(!request_overdue(&attached, after, 72));
        // Not an emergency: never due.
        assert_eq!(request_due(&case(Ground::Incident, false, true), 72), None);
    }

    #[test]
    fn the_approver_never_exports() {
        let c = authorized(case(Ground::Requisition, false, true), "olivia2");
        assert!(matches!(
            may_export(&person("olivia2", BOTH), &c),
            Err(Refusal::ApproverExports { .. })
        ));
    }

    #[test]
    fn delivery_needs_the_requester_check_and_the_countersignature() {
        let c = authorized(case(Ground::Requisition, false, true), "arthur");
        let p = person("paul", OP);
        assert!(matches!(
            may_deliver(&p, &c),
            Err(Refusal::RequesterNotVerified { .. })
        ));
        let mut c = c;
        c.requester_verified = Some("carte".into());
        assert!(matches!(may_deliver(&p, &c), Err(Refusal::NoExport { .. })));
        let c2 = exported(c.clone(), "paul", None);
        assert!(matches!(
            may_deliver(&p, &c2),
            Err(Refusal::NotCountersigned { .. })
        ));
        let c3 = exported(c, "paul", Some("arthur"));
        assert_eq!(may_deliver(&p, &c3), Ok(()));
        // An incident needs no requester check.
        let inc = exported(
            authorized(case(Ground::Incident, false, true), "arthur"),
            "paul",
            Some("arthur"),
        );
        assert_eq!(may_deliver(&p, &inc), Ok(()));
    }

    #[test]
    fn the_countersigner_is_neither_the_opener_nor_the_exporter() {
        let c = exported(
            authorized(case(Ground::Requisition, false, true), "arthur"),
            "paul",
            None,
        );
        let e = c.exports[0].clone();
        assert!(matches!(
            may_countersign(&person("olivia", BOTH), &c, &e),
            Err(Refusal::SelfCountersign { .. })
        ));
        assert!(matches!(
            may_countersign(&person("paul", BOTH), &c, &e),
            Err(Refusal::ExporterApproves { .. })
        ));
        assert_eq!(may_countersign(&person("arthur", AU), &c, &e), Ok(()));
    }

    #[test]
    fn a_closed_case_is_neither_exported_nor_delivered() {
        let mut c = exported(
            authorized(case(Ground::Incident, false, true), "arthur"),
            "paul",
            Some("arthur"),
        );
        c.state = CaseState::Closed;
        assert!(matches!(
            may_export(&person("paul", OP), &c),
            Err(Refusal::Closed { .. })
        ));
        assert!(matches!(
            may_deliver(&person("paul", OP), &c),
            Err(Refusal::Closed { .. })
        ));
    }

    fn identity() -> crate::case::model::IdentityProof {
        crate::case::model::IdentityProof {
            document_kind: "carte nationale d'identité".into(),
            document_reference: "X4RTBPFW4".into(),
            checked_at: "2026-11-20T09:00:00Z".parse().unwrap(),
            legitimacy: "visible sur la caméra entrée".into(),
            scan: None,
            checked_by: "olivia".into(),
            recorded_at: None,
        }
    }

    #[test]
    fn an_access_request_is_approved_only_once_the_identity_is_proven() {
        let c = case(Ground::AccessRequest, false, true);
        assert!(matches!(
            may_approve(&person("arthur", AU), &c),
            Err(Refusal::IdentityNotProven { .. })
        ));
        let mut c = c;
        c.identity = Some(identity());
        assert_eq!(may_approve(&person("arthur", AU), &c), Ok(()));
        // Requisitions and incidents do not need it.
        let r = case(Ground::Requisition, false, true);
        assert_eq!(may_approve(&person("arthur", AU), &r), Ok(()));
        // One way per ground: identity for access requests, verify-requester for the others.
        assert!(matches!(
            may_verify_requester(&person("olivia", OP), &c),
            Err(Refusal::UseIdentity { .. })
        ));
        assert!(matches!(
            may_prove_identity(&person("olivia", OP), &r),
            Err(Refusal::NotAccessRequest { .. })
        ));
        assert!(may_prove_identity(&person("x", &[Role::Auditor]), &c).is_err());
        assert_eq!(may_prove_identity(&person("olivia", OP), &c), Ok(()));
    }

    #[test]
    fn an_access_request_is_exported_anonymized_with_the_reason_viewing_was_not_possible() {
        let mut c = authorized(case(Ground::AccessRequest, false, true), "arthur");
        let p = person("paul", OP);
        // Approved by a register written before the rule (or forged): still refused.
        assert!(matches!(
            may_export_as(&p, &c, Some("domicile à 600 km")),
            Err(Refusal::IdentityNotProven { .. })
        ));
        c.identity = Some(identity());
        for reason in [None, Some(""), Some("  ")] {
            assert!(matches!(
                may_export_as(&p, &c, reason),
                Err(Refusal::NoViewingReason { .. })
            ));
        }
        assert_eq!(
            may_export_as(&p, &c, Some("domicile à 600 km")),
            Ok(Handover::Anonymized)
        );
        let r = authorized(case(Ground::Requisition, false, true), "arthur");
        assert_eq!(may_export_as(&p, &r, None), Ok(Handover::Original));
        // A viewing: an operator, on an authorized access request.
        assert!(matches!(
            may_record_viewing(&p, &case(Ground::AccessRequest, false, true)),
            Err(Refusal::NotAuthorized { .. })
        ));
        assert_eq!(may_record_viewing(&p, &c), Ok(()));
        assert!(may_record_viewing(&person("arthur", AU), &c).is_err());
        assert!(matches!(
            may_record_viewing(&p, &r),
            Err(Refusal::NotAccessRequest { .. })
        ));
        // Delivered only with the identity proven (not verify-requester).
        let mut d = exported(c.clone(), "paul", Some("arthur"));
        assert_eq!(may_deliver(&p, &d), Ok(()));
        d.identity = None;
        d.requester_verified = Some("carte".into());
        assert!(matches!(
            may_deliver(&p, &d),
            Err(Refusal::IdentityNotProven { .. })
        ));
    }

    #[test]
    fn the_gate_of_the_other_operations() {
        assert!(may_read(&person("x", &[])).is_err());
        assert_eq!(may_read(&person("a", &[Role::Auditor])), Ok(()));
        assert!(may_print_receipt(&person("a", &[Role::Auditor])).is_err());
        assert!(may_purge(&person("a", AU)).is_err());
        assert_eq!(may_purge(&person("p", OP)), Ok(()));
        assert!(may_record_destruction(&person("p", OP)).is_err());
        assert_eq!(may_inventory_media(&person("a", AU)), Ok(()));
    }
}
