//! Just enough H.264/H.265 bitstream reading to fill the sample entries: removing emulation
//! prevention bytes, an Exp-Golomb bit reader, and the SPS fields the `avc1`/`hvc1` boxes need
//! (picture size, H.265 profile/tier/level and chroma format). Parameter sets come from the
//! camera, so every read is bounds-checked and a malformed SPS yields `None`, never a panic.

/// Removes emulation prevention bytes (`00 00 03` → `00 00`) from a NAL unit payload.
pub fn unescape(nal: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(nal.len());
    let mut zeros = 0;
    for &b in nal {
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
        let v = (byte >> (7 - (self.pos % 8))) & 1;
        self.pos += 1;
        Some(u32::from(v))
    }
    pub fn bits(&mut self, n: u32) -> Option<u32> {
        let mut v = 0u32;
        for _ in 0..n {
            v = (v << 1) | self.bit()?;
        }
        Some(v)
    }
    pub fn skip(&mut self, n: usize) -> Option<()> {
        self.pos = self.pos.checked_add(n)?;
        (self.pos <= self.data.len() * 8).then_some(())
    }
    /// Unsigned Exp-Golomb, limited to 32 leading zeros.
    pub fn ue(&mut self) -> Option<u32> {
        let mut zeros = 0;
        while self.bit()? == 0 {
            zeros += 1;
            if zeros > 31 {
                return None;
            }
        }
        let rest = self.bits(zeros)?;
        Some(((1u64 << zeros) - 1 + u64::from(rest)).min(u64::from(u32::MAX)) as u32)
    }
    pub fn se(&mut self) -> Option<i32> {
        let k = self.ue()?;
        let v = k.div_ceil(2) as i32;
        Some(if k % 2 == 1 { v } else { -v })
    }
}

/// What the sample entry needs from an SPS.
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
}

/// Parses an H.264 SPS NAL unit (with its one-byte header).
pub fn h264_sps(nal: &[u8]) -> Option<SpsFacts> {
    let rbsp = unescape(nal.get(1..)?);
    let mut r = Bits::new(&rbsp);
    let profile_idc = r.bits(8)?;
    r.skip(16)?; // constraint flags, level
    r.ue()?; // seq_parameter_set_id
    let mut chroma_format_idc = 1;
    let (mut depth_l, mut depth_c) = (0, 0);
    if matches!(
        profile_idc,
        100 | 110 | 122 | 244 | 44 | 83 | 86 | 118 | 128 | 138 | 139 | 134 | 135
    ) {
        chroma_format_idc = r.ue()?;
        if chroma_format_idc == 3 {
            r.bit()?;
        }
        depth_l = r.ue()?;
        depth_c = r.ue()?;
        r.bit()?; // qpprime_y_zero_transform_bypass_flag
        if r.bit()? == 1 {
            let lists = if chroma_format_idc == 3 { 12 } else { 8 };
            for i in 0..lists {
                if r.bit()? == 1 {
                    let size = if i < 6 { 16 } else { 64 };
                    let (mut last, mut next) = (8i32, 8i32);
                    for _ in 0..size {
                        if next != 0 {
                            next = (last + r.se()? + 256) % 256;
                        }
                        if next != 0 {
                            last = next;
                        }
                    }
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
        r.bit()?;
    }
    r.bit()?; // direct_8x8_inference_flag
    let (mut cl, mut cr, mut ct, mut cb) = (0, 0, 0, 0);
    if r.bit()? == 1 {
        cl = r.ue()?;
        cr = r.ue()?;
        ct = r.ue()?;
        cb = r.ue()?;
    }
    let (sub_w, sub_h) = match chroma_format_idc {
        1 => (2, 2),
        2 => (2, 1),
        _ => (1, 1),
    };
    let crop_x = if chroma_format_idc == 0 { 1 } else { sub_w };
    let crop_y = (if chroma_format_idc == 0 { 1 } else { sub_h }) * (2 - frame_mbs_only);
    let width = w_mbs
        .checked_mul(16)?
        .checked_sub(crop_x * (cl.checked_add(cr)?))?;
    let height = h_units
        .checked_mul(16 * (2 - frame_mbs_only))?
        .checked_sub(crop_y * (ct.checked_add(cb)?))?;
    Some(SpsFacts {
        width,
        height,
        chroma_format_idc,
        bit_depth_luma_minus8: depth_l,
        bit_depth_chroma_minus8: depth_c,
        ..SpsFacts::default()
    })
}

/// Parses an H.265 SPS NAL unit (with its two-byte header).
pub fn h265_sps(nal: &[u8]) -> Option<SpsFacts> {
    let rbsp = unescape(nal.get(2..)?);
    let mut r = Bits::new(&rbsp);
    r.bits(4)?; // sps_video_parameter_set_id
    let max_sub_layers_minus1 = r.bits(3)?;
    let temporal_id_nesting = r.bit()? == 1;
    let mut ptl = [0u8; 12];
    ptl.copy_from_slice(rbsp.get(1..13)?);
    r.skip(96)?;
    let mut sub_profile = [false; 8];
    let mut sub_level = [false; 8];
    for i in 0..max_sub_layers_minus1 as usize {
        sub_profile[i] = r.bit()? == 1;
        sub_level[i] = r.bit()? == 1;
    }
    if max_sub_layers_minus1 > 0 {
        r.skip(2 * (8 - max_sub_layers_minus1 as usize))?;
    }
    for i in 0..max_sub_layers_minus1 as usize {
        if sub_profile[i] {
            r.skip(88)?;
        }
        if sub_level[i] {
            r.skip(8)?;
        }
    }
    r.ue()?; // sps_seq_parameter_set_id
    let chroma_format_idc = r.ue()?;
    if chroma_format_idc == 3 {
        r.bit()?;
    }
    let w = r.ue()?;
    let h = r.ue()?;
    let (mut cl, mut cr, mut ct, mut cb) = (0, 0, 0, 0);
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
    Some(SpsFacts {
        width: w.checked_sub(sub_w * cl.checked_add(cr)?)?,
        height: h.checked_sub(sub_h * ct.checked_add(cb)?)?,
        h265_ptl: Some(ptl),
        chroma_format_idc,
        bit_depth_luma_minus8: depth_l,
        bit_depth_chroma_minus8: depth_c,
        max_sub_layers_minus1,
        temporal_id_nesting,
    })
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
    }

    #[test]
    fn garbage_sps_is_none_not_panic() {
        assert_eq!(h264_sps(&[0x67]), None);
        assert_eq!(h265_sps(&[0x42, 0x01, 0xff]), None);
        let _ = h264_sps(&[0x67, 0x64, 0, 0x1f, 0xff, 0xff, 0xff, 0xff]);
    }
}
