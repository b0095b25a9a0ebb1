//! Micro-benchmark (not a test) of the primitives the container spends its time in, each on
//! one core, in the same run so that a shared machine's noise hits them alike:
//! AES-256-GCM seal/open (RustCrypto `aes-gcm` and `ring`), SHA-256 (`sha2` and `ring`), and a
//! plain copy for reference. This is how the payload backend was chosen
//! (`docs/decisions/0001-container-construction.md`).
//!
//!     cargo run --release --example seal_primitives -- [ROUNDS]      (default: 3)
//!
//! Each row streams 1 GiB through the primitive in 64 KiB chunks taken from a 256 MiB buffer
//! (larger than any cache, as a real input is) and prints the best and the median of ROUNDS.
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "benchmarks print figures"
)]

use std::time::Instant;

use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce as RingNonce, UnboundKey};
use sha2::{Digest, Sha256};

const BUF: usize = 256 << 20;
const TOTAL: usize = 1 << 30;
const CHUNK: usize = 64 << 10;

fn nonce(i: usize) -> [u8; 12] {
    let mut n = [7u8; 12];
    n[7..11].copy_from_slice(&(i as u32).to_be_bytes());
    n
}

/// Nanoseconds this thread has spent on a CPU (first field of schedstat): unlike wall time,
/// it does not count the time other engineers' jobs hold the core.
fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

/// Runs `f` over TOTAL bytes in `chunk` pieces of `buf`; returns GB per wall second and GB
/// per CPU second.
fn stream(buf: &mut [u8], chunk: usize, mut f: impl FnMut(usize, &mut [u8])) -> (f64, f64) {
    let cpu = thread_cpu_ns();
    let start = Instant::now();
    let mut done = 0;
    let mut i = 0;
    while done < TOTAL {
        for piece in buf.chunks_exact_mut(chunk) {
            f(i, piece);
            i += 1;
            done += chunk;
            if done >= TOTAL {
                break;
            }
        }
    }
    let wall = start.elapsed().as_secs_f64();
    let cpu = (thread_cpu_ns() - cpu) as f64 / 1e9;
    (TOTAL as f64 / wall / 1e9, TOTAL as f64 / cpu / 1e9)
}

/// Runs one row ROUNDS times and prints its best and median.
fn measure(rounds: usize, buf: &mut [u8], name: &str, mut f: impl FnMut(&mut [u8]) -> (f64, f64)) {
    let (mut wall, mut cpu): (Vec<f64>, Vec<f64>) = (0..rounds).map(|_| f(buf)).unzip();
    wall.sort_by(|a, b| b.total_cmp(a));
    cpu.sort_by(|a, b| b.total_cmp(a));
    let m = rounds / 2;
    println!(
        "  {name:<48} {:>5.2} / {:>5.2} GB/s wall   {:>5.2} / {:>5.2} GB/s CPU",
        wall[0], wall[m], cpu[0], cpu[m]
    );
}

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(3);
    let mut buf = vec![0u8; BUF];
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    for w in buf.chunks_exact_mut(8) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        w.copy_from_slice(&state.to_le_bytes());
    }
    let key = [0x42u8; 32];
    let rc = Aes256Gcm::new(&key.into());
    let ring_key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &key).expect("32-byte key"));
    let mut other = vec![0u8; CHUNK];
    let mut tags = 0u8;

    println!(
        "one core, 1 GiB per row in 64 KiB chunks unless said; best / median of {rounds} rounds, \
         per wall second and per second on the CPU"
    );
    measure(rounds, &mut buf, "copy (memcpy reference)", |b| {
        stream(b, CHUNK, |_, p| {
            other.copy_from_slice(p);
            std::hint::black_box(&other);
        })
    });
    measure(rounds, &mut buf, "aes-gcm 0.10 (RustCrypto) seal", |b| {
        stream(b, CHUNK, |i, p| {
            let t = rc
                .encrypt_in_place_detached(&Nonce::from(nonce(i)), &[], p)
                .expect("seal");
            tags ^= t[0];
        })
    });
    measure(rounds, &mut buf, "ring 0.17 seal", |b| {
        stream(b, CHUNK, |i, p| {
            let t = ring_key
                .seal_in_place_separate_tag(
                    RingNonce::assume_unique_for_key(nonce(i)),
                    Aad::empty(),
                    p,
                )
                .expect("seal");
            tags ^= t.as_ref()[0];
        })
    });
    measure(rounds, &mut buf, "ring 0.17 seal, 1 MiB chunks", |b| {
        stream(b, 1 << 20, |i, p| {
            let t = ring_key
                .seal_in_place_separate_tag(
                    RingNonce::assume_unique_for_key(nonce(i)),
                    Aad::empty(),
                    p,
                )
                .expect("seal");
            tags ^= t.as_ref()[0];
        })
    });
    measure(
        rounds,
        &mut buf,
        "ring 0.17 open (decrypts fully, then tag fails)",
        |b| {
            // ring decrypts and authenticates in one pass, so a wrong tag costs a full open.
            stream(b, CHUNK, |i, p| {
                let r = ring_key.open_in_place_separate_tag(
                    RingNonce::assume_unique_for_key(nonce(i)),
                    Aad::empty(),
                    ring::aead::Tag::from([0u8; 16]),
                    p,
                    0..,
                );
                std::hint::black_box(r.is_ok());
            })
        },
    );
    measure(rounds, &mut buf, "sha2 0.10 SHA-256", |b| {
        let mut h = Sha256::new();
        let r = stream(b, CHUNK, |_, p| h.update(p));
        std::hint::black_box(h.finalize());
        r
    });
    measure(rounds, &mut buf, "ring 0.17 SHA-256", |b| {
        let mut h = ring::digest::Context::new(&ring::digest::SHA256);
        let r = stream(b, CHUNK, |_, p| h.update(p));
        std::hint::black_box(h.finish());
        r
    });

    std::hint::black_box(tags);
}
