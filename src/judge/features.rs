//! What the judge sees of a pair: a fixed vector of numbers, symmetric in
//! the two texts.
//!
//! Two sources. The model's contextual word vectors give a soft word
//! alignment — how well each word of one text is matched by some word of
//! the other, what is left unmatched, whether matched words keep their
//! order. The text analysis gives the exact signals: negation, values
//! (numbers, versions, days, states), environment words, word order, how
//! much wording the two share, and the rules' own relation.

use std::collections::{BTreeMap, BTreeSet};

use crate::embed::{WordVectors, cosine};
use crate::text::compare::share;
use crate::text::{Document, Doubt, Kind, Lexicon, Relation, Side as CompareSide, Word, stem};

/// A word of one text is matched in the other when its best cosine there
/// is at least this.
pub const MATCHED: f32 = 0.7;

/// Names of the features, in vector order (the model file records them,
/// so a model trained on another list is refused).
pub const NAMES: &[&str] = &[
    "cosine",
    "covered_coverage",
    "wide_coverage",
    "covered_worst_match",
    "wide_worst_match",
    "covered_unmatched",
    "wide_unmatched",
    "covered_unmatched_share",
    "wide_unmatched_share",
    "covered_replaced_min",
    "wide_replaced_min",
    "covered_other_words",
    "wide_other_words",
    "content_order_discord",
    "order_discord",
    "length_log_ratio",
    "length_min",
    "stem_jaccard",
    "aligned_share",
    "relations_only_covered",
    "relations_only_wide",
    "antonyms",
    "by_differs",
    "negation_differs",
    "values_differ",
    "qualifiers_differ",
    "same_words_other_order",
    "voice_roles",
    "rule_wide_adds",
    "rule_covered_adds",
    "rule_replaced",
    "rule_reworded",
    "rule_value_change",
    "rule_stated_change",
];

/// Number of features.
pub const COUNT: usize = 34;

/// The exact signals that forbid a merge whatever the model says: each
/// marks a difference in meaning the wording proves.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Vetoes {
    /// One side negates more often than the other.
    pub negation: bool,
    /// The covered side states a number, version, day or state the wide
    /// side does not (the wide side may state more: it is the one kept).
    pub values: bool,
    /// An environment, region or platform word differs.
    pub qualifiers: bool,
    /// The same words in another order (roles may be swapped).
    pub word_order: bool,
    /// One side says a word whose opposite the other says.
    pub antonym: bool,
}

impl Vetoes {
    /// Whether any veto holds.
    pub fn any(&self) -> bool {
        self.negation || self.values || self.qualifiers || self.word_order || self.antonym
    }
}

/// A pair's features and vetoes.
#[derive(Debug, Clone, PartialEq)]
pub struct PairFeatures {
    /// The feature vector, in [`NAMES`] order.
    pub values: [f64; COUNT],
    /// The exact signals that forbid a merge.
    pub vetoes: Vetoes,
    /// One side carries an update cue ("now", "moved", "no longer"): it may
    /// replace what the other states, so the pair is never settled as two
    /// different facts without asking.
    pub cue: bool,
    /// Each side names something the other does not (a capitalised word
    /// inside a sentence, an identifier, a word with digits): the same
    /// attribute with another name ("Owner of audit: Diego" / "audit is
    /// owned by Priya") is how a stale fact and its update look, so the pair
    /// is never settled as two different facts without asking.
    pub other_names: bool,
    /// Both sides state values (numbers, versions, durations) and the same
    /// ones: two notes giving one port or one count are about one thing
    /// more often than not, so the pair is never settled as two different
    /// facts without asking.
    pub same_values: bool,
    /// Both sides name things and the same ones ("CI for kobartor:
    /// Jenkins" / "kobartor is built and tested on Jenkins in CI"): as with
    /// values, two notes naming only the same things are about one thing
    /// more often than not, so the pair is never settled as two different
    /// facts without asking.
    pub same_names: bool,
    /// The two sides do not state the same values.
    pub values_differ: bool,
}

impl PairFeatures {
    /// Whether the judge may settle the pair as two different facts: no
    /// negation or value differs, no update cue, not another name for one
    /// attribute, not the same values nor the same names.
    pub fn may_differ(&self) -> bool {
        !self.vetoes.negation
            && !self.values_differ
            && !self.cue
            && !self.other_names
            && !self.same_values
            && !self.same_names
    }
}

/// One side of a pair as the features see it.
struct Side<'a> {
    /// Stems of the model's words.
    stems: Vec<String>,
    /// Whether each model word is a content word (not grammar).
    content: Vec<bool>,
    /// The analysis' words (normalised, in order).
    words: Vec<&'a Word>,
}

impl<'a> Side<'a> {
    fn new(doc: &'a Document, vectors: &'a WordVectors, lexicon: &Lexicon) -> Self {
        Side {
            stems: vectors.words.iter().map(|w| stem(w)).collect(),
            content: vectors.words.iter().map(|w| !lexicon.grammar.contains(w)).collect(),
            words: doc.facts.iter().flat_map(|f| f.words.iter()).collect(),
        }
    }

    fn content_count(&self) -> usize {
        self.content.iter().filter(|c| **c).count()
    }
}

/// Alignment statistics of one side against the other.
struct Aligned {
    coverage: f64,
    worst: f64,
    unmatched: f64,
    unmatched_share: f64,
    replaced_min: f64,
    other_words: f64,
}

/// Statistics of how `x`'s words are matched by the other side's:
/// verbatim (the same stem, each occurrence on the other side used once)
/// or by their best contextual cosine.
fn aligned(x: &Side<'_>, matches: &[(f32, usize)], other: &Side<'_>) -> Aligned {
    let content: Vec<usize> = (0..matches.len()).filter(|&i| x.content[i]).collect();
    let idx: Vec<usize> = if content.is_empty() { (0..matches.len()).collect() } else { content };
    let n = idx.len().max(1) as f64;
    let sim = |i: usize| f64::from(matches[i].0);
    let mut left: BTreeMap<&str, usize> = BTreeMap::new();
    for s in &other.stems {
        *left.entry(s.as_str()).or_insert(0) += 1;
    }
    let found: Vec<bool> = x
        .stems
        .iter()
        .map(|s| match left.get_mut(s.as_str()) {
            Some(k) if *k > 0 => {
                *k -= 1;
                true
            }
            _ => false,
        })
        .collect();
    let verbatim = |i: usize| found[i];
    let other: Vec<usize> = idx.iter().copied().filter(|&i| !verbatim(i)).collect();
    let unmatched = other.iter().filter(|&&i| matches[i].0 < MATCHED).count() as f64;
    Aligned {
        coverage: idx.iter().map(|&i| if verbatim(i) { 1.0 } else { sim(i) }).sum::<f64>() / n,
        worst: idx.iter().map(|&i| if verbatim(i) { 1.0 } else { sim(i) }).fold(1.0, f64::min),
        unmatched,
        unmatched_share: unmatched / n,
        replaced_min: other.iter().map(|&i| sim(i)).fold(1.0, f64::min),
        other_words: other.len() as f64,
    }
}

/// The features of the question "does `a` state everything `b` states?"
/// (`b` is the *covered* side, `a` the *wide* one): their documents, word
/// vectors, pooled cosine and the rules' relation of `a` to `b`. Ask both
/// ways for "do they say the same".
pub fn features(
    a: &Document,
    b: &Document,
    wa: &WordVectors,
    wb: &WordVectors,
    cos: f32,
    relation: &Relation,
    lexicon: &Lexicon,
) -> PairFeatures {
    let (sa, sb) = (Side::new(a, wa, lexicon), Side::new(b, wb, lexicon));
    let ab = best_matches(wa, wb);
    let ba = best_matches(wb, wa);
    let (xa, xb) = (aligned(&sa, &ab, &sb), aligned(&sb, &ba, &sa));
    let content_only = |m: &[(f32, usize)], x: &Side<'_>, y: &Side<'_>| -> Vec<(f32, usize)> {
        m.iter()
            .enumerate()
            .map(
                |(i, &(c, j))| {
                    if x.content[i] && y.content.get(j) == Some(&true) { (c, j) } else { (0.0, j) }
                },
            )
            .collect()
    };
    let (na, nb) = (sa.content_count().max(1) as f64, sb.content_count().max(1) as f64);

    let word_stems = |s: &Side<'_>| -> BTreeSet<String> { s.words.iter().map(|w| stem(&w.text)).collect() };
    let (ws_a, ws_b) = (word_stems(&sa), word_stems(&sb));
    let union = ws_a.union(&ws_b).count().max(1) as f64;
    let jaccard = ws_a.intersection(&ws_b).count() as f64 / union;
    let flat_a: Vec<Word> = sa.words.iter().map(|w| (*w).clone()).collect();
    let flat_b: Vec<Word> = sb.words.iter().map(|w| (*w).clone()).collect();
    let aligned_share = share(&flat_a, &flat_b);

    let relations = |s: &Side<'_>| -> BTreeMap<String, usize> {
        let mut m = BTreeMap::new();
        for w in s.words.iter().filter(|w| lexicon.relations.contains(&w.text)) {
            *m.entry(w.text.clone()).or_insert(0) += 1;
        }
        m
    };
    let (ra, rb) = (relations(&sa), relations(&sb));
    let only = |x: &BTreeMap<String, usize>, y: &BTreeMap<String, usize>| -> usize {
        x.iter().map(|(k, n)| n.saturating_sub(y.get(k).copied().unwrap_or(0))).sum()
    };
    let only_a: Vec<&String> = ws_a.difference(&ws_b).collect();
    let only_b: Vec<&String> = ws_b.difference(&ws_a).collect();
    let antonym = only_a
        .iter()
        .any(|x| only_b.iter().any(|y| lexicon.antonyms.contains(&((*x).clone(), (*y).clone()))));
    let has_by = |s: &Side<'_>| s.words.iter().any(|w| w.text == "by");

    let negations = |s: &Side<'_>| s.words.iter().filter(|w| w.kind == Kind::Negation).count();
    let values_of = |s: &Side<'_>| -> BTreeSet<String> {
        s.words.iter().filter(|w| w.kind.is_value()).map(|w| w.text.clone()).collect()
    };
    let (values_a, values_b) = (values_of(&sa), values_of(&sb));
    let qualifiers = |s: &Side<'_>| -> BTreeSet<String> {
        s.words.iter().filter(|w| lexicon.qualifiers.contains(&w.text)).map(|w| w.text.clone()).collect()
    };
    let mut sorted_a: Vec<&str> = sa.words.iter().map(|w| w.text.as_str()).collect();
    let mut sorted_b: Vec<&str> = sb.words.iter().map(|w| w.text.as_str()).collect();
    sorted_a.sort_unstable();
    sorted_b.sort_unstable();
    let vetoes = Vetoes {
        negation: negations(&sa) != negations(&sb),
        values: !values_b.is_subset(&values_a),
        qualifiers: qualifiers(&sa) != qualifiers(&sb),
        word_order: sorted_a == sorted_b && flat_a != flat_b,
        antonym,
    };
    let flag = |b: bool| if b { 1.0 } else { 0.0 };
    let rule = |f: fn(&Relation) -> bool| flag(f(relation));
    let values = [
        f64::from(cos),
        xb.coverage,
        xa.coverage,
        xb.worst,
        xa.worst,
        xb.unmatched,
        xa.unmatched,
        xb.unmatched_share,
        xa.unmatched_share,
        xb.replaced_min,
        xa.replaced_min,
        xb.other_words,
        xa.other_words,
        order_discord(&content_only(&ab, &sa, &sb), &content_only(&ba, &sb, &sa)),
        order_discord(&ab, &ba),
        (na / nb).ln(),
        na.min(nb).ln_1p(),
        jaccard,
        aligned_share,
        only(&rb, &ra) as f64,
        only(&ra, &rb) as f64,
        flag(vetoes.antonym),
        flag(has_by(&sa) != has_by(&sb)),
        flag(vetoes.negation),
        flag(values_a != values_b),
        flag(vetoes.qualifiers),
        flag(vetoes.word_order),
        voice_roles(wa, &ab, wb, &ba, lexicon),
        rule(|r| matches!(r, Relation::Open(Doubt::Added { side: CompareSide::A, .. }))),
        rule(|r| matches!(r, Relation::Open(Doubt::Added { side: CompareSide::B, .. }))),
        rule(|r| matches!(r, Relation::Open(Doubt::Replaced { .. }))),
        rule(|r| matches!(r, Relation::Open(Doubt::Reworded | Doubt::PartChanged))),
        rule(|r| matches!(r, Relation::ValueChange { .. })),
        rule(|r| matches!(r, Relation::Open(Doubt::StatedChange { .. }))),
    ];
    let cue = |s: &Side<'_>| {
        s.words.iter().any(|w| lexicon.cues.contains(&w.text))
            || s.words.windows(2).any(|p| lexicon.cue_pairs.contains(&(p[0].text.clone(), p[1].text.clone())))
    };
    let (names_a, names_b) = (names(a), names(b));
    let other_names = !names_a.is_subset(&ws_b) && !names_b.is_subset(&ws_a);
    let same_values = !values_a.is_empty() && values_a == values_b;
    let same_names = !names_a.is_empty() && names_a == names_b;
    let values_differ = values_a != values_b;
    PairFeatures {
        values,
        vetoes,
        cue: cue(&sa) || cue(&sb),
        other_names,
        same_values,
        same_names,
        values_differ,
    }
}

/// The stems of a document's name-like words: capitalised inside a
/// sentence, all capitals, or carrying digits, dots, slashes or underscores.
fn names(doc: &Document) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for fact in &doc.facts {
        let tokens =
            fact.text.split(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | ':' | '(' | ')' | '"'));
        for (i, raw) in tokens.filter(|t| !t.is_empty()).enumerate() {
            let t = raw.trim_matches(|c: char| !c.is_alphanumeric());
            let mut chars = t.chars();
            let Some(first) = chars.next() else { continue };
            let capitalised = i > 0 && first.is_uppercase();
            let caps = t.chars().count() > 1
                && t.chars().all(|c| !c.is_lowercase())
                && t.chars().any(char::is_alphabetic);
            let code = t.chars().any(|c| c.is_ascii_digit() || matches!(c, '.' | '/' | '_'));
            if capitalised || caps || code {
                out.insert(stem(&t.to_lowercase()));
            }
        }
    }
    out
}

/// Where one side is in the passive voice ("X is being V-ed by Y") and the
/// other is not: 1 when the other side puts the doer, the verb and the
/// thing done to in active order ("Y is V-ing X": the same roles), −1 when
/// it puts them otherwise (roles swapped or unclear), 0 when neither or
/// both sides are passive or the roles have no counterparts.
fn voice_roles(
    wa: &WordVectors,
    ab: &[(f32, usize)],
    wb: &WordVectors,
    ba: &[(f32, usize)],
    lexicon: &Lexicon,
) -> f64 {
    match (passive(wa, lexicon), passive(wb, lexicon)) {
        (Some(roles), None) => active_order(roles, ab),
        (None, Some(roles)) => active_order(roles, ba),
        _ => 0.0,
    }
}

/// Least cosine for a role's word to have a counterpart.
const ROLE_MATCH: f32 = 0.6;

/// The roles of a passive text: (thing done to, verb, doer), word indexes.
fn passive(w: &WordVectors, lexicon: &Lexicon) -> Option<(usize, usize, usize)> {
    let marker = w.words.iter().position(|x| lexicon.passive.contains(x))?;
    let verb = marker + 1;
    let by = (verb + 1..w.len().min(verb + 3)).find(|&i| lexicon.agents.contains(&w.words[i]))?;
    let content = |i: usize| !lexicon.grammar.contains(&w.words[i]);
    let patient = (0..marker).rev().find(|&i| content(i))?;
    let agent = (by + 1..w.len()).find(|&i| content(i))?;
    (verb < w.len()).then_some((patient, verb, agent))
}

fn active_order((patient, verb, agent): (usize, usize, usize), matches: &[(f32, usize)]) -> f64 {
    let at = |i: usize| matches.get(i).filter(|m| m.0 >= ROLE_MATCH).map(|m| m.1);
    match (at(agent), at(verb), at(patient)) {
        (Some(a), Some(v), Some(p)) if a < v && v < p => 1.0,
        (Some(_), Some(_), Some(_)) => -1.0,
        _ => 0.0,
    }
}

/// For each word of `x`, its best cosine among the words of `y` and where
/// (ties: the first).
fn best_matches(x: &WordVectors, y: &WordVectors) -> Vec<(f32, usize)> {
    (0..x.len())
        .map(|i| {
            let v = x.vector(i);
            let mut best = (f32::NEG_INFINITY, 0);
            for j in 0..y.len() {
                let c = cosine(v, y.vector(j));
                if c > best.0 {
                    best = (c, j);
                }
            }
            if y.is_empty() { (0.0, 0) } else { best }
        })
        .collect()
}

/// Among words matched both ways (each the other's best, at least
/// [`MATCHED`]), the share of pairs whose order differs between the texts:
/// 0 when aligned words keep their order, 1 when it is reversed.
fn order_discord(ab: &[(f32, usize)], ba: &[(f32, usize)]) -> f64 {
    let targets: Vec<usize> = ab
        .iter()
        .enumerate()
        .filter(|(i, (c, j))| *c >= MATCHED && ba.get(*j).is_some_and(|back| back.1 == *i))
        .map(|(_, (_, j))| *j)
        .collect();
    let n = targets.len();
    if n < 2 {
        return 0.0;
    }
    let mut discordant = 0usize;
    for i in 0..n {
        for k in i + 1..n {
            if targets[i] > targets[k] {
                discordant += 1;
            }
        }
    }
    discordant as f64 / (n * (n - 1) / 2) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wv(words: &[(&str, [f32; 2])]) -> WordVectors {
        WordVectors {
            words: words.iter().map(|w| w.0.to_owned()).collect(),
            dimension: 2,
            data: words.iter().flat_map(|w| w.1).collect(),
            sentence: vec![1.0, 0.0],
        }
    }

    #[test]
    fn names_match_the_vector() {
        assert_eq!(NAMES.len(), COUNT);
    }

    #[test]
    fn order_and_coverage_come_from_the_alignment() {
        let l = Lexicon::default();
        let (x, y) = ([1.0, 0.0], [0.0, 1.0]);
        let a = wv(&[("man", x), ("dog", y)]);
        let b = wv(&[("dog", y), ("man", x)]);
        let (da, db) = (Document::parse("man dog", &l), Document::parse("dog man", &l));
        let discord = NAMES.iter().position(|n| *n == "content_order_discord").unwrap();
        let f = features(&da, &db, &a, &b, 1.0, &Relation::Open(Doubt::WordOrder), &l);
        assert_eq!(f.values[1], 1.0);
        assert_eq!(f.values[discord], 1.0);
        assert!(f.vetoes.word_order && !f.vetoes.negation);
        let f = features(&da, &da, &a, &a, 1.0, &Relation::Same, &l);
        assert_eq!(f.values[discord], 0.0);
        assert!(!f.vetoes.any());
    }

    /// The features of two texts the rules call reworded, with one-word
    /// vectors (what the exact signals read is the text).
    fn reworded(a: &str, b: &str, cos: f32) -> PairFeatures {
        let l = Lexicon::default();
        let w = wv(&[("x", [1.0, 0.0])]);
        let (da, db) = (Document::parse(a, &l), Document::parse(b, &l));
        features(&da, &db, &w, &w, cos, &Relation::Open(Doubt::Reworded), &l)
    }

    #[test]
    fn exact_signals_are_vetoes() {
        let pair = |a: &str, b: &str| reworded(a, b, 0.9).vetoes;
        assert!(pair("We deploy on Fridays", "We never deploy on Fridays").negation);
        assert!(pair("port 5433", "port 5434").values);
        // Values veto a merge only when the side kept lacks one.
        assert!(!pair("ports 5433 and 5434", "port 5433").values);
        assert!(pair("port 5433", "ports 5433 and 5434").values);
        assert!(pair("the staging port", "the production port").qualifiers);
        assert!(pair("A man is sitting", "A man is standing").antonym);
        assert!(!pair("A man plays a guitar", "A guitar is played by a man").any());
    }

    #[test]
    fn notes_naming_the_same_things_are_never_settled_as_different() {
        let pair = |a: &str, b: &str| reworded(a, b, 0.6);
        let f = pair("CI for kobartor: Jenkins", "kobartor is built and tested on Jenkins in CI.");
        assert!(f.same_names && !f.may_differ());
        // Other names on each side: asked as a possible update, not as the same names.
        let f = pair("CI for kobartor: Jenkins", "CI for kobartor: Drone");
        assert!(!f.same_names && f.other_names && !f.may_differ());
        // Nothing named: the judge may settle the pair as two facts.
        let f = pair("billing keeps a large queue", "search keeps a small cache");
        assert!(!f.same_names && f.may_differ());
    }
}
