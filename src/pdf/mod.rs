//! A4 text layout on pdf-writer shared by the receipt and the register report: pages of text in
//! the PDF standard fonts (Helvetica, Helvetica-Bold, Courier; WinAnsi encoding, so French
//! accents print), a cursor that opens a new page when a block would not fit, and the writing of
//! the document (fonts, page tree, title, a footer on every page).
//!
//! Standard fonts need no embedding, so a document stays small and any reader shows it. What
//! each document puts on its pages (headings, label/value blocks, the QR code) stays with it:
//! [`crate::receipt`] and [`crate::register::report`] differ in margins and spacing.

mod text;

pub use text::{win_ansi, wrap};

use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str, TextStr};

pub const PAGE_W: f32 = 595.0;
pub const PAGE_H: f32 = 842.0;

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
    /// Where text starts below the top edge; the footer sits at half of it above the bottom.
    margin: f32,
    /// How low a block may reach before it goes to a new page.
    bottom: f32,
}

impl Pages {
    /// One open page; text starts `margin` below the top and blocks stop at `bottom`.
    pub fn new(margin: f32, bottom: f32) -> Pages {
        let mut p = Pages {
            pages: Vec::new(),
            y: 0.0,
            margin,
            bottom,
        };
        p.new_page();
        p
    }

    pub fn new_page(&mut self) {
        self.pages.push(Content::new());
        self.y = PAGE_H - self.margin;
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

    /// The current page, to draw on.
    pub fn content(&mut self) -> &mut Content {
        self.pages.last_mut().expect("a page is always open")
    }

    /// One line of `text` with its baseline starting at (`x`, `y`).
    pub fn text_at(&mut self, font: &[u8], size: f32, x: f32, y: f32, text: &str) {
        self.content()
            .begin_text()
            .set_font(Name(font), size)
            .next_line(x, y)
            .show(Str(&win_ansi(text)))
            .end_text();
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
                .next_line(self.margin, self.margin / 2.0)
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
