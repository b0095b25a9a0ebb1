//! Line breaking: at a character count ([`wrap`], exact for the mono face) or at a width in
//! points measured with the embedded fonts' metrics ([`wrap_width`]).

use super::{Face, text_width};

/// Breaks `text` into lines of at most `width` characters, at spaces when it can, inside a
/// word when it must; a `\n` always starts a new line.
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

/// Breaks `text` into lines no wider than `width` points in `face` at `size`, at spaces when
/// it can, inside a word when it must; a `\n` always starts a new line.
pub fn wrap_width(text: &str, face: Face, size: f32, width: f32) -> Vec<String> {
    let fits = |s: &str| text_width(face, size, s) <= width;
    let mut lines = Vec::new();
    for paragraph in text.split('\n') {
        let mut line = String::new();
        for word in paragraph.split_whitespace() {
            let candidate = if line.is_empty() {
                word.to_owned()
            } else {
                format!("{line} {word}")
            };
            if fits(&candidate) {
                line = candidate;
                continue;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            // A word wider than the line is cut where it overflows.
            for c in word.chars() {
                line.push(c);
                if !fits(&line) && line.chars().count() > 1 {
                    line.pop();
                    lines.push(std::mem::take(&mut line));
                    line.push(c);
                }
            }
        }
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::{Face, text_width, wrap, wrap_width};

    #[test]
    fn long_words_are_cut_and_short_ones_kept() {
        let h = "a".repeat(64);
        assert_eq!(wrap(&h, 75), vec![h.clone()]);
        assert_eq!(wrap(&h, 32), vec!["a".repeat(32), "a".repeat(32)]);
        assert_eq!(wrap("un deux trois", 7), vec!["un deux", "trois"]);
        assert_eq!(wrap("ab cd ef", 5), vec!["ab cd", "ef"]);
        assert_eq!(wrap("abcdefgh", 3), vec!["abc", "def", "gh"]);
    }

    #[test]
    fn line_breaks_are_kept_and_empty_text_is_one_empty_line() {
        assert_eq!(wrap("a\nb", 10), vec!["a", "b"]);
        assert_eq!(wrap("", 3), vec![""]);
    }

    #[test]
    fn wrapping_by_width_stays_inside_it() {
        let text = "Gendarmerie nationale — Brigade de Saint-Étienne-de-Saint-Geoirs (Compagnie de La Tour-du-Pin)";
        let lines = wrap_width(text, Face::Regular, 9.0, 150.0);
        assert!(lines.len() > 2);
        assert!(
            lines
                .iter()
                .all(|l| text_width(Face::Regular, 9.0, l) <= 150.0)
        );
        assert_eq!(lines.join(" "), text);
        let long = "x".repeat(200);
        assert!(wrap_width(&long, Face::Mono, 8.0, 100.0).len() > 5);
    }
}
