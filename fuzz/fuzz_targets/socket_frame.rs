//! Fuzzes the control socket's frame decoder: whatever the bytes, `decode` returns a request
//! or a typed error, never panics; a decoded request re-encodes and decodes to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scelle::api::frame::decode;

fuzz_target!(|data: &[u8]| {
    for line in data.split(|&b| b == b'\n') {
        if let Ok(env) = decode(line) {
            let again = serde_json::to_vec(&env).expect("re-encode");
            assert_eq!(decode(&again).expect("re-decode"), env);
        }
    }
});
