//! Irreversible masking of a box in a frame: pixelation (each cell replaced by its mean, which
//! throws the detail away) then a box blur over the pixelated area (hides the cell edges, so
//! nothing of the grid lines up with the face either).
//!
//! Frames are planar YUV 4:2:0 (what the decoder gives and the encoder takes, so neither
//! converts colours: decision 0142). The box is grown to even coordinates and the cell size
//! is even, so the chroma planes are masked over exactly the same pixels, on the same grid.

use super::detector::FaceBox;

/// A rectangle of a plane in samples: `(x1, y1, x2, y2)`, the end exclusive.
type Rect = (usize, usize, usize, usize);

/// Masks `face` (already padded) in place in a YUV 4:2:0 frame (`width` and `height` even:
/// the Y plane, then U and V at half size). `cells` is the number of pixelation cells across
/// the box's larger side.
pub(super) fn mask_yuv420(
    frame: &mut [u8],
    width: usize,
    height: usize,
    face: &FaceBox,
    cells: usize,
) {
    let down = |v: f32, max: usize| (v.floor().max(0.0) as usize).min(max) & !1;
    let up = |v: f32, max: usize| ((v.ceil().max(0.0) as usize).min(max) + 1) & !1;
    let (x1, y1) = (down(face.x1, width), down(face.y1, height));
    let (x2, y2) = (up(face.x2, width), up(face.y2, height));
    if x2 <= x1 || y2 <= y1 || frame.len() < width * height * 3 / 2 {
        return;
    }
    let cell = (((x2 - x1).max(y2 - y1) / cells.max(1)).max(4) + 1) & !1;
    let (luma, chroma) = frame.split_at_mut(width * height);
    let (u, v) = chroma.split_at_mut(width / 2 * (height / 2));
    mask_plane(luma, width, (x1, y1, x2, y2), cell);
    let half = (x1 / 2, y1 / 2, x2 / 2, y2 / 2);
    mask_plane(u, width / 2, half, cell / 2);
    mask_plane(v, width / 2, half, cell / 2);
}

/// Pixelates `rect` of a plane `width` samples wide with square cells of `cell` samples
/// (starting at the rectangle's corner), then blurs it with a radius of half a cell.
fn mask_plane(plane: &mut [u8], width: usize, rect: Rect, cell: usize) {
    let (x1, y1, x2, y2) = rect;
    let cell = cell.max(1);
    let mut y = y1;
    while y < y2 {
        let ye = (y + cell).min(y2);
        let mut x = x1;
        while x < x2 {
            let xe = (x + cell).min(x2);
            let sum: u64 = (y..ye)
                .flat_map(|yy| &plane[yy * width + x..yy * width + xe])
                .map(|&v| v as u64)
                .sum();
            let mean = (sum / ((ye - y) * (xe - x)) as u64) as u8;
            for yy in y..ye {
                plane[yy * width + x..yy * width + xe].fill(mean);
            }
            x = xe;
        }
        y = ye;
    }
    box_blur(plane, width, rect, cell / 2);
}

/// Separable box blur of radius `r` inside the rectangle of a plane (edges clamped to the
/// rectangle): each output is the truncated mean of the samples at most `r` away on its row,
/// then on its column. Running sums make it cost the same for any radius.
fn box_blur(plane: &mut [u8], width: usize, (x1, y1, x2, y2): Rect, r: usize) {
    if r == 0 {
        return;
    }
    let (w, h) = (x2 - x1, y2 - y1);
    let mut tmp = vec![0u8; w * h];
    // horizontal: plane -> tmp, a running sum along each row
    for y in 0..h {
        let row = &plane[(y1 + y) * width + x1..(y1 + y) * width + x2];
        let out = &mut tmp[y * w..(y + 1) * w];
        let at = |x: usize| row[x] as u32;
        let mut sum: u32 = (0..=r.min(w - 1)).map(at).sum();
        for (x, o) in out.iter_mut().enumerate() {
            let n = (x + r).min(w - 1) - x.saturating_sub(r) + 1;
            *o = (sum / n as u32) as u8;
            if x + r + 1 < w {
                sum += at(x + r + 1);
            }
            if x >= r {
                sum -= at(x - r);
            }
        }
    }
    // vertical: tmp -> plane, running sums of whole rows
    let mut sums = vec![0u32; w];
    for yy in 0..=r.min(h - 1) {
        for (s, &v) in sums.iter_mut().zip(&tmp[yy * w..(yy + 1) * w]) {
            *s += v as u32;
        }
    }
    for y in 0..h {
        let n = ((y + r).min(h - 1) - y.saturating_sub(r) + 1) as u32;
        let dst = &mut plane[(y1 + y) * width + x1..(y1 + y) * width + x2];
        for (d, &s) in dst.iter_mut().zip(&sums) {
            *d = (s / n) as u8;
        }
        if y + r + 1 < h {
            for (s, &v) in sums.iter_mut().zip(&tmp[(y + r + 1) * w..(y + r + 2) * w]) {
                *s += v as u32;
            }
        }
        if y >= r {
            for (s, &v) in sums.iter_mut().zip(&tmp[(y - r) * w..(y - r + 1) * w]) {
                *s -= v as u32;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_masked_box_loses_its_detail_in_every_plane_and_the_rest_is_untouched() {
        let (w, h) = (64, 48);
        let len = w * h * 3 / 2;
        let mut f: Vec<u8> = (0..len).map(|i| ((i * 37) % 251) as u8).collect();
        let orig = f.clone();
        // odd corners: grown to 16..48 x 10..38 in luma, 8..24 x 5..19 in chroma
        let face = FaceBox {
            x1: 17.0,
            y1: 10.5,
            x2: 47.2,
            y2: 37.0,
            score: 1.0,
        };
        mask_yuv420(&mut f, w, h, &face, 4);
        let planes = [
            (0, w, h, (16, 10, 48, 38)),
            (w * h, w / 2, h / 2, (8, 5, 24, 19)),
        ];
        let planes = [
            planes[0],
            planes[1],
            (w * h + w * h / 4, w / 2, h / 2, planes[1].3),
        ];
        for (start, pw, ph, (x1, y1, x2, y2)) in planes {
            let mut inside = Vec::new();
            for y in 0..ph {
                for x in 0..pw {
                    let p = start + y * pw + x;
                    if (x1..x2).contains(&x) && (y1..y2).contains(&y) {
                        inside.push(f[p]);
                    } else {
                        assert_eq!(f[p], orig[p], "outside the box at {x},{y} of plane {start}");
                    }
                }
            }
            // high-frequency noise in, nearly flat out
            let (mn, mx) = (inside.iter().min().unwrap(), inside.iter().max().unwrap());
            assert!(mx - mn < 40, "spread {mn}..{mx} in plane {start}");
        }
    }

    /// The running-sum blur gives exactly the mean of the clamped window, for any radius.
    #[test]
    fn the_box_blur_is_the_windowed_mean() {
        let (w, h) = (23, 17);
        let f: Vec<u8> = (0..w * h).map(|i| ((i * 97) % 256) as u8).collect();
        let rect = (3, 2, 20, 15);
        for r in [1, 2, 5, 30] {
            let mut got = f.clone();
            box_blur(&mut got, w, rect, r);
            let (rw, rh) = (rect.2 - rect.0, rect.3 - rect.1);
            let px = |img: &[u8], x: usize, y: usize| img[(rect.1 + y) * w + rect.0 + x] as u32;
            let mut tmp = vec![0u32; rw * rh];
            for y in 0..rh {
                for x in 0..rw {
                    let (a, b) = (x.saturating_sub(r), (x + r).min(rw - 1));
                    let s: u32 = (a..=b).map(|xx| px(&f, xx, y)).sum();
                    tmp[y * rw + x] = s / (b - a + 1) as u32;
                }
            }
            for y in 0..rh {
                for x in 0..rw {
                    let (a, b) = (y.saturating_sub(r), (y + r).min(rh - 1));
                    let s: u32 = (a..=b).map(|yy| tmp[yy * rw + x]).sum();
                    assert_eq!(px(&got, x, y), s / (b - a + 1) as u32, "r {r} at {x},{y}");
                }
            }
        }
    }
}
