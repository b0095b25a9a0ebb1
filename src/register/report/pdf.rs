//! The register report as a printable PDF (A4 portrait) on the shared pages of [`crate::pdf`]
//! (standard Helvetica and Courier fonts, WinAnsi encoding: French accents print; characters
//! outside it print as `?`). One block per case, label on the left, value on the right, values
//! in a fixed-width font so hashes stay legible and line breaks are exact.

use crate::pdf::{BOLD, MONO, Pages, wrap};

use super::media::{MEDIA_COLUMNS, MediaRow, media_heading, media_title};
use super::{COLUMNS, CaseRow, Lang, ReportHeader, heading};

const MARGIN: f32 = 40.0;
const LINE: f32 = 10.0;
const LABEL_CHARS: usize = 34;
const VALUE_X: f32 = 195.0;
/// Courier is 0.6 em wide: (595 - 40 - 195) / (8 pt * 0.6) = 75 characters.
const VALUE_CHARS: usize = 75;

/// A cell as the report prints it: one run of words (line breaks become spaces), `→` (not in
/// WinAnsi) as `->`.
fn one_run(text: &str) -> String {
    text.replace('→', "->").replace('\n', " ")
}

/// A line of text at the left margin.
fn line(p: &mut Pages, font: &[u8], size: f32, text: &str) {
    p.room(LINE);
    let y = p.y;
    p.text_at(font, size, MARGIN, y, text);
    p.y -= size + 4.0;
}

/// A label and its value, both wrapped; the block moves to the next page whole.
fn field(p: &mut Pages, label: &str, value: &str) {
    let labels = wrap(&one_run(label), LABEL_CHARS);
    let values = wrap(&one_run(value), VALUE_CHARS);
    let n = labels.len().max(values.len());
    p.room(LINE * n as f32);
    for i in 0..n {
        let y = p.y;
        if let Some(l) = labels.get(i) {
            p.text_at(BOLD, 8.0, MARGIN, y, l);
        }
        if let Some(v) = values.get(i) {
            p.text_at(MONO, 8.0, VALUE_X, y, v);
        }
        p.y -= LINE;
    }
    p.y -= 2.0;
}

/// Renders the report.
pub fn to_pdf(header: &ReportHeader, rows: &[CaseRow], lang: Lang) -> Vec<u8> {
    to_pdf_with_media(header, rows, None, lang)
}

/// Renders the report, followed by the removable-media section when `media` is given.
pub fn to_pdf_with_media(
    header: &ReportHeader,
    rows: &[CaseRow],
    media: Option<&[MediaRow]>,
    lang: Lang,
) -> Vec<u8> {
    let fr = lang == Lang::Fr;
    // Blocks stop one line above the bottom margin, clear of the footer.
    let mut pages = Pages::new(MARGIN, MARGIN + LINE);
    line(
        &mut pages,
        BOLD,
        14.0,
        if fr {
            "Registre des extractions vidéo — scelle"
        } else {
            "Video extraction register — scelle"
        },
    );
    let status = match &header.integrity_failure {
        None => {
            if fr {
                "chaîne vérifiée (liens, empreintes et signatures)".to_owned()
            } else {
                "chain verified (links, hashes and signatures)".to_owned()
            }
        }
        Some(f) => format!(
            "{} {f}",
            if fr {
                "ÉCHEC DE VÉRIFICATION :"
            } else {
                "VERIFICATION FAILED:"
            }
        ),
    };
    for (label, value) in [
        (
            if fr {
                "Édité le (UTC)"
            } else {
                "Generated (UTC)"
            },
            header.generated.clone(),
        ),
        (
            if fr {
                "Tête du registre"
            } else {
                "Register head"
            },
            header.head.clone(),
        ),
        (
            if fr { "Entrées" } else { "Entries" },
            header.entries.to_string(),
        ),
        (if fr { "Intégrité" } else { "Integrity" }, status),
        (
            if fr { "Dossiers" } else { "Cases" },
            rows.len().to_string(),
        ),
    ] {
        field(&mut pages, label, &value);
    }
    for row in rows {
        pages.y -= 6.0;
        pages.room(LINE * 4.0);
        line(
            &mut pages,
            BOLD,
            11.0,
            &format!("{} {}", heading("case_id", lang), row.case_id),
        );
        for key in COLUMNS.iter().skip(1) {
            field(&mut pages, heading(key, lang), row.cell(key));
        }
    }
    if let Some(media) = media {
        pages.y -= 10.0;
        pages.room(LINE * 4.0);
        line(&mut pages, BOLD, 12.0, media_title(lang));
        if media.is_empty() {
            field(
                &mut pages,
                "",
                if fr {
                    "aucun support inventorié ni utilisé"
                } else {
                    "no medium inventoried or used"
                },
            );
        }
        for m in media {
            pages.y -= 4.0;
            pages.room(LINE * 4.0);
            // "MED-0001 — SERIAL"; a drive used but not inventoried or without a serial gets
            // what it has (its model at least).
            let names: Vec<&str> = [m.inventory_id.as_str(), m.serial.as_str()]
                .into_iter()
                .filter(|n| !n.is_empty() && *n != "-")
                .collect();
            let heading = if names.is_empty() {
                m.model.clone()
            } else {
                names.join(" — ")
            };
            line(&mut pages, BOLD, 10.0, &heading);
            for key in MEDIA_COLUMNS.iter().skip(1) {
                field(&mut pages, media_heading(key, lang), m.cell(key));
            }
        }
    }

    let title = if fr {
        "Registre des extractions"
    } else {
        "Extraction register"
    };
    let footer = |page: usize, total: usize| format!("Page {page} / {total} — {}", header.head);
    pages.finish(title, &footer)
}

#[cfg(test)]
mod tests {
    use super::one_run;

    #[test]
    fn a_cell_is_one_run_of_words_with_an_ascii_arrow() {
        assert_eq!(one_run("a → b\nc"), "a -> b c");
    }
}
