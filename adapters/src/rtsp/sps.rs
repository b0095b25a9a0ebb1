//! Picture size from a sequence parameter set (H.264 §7.3.2.1.1, H.265 §7.3.2.2), so that
//! [`crate::StreamInfo`] can carry width and height for the MP4 track header. Only the fields
//! before the size are walked; anything malformed yields `None`, never a panic.

/// Reads bits from a NAL unit's RBSP (emulation-prevention bytes removed).
struct Bits {
    data: Vec<u8>,
    pos: usize,
}

impl Bits {
    fn new(nal: &[u8]) -> Bits {
        let mut data = Vec::with_capacity(nal.len().min(256));
        let mut zeros = 0;
        for &b in nal.iter().take(256) {
            if zeros >= 2 && b == 3 {
                zeros = 0;
                continue;
            }
            zeros = if b == 0 { zeros + 1 } else { 0 };
            data.push(b);
        }
        Bits { data, pos: 0 }
    }

    fn bit(&mut self) -> Option<u32> {
        let byte = *self.data.get(self.pos / 8)?;
        let v = (byte >> (7 - self.pos % 8)) & 1;
        self.pos += 1;
        Some(u32::from(v))
    }

    fn bits(&mut self, n: u32) -> Option<u32> {
        let mut v = 0u32;
        for _ in 0..n {
            v = (v << 1) | self.bit()?;
        }
        Some(v)
    }

    fn skip(&mut self, n: usize) -> Option<()> {
        self.pos += n;
        (self.pos <= self.data.len() * 8).then_some(())
    }

    /// Exp-Golomb unsigned.
    fn ue(&mut self) -> Option<u32> {
        let mut zeros = 0;
        while self.bit()? == 0 {
            zeros += 1;
            if zeros > 31 {
                return None;
            }
        }
        Some((1u32 << zeros) - 1 + self.bits(zeros)?)
    }

    fn se(&mut self) -> Option<i32> {
        let v = self.ue()?;
        Some(if v % 2 == 1 {
            v.div_ceil(2) as i32
        } else {
            -((v / 2) as i32)
        })
    }
}

/// Width and height of an H.264 SPS (NAL header included).
pub fn h264_size(sps: &[u8]) -> Option<(u32, u32)> {
    let mut b = Bits::new(sps.get(1..)?);
    let profile = b.bits(8)?;
    b.skip(16)?; // constraint flags, level
    b.ue()?; // seq_parameter_set_id
    let mut chroma_format = 1;
    let mut separate_planes = 0;
    if matches!(
        profile,
        100 | 110 | 122 | 244 | 44 | 83 | 86 | 118 | 128 | 138 | 139 | 134 | 135
    ) {
        chroma_format = b.ue()?;
        if chroma_format == 3 {
            separate_planes = b.bit()?;
        }
        b.ue()?; // bit_depth_luma
        b.ue()?; // bit_depth_chroma
        b.bit()?; // qpprime_y_zero_transform_bypass
        if b.bit()? == 1 {
            let lists = if chroma_format == 3 { 12 } else { 8 };
            for i in 0..lists {
                if b.bit()? == 1 {
                    let size = if i < 6 { 16 } else { 64 };
                    let (mut last, mut next) = (8i32, 8i32);
                    for _ in 0..size {
                        if next != 0 {
                            // delta_scale is -128..=127 in a valid SPS; anything else would
                            // overflow the sum below.
                            let delta = b.se()?;
                            if !(-128..=127).contains(&delta) {
                                return None;
                            }
                            next = (last + delta + 256) % 256;
                        }
                        if next != 0 {
                            last = next;
                        }
                    }
                }
            }
        }
    }
    b.ue()?; // log2_max_frame_num
    match b.ue()? {
        0 => {
            b.ue()?;
        }
        1 => {
            b.bit()?;
            b.se()?;
            b.se()?;
            let n = b.ue()?;
            if n > 255 {
                return None;
            }
            for _ in 0..n {
                b.se()?;
            }
        }
        _ => {}
    }
    b.ue()?; // max_num_ref_frames
    b.bit()?; // gaps_in_frame_num_allowed
    let w_mbs = b.ue()?.checked_add(1)?;
    let h_units = b.ue()?.checked_add(1)?;
    let frame_mbs_only = b.bit()?;
    if frame_mbs_only == 0 {
        b.bit()?;
    }
    b.bit()?; // direct_8x8_inference
    let (mut l, mut r, mut t, mut bo) = (0, 0, 0, 0);
    if b.bit()? == 1 {
        l = b.ue()?;
        r = b.ue()?;
        t = b.ue()?;
        bo = b.ue()?;
    }
    let array_type = if separate_planes == 1 {
        0
    } else {
        chroma_format
    };
    let (cx, cy) = match array_type {
        1 => (2, 2 * (2 - frame_mbs_only)),
        2 => (2, 2 - frame_mbs_only),
        3 => (1, 2 - frame_mbs_only),
        _ => (1, 2 - frame_mbs_only),
    };
    // Every field is attacker-chosen (up to 2^32 - 2): checked arithmetic throughout.
    let width = w_mbs
        .checked_mul(16)?
        .checked_sub(l.checked_add(r)?.checked_mul(cx)?)?;
    let height = h_units
        .checked_mul(16)?
        .checked_mul(2 - frame_mbs_only)?
        .checked_sub(t.checked_add(bo)?.checked_mul(cy)?)?;
    (width > 0 && height > 0).then_some((width, height))
}

/// Width and height of an H.265 SPS (2-byte NAL header included).
pub fn h265_size(sps: &[u8]) -> Option<(u32, u32)> {
    let mut b = Bits::new(sps.get(2..)?);
    b.skip(4)?; // sps_video_parameter_set_id
    let max_sub_layers_minus1 = b.bits(3)?;
    b.skip(1)?; // temporal_id_nesting
    // profile_tier_level(1, max_sub_layers_minus1)
    b.skip(88)?; // general profile space/tier/idc, compatibility flags, constraint flags
    b.skip(8)?; // general_level_idc
    let mut profile_present = [0u32; 8];
    let mut level_present = [0u32; 8];
    for i in 0..max_sub_layers_minus1 as usize {
        profile_present[i] = b.bit()?;
        level_present[i] = b.bit()?;
    }
    if max_sub_layers_minus1 > 0 {
        for _ in max_sub_layers_minus1..8 {
            b.skip(2)?;
        }
    }
    for i in 0..max_sub_layers_minus1 as usize {
        if profile_present[i] == 1 {
            b.skip(88)?;
        }
        if level_present[i] == 1 {
            b.skip(8)?;
        }
    }
    b.ue()?; // sps_seq_parameter_set_id
    let chroma_format = b.ue()?;
    let mut separate = 0;
    if chroma_format == 3 {
        separate = b.bit()?;
    }
    let width = b.ue()?;
    let height = b.ue()?;
    let (mut l, mut r, mut t, mut bo) = (0, 0, 0, 0);
    if b.bit()? == 1 {
        l = b.ue()?;
        r = b.ue()?;
        t = b.ue()?;
        bo = b.ue()?;
    }
    let (sw, sh) = match (chroma_format, separate) {
        (1, _) => (2, 2),
        (2, _) => (2, 1),
        _ => (1, 1),
    };
    let width = width.checked_sub(l.checked_add(r)?.checked_mul(sw)?)?;
    let height = height.checked_sub(t.checked_add(bo)?.checked_mul(sh)?)?;
    (width > 0 && height > 0).then_some((width, height))
}

/// Picture size from a stream's parameter sets, found by NAL type.
pub fn size(codec: crate::Codec, sets: &[bytes::Bytes]) -> Option<(u32, u32)> {
    match codec {
        crate::Codec::H264 => sets
            .iter()
            .find(|s| s.first().is_some_and(|h| h & 0x1f == 7))
            .and_then(|s| h264_size(s)),
        crate::Codec::H265 => sets
            .iter()
            .find(|s| s.first().is_some_and(|h| (h >> 1) & 0x3f == 33))
            .and_then(|s| h265_size(s)),
        crate::Codec::Aac => None,
    }
}
