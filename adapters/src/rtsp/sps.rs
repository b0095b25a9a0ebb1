//! The one sequence-parameter-set parser (H.264 §7.3.2.1.1 with its VUI, H.265 §7.3.2.2 up to
//! the sub-layer ordering info): picture size for [`crate::StreamInfo`], what the MP4 sample
//! entries need (H.265 profile/tier/level, chroma format, bit depths), and the reorder depth
//! (`max_num_reorder_frames` / `sps_max_num_reorder_pics`) from which the MP4 writer derives
//! decode times for RTP sources. Parameter sets come from the camera: every read is bounded,
//! every sum and product checked, and anything malformed yields `None`, never a panic
//! (fuzzed by `fuzz/fuzz_targets/sps.rs`).

/// Longest SPS read; a real one is tens of bytes, a few hundred with scaling lists.
const MAX_SPS: usize = 4096;
/// A decoded picture buffer never holds more than this many frames (both codecs).
const MAX_DPB_FRAMES: u32 = 16;

/// Removes emulation prevention bytes (`00 00 03` → `00 00`) from at most [`MAX_SPS`] bytes of
/// a NAL unit payload.
pub fn unescape(nal: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(nal.len().min(MAX_SPS));
    let mut zeros = 0;
    for &b in nal.iter().take(MAX_SPS) {
        if zeros >= 2 && b == 3 {
            zeros = 0;
            continue;
        }
        zeros = if b == 0 { zeros + 1 } else { 0 };
        out.push(b);
    }
    out
}

/// An MSB-first bit reader over an unescaped RBSP.
pub struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Bits<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Bits { data, pos: 0 }
    }

    pub fn bit(&mut self) -> Option<u32> {
        let byte = *self.data.get(self.pos / 8)?;
        let v = (byte >> (7 - self.pos % 8)) & 1;
        self.pos += 1;
        Some(u32::from(v))
    }

    /// Up to 32 bits.
    pub fn bits(&mut self, n: u32) -> Option<u32> {
        if n > 32 {
            return None;
        }
        let mut v = 0u64;
        for _ in 0..n {
            v = (v << 1) | u64::from(self.bit()?);
        }
        u32::try_from(v).ok()
    }

    pub fn skip(&mut self, n: usize) -> Option<()> {
        self.pos = self.pos.checked_add(n)?;
        (self.pos <= self.data.len().saturating_mul(8)).then_some(())
    }

    /// Unsigned Exp-Golomb; values beyond `u32::MAX - 1` (32 leading zeros) are refused.
    pub fn ue(&mut self) -> Option<u32> {
        let mut zeros = 0;
        while self.bit()? == 0 {
            zeros += 1;
            if zeros > 31 {
                return None;
            }
        }
        let rest = u64::from(self.bits(zeros)?);
        u32::try_from((1u64 << zeros) - 1 + rest).ok()
    }

    /// Signed Exp-Golomb.
    pub fn se(&mut self) -> Option<i32> {
        let k = i64::from(self.ue()?);
        let v = (k + 1) / 2;
        i32::try_from(if k % 2 == 1 { v } else { -v }).ok()
    }
}

/// What scelle needs from an SPS.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SpsFacts {
    pub width: u32,
    pub height: u32,
    /// H.265 only: the 12 bytes of general profile/tier/level, in `hvcC` order.
    pub h265_ptl: Option<[u8; 12]>,
    pub chroma_format_idc: u32,
    pub bit_depth_luma_minus8: u32,
    pub bit_depth_chroma_minus8: u32,
    /// H.265 only: `sps_max_sub_layers_minus1` and `sps_temporal_id_nesting_flag`.
    pub max_sub_layers_minus1: u32,
    pub temporal_id_nesting: bool,
    /// Most frames that may precede a frame in decode order and follow it in presentation
    /// order, as the stream states it (`max_num_reorder_frames` in an H.264 VUI's bitstream
    /// restriction, `sps_max_num_reorder_pics` of H.265's highest sub-layer), at most 16; 0 when
    /// the SPS does not say (the MP4 writer then goes by the reordering each fragment shows).
    pub reorder_depth: u32,
    /// H.264 only: the VUI's `num_units_in_tick` and `time_scale`, when stated.
    pub timing: Option<(u32, u32)>,
}

impl SpsFacts {
    /// Pictures per second from the VUI timing (`time_scale / (2 × num_units_in_tick)` for
    /// H.264), when stated and plausible (1 to 240).
    pub fn frame_rate(&self) -> Option<f64> {
        let (units, scale) = self.timing?;
        let fps = f64::from(scale) / (2.0 * f64::from(units));
        (units > 0 && (1.0..=240.0).contains(&fps)).then_some(fps)
    }
}

/// Parses an H.264 SPS NAL unit (with its one-byte header).
pub fn h264(nal: &[u8]) -> Option<SpsFacts> {
    let rbsp = unescape(nal.get(1..)?);
    let mut r = Bits::new(&rbsp);
    let profile_idc = r.bits(8)?;
    r.skip(16)?; // constraint flags, level_idc
    r.ue()?; // seq_parameter_set_id
    let mut chroma_format_idc = 1;
    let mut separate_planes = 0;
    let (mut depth_l, mut depth_c) = (0, 0);
    if matches!(
        profile_idc,
        100 | 110 | 122 | 244 | 44 | 83 | 86 | 118 | 128 | 138 | 139 | 134 | 135
    ) {
        chroma_format_idc = r.ue()?;
        if chroma_format_idc > 3 {
            return None;
        }
        if chroma_format_idc == 3 {
            separate_planes = r.bit()?;
        }
        depth_l = r.ue()?;
        depth_c = r.ue()?;
        r.bit()?; // qpprime_y_zero_transform_bypass_flag
        if r.bit()? == 1 {
            let lists = if chroma_format_idc == 3 { 12 } else { 8 };
            for i in 0..lists {
                if r.bit()? == 1 {
                    skip_scaling_list(&mut r, if i < 6 { 16 } else { 64 })?;
                }
            }
        }
    }
    r.ue()?; // log2_max_frame_num_minus4
    match r.ue()? {
        0 => {
            r.ue()?;
        }
        1 => {
            r.bit()?;
            r.se()?;
            r.se()?;
            let n = r.ue()?;
            if n > 255 {
                return None;
            }
            for _ in 0..n {
                r.se()?;
            }
        }
        _ => {}
    }
    r.ue()?; // max_num_ref_frames
    r.bit()?; // gaps_in_frame_num_value_allowed_flag
    let w_mbs = r.ue()?.checked_add(1)?;
    let h_units = r.ue()?.checked_add(1)?;
    let frame_mbs_only = r.bit()?;
    if frame_mbs_only == 0 {
        r.bit()?; // mb_adaptive_frame_field_flag
    }
    r.bit()?; // direct_8x8_inference_flag
    let (mut cl, mut cr, mut ct, mut cb) = (0u32, 0u32, 0u32, 0u32);
    if r.bit()? == 1 {
        cl = r.ue()?;
        cr = r.ue()?;
        ct = r.ue()?;
        cb = r.ue()?;
    }
    let array_type = if separate_planes == 1 {
        0
    } else {
        chroma_format_idc
    };
    let (cx, cy) = match array_type {
        1 => (2, 2 * (2 - frame_mbs_only)),
        2 => (2, 2 - frame_mbs_only),
        _ => (1, 2 - frame_mbs_only),
    };
    let height_mbs = h_units.checked_mul(2 - frame_mbs_only)?;
    let width = w_mbs
        .checked_mul(16)?
        .checked_sub(cl.checked_add(cr)?.checked_mul(cx)?)?;
    let height = height_mbs
        .checked_mul(16)?
        .checked_sub(ct.checked_add(cb)?.checked_mul(cy)?)?;
    if width == 0 || height == 0 {
        return None;
    }
    // VUI: only the bitstream restriction matters; an unreadable VUI states nothing.
    let mut timing = None;
    let reorder = if r.bit() == Some(1) {
        h264_vui_reorder(&mut r, &mut timing)
    } else {
        None
    };
    Some(SpsFacts {
        width,
        height,
        chroma_format_idc,
        bit_depth_luma_minus8: depth_l,
        bit_depth_chroma_minus8: depth_c,
        reorder_depth: reorder.unwrap_or(0).min(MAX_DPB_FRAMES),
        timing,
        ..SpsFacts::default()
    })
}

/// `scaling_list()`: deltas are -128..=127 in a valid SPS (anything else is refused rather than
/// summed).
fn skip_scaling_list(r: &mut Bits<'_>, size: usize) -> Option<()> {
    let (mut last, mut next) = (8i32, 8i32);
    for _ in 0..size {
        if next != 0 {
            let delta = r.se()?;
            if !(-128..=127).contains(&delta) {
                return None;
            }
            next = (last + delta + 256) % 256;
        }
        if next != 0 {
            last = next;
        }
    }
    Some(())
}

/// H.264 VUI (Annex E.1.1): `max_num_reorder_frames` when present; the timing info into
/// `timing` on the way.
fn h264_vui_reorder(r: &mut Bits<'_>, timing: &mut Option<(u32, u32)>) -> Option<u32> {
    if r.bit()? == 1 {
        // aspect_ratio_info_present_flag
        if r.bits(8)? == 255 {
            r.skip(32)?; // sar_width, sar_height
        }
    }
    if r.bit()? == 1 {
        r.bit()?; // overscan_appropriate_flag
    }
    if r.bit()? == 1 {
        r.skip(4)?; // video_format, video_full_range_flag
        if r.bit()? == 1 {
            r.skip(24)?; // colour primaries, transfer, matrix
        }
    }
    if r.bit()? == 1 {
        r.ue()?;
        r.ue()?; // chroma sample locations
    }
    if r.bit()? == 1 {
        let units = r.bits(32)?;
        let scale = r.bits(32)?;
        *timing = Some((units, scale));
        r.skip(1)?; // fixed_frame_rate_flag
    }
    let nal_hrd = r.bit()? == 1;
    if nal_hrd {
        skip_hrd(r)?;
    }
    let vcl_hrd = r.bit()? == 1;
    if vcl_hrd {
        skip_hrd(r)?;
    }
    if nal_hrd || vcl_hrd {
        r.bit()?; // low_delay_hrd_flag
    }
    r.bit()?; // pic_struct_present_flag
    if r.bit()? == 0 {
        return None;
    }
    r.bit()?; // motion_vectors_over_pic_boundaries_flag
    for _ in 0..4 {
        r.ue()?; // max bytes/bits denominators, max mv lengths
    }
    let reorder = r.ue()?;
    r.ue()?; // max_dec_frame_buffering
    Some(reorder)
}

/// `hrd_parameters()` (E.1.2).
fn skip_hrd(r: &mut Bits<'_>) -> Option<()> {
    let cpb_cnt = r.ue()?.checked_add(1)?;
    if cpb_cnt > 32 {
        return None;
    }
    r.skip(8)?; // bit_rate_scale, cpb_size_scale
    for _ in 0..cpb_cnt {
        r.ue()?;
        r.ue()?;
        r.bit()?;
    }
    r.skip(20) // four delay/offset lengths
}

/// Parses an H.265 SPS NAL unit (with its two-byte header).
pub fn h265(nal: &[u8]) -> Option<SpsFacts> {
    let rbsp = unescape(nal.get(2..)?);
    let mut r = Bits::new(&rbsp);
    r.bits(4)?; // sps_video_parameter_set_id
    let max_sub_layers_minus1 = r.bits(3)?;
    let temporal_id_nesting = r.bit()? == 1;
    let mut ptl = [0u8; 12];
    ptl.copy_from_slice(rbsp.get(1..13)?);
    r.skip(96)?; // general profile space/tier/idc, flags, level
    let subs = max_sub_layers_minus1 as usize; // 0..=7
    let mut sub_profile = [false; 8];
    let mut sub_level = [false; 8];
    for i in 0..subs {
        sub_profile[i] = r.bit()? == 1;
        sub_level[i] = r.bit()? == 1;
    }
    if subs > 0 {
        r.skip(2 * (8 - subs))?;
    }
    for i in 0..subs {
        if sub_profile[i] {
            r.skip(88)?;
        }
        if sub_level[i] {
            r.skip(8)?;
        }
    }
    r.ue()?; // sps_seq_parameter_set_id
    let chroma_format_idc = r.ue()?;
    if chroma_format_idc > 3 {
        return None;
    }
    if chroma_format_idc == 3 {
        r.bit()?; // separate_colour_plane_flag
    }
    let w = r.ue()?;
    let h = r.ue()?;
    let (mut cl, mut cr, mut ct, mut cb) = (0u32, 0u32, 0u32, 0u32);
    if r.bit()? == 1 {
        cl = r.ue()?;
        cr = r.ue()?;
        ct = r.ue()?;
        cb = r.ue()?;
    }
    let depth_l = r.ue()?;
    let depth_c = r.ue()?;
    let (sub_w, sub_h) = match chroma_format_idc {
        1 => (2, 2),
        2 => (2, 1),
        _ => (1, 1),
    };
    let width = w.checked_sub(cl.checked_add(cr)?.checked_mul(sub_w)?)?;
    let height = h.checked_sub(ct.checked_add(cb)?.checked_mul(sub_h)?)?;
    if width == 0 || height == 0 {
        return None;
    }
    // Sub-layer ordering info: the highest sub-layer's value is the stream's.
    let mut reorder = None;
    if r.ue().is_some() {
        // log2_max_pic_order_cnt_lsb_minus4
        if let Some(all) = r.bit() {
            let from = if all == 1 { 0 } else { subs };
            for _ in from..=subs {
                let (Some(_), Some(n), Some(_)) = (r.ue(), r.ue(), r.ue()) else {
                    reorder = None;
                    break;
                };
                reorder = Some(n);
            }
        }
    }
    Some(SpsFacts {
        width,
        height,
        h265_ptl: Some(ptl),
        chroma_format_idc,
        bit_depth_luma_minus8: depth_l,
        bit_depth_chroma_minus8: depth_c,
        max_sub_layers_minus1,
        temporal_id_nesting,
        reorder_depth: reorder.unwrap_or(0).min(MAX_DPB_FRAMES),
        // Its VUI comes after much else: not read.
        timing: None,
    })
}

/// Width and height of an H.264 SPS (NAL header included).
pub fn h264_size(sps: &[u8]) -> Option<(u32, u32)> {
    h264(sps).map(|f| (f.width, f.height))
}

/// Width and height of an H.265 SPS (2-byte NAL header included).
pub fn h265_size(sps: &[u8]) -> Option<(u32, u32)> {
    h265(sps).map(|f| (f.width, f.height))
}

/// The SPS among a stream's parameter sets, found by NAL type.
pub fn find(codec: crate::Codec, sets: &[bytes::Bytes]) -> Option<&[u8]> {
    let is_sps = |s: &&bytes::Bytes| match codec {
        crate::Codec::H264 => s.first().is_some_and(|h| h & 0x1f == 7),
        crate::Codec::H265 => s.first().is_some_and(|h| (h >> 1) & 0x3f == 33),
        crate::Codec::Aac | crate::Codec::Pcmu | crate::Codec::Pcma => false,
    };
    sets.iter().find(is_sps).map(|s| &s[..])
}

/// What a stream's SPS says, found by NAL type among its parameter sets.
pub fn facts(codec: crate::Codec, sets: &[bytes::Bytes]) -> Option<SpsFacts> {
    let sps = find(codec, sets)?;
    match codec {
        crate::Codec::H264 => h264(sps),
        crate::Codec::H265 => h265(sps),
        crate::Codec::Aac | crate::Codec::Pcmu | crate::Codec::Pcma => None,
    }
}

/// Picture size from a stream's parameter sets, found by NAL type.
pub fn size(codec: crate::Codec, sets: &[bytes::Bytes]) -> Option<(u32, u32)> {
    facts(codec, sets).map(|f| (f.width, f.height))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unescapes_emulation_prevention() {
        assert_eq!(unescape(&[0, 0, 3, 1, 0, 0, 3]), vec![0, 0, 1, 0, 0]);
    }

    #[test]
    fn reads_exp_golomb() {
        // 1 | 010 | 011 | 00100 → 0, 1, 2, 3
        let data = [0b1010_0110, 0b0100_0000];
        let mut r = Bits::new(&data);
        assert_eq!(
            (r.ue(), r.ue(), r.ue(), r.ue()),
            (Some(0), Some(1), Some(2), Some(3))
        );
        // 32 leading zeros is beyond u32.
        let mut r = Bits::new(&[0, 0, 0, 0, 0x80, 0, 0, 0, 0]);
        assert_eq!(r.ue(), None);
        // The largest se(): 31 zeros, all ones after.
        let mut r = Bits::new(&[0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff]);
        assert_eq!(r.se(), Some(-(i32::MAX)));
    }

    #[test]
    fn garbage_sps_is_none_not_panic() {
        assert_eq!(h264(&[0x67]), None);
        assert_eq!(h265(&[0x42, 0x01, 0xff]), None);
        let _ = h264(&[0x67, 0x64, 0, 0x1f, 0xff, 0xff, 0xff, 0xff]);
    }

    /// x264, main profile, 320x240, 2 B-frames: VUI with timing and bitstream restriction.
    #[test]
    fn reads_size_and_reorder_depth_of_a_real_sps() {
        let sps = [
            0x67, 0x4d, 0x40, 0x0d, 0xec, 0xa0, 0xa0, 0xfd, 0x80, 0x88, 0x00, 0x00, 0x03, 0x00,
            0x08, 0x00, 0x00, 0x03, 0x01, 0x90, 0x78, 0xa1, 0x4c, 0xb0,
        ];
        let f = h264(&sps).unwrap();
        assert_eq!((f.width, f.height), (320, 240));
        assert_eq!(f.reorder_depth, 2);
        assert_eq!(f.frame_rate(), Some(25.0));
        // Cut inside its VUI: the size stands, the depth is not stated.
        let f = h264(&sps[..12]).unwrap();
        assert_eq!((f.width, f.height, f.reorder_depth), (320, 240, 0));
    }

    /// x265, 320x240, 3 B-frames.
    #[test]
    fn reads_the_reorder_depth_of_an_h265_sps() {
        let sps = [
            0x42, 0x01, 0x01, 0x01, 0x60, 0x00, 0x00, 0x03, 0x00, 0x90, 0x00, 0x00, 0x03, 0x00,
            0x00, 0x03, 0x00, 0x3c, 0xa0, 0x0a, 0x08, 0x0f, 0x16, 0x59, 0x59, 0x64, 0x93, 0x2b,
            0xc0, 0x5a, 0x02, 0x00, 0x00, 0x03, 0x00, 0x02, 0x00, 0x00, 0x03, 0x00, 0x32, 0x10,
        ];
        let f = h265(&sps).unwrap();
        assert_eq!((f.width, f.height), (320, 240));
        assert_eq!(f.reorder_depth, 2);
        assert!(f.h265_ptl.is_some());
    }
}
