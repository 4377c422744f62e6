//! What the judge sees of a pair: a fixed vector of numbers, symmetric in
//! the two texts.
//!
//! Two sources. The model's contextual word vectors give a soft word
//! alignment — how well each word of one text is matched by some word of
//! the other, what is left unmatched, whether matched words keep their
//! order. The text analysis gives the exact signals: negation, values
//! (numbers, versions, days, states), environment words, word order, how
//! much wording the two share, and the rules' own relation.

use std::collections::BTreeSet;

use crate::embed::{WordVectors, cosine};
use crate::text::compare::share;
use crate::text::{Document, Kind, Lexicon, OpenReason, Relation};

/// A word of one text is matched in the other when its best cosine there
/// is at least this.
pub const MATCHED: f32 = 0.7;
/// A word whose best cosine in the other text is below this has no
/// counterpart there.
pub const UNMATCHED: f32 = 0.5;

/// Names of the features, in vector order (the model file records them,
/// so a model trained on another list is refused).
pub const NAMES: &[&str] = &[
    "cosine",
    "coverage_min",
    "coverage_max",
    "worst_match",
    "unmatched_share_max",
    "weak_share_max",
    "order_discord",
    "length_ratio",
    "length_min",
    "jaccard",
    "aligned_share",
    "new_words_max",
    "negation_differs",
    "values_differ",
    "qualifiers_differ",
    "same_words_other_order",
    "rule_added",
    "rule_replaced",
    "rule_reworded",
    "rule_value_change",
    "rule_stated_change",
];

/// Number of features.
pub const COUNT: usize = 21;

/// The exact signals that forbid a merge whatever the model says: each
/// marks a difference in meaning the wording proves.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Vetoes {
    /// One side negates more often than the other.
    pub negation: bool,
    /// The numbers, versions, days or states differ.
    pub values: bool,
    /// An environment, region or platform word differs.
    pub qualifiers: bool,
    /// The same words in another order (roles may be swapped).
    pub word_order: bool,
}

impl Vetoes {
    /// Whether any veto holds.
    pub fn any(&self) -> bool {
        self.negation || self.values || self.qualifiers || self.word_order
    }
}

/// A pair's features and vetoes.
#[derive(Debug, Clone, PartialEq)]
pub struct PairFeatures {
    /// The feature vector, in [`NAMES`] order.
    pub values: [f64; COUNT],
    /// The exact signals that forbid a merge.
    pub vetoes: Vetoes,
}

/// The features of the pair (`a`, `b`): their documents, word vectors,
/// pooled cosine and the rules' relation.
pub fn features(
    a: &Document,
    b: &Document,
    wa: &WordVectors,
    wb: &WordVectors,
    cos: f32,
    relation: &Relation,
    lexicon: &Lexicon,
) -> PairFeatures {
    let ab = best_matches(wa, wb);
    let ba = best_matches(wb, wa);
    let mean = |m: &[(f32, usize)]| {
        if m.is_empty() { 0.0 } else { m.iter().map(|x| f64::from(x.0)).sum::<f64>() / m.len() as f64 }
    };
    let min = |m: &[(f32, usize)]| m.iter().map(|x| f64::from(x.0)).fold(1.0, f64::min);
    let below = |m: &[(f32, usize)], t: f32| {
        if m.is_empty() { 0.0 } else { m.iter().filter(|x| x.0 < t).count() as f64 / m.len() as f64 }
    };
    let (cov_ab, cov_ba) = (mean(&ab), mean(&ba));
    let (na, nb) = (wa.len().max(1) as f64, wb.len().max(1) as f64);

    let words_a: Vec<&crate::text::Word> = a.facts.iter().flat_map(|f| f.words.iter()).collect();
    let words_b: Vec<&crate::text::Word> = b.facts.iter().flat_map(|f| f.words.iter()).collect();
    let set_a: BTreeSet<&str> = words_a.iter().map(|w| w.text.as_str()).collect();
    let set_b: BTreeSet<&str> = words_b.iter().map(|w| w.text.as_str()).collect();
    let union = set_a.union(&set_b).count().max(1) as f64;
    let jaccard = set_a.intersection(&set_b).count() as f64 / union;
    let flat_a: Vec<crate::text::Word> = words_a.iter().map(|w| (*w).clone()).collect();
    let flat_b: Vec<crate::text::Word> = words_b.iter().map(|w| (*w).clone()).collect();
    let aligned = share(&flat_a, &flat_b);
    let content = |s: &BTreeSet<&str>, other: &BTreeSet<&str>| {
        let own: Vec<&&str> = s.iter().filter(|w| !lexicon.grammar.contains(**w)).collect();
        if own.is_empty() {
            0.0
        } else {
            own.iter().filter(|w| !other.contains(**w)).count() as f64 / own.len() as f64
        }
    };
    let new_words = content(&set_a, &set_b).max(content(&set_b, &set_a));

    let negations = |ws: &[&crate::text::Word]| ws.iter().filter(|w| w.kind == Kind::Negation).count();
    let values = |ws: &[&crate::text::Word]| -> BTreeSet<String> {
        ws.iter().filter(|w| w.kind.is_value()).map(|w| w.text.clone()).collect()
    };
    let qualifiers = |s: &BTreeSet<&str>| -> BTreeSet<String> {
        s.iter().filter(|w| lexicon.qualifiers.contains(**w)).map(|w| (*w).to_owned()).collect()
    };
    let mut sorted_a: Vec<&str> = words_a.iter().map(|w| w.text.as_str()).collect();
    let mut sorted_b: Vec<&str> = words_b.iter().map(|w| w.text.as_str()).collect();
    sorted_a.sort_unstable();
    sorted_b.sort_unstable();
    let vetoes = Vetoes {
        negation: negations(&words_a) != negations(&words_b),
        values: values(&words_a) != values(&words_b),
        qualifiers: qualifiers(&set_a) != qualifiers(&set_b),
        word_order: sorted_a == sorted_b && flat_a != flat_b,
    };
    let flag = |b: bool| if b { 1.0 } else { 0.0 };
    let rule = |f: fn(&Relation) -> bool| flag(f(relation));
    let values = [
        f64::from(cos),
        cov_ab.min(cov_ba),
        cov_ab.max(cov_ba),
        min(&ab).min(min(&ba)),
        below(&ab, UNMATCHED).max(below(&ba, UNMATCHED)),
        below(&ab, MATCHED).max(below(&ba, MATCHED)),
        order_discord(&ab, &ba),
        (na / nb).ln().abs(),
        na.min(nb).ln_1p(),
        jaccard,
        aligned,
        new_words,
        flag(vetoes.negation),
        flag(vetoes.values),
        flag(vetoes.qualifiers),
        flag(vetoes.word_order),
        rule(|r| matches!(r, Relation::Open(OpenReason::Added { .. }))),
        rule(|r| matches!(r, Relation::Open(OpenReason::Replaced { .. }))),
        rule(|r| matches!(r, Relation::Open(OpenReason::Reworded | OpenReason::PartChanged))),
        rule(|r| matches!(r, Relation::ValueChange { .. })),
        rule(|r| matches!(r, Relation::Open(OpenReason::StatedChange { .. }))),
    ];
    PairFeatures { values, vetoes }
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
        let f = features(&da, &db, &a, &b, 1.0, &Relation::Open(OpenReason::WordOrder), &l);
        assert_eq!(f.values[1], 1.0);
        assert_eq!(f.values[6], 1.0);
        assert!(f.vetoes.word_order && !f.vetoes.negation);
        let f = features(&da, &da, &a, &a, 1.0, &Relation::Same, &l);
        assert_eq!(f.values[6], 0.0);
        assert!(!f.vetoes.any());
    }

    #[test]
    fn exact_signals_are_vetoes() {
        let l = Lexicon::default();
        let w = wv(&[("x", [1.0, 0.0])]);
        let pair = |a: &str, b: &str| {
            let (da, db) = (Document::parse(a, &l), Document::parse(b, &l));
            features(&da, &db, &w, &w, 0.9, &Relation::Open(OpenReason::Reworded), &l).vetoes
        };
        assert!(pair("We deploy on Fridays", "We never deploy on Fridays").negation);
        assert!(pair("port 5433", "port 5434").values);
        assert!(pair("the staging port", "the production port").qualifiers);
        assert!(!pair("A man plays a guitar", "A guitar is played by a man").any());
    }
}
