//! Fuzzes stage 4's reading of text: a lexicon file never panics the
//! parser (its `[patterns]` lists included); any user turn, before or after
//! the agent acted, gives a directive or none without panicking, its text
//! never empty nor longer than the cap, its clauses each non-empty; any
//! shell input gives a program name or none.
#![no_main]

use dreamwork::fuzzing::dream_text::program;
use dreamwork::fuzzing::dream_text::{MAX_TEXT, clauses, directive};
use dreamwork::text::Lexicon;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (String, String, bool)| {
    let _ = Lexicon::from_toml(&input.0);
    let lexicon = &Lexicon::built_in().patterns;
    if let Some(d) = directive(&input.1, input.2, lexicon) {
        assert!(!d.text.is_empty());
        assert!(d.text.chars().count() <= MAX_TEXT + 1, "{d:?}");
    }
    assert!(clauses(&input.1).iter().all(|c| !c.trim().is_empty()));
    let _ = program(&input.1);
});
