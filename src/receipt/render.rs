//! Lays a [`Receipt`] out on A4 pages: the case, the hand-over, the export, one block per
//! file, how to verify (with the QR code), and the two signature blocks.

use jiff::tz::TimeZone;

use super::layout::{MARGIN, Pages};
use super::text::{self, Lang, tr};
use super::{Receipt, qr};
use crate::pdf::{BOLD, MONO, PAGE_W, REGULAR};

/// The receipt as PDF bytes.
pub fn render(r: &Receipt, lang: Lang) -> Vec<u8> {
    let rec = &r.record;
    let tz = TimeZone::get(&rec.time_zone).unwrap_or(TimeZone::UTC);
    let zone = rec.time_zone.as_str();
    let mut p = Pages::new();

    p.heading(
        15.0,
        tr(
            lang,
            "Procès-verbal de remise d'extraits vidéo",
            "Video evidence delivery receipt",
        ),
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
    p.rule();

    p.heading(11.0, tr(lang, "Dossier", "Case"));
    p.field(
        tr(lang, "Référence du dossier", "Case reference"),
        &rec.case_reference,
    );
    p.field(
        tr(lang, "Numéro de dossier scelle", "scelle case number"),
        &r.case_id,
    );
    p.field(
        tr(lang, "Fondement juridique", "Legal ground"),
        text::ground(lang, r.opening.ground),
    );
    p.field(
        tr(lang, "Référence juridique", "Legal reference"),
        &r.opening.reference,
    );
    p.field(
        tr(lang, "Demandeur", "Requester"),
        &format!("{} ({})", r.opening.requester, r.opening.organisation),
    );
    p.field(tr(lang, "Finalité", "Purpose"), &r.opening.purpose);

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
        &format!("{} ({})", r.handed_over_by.1, r.handed_over_by.0),
    );
    p.field(tr(lang, "Destinataire", "Recipient"), &r.opening.recipient);
    p.field(
        tr(
            lang,
            "Organisme du destinataire",
            "Recipient's organisation",
        ),
        &r.opening.organisation,
    );

    p.heading(11.0, tr(lang, "Extraction", "Export"));
    p.field(tr(lang, "Identifiant", "Export id"), &rec.export_id);
    p.field(
        &format!("{} ({zone})", tr(lang, "Réalisée", "Made")),
        &text::range(rec.started_at, rec.finished_at, &tz, zone),
    );
    p.field(tr(lang, "Opérateur", "Operator"), &rec.operator);
    let d = &rec.destination.drive;
    p.field(
        tr(lang, "Support", "Medium"),
        &format!(
            "{} {} {} {}",
            d.vendor,
            d.model,
            tr(lang, "n° de série", "serial"),
            d.serial
        ),
    );
    p.field(
        tr(lang, "Dossier sur le support", "Folder on the medium"),
        &rec.destination.path,
    );
    p.field(
        tr(
            lang,
            "Tête du registre : entrée n°",
            "Register head: entry no.",
        ),
        &r.register_head.seq.to_string(),
    );
    p.field(
        tr(lang, "Tête du registre : empreinte", "Register head: hash"),
        &hex::encode(r.register_head.hash),
    );
    if let Some(m) = &rec.manifest {
        p.field(tr(lang, "Manifeste", "Manifest"), &m.name);
        p.field(
            tr(lang, "Manifeste : taille", "Manifest: size"),
            &text::size(lang, m.size),
        );
        p.field(
            tr(lang, "Manifeste : SHA-256", "Manifest: SHA-256"),
            &m.sha256,
        );
    }

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
        p.field(tr(lang, "Taille", "Size"), &text::size(lang, f.file.size));
        p.field("SHA-256", &f.file.sha256);
    }

    verification(&mut p, r, lang);
    signatures(&mut p, r, lang);

    let title = format!(
        "{} {}",
        tr(lang, "Procès-verbal de remise", "Delivery receipt"),
        rec.case_reference
    );
    let footer = |page: usize, total: usize| {
        format!(
            "scelle — {} {} — {} — {} {page} / {total}",
            tr(lang, "dossier", "case"),
            r.case_id,
            rec.export_id,
            tr(lang, "page", "page")
        )
    };
    p.finish(&title, &footer)
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
            "1. Le code QR contient l'empreinte SHA-256 du manifeste (manifest.json.scelle).",
            "1. The QR code holds the SHA-256 of the manifest (manifest.json.scelle).",
        ),
        tr(
            lang,
            "2. Calculez l'empreinte de chaque fichier (sha256sum FICHIER, ou",
            "2. Compute each file's hash (sha256sum FILE, or",
        ),
        tr(
            lang,
            "   Get-FileHash -Algorithm SHA256 sous Windows) et comparez-la à ce reçu.",
            "   Get-FileHash -Algorithm SHA256 on Windows) and compare it with this receipt.",
        ),
        tr(
            lang,
            "3. Les fichiers sont chiffrés (AES-256-GCM) ; le mot de passe est transmis",
            "3. The files are encrypted (AES-256-GCM); the password is given separately,",
        ),
        tr(
            lang,
            "   séparément. scelle verify FICHIER contrôle l'intégrité ; scelle open",
            "   never with the drive. scelle verify FILE checks integrity; scelle open",
        ),
        tr(
            lang,
            "   FICHIER déchiffre. Format public : docs/FORMAT.md, LISEZMOI.txt.",
            "   FILE decrypts. Public format: docs/FORMAT.md, README.txt.",
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
        p.text_at(REGULAR, 8.5, x, y, s);
        y -= 11.0;
    }
    if let Some(m) = manifest {
        p.text_at(MONO, 7.5, x, y - 4.0, m);
    }
    p.y = top - QR_SIZE - 12.0;
}

/// Two signature blocks side by side: who hands over, who receives.
fn signatures(p: &mut Pages, r: &Receipt, lang: Lang) {
    p.room(160.0);
    p.heading(11.0, tr(lang, "Signatures", "Signatures"));
    let n = r.record.files.len();
    p.paragraph(&match lang {
        Lang::Fr => format!(
            "Les soussignés attestent la remise et la réception des {n} fichier(s) décrits \
             ci-dessus (extraction {}, dossier {}).",
            r.record.export_id, r.record.case_reference
        ),
        Lang::En => format!(
            "The undersigned attest the hand-over and receipt of the {n} file(s) described \
             above (export {}, case {}).",
            r.record.export_id, r.record.case_reference
        ),
    });
    p.y -= 6.0;
    let half = (PAGE_W - 2.0 * MARGIN) / 2.0;
    let top = p.y;
    let blocks = [
        (
            tr(lang, "Remis par", "Handed over by"),
            format!("{} ({})", r.handed_over_by.1, r.handed_over_by.0),
        ),
        (
            tr(lang, "Reçu par", "Received by"),
            format!("{}, {}", r.opening.recipient, r.opening.organisation),
        ),
    ];
    for (i, (title, who)) in blocks.iter().enumerate() {
        let x = MARGIN + i as f32 * half;
        p.text_at(BOLD, 9.0, x, top, title);
        p.text_at(
            REGULAR,
            8.5,
            x,
            top - 13.0,
            &who.chars().take(48).collect::<String>(),
        );
        p.text_at(REGULAR, 8.5, x, top - 34.0, tr(lang, "Date :", "Date:"));
        p.line(x + 40.0, top - 35.0, half - 60.0);
        p.text_at(
            REGULAR,
            8.5,
            x,
            top - 60.0,
            tr(lang, "Signature :", "Signature:"),
        );
        p.line(x + 55.0, top - 90.0, half - 75.0);
    }
    p.y = top - 100.0;
}
