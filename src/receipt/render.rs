//! Lays a [`Receipt`] out on A4 pages: the case, the hand-over, the export, one block per
//! file, how to verify (with the QR code), and the two signature blocks.

use jiff::tz::TimeZone;

use super::layout::{MARGIN, Pages};
use super::{Receipt, qr};
use crate::case::Ground;
use crate::pdf::{BOLD, MONO, PAGE_W, REGULAR, wrap_width};
use crate::report;
use crate::wording::{self as text, Lang, tr};

/// The receipt as PDF bytes.
pub fn render(r: &Receipt, lang: Lang) -> Vec<u8> {
    let rec = &r.record;
    let tz = TimeZone::get(&rec.time_zone).unwrap_or(TimeZone::UTC);
    let zone = rec.time_zone.as_str();
    let facts = report::facts::facts(&r.entries, None, None, lang, r.handover_at);
    let case = facts.cases.iter().find(|c| c.case_id == r.case_id);
    let export = case.and_then(|c| c.exports.iter().find(|x| x.export_id == rec.export_id));
    let reference = format!("{}/{}", r.case_id, rec.export_id);
    let mut p = Pages::new();

    p.heading(
        15.0,
        tr(
            lang,
            "Récépissé de remise d'extraits vidéo",
            "Receipt for the hand-over of video extracts",
        ),
    );
    p.field(
        tr(lang, "Référence du récépissé", "Receipt reference"),
        &reference,
    );
    p.paragraph(&format!(
        "{} {} — {}",
        tr(lang, "Site :", "Site:"),
        rec.site_name,
        tr(
            lang,
            "extraits scellés et chiffrés par scelle, enregistrés au registre des extractions.",
            "extracts sealed and encrypted by scelle, recorded in the extraction register."
        )
    ));
    warnings(&mut p, r, case, lang);
    p.rule();

    let site = &facts.site;
    let unset = tr(lang, "non renseigné", "not set");
    let or_unset = |v: &str| {
        if v.is_empty() {
            unset.to_owned()
        } else {
            v.to_owned()
        }
    };
    p.heading(
        11.0,
        tr(lang, "Responsable de traitement", "Data controller"),
    );
    p.field(
        tr(lang, "Responsable de traitement", "Data controller"),
        &or_unset(&site.controller),
    );
    p.field(tr(lang, "Adresse", "Address"), &or_unset(&site.address));
    p.field(
        tr(
            lang,
            "Délégué à la protection des données",
            "Data protection officer",
        ),
        &or_unset(&site.dpo_contact),
    );

    p.heading(11.0, tr(lang, "Demande", "Request"));
    p.field(
        tr(lang, "Référence de la demande", "Request reference"),
        &r.opening.reference,
    );
    p.field(
        tr(lang, "Numéro de dossier scelle", "scelle case number"),
        &r.case_id,
    );
    p.field(
        tr(lang, "Fondement juridique", "Legal ground"),
        text::ground(lang, r.opening.ground),
    );
    p.field(tr(lang, "Demandeur", "Requester"), &r.opening.requester);
    p.field(
        tr(lang, "Organisme du demandeur", "Requester's organisation"),
        &r.opening.organisation,
    );
    p.field(tr(lang, "Objet", "Purpose"), &r.opening.purpose);
    if let Some(c) = case {
        p.field(
            tr(lang, "Demande écrite", "Written request"),
            &c.written_request,
        );
        p.field(tr(lang, "Autorisation", "Approval"), &c.approval);
        p.field(
            tr(
                lang,
                "Vérification de l'habilitation du demandeur",
                "Requester's authority checked",
            ),
            &c.requester_check,
        );
    }

    p.heading(11.0, tr(lang, "Remise", "Hand-over"));
    p.field(
        &format!("{} ({zone})", tr(lang, "Date de remise", "Hand-over date")),
        &text::local(r.handover_at, &tz),
    );
    p.field(
        &format!("{} (UTC)", tr(lang, "Date de remise", "Hand-over date")),
        &text::utc(r.handover_at),
    );
    p.field(
        tr(lang, "Remis par", "Handed over by"),
        &format!(
            "{} ({})",
            r.handed_over_by.1,
            tr(lang, "opérateur", "operator")
        ),
    );
    p.field(tr(lang, "Destinataire", "Recipient"), &r.opening.recipient);
    for label in [
        tr(
            lang,
            "Organisme du destinataire",
            "Recipient's organisation",
        ),
        tr(lang, "Grade", "Rank"),
        tr(lang, "Matricule", "Service number"),
        tr(lang, "Service ou unité", "Department or unit"),
    ] {
        p.blank(label);
    }

    p.heading(11.0, tr(lang, "Extraction", "Export"));
    p.field(tr(lang, "Identifiant", "Export id"), &rec.export_id);
    p.field(
        &format!("{} ({zone})", tr(lang, "Réalisée", "Made")),
        &text::range(rec.started_at, rec.finished_at, &tz, zone),
    );
    p.field(
        tr(lang, "Opérateur", "Operator"),
        &export.map(|x| x.operator.clone()).unwrap_or_else(|| {
            format!(
                "{} ({})",
                r.record.operator,
                tr(lang, "opérateur", "operator")
            )
        }),
    );
    let d = &rec.destination;
    let drive = serde_json::to_value(&d.drive).unwrap_or_default();
    p.field(
        tr(lang, "Support", "Drive"),
        &report::facts::drive_text(
            lang,
            &drive,
            d.approved,
            d.accepted_by_operator,
            d.certification.as_deref().unwrap_or(""),
        ),
    );
    p.field(
        tr(lang, "Dossier sur le support", "Folder on the drive"),
        &rec.destination.path,
    );
    p.field(
        tr(lang, "Chiffrement", "Encryption"),
        tr(
            lang,
            "chaque fichier est chiffré par scelle en AES-256-GCM, la clé étant dérivée du \
             mot de passe par Argon2id ; les empreintes sont en SHA-256.",
            "scelle encrypts every file with AES-256-GCM, the key derived from the password \
             with Argon2id; hashes are SHA-256.",
        ),
    );
    if let Some(x) = export.filter(|x| !x.countersignature.is_empty()) {
        p.field(
            tr(lang, "Contreseing", "Countersignature"),
            &x.countersignature,
        );
    }
    p.field(
        tr(
            lang,
            "Tête du registre : entrée n°",
            "Register head: entry no.",
        ),
        &r.register_head.seq.to_string(),
    );
    p.field_mono(
        tr(lang, "Tête du registre : empreinte", "Register head: hash"),
        &hex::encode(r.register_head.hash),
    );
    // The site key that seals the register, so the recipient's auditor can pin it (REG-2).
    p.field_mono(
        tr(lang, "Clé du site (registre)", "Site key (register)"),
        &crate::report::site_key_fingerprint(&r.entries)
            .unwrap_or_else(|| tr(lang, "non enregistrée", "not recorded").to_owned()),
    );
    if let Some(m) = &rec.manifest {
        p.field(tr(lang, "Manifeste", "Manifest"), &m.name);
        p.field(
            tr(lang, "Manifeste : taille", "Manifest: size"),
            &text::size(lang, m.size),
        );
        p.field_mono(
            tr(lang, "Manifeste : SHA-256", "Manifest: SHA-256"),
            &m.sha256,
        );
    }

    // The heading stays with the first file's block.
    p.room(10.5 * 14.0);
    p.heading(
        11.0,
        &format!(
            "{} ({})",
            tr(lang, "Fichiers remis", "Files handed over"),
            rec.files.len()
        ),
    );
    for (i, f) in rec.files.iter().enumerate() {
        p.room(10.5 * 12.0);
        p.heading(
            9.5,
            &format!(
                "{} {} / {} : {}",
                tr(lang, "Fichier", "File"),
                i + 1,
                rec.files.len(),
                f.file.name
            ),
        );
        p.field(
            tr(lang, "Caméra", "Camera"),
            &format!("{} ({})", f.camera_name, f.camera),
        );
        p.field(
            &format!("{} ({zone})", tr(lang, "Plage horaire", "Time range")),
            &text::range(f.requested.start, f.requested.end, &tz, zone),
        );
        p.field(
            &format!("{} (UTC)", tr(lang, "Plage horaire", "Time range")),
            &text::range_utc(f.requested.start, f.requested.end),
        );
        let requested =
            (f.requested.end.as_millisecond() - f.requested.start.as_millisecond()) as f64 / 1000.0;
        p.field(
            tr(lang, "Durée enregistrée", "Recorded duration"),
            &format!(
                "{} {} {}",
                text::duration(f.covered_seconds),
                tr(lang, "sur", "of"),
                text::duration(requested)
            ),
        );
        p.field(tr(lang, "Lacunes", "Gaps"), &text::gaps(lang, &f.gaps, &tz));
        p.field(
            tr(
                lang,
                "Décalage horloge enregistreur",
                "Recorder clock offset",
            ),
            &text::clock_offset(lang, f.clock_offset.as_ref()),
        );
        p.field(
            tr(lang, "Liaison", "Link"),
            &text::link(lang, f.link.as_ref()),
        );
        let codecs = if f.tracks.is_empty() {
            tr(lang, "codec non indiqué", "codec not stated").to_owned()
        } else {
            f.tracks.join(", ")
        };
        p.field(
            tr(lang, "Format", "Format"),
            &format!(
                "MP4 ({codecs}), {}",
                tr(
                    lang,
                    "chiffré dans un conteneur scelle (.scelle)",
                    "encrypted in a scelle container (.scelle)"
                )
            ),
        );
        p.field(tr(lang, "Taille", "Size"), &text::size(lang, f.file.size));
        p.field_mono("SHA-256", &f.file.sha256);
    }

    verification(&mut p, r, lang);
    signatures(&mut p, r, lang);

    let title = format!(
        "{} {}",
        tr(lang, "Récépissé de remise", "Hand-over receipt"),
        reference
    );
    let footer = |page: usize, total: usize| {
        format!(
            "scelle — {} {reference} — {} {page} / {total} — {}",
            tr(lang, "récépissé", "receipt"),
            tr(lang, "page", "page"),
            tr(
                lang,
                "paraphes du remettant ______  et du destinataire ______",
                "initials of the giver ______  and of the recipient ______"
            )
        )
    };
    p.finish(&title, lang.tag(), &footer)
}

/// The warnings an emergency or an access request carries, right under the title.
fn warnings(p: &mut Pages, r: &Receipt, case: Option<&report::CaseFacts>, lang: Lang) {
    if r.opening.emergency.is_some() {
        let state = case.map(|c| c.emergency.clone()).unwrap_or_else(|| {
            format!(
                "{} « {} »",
                tr(lang, "justification :", "justification:"),
                r.opening.emergency.clone().unwrap_or_default()
            )
        });
        p.warning(&format!(
            "{} {state}",
            tr(
                lang,
                "ATTENTION — extraction réalisée en urgence, avant la demande écrite (PROC-RGPD-001 §01) :",
                "WARNING — export made as an emergency, before the written request (PROC-RGPD-001 §01):",
            )
        ));
    }
    let anonymized: Vec<&crate::case::export_record::Anonymized> = r
        .record
        .files
        .iter()
        .filter_map(|f| f.anonymized.as_ref())
        .collect();
    if !anonymized.is_empty() {
        p.warning(tr(
            lang,
            "EXTRAIT ANONYMISÉ — droit d'accès d'une personne concernée (RGPD art. 15, \
             PROC-RGPD-001 §03) : les visages des tiers filmés sont floutés de manière \
             irréversible et le son est supprimé ; l'original n'est pas remis.",
            "ANONYMIZED EXTRACT — a data subject's access request (GDPR art. 15, PROC-RGPD-001 \
             §03): the faces of third parties filmed are irreversibly blurred and the audio is \
             removed; the original is not handed over.",
        ));
        for a in anonymized {
            let v = serde_json::to_value(a).unwrap_or_default();
            p.warning(&crate::wording::anonymized(lang, &v));
        }
    } else if r.opening.ground == Ground::AccessRequest {
        p.warning(tr(
            lang,
            "ATTENTION — droit d'accès d'une personne concernée (RGPD art. 15) : la remise ne doit \
             pas porter atteinte aux droits des tiers filmés ; les visages des tiers sont floutés \
             avant remise si le visionnage sur place n'est pas possible (PROC-RGPD-001 §03).",
            "WARNING — a data subject's access request (GDPR art. 15): the hand-over must not \
             infringe the rights of third parties filmed; their faces are blurred before the \
             hand-over when viewing on site is not possible (PROC-RGPD-001 §03).",
        ));
    }
}

/// How the recipient checks the files, beside the QR code of the manifest's SHA-256.
fn verification(p: &mut Pages, r: &Receipt, lang: Lang) {
    const QR_SIZE: f32 = 110.0;
    // The heading stays with its block.
    p.room(QR_SIZE + 40.0);
    p.heading(
        11.0,
        tr(
            lang,
            "Vérification par le destinataire",
            "How the recipient verifies",
        ),
    );
    p.room(QR_SIZE + 10.0);
    let top = p.y + 6.0;
    let manifest = r.record.manifest.as_ref().map(|m| m.sha256.as_str());
    if let Some((width, dark)) = manifest.and_then(qr::modules) {
        // Four modules of quiet zone around the code, as the QR standard asks.
        let module = QR_SIZE / (width + 8) as f32;
        p.matrix(
            MARGIN + 4.0 * module,
            top - 4.0 * module,
            width,
            &dark,
            module,
        );
    }
    let steps = [
        tr(
            lang,
            "1. Le code QR contient l'empreinte SHA-256 du manifeste (manifest.json.scelle), \
             imprimée sous ces étapes.",
            "1. The QR code holds the SHA-256 of the manifest (manifest.json.scelle), printed \
             below these steps.",
        ),
        tr(
            lang,
            "2. Calculez l'empreinte de chaque fichier (sha256sum FICHIER, ou sous Windows \
             Get-FileHash -Algorithm SHA256 FICHIER) et comparez-la à ce récépissé.",
            "2. Compute each file's hash (sha256sum FILE, or on Windows Get-FileHash \
             -Algorithm SHA256 FILE) and compare it with this receipt.",
        ),
        tr(
            lang,
            "3. Pour ouvrir les fichiers : la page OUVRIR.html du dossier de l'extraction, dans \
             un navigateur ; à défaut, « scelle open FICHIER ». Le mot de passe est remis \
             séparément, jamais avec le support.",
            "3. To open the files: the export folder's OUVRIR.html page, in a web browser; \
             without it, `scelle open FILE`. The password is given separately, never with the \
             drive.",
        ),
        tr(
            lang,
            "4. Une empreinte différente : n'ouvrez pas le fichier, prévenez le site.",
            "4. A different hash: do not open the file, tell the site.",
        ),
    ];
    let x = MARGIN + QR_SIZE + 12.0;
    let mut y = top - 14.0;
    for s in steps {
        for (i, l) in wrap_width(s, REGULAR, 8.5, PAGE_W - MARGIN - x - 8.0)
            .iter()
            .enumerate()
        {
            let indent = if i == 0 { 0.0 } else { 9.0 };
            p.text_at(REGULAR, 8.5, x + indent, y, l);
            y -= 11.0;
        }
    }
    if let Some(m) = manifest {
        p.text_at(MONO, 7.0, x, y - 4.0, m);
    }
    p.y = (top - QR_SIZE - 12.0).min(y - 14.0);
}

/// "Fait à", then two signature blocks side by side: who hands over, who receives.
fn signatures(p: &mut Pages, r: &Receipt, lang: Lang) {
    p.room(190.0);
    p.heading(11.0, tr(lang, "Signatures", "Signatures"));
    let n = r.record.files.len();
    let files = match (lang, n) {
        (Lang::Fr, 1) => "du fichier décrit".to_owned(),
        (Lang::Fr, n) => format!("des {n} fichiers décrits"),
        (Lang::En, 1) => "the file described".to_owned(),
        (Lang::En, n) => format!("the {n} files described"),
    };
    p.paragraph(&match lang {
        Lang::Fr => format!(
            "Les soussignés attestent la remise et la réception {files} ci-dessus \
             (extraction {}, demande {}).",
            r.record.export_id, r.opening.reference
        ),
        Lang::En => format!(
            "The undersigned attest the hand-over and receipt of {files} above \
             (export {}, request {}).",
            r.record.export_id, r.opening.reference
        ),
    });
    p.y -= 8.0;
    let y = p.y;
    let place = tr(lang, "Fait à", "Done at");
    p.text_at(REGULAR, 9.0, MARGIN, y, place);
    p.line(MARGIN + 40.0, y - 1.0, 200.0);
    p.text_at(REGULAR, 9.0, MARGIN + 255.0, y, tr(lang, "le", "on"));
    p.line(MARGIN + 272.0, y - 1.0, 150.0);
    p.y -= 24.0;
    let half = (PAGE_W - 2.0 * MARGIN) / 2.0;
    let top = p.y;
    let blocks = [
        (
            tr(lang, "Remis par", "Handed over by"),
            format!(
                "{} ({})",
                r.handed_over_by.1,
                tr(lang, "opérateur", "operator")
            ),
        ),
        (
            tr(lang, "Reçu par", "Received by"),
            r.opening.recipient.clone(),
        ),
    ];
    let mut lowest = top;
    for (i, (title, who)) in blocks.iter().enumerate() {
        let x = MARGIN + i as f32 * half;
        p.text_at(BOLD, 9.0, x, top, title);
        let mut y = top - 13.0;
        for l in wrap_width(who, REGULAR, 8.5, half - 20.0) {
            p.text_at(REGULAR, 8.5, x, y, &l);
            y -= 10.5;
        }
        y -= 12.0;
        p.text_at(REGULAR, 8.5, x, y, tr(lang, "Signature :", "Signature:"));
        p.line(x + 55.0, y - 40.0, half - 75.0);
        lowest = lowest.min(y - 40.0);
    }
    p.y = lowest - 12.0;
}
