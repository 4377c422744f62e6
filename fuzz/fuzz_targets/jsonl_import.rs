//! Feeds arbitrary bytes to the streaming JSONL importer, strict and with
//! bad lines skipped. It must never panic; in skip mode every non-blank line
//! is either imported or listed as skipped with its line number; in strict
//! mode an error names a line.

#![no_main]

use std::path::Path;

use dreamwork::Silent;
use dreamwork::store::{ImportOptions, StoreError, import_jsonl_reader};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let file = Path::new("fuzz.jsonl");
    let total = data.len() as u64;
    let skip = ImportOptions::default().with_skip_bad_lines(true);
    let mut imported = 0usize;
    let skipped = import_jsonl_reader(data, file, total, &skip, &Silent, |m| {
        assert!(m.content.len() <= dreamwork::MAX_CONTENT_BYTES);
        imported += 1;
        Ok(())
    })
    .expect("reading from memory cannot fail in skip mode");
    let non_blank = data.split(|&b| b == b'\n').filter(|l| !l.is_empty()).count();
    let lines = data.split(|&b| b == b'\n').count();
    assert!(imported + skipped.len() <= non_blank);
    assert!(skipped.iter().all(|s| s.line.is_some_and(|l| l >= 1 && l as usize <= lines)));

    let strict = ImportOptions::default();
    match import_jsonl_reader(data, file, total, &strict, &Silent, |_| Ok(())) {
        Ok(none) => assert!(none.is_empty() && skipped.is_empty()),
        Err(StoreError::BadLine { line, .. }) => assert_eq!(Some(line), skipped.first().and_then(|s| s.line)),
        Err(other) => panic!("unexpected error {other}"),
    }
});
