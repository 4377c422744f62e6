//! Fuzzes the report reader: arbitrary bytes are refused or parse to a
//! report that survives a write/read round trip unchanged.
#![no_main]

use dreamwork::report::Report;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(report) = Report::from_json(text) {
        let again = Report::from_json(&report.to_json()).expect("a written report reads back");
        assert_eq!(again, report);
    }
});
