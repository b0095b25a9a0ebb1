//! The register report as a printable PDF (A4 portrait), through `pdf-writer` with the
//! standard Helvetica and Courier fonts (WinAnsi encoding: French accents print; characters
//! outside it print as `?`). One block per case, label on the left, value on the right, values
//! in a fixed-width font so hashes stay legible and line breaks are exact.

use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str};

use super::{COLUMNS, CaseRow, Lang, ReportHeader, heading};

const PAGE_W: f32 = 595.0;
const PAGE_H: f32 = 842.0;
const MARGIN: f32 = 40.0;
const LINE: f32 = 10.0;
const LABEL_CHARS: usize = 34;
const VALUE_X: f32 = 195.0;
/// Courier is 0.6 em wide: (595 - 40 - 195) / (8 pt * 0.6) = 75 characters.
const VALUE_CHARS: usize = 75;

/// Encodes text for the WinAnsi standard fonts.
fn win_ansi(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match c {
            '\u{20}'..='\u{7e}' => c as u8,
            '\u{a0}'..='\u{ff}' => c as u8,
            '€' => 0x80,
            '…' => 0x85,
            '’' => 0x92,
            '–' => 0x96,
            '—' => 0x97,
            'œ' => 0x9c,
            'Œ' => 0x8c,
            _ => b'?',
        })
        .collect()
}

/// Breaks `text` into lines of at most `width` characters, at spaces when it can.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let text = text.replace('→', "->");
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let mut word: Vec<char> = word.chars().collect();
        while !word.is_empty() {
            let used = line.chars().count();
            let room = if used == 0 {
                width
            } else {
                width.saturating_sub(used + 1)
            };
            if word.len() <= room {
                if used > 0 {
                    line.push(' ');
                }
                line.extend(word.drain(..));
            } else if used > 0 {
                lines.push(std::mem::take(&mut line));
            } else {
                line.extend(word.drain(..width));
                lines.push(std::mem::take(&mut line));
            }
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// Accumulates pages of text.
struct Pages {
    pages: Vec<Content>,
    y: f32,
}

impl Pages {
    fn new() -> Pages {
        let mut p = Pages {
            pages: Vec::new(),
            y: 0.0,
        };
        p.new_page();
        p
    }

    fn new_page(&mut self) {
        self.pages.push(Content::new());
        self.y = PAGE_H - MARGIN;
    }

    fn room(&mut self, lines: usize) {
        if self.y - LINE * (lines as f32) < MARGIN + LINE {
            self.new_page();
        }
    }

    fn text(&mut self, font: &[u8], size: f32, x: f32, y: f32, text: &str) {
        let page = self.pages.last_mut().expect("a page is always open");
        page.begin_text()
            .set_font(Name(font), size)
            .next_line(x, y)
            .show(Str(&win_ansi(text)))
            .end_text();
    }

    fn line(&mut self, font: &[u8], size: f32, text: &str) {
        self.room(1);
        let y = self.y;
        self.text(font, size, MARGIN, y, text);
        self.y -= size + 4.0;
    }

    fn field(&mut self, label: &str, value: &str) {
        let labels = wrap(label, LABEL_CHARS);
        let values = wrap(value, VALUE_CHARS);
        let n = labels.len().max(values.len());
        self.room(n);
        for i in 0..n {
            let y = self.y;
            if let Some(l) = labels.get(i) {
                self.text(b"F2", 8.0, MARGIN, y, l);
            }
            if let Some(v) = values.get(i) {
                self.text(b"F3", 8.0, VALUE_X, y, v);
            }
            self.y -= LINE;
        }
        self.y -= 2.0;
    }
}

/// Renders the report.
pub fn to_pdf(header: &ReportHeader, rows: &[CaseRow], lang: Lang) -> Vec<u8> {
    let fr = lang == Lang::Fr;
    let mut pages = Pages::new();
    pages.line(
        b"F2",
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
        pages.field(label, &value);
    }
    for row in rows {
        pages.y -= 6.0;
        pages.room(4);
        pages.line(
            b"F2",
            11.0,
            &format!("{} {}", heading("case_id", lang), row.case_id),
        );
        for key in COLUMNS.iter().skip(1) {
            pages.field(heading(key, lang), row.cell(key));
        }
    }

    let catalog = Ref::new(1);
    let tree = Ref::new(2);
    let fonts = [
        (Ref::new(3), b"F1", "Helvetica"),
        (Ref::new(4), b"F2", "Helvetica-Bold"),
        (Ref::new(5), b"F3", "Courier"),
    ];
    let info = Ref::new(6);
    let first_page = 7;
    let total = pages.pages.len();
    let page_refs: Vec<Ref> = (0..total)
        .map(|i| Ref::new(first_page + 2 * i as i32))
        .collect();

    let mut pdf = Pdf::new();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree)
        .kids(page_refs.iter().copied())
        .count(total as i32);
    for (id, _, base) in &fonts {
        pdf.type1_font(*id)
            .base_font(Name(base.as_bytes()))
            .encoding_predefined(Name(b"WinAnsiEncoding"));
    }
    pdf.document_info(info)
        .title(pdf_writer::TextStr(if fr {
            "Registre des extractions"
        } else {
            "Extraction register"
        }))
        .producer(pdf_writer::TextStr("scelle"));
    for (i, mut content) in pages.pages.into_iter().enumerate() {
        let footer = format!("Page {} / {total} — {}", i + 1, header.head);
        content
            .begin_text()
            .set_font(Name(b"F1"), 7.0)
            .next_line(MARGIN, MARGIN / 2.0)
            .show(Str(&win_ansi(&footer)))
            .end_text();
        let page_id = page_refs[i];
        let content_id = Ref::new(page_id.get() + 1);
        let mut page = pdf.page(page_id);
        page.parent(tree)
            .media_box(Rect::new(0.0, 0.0, PAGE_W, PAGE_H))
            .contents(content_id);
        let mut resources = page.resources();
        let mut font_dict = resources.fonts();
        for (id, name, _) in &fonts {
            font_dict.pair(Name(*name), *id);
        }
        font_dict.finish();
        resources.finish();
        page.finish();
        pdf.stream(content_id, &content.finish());
    }
    pdf.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_words_and_breaks_long_ones() {
        assert_eq!(wrap("ab cd ef", 5), vec!["ab cd", "ef"]);
        assert_eq!(wrap("abcdefgh", 3), vec!["abc", "def", "gh"]);
        assert_eq!(wrap("", 3), vec![""]);
    }

    #[test]
    fn encodes_french_accents_in_win_ansi() {
        assert_eq!(win_ansi("é€→"), vec![0xe9, 0x80, b'?']);
    }
}
