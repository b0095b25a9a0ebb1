//! A4 text layout shared by the receipt and the register report, written as archival PDF
//! (PDF/A-2b, decision 0120) with `krilla`: pages of text in three embedded DejaVu fonts (Sans,
//! Sans Bold, Sans Mono, subset; their licence is `src/pdf/fonts/LICENSE-DejaVu.txt`), a cursor
//! that opens a new page when a block would not fit, lines and filled rectangles, and the
//! writing of the document (title, language, creation date, a footer on every page).
//!
//! Text is real Unicode: accents, apostrophes, Greek, Cyrillic, Hebrew and Arabic print as
//! written and read back with `pdftotext`; a character no embedded font has (CJK ideographs,
//! emoji) prints as `U+XXXX` rather than as an empty box, and control characters and bidi
//! overrides (which could make a name reverse the hash printed after it) are dropped.
//! Widths come from the fonts' own metrics ([`text_width`], [`wrap_width`]), so proportional
//! paragraphs wrap at the margin; values set in the mono font wrap at a character count
//! ([`wrap`]), exact since every mono glyph is 0.602 em wide.
//!
//! Drawing is recorded page by page and rendered in [`Pages::finish`], once the page count is
//! known. What each document puts on its pages stays with it: [`crate::receipt`] and
//! [`crate::report`] differ in margins and spacing.

mod text;

use std::sync::LazyLock;

use krilla::Document;
use krilla::configure::{Archival, ConfigurationBuilder};
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::metadata::{DateTime, Metadata};
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::text::TextDirection;
use skrifa::MetadataProvider;
use skrifa::instance::{LocationRef, Size};

pub use text::{wrap, wrap_width};

pub const PAGE_W: f32 = 595.0;
pub const PAGE_H: f32 = 842.0;

/// The three faces every document uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Face {
    Regular,
    Bold,
    Mono,
}

pub const REGULAR: Face = Face::Regular;
pub const BOLD: Face = Face::Bold;
pub const MONO: Face = Face::Mono;

static SANS: &[u8] = include_bytes!("fonts/DejaVuSans.ttf");
static SANS_BOLD: &[u8] = include_bytes!("fonts/DejaVuSans-Bold.ttf");
static SANS_MONO: &[u8] = include_bytes!("fonts/DejaVuSansMono.ttf");

/// A face's bytes, its krilla font and its metrics, loaded once.
struct Loaded {
    bytes: &'static [u8],
    font: krilla::text::Font,
    units_per_em: f32,
}

fn load(bytes: &'static [u8]) -> Loaded {
    let font = krilla::text::Font::new(bytes.into(), 0).expect("the bundled DejaVu font parses");
    let units_per_em = skrifa::FontRef::new(bytes)
        .map(|f| {
            f32::from(
                f.metrics(Size::unscaled(), LocationRef::default())
                    .units_per_em,
            )
        })
        .unwrap_or(2048.0);
    Loaded {
        bytes,
        font,
        units_per_em,
    }
}

static FONTS: LazyLock<[Loaded; 3]> =
    LazyLock::new(|| [load(SANS), load(SANS_BOLD), load(SANS_MONO)]);

fn loaded(face: Face) -> &'static Loaded {
    &FONTS[match face {
        Face::Regular => 0,
        Face::Bold => 1,
        Face::Mono => 2,
    }]
}

/// `text` as it can be printed in `face`: control characters dropped, a character the font
/// has no glyph for spelled `U+XXXX`.
pub fn printable(face: Face, text: &str) -> String {
    let f = loaded(face);
    let Ok(font) = skrifa::FontRef::new(f.bytes) else {
        return text.to_owned();
    };
    let charmap = font.charmap();
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        // Controls, and the bidirectional overrides and isolates a name could carry to make
        // what follows print reversed (a spoofed hash, a different date).
        if c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}') {
            continue;
        }
        // Joiners and variation selectors shape without a glyph of their own.
        if c == ' ' || charmap.map(c).is_some() || matches!(c, '\u{200c}'..='\u{200f}') {
            out.push(c);
        } else if ('\u{fe00}'..='\u{fe0f}').contains(&c) {
            continue;
        } else {
            out.push_str(&format!("U+{:04X}", c as u32));
        }
    }
    out
}

/// The width in points of `text` set in `face` at `size` (advance widths, no kerning).
pub fn text_width(face: Face, size: f32, text: &str) -> f32 {
    let f = loaded(face);
    let Ok(font) = skrifa::FontRef::new(f.bytes) else {
        return text.chars().count() as f32 * size * 0.6;
    };
    let charmap = font.charmap();
    let metrics = font.glyph_metrics(Size::unscaled(), LocationRef::default());
    let units: f32 = text
        .chars()
        .map(|c| {
            charmap
                .map(c)
                .and_then(|g| metrics.advance_width(g))
                .unwrap_or(f.units_per_em * 0.6)
        })
        .sum();
    units / f.units_per_em * size
}

/// One drawing operation, in PDF coordinates (origin bottom left, points).
#[derive(Clone, Debug)]
enum Op {
    Text {
        face: Face,
        size: f32,
        x: f32,
        y: f32,
        text: String,
    },
    Line {
        from: (f32, f32),
        to: (f32, f32),
        width: f32,
    },
    /// Filled rectangles: (x, y of the bottom edge, width, height).
    Rects(Vec<(f32, f32, f32, f32)>),
}

/// Pages being written, top to bottom.
pub struct Pages {
    pages: Vec<Vec<Op>>,
    /// Baseline of the next line on the current page.
    pub y: f32,
    /// Where text starts below the top edge; the footer sits at half of it above the bottom.
    margin: f32,
    /// How low a block may reach before it goes to a new page.
    bottom: f32,
    /// Lines printed under the top margin of every page (a running header), if any.
    header: Vec<String>,
}

impl Pages {
    /// One open page; text starts `margin` below the top and blocks stop at `bottom`.
    pub fn new(margin: f32, bottom: f32) -> Pages {
        Pages::with_header(margin, bottom, Vec::new())
    }

    /// As [`Pages::new`], with `header` lines (small print) at the top of every page.
    pub fn with_header(margin: f32, bottom: f32, header: Vec<String>) -> Pages {
        let mut p = Pages {
            pages: Vec::new(),
            y: 0.0,
            margin,
            bottom,
            header,
        };
        p.new_page();
        p
    }

    pub fn new_page(&mut self) {
        self.pages.push(Vec::new());
        self.y = PAGE_H - self.margin;
        let header = std::mem::take(&mut self.header);
        if !header.is_empty() {
            let top = PAGE_H - self.margin / 2.0;
            for (i, h) in header.iter().enumerate() {
                let y = top - 8.0 * i as f32;
                self.text_at(REGULAR, 6.5, self.margin, y, h);
            }
            self.y = top - 8.0 * header.len() as f32 - 10.0;
        }
        self.header = header;
    }

    /// Opens a new page unless `height` points fit above the bottom.
    pub fn room(&mut self, height: f32) {
        if self.y - height < self.bottom {
            self.new_page();
        }
    }

    /// How many pages there are so far.
    pub fn count(&self) -> usize {
        self.pages.len()
    }

    fn ops(&mut self) -> &mut Vec<Op> {
        self.pages.last_mut().expect("a page is always open")
    }

    /// One line of `text` with its baseline starting at (`x`, `y`).
    pub fn text_at(&mut self, face: Face, size: f32, x: f32, y: f32, text: &str) {
        let text = printable(face, text);
        if text.trim().is_empty() {
            return;
        }
        self.ops().push(Op::Text {
            face,
            size,
            x,
            y,
            text,
        });
    }

    /// A straight line `width` points thick.
    pub fn stroke_line(&mut self, from: (f32, f32), to: (f32, f32), width: f32) {
        self.ops().push(Op::Line { from, to, width });
    }

    /// Black rectangles: (x, y of the bottom edge, width, height).
    pub fn fill_rects(&mut self, rects: Vec<(f32, f32, f32, f32)>) {
        if !rects.is_empty() {
            self.ops().push(Op::Rects(rects));
        }
    }

    /// Writes the document (PDF/A-2b; `lang` is its language, `fr` or `en`); `footer` gets
    /// the page number and total.
    pub fn finish(
        self,
        title: &str,
        lang: &str,
        footer: &dyn Fn(usize, usize) -> String,
    ) -> Vec<u8> {
        let total = self.pages.len();
        let mut pages = self.pages;
        for (i, ops) in pages.iter_mut().enumerate() {
            ops.push(Op::Text {
                face: REGULAR,
                size: 7.0,
                x: self.margin,
                y: self.margin / 2.0,
                text: printable(REGULAR, &footer(i + 1, total)),
            });
        }
        let title: String = printable(REGULAR, title).chars().take(200).collect();
        match render(&pages, &title, lang, true) {
            Ok(pdf) => pdf,
            Err(e) => {
                // Archival validation refused something (should not happen: the text is
                // sanitized); a readable PDF beats none.
                tracing::warn!(error = %e, "PDF/A-2b validation failed; writing a plain PDF");
                render(&pages, &title, lang, false).unwrap_or_default()
            }
        }
    }
}

fn render(pages: &[Vec<Op>], title: &str, lang: &str, archival: bool) -> Result<Vec<u8>, String> {
    let mut settings = krilla::SerializeSettings::default();
    if archival {
        settings.configuration = ConfigurationBuilder::new()
            .with_archival_validator(Archival::A2_B)
            .finish()
            .map_err(|e| format!("{e:?}"))?;
    }
    settings.enable_tagging = false;
    let mut doc = Document::new_with(settings);
    let now = jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC);
    let date = DateTime::new(now.year() as u16)
        .month(now.month() as u8)
        .day(now.day() as u8)
        .hour(now.hour() as u8)
        .minute(now.minute() as u8)
        .second(now.second() as u8)
        .utc_offset_hour(0)
        .utc_offset_minute(0);
    doc.set_metadata(
        Metadata::new()
            .title(title.to_owned())
            .language(lang.to_owned())
            .producer("scelle".to_owned())
            .creator("scelle".to_owned())
            .creation_date(date),
    );
    let page_settings = PageSettings::from_wh(PAGE_W, PAGE_H).ok_or("page size")?;
    for ops in pages {
        let mut page = doc.start_page_with(page_settings.clone());
        let mut s = page.surface();
        for op in ops {
            match op {
                Op::Text {
                    face,
                    size,
                    x,
                    y,
                    text,
                } => {
                    s.set_stroke(None);
                    s.set_fill(Some(Fill::default()));
                    s.draw_text(
                        Point::from_xy(*x, PAGE_H - *y),
                        loaded(*face).font.clone(),
                        *size,
                        text,
                        false,
                        TextDirection::Auto,
                    );
                }
                Op::Line { from, to, width } => {
                    let mut pb = PathBuilder::new();
                    pb.move_to(from.0, PAGE_H - from.1);
                    pb.line_to(to.0, PAGE_H - to.1);
                    if let Some(path) = pb.finish() {
                        s.set_fill(None);
                        s.set_stroke(Some(Stroke {
                            width: *width,
                            ..Stroke::default()
                        }));
                        s.draw_path(&path);
                    }
                }
                Op::Rects(rects) => {
                    let mut pb = PathBuilder::new();
                    for (x, y, w, h) in rects {
                        if let Some(r) = Rect::from_xywh(*x, PAGE_H - *y - *h, *w, *h) {
                            pb.push_rect(r);
                        }
                    }
                    if let Some(path) = pb.finish() {
                        s.set_stroke(None);
                        s.set_fill(Some(Fill::default()));
                        s.draw_path(&path);
                    }
                }
            }
        }
        s.finish();
        page.finish();
    }
    doc.finish().map_err(|e| format!("{e:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_characters_are_spelled_and_controls_dropped() {
        assert_eq!(printable(REGULAR, "Élodie O’Brien"), "Élodie O’Brien");
        assert_eq!(printable(REGULAR, "Ольга Σοφία"), "Ольга Σοφία");
        assert_eq!(printable(REGULAR, "a\u{7}b中"), "abU+4E2D");
        assert_eq!(printable(MONO, "ab\u{202e}cd\u{2066}e"), "abcde");
    }

    #[test]
    fn mono_is_six_tenths_of_an_em() {
        let w = text_width(MONO, 10.0, "abcdefghij");
        assert!((w - 60.2).abs() < 0.5, "{w}");
        assert!(text_width(REGULAR, 10.0, "iiii") < text_width(REGULAR, 10.0, "MMMM"));
    }

    #[test]
    fn a_document_is_pdf_a() {
        let mut p = Pages::new(40.0, 60.0);
        let y = p.y;
        p.text_at(
            BOLD,
            12.0,
            40.0,
            y,
            "Récépissé — Saint-Étienne-de-Saint-Geoirs 中",
        );
        p.stroke_line((40.0, 700.0), (300.0, 700.0), 0.5);
        p.fill_rects(vec![(40.0, 600.0, 10.0, 10.0)]);
        let pdf = p.finish("Titre", "fr", &|n, t| format!("page {n} / {t}"));
        assert!(pdf.starts_with(b"%PDF-"));
        let text = String::from_utf8_lossy(&pdf);
        assert!(text.contains("pdfaid:part"), "XMP declares PDF/A");
    }
}
