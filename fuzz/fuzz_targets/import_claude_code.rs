//! Fuzzes the ClaudeCode importer and format detection: any bytes give sessions
//! with turns or an error naming the input, never a panic.
#![no_main]

use dreamwork::session::{self, FormatChoice, SessionFormat};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match session::parse(data, SessionFormat::ClaudeCode, "fuzz") {
        Ok(sessions) => {
            for s in &sessions {
                assert!(!s.turns.is_empty(), "an imported session has turns");
                assert_eq!(s.format, SessionFormat::ClaudeCode);
            }
        }
        Err(e) => assert!(e.to_string().starts_with("fuzz: "), "error must name the input: {e}"),
    }
    if let Ok(sessions) = session::parse_as(data, FormatChoice::Auto, "fuzz") {
        for s in &sessions {
            assert!(!s.turns.is_empty(), "an imported session has turns");
        }
    }
});
