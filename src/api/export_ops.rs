//! `case-export`: the first call runs the export (progress lines on the way) and answers with
//! a challenge, the operator's signature of `export-completed`; the second call carries that
//! signature and gets the record and the password. An export left unsigned is closed as
//! interrupted and its files removed ([`PendingExport`]).

use std::sync::Arc;

use serde_json::json;
use tokio::sync::mpsc;

use super::error_codes::{case_error_reply, error_reply};
use super::handlers::Session;
use super::protocol::{ErrorCode, ExportArgs, Reply};
use crate::config::Person;
use crate::daemon::state::State;
use crate::register::SIGNATURE_NAMESPACE;
use crate::security_log::TARGET as SECURITY;

/// An export verified and waiting for the operator's signature. Dropped unsigned (the client
/// went away), it is closed in the register as interrupted and its files are removed from the
/// drive (listed in the entry), so the same command can be run again.
pub(super) struct PendingExport {
    verified: Option<crate::export::Verified>,
    statement: crate::register::NewEntry,
    register: Arc<crate::register::Register>,
}

impl std::fmt::Debug for PendingExport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingExport").finish_non_exhaustive()
    }
}

impl Drop for PendingExport {
    fn drop(&mut self) {
        let Some(v) = self.verified.take() else {
            return;
        };
        let register = self.register.clone();
        let record = v.record;
        let close = move || {
            let names: Vec<String> = record.files.iter().map(|f| f.file.name.clone()).collect();
            let removed = crate::export::journal::remove_export_files(
                std::path::Path::new(&record.destination.path),
                &names,
            );
            let r = crate::export::journal::append_outcome(
                &register,
                crate::register::EntryKind::ExportInterrupted,
                &record.case_id,
                &record.export_id,
                "verified, but the operator did not sign the export-completed entry \
                 (connection closed): its files were removed, the export is not complete",
                &removed,
            );
            if let Err(e) = r {
                tracing::error!(export = %record.export_id, error = %e, "cannot record the unsigned export");
            }
        };
        match tokio::runtime::Handle::try_current() {
            Ok(h) => {
                h.spawn_blocking(close);
            }
            Err(_) => close(),
        }
    }
}

/// `case-export`: first call runs the export and answers with a challenge; the second call
/// carries the operator's signature of `export-completed` and gets the record and password.
pub(super) async fn export_op(
    state: &Arc<State>,
    session: &mut Session,
    person: Person,
    id: u64,
    a: ExportArgs,
    progress: &mpsc::Sender<Reply>,
) -> Reply {
    if let Some(signature) = &a.signature {
        return export_sign(state, session, &person, id, &a, signature).await;
    }
    let case = match state.cases.check_export(&person, &a.case) {
        Ok(c) => c,
        Err(e) => return case_error_reply(id, e),
    };
    let anonymize = match super::access_ops::export_choice(&person, &case, id, &a) {
        Ok(x) => x,
        Err(r) => return r,
    };
    // Without a destination the command is the policy check alone: it passed.
    let Some(to) = a.to.clone() else {
        return Reply::ok(
            id,
            json!({ "case": case.id, "may_export": true, "exported": false,
                    "next": format!("scelle case export {} --to DIR", case.id) }),
        );
    };
    let reviewed = anonymize.as_ref().and_then(|x| x.review.clone());
    let (password, generated) = match &a.password {
        // A reviewed export is sealed with the password its review sheet was sealed with.
        _ if reviewed.is_some() => {
            let r = reviewed.as_ref().expect("checked");
            if a.password
                .as_ref()
                .is_some_and(|p| p.as_str() != r.password.as_str())
            {
                return Reply::error(
                    id,
                    ErrorCode::BadArgs,
                    "this export uses the password of its review sheet: leave --password-file out",
                );
            }
            (r.password.clone(), r.password_generated)
        }
        Some(p) => {
            if let Err(weak) = crate::seal::password::check(p) {
                return Reply::error(
                    id,
                    ErrorCode::BadArgs,
                    format!("password refused: {weak}: leave it out and scelle generates one"),
                );
            }
            (zeroize::Zeroizing::new(p.clone()), false)
        }
        None => (crate::seal::password::generate(), true),
    };
    if !crate::export::pipeline::claim(&case.id) {
        return Reply::error(
            id,
            ErrorCode::Refused,
            format!("an export of case {} is already running", case.id),
        );
    }
    let _running = crate::export::pipeline::Running(case.id.clone());
    let req = crate::export::ExportRequest {
        case,
        operator: person.clone(),
        to: std::path::PathBuf::from(to),
        accept_drive: a.accept_drive,
        password,
        password_generated: generated,
        anonymize,
    };
    let prog = progress_lines(id, progress);
    let result = crate::export::run(
        state.config(),
        state.register.clone(),
        req,
        state.shutdown.clone(),
        prog,
    )
    .await;
    let verified = match result {
        Ok(v) => v,
        Err(e) => return error_reply(id, e),
    };
    let statement = crate::export::journal::completed_entry(
        &verified.record,
        &verified.verified_entry,
        &verified.export_started,
        &person.id,
    );
    let reply =
        super::handlers::challenge(id, &person, SIGNATURE_NAMESPACE, &statement.statement());
    session.pending_export = Some(PendingExport {
        verified: Some(verified),
        statement,
        register: state.register.clone(),
    });
    reply
}

/// Removes a verified export's files and records `export-failed` with `reason`.
async fn abandon(state: &Arc<State>, v: crate::export::Verified, reason: &str) {
    let removed = crate::export::pipeline::remove_files(&v);
    let register = state.register.clone();
    let (case, export) = (v.record.case_id.clone(), v.record.export_id.clone());
    let reason = format!(
        "not completed: {reason}; the export's files were removed, no password was released"
    );
    tracing::warn!(target: SECURITY, event = "export-failed", export = %export, case = %case,
        reason = %reason, "verified export abandoned");
    let r = tokio::task::spawn_blocking(move || {
        crate::export::journal::append_outcome(
            &register,
            crate::register::EntryKind::ExportFailed,
            &case,
            &export,
            &reason,
            &removed,
        )
    })
    .await;
    if !matches!(r, Ok(Ok(_))) {
        tracing::error!("cannot record the abandoned export");
    }
}

/// Where a long operation's progress goes: progress lines of request `id` on the connection
/// (dropped, never waited for, when the client reads slower than they come).
pub(super) fn progress_lines(
    id: u64,
    progress: &mpsc::Sender<Reply>,
) -> crate::export::pipeline::Progress {
    let tx = progress.clone();
    crate::export::pipeline::Progress::new(move |line| {
        let reply = match line.data {
            None => Reply::progress(id, line.stage),
            Some(data) => Reply::progress_data(id, line.stage, data),
        };
        let _ = tx.try_send(reply);
    })
}

async fn export_sign(
    state: &Arc<State>,
    session: &mut Session,
    person: &Person,
    id: u64,
    a: &ExportArgs,
    signature: &str,
) -> Reply {
    let matches = session.pending_export.as_ref().is_some_and(|p| {
        p.verified.as_ref().is_some_and(|v| {
            v.record.case_id == a.case
                && a.export.as_deref().is_none_or(|e| e == v.record.export_id)
        })
    });
    if !matches {
        return Reply::error(
            id,
            ErrorCode::BadArgs,
            "no verified export of this case is waiting for a signature on this connection",
        );
    }
    // Closed (or otherwise no longer exportable) while waiting for the signature: the export
    // stops here, its files are removed and no password is released.
    if let Err(e) = state.cases.check_export(person, &a.case) {
        if let Some(v) = session
            .pending_export
            .take()
            .and_then(|mut p| p.verified.take())
        {
            abandon(state, v, &e.to_string()).await;
        }
        return case_error_reply(id, e);
    }
    let pending = session.pending_export.as_mut().expect("checked above");
    let mut entry = pending.statement.clone();
    if let Err(e) = crate::register::signature::verify(
        &person.public_key.key,
        SIGNATURE_NAMESPACE,
        &entry.statement(),
        signature,
    ) {
        return Reply::error(
            id,
            ErrorCode::BadSignature,
            format!("export signature refused: {e}"),
        );
    }
    entry.signatures.push(crate::register::EntrySignature {
        person: person.id.clone(),
        role: crate::config::Role::Operator.as_str().to_owned(),
        signature: signature.trim().to_owned(),
    });
    let register = state.register.clone();
    let appended = tokio::task::spawn_blocking(move || register.append(entry)).await;
    match appended {
        Ok(Ok(e)) => {
            let Some(v) = pending.verified.take() else {
                return Reply::error(id, ErrorCode::Internal, "export vanished");
            };
            session.pending_export = None;
            crate::export::pipeline::review::forget(&v.record.case_id);
            tracing::info!(target: SECURITY, event = "export-completed", person = %person.id,
                export = %v.record.export_id, case = %v.record.case_id,
                files = v.record.files.len(), drive_serial = %v.record.destination.drive.serial,
                drive_approved = v.record.destination.approved,
                "export completed and signed");
            Reply::ok(
                id,
                json!({
                    "record": v.record,
                    "completed_entry": hex::encode(e.hash),
                    "password": v.password.as_str(),
                }),
            )
        }
        Ok(Err(e)) => {
            tracing::error!(error = %e, "cannot record export-completed");
            Reply::error(id, ErrorCode::Internal, format!("register: {e}"))
        }
        Err(e) => Reply::error(id, ErrorCode::Internal, format!("internal error: {e}")),
    }
}
