//! Fuzzes everything `scelle register verify|report` does with a hostile database: rows with
//! arbitrary field values (valid hashes recomputed so the walk goes past the hash check into
//! kinds, payloads, people lists, statements and signatures), then verify, entries, the
//! report rows, CSV and PDF; the same bytes as a witness file; the daemon's trusted-prefix walk.
//! None of it may panic.
//!
//! Input: rows separated by 0x1e; in a row, fields separated by 0x1f: time, kind, case id
//! (empty = NULL), actor, payload, statement (empty = rebuilt from the fields), then
//! person/role/signature triples.
//! The body lives in `fuzz/bodies/register_verify.rs`, shared with `tests/fuzz_corpus.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../bodies/register_verify.rs"]
mod body;

fuzz_target!(|data: &[u8]| body::run(data));
