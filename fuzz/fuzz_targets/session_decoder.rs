//! Fuzzes the session file decoder: arbitrary bytes are refused with an
//! error naming the file (never a panic), and every session that does
//! decode survives an encode/decode round trip unchanged.
#![no_main]

use std::path::Path;

use dreamwork::fuzzing::session_file as storage;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match storage::decode(data, Path::new("fuzz.session")) {
        Ok(session) => {
            let again = storage::decode(&storage::encode(&session), Path::new("again"));
            assert_eq!(again.ok(), Some(session), "decode/encode must round-trip");
        }
        Err(e) => assert!(e.to_string().starts_with("fuzz.session: "), "error must name the file: {e}"),
    }
});
