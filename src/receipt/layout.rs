//! Page layout for the receipt: A4 pages of text drawn with the PDF standard fonts
//! (Helvetica, Helvetica-Bold, Courier; WinAnsi encoding, so French accents print), a cursor
//! that opens a new page when a block would not fit, and filled rectangles for the QR code.
//!
//! Values are set in Courier so a SHA-256 (64 characters) fits on one line and wrapping is
//! exact: the width of every character is known (0.6 em).

use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str, TextStr};

pub const PAGE_W: f32 = 595.0;
pub const PAGE_H: f32 = 842.0;
pub const MARGIN: f32 = 42.0;
const LINE: f32 = 10.5;
const LABEL_X: f32 = MARGIN;
const LABEL_CHARS: usize = 30;
pub const VALUE_X: f32 = 190.0;
/// Courier at 8 pt: (595 - 42 - 190) / (8 × 0.6) = 75 characters; a SHA-256 needs 64.
const VALUE_CHARS: usize = 75;

/// Encodes text for the WinAnsi standard fonts; characters outside it print as `?`.
pub fn win_ansi(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match c {
            '\u{20}'..='\u{7e}' | '\u{a0}'..='\u{ff}' => c as u8,
            '€' => 0x80,
            '…' => 0x85,
            '’' => 0x92,
            '–' => 0x96,
            '—' => 0x97,
            'œ' => 0x9c,
            'Œ' => 0x8c,
            '\u{202f}' => b' ',
            _ => b'?',
        })
        .collect()
}

/// Breaks `text` into lines of at most `width` characters, at spaces when it can, inside a
/// word when it must.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    for paragraph in text.split('\n') {
        let mut line = String::new();
        for word in paragraph.split_whitespace() {
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
        lines.push(line);
    }
    lines
}

/// The fonts of every page: resource name and base font.
const FONTS: [(&[u8], &str); 3] = [
    (b"F1", "Helvetica"),
    (b"F2", "Helvetica-Bold"),
    (b"F3", "Courier"),
];
pub const REGULAR: &[u8] = b"F1";
pub const BOLD: &[u8] = b"F2";
pub const MONO: &[u8] = b"F3";

/// Pages being written, top to bottom.
pub struct Pages {
    pages: Vec<Content>,
    /// Baseline of the next line on the current page.
    pub y: f32,
}

impl Default for Pages {
    fn default() -> Pages {
        Pages::new()
    }
}

impl Pages {
    pub fn new() -> Pages {
        let mut p = Pages {
            pages: Vec::new(),
            y: 0.0,
        };
        p.new_page();
        p
    }

    pub fn new_page(&mut self) {
        self.pages.push(Content::new());
        self.y = PAGE_H - MARGIN;
    }

    /// Opens a new page unless `height` points fit above the bottom margin.
    pub fn room(&mut self, height: f32) {
        if self.y - height < MARGIN + 14.0 {
            self.new_page();
        }
    }

    fn page(&mut self) -> &mut Content {
        self.pages.last_mut().expect("a page is always open")
    }

    pub fn text_at(&mut self, font: &[u8], size: f32, x: f32, y: f32, text: &str) {
        self.page()
            .begin_text()
            .set_font(Name(font), size)
            .next_line(x, y)
            .show(Str(&win_ansi(text)))
            .end_text();
    }

    /// A heading line.
    pub fn heading(&mut self, size: f32, text: &str) {
        self.room(size + 2.0 * LINE);
        self.y -= 4.0;
        let y = self.y;
        self.text_at(BOLD, size, MARGIN, y, text);
        self.y -= size + 4.0;
    }

    /// A paragraph of running text, wrapped to the page width.
    pub fn paragraph(&mut self, text: &str) {
        // Helvetica averages about 0.5 em: 9 pt over 511 pt ≈ 110 characters; stay below.
        for line in wrap(text, 100) {
            self.room(LINE);
            let y = self.y;
            self.text_at(REGULAR, 9.0, MARGIN, y, &line);
            self.y -= LINE;
        }
        self.y -= 3.0;
    }

    /// A label and its value; both wrap. The block moves to the next page whole when it fits
    /// on one; a longer one (hundreds of gaps) flows line by line onto the following pages.
    pub fn field(&mut self, label: &str, value: &str) {
        let labels = wrap(label, LABEL_CHARS);
        let values = wrap(if value.is_empty() { "-" } else { value }, VALUE_CHARS);
        let n = labels.len().max(values.len());
        let page_lines = ((PAGE_H - 2.0 * MARGIN - 14.0) / LINE) as usize;
        if n <= page_lines {
            self.room(LINE * n as f32);
        }
        for i in 0..n {
            self.room(LINE);
            let y = self.y;
            if let Some(l) = labels.get(i) {
                self.text_at(BOLD, 8.5, LABEL_X, y, l);
            }
            if let Some(v) = values.get(i) {
                self.text_at(MONO, 8.0, VALUE_X, y, v);
            }
            self.y -= LINE;
        }
        self.y -= 2.0;
    }

    /// A horizontal rule across the text width.
    pub fn rule(&mut self) {
        self.room(8.0);
        let y = self.y + 4.0;
        self.page()
            .set_line_width(0.5)
            .move_to(MARGIN, y)
            .line_to(PAGE_W - MARGIN, y)
            .stroke();
        self.y -= 6.0;
    }

    /// A signature line from `x` to `x + width` at `y`.
    pub fn line(&mut self, x: f32, y: f32, width: f32) {
        self.page()
            .set_line_width(0.5)
            .move_to(x, y)
            .line_to(x + width, y)
            .stroke();
    }

    /// Draws a square matrix of dark modules (row-major, `true` = dark) with its top-left
    /// corner at (`x`, `y`), each module `module` points wide, as filled rectangles.
    pub fn matrix(&mut self, x: f32, y: f32, width: usize, dark: &[bool], module: f32) {
        let page = self.page();
        page.set_fill_gray(0.0);
        for (i, d) in dark.iter().enumerate() {
            if *d {
                let (row, col) = (i / width, i % width);
                page.rect(
                    x + col as f32 * module,
                    y - (row + 1) as f32 * module,
                    module,
                    module,
                );
            }
        }
        page.fill_nonzero();
    }

    /// Writes the document; `footer` gets the page number and total.
    pub fn finish(self, title: &str, footer: &dyn Fn(usize, usize) -> String) -> Vec<u8> {
        let catalog = Ref::new(1);
        let tree = Ref::new(2);
        let info = Ref::new(3);
        let font_ids: Vec<Ref> = (0..FONTS.len()).map(|i| Ref::new(4 + i as i32)).collect();
        let first_page = 4 + FONTS.len() as i32;
        let total = self.pages.len();
        let page_ids: Vec<Ref> = (0..total)
            .map(|i| Ref::new(first_page + 2 * i as i32))
            .collect();
        let mut pdf = Pdf::new();
        pdf.catalog(catalog).pages(tree);
        pdf.pages(tree)
            .kids(page_ids.iter().copied())
            .count(total as i32);
        for ((_, base), id) in FONTS.iter().zip(&font_ids) {
            pdf.type1_font(*id)
                .base_font(Name(base.as_bytes()))
                .encoding_predefined(Name(b"WinAnsiEncoding"));
        }
        pdf.document_info(info)
            .title(TextStr(title))
            .producer(TextStr("scelle"));
        for (i, mut content) in self.pages.into_iter().enumerate() {
            content
                .begin_text()
                .set_font(Name(REGULAR), 7.0)
                .next_line(MARGIN, MARGIN / 2.0)
                .show(Str(&win_ansi(&footer(i + 1, total))))
                .end_text();
            let page_id = page_ids[i];
            let content_id = Ref::new(page_id.get() + 1);
            let mut page = pdf.page(page_id);
            page.parent(tree)
                .media_box(Rect::new(0.0, 0.0, PAGE_W, PAGE_H))
                .contents(content_id);
            let mut resources = page.resources();
            let mut fonts = resources.fonts();
            for ((name, _), id) in FONTS.iter().zip(&font_ids) {
                fonts.pair(Name(name), *id);
            }
            fonts.finish();
            resources.finish();
            page.finish();
            pdf.stream(content_id, &content.finish());
        }
        pdf.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::{MARGIN, Pages, wrap};

    #[test]
    fn a_field_longer_than_a_page_flows_and_stays_on_the_pages() {
        let mut p = Pages::new();
        let long = vec!["gap"; 300].join("\n");
        p.field("Lacunes", &long);
        assert!(p.pages.len() >= 4);
        assert!(p.y > MARGIN);
    }

    #[test]
    fn long_words_are_cut_and_short_ones_kept() {
        let h = "a".repeat(64);
        assert_eq!(wrap(&h, 75), vec![h.clone()]);
        assert_eq!(wrap(&h, 32), vec!["a".repeat(32), "a".repeat(32)]);
        assert_eq!(wrap("un deux trois", 7), vec!["un deux", "trois"]);
        assert_eq!(wrap("a\nb", 10), vec!["a", "b"]);
    }
}
