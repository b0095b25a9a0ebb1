//! Replays every saved fuzz input (`fuzz/corpus/TARGET/*`) through the same code as its fuzz
//! target (`fuzz/bodies/TARGET.rs`, which the target's `fuzz_target!` calls), under plain
//! `cargo test`: CI has no libFuzzer, but it catches a regression on any input saved there.
//! A crash found by a long fuzz run is fixed, then its input is saved in the corpus so this
//! test keeps it fixed.
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "tests say what they skip"
)]

use std::path::Path;

macro_rules! bodies {
    ($($name:ident = $path:literal),* $(,)?) => {
        $(
            #[path = $path]
            mod $name;
        )*

        /// Every target: (corpus directory name, entry point).
        const TARGETS: &[(&str, fn(&[u8]))] = &[$((stringify!($name), $name::run)),*];
    };
}

bodies!(
    camera_certificate = "../fuzz/bodies/camera_certificate.rs",
    container_reader = "../fuzz/bodies/container_reader.rs",
    depacketize_g711 = "../fuzz/bodies/depacketize_g711.rs",
    depacketize_h264 = "../fuzz/bodies/depacketize_h264.rs",
    depacketize_h265 = "../fuzz/bodies/depacketize_h265.rs",
    export_mp4_scan = "../fuzz/bodies/export_mp4_scan.rs",
    mp4_segment_reader = "../fuzz/bodies/mp4_segment_reader.rs",
    receipt_render = "../fuzz/bodies/receipt_render.rs",
    register_verify = "../fuzz/bodies/register_verify.rs",
    rtsp_pace = "../fuzz/bodies/rtsp_pace.rs",
    rtsp_response = "../fuzz/bodies/rtsp_response.rs",
    sdp = "../fuzz/bodies/sdp.rs",
    signed_text = "../fuzz/bodies/signed_text.rs",
    soap_response = "../fuzz/bodies/soap_response.rs",
    socket_frame = "../fuzz/bodies/socket_frame.rs",
    sps = "../fuzz/bodies/sps.rs",
);

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/corpus");

#[test]
fn every_fuzz_target_has_a_body_here() {
    let mut missing = Vec::new();
    for entry in
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/fuzz_targets")).unwrap()
    {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if !TARGETS.iter().any(|(t, _)| *t == name) {
            missing.push(name);
        }
    }
    assert!(
        missing.is_empty(),
        "fuzz targets not replayed by this test (add them to bodies!): {missing:?}"
    );
}

#[test]
fn every_saved_input_runs_through_its_target() {
    let mut replayed = 0;
    for (name, run) in TARGETS {
        let dir = Path::new(CORPUS).join(name);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut files: Vec<_> = entries.map(|e| e.unwrap().path()).collect();
        files.sort();
        for file in files.iter().filter(|p| p.is_file()) {
            let data = std::fs::read(file).unwrap();
            let outcome = std::panic::catch_unwind(|| run(&data));
            assert!(
                outcome.is_ok(),
                "fuzz target {name} panics on {}",
                file.display()
            );
            replayed += 1;
        }
    }
    assert!(replayed > 0, "no corpus found under {CORPUS}");
    eprintln!("{replayed} saved fuzz inputs replayed");
}

/// Found by the `sdp` target (10-minute runs, 2026-11-23): H.264 SPS whose frame-cropping
/// offsets overflow `u32` when scaled ("attempt to multiply with overflow"), or whose scaling
/// list has a delta far outside -128..=127 ("attempt to add with overflow").
#[test]
fn an_sps_with_out_of_range_fields_is_refused_not_a_panic() {
    for name in [
        "regress_sps_crop_overflow",
        "regress_sps_scaling_delta_overflow",
    ] {
        let data = std::fs::read(Path::new(CORPUS).join("sdp").join(name)).unwrap();
        assert_eq!(scelle_adapters::rtsp::sps::h264_size(&data), None, "{name}");
        let _ = scelle_adapters::rtsp::sps::h265_size(&data);
    }
}

/// Issue 21: the second SPS parser (`src/mp4/nal.rs`, gone) overflowed on these ("attempt to
/// add with overflow" in its scaling list, "attempt to multiply with overflow" in its cropping;
/// both wrap silently in release). The one parser left refuses them.
#[test]
fn the_one_sps_parser_refuses_what_the_mp4_copy_overflowed_on() {
    for name in [
        "regress_mp4_scaling_delta_overflow",
        "regress_mp4_crop_multiply_overflow",
    ] {
        let data = std::fs::read(Path::new(CORPUS).join("sps").join(name)).unwrap();
        assert_eq!(scelle_adapters::rtsp::sps::h264(&data), None, "{name}");
        assert_eq!(scelle::mp4::h264_sps(&data), None, "{name}");
        sps::run(&data);
    }
}

/// Found by the `sdp` target (second 10-minute run, 2026-11-23): a control attribute whose
/// 8th byte falls inside a UTF-8 character panicked when sliced to compare with `rtsps://`.
#[test]
fn a_control_attribute_cut_inside_a_character_resolves() {
    use scelle_adapters::rtsp::sdp::resolve_control;
    let base = "rtsp://127.0.0.1/x";
    assert_eq!(
        resolve_control(base, Some("rtsea  Ƅaertm=0")),
        "rtsp://127.0.0.1/x/rtsea  Ƅaertm=0"
    );
    assert_eq!(
        resolve_control(base, Some("rtspƄ://a")),
        "rtsp://127.0.0.1/x/rtspƄ://a"
    );
    assert_eq!(resolve_control(base, Some("RTSP://h/t")), "RTSP://h/t");
    let data =
        std::fs::read(Path::new(CORPUS).join("sdp/regress_control_not_char_boundary")).unwrap();
    sdp::run(&data);
}
