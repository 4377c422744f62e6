//! Fuzzes the resolution journal parser: arbitrary bytes give answers or an
//! error naming the file and line, never a panic; the valid prefix never
//! exceeds the input, and what parsed parses again the same from it.
#![no_main]

use std::path::Path;

use dreamwork::fuzzing::resolve::parse_journal as parse;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match parse(Path::new("fuzz.jsonl"), data) {
        Ok((answers, valid)) => {
            assert!(valid <= data.len());
            let (again, len) =
                parse(Path::new("fuzz.jsonl"), &data[..valid]).expect("the valid prefix parses");
            assert_eq!(again, answers);
            assert_eq!(len, valid);
        }
        Err(e) => assert!(e.to_string().starts_with("fuzz.jsonl:"), "error must name the file: {e}"),
    }
});
