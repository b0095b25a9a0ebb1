//! Text for the PDF standard fonts: WinAnsi encoding (French accents, `€`, `œ`, typographic
//! dashes and quotes) and wrapping at a character count, exact for Courier (0.6 em a character).

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

#[cfg(test)]
mod tests {
    use super::{win_ansi, wrap};

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
    fn encodes_french_accents_in_win_ansi() {
        assert_eq!(win_ansi("é€→"), vec![0xe9, 0x80, b'?']);
        assert_eq!(win_ansi("Œuvre\u{202f}:"), b"\x8cuvre :".to_vec());
    }
}
