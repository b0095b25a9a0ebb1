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

/// Separable box blur of radius `r` inside the rectangle (edges clamped to the rectangle):
/// each output is the truncated mean of the samples at most `r` away on its row, then on its
/// column. Running sums make it cost the same for any radius.
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
    // horizontal: frame -> tmp, one running sum per channel
    for y in 0..h {
        let row = &frame[((y1 + y) * width + x1) * 3..((y1 + y) * width + x2) * 3];
        let out = &mut tmp[y * w * 3..(y + 1) * w * 3];
        for c in 0..3 {
            let at = |x: usize| row[x * 3 + c] as u32;
            let mut sum: u32 = (0..=r.min(w - 1)).map(at).sum();
            for x in 0..w {
                let n = (x + r).min(w - 1) - x.saturating_sub(r) + 1;
                out[x * 3 + c] = (sum / n as u32) as u8;
                if x + r + 1 < w {
                    sum += at(x + r + 1);
                }
                if x >= r {
                    sum -= at(x - r);
                }
            }
        }
    }
    // vertical: tmp -> frame, running sums of whole rows
    let line = w * 3;
    let mut sums = vec![0u32; line];
    for yy in 0..=r.min(h - 1) {
        for (s, &v) in sums.iter_mut().zip(&tmp[yy * line..(yy + 1) * line]) {
            *s += v as u32;
        }
    }
    for y in 0..h {
        let n = ((y + r).min(h - 1) - y.saturating_sub(r) + 1) as u32;
        let dst = &mut frame[((y1 + y) * width + x1) * 3..((y1 + y) * width + x2) * 3];
        for (d, &s) in dst.iter_mut().zip(&sums) {
            *d = (s / n) as u8;
        }
        if y + r + 1 < h {
            let add = &tmp[(y + r + 1) * line..(y + r + 2) * line];
            for (s, &v) in sums.iter_mut().zip(add) {
                *s += v as u32;
            }
        }
        if y >= r {
            let sub = &tmp[(y - r) * line..(y - r + 1) * line];
            for (s, &v) in sums.iter_mut().zip(sub) {
                *s -= v as u32;
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

    /// The running-sum blur gives exactly the mean of the clamped window, for any radius.
    #[test]
    fn the_box_blur_is_the_windowed_mean() {
        let (w, h) = (23, 17);
        let f: Vec<u8> = (0..w * h * 3).map(|i| ((i * 97) % 256) as u8).collect();
        let rect = (3, 2, 20, 15);
        for r in [1, 2, 5, 30] {
            let mut got = f.clone();
            box_blur(&mut got, w, rect, r);
            let (rw, rh) = (rect.2 - rect.0, rect.3 - rect.1);
            let px = |img: &[u8], x: usize, y: usize, c: usize| {
                img[((rect.1 + y) * w + rect.0 + x) * 3 + c] as u32
            };
            let mut tmp = vec![0u32; rw * rh * 3];
            for y in 0..rh {
                for x in 0..rw {
                    for c in 0..3 {
                        let (a, b) = (x.saturating_sub(r), (x + r).min(rw - 1));
                        let s: u32 = (a..=b).map(|xx| px(&f, xx, y, c)).sum();
                        tmp[(y * rw + x) * 3 + c] = s / (b - a + 1) as u32;
                    }
                }
            }
            for y in 0..rh {
                for x in 0..rw {
                    for c in 0..3 {
                        let (a, b) = (y.saturating_sub(r), (y + r).min(rh - 1));
                        let s: u32 = (a..=b).map(|yy| tmp[(yy * rw + x) * 3 + c]).sum();
                        assert_eq!(
                            px(&got, x, y, c),
                            s / (b - a + 1) as u32,
                            "r {r} at {x},{y}"
                        );
                    }
                }
            }
        }
    }
}
