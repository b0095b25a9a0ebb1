//! Irreversible masking of a box in an RGB24 frame: pixelation (each cell replaced by its mean,
//! which throws the detail away) then a box blur over the pixelated area (hides the cell
//! edges, so nothing of the grid lines up with the face either).

use super::detector::FaceBox;

/// Masks `face` (already padded) in place. `cells` is the number of pixelation cells across
/// the box's larger side.
pub(super) fn mask(frame: &mut [u8], width: usize, height: usize, face: &FaceBox, cells: usize) {
    let x1 = (face.x1.floor().max(0.0) as usize).min(width);
    let y1 = (face.y1.floor().max(0.0) as usize).min(height);
    let x2 = (face.x2.ceil().max(0.0) as usize).min(width);
    let y2 = (face.y2.ceil().max(0.0) as usize).min(height);
    if x2 <= x1 || y2 <= y1 {
        return;
    }
    let cell = ((x2 - x1).max(y2 - y1) / cells.max(1)).max(4);
    let mut y = y1;
    while y < y2 {
        let ye = (y + cell).min(y2);
        let mut x = x1;
        while x < x2 {
            let xe = (x + cell).min(x2);
            let mut sum = [0u64; 3];
            for yy in y..ye {
                for xx in x..xe {
                    let p = (yy * width + xx) * 3;
                    for (s, v) in sum.iter_mut().zip(&frame[p..p + 3]) {
                        *s += *v as u64;
                    }
                }
            }
            let n = ((ye - y) * (xe - x)) as u64;
            let mean = sum.map(|s| (s / n) as u8);
            for yy in y..ye {
                for xx in x..xe {
                    let p = (yy * width + xx) * 3;
                    frame[p..p + 3].copy_from_slice(&mean);
                }
            }
            x = xe;
        }
        y = ye;
    }
    box_blur(frame, width, (x1, y1, x2, y2), cell / 2);
}

/// Separable box blur of radius `r` inside the rectangle (edges clamped to the rectangle).
fn box_blur(
    frame: &mut [u8],
    width: usize,
    (x1, y1, x2, y2): (usize, usize, usize, usize),
    r: usize,
) {
    if r == 0 {
        return;
    }
    let (w, h) = (x2 - x1, y2 - y1);
    let mut tmp = vec![0u8; w * h * 3];
    // horizontal: frame -> tmp
    for y in 0..h {
        for x in 0..w {
            let (a, b) = (x.saturating_sub(r), (x + r).min(w - 1));
            for c in 0..3 {
                let mut s = 0u32;
                for xx in a..=b {
                    s += frame[((y1 + y) * width + x1 + xx) * 3 + c] as u32;
                }
                tmp[(y * w + x) * 3 + c] = (s / (b - a + 1) as u32) as u8;
            }
        }
    }
    // vertical: tmp -> frame
    for y in 0..h {
        let (a, b) = (y.saturating_sub(r), (y + r).min(h - 1));
        for x in 0..w {
            for c in 0..3 {
                let mut s = 0u32;
                for yy in a..=b {
                    s += tmp[(yy * w + x) * 3 + c] as u32;
                }
                frame[((y1 + y) * width + x1 + x) * 3 + c] = (s / (b - a + 1) as u32) as u8;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_masked_box_loses_its_detail_and_the_rest_is_untouched() {
        let (w, h) = (64, 64);
        let mut f: Vec<u8> = (0..w * h * 3).map(|i| ((i * 37) % 251) as u8).collect();
        let orig = f.clone();
        let face = FaceBox {
            x1: 16.0,
            y1: 16.0,
            x2: 48.0,
            y2: 48.0,
            score: 1.0,
        };
        mask(&mut f, w, h, &face, 4);
        for y in 0..h {
            for x in 0..w {
                let p = (y * w + x) * 3;
                let inside = (16..48).contains(&x) && (16..48).contains(&y);
                if !inside {
                    assert_eq!(f[p..p + 3], orig[p..p + 3]);
                }
            }
        }
        // high-frequency noise in, nearly flat out
        let inside: Vec<u8> = (16..48)
            .flat_map(|y| (16..48).map(move |x| (y, x)))
            .map(|(y, x)| f[(y * w + x) * 3])
            .collect();
        let (mn, mx) = (inside.iter().min().unwrap(), inside.iter().max().unwrap());
        assert!(mx - mn < 40, "spread {mn}..{mx}");
    }
}
