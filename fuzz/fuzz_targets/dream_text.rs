//! Fuzzes the text analysis on arbitrary pairs of texts: no panic; the
//! certain-or-ask comparison is symmetric and never merges texts whose word
//! sequences differ beyond the lexicon's edits unless one contains the
//! other's facts; the exact key is idempotent; error signatures and pattern
//! slugs always make valid memory paths.
#![no_main]

use dreamwork::MemoryPath;
use dreamwork::fuzzing::dream_text::error_signature;
use dreamwork::fuzzing::dream_text::slug;
use dreamwork::fuzzing::exact_key;
use dreamwork::text::{Document, Lexicon, Relation, compare};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|pair: (String, String)| {
    let lexicon = Lexicon::default();
    let (a, b) = (Document::parse(&pair.0, &lexicon), Document::parse(&pair.1, &lexicon));
    let ab = compare(&a, &b, &lexicon);
    let ba = compare(&b, &a, &lexicon);
    assert_eq!(ab.clone().flipped(), ba, "compare must be symmetric");
    if ab == Relation::Same {
        let keys = |d: &Document| {
            d.facts.iter().map(|f| f.key().to_owned()).collect::<std::collections::BTreeSet<_>>()
        };
        assert_eq!(keys(&a), keys(&b), "the same facts, or no merge");
    }
    assert_eq!(exact_key(&exact_key(&pair.0)), exact_key(&pair.0), "exact key must be idempotent");
    let sig = error_signature(&pair.1);
    assert!(sig.chars().count() <= 160);
    let path = format!("/patterns/mistakes/{}.md", slug(&sig, 6, &lexicon));
    assert!(MemoryPath::new(&path).is_ok(), "slug must make a valid path: {path:?}");
});
