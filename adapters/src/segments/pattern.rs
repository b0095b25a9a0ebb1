//! Segment path patterns: `{camera}/%Y/%m/%d/%H-%M-%S.mp4` and the like. A pattern is
//! relative to the folder's root and matched against whole relative paths; the date fields give
//! the segment's start time (UTC). `{camera}` is replaced by the camera's folder name before
//! matching. Supported fields: `%Y %m %d %H %M %S`, `%%`.

use jiff::Timestamp;
use jiff::civil::DateTime;

/// One piece of a pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Piece {
    Literal(String),
    /// A fixed-width decimal field: which one, and its width.
    Field(char, usize),
}

/// A parsed segment path pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pattern {
    pieces: Vec<Piece>,
}

/// A pattern that cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("segment pattern {pattern:?}: {why}")]
pub struct PatternError {
    pub pattern: String,
    pub why: String,
}

impl Pattern {
    /// Parses `pattern` with `{camera}` replaced by `camera`.
    pub fn parse(pattern: &str, camera: &str) -> Result<Pattern, PatternError> {
        let err = |why: &str| PatternError {
            pattern: pattern.to_string(),
            why: why.to_string(),
        };
        if pattern.starts_with('/') || pattern.split('/').any(|c| c == "..") {
            return Err(err("must be relative to the folder, without '..'"));
        }
        if camera.contains(['/', '%']) || camera == ".." || camera == "." {
            return Err(err("camera name must not contain '/' or '%'"));
        }
        let text = pattern.replace("{camera}", camera);
        let mut pieces = Vec::new();
        let mut lit = String::new();
        let mut chars = text.chars();
        while let Some(c) = chars.next() {
            if c != '%' {
                lit.push(c);
                continue;
            }
            let f = chars.next().ok_or_else(|| err("ends with '%'"))?;
            let width = match f {
                'Y' => 4,
                'm' | 'd' | 'H' | 'M' | 'S' => 2,
                '%' => {
                    lit.push('%');
                    continue;
                }
                other => {
                    return Err(err(&format!(
                        "unsupported field %{other} (use %Y %m %d %H %M %S)"
                    )));
                }
            };
            if !lit.is_empty() {
                pieces.push(Piece::Literal(std::mem::take(&mut lit)));
            }
            pieces.push(Piece::Field(f, width));
        }
        if !lit.is_empty() {
            pieces.push(Piece::Literal(lit));
        }
        for need in ['Y', 'm', 'd', 'H', 'M'] {
            if !pieces.contains(&Piece::Field(need, if need == 'Y' { 4 } else { 2 })) {
                return Err(err(&format!(
                    "needs the %{need} field to tell segments apart"
                )));
            }
        }
        Ok(Pattern { pieces })
    }

    /// The start time encoded in `relative` (a path relative to the root, '/'-separated), or
    /// `None` when the path does not follow the pattern.
    pub fn match_path(&self, relative: &str) -> Option<Timestamp> {
        let mut rest = relative;
        let (mut y, mut mo, mut d, mut h, mut mi, mut s) = (0i16, 1i8, 1i8, 0i8, 0i8, 0i8);
        for p in &self.pieces {
            match p {
                Piece::Literal(l) => rest = rest.strip_prefix(l.as_str())?,
                Piece::Field(f, w) => {
                    let digits = rest.get(..*w)?;
                    if !digits.bytes().all(|b| b.is_ascii_digit()) {
                        return None;
                    }
                    let v: i16 = digits.parse().ok()?;
                    match f {
                        'Y' => y = v,
                        'm' => mo = v as i8,
                        'd' => d = v as i8,
                        'H' => h = v as i8,
                        'M' => mi = v as i8,
                        _ => s = v as i8,
                    }
                    rest = &rest[*w..];
                }
            }
        }
        if !rest.is_empty() {
            return None;
        }
        let dt = DateTime::new(y, mo, d, h, mi, s, 0).ok()?;
        dt.to_zoned(jiff::tz::TimeZone::UTC)
            .ok()
            .map(|z| z.timestamp())
    }

    /// The relative path a segment starting at `t` would have.
    pub fn format(&self, t: Timestamp) -> String {
        let dt = t.to_zoned(jiff::tz::TimeZone::UTC).datetime();
        let mut out = String::new();
        for p in &self.pieces {
            match p {
                Piece::Literal(l) => out.push_str(l),
                Piece::Field(f, _) => {
                    let s = match f {
                        'Y' => format!("{:04}", dt.year()),
                        'm' => format!("{:02}", dt.month()),
                        'd' => format!("{:02}", dt.day()),
                        'H' => format!("{:02}", dt.hour()),
                        'M' => format!("{:02}", dt.minute()),
                        _ => format!("{:02}", dt.second()),
                    };
                    out.push_str(&s);
                }
            }
        }
        out
    }

    /// The literal directory prefix before the first field: where listing starts.
    pub fn fixed_prefix(&self) -> String {
        match self.pieces.first() {
            Some(Piece::Literal(l)) => match l.rfind('/') {
                Some(i) => l[..i].to_string(),
                None => String::new(),
            },
            _ => String::new(),
        }
    }

    /// How many '/'-separated components a matching path has.
    pub fn depth(&self) -> usize {
        1 + self
            .pieces
            .iter()
            .map(|p| match p {
                Piece::Literal(l) => l.matches('/').count(),
                Piece::Field(..) => 0,
            })
            .sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_and_formats() {
        let p = Pattern::parse("{camera}/%Y/%m/%d/%H-%M-%S.mp4", "cam1").unwrap();
        let t: Timestamp = "2026-11-23T09:10:20Z".parse().unwrap();
        assert_eq!(p.format(t), "cam1/2026/11/23/09-10-20.mp4");
        assert_eq!(p.match_path("cam1/2026/11/23/09-10-20.mp4"), Some(t));
        assert_eq!(p.match_path("cam2/2026/11/23/09-10-20.mp4"), None);
        assert_eq!(p.match_path("cam1/2026/11/23/09-10-20.mp4.tmp"), None);
        assert_eq!(p.match_path("cam1/2026/13/23/09-10-20.mp4"), None);
        assert_eq!(p.fixed_prefix(), "cam1");
        assert_eq!(p.depth(), 5);
    }

    #[test]
    fn refuses_bad_patterns() {
        assert!(Pattern::parse("/abs/%Y%m%d%H%M.mp4", "c").is_err());
        assert!(Pattern::parse("../%Y%m%d%H%M.mp4", "c").is_err());
        assert!(Pattern::parse("%Y-%m-%d.mp4", "c").is_err());
        assert!(Pattern::parse("%Y%m%d%H%M%q", "c").is_err());
        assert!(Pattern::parse("{camera}/%Y%m%d%H%M.mp4", "a/b").is_err());
        assert!(Pattern::parse("{camera}/%Y%m%d%H%M.mp4", "a%Sb").is_err());
    }
}
