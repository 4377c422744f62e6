//! Memories of the store that may already state a pattern's rule, so that
//! a pattern is cited, not written twice ("Use pnpm in this repo, not npm"
//! in the store, and a recurring `npm` failure in the sessions).
//!
//! A memory *may* state it when it is as alike, by the embedder's cosine,
//! to the rule or to something said in the pattern's occurrences as two
//! occurrences of one pattern must be (`pattern_link`). It *does*, for
//! certain, when the wording rules of stage 2 ([`compare`]) find it states
//! the same facts as the rule or one of those sayings, or those and more;
//! or when it holds the same content words in the same order and as many
//! negations: the same statement, only worded with other grammar words,
//! case and punctuation. Anything between is asked: the pattern question
//! carries the memories as its members, and an answer may cite one
//! (`stated`).
//!
//! Pattern memories of an earlier dream (under `/patterns/`) are never
//! offered: a pattern found again replaces its own earlier memory.

use crate::embed::cosine;
use crate::memory::Memory;
use crate::text::{Document, Lexicon, Relation, Side, compare, content_words, words};

/// Most memories one pattern question offers as already stating its rule.
pub const MAX_STATING: usize = 3;

/// A memory of the store, as the pattern stage compares it.
#[derive(Debug, Clone, Copy)]
pub struct Known<'a> {
    /// The memory.
    pub memory: &'a Memory,
    /// Its vector, by the embedder the dream runs with.
    pub vector: &'a [f32],
}

/// What the store holds of one pattern's rule.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stating {
    /// The memory that states it for certain (an index into the memories
    /// compared), the closest of several.
    pub certain: Option<usize>,
    /// The memories that may state it, closest first (the certain one
    /// first), at most [`MAX_STATING`].
    pub maybe: Vec<usize>,
}

/// The memories of `known` that state, or may state, the pattern whose
/// rule and sayings are `texts` (each with its vector); `link` is the
/// embedder's `pattern_link`.
pub fn stating(texts: &[(&str, &[f32])], known: &[Known<'_>], link: f32, lexicon: &Lexicon) -> Stating {
    let signatures: Vec<Signature> = texts.iter().map(|(t, _)| signature(t, lexicon)).collect();
    let documents: Vec<Document> = texts.iter().map(|(t, _)| Document::parse(t, lexicon)).collect();
    let mut scored: Vec<(bool, f32, usize)> = known
        .iter()
        .enumerate()
        .filter(|(_, k)| !k.memory.path.starts_with("/patterns/"))
        .filter_map(|(i, k)| {
            let best = texts.iter().map(|(_, v)| cosine(v, k.vector)).fold(f32::MIN, f32::max);
            let own = signature(&k.memory.content, lexicon);
            let certain = !own.keys.is_empty() && signatures.contains(&own)
                || best >= link && {
                    let doc = Document::parse(&k.memory.content, lexicon);
                    documents.iter().any(|d| states(d, &doc, lexicon))
                };
            (certain || best >= link).then_some((certain, best, i))
        })
        .collect();
    scored.sort_by(|a, b| {
        b.0.cmp(&a.0).then(b.1.total_cmp(&a.1)).then(known[a.2].memory.path.cmp(&known[b.2].memory.path))
    });
    scored.truncate(MAX_STATING);
    Stating {
        certain: scored.first().filter(|s| s.0).map(|s| s.2),
        maybe: scored.into_iter().map(|s| s.2).collect(),
    }
}

/// Whether `memory` states every fact of `said` by the wording rules.
fn states(said: &Document, memory: &Document, lexicon: &Lexicon) -> bool {
    matches!(compare(said, memory, lexicon), Relation::Same | Relation::Contains { wider: Side::B })
}

/// What "the same statement" compares: the content words' keys in order
/// and the number of negations.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Signature {
    keys: Vec<String>,
    negations: usize,
}

fn signature(text: &str, lexicon: &Lexicon) -> Signature {
    let text = text.trim().trim_start_matches('#');
    Signature {
        keys: content_words(text, lexicon).into_iter().map(|w| w.key).collect(),
        negations: words(text, lexicon).iter().filter(|w| lexicon.negations.contains(&w.text)).count(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::{MemoryPath, Timestamp};

    fn memory(path: &str, text: &str) -> Memory {
        Memory::new(MemoryPath::new(path).unwrap(), text, Timestamp(1))
    }

    fn same_statement(a: &str, b: &str, lexicon: &Lexicon) -> bool {
        let (a, b) = (signature(a, lexicon), signature(b, lexicon));
        !a.keys.is_empty() && a == b
    }

    #[test]
    fn the_same_statement_in_other_grammar_words() {
        let lex = Lexicon::built_in();
        assert!(same_statement("# Use `pnpm` here, not `npm`.", "Use pnpm here, not npm", lex));
        assert!(!same_statement("Use pnpm here, not npm.", "Use npm here, not pnpm.", lex), "order");
        assert!(!same_statement("Use pnpm, not npm.", "Use pnpm and npm.", lex), "a negation");
        assert!(!same_statement(
            "Use pnpm in this repo, not npm",
            "Use pnpm; npm fails on this workspace",
            lex
        ));
        assert!(!same_statement("", "", lex));
    }

    #[test]
    fn certain_first_then_the_closest_and_never_an_earlier_pattern() {
        let lex = Lexicon::built_in();
        let m = [
            memory("/a.md", "Use pnpm here, not npm."),
            memory("/b.md", "The workspace uses pnpm."),
            memory("/c.md", "Deploys are on Tuesdays."),
            memory("/patterns/mistakes/npm.md", "# Use `pnpm` here, not `npm`."),
        ];
        let v: [&[f32]; 4] = [&[0.6, 0.8], &[1.0, 0.0], &[0.0, 1.0], &[1.0, 0.0]];
        let known: Vec<Known> = m.iter().zip(v).map(|(memory, vector)| Known { memory, vector }).collect();
        let rule: &[f32] = &[1.0, 0.0];
        let s = stating(&[("# Use `pnpm` here, not `npm`.", rule)], &known, 0.5, lex);
        assert_eq!(s, Stating { certain: Some(0), maybe: vec![0, 1] });
        let s = stating(&[("Always run the linter.", rule)], &known, 0.5, lex);
        assert_eq!(s, Stating { certain: None, maybe: vec![1, 0] });
        assert_eq!(stating(&[("x", &[0.0, -1.0])], &known, 0.5, lex), Stating::default());
        // A memory that states the rule and more, by the wording rules.
        let wider =
            [memory("/d.md", "Run alembic upgrade head before pytest. The schema lives in migrations/.")];
        let known: Vec<Known> = wider.iter().map(|memory| Known { memory, vector: rule }).collect();
        let s = stating(&[("Run alembic upgrade head before pytest.", rule)], &known, 0.5, lex);
        assert_eq!(s.certain, Some(0), "{s:?}");
    }
}
