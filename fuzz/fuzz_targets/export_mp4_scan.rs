//! Fuzzes the export's read-back MP4 scanner (`scelle::export::scan`), which parses what comes
//! back from a removable drive during verification: any input must end in `Ok` or `Err`, never
//! a panic or an unbounded allocation.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = scelle::export::scan::scan(data);
});
