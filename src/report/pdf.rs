//! The register report as an archival A4 PDF on the shared pages of [`crate::pdf`]: on every
//! page a running header with the register's head, the site key's fingerprint and the
//! verification result; then the site and its controller, the people list and its changes, the
//! summary table (one line per case: dates, ground, status, deadlines), one section per case
//! with one block per export, and the removable media.

use crate::pdf::{BOLD, Face, MONO, PAGE_W, Pages, REGULAR, wrap_width};

use super::facts::{CaseFacts, ExportFacts};
use super::media::{MEDIA_COLUMNS, media_heading, media_title};
use super::{Lang, Report, tr};

const MARGIN: f32 = 40.0;
const LINE: f32 = 10.0;
const SIZE: f32 = 8.0;
const LABEL_W: f32 = 150.0;
const VALUE_X: f32 = MARGIN + LABEL_W + 6.0;
const VALUE_W: f32 = PAGE_W - MARGIN - VALUE_X;

/// A heading line; it keeps `keep` points of what follows on its page.
fn heading(p: &mut Pages, size: f32, text: &str, keep: f32) {
    p.room(size + 6.0 + keep);
    p.y -= 4.0;
    let y = p.y;
    for (i, l) in wrap_width(text, BOLD, size, PAGE_W - 2.0 * MARGIN)
        .iter()
        .enumerate()
    {
        p.text_at(BOLD, size, MARGIN, y - i as f32 * (size + 2.0), l);
        if i > 0 {
            p.y -= size + 2.0;
        }
    }
    p.y -= size + 4.0;
}

/// A label and its value, both wrapped to their column; the block moves to the next page
/// whole when it fits on one, and flows otherwise.
fn field_at(p: &mut Pages, indent: f32, label: &str, value: &str, face: Face) {
    let value = if value.is_empty() { "-" } else { value };
    let labels = wrap_width(label, BOLD, SIZE, LABEL_W - indent);
    let values = wrap_width(value, face, SIZE, VALUE_W);
    let n = labels.len().max(values.len());
    if n < 60 {
        p.room(LINE * n as f32);
    }
    for i in 0..n {
        p.room(LINE);
        let y = p.y;
        if let Some(l) = labels.get(i) {
            p.text_at(BOLD, SIZE, MARGIN + indent, y, l);
        }
        if let Some(v) = values.get(i) {
            p.text_at(face, SIZE, VALUE_X, y, v);
        }
        p.y -= LINE;
    }
    p.y -= 2.0;
}

/// `Some(v)` unless `v` is empty: a field shown only when it has a value.
fn shown(v: &str) -> Option<&str> {
    (!v.is_empty()).then_some(v)
}

/// Fields at `indent` in order; a field whose value is `None` is left out.
fn fields_at(p: &mut Pages, indent: f32, fields: &[(&str, Option<&str>, Face)]) {
    for (label, value, face) in fields {
        if let Some(value) = value {
            field_at(p, indent, label, value, *face);
        }
    }
}

fn field(p: &mut Pages, label: &str, value: &str) {
    field_at(p, 0.0, label, value, REGULAR);
}

fn rule(p: &mut Pages) {
    p.room(8.0);
    let y = p.y + 5.0;
    p.stroke_line((MARGIN, y), (PAGE_W - MARGIN, y), 0.4);
    p.y -= 4.0;
}

/// A table: headings in bold, cells wrapped to their column, a rule under the headings.
fn table(p: &mut Pages, widths: &[f32], headings: &[&str], rows: &[Vec<String>]) {
    let cell_lines = |cells: &[&str], face: Face| -> Vec<Vec<String>> {
        cells
            .iter()
            .zip(widths)
            .map(|(c, w)| wrap_width(c, face, 7.5, w - 4.0))
            .collect()
    };
    let draw = |p: &mut Pages, lines: &[Vec<String>], face: Face| {
        let n = lines.iter().map(Vec::len).max().unwrap_or(1);
        p.room(9.0 * n as f32 + 2.0);
        let y = p.y;
        let mut x = MARGIN;
        for (col, w) in lines.iter().zip(widths) {
            for (i, l) in col.iter().enumerate() {
                p.text_at(face, 7.5, x, y - 9.0 * i as f32, l);
            }
            x += w;
        }
        p.y -= 9.0 * n as f32 + 2.0;
    };
    let head = cell_lines(headings, BOLD);
    draw(p, &head, BOLD);
    rule(p);
    for r in rows {
        let cells: Vec<&str> = r.iter().map(String::as_str).collect();
        let lines = cell_lines(&cells, REGULAR);
        let n = lines.iter().map(Vec::len).max().unwrap_or(1);
        if p.y - 9.0 * n as f32 - 2.0 < MARGIN + 2.0 * LINE {
            p.new_page();
            draw(p, &head, BOLD);
            rule(p);
        }
        draw(p, &lines, REGULAR);
    }
}

/// Renders the report.
pub fn to_pdf(r: &Report) -> Vec<u8> {
    let lang = r.lang;
    let h = &r.register;
    let fp = h.site_key.clone().unwrap_or_else(|| {
        tr(
            lang,
            "aucune clé de site dans le registre",
            "no site key in the register",
        )
        .into()
    });
    let site_name = if r.facts.site.name.is_empty() {
        "scelle".to_owned()
    } else {
        r.facts.site.name.clone()
    };
    let running = vec![
        format!(
            "{} — {site_name} — {} {}",
            tr(
                lang,
                "Registre des extractions vidéo",
                "Video extraction register"
            ),
            tr(lang, "édité le", "generated"),
            h.generated
        ) + " UTC",
        format!(
            "{} {} — {} {fp}",
            tr(lang, "Tête du registre :", "Register head:"),
            h.head,
            tr(lang, "clé du site :", "site key:")
        ),
        h.integrity(lang),
    ];
    let mut p = Pages::with_header(MARGIN, MARGIN + LINE, running);

    heading(
        &mut p,
        15.0,
        tr(
            lang,
            "Registre des extractions vidéo",
            "Video extraction register",
        ),
        20.0,
    );
    p.y -= 2.0;
    let y = p.y;
    let intro = tr(
        lang,
        "Extrait du registre des extractions tenu par scelle (PROC-RGPD-001 §02, POL-CYB-006 §03), \
         établi à partir des seules entrées du registre. Les heures sont données dans le fuseau \
         du site, avec leur décalage par rapport à UTC.",
        "Extract of the extraction register kept by scelle (PROC-RGPD-001 §02, POL-CYB-006 §03), \
         made from the register's entries alone. Times are in the site's time zone, with their \
         offset from UTC.",
    );
    let intro_lines = wrap_width(intro, REGULAR, 8.5, PAGE_W - 2.0 * MARGIN);
    for (i, l) in intro_lines.iter().enumerate() {
        p.text_at(REGULAR, 8.5, MARGIN, y - 10.5 * i as f32, l);
    }
    p.y -= 10.5 * intro_lines.len() as f32 + 4.0;

    heading(&mut p, 11.0, tr(lang, "Registre", "Register"), 40.0);
    field(
        &mut p,
        tr(lang, "Édité le", "Generated"),
        &format!("{} UTC", h.generated),
    );
    field_at(
        &mut p,
        0.0,
        tr(lang, "Tête du registre", "Register head"),
        &h.head,
        MONO,
    );
    field(
        &mut p,
        tr(lang, "Entrées", "Entries"),
        &h.entries.to_string(),
    );
    field_at(
        &mut p,
        0.0,
        tr(lang, "Empreinte de la clé du site", "Site key fingerprint"),
        &fp,
        MONO,
    );
    field(
        &mut p,
        tr(lang, "Vérification", "Verification"),
        &h.integrity(lang),
    );

    let s = &r.facts.site;
    heading(
        &mut p,
        11.0,
        tr(
            lang,
            "Site et responsable de traitement",
            "Site and data controller",
        ),
        40.0,
    );
    let unset = tr(lang, "non renseigné dans [site]", "not set in [site]");
    let or_unset = |v: &str| {
        if v.is_empty() {
            unset.to_owned()
        } else {
            v.to_owned()
        }
    };
    field(&mut p, tr(lang, "Site", "Site"), &or_unset(&s.name));
    if !s.id.is_empty() {
        field(&mut p, tr(lang, "Identifiant du site", "Site id"), &s.id);
    }
    field(
        &mut p,
        tr(lang, "Responsable de traitement", "Data controller"),
        &or_unset(&s.controller),
    );
    field(
        &mut p,
        tr(lang, "Adresse", "Address"),
        &or_unset(&s.address),
    );
    field(
        &mut p,
        tr(
            lang,
            "Délégué à la protection des données",
            "Data protection officer",
        ),
        &or_unset(&s.dpo_contact),
    );
    if !s.level.is_empty() {
        field(
            &mut p,
            tr(lang, "Niveau de sûreté", "Security level"),
            &s.level,
        );
    }
    field(
        &mut p,
        tr(lang, "Fuseau horaire", "Time zone"),
        &or_unset(&s.time_zone),
    );
    field(
        &mut p,
        tr(
            lang,
            "Chiffrement des extraits",
            "Encryption of the extracts",
        ),
        tr(
            lang,
            "scelle chiffre chaque fichier en AES-256-GCM, calcule les empreintes en SHA-256 et \
             dérive la clé du mot de passe avec Argon2id ; la certification ANSSI de chaque \
             support est indiquée à côté du support.",
            "scelle encrypts every file with AES-256-GCM, hashes with SHA-256 and derives the \
             key from the password with Argon2id; each drive's ANSSI certification is shown \
             next to the drive.",
        ),
    );

    heading(
        &mut p,
        11.0,
        tr(lang, "Personnes autorisées", "Authorized people"),
        40.0,
    );
    let people: Vec<Vec<String>> = r
        .facts
        .people
        .iter()
        .map(|x| vec![x.name.clone(), x.id.clone(), x.roles.clone()])
        .collect();
    table(
        &mut p,
        &[200.0, 110.0, PAGE_W - 2.0 * MARGIN - 310.0],
        &[
            tr(lang, "Nom", "Name"),
            tr(lang, "Identifiant", "Id"),
            tr(lang, "Rôles", "Roles"),
        ],
        &people,
    );
    p.y -= 4.0;
    heading(
        &mut p,
        9.5,
        tr(lang, "Modifications de la liste", "Changes of the list"),
        20.0,
    );
    let changes: Vec<Vec<String>> = r
        .facts
        .people_changes
        .iter()
        .map(|c| vec![c.at.clone(), c.by.clone(), c.changes.join("\n")])
        .collect();
    table(
        &mut p,
        &[120.0, 110.0, PAGE_W - 2.0 * MARGIN - 230.0],
        &[
            tr(lang, "Date", "Date"),
            tr(lang, "Par", "By"),
            tr(lang, "Modification", "Change"),
        ],
        &changes,
    );

    heading(
        &mut p,
        11.0,
        &format!(
            "{} ({})",
            tr(lang, "Synthèse des dossiers", "Summary of the cases"),
            r.facts.cases.len()
        ),
        40.0,
    );
    let summary: Vec<Vec<String>> = r
        .facts
        .cases
        .iter()
        .map(|c| {
            vec![
                c.case_id.clone(),
                if c.closed.is_empty() {
                    c.opened.clone()
                } else {
                    format!("{}\n{}", c.opened, c.closed)
                },
                c.ground.clone(),
                format!("{}\n{}", c.status, exports_count(lang, c.exports.len())),
                format!(
                    "{}{}",
                    if c.deadlines_met {
                        tr(lang, "respectés", "met")
                    } else {
                        tr(lang, "NON RESPECTÉS", "NOT MET")
                    },
                    if c.deadlines.is_empty() {
                        String::new()
                    } else {
                        format!("\n{}", c.deadlines)
                    }
                ),
            ]
        })
        .collect();
    table(
        &mut p,
        &[62.0, 120.0, 90.0, 95.0, PAGE_W - 2.0 * MARGIN - 367.0],
        &[
            tr(lang, "Dossier", "Case"),
            tr(lang, "Ouverture, clôture", "Opened, closed"),
            tr(lang, "Fondement", "Ground"),
            tr(lang, "État", "Status"),
            tr(lang, "Délais", "Deadlines"),
        ],
        &summary,
    );

    for c in &r.facts.cases {
        case_section(&mut p, c, lang);
    }

    heading(&mut p, 11.0, media_title(lang), 40.0);
    if r.media.is_empty() {
        field(
            &mut p,
            "",
            tr(
                lang,
                "aucun support inventorié ni utilisé",
                "no medium inventoried or used",
            ),
        );
    }
    for m in &r.media {
        let names: Vec<&str> = [m.inventory_id.as_str(), m.serial.as_str()]
            .into_iter()
            .filter(|n| !n.is_empty() && *n != "-")
            .collect();
        let title = if names.is_empty() {
            m.model.clone()
        } else {
            names.join(" — ")
        };
        heading(&mut p, 9.5, &title, 30.0);
        for key in MEDIA_COLUMNS.iter().skip(1) {
            field(&mut p, media_heading(key, lang), m.cell(key));
        }
    }

    let title = format!(
        "{} — {site_name}",
        tr(
            lang,
            "Registre des extractions vidéo",
            "Video extraction register"
        )
    );
    let footer = |page: usize, total: usize| {
        format!(
            "{} {page} / {total} — {}",
            tr(lang, "Page", "Page"),
            tr(
                lang,
                "à vérifier avec « scelle register verify --head » et la tête ci-dessus",
                "check with `scelle register verify --head` and the head above",
            )
        )
    };
    p.finish(&title, lang.tag(), &footer)
}

fn exports_count(lang: Lang, n: usize) -> String {
    match (lang, n) {
        (Lang::Fr, 0) => "aucune extraction".into(),
        (Lang::Fr, 1) => "1 extraction".into(),
        (Lang::Fr, n) => format!("{n} extractions"),
        (Lang::En, 0) => "no export".into(),
        (Lang::En, 1) => "1 export".into(),
        (Lang::En, n) => format!("{n} exports"),
    }
}

fn case_section(p: &mut Pages, c: &CaseFacts, lang: Lang) {
    p.y -= 6.0;
    p.room(120.0);
    rule(p);
    heading(
        p,
        12.0,
        &format!(
            "{} {} — {}",
            tr(lang, "Dossier", "Case"),
            c.case_id,
            c.ground
        ),
        60.0,
    );
    for (label, value) in [
        (tr(lang, "État", "Status"), &c.status),
        (tr(lang, "Ouverture", "Opened"), &c.opened),
        (tr(lang, "Ouvert par", "Opened by"), &c.opened_by),
        (tr(lang, "Fondement", "Legal ground"), &c.ground),
        (tr(lang, "Référence", "Reference"), &c.reference),
        (tr(lang, "Demandeur", "Requester"), &c.requester),
        (
            tr(lang, "Organisme du demandeur", "Requester's organisation"),
            &c.organisation,
        ),
        (tr(lang, "Destinataire", "Recipient"), &c.recipient),
        (tr(lang, "Objet", "Purpose"), &c.purpose),
        (tr(lang, "Caméras", "Cameras"), &c.cameras),
        (tr(lang, "Plages demandées", "Requested ranges"), &c.ranges),
        (
            tr(lang, "Demande écrite", "Written request"),
            &c.written_request,
        ),
        (tr(lang, "Urgence", "Emergency"), &c.emergency),
        (tr(lang, "Autorisation", "Approval"), &c.approval),
        (
            tr(
                lang,
                "Vérification de l'habilitation du demandeur",
                "Requester's authority checked",
            ),
            &c.requester_check,
        ),
    ] {
        field(p, label, value);
    }
    for (i, x) in c.exports.iter().enumerate() {
        export_block(p, x, i + 1, c.exports.len(), lang);
    }
    heading(p, 9.5, tr(lang, "Purges", "Purges"), 20.0);
    if c.purges.is_empty() {
        field(
            p,
            "",
            tr(lang, "aucune purge enregistrée", "no purge recorded"),
        );
    }
    for x in &c.purges {
        field(p, tr(lang, "Date", "Date"), &x.at);
        field(p, tr(lang, "Par", "By"), &x.by);
        field(p, tr(lang, "Objet", "What"), &x.what);
        field(p, tr(lang, "Méthode", "Method"), &x.method);
    }
    heading(
        p,
        9.5,
        tr(lang, "Clôture et délais", "Closing and deadlines"),
        20.0,
    );
    field(p, tr(lang, "Clôture", "Closing"), &c.closing);
    field(p, tr(lang, "Délais", "Deadlines"), &c.deadlines);
    field(
        p,
        tr(lang, "Entrées du registre", "Register entries"),
        &c.entries,
    );
}

fn export_block(p: &mut Pages, x: &ExportFacts, n: usize, total: usize, lang: Lang) {
    heading(
        p,
        10.0,
        &format!(
            "{} {n} / {total} : {} — {}",
            tr(lang, "Extraction", "Export"),
            x.export_id,
            x.status
        ),
        40.0,
    );
    let ind = 10.0;
    let t = |fr, en| tr(lang, fr, en);
    let done = x.failure.is_empty();
    fields_at(
        p,
        ind,
        &[
            (
                t("Opérateur", "Operator"),
                Some(x.operator.as_str()),
                REGULAR,
            ),
            (t("Début", "Started"), Some(x.started.as_str()), REGULAR),
            (t("Fin", "Finished"), Some(x.finished.as_str()), REGULAR),
            (t("Support", "Drive"), Some(x.drive.as_str()), REGULAR),
            (
                t("Motif (message du système)", "Reason (system message)"),
                shown(&x.failure),
                REGULAR,
            ),
            (
                t("Signature de l'opérateur", "Operator's signature"),
                shown(&x.operator_signature),
                REGULAR,
            ),
        ],
    );
    for (i, f) in x.files.iter().enumerate() {
        p.room(LINE * 8.0);
        let label = format!("{} {}", t("Fichier", "File"), i + 1);
        field_at(p, ind, &label, &f.name, REGULAR);
        let size = format!(
            "{}, MP4 ({}) {} {} {}",
            crate::wording::size(lang, f.size),
            f.codecs,
            t("chiffré ;", "encrypted;"),
            t("durée enregistrée", "recorded"),
            f.recorded
        );
        fields_at(
            p,
            ind + 8.0,
            &[
                (t("Caméra", "Camera"), Some(f.camera.as_str()), REGULAR),
                (t("Plage", "Range"), Some(f.range.as_str()), REGULAR),
                (
                    t("Taille, format", "Size, format"),
                    Some(size.as_str()),
                    REGULAR,
                ),
                (t("Lacunes", "Gaps"), Some(f.gaps.as_str()), REGULAR),
                (
                    t("Décalage d'horloge", "Clock offset"),
                    Some(f.clock_offset.as_str()),
                    REGULAR,
                ),
                (t("Liaison", "Link"), Some(f.link.as_str()), REGULAR),
                ("SHA-256", Some(f.sha256.as_str()), MONO),
            ],
        );
    }
    let none = t("aucun", "none");
    let delivered = done && !x.delivery.is_empty();
    fields_at(
        p,
        ind,
        &[
            (
                t("Fichiers", "Files"),
                (x.files.is_empty() && done).then_some(none),
                REGULAR,
            ),
            (
                t("Manifeste (SHA-256)", "Manifest (SHA-256)"),
                shown(&x.manifest_sha256),
                MONO,
            ),
            (
                t("Dossier sur le support", "Folder on the drive"),
                shown(&x.folder).filter(|_| done),
                REGULAR,
            ),
            (
                t("Contreseing", "Countersignature"),
                Some(shown(&x.countersignature).unwrap_or(none)),
                REGULAR,
            ),
            (
                t("Remise", "Hand-over"),
                done.then(|| {
                    shown(&x.delivery)
                        .unwrap_or(t("aucune remise enregistrée", "no hand-over recorded"))
                }),
                REGULAR,
            ),
            (
                t("Référence du récépissé", "Receipt reference"),
                delivered.then_some(x.receipt_reference.as_str()),
                REGULAR,
            ),
            (
                t(
                    "Copie signée numérisée (SHA-256)",
                    "Signed copy scan (SHA-256)",
                ),
                delivered.then_some(x.signed_receipt_sha256.as_str()),
                MONO,
            ),
        ],
    );
}
