//! The QR code of a receipt: the manifest's SHA-256 as text (64 hex digits), error correction
//! level M, as a matrix of dark modules the layout draws as vector rectangles (it prints sharp
//! at any size, and needs no image codec).

use qrcode::{Color, EcLevel, QrCode};

/// A QR code's modules: `width × width`, row-major, `true` = dark. `None` when the text is
/// too long for a QR code (a SHA-256 never is).
pub fn modules(text: &str) -> Option<(usize, Vec<bool>)> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M).ok()?;
    let dark = code
        .to_colors()
        .into_iter()
        .map(|c| c == Color::Dark)
        .collect();
    Some((code.width(), dark))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_sha256_fits_a_small_code() {
        let (w, m) = super::modules(&"ab".repeat(32)).unwrap();
        assert_eq!(m.len(), w * w);
        assert!(w <= 41, "version 6 or less, got width {w}");
        // The three finder patterns: the top-left module is dark.
        assert!(m[0] && m[w - 1] && m[(w - 1) * w]);
    }
}
