//! Lexical blocking: candidate pairs by shared rare words, and each
//! memory's subject words.

use std::collections::{BTreeMap, BTreeSet};

use rayon::prelude::*;

use crate::text::{Document, Lexicon};

/// Most memories a word may appear in to serve as a blocking key: a word
/// that rare names a subject (a service, a person, a tool).
pub const MAX_BLOCK_DF: usize = 48;
/// Fewest distinct words two memories must share to be a blocking candidate.
pub const MIN_BLOCK_SHARED: usize = 2;
/// Words this short are grammar more often than subjects; they never
/// serve as the rare key of a pair.
pub const MIN_BLOCK_CHARS: usize = 3;
/// Beside one rare key, the other shared word may be any word of two
/// letters or more ("CI", "DB"), grammar aside ([`Lexicon::grammar`]), found
/// in at most one memory in this many (or in at most [`MAX_BLOCK_DF`] if
/// that is more).
pub const SECOND_KEY_DF_DIVISOR: usize = 4;

/// The words by which [`blocking_pairs`] proposes a document.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BlockingKeys<'d> {
    /// Words of at least [`MIN_BLOCK_CHARS`] letters, not grammar, found
    /// in at most [`MAX_BLOCK_DF`] documents.
    pub rare: BTreeSet<&'d str>,
    /// Words of at least two letters, not grammar, found in at most a
    /// [`SECOND_KEY_DF_DIVISOR`]th of the documents (see there).
    pub uncommon: BTreeSet<&'d str>,
}

impl BlockingKeys<'_> {
    /// Whether two documents are a blocking candidate: they share a rare
    /// word and at least [`MIN_BLOCK_SHARED`] uncommon words in all ("linfa
    /// CI runs on Drone" and "CI for linfa: CircleCI" share "linfa" and
    /// "ci").
    pub fn pairs_with(&self, other: &Self) -> bool {
        self.rare.intersection(&other.rare).next().is_some()
            && self.uncommon.intersection(&other.uncommon).take(MIN_BLOCK_SHARED).count() >= MIN_BLOCK_SHARED
    }
}

/// Each document's blocking keys (see `BlockingKeys`).
pub fn blocking_keys<'d>(documents: &'d [Document], lexicon: &Lexicon) -> Vec<BlockingKeys<'d>> {
    let (sets, df) = word_sets(documents, 2);
    let second_df = (documents.len() / SECOND_KEY_DF_DIVISOR).max(MAX_BLOCK_DF);
    sets.into_iter()
        .map(|set| {
            let uncommon: BTreeSet<&str> =
                set.into_iter().filter(|w| df[w] <= second_df && !lexicon.grammar.contains(*w)).collect();
            let rare = uncommon
                .iter()
                .copied()
                .filter(|w| df[w] <= MAX_BLOCK_DF && w.chars().count() >= MIN_BLOCK_CHARS)
                .collect();
            BlockingKeys { rare, uncommon }
        })
        .collect()
}

/// Candidate pairs by shared rare words (lexical blocking), `a < b`,
/// sorted: every pair of documents that [`BlockingKeys::pairs_with`]
/// proposes. This complements the embedding's nearest neighbours, which
/// miss rewordings and a short note that repeats one fact of a long
/// document. Only documents sharing a rare word are compared, so the work
/// is bounded by [`MAX_BLOCK_DF`] per word.
pub fn blocking_pairs(documents: &[Document], lexicon: &Lexicon) -> Vec<(usize, usize)> {
    let keys = blocking_keys(documents, lexicon);
    let mut postings: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, k) in keys.iter().enumerate() {
        for w in &k.rare {
            postings.entry(w).or_default().push(i);
        }
    }
    let lists: Vec<&Vec<usize>> = postings.values().filter(|l| l.len() > 1).collect();
    let mut pairs: Vec<(usize, usize)> = lists
        .par_iter()
        .flat_map_iter(|list| {
            let keys = &keys;
            list.iter().enumerate().flat_map(move |(x, &a)| {
                list[x + 1..].iter().filter(move |&&b| keys[a].pairs_with(&keys[b])).map(move |&b| (a, b))
            })
        })
        .collect();
    pairs.par_sort_unstable();
    pairs.dedup();
    pairs
}

/// A word names a subject (a service, a person, a tool) for
/// [`judge`](crate::judge) when it is found in at most one document in this many (at
/// least 2 documents, at most [`MAX_BLOCK_DF`]): in a small store every
/// word is rare, but not every word is a name.
pub const SUBJECT_DF_DIVISOR: usize = 10;

/// Each document's subject words: rare words found in at most
/// `n / SUBJECT_DF_DIVISOR` of the `n` documents (see
/// [`SUBJECT_DF_DIVISOR`]), of [`MIN_BLOCK_CHARS`] letters or more, grammar
/// aside.
pub fn subject_words<'d>(documents: &'d [Document], lexicon: &Lexicon) -> Vec<BTreeSet<&'d str>> {
    let max_df = (documents.len() / SUBJECT_DF_DIVISOR).clamp(2, MAX_BLOCK_DF);
    let (sets, df) = word_sets(documents, MIN_BLOCK_CHARS);
    let subject = |w: &str| df[w] <= max_df && !lexicon.grammar.contains(w);
    sets.into_iter().map(|set| set.into_iter().filter(|w| subject(w)).collect()).collect()
}

/// Each document's distinct words of at least `min_chars` letters, and in
/// how many documents each word is found.
pub(super) fn word_sets(
    documents: &[Document],
    min_chars: usize,
) -> (Vec<BTreeSet<&str>>, BTreeMap<&str, usize>) {
    let sets: Vec<BTreeSet<&str>> = documents
        .iter()
        .map(|d| {
            d.facts
                .iter()
                .flat_map(|f| f.words.iter())
                .map(|w| w.text.as_str())
                .filter(|w| w.chars().count() >= min_chars)
                .collect()
        })
        .collect();
    let mut df: BTreeMap<&str, usize> = BTreeMap::new();
    for set in &sets {
        for w in set {
            *df.entry(w).or_insert(0) += 1;
        }
    }
    (sets, df)
}
