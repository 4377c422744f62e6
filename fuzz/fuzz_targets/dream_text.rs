//! Fuzzes the dream's text analysis on arbitrary pairs of texts: no panic;
//! the lexical comparison is symmetric; the exact key is idempotent on case;
//! error signatures and pattern slugs always make valid memory paths.
#![no_main]

use dreamwork::dream::near::{Relation, Side, compare};
use dreamwork::dream::normalize::{analyse, error_signature, exact_key, slug};
use dreamwork::memory::MemoryPath;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|pair: (String, String)| {
    let (a, b) = (analyse(&pair.0), analyse(&pair.1));
    let ab = compare(&a, &b);
    let ba = compare(&b, &a);
    let flipped = match ab {
        Relation::Subsumes { wider: Side::A } => Relation::Subsumes { wider: Side::B },
        Relation::Subsumes { wider: Side::B } => Relation::Subsumes { wider: Side::A },
        other => other,
    };
    assert_eq!(flipped, ba, "compare must be symmetric");
    assert_eq!(exact_key(&exact_key(&pair.0)), exact_key(&pair.0), "exact key must be idempotent");
    let sig = error_signature(&pair.1);
    assert!(sig.chars().count() <= 160);
    let path = format!("/patterns/mistakes/{}.md", slug(&sig, 6));
    assert!(MemoryPath::new(&path).is_ok(), "slug must make a valid path: {path:?}");
});
