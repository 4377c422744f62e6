//! Fuzzes stage 4's reading of text: a lexicon file never panics the
//! parser (its `[patterns]` lists included); any user turn gives statements
//! without panicking, with terms that never are both wanted and rejected;
//! any shell input gives a program name or none.
#![no_main]

use dreamwork::dream::patterns::incidents::program;
use dreamwork::dream::patterns::statements::statements;
use dreamwork::text::Lexicon;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (String, String)| {
    let _ = Lexicon::from_toml(&input.0);
    let lexicon = &Lexicon::built_in().patterns;
    for s in statements(&input.1, lexicon) {
        assert!(s.terms.wanted.is_disjoint(&s.terms.rejected), "{s:?}");
        assert!(!s.terms.is_empty());
    }
    let _ = program(&input.1, lexicon);
});
