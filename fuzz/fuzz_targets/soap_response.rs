//! Fuzzes every ONVIF SOAP response parser (and the HTTP Digest challenge parser, the other
//! text an ONVIF device sends scelle) with arbitrary bytes: none may panic or run away.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scelle_adapters::onvif::{http_digest::Challenge, parse};

fuzz_target!(|data: &[u8]| {
    parse::all(data);
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = Challenge::parse(s);
    }
});
