//! Body of the `socket_frame` fuzz target, shared with `tests/fuzz_corpus.rs` (which replays the
//! saved corpus through it under plain `cargo test`), so both exercise the same code.

use scelle::api::frame::decode;

/// Runs one input.
pub fn run(data: &[u8]) {
    for line in data.split(|&b| b == b'\n') {
        if let Ok(env) = decode(line) {
            let again = serde_json::to_vec(&env).expect("re-encode");
            assert_eq!(decode(&again).expect("re-decode"), env);
        }
    }
}
