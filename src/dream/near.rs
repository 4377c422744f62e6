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
use crate::judge::{self, Judge, Judgement, PairVerdict};
use crate::text::{DistinctProof, Document, Doubt, Lexicon, Relation, Side, compare};

mod blocking;

pub use blocking::{blocking_keys, blocking_pairs, subject_words};

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
    let plain_difference = matches!(reason, Doubt::Reworded | Doubt::Replaced { .. } | Doubt::Added { .. });
    if plain_difference
        && only_a.len() >= MIN_OWN_SUBJECTS
        && only_b.len() >= MIN_OWN_SUBJECTS
        && a.negations() == b.negations()
        && !a.states_change(lexicon)
        && !b.states_change(lexicon)
    {
        return Relation::Distinct(DistinctProof::OwnSubjects { a: only_a.join(" "), b: only_b.join(" ") });
    }
    if matches!(reason, Doubt::Reworded) && similarity < thresholds.topic_floor {
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
        self.relation.merges() || self.verdict() == Some(PairVerdict::Same)
    }

    /// Whether the pair is two facts, settled without asking.
    pub fn distinct(&self) -> bool {
        matches!(self.relation, Relation::Distinct(_)) || self.verdict() == Some(PairVerdict::Different)
    }

    fn verdict(&self) -> Option<PairVerdict> {
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
                        Judged { relation: Relation::Open(Doubt::PartChanged), judgement: None }
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
#[path = "near_tests.rs"]
mod tests;
