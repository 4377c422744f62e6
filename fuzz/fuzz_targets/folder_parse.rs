//! Fuzzes the parsers of a memory folder: a file's frontmatter and the
//! index's lines. Arbitrary text never panics; a body is the end of the
//! text; a value set in a frontmatter reads back the same; every index line
//! is classified once, and a link written for a target parses back to it.
#![no_main]

use dreamwork::fuzzing::folder::{frontmatter, index};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match frontmatter::split(text) {
        Ok(split) => {
            assert!(text.ends_with(split.body));
            if let Some(mut fm) = split.frontmatter {
                let value = text.lines().next().unwrap_or("");
                fm.set("description", value);
                let rendered = fm.render();
                let again = frontmatter::split(&rendered).expect("a rendered frontmatter parses");
                let fm = again.frontmatter.expect("and has a frontmatter");
                assert_eq!(fm.get("description").as_deref(), Some(value));
            }
        }
        Err(e) => assert_eq!(e.line, 1),
    }
    let lines = index::parse(text);
    assert_eq!(lines.len(), text.lines().count());
    for (i, line) in lines.iter().enumerate() {
        assert_eq!(line.number, i + 1);
        if let index::LineKind::Link { target, .. } = &line.kind {
            let written = index::entry_line("title", target, "hook");
            match &index::parse(&written)[0].kind {
                index::LineKind::Link { target: back, .. } => assert_eq!(back, target),
                other => panic!("{written:?} parsed as {other:?}"),
            }
        }
    }
});
