//! Byte-level helpers for writing ISO BMFF boxes into a `Vec<u8>`: a box is opened with a
//! placeholder size and patched when its closure returns, so nesting reads like the spec's tree.
//! Only the writer's own small boxes go through here; sample data never does (it is written
//! straight from the access units to the output).

/// Seconds between 1904-01-01 (ISO BMFF epoch) and 1970-01-01.
pub(super) const MP4_EPOCH_OFFSET_SECS: i64 = 2_082_844_800;
/// Seconds between 1601-01-01 (ONVIF `cstb` epoch) and 1970-01-01.
pub(super) const WINDOWS_EPOCH_OFFSET_SECS: i64 = 11_644_473_600;

/// Writes a plain box: size, type, then whatever `body` appends.
pub(super) fn bx(buf: &mut Vec<u8>, kind: &[u8; 4], body: impl FnOnce(&mut Vec<u8>)) {
    let start = buf.len();
    buf.extend_from_slice(&[0, 0, 0, 0]);
    buf.extend_from_slice(kind);
    body(buf);
    let size = u32::try_from(buf.len() - start).unwrap_or(u32::MAX);
    buf[start..start + 4].copy_from_slice(&size.to_be_bytes());
}

/// Writes a full box (version and 24-bit flags after the type).
pub(super) fn full(
    buf: &mut Vec<u8>,
    kind: &[u8; 4],
    version: u8,
    flags: u32,
    body: impl FnOnce(&mut Vec<u8>),
) {
    bx(buf, kind, |b| {
        b.push(version);
        b.extend_from_slice(&flags.to_be_bytes()[1..]);
        body(b);
    });
}

pub(super) fn u8(buf: &mut Vec<u8>, v: u8) {
    buf.push(v);
}
pub(super) fn u16(buf: &mut Vec<u8>, v: u16) {
    buf.extend_from_slice(&v.to_be_bytes());
}
pub(super) fn u32(buf: &mut Vec<u8>, v: u32) {
    buf.extend_from_slice(&v.to_be_bytes());
}
pub(super) fn u64(buf: &mut Vec<u8>, v: u64) {
    buf.extend_from_slice(&v.to_be_bytes());
}
pub(super) fn zeros(buf: &mut Vec<u8>, n: usize) {
    buf.resize(buf.len() + n, 0);
}

/// A null-terminated UTF-8 string, as the ONVIF export boxes define them. Interior NULs are
/// dropped so that a caller-supplied name cannot shift the following fields.
pub(super) fn cstr(buf: &mut Vec<u8>, s: &str) {
    buf.extend(s.bytes().filter(|&b| b != 0));
    buf.push(0);
}

/// The unity transformation matrix of `mvhd` and `tkhd`.
pub(super) fn matrix(buf: &mut Vec<u8>) {
    for v in [0x0001_0000u32, 0, 0, 0, 0x0001_0000, 0, 0, 0, 0x4000_0000] {
        u32(buf, v);
    }
}
