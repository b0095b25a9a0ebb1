//! The case workflow: checks [`policy`](super::policy), appends register entries, and keeps
//! the cases folded from the register in memory for fast reads.
//!
//! Synchronous on purpose (the register is): the daemon calls it from `spawn_blocking`.
//! Writes are serialized by one mutex so a check and the append it allows cannot interleave
//! with another writer; reads take a read lock on the folded cases and never wait on disk.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde_json::json;

use crate::case::ExportRecord;
use crate::config::Person;
use crate::register::signature::{self, SignatureError};
use crate::register::{EntryKind, NewEntry, PersonRecord, Register, RegisterError, SITE_PERSON};

use super::documents::DocumentStore;
use super::model::{Case, CaseState, Document, ExportFact, Ground, Opening, Range};
use super::policy::{self, Refusal};
use super::request::OpenArgs;
use super::statement;

/// The site as statements name it: its key's fingerprint and its name.
#[derive(Clone, Debug)]
pub struct SiteId {
    pub fingerprint: String,
    pub name: String,
}

/// Why a case operation did not happen.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CaseError {
    #[error("refused: {0}")]
    Refused(#[from] Refusal),
    #[error("no case {0}: `scelle case list` shows the cases")]
    NotFound(String),
    #[error("{0}")]
    BadInput(String),
    #[error("signature refused: {0}")]
    BadSignature(#[from] SignatureError),
    #[error("statement refused: {0}")]
    Statement(String),
    #[error("register: {0}")]
    Register(#[from] RegisterError),
    #[error("cannot store the document in the state directory: {0}")]
    Io(#[from] std::io::Error),
}

/// A document received from a client.
pub struct Upload {
    pub name: String,
    pub bytes: Vec<u8>,
}

/// The case workflow over one register.
pub struct Cases {
    register: Arc<Register>,
    documents: DocumentStore,
    cases: RwLock<BTreeMap<String, Case>>,
    people: Mutex<Option<Vec<PersonRecord>>>,
    write: Mutex<()>,
    /// Sequence number of the last register entry folded into `cases`.
    folded: Mutex<u64>,
}

/// Every case (and the people list in force) folded from `entries`, in order.
fn fold(
    entries: Vec<crate::register::Entry>,
) -> (BTreeMap<String, Case>, Option<Vec<PersonRecord>>) {
    let mut cases = BTreeMap::new();
    let mut people = None;
    for entry in entries {
        match (entry.kind, &entry.case_id) {
            (EntryKind::PeopleChanged, _) => {
                people = entry
                    .payload
                    .get("people")
                    .and_then(|p| serde_json::from_value(p.clone()).ok());
            }
            (EntryKind::CaseOpened, _) => {
                if let Some(c) = Case::from_opened(&entry) {
                    cases.insert(c.id.clone(), c);
                }
            }
            (_, Some(id)) => {
                // An approval bound to another case's opening never applies to this one
                // (registers written before the link existed carry none).
                let bound = ["case_opened", "opened_entry"]
                    .iter()
                    .find_map(|k| entry.payload.get(*k).and_then(|v| v.as_str()));
                if let Some(c) = cases.get_mut(id)
                    && (entry.kind != EntryKind::CaseAuthorized
                        || bound.is_none_or(|b| b == c.opened_entry))
                {
                    c.apply(&entry);
                }
            }
            _ => {}
        }
    }
    (cases, people)
}

impl Cases {
    /// Folds every case out of the register.
    pub fn load(register: Arc<Register>, state_dir: &Path) -> Result<Cases, CaseError> {
        let head = register.head()?.seq;
        let (cases, people) = fold(register.entries(None)?);
        Ok(Cases {
            register,
            documents: DocumentStore::new(state_dir),
            cases: RwLock::new(cases),
            people: Mutex::new(people),
            write: Mutex::new(()),
            folded: Mutex::new(head),
        })
    }

    /// Folds again when the register moved on without this service (the export pipeline,
    /// the purge and the media inventory append their own entries), so checks see every
    /// export, countersignature and hand-over.
    fn catch_up(&self) {
        let head = match self.register.head() {
            Ok(h) => h.seq,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the register head");
                return;
            }
        };
        let mut folded = lock(&self.folded);
        if *folded == head {
            return;
        }
        match self.register.entries(None) {
            Ok(entries) => {
                *write(&self.cases) = fold(entries).0;
                *folded = head;
            }
            Err(e) => tracing::error!(error = %e, "cannot read the register"),
        }
    }

    /// Records the people list if it differs from the one in force (AUTH-4: every change of
    /// the list is itself recorded). Returns whether an entry was appended.
    pub fn sync_people(&self, people: &[Person]) -> Result<bool, CaseError> {
        let _w = lock(&self.write);
        let records: Vec<PersonRecord> = people.iter().map(Person::record).collect();
        let mut known = lock(&self.people);
        if known.as_ref() == Some(&records) {
            return Ok(false);
        }
        self.register.append(NewEntry::new(
            EntryKind::PeopleChanged,
            None,
            "scelle",
            json!({ "people": records }),
        ))?;
        *known = Some(records);
        Ok(true)
    }

    /// Refuses a people list that would leave open cases with nobody to act on them.
    pub fn check_people(&self, people: &[Person]) -> Result<(), String> {
        if !people.is_empty() {
            return Ok(());
        }
        let open: Vec<String> = read(&self.cases)
            .values()
            .filter(|c| c.state != CaseState::Closed)
            .map(|c| c.id.clone())
            .collect();
        if open.is_empty() {
            return Ok(());
        }
        Err(format!(
            "the people list is empty (no [[person]]) while cases are open ({}): nobody could \
             approve, export or close them; keep the people list (AUTH-4)",
            open.join(", ")
        ))
    }

    /// Every case, oldest first.
    pub fn list(&self) -> Vec<Case> {
        self.catch_up();
        read(&self.cases).values().cloned().collect()
    }

    pub fn get(&self, id: &str) -> Result<Case, CaseError> {
        self.catch_up();
        read(&self.cases)
            .get(id)
            .cloned()
            .ok_or_else(|| CaseError::NotFound(id.to_owned()))
    }

    /// Opens a case (STEP-2) after checking AUTH-1, AUTH-3, AUTH-4 and STEP-1.
    pub fn open(
        &self,
        person: &Person,
        args: OpenArgs,
        request: Option<Upload>,
        tz: &TimeZone,
        progress: &dyn Fn(&str),
    ) -> Result<Case, CaseError> {
        policy::may_open(person, request.is_some(), args.emergency.as_deref())?;
        let opening = opening(args, tz)?;
        let _w = lock(&self.write);
        let id = self.next_id();
        let document = match request {
            Some(upload) => {
                progress("storing the written request");
                Some(self.store(upload)?)
            }
            None => None,
        };
        progress("recording the case in the register");
        let payload =
            serde_json::to_value(&opening).map_err(|e| CaseError::BadInput(e.to_string()))?;
        let emergency = opening.emergency.clone();
        let entry = self.register.append(NewEntry::new(
            EntryKind::CaseOpened,
            Some(&id),
            &person.id,
            payload,
        ))?;
        let mut case = Case::from_opened(&entry)
            .ok_or_else(|| CaseError::BadInput("case-opened payload does not fold".into()))?;
        if let Some(justification) = emergency {
            let e = self.register.append(NewEntry::new(
                EntryKind::EmergencyStarted,
                Some(&id),
                &person.id,
                json!({ "justification": justification }),
            ))?;
            case.apply(&e);
        }
        if let Some(doc) = document {
            let e = self.append_document(&id, &person.id, &doc)?;
            case.apply(&e);
        }
        write(&self.cases).insert(id, case.clone());
        Ok(case)
    }

    /// Attaches a written request to a case (AUTH-3).
    pub fn attach(&self, person: &Person, id: &str, upload: Upload) -> Result<Case, CaseError> {
        let _w = lock(&self.write);
        let case = self.get(id)?;
        policy::may_attach(person, &case)?;
        let doc = self.store(upload)?;
        let entry = self.append_document(id, &person.id, &doc)?;
        self.apply(id, &entry)?;
        self.regularize_if_complete(id)
    }

    /// The approval statement of case `id` (namespace `scelle-approve`), valid `hours` from
    /// `now`: what the authorizer signs, on site or remotely with `ssh-keygen -Y sign`.
    pub fn approval_statement(
        &self,
        site: &SiteId,
        id: &str,
        hours: Option<u32>,
        now: Timestamp,
    ) -> Result<String, CaseError> {
        let case = self.get(id)?;
        if case.state == CaseState::Closed {
            return Err(Refusal::Closed { case: case.id }.into());
        }
        Ok(statement::approval(
            &site.fingerprint,
            &site.name,
            &case,
            statement::expiry(now, hours),
        ))
    }

    /// Records an approval: `text` must be exactly the approval statement of the case as it
    /// stands (same site, case, opening, expiry not past), `signature` an SSHSIG over it in
    /// namespace `scelle-approve` by a listed authorizer who may approve it (AUTH-2). The entry
    /// is the daemon's (actor `scelle`); the signer is in its `signed_statement`. Returns the
    /// case and the signer's id.
    pub fn approve_signed(
        &self,
        people: &[Person],
        site: &SiteId,
        id: &str,
        text: &str,
        signature: &str,
        now: Timestamp,
    ) -> Result<(Case, String), CaseError> {
        let _w = lock(&self.write);
        let case = self.get(id)?;
        let expires = check_expiry(text, now)?;
        if text != statement::approval(&site.fingerprint, &site.name, &case, expires) {
            return Err(CaseError::Statement(format!(
                "the signed text is not the approval statement of case {id} as it stands on this                  site (another case or site, or the case changed since it was printed): print it                  again with `scelle case approve {id} --print-statement`"
            )));
        }
        let signer = signer_of(people, statement::APPROVE_NAMESPACE, text, signature)?;
        policy::may_approve(signer, &case)?;
        let entry = NewEntry::new(
            EntryKind::CaseAuthorized,
            Some(id),
            SITE_PERSON,
            json!({
                "case": case.id,
                "case_opened": case.opened_entry,
                "ground": case.opening.ground,
                "cameras": case.opening.cameras,
                "ranges": case.opening.ranges,
                "recipient": case.opening.recipient,
                "requests": case.documents.iter().filter(|d| d.role == "request")
                    .map(|d| d.sha256.clone()).collect::<Vec<_>>(),
                "expires": expires,
                "signed_statement": signed(signer, statement::APPROVE_NAMESPACE, text, signature),
            }),
        );
        let entry = self.register.append(entry)?;
        self.apply(id, &entry)?;
        Ok((self.regularize_if_complete(id)?, signer.id.clone()))
    }

    /// The countersignature statement of an export of case `id` (default: its last completed
    /// one), namespace `scelle-countersign`.
    pub fn countersign_statement(
        &self,
        site: &SiteId,
        id: &str,
        export: Option<&str>,
        hours: Option<u32>,
        now: Timestamp,
    ) -> Result<String, CaseError> {
        let case = self.get(id)?;
        let fact = policy::export_of(&case, export)?.clone();
        let record = self.record_of(id, &fact)?;
        Ok(statement::countersignature(
            &site.fingerprint,
            &site.name,
            &case,
            &record,
            &fact.completed_entry,
            statement::expiry(now, hours),
        ))
    }

    /// Records a countersignature (STEP-5), checked as [`Cases::approve_signed`] is, by an
    /// authorizer who neither opened the case nor made the export. Returns the case and the
    /// signer's id.
    #[allow(clippy::too_many_arguments)]
    pub fn countersign_signed(
        &self,
        people: &[Person],
        site: &SiteId,
        id: &str,
        export: Option<&str>,
        text: &str,
        signature: &str,
        now: Timestamp,
    ) -> Result<(Case, String), CaseError> {
        let _w = lock(&self.write);
        let case = self.get(id)?;
        let fact = policy::export_of(&case, export)?.clone();
        let record = self.record_of(id, &fact)?;
        let expires = check_expiry(text, now)?;
        let expected = statement::countersignature(
            &site.fingerprint,
            &site.name,
            &case,
            &record,
            &fact.completed_entry,
            expires,
        );
        if text != expected {
            return Err(CaseError::Statement(format!(
                "the signed text is not the countersignature statement of export {} of case {id}                  on this site: print it again with `scelle case countersign {id} --print-statement`",
                fact.export_id
            )));
        }
        let signer = signer_of(people, statement::COUNTERSIGN_NAMESPACE, text, signature)?;
        policy::may_countersign(signer, &case, &fact)?;
        let entry = NewEntry::new(
            EntryKind::ExportCountersigned,
            Some(id),
            SITE_PERSON,
            json!({
                "export_id": fact.export_id,
                "export_completed": fact.completed_entry,
                "expires": expires,
                "signed_statement":
                    signed(signer, statement::COUNTERSIGN_NAMESPACE, text, signature),
            }),
        );
        let entry = self.register.append(entry)?;
        Ok((self.apply(id, &entry)?, signer.id.clone()))
    }

    /// The export record of a completed export, from its `export-completed` entry.
    fn record_of(&self, id: &str, fact: &ExportFact) -> Result<ExportRecord, CaseError> {
        let entry = self
            .register
            .entries(Some(id))?
            .into_iter()
            .find(|e| {
                e.kind == EntryKind::ExportCompleted && hex::encode(e.hash) == fact.completed_entry
            })
            .ok_or_else(|| CaseError::NotFound(format!("{id}: export {}", fact.export_id)))?;
        serde_json::from_value(entry.payload["record"].clone()).map_err(|e| {
            CaseError::BadInput(format!(
                "export {} record does not parse: {e}",
                fact.export_id
            ))
        })
    }

    /// Records how the requester's authority was verified (AUTH-5).
    pub fn verify_requester(
        &self,
        person: &Person,
        id: &str,
        how: &str,
    ) -> Result<Case, CaseError> {
        if how.trim().is_empty() {
            return Err(CaseError::BadInput(
                "say how the requester was verified (card number, service, call-back)".into(),
            ));
        }
        let _w = lock(&self.write);
        let case = self.get(id)?;
        policy::may_verify_requester(person, &case)?;
        let entry = self.register.append(NewEntry::new(
            EntryKind::RequesterVerified,
            Some(id),
            &person.id,
            json!({ "how": how.trim() }),
        ))?;
        self.apply(id, &entry)
    }

    /// The case as it stands, if `check` allows `person` to act on it: for operations that
    /// first show the statement to sign, then record it ([`Cases::record_signed`]).
    pub fn check(
        &self,
        person: &Person,
        id: &str,
        check: &dyn Fn(&Person, &Case) -> Result<(), Refusal>,
    ) -> Result<Case, CaseError> {
        let case = self.get(id)?;
        check(person, &case)?;
        Ok(case)
    }

    /// Records `entry`, an entry of case `id` by `person` (its actor), once `check` allows it
    /// on the case as it stands and `signature` is `person`'s SSHSIG over its statement
    /// (namespace `scelle-register`), added to the entry as signed in `role`. `scan`, if any,
    /// is stored and attached first as a document of its role (the entry names its SHA-256).
    #[allow(clippy::too_many_arguments)]
    pub fn record_signed(
        &self,
        person: &Person,
        id: &str,
        check: &dyn Fn(&Person, &Case) -> Result<(), Refusal>,
        mut entry: NewEntry,
        role: crate::config::Role,
        signature: &str,
        scan: Option<(Upload, &str)>,
    ) -> Result<Case, CaseError> {
        let _w = lock(&self.write);
        let case = self.get(id)?;
        check(person, &case)?;
        if entry.case_id.as_deref() != Some(id) || entry.actor != person.id {
            return Err(CaseError::BadInput(
                "the entry is not about this case by this person".into(),
            ));
        }
        signature::verify(
            &person.public_key.key,
            crate::register::SIGNATURE_NAMESPACE,
            &entry.statement(),
            signature,
        )?;
        entry.signatures.push(crate::register::EntrySignature {
            person: person.id.clone(),
            role: role.as_str().to_owned(),
            signature: signature.trim().to_owned(),
        });
        if let Some((upload, doc_role)) = scan {
            let doc = self.store_as(upload, doc_role)?;
            let e = self.append_document(id, &person.id, &doc)?;
            self.apply(id, &e)?;
        }
        let entry = self.register.append(entry)?;
        self.apply(id, &entry)
    }

    /// Closes a case.
    pub fn close(&self, person: &Person, id: &str, reason: &str) -> Result<Case, CaseError> {
        if reason.trim().is_empty() {
            return Err(CaseError::BadInput("a case is closed with a reason".into()));
        }
        let _w = lock(&self.write);
        let case = self.get(id)?;
        policy::may_close(person, &case)?;
        let entry = self.register.append(NewEntry::new(
            EntryKind::CaseClosed,
            Some(id),
            &person.id,
            json!({ "reason": reason.trim() }),
        ))?;
        self.apply(id, &entry)
    }

    /// Whether `person` may export this case now (AUTH-2, AUTH-3).
    pub fn check_export(&self, person: &Person, id: &str) -> Result<Case, CaseError> {
        let case = self.get(id)?;
        policy::may_export(person, &case)?;
        Ok(case)
    }

    /// Emergencies not regularized within `hours` (AUTH-3).
    pub fn overdue(&self, now: Timestamp, hours: u32) -> Vec<Case> {
        read(&self.cases)
            .values()
            .filter(|c| c.is_overdue(now, hours))
            .cloned()
            .collect()
    }

    /// The store of the case documents (written requests, signed receipts).
    pub fn documents(&self) -> &DocumentStore {
        &self.documents
    }

    /// Appends entries of case `id` in order, under the write lock, and folds them into the
    /// case: for modules that own their own checks (delivery, purge).
    pub fn record(&self, id: &str, entries: Vec<NewEntry>) -> Result<Case, CaseError> {
        let _w = lock(&self.write);
        let mut case = self.get(id)?;
        for e in entries {
            let entry = self.register.append(e)?;
            case = self.apply(id, &entry)?;
        }
        Ok(case)
    }

    fn next_id(&self) -> String {
        let year = Timestamp::now().to_zoned(TimeZone::UTC).year();
        let prefix = format!("{year}-");
        // The next free number, never a count: a gap or a foreign id cannot make it reissue one.
        let n = read(&self.cases)
            .keys()
            .filter_map(|k| k.strip_prefix(&prefix)?.parse::<u64>().ok())
            .max()
            .unwrap_or(0);
        format!("{prefix}{:04}", n + 1)
    }

    fn store(&self, upload: Upload) -> Result<Document, CaseError> {
        self.store_as(upload, "request")
    }

    fn store_as(&self, upload: Upload, role: &str) -> Result<Document, CaseError> {
        if upload.bytes.is_empty() {
            return Err(CaseError::BadInput(format!("the {role} document is empty")));
        }
        let sha256 = self.documents.put(&upload.bytes)?;
        let name = Path::new(&upload.name)
            .file_name()
            .map(|n| n.to_string_lossy().replace(['\n', '\r'], " "))
            .unwrap_or_else(|| "request".into());
        Ok(Document {
            sha256,
            name,
            size: upload.bytes.len() as u64,
            role: role.into(),
        })
    }

    fn append_document(
        &self,
        id: &str,
        actor: &str,
        doc: &Document,
    ) -> Result<crate::register::Entry, CaseError> {
        let payload = serde_json::to_value(doc).map_err(|e| CaseError::BadInput(e.to_string()))?;
        Ok(self.register.append(NewEntry::new(
            EntryKind::DocumentAttached,
            Some(id),
            actor,
            payload,
        ))?)
    }

    fn apply(&self, id: &str, entry: &crate::register::Entry) -> Result<Case, CaseError> {
        {
            let mut folded = lock(&self.folded);
            if entry.seq == *folded + 1 {
                *folded = entry.seq;
            }
        }
        let mut cases = write(&self.cases);
        let case = cases
            .get_mut(id)
            .ok_or_else(|| CaseError::NotFound(id.to_owned()))?;
        case.apply(entry);
        Ok(case.clone())
    }

    /// An emergency with both its authorization and written request is regularized (AUTH-3).
    fn regularize_if_complete(&self, id: &str) -> Result<Case, CaseError> {
        let case = self.get(id)?;
        if case.needs_regularization() && case.authorized_by.is_some() && case.has_request() {
            let entry = self.register.append(NewEntry::new(
                EntryKind::EmergencyRegularized,
                Some(id),
                "scelle",
                json!({ "authorized_by": case.authorized_by, "requests":
                    case.documents.iter().map(|d| d.sha256.clone()).collect::<Vec<_>>() }),
            ))?;
            return self.apply(id, &entry);
        }
        Ok(case)
    }
}

/// The expiry a statement names, refused when absent or past.
fn check_expiry(text: &str, now: Timestamp) -> Result<Timestamp, CaseError> {
    let expires = statement::expires(text).ok_or_else(|| {
        CaseError::Statement("the statement names no `expires:` line: print it again".into())
    })?;
    if expires <= now {
        return Err(CaseError::Statement(format!(
            "the statement expired at {expires}: print a new one and sign it again"
        )));
    }
    let latest = statement::expiry(now, Some(statement::MAX_VALID_HOURS));
    if expires > latest {
        return Err(CaseError::Statement(format!(
            "the statement is valid until {expires}, more than {} days ahead: print a new one",
            statement::MAX_VALID_HOURS / 24
        )));
    }
    Ok(expires)
}

/// The listed person whose key made `armored` over `text` in `namespace`.
fn signer_of<'a>(
    people: &'a [Person],
    namespace: &str,
    text: &str,
    armored: &str,
) -> Result<&'a Person, CaseError> {
    let sig = signature::parse(armored)?;
    if sig.namespace() != namespace {
        return Err(SignatureError::Namespace {
            found: sig.namespace().to_owned(),
            expected: namespace.to_owned(),
        }
        .into());
    }
    let person = people
        .iter()
        .find(|p| p.public_key.key.key_data() == sig.public_key())
        .ok_or(SignatureError::UnknownKey)?;
    signature::verify(&person.public_key.key, namespace, text.as_bytes(), armored)?;
    Ok(person)
}

/// The `signed_statement` of an entry (the register contract with `register verify`).
fn signed(person: &Person, namespace: &str, text: &str, signature: &str) -> serde_json::Value {
    json!({ "person": person.id, "namespace": namespace, "text": text,
            "signature": signature.trim() })
}

/// Validates what a client asked to open (AUTH-1, STEP-1).
fn opening(args: OpenArgs, tz: &TimeZone) -> Result<Opening, CaseError> {
    let ground = Ground::parse(&args.ground).ok_or_else(|| {
        CaseError::BadInput(format!(
            "unknown ground `{}` (AUTH-1): expected requisition, incident or access-request",
            args.ground
        ))
    })?;
    let need = |what: &str, v: &str| {
        if v.trim().is_empty() {
            Err(CaseError::from(Refusal::Incomplete(format!(
                "the {what} is missing"
            ))))
        } else {
            Ok(v.trim().to_owned())
        }
    };
    if args.cameras.is_empty() || args.cameras.iter().any(|c| c.trim().is_empty()) {
        return Err(Refusal::Incomplete("name at least one camera".into()).into());
    }
    if args.ranges.is_empty() {
        return Err(Refusal::Incomplete("give at least one time range START/END".into()).into());
    }
    let ranges = args
        .ranges
        .iter()
        .map(|r| parse_range(r, tz))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Opening {
        ground,
        requester: need("requester", &args.requester)?,
        organisation: need("requester's organisation", &args.organisation)?,
        reference: need("reference", &args.reference)?,
        recipient: need("recipient", &args.recipient)?,
        purpose: need("purpose", &args.purpose)?,
        cameras: args.cameras.iter().map(|c| c.trim().to_owned()).collect(),
        ranges,
        emergency: args.emergency.map(|e| e.trim().to_owned()),
    })
}

/// `START/END`: RFC 3339 instants, or civil times in the site's zone.
pub fn parse_range(text: &str, tz: &TimeZone) -> Result<Range, CaseError> {
    let bad = || {
        CaseError::BadInput(format!(
            "bad time range `{text}`: expected START/END such as \
             2026-11-20T10:00:00+01:00/2026-11-20T10:30:00+01:00 or 2026-11-20T10:00/2026-11-20T10:30"
        ))
    };
    let (a, b) = text.split_once('/').ok_or_else(bad)?;
    let instant = |s: &str| -> Option<Timestamp> {
        s.trim().parse::<Timestamp>().ok().or_else(|| {
            let civil: jiff::civil::DateTime = s.trim().parse().ok()?;
            civil.to_zoned(tz.clone()).ok().map(|z| z.timestamp())
        })
    };
    let (start, end) = (instant(a).ok_or_else(bad)?, instant(b).ok_or_else(bad)?);
    if start >= end {
        return Err(CaseError::BadInput(format!(
            "time range `{text}` ends before it starts"
        )));
    }
    Ok(Range { start, end })
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
fn read<T>(m: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    m.read().unwrap_or_else(|e| e.into_inner())
}
fn write<T>(m: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    m.write().unwrap_or_else(|e| e.into_inner())
}
