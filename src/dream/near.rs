//! Stage 2: near-duplicate clusters, certain or ask.
//!
//! Candidates come from the embedding index (each memory's nearest
//! neighbours above a similarity floor) and from lexical blocking (pairs
//! sharing a rare word and one more word that is not grammar). Each
//! candidate is judged ([`Judging::pair`]): first by the wording rules
//! ([`text::compare`](crate::text::compare())), which settle what they prove
//! ([`Relation::Same`], [`Relation::Contains`], a value change, two
//! subjects; a rewording far apart in meaning and sharing no subject word is
//! about different topics); a pair they leave open goes to the
//! judge ([`crate::judge`]) of the embedder, when it has one, whose verdict
//! settles it (one memory states everything the other does: merged; two
//! facts: kept, not asked) or leaves it a question.
//!
//! Promise: a merge group is checked member by member against the memory
//! whose text it keeps — by the rules, or by the judge in that direction
//! (the kept text states everything the member states) — so transitive
//! chains never fold two subjects together.

use std::collections::{BTreeMap, BTreeSet};

use rayon::prelude::*;

use super::Thresholds;
use crate::embed::{WordVectors, cosine};
use crate::index::CandidatePair;
use crate::judge::{self, Judge, Judgement, Verdict};
use crate::text::{DistinctProof, Document, Lexicon, OpenReason, Relation, Side, compare};

/// The subject words (see [`subject_words`]) of a pair: how many both
/// name, and the ones each names alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubjectOverlap<'w> {
    /// The subject words of the first text.
    pub a: &'w BTreeSet<&'w str>,
    /// Those of the second.
    pub b: &'w BTreeSet<&'w str>,
}

impl SubjectOverlap<'_> {
    /// Whether they name a subject word in common.
    pub fn shared(&self) -> bool {
        self.a.intersection(self.b).next().is_some()
    }
}

/// Fewest subject words each side must name alone, with none in common, to
/// be two subjects' notes: a name and its own value ("poca … 3641" /
/// "povel … 47946"). One word each is how a value changes ("Owner: Diego" /
/// "owned by Priya"), so that stays a question.
pub const MIN_OWN_SUBJECTS: usize = 2;

/// How the wording rules judge a candidate pair: their verdict, and for a
/// pair they leave open, what the store's subject words say. Sharing none,
/// each naming [`MIN_OWN_SUBJECTS`] of its own, with as many negations and
/// neither stating a change, they are two subjects' notes; a rewording far apart in meaning
/// and sharing no subject word is about different topics.
pub fn rules(
    a: &Document,
    b: &Document,
    similarity: f32,
    subjects: SubjectOverlap<'_>,
    thresholds: &Thresholds,
    lexicon: &Lexicon,
) -> Relation {
    let relation = compare(a, b, lexicon);
    let Relation::Open(reason) = &relation else { return relation };
    if subjects.shared() {
        return relation;
    }
    let own = |x: &BTreeSet<&str>, y: &BTreeSet<&str>| -> Vec<String> {
        x.difference(y).map(|w| (*w).to_owned()).collect()
    };
    let (only_a, only_b) = (own(subjects.a, subjects.b), own(subjects.b, subjects.a));
    let plain_difference =
        matches!(reason, OpenReason::Reworded | OpenReason::Replaced { .. } | OpenReason::Added { .. });
    if plain_difference
        && only_a.len() >= MIN_OWN_SUBJECTS
        && only_b.len() >= MIN_OWN_SUBJECTS
        && a.negations() == b.negations()
        && !a.states_change(lexicon)
        && !b.states_change(lexicon)
    {
        return Relation::Distinct(DistinctProof::OwnSubjects { a: only_a.join(" "), b: only_b.join(" ") });
    }
    if matches!(reason, OpenReason::Reworded) && similarity < thresholds.topic_floor {
        return Relation::Distinct(DistinctProof::DifferentTopics);
    }
    relation
}

/// What stage 2 decided of a pair: the rules' relation and, where the rules
/// left it open and a judge was at hand, the judge's verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct Judged {
    /// How the wording relates the pair.
    pub relation: Relation,
    /// The judge's verdict on a pair the wording left open.
    pub judgement: Option<Judgement>,
}

impl Judged {
    /// Whether the pair is one memory (on the wording's proof or the judge's verdict).
    pub fn merges(&self) -> bool {
        self.relation.merges() || self.verdict() == Some(Verdict::Same)
    }

    /// Whether the pair is two facts, settled without asking.
    pub fn distinct(&self) -> bool {
        matches!(self.relation, Relation::Distinct(_)) || self.verdict() == Some(Verdict::Different)
    }

    fn verdict(&self) -> Option<Verdict> {
        self.judgement.map(|j| j.verdict)
    }

    fn flipped(self) -> Self {
        Judged { relation: self.relation.flipped(), judgement: self.judgement }
    }
}

/// Everything stage 2 judges pairs with: the documents, their vectors and
/// (where the judge needs them) contextual word vectors, the judge of the
/// embedder if it has one, and the rules' settings.
pub struct Judging<'a> {
    /// The documents (one per stage-1 group).
    pub documents: &'a [Document],
    /// Their pooled vectors.
    pub vectors: &'a [Vec<f32>],
    /// Their word vectors, where computed (see [`Judging::needs_words`]).
    pub words: Vec<Option<WordVectors>>,
    /// The judge for the embedder, if one was trained for it.
    pub judge: Option<&'a Judge>,
    /// Candidate and topic settings.
    pub thresholds: &'a Thresholds,
    /// The word lists.
    pub lexicon: &'a Lexicon,
    subjects: Vec<BTreeSet<&'a str>>,
}

impl<'a> Judging<'a> {
    /// A judging context with no word vectors yet.
    pub fn new(
        documents: &'a [Document],
        vectors: &'a [Vec<f32>],
        judge: Option<&'a Judge>,
        thresholds: &'a Thresholds,
        lexicon: &'a Lexicon,
    ) -> Self {
        Judging {
            documents,
            vectors,
            words: vec![None; documents.len()],
            judge,
            thresholds,
            lexicon,
            subjects: subject_words(documents, lexicon),
        }
    }

    /// The documents (ascending) whose word vectors the judge will need for
    /// `pairs`: both sides of every pair the rules leave open, when both
    /// are short enough to be judged ([`judge::MAX_WORDS`]). Empty without a judge.
    pub fn needs_words(&self, pairs: &[CandidatePair]) -> Vec<usize> {
        if self.judge.is_none() {
            return Vec::new();
        }
        let open: Vec<bool> = pairs.par_iter().map(|p| self.judgeable(p.a, p.b, p.similarity)).collect();
        let docs: BTreeSet<usize> =
            pairs.iter().zip(open).filter(|(_, o)| *o).flat_map(|(p, _)| [p.a, p.b]).collect();
        docs.into_iter().collect()
    }

    fn judgeable(&self, a: usize, b: usize, similarity: f32) -> bool {
        let short = |d: usize| self.documents[d].word_count() <= judge::MAX_WORDS;
        short(a) && short(b) && matches!(self.rules(a, b, similarity), Relation::Open(_))
    }

    fn rules(&self, a: usize, b: usize, similarity: f32) -> Relation {
        rules(
            &self.documents[a],
            &self.documents[b],
            similarity,
            self.overlap(a, b),
            self.thresholds,
            self.lexicon,
        )
    }

    fn overlap(&self, a: usize, b: usize) -> SubjectOverlap<'_> {
        SubjectOverlap { a: &self.subjects[a], b: &self.subjects[b] }
    }

    /// Judges documents `a` and `b`, brought together with `similarity`:
    /// the rules first; a pair they leave open goes to the judge when both
    /// have word vectors.
    pub fn pair(&self, a: usize, b: usize, similarity: f32) -> Judged {
        let relation = self.rules(a, b, similarity);
        let judgement = match (&relation, self.judge) {
            (Relation::Open(_), Some(judge)) => {
                self.features(a, b, similarity, &relation).map(|(ab, ba)| judge.decide(&ab, &ba))
            }
            _ => None,
        };
        Judged { relation, judgement }
    }

    /// Both directions' features of a pair, when both sides are short
    /// enough and have word vectors.
    fn features(
        &self,
        a: usize,
        b: usize,
        similarity: f32,
        relation: &Relation,
    ) -> Option<(judge::PairFeatures, judge::PairFeatures)> {
        let (da, db) = (&self.documents[a], &self.documents[b]);
        if da.word_count() > judge::MAX_WORDS || db.word_count() > judge::MAX_WORDS {
            return None;
        }
        let (wa, wb) = (self.words[a].as_ref()?, self.words[b].as_ref()?);
        let (mut ab, mut ba) = judge::both_ways((da, wa), (db, wb), similarity, relation, self.lexicon);
        // Another name for one attribute is how an update looks only when
        // the two are about one subject: with no subject word in common,
        // two names are two subjects.
        if !self.overlap(a, b).shared() {
            ab.other_names = false;
            ba.other_names = false;
        }
        Some((ab, ba))
    }

    /// Whether `wide` may absorb `narrow` on the judge's word: it states
    /// everything `narrow` states (see [`Judge::covers`]), with that probability.
    fn covers(&self, wide: usize, narrow: usize) -> Option<f64> {
        let judge = self.judge?;
        let similarity = cosine(&self.vectors[wide], &self.vectors[narrow]);
        let relation = self.rules(wide, narrow, similarity);
        if !matches!(relation, Relation::Open(_)) {
            return None;
        }
        let (ab, _) = self.features(wide, narrow, similarity, &relation)?;
        judge.covers(&ab)
    }
}

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

/// Each document's blocking keys (see [`BlockingKeys`]).
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
/// [`judge`] when it is found in at most one document in this many (at
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
fn word_sets(documents: &[Document], min_chars: usize) -> (Vec<BTreeSet<&str>>, BTreeMap<&str, usize>) {
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

/// A merge group of stage 2: exact groups (by index) folded together, and
/// the exact group whose text the output keeps.
#[derive(Debug, Clone, PartialEq)]
pub struct NearGroup {
    /// Indexes of stage-1 groups, ascending.
    pub members: Vec<usize>,
    /// The stage-1 group whose representative text stands for all.
    pub representative: usize,
    /// Members whose every fact the representative states among others
    /// (the rest state the same facts), ascending.
    pub contained: Vec<usize>,
    /// Members merged on the judge's verdict rather than the wording's
    /// proof, with the judge's probability that the representative states
    /// everything they state; ascending by member.
    pub judged: Vec<(usize, f64)>,
}

/// A candidate pair stage 2 could not settle, between near groups.
#[derive(Debug, Clone, PartialEq)]
pub struct Unsettled {
    /// One near group.
    pub a: usize,
    /// The other, `a < b`.
    pub b: usize,
    /// How the wording relates them: a value change or a question.
    pub relation: Relation,
    /// The judge's verdict, where it judged the pair (conflict or unsure).
    pub judgement: Option<Judgement>,
    /// The cosine of the candidate pair that brought them together.
    pub similarity: f32,
}

/// A pair the judge settled as two different facts (kept both, not asked).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Apart {
    /// One stage-1 group.
    pub a: usize,
    /// The other, `a < b`.
    pub b: usize,
    /// The judge's probability that they state different facts.
    pub probability: f64,
}

/// What stage 2 found.
#[derive(Debug, Clone, PartialEq)]
pub struct NearOutput {
    /// Merge groups, in order of their first member; every stage-1 group is
    /// in exactly one.
    pub groups: Vec<NearGroup>,
    /// Candidate pairs neither merged nor proved distinct, between different
    /// groups, sorted by (a, b) and distinct (the first relation of a pair
    /// of groups, in candidate order, counts).
    pub unsettled: Vec<Unsettled>,
    /// Pairs the judge settled as different facts, sorted by (a, b).
    pub apart: Vec<Apart>,
    /// How many candidate pairs the index and the blocking proposed.
    pub candidates: usize,
    /// Pairs merged on proof or on the judge's verdict.
    pub confirmed: usize,
    /// Pairs proved distinct or judged different.
    pub distinct: usize,
}

/// Clusters stage-1 groups given the candidate pairs (ids = stage-1 group
/// indexes), judged by `judging`.
pub fn cluster(judging: &Judging<'_>, pairs: &[CandidatePair]) -> NearOutput {
    let documents = judging.documents;
    let judged: Vec<Judged> = pairs.par_iter().map(|p| judging.pair(p.a, p.b, p.similarity)).collect();
    let n = documents.len();
    let mut uf = UnionFind::new(n);
    let mut confirmed = 0;
    let mut distinct = 0;
    let mut apart = Vec::new();
    for (p, r) in pairs.iter().zip(&judged) {
        if r.merges() {
            uf.union(p.a, p.b);
            confirmed += 1;
        } else if r.distinct() {
            distinct += 1;
            if let Some(j) = r.judgement {
                apart.push(Apart { a: p.a.min(p.b), b: p.a.max(p.b), probability: j.probability });
            }
        }
    }
    apart.sort_by_key(|x| (x.a, x.b));
    let mut components: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for i in 0..n {
        components.entry(uf.find(i)).or_default().push(i);
    }
    let mut groups: Vec<NearGroup> = Vec::new();
    for members in components.into_values() {
        if members.len() == 1 {
            groups.push(NearGroup {
                members: members.clone(),
                representative: members[0],
                contained: Vec::new(),
                judged: Vec::new(),
            });
            continue;
        }
        groups.extend(cover(judging, members));
    }
    groups.sort_by_key(|g| g.members[0]);
    let mut group_of = vec![0; n];
    for (gi, g) in groups.iter().enumerate() {
        for &m in &g.members {
            group_of[m] = gi;
        }
    }
    let mut unsettled: BTreeMap<(usize, usize), (Judged, f32)> = BTreeMap::new();
    for (p, r) in pairs.iter().zip(judged) {
        let (x, y) = (group_of[p.a], group_of[p.b]);
        if x == y || r.merges() || r.distinct() {
            continue;
        }
        // Judge the groups' kept texts: that is what stays in the output.
        let (a, b) = (x.min(y), x.max(y));
        unsettled.entry((a, b)).or_insert_with(|| {
            let (ra, rb) = (groups[a].representative, groups[b].representative);
            let judged = if (ra, rb) == (p.a, p.b) {
                r
            } else if (ra, rb) == (p.b, p.a) {
                r.flipped()
            } else {
                match judging.pair(ra, rb, p.similarity) {
                    // The kept texts merge or look distinct although members
                    // do not: a person should look.
                    settled if settled.merges() || settled.distinct() => {
                        Judged { relation: Relation::Open(OpenReason::PartChanged), judgement: None }
                    }
                    other => other,
                }
            };
            (judged, p.similarity)
        });
    }
    let unsettled = unsettled
        .into_iter()
        .map(|((a, b), (j, similarity))| Unsettled {
            a,
            b,
            relation: j.relation,
            judgement: j.judgement,
            similarity,
        })
        .collect();
    NearOutput { groups, unsettled, apart, candidates: pairs.len(), confirmed, distinct }
}

/// Splits a connected component into groups each wholly covered by its
/// representative: widest text first (most words, then lowest index), it
/// absorbs every remaining member it states word for word or that the
/// judge finds means the same — each member checked against the
/// representative itself, so chains never fold two subjects together.
fn cover(judging: &Judging<'_>, mut members: Vec<usize>) -> Vec<NearGroup> {
    let documents = judging.documents;
    members.sort_by(|&x, &y| documents[y].word_count().cmp(&documents[x].word_count()).then(x.cmp(&y)));
    let mut taken = vec![false; members.len()];
    let mut out = Vec::new();
    for i in 0..members.len() {
        if taken[i] {
            continue;
        }
        taken[i] = true;
        let rep = members[i];
        let mut group = vec![rep];
        let mut contained = Vec::new();
        let mut judged = Vec::new();
        for j in i + 1..members.len() {
            if taken[j] {
                continue;
            }
            let m = members[j];
            match compare(&documents[rep], &documents[m], judging.lexicon) {
                Relation::Same => group.push(m),
                Relation::Contains { wider: Side::A } => {
                    group.push(m);
                    contained.push(m);
                }
                _ => match judging.covers(rep, m) {
                    Some(probability) => {
                        group.push(m);
                        judged.push((m, probability));
                    }
                    None => continue,
                },
            }
            taken[j] = true;
        }
        group.sort_unstable();
        contained.sort_unstable();
        judged.sort_by_key(|x| x.0);
        out.push(NearGroup { members: group, representative: rep, contained, judged });
    }
    out
}

/// Disjoint sets over `0..n`; the root of a set is its smallest element, so
/// the result does not depend on the order of unions.
pub(crate) struct UnionFind {
    parent: Vec<usize>,
}

impl UnionFind {
    /// `n` singleton sets.
    pub(crate) fn new(n: usize) -> Self {
        Self { parent: (0..n).collect() }
    }

    /// The smallest element of `x`'s set.
    pub(crate) fn find(&mut self, x: usize) -> usize {
        let mut root = x;
        while self.parent[root] != root {
            root = self.parent[root];
        }
        let mut cur = x;
        while self.parent[cur] != root {
            let next = self.parent[cur];
            self.parent[cur] = root;
            cur = next;
        }
        root
    }

    /// Joins the sets of `a` and `b`.
    pub(crate) fn union(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            let (lo, hi) = (ra.min(rb), ra.max(rb));
            self.parent[hi] = lo;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn docs(texts: &[&str]) -> Vec<Document> {
        let l = Lexicon::default();
        texts.iter().map(|t| Document::parse(t, &l)).collect()
    }

    fn pair(a: usize, b: usize) -> CandidatePair {
        CandidatePair { a, b, similarity: 0.9 }
    }

    fn minilm_thresholds() -> Thresholds {
        let judge =
            crate::judge::Judge::from_json("minilm.json", include_str!("../judge/models/minilm.json"))
                .expect("the built-in judge parses");
        Thresholds::for_model(&judge.model_id).expect("MiniLM is calibrated")
    }

    #[test]
    fn cover_never_folds_two_subjects_through_a_shared_narrow_text() {
        let d = docs(&[
            "The port is 5433.",
            "The port is 5433. Billing owns it.",
            "The port is 5433. Search owns it.",
        ]);
        let (t, l) = (minilm_thresholds(), Lexicon::default());
        let v = vec![vec![1.0]; d.len()];
        let out = cluster(&Judging::new(&d, &v, None, &t, &l), &[pair(0, 1), pair(0, 2), pair(1, 2)]);
        assert_eq!(out.groups.len(), 2);
        assert!(out.groups.iter().all(|g| !(g.members.contains(&1) && g.members.contains(&2))));
        assert!(out.groups.iter().any(|g| g.contained == vec![0]));
        assert_eq!(out.unsettled.len(), 1);
    }

    /// A judge that finds every pair it sees the same meaning.
    fn credulous_judge() -> Judge {
        let booster = |base: f64| judge::Booster { base, trees: vec![], scale: 1.0, shift: 0.0 };
        Judge {
            format: judge::FORMAT.into(),
            model_id: "test".into(),
            features: judge::features::NAMES.iter().map(|s| (*s).to_owned()).collect(),
            entails: booster(8.0),
            different: booster(-8.0),
            conflict: booster(-8.0),
            cutoffs: judge::Cutoffs { same: 0.99, different: 0.99, conflict: 0.5 },
            command: String::new(),
            sources: vec![],
            training: judge::Training {
                folds: 5,
                fit_folds: vec![],
                dev_fold: 0,
                test_fold: 0,
                params: judge::boost::Params::default(),
                targets: judge::Targets { false_same: 0.0, false_different: 0.0 },
            },
        }
    }

    fn words_of(text: &str) -> WordVectors {
        let words: Vec<String> = text.split_whitespace().map(str::to_lowercase).collect();
        WordVectors { dimension: 1, data: vec![1.0; words.len()], words, sentence: vec![1.0] }
    }

    #[test]
    fn the_judge_merges_what_the_rules_leave_open_but_never_past_a_veto() {
        let texts = [
            "A man is playing a guitar",
            "A guitar is being played by a man",
            "A man is not playing a guitar",
        ];
        let d = docs(&texts);
        let (t, l, j) = (minilm_thresholds(), Lexicon::default(), credulous_judge());
        let v = vec![vec![1.0]; d.len()];
        let mut judging = Judging::new(&d, &v, Some(&j), &t, &l);
        let pairs = [pair(0, 1), pair(0, 2), pair(1, 2)];
        assert_eq!(judging.needs_words(&pairs), vec![0, 1, 2]);
        // Without word vectors the rules alone decide: nothing merges.
        assert!(cluster(&judging, &pairs).groups.iter().all(|g| g.members.len() == 1));
        for (i, text) in texts.iter().enumerate() {
            judging.words[i] = Some(words_of(text));
        }
        let out = cluster(&judging, &pairs);
        let merged = out.groups.iter().find(|g| g.members.len() > 1).unwrap();
        assert_eq!(merged.members, vec![0, 1]);
        assert_eq!(merged.judged.len(), 1);
        assert!(merged.judged[0].1 > 0.99);
        // The negation stays a question, with the judge's verdict on it.
        assert_eq!(out.unsettled.len(), 1);
        assert_eq!(out.unsettled[0].judgement.map(|j| j.verdict), Some(Verdict::Conflict));
        // No judge, no word vectors needed.
        assert!(Judging::new(&d, &v, None, &t, &l).needs_words(&pairs).is_empty());
    }

    #[test]
    fn far_apart_rewordings_are_different_topics() {
        let (t, l) = (minilm_thresholds(), Lexicon::default());
        let d = docs(&["Deploys happen on Fridays", "The cafeteria closes at noon"]);
        let none = BTreeSet::new();
        let apart = SubjectOverlap { a: &none, b: &none };
        assert_eq!(
            rules(&d[0], &d[1], t.topic_floor - 0.01, apart, &t, &l),
            Relation::Distinct(DistinctProof::DifferentTopics)
        );
        assert_eq!(
            rules(&d[0], &d[1], t.topic_floor + 0.01, apart, &t, &l),
            Relation::Open(OpenReason::Reworded)
        );
        // Sharing a subject's name, a rewording is a question however far apart.
        let fridays: BTreeSet<&str> = ["fridays"].into();
        let shared = SubjectOverlap { a: &fridays, b: &fridays };
        assert_eq!(rules(&d[0], &d[1], 0.0, shared, &t, &l), Relation::Open(OpenReason::Reworded));
    }

    #[test]
    fn two_subjects_notes_are_distinct_but_a_changed_value_is_asked() {
        let (t, l) = (minilm_thresholds(), Lexicon::default());
        let d = docs(&[
            "In production, poca runs on port 3641.",
            "In production, povel runs on port 47946.",
            "Owner of audit: Diego",
            "audit is owned by Priya",
            "povel now runs on port 3641 in production.",
        ]);
        let subjects = subject_words(&d, &l);
        let pair = |i: usize, j: usize| {
            rules(&d[i], &d[j], 0.9, SubjectOverlap { a: &subjects[i], b: &subjects[j] }, &t, &l)
        };
        assert!(
            matches!(pair(0, 1), Relation::Distinct(DistinctProof::OwnSubjects { .. })),
            "{:?} ({:?} / {:?})",
            pair(0, 1),
            subjects[0],
            subjects[1]
        );
        // One own word each (the value): the same attribute, perhaps changed.
        let none = BTreeSet::new();
        let (diego, priya): (BTreeSet<&str>, BTreeSet<&str>) = (["diego"].into(), ["priya"].into());
        let changed = rules(&d[2], &d[3], 0.9, SubjectOverlap { a: &diego, b: &priya }, &t, &l);
        assert!(matches!(changed, Relation::Open(_)), "{changed:?}");
        assert!(matches!(
            rules(&d[2], &d[3], 0.9, SubjectOverlap { a: &none, b: &none }, &t, &l),
            Relation::Open(_)
        ));
        // A text stating a change is never settled as another subject's note.
        let (poca, povel): (BTreeSet<&str>, BTreeSet<&str>) =
            (["poca", "3641"].into(), ["povel", "47946"].into());
        assert!(!matches!(
            rules(&d[0], &d[4], 0.9, SubjectOverlap { a: &poca, b: &povel }, &t, &l),
            Relation::Distinct(_)
        ));
    }

    #[test]
    fn blocking_finds_rewordings_sharing_a_rare_word() {
        let d = docs(&[
            "Replica count for analytics in production: 9",
            "The production analytics deployment is scaled to 6 replicas.",
            "analytics is owned by Priya",
        ]);
        assert_eq!(blocking_pairs(&d, &Lexicon::default()), vec![(0, 1)]);
        // One rare word (the subject) and a short common one (the attribute).
        let mut texts: Vec<String> = vec!["linfa CI runs on Drone.".into(), "CI for linfa: CircleCI".into()];
        texts.extend((0..20).map(|i| format!("CI for svc{i}: Jenkins")));
        texts.extend((0..180).map(|i| format!("The svc{i} service listens on port {i}.")));
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let d = docs(&refs);
        assert!(blocking_pairs(&d, &Lexicon::default()).contains(&(0, 1)));
        // Grammar is no second key.
        let d = docs(&["linfa is fast", "linfa is owned by Mei"]);
        assert!(blocking_pairs(&d, &Lexicon::default()).is_empty());
    }

    #[test]
    fn union_find_roots_are_smallest() {
        let mut uf = UnionFind::new(5);
        uf.union(4, 2);
        uf.union(2, 3);
        assert_eq!(uf.find(4), 2);
        uf.union(3, 0);
        assert_eq!(uf.find(4), 0);
    }
}
