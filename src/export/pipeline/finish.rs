//! The end of a verified export: the sealed manifest (the export record), the recipient's
//! instructions and checksums next to the files, and the `export-verified` register entry.

use std::io::Write;
use std::sync::Arc;

use jiff::Timestamp;
use serde_json::json;

use super::file::FileContext;
use super::{Verified, blocking};
use crate::case::Case;
use crate::case::export_record::{
    Destination, ExportRecord, ExportedFile, FileDigest, RECORD_FORMAT,
};
use crate::config::{Config, Person};
use crate::export::destination::Checked;
use crate::export::sealed::{self, partial_of};
use crate::export::{ExportError, page, texts};
use crate::register::{EntryKind, NewEntry, Register};
use crate::seal::Metadata;

pub(super) struct FinishFacts<'a> {
    pub(super) export_id: String,
    pub(super) case: &'a Case,
    pub(super) operator: &'a Person,
    pub(super) config: &'a Config,
    pub(super) head: crate::register::Head,
    pub(super) checked: &'a Checked,
}

/// Manifest, instructions, `export-verified`.
pub(super) async fn finish(
    ctx: &Arc<FileContext>,
    mut files: Vec<ExportedFile>,
    f: FinishFacts<'_>,
    register: Arc<Register>,
) -> Result<Verified, ExportError> {
    files.sort_by(|a, b| a.file.name.cmp(&b.file.name));
    let mut record = ExportRecord {
        format: RECORD_FORMAT,
        export_id: f.export_id.clone(),
        case_id: f.case.id.clone(),
        case_reference: f.case.opening.reference.clone(),
        operator: f.operator.id.clone(),
        site_name: f.config.site.name.clone(),
        time_zone: f.config.site.time_zone.0.clone(),
        started_at: ctx.started_at,
        finished_at: Timestamp::now(),
        register_head: f.head,
        destination: Destination {
            path: ctx.folder.display().to_string(),
            drive: f.checked.drive.clone(),
            approved: f.checked.approved,
            accepted_by_operator: f.checked.accepted_by_operator,
            certification: crate::export::destination::certification(
                &f.checked.drive,
                &f.config.export.approved_drives,
            ),
        },
        files,
        manifest: None,
    };
    ctx.progress.stage("sealing the manifest");
    let json = serde_json::to_vec_pretty(&record).map_err(|e| ExportError::Write {
        camera: "-".into(),
        source: e.into(),
    })?;
    let manifest_path = ctx.folder.join("manifest.json.scelle");
    let partial = partial_of(&manifest_path);
    ctx.track(&partial);
    let c2 = ctx.clone();
    let (p2, m2) = (partial.clone(), manifest_path.clone());
    let seal = blocking(move || {
        let mut meta = Metadata::now("manifest.json", "application/json");
        meta.case_id = Some(c2.case_id.clone());
        let seal = sealed::write_bytes(&json, &c2.dir, &p2, &c2.password, &c2.params, &meta)?;
        sealed::verify(&c2.dir, &p2, &c2.password, &seal, false)?;
        sealed::promote(&c2.dir, &p2, &m2)?;
        Ok(seal)
    })
    .await?;
    ctx.track(&manifest_path);
    let manifest = FileDigest {
        name: "manifest.json.scelle".into(),
        size: seal.bytes,
        sha256: hex::encode(seal.sha256),
    };
    let mut digests: Vec<FileDigest> = record.files.iter().map(|f| f.file.clone()).collect();
    digests.push(manifest.clone());
    for (name, text) in [
        ("LISEZMOI.txt", texts::lisezmoi(&digests)),
        ("README.txt", texts::readme(&digests)),
        ("SHA256SUMS.txt", texts::sums(&digests)),
        (page::FILE_NAME, page::html().to_owned()),
    ] {
        let path = ctx.folder.join(name);
        ctx.dir.create_in_export_dir(name).and_then(|mut f| {
            f.write_all(text.as_bytes())
                .map_err(|e| ExportError::io(&path, e))
        })?;
        ctx.track(&path);
    }
    record.manifest = Some(manifest);

    let reg = register.clone();
    let started_id = record.export_id.clone();
    let started = blocking(move || Ok(reg.export_started(&started_id)?)).await?;
    let entry = NewEntry::new(
        EntryKind::ExportVerified,
        Some(&record.case_id),
        "scelle",
        json!({ "record": record, "export_started": started.map(hex::encode) }),
    );
    let appended = blocking(move || Ok(register.append(entry)?)).await?;
    tracing::info!(export = %record.export_id, files = record.files.len(), "export verified");
    Ok(Verified {
        record,
        verified_entry: appended.hash,
        export_started: started.unwrap_or_default(),
        password: ctx.password.clone(),
        created: Vec::new(),
        context: None,
    })
}
