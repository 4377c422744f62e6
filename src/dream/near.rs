//! Stage 2: near-duplicate clusters.
//!
//! Texts are analysed with typos fixed first ([`typo_fixes`](super::normalize::typo_fixes)).
//! Candidates come from the embedding index (each memory's nearest
//! neighbours above a similarity floor); each candidate is then confirmed by
//! a lexical comparison of content tokens ([`compare`]). Two memories merge
//! only when neither says anything the other does not ([`Relation::Duplicate`])
//! or one says all the other says and more ([`Relation::Subsumes`]). A
//! difference in a plain word may name a different subject ("staging" vs
//! "production", "billing" vs "search"), so it never merges; a difference in
//! values only (numbers, versions, days, flags, negation) is a
//! [`Relation::Conflict`] for stage 3.
//!
//! Promise: a merge group is checked member by member against the memory
//! whose text it keeps, so transitive chains ("port 5433" ⊂ "staging port
//! 5433" and ⊂ "production port 5433") never fold two subjects together.

use std::collections::{BTreeMap, BTreeSet};

use rayon::prelude::*;

use super::normalize::{Analysed, Token, TokenClass, is_qualifier};
use crate::index::CandidatePair;

/// How two memories relate, as far as wording tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Relation {
    /// The same content tokens: the same fact in other words.
    Duplicate,
    /// The `wider` side says everything the other says, and more.
    Subsumes {
        /// Which side is wider.
        wider: Side,
    },
    /// The same subject with a different value.
    Conflict {
        /// How sure the wording is that the subject is the same.
        strength: Strength,
    },
    /// Different facts (possibly look-alikes about different subjects).
    Distinct,
}

/// One side of a compared pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Side {
    /// The first argument.
    A,
    /// The second argument.
    B,
}

/// How sure a conflict is about sharing its subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Strength {
    /// Only values differ (or one side adds a negation or an update cue):
    /// the subject is certainly the same.
    Strong,
    /// A plain word differs too, or a value changed while words were added:
    /// the subject is probably the same, but a person should look.
    Weak,
}

/// Shortest text (in content tokens) that may be folded into a wider one:
/// a one-word memory is contained in too many others to mean anything.
pub const MIN_SUBSUMED_TOKENS: usize = 2;
/// The narrower text must hold at least this share of the wider one's
/// tokens to be folded into it (4 = 40 %): a two-word note is not "said" by
/// a long document that happens to contain both words.
pub const MIN_SUBSUMED_SHARE_TENTHS: usize = 4;
/// The lexical check: how `a` relates to `b` (see the module doc).
pub fn compare(a: &Analysed, b: &Analysed) -> Relation {
    if a.tokens.is_empty() || b.tokens.is_empty() {
        return if a.tokens.is_empty() && b.tokens.is_empty() {
            Relation::Duplicate
        } else {
            Relation::Distinct
        };
    }
    if states_change_of(a, b) || states_change_of(b, a) {
        return Relation::Conflict { strength: Strength::Strong };
    }
    let (only_a, only_b, shared) = multiset_diff(&a.tokens, &b.tokens);
    if let (Some(ca), Some(cb)) = (&a.change, &b.change) {
        let subject_a = words_besides(a, ca);
        let subject_b = words_besides(b, cb);
        let same_subject = subject_a.is_subset(&subject_b) || subject_b.is_subset(&subject_a);
        if ca == cb {
            // The same change: about one subject it is a copy, about two
            // ("ownership of X / of Y moved from Priya to Noor") two facts.
            return if only_a.is_empty() && only_b.is_empty() {
                Relation::Duplicate
            } else {
                Relation::Distinct
            };
        }
        // Changes that chain (A→B, then B→C) about one subject, or that
        // disagree about exactly the same subject.
        let chained = ca.1 == cb.0 || cb.1 == ca.0;
        // Both sides must name a subject: a bare "from 2 to 3" is about anything.
        let has_subjects = !subject_a.is_empty() && !subject_b.is_empty();
        if has_subjects && ((chained && same_subject) || subject_a == subject_b) {
            return Relation::Conflict { strength: Strength::Strong };
        }
    }
    if only_a.is_empty() && only_b.is_empty() {
        return Relation::Duplicate;
    }
    if shared.is_empty() {
        return Relation::Distinct;
    }
    // An environment or region word on one side only: two subjects.
    if only_a.iter().chain(&only_b).any(|t| is_qualifier(&t.text)) {
        return Relation::Distinct;
    }
    if only_a.is_empty() || only_b.is_empty() {
        let (wider, narrow, wide, extra) = if only_a.is_empty() {
            (Side::B, &a.tokens, &b.tokens, &only_b)
        } else {
            (Side::A, &b.tokens, &a.tokens, &only_a)
        };
        if narrow.len() < MIN_SUBSUMED_TOKENS || narrow.len() * 10 < wide.len() * MIN_SUBSUMED_SHARE_TENTHS {
            return Relation::Distinct;
        }
        let wide_cue = match wider {
            Side::A => a.cue.is_some(),
            Side::B => b.cue.is_some(),
        };
        if extra.iter().any(|t| t.class == TokenClass::Negation) || wide_cue {
            return Relation::Conflict { strength: Strength::Strong };
        }
        // The narrow text's verb was a generic one (dropped), the wide text
        // has none but adds a plain word: that word may be a verb that says
        // something else ("Saudi Arabia gets a seat" / "Saudi Arabia
        // rejects the seat").
        let (narrow_filler, wide_filler) = match wider {
            Side::A => (b.has_filler, a.has_filler),
            Side::B => (a.has_filler, b.has_filler),
        };
        if narrow_filler && !wide_filler && extra.iter().any(|t| t.class == TokenClass::Word) {
            return Relation::Distinct;
        }
        return Relation::Subsumes { wider };
    }
    let plain_a: Vec<&Token> = only_a.iter().filter(|t| !t.class.is_value()).collect();
    let plain_b: Vec<&Token> = only_b.iter().filter(|t| !t.class.is_value()).collect();
    let values_a = only_a.len() - plain_a.len();
    let values_b = only_b.len() - plain_b.len();
    if plain_a.is_empty() && plain_b.is_empty() {
        return Relation::Conflict { strength: Strength::Strong };
    }
    // One plain word swapped for another, nothing else changed, and the
    // shared part holds no value: "billing uses Postgres" / "billing uses
    // MySQL". The swapped word must not open either text (that is where the
    // subject usually stands: "Alice prefers tabs" / "Bob prefers tabs"),
    // and a shared value means the same value for two subjects.
    let shared_value = shared.iter().any(|t| t.class.is_value());
    if plain_a.len() == 1 && plain_b.len() == 1 && values_a == 0 && values_b == 0 && !shared_value {
        let opens = a.tokens[0] == *plain_a[0] || b.tokens[0] == *plain_b[0];
        return if opens { Relation::Distinct } else { Relation::Conflict { strength: Strength::Weak } };
    }
    // A value changed on a side that adds no plain word of its own: the
    // other side may only add qualifiers to the same subject.
    if (plain_a.is_empty() || plain_b.is_empty()) && values_a > 0 && values_b > 0 {
        return Relation::Conflict { strength: Strength::Weak };
    }
    Relation::Distinct
}

/// The plain words of a text other than the two values of its change.
fn words_besides<'a>(a: &'a Analysed, change: &(String, String)) -> BTreeSet<&'a str> {
    a.tokens
        .iter()
        .filter(|t| t.class == TokenClass::Word && t.text != change.0 && t.text != change.1)
        .map(|t| t.text.as_str())
        .collect()
}

/// Whether `update` says "… from X to Y" about what `old` states: `old`
/// holds X but not Y, and everything else `update` says is in `old`.
fn states_change_of(update: &Analysed, old: &Analysed) -> bool {
    let Some((from, to)) = &update.change else { return false };
    let old_words: BTreeSet<&str> = old.tokens.iter().map(|t| t.text.as_str()).collect();
    old_words.contains(from.as_str())
        && !old_words.contains(to.as_str())
        && update.tokens.iter().filter(|t| t.text != *to).all(|t| old_words.contains(t.text.as_str()))
}

/// Tokens only in `a`, only in `b`, and in both (as multisets).
fn multiset_diff(a: &[Token], b: &[Token]) -> (Vec<Token>, Vec<Token>, Vec<Token>) {
    let mut rest_b: Vec<Option<&Token>> = b.iter().map(Some).collect();
    let mut only_a = Vec::new();
    let mut shared = Vec::new();
    for t in a {
        if let Some(slot) = rest_b.iter_mut().find(|s| s.is_some_and(|x| x == t)) {
            *slot = None;
            shared.push(t.clone());
        } else {
            only_a.push(t.clone());
        }
    }
    let only_b: Vec<Token> = rest_b.into_iter().flatten().cloned().collect();
    (only_a, only_b, shared)
}

/// Most memories a word may appear in to serve as a blocking key: a word
/// that rare names a subject (a service, a person, a tool).
pub const MAX_BLOCK_DF: usize = 48;
/// Fewest content words two memories must share to be a blocking candidate.
pub const MIN_BLOCK_SHARED: usize = 2;

/// Candidate pairs by shared rare words (lexical blocking), `a < b`,
/// sorted: every pair of texts that share a word found in at most
/// [`MAX_BLOCK_DF`] texts and at least [`MIN_BLOCK_SHARED`] words in all.
/// This complements the embedding's nearest neighbours, which miss
/// rewordings when many look-alikes crowd the neighbourhood.
pub fn blocking_pairs(analysed: &[Analysed]) -> Vec<(usize, usize)> {
    let sets: Vec<BTreeSet<&str>> =
        analysed.iter().map(|a| a.tokens.iter().map(|t| t.text.as_str()).collect()).collect();
    let mut postings: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, set) in sets.iter().enumerate() {
        for w in set {
            postings.entry(w).or_default().push(i);
        }
    }
    let lists: Vec<&Vec<usize>> =
        postings.values().filter(|l| l.len() > 1 && l.len() <= MAX_BLOCK_DF).collect();
    let mut pairs: Vec<(usize, usize)> = lists
        .par_iter()
        .flat_map_iter(|list| {
            let sets = &sets;
            list.iter().enumerate().flat_map(move |(x, &a)| {
                list[x + 1..]
                    .iter()
                    .filter(move |&&b| sets[a].intersection(&sets[b]).count() >= MIN_BLOCK_SHARED)
                    .map(move |&b| (a, b))
            })
        })
        .collect();
    pairs.par_sort_unstable();
    pairs.dedup();
    pairs
}

/// A merge group of stage 2: exact groups (by index) folded together, and
/// the exact group whose text the output keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NearGroup {
    /// Indexes of stage-1 groups, ascending.
    pub members: Vec<usize>,
    /// The stage-1 group whose representative text stands for all.
    pub representative: usize,
}

/// What stage 2 found.
#[derive(Debug, Clone, PartialEq)]
pub struct NearOutput {
    /// Merge groups, in order of their first member; every stage-1 group is
    /// in exactly one.
    pub groups: Vec<NearGroup>,
    /// Candidate pairs the lexical check judged a conflict, as (near group,
    /// near group), `a < b`, sorted and distinct.
    pub conflicts: Vec<(usize, usize)>,
    /// How many candidate pairs the index proposed.
    pub candidates: usize,
    /// Pairs confirmed as duplicates or subsumed.
    pub confirmed: usize,
}

/// Clusters stage-1 groups given their analysed representative texts and the
/// index's candidate pairs (ids = stage-1 group indexes).
pub fn cluster(analysed: &[Analysed], pairs: &[CandidatePair]) -> NearOutput {
    let relations: Vec<Relation> =
        pairs.par_iter().map(|p| compare(&analysed[p.a], &analysed[p.b])).collect();
    let n = analysed.len();
    let mut uf = UnionFind::new(n);
    let mut confirmed = 0;
    for (p, r) in pairs.iter().zip(&relations) {
        if matches!(r, Relation::Duplicate | Relation::Subsumes { .. }) {
            uf.union(p.a, p.b);
            confirmed += 1;
        }
    }
    let mut components: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for i in 0..n {
        components.entry(uf.find(i)).or_default().push(i);
    }
    let mut groups: Vec<NearGroup> = Vec::new();
    for members in components.into_values() {
        if members.len() == 1 {
            groups.push(NearGroup { members: members.clone(), representative: members[0] });
            continue;
        }
        groups.extend(cover(analysed, members));
    }
    groups.sort_by_key(|g| g.members[0]);
    let mut group_of = vec![0; n];
    for (gi, g) in groups.iter().enumerate() {
        for &m in &g.members {
            group_of[m] = gi;
        }
    }
    let conflicts: BTreeSet<(usize, usize)> = pairs
        .iter()
        .zip(&relations)
        .filter(|(_, r)| matches!(r, Relation::Conflict { .. }))
        .map(|(p, _)| (group_of[p.a], group_of[p.b]))
        .filter(|(x, y)| x != y)
        .map(|(x, y)| (x.min(y), x.max(y)))
        .collect();
    NearOutput { groups, conflicts: conflicts.into_iter().collect(), candidates: pairs.len(), confirmed }
}

/// Splits a connected component into groups each wholly covered by its
/// representative: widest text first (most tokens, then lowest index), it
/// absorbs every remaining member it duplicates or subsumes.
fn cover(analysed: &[Analysed], mut members: Vec<usize>) -> Vec<NearGroup> {
    members.sort_by(|&x, &y| analysed[y].tokens.len().cmp(&analysed[x].tokens.len()).then(x.cmp(&y)));
    let mut taken = vec![false; members.len()];
    let mut out = Vec::new();
    for i in 0..members.len() {
        if taken[i] {
            continue;
        }
        taken[i] = true;
        let rep = members[i];
        let mut group = vec![rep];
        for j in i + 1..members.len() {
            if taken[j] {
                continue;
            }
            let m = members[j];
            let covered = match compare(&analysed[rep], &analysed[m]) {
                Relation::Duplicate | Relation::Subsumes { wider: Side::A } => true,
                Relation::Subsumes { wider: Side::B } | Relation::Conflict { .. } | Relation::Distinct => {
                    false
                }
            };
            if covered {
                taken[j] = true;
                group.push(m);
            }
        }
        group.sort_unstable();
        out.push(NearGroup { members: group, representative: rep });
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
    use crate::dream::normalize::analyse;

    fn rel(a: &str, b: &str) -> Relation {
        compare(&analyse(a), &analyse(b))
    }

    const STRONG: Relation = Relation::Conflict { strength: Strength::Strong };
    const WEAK: Relation = Relation::Conflict { strength: Strength::Weak };

    #[test]
    fn paraphrases_are_duplicates() {
        assert_eq!(
            rel("The staging DB listens on port 5433.", "staging database port: 5433"),
            Relation::Duplicate
        );
        assert_eq!(rel("Deploys happen on Fridays", "We always deploy on Friday"), Relation::Duplicate);
    }

    #[test]
    fn look_alikes_are_distinct() {
        assert_eq!(rel("staging port is 5433", "production port is 5432"), Relation::Distinct);
        assert_eq!(
            rel("The billing service deploys on Fridays", "The search service deploys on Fridays"),
            Relation::Distinct
        );
        assert_eq!(rel("Alice prefers tabs", "Bob prefers tabs"), Relation::Distinct);
        assert_eq!(
            rel("The port for staging is 5433", "The port for production is 5433"),
            Relation::Distinct
        );
        assert_eq!(rel("billing runs python 3.11", "search runs python 3.12"), Relation::Distinct);
        assert_eq!(
            rel("exports-dark-launch flag: enabled", "reports-dark-launch flag: enabled"),
            Relation::Distinct
        );
        assert_eq!(rel("the billing-v1 flag is on", "the billing-v2 flag is on"), Relation::Distinct);
    }

    #[test]
    fn value_changes_are_conflicts() {
        assert_eq!(rel("staging port is 5433", "staging port is 5434"), STRONG);
        assert_eq!(rel("We deploy on Fridays", "We deploy on Thursdays"), STRONG);
        assert_eq!(rel("feature flag beta is enabled", "feature flag beta is disabled"), STRONG);
        assert_eq!(rel("We deploy on Fridays", "We do not deploy on Fridays"), STRONG);
        assert_eq!(rel("billing uses Postgres", "billing uses MySQL"), WEAK);
        assert_eq!(rel("billing uses Postgres", "Billing moved from Postgres to MySQL"), STRONG);
        assert_eq!(
            rel(
                "shipping moved from Cassandra to CockroachDB.",
                "shipping now stores its data in DynamoDB instead of CockroachDB."
            ),
            STRONG
        );
        assert_eq!(
            rel(
                "velloko deploys moved from Wednesdays to Mondays",
                "velloko deploys moved from Mondays to Wednesdays"
            ),
            STRONG
        );
        assert_eq!(
            rel(
                "Ownership of draqu moved from Priya to Noor.",
                "Ownership of salinko moved from Priya to Noor."
            ),
            Relation::Distinct
        );
        assert_eq!(
            rel("Python version for pomi: 3.10", "pomi was upgraded from Python 3.10 to 3.9."),
            STRONG
        );
        assert_eq!(
            rel("fane is maintained by Marcus's team.", "Ownership of fane moved from Marcus to Mei."),
            STRONG
        );
        assert_eq!(
            rel("billing moved from Postgres to MySQL", "search moved from Postgres to MySQL"),
            Relation::Distinct
        );
        assert_eq!(rel("Database for reports: MySQL", "reports moved from MySQL to MongoDB."), STRONG);
        assert_eq!(rel("CI for payments: Jenkins", "media CI now runs on Jenkins."), Relation::Distinct);
        assert_eq!(rel("search uses Postgres", "billing moved from Postgres to MySQL"), Relation::Distinct);
    }

    #[test]
    fn subsumption_needs_enough_overlap() {
        assert_eq!(
            rel("staging port is 5433", "The staging database listens on port 5433 behind pgbouncer"),
            Relation::Subsumes { wider: Side::B }
        );
        assert_eq!(rel("tabs", "Use tabs for Go code"), Relation::Distinct);
        let long =
            "staging port 5433 and a long list of other unrelated things about the whole platform setup";
        assert_eq!(rel("staging port 5433", long), Relation::Distinct);
    }

    #[test]
    fn cover_never_folds_two_subjects_through_a_shared_narrow_text() {
        let texts = ["port is 5433", "billing port is 5433", "search port is 5433"];
        let analysed: Vec<Analysed> = texts.iter().map(|t| analyse(t)).collect();
        let pair = |a, b| CandidatePair { a, b, similarity: 0.9 };
        let out = cluster(&analysed, &[pair(0, 1), pair(0, 2), pair(1, 2)]);
        assert_eq!(out.groups.len(), 2);
        assert!(out.groups.iter().all(|g| !(g.members.contains(&1) && g.members.contains(&2))));
    }

    #[test]
    fn blocking_finds_rewordings_sharing_a_rare_word() {
        let texts = [
            "Replica count for analytics in production: 9",
            "The production analytics deployment is scaled to 6 replicas.",
            "analytics is owned by Priya",
        ];
        let analysed: Vec<Analysed> = texts.iter().map(|t| analyse(t)).collect();
        assert_eq!(blocking_pairs(&analysed), vec![(0, 1)]);
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

    #[test]
    fn a_generic_verb_is_not_subsumed_by_another_verb() {
        // From STS-B test pairs scored below 3 (different meanings).
        assert_eq!(
            rel(
                "Saudi Arabia gets a seat at the UN Security Council",
                "Saudi Arabia rejects seat on UN Security Council"
            ),
            Relation::Distinct
        );
        assert_eq!(
            rel("It depends on how it's used.", "It depends on how long it's been out."),
            Relation::Distinct
        );
        // "not just" is no negation, so the wider text does not contain the narrow one.
        assert_eq!(
            rel("It's not a good idea.", "It's not just a good idea, it's an excellent idea."),
            Relation::Distinct
        );
        // A generic verb on both sides still subsumes.
        assert_eq!(
            rel("billing uses Postgres", "billing uses Postgres for invoices and refunds"),
            Relation::Subsumes { wider: Side::B }
        );
    }

    /// `compare(b, a)` is `compare(a, b)` with the sides swapped.
    fn assert_symmetric(a: &str, b: &str) {
        let (x, y) = (analyse(a), analyse(b));
        let flipped = match compare(&x, &y) {
            Relation::Subsumes { wider: Side::A } => Relation::Subsumes { wider: Side::B },
            Relation::Subsumes { wider: Side::B } => Relation::Subsumes { wider: Side::A },
            other => other,
        };
        assert_eq!(flipped, compare(&y, &x), "{a:?} vs {b:?}");
    }

    #[test]
    fn a_change_without_a_subject_on_one_side_is_symmetric() {
        // Found by the `dream_text` fuzz target: the chained-change rule
        // looked at one side's subject only.
        assert_symmetric("ay 4 from 2 to c 2", "5jo5 from 2 to 2");
        assert_symmetric("billing moved from 2 to 3", "moved from 3 to 4");
    }

    proptest::proptest! {
        #[test]
        fn compare_is_symmetric(
            a in proptest::collection::vec(proptest::sample::select(VOCABULARY), 0..9),
            b in proptest::collection::vec(proptest::sample::select(VOCABULARY), 0..9),
        ) {
            assert_symmetric(&a.join(" "), &b.join(" "));
        }
    }

    /// Words that steer the rules: cues, change markers, values, qualifiers.
    const VOCABULARY: &[&str] = &[
        "from",
        "to",
        "instead",
        "of",
        "now",
        "no",
        "longer",
        "not",
        "billing",
        "search",
        "port",
        "staging",
        "production",
        "5432",
        "5433",
        "2",
        "3.11",
        "friday",
        "monday",
        "enabled",
        "disabled",
        "postgres",
        "mysql",
        "owner",
        "priya",
        "noor",
        "moved",
        "x",
        "y",
    ];
}
