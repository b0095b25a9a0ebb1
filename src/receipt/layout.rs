//! Page layout for the receipt, on the shared A4 pages of [`crate::pdf`]: headings, paragraphs,
//! label/value blocks that move to the next page whole (or flow when longer than a page), rules,
//! signature lines, and filled rectangles for the QR code.
//!
//! Values are set in DejaVu Sans, wrapped at their column's width; hashes in DejaVu Sans Mono
//! so a SHA-256 (64 characters) fits on one line.

use std::ops::{Deref, DerefMut};

use crate::pdf::{self, BOLD, Face, MONO, PAGE_H, PAGE_W, REGULAR, wrap_width};

pub const MARGIN: f32 = 42.0;
const LINE: f32 = 10.5;
const LABEL_X: f32 = MARGIN;
const LABEL_W: f32 = 160.0;
const VALUE_X: f32 = 206.0;
/// Mono at 8 pt: 347 points hold 72 characters; a SHA-256 needs 64.
const VALUE_W: f32 = PAGE_W - MARGIN - VALUE_X;

/// The receipt's pages: the shared [`pdf::Pages`] (cursor `y`, `room`, `text_at`) with the
/// receipt's blocks on top.
pub struct Pages(pdf::Pages);

impl Default for Pages {
    fn default() -> Pages {
        Pages::new()
    }
}

impl Deref for Pages {
    type Target = pdf::Pages;
    fn deref(&self) -> &pdf::Pages {
        &self.0
    }
}

impl DerefMut for Pages {
    fn deref_mut(&mut self) -> &mut pdf::Pages {
        &mut self.0
    }
}

impl Pages {
    /// One open page; blocks stop 14 points above the bottom margin, clear of the footer.
    pub fn new() -> Pages {
        Pages(pdf::Pages::new(MARGIN, MARGIN + 14.0))
    }

    /// A heading line.
    pub fn heading(&mut self, size: f32, text: &str) {
        self.room(size + 2.0 * LINE);
        self.y -= 6.0;
        let y = self.y;
        self.text_at(BOLD, size, MARGIN, y, text);
        self.y -= size + 4.0;
    }

    /// A paragraph of running text, wrapped to the page width.
    pub fn paragraph(&mut self, text: &str) {
        for line in wrap_width(text, REGULAR, 9.0, PAGE_W - 2.0 * MARGIN) {
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
        self.field_in(label, value, REGULAR);
    }

    /// A label and a hash (or another value best read in the mono face).
    pub fn field_mono(&mut self, label: &str, value: &str) {
        self.field_in(label, value, MONO);
    }

    fn field_in(&mut self, label: &str, value: &str, face: Face) {
        let labels = wrap_width(label, BOLD, 8.0, LABEL_W);
        let value = if value.is_empty() { "-" } else { value };
        let values = wrap_width(value, face, 8.0, VALUE_W);
        let n = labels.len().max(values.len());
        let page_lines = ((PAGE_H - 2.0 * MARGIN - 14.0) / LINE) as usize;
        if n <= page_lines {
            self.room(LINE * n as f32);
        }
        for i in 0..n {
            self.room(LINE);
            let y = self.y;
            if let Some(l) = labels.get(i) {
                self.text_at(BOLD, 8.0, LABEL_X, y, l);
            }
            if let Some(v) = values.get(i) {
                self.text_at(face, 8.0, VALUE_X, y, v);
            }
            self.y -= LINE;
        }
        self.y -= 2.0;
    }

    /// A label and a line to fill in by hand.
    pub fn blank(&mut self, label: &str) {
        self.room(LINE * 2.0);
        self.y -= 4.0;
        let y = self.y;
        self.text_at(BOLD, 8.0, LABEL_X, y, label);
        self.line(VALUE_X, y - 1.5, VALUE_W);
        self.y -= LINE + 2.0;
    }

    /// A warning: bold text with a bar in the margin.
    pub fn warning(&mut self, text: &str) {
        let lines = wrap_width(text, BOLD, 8.5, PAGE_W - 2.0 * MARGIN - 8.0);
        self.room(LINE * lines.len() as f32 + 4.0);
        let top = self.y + 8.0;
        for l in &lines {
            let y = self.y;
            self.text_at(BOLD, 8.5, MARGIN + 8.0, y, l);
            self.y -= LINE;
        }
        let bottom = self.y + 6.0;
        self.stroke_line((MARGIN + 2.0, top), (MARGIN + 2.0, bottom), 2.0);
        self.y -= 4.0;
    }

    /// A horizontal rule across the text width.
    pub fn rule(&mut self) {
        self.room(8.0);
        let y = self.y + 4.0;
        self.stroke_line((MARGIN, y), (PAGE_W - MARGIN, y), 0.5);
        self.y -= 6.0;
    }

    /// A signature line from `x` to `x + width` at `y`.
    pub fn line(&mut self, x: f32, y: f32, width: f32) {
        self.stroke_line((x, y), (x + width, y), 0.5);
    }

    /// Draws a square matrix of dark modules (row-major, `true` = dark) with its top-left
    /// corner at (`x`, `y`), each module `module` points wide, as filled rectangles.
    pub fn matrix(&mut self, x: f32, y: f32, width: usize, dark: &[bool], module: f32) {
        let mut rects = Vec::new();
        for (i, d) in dark.iter().enumerate() {
            if *d {
                let (row, col) = (i / width, i % width);
                rects.push((
                    x + col as f32 * module,
                    y - (row + 1) as f32 * module,
                    module,
                    module,
                ));
            }
        }
        self.fill_rects(rects);
    }

    /// Writes the document in language `lang`; `footer` gets the page number and total.
    pub fn finish(
        self,
        title: &str,
        lang: &str,
        footer: &dyn Fn(usize, usize) -> String,
    ) -> Vec<u8> {
        self.0.finish(title, lang, footer)
    }
}

#[cfg(test)]
mod tests {
    use super::{MARGIN, Pages};

    #[test]
    fn a_field_longer_than_a_page_flows_and_stays_on_the_pages() {
        let mut p = Pages::new();
        let long = vec!["gap"; 300].join("\n");
        p.field("Lacunes", &long);
        assert!(p.count() >= 4);
        assert!(p.y > MARGIN);
    }
}
