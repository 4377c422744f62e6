//! Certain or ask: how two texts relate, and whether that is proved.
//!
//! Two texts are compared as word sequences ([`words`](super::words())), fact
//! by fact ([`Document`]). Only three outcomes are settled by the wording
//! alone, each on proof:
//! - [`Relation::Same`]: every fact of each is worded identically in the
//!   other, after the lexicon's meaning-preserving edits;
//! - [`Relation::Contains`]: every fact of one is worded identically in the
//!   other, which states more facts (whole facts, never words: "Use tabs" is
//!   not contained in "Use tabs in Go files" — a modifier narrows a claim);
//! - [`Relation::Distinct`]: the texts differ by an environment, region or
//!   platform word (two subjects).
//!
//! [`Relation::ValueChange`] (the same words but values: numbers, versions,
//! days, flags; or an update cue such as "now", "no longer") proves the same
//! subject with another value; the dream settles it only with evidence of
//! which is newer. Everything else is [`Relation::Open`], with the reason:
//! word order, roles, prepositions, negation, modifiers and scope are
//! meaning, so a difference in them is a question, never a merge.

use std::collections::BTreeSet;
use std::fmt;

use super::facts::{Document, Fact, join};
use super::{Kind, Lexicon, Word};

/// One side of a compared pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Side {
    /// The first text.
    A,
    /// The second text.
    B,
}

impl Side {
    /// The other side.
    pub fn other(self) -> Self {
        match self {
            Side::A => Side::B,
            Side::B => Side::A,
        }
    }
}

/// Why two texts are different subjects.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum DistinctProof {
    /// One names an environment, region or platform where the other names another.
    Qualifier {
        /// The word of the first text.
        a: String,
        /// The word of the second text.
        b: String,
    },
    /// The embeddings and the wording both say different topics.
    DifferentTopics,
    /// Each names subjects of its own (rare words of the store, at least
    /// two: a subject and its value) and they name none in common: the same
    /// kind of note about two things, not one thing changed.
    OwnSubjects {
        /// The first text's own subject words.
        a: String,
        /// The second text's.
        b: String,
    },
}

/// Why a pair is a question.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Doubt {
    /// The same words in another order (roles, "X over Y").
    WordOrder,
    /// One negates what the other states.
    Negation,
    /// One side says more: a modifier or an added word narrows or changes the claim.
    Added {
        /// The side that says more.
        side: Side,
        /// The words it adds.
        words: String,
    },
    /// Words replaced by others.
    Replaced {
        /// The first text's words.
        a: String,
        /// The second text's words.
        b: String,
    },
    /// Little wording in common: maybe a paraphrase, maybe not.
    Reworded,
    /// One states a change from a value the other still holds.
    StatedChange {
        /// The side stating the change.
        side: Side,
        /// The old value.
        from: String,
        /// The new value.
        to: String,
    },
    /// Documents sharing some facts, with others changed or different.
    PartChanged,
    /// The same subject with another value, and nothing tells which is newer.
    NoEvidence,
    /// Update cues on both sides, or a cue older than what it would replace.
    ConflictingCues,
}

/// How two texts relate (see the module doc).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Relation {
    /// The same facts in the same wording (after the lexicon's edits).
    Same,
    /// The `wider` side states every fact of the other, and more.
    Contains {
        /// The side that says more.
        wider: Side,
    },
    /// The same subject with other values (`changes`: old text → new text
    /// as (first, second)), or a state stated as changed by an update cue.
    ValueChange {
        /// The differing values, first text's then second text's.
        changes: Vec<(String, String)>,
        /// The side carrying an update cue, when exactly one does.
        cue: Option<Side>,
    },
    /// Different subjects, on proof.
    Distinct(DistinctProof),
    /// A question.
    Open(Doubt),
}

impl Relation {
    /// Whether the wording alone settles the pair as one memory.
    pub fn merges(&self) -> bool {
        matches!(self, Relation::Same | Relation::Contains { .. })
    }

    /// The relation with the sides swapped.
    pub fn flipped(self) -> Self {
        match self {
            Relation::Contains { wider } => Relation::Contains { wider: wider.other() },
            Relation::ValueChange { changes, cue } => Relation::ValueChange {
                changes: changes.into_iter().map(|(a, b)| (b, a)).collect(),
                cue: cue.map(Side::other),
            },
            Relation::Distinct(DistinctProof::Qualifier { a, b }) => {
                Relation::Distinct(DistinctProof::Qualifier { a: b, b: a })
            }
            Relation::Distinct(DistinctProof::OwnSubjects { a, b }) => {
                Relation::Distinct(DistinctProof::OwnSubjects { a: b, b: a })
            }
            Relation::Open(reason) => Relation::Open(match reason {
                Doubt::Added { side, words } => Doubt::Added { side: side.other(), words },
                Doubt::Replaced { a, b } => Doubt::Replaced { a: b, b: a },
                Doubt::StatedChange { side, from, to } => {
                    Doubt::StatedChange { side: side.other(), from, to }
                }
                other => other,
            }),
            other => other,
        }
    }
}

impl fmt::Display for DistinctProof {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DistinctProof::Qualifier { a, b } => write!(f, "different subjects: \"{a}\" vs \"{b}\""),
            DistinctProof::DifferentTopics => f.write_str("different topics"),
            DistinctProof::OwnSubjects { a, b } => write!(f, "different subjects: \"{a}\" vs \"{b}\""),
        }
    }
}

impl fmt::Display for Doubt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Doubt::WordOrder => {
                f.write_str("the same words in another order (roles or preference may be reversed)")
            }
            Doubt::Negation => f.write_str("one negates what the other states"),
            Doubt::Added { words, .. } => {
                write!(f, "one adds \"{words}\", which may narrow or change the claim")
            }
            Doubt::Replaced { a, b } => write!(f, "\"{a}\" where the other says \"{b}\""),
            Doubt::Reworded => f.write_str("worded differently: maybe the same fact, maybe not"),
            Doubt::StatedChange { from, to, .. } => {
                write!(f, "one states a change from \"{from}\" to \"{to}\", which the other still holds")
            }
            Doubt::PartChanged => f.write_str("they share some facts; others differ or changed"),
            Doubt::NoEvidence => {
                f.write_str("the same subject with another value, and nothing tells which is newer")
            }
            Doubt::ConflictingCues => {
                f.write_str("update cues disagree with the timestamps or with each other")
            }
        }
    }
}

/// Shortest text (in words) that may be settled as contained in a wider
/// one: a one- or two-word note is contained in too many documents to mean
/// the same thing there.
pub const MIN_CONTAINED_WORDS: usize = 3;

/// Least share of aligned words (2·LCS / total) for two facts to be taken
/// as versions of one statement rather than two statements.
pub const RELATED_SHARE: f64 = 0.5;

/// How document `a` relates to document `b` (see the module doc).
///
/// Symmetric: `compare(b, a)` is `compare(a, b).flipped()` (the pair is
/// judged in a canonical order, so alignment ties cannot tell the sides apart).
pub fn compare(a: &Document, b: &Document, lexicon: &Lexicon) -> Relation {
    fn key(d: &Document) -> Vec<&str> {
        d.facts.iter().map(Fact::key).collect()
    }
    if key(a) <= key(b) { compare_ordered(a, b, lexicon) } else { compare_ordered(b, a, lexicon).flipped() }
}

fn compare_ordered(a: &Document, b: &Document, lexicon: &Lexicon) -> Relation {
    match (a.facts.is_empty(), b.facts.is_empty()) {
        (true, true) => return Relation::Same,
        (true, false) | (false, true) => return Relation::Open(Doubt::Reworded),
        (false, false) => {}
    }
    if a.facts.len() == 1 && b.facts.len() == 1 {
        let relation = compare_facts(&a.facts[0], &b.facts[0], lexicon);
        return with_stated_change(relation, a, b, lexicon);
    }
    let keys_a: BTreeSet<&str> = a.facts.iter().map(Fact::key).collect();
    let keys_b: BTreeSet<&str> = b.facts.iter().map(Fact::key).collect();
    let only_a: Vec<&Fact> = a.facts.iter().filter(|f| !keys_b.contains(f.key())).collect();
    let only_b: Vec<&Fact> = b.facts.iter().filter(|f| !keys_a.contains(f.key())).collect();
    let shared = keys_a.intersection(&keys_b).count();
    match (only_a.is_empty(), only_b.is_empty()) {
        (true, true) => return Relation::Same,
        (true, false) => return contained(a, b, Side::B),
        (false, true) => return contained(b, a, Side::A),
        (false, false) => {}
    }
    // Pair each remaining fact of `a` with its closest remaining fact of `b`.
    let mut relations = Vec::new();
    let mut used = BTreeSet::new();
    for fa in &only_a {
        let best = only_b
            .iter()
            .enumerate()
            .filter(|(j, _)| !used.contains(j))
            .map(|(j, fb)| (share(&fa.words, &fb.words), j))
            .filter(|(s, _)| *s >= RELATED_SHARE)
            .max_by(|x, y| x.0.total_cmp(&y.0).then(y.1.cmp(&x.1)));
        if let Some((_, j)) = best {
            used.insert(j);
            relations.push(compare_facts(fa, only_b[j], lexicon));
        }
    }
    let all_paired = relations.len() == only_a.len() && used.len() == only_b.len();
    let relation = if all_paired && relations.iter().all(|r| matches!(r, Relation::ValueChange { .. })) {
        let mut changes = Vec::new();
        let mut cues = BTreeSet::new();
        for r in relations {
            if let Relation::ValueChange { changes: c, cue } = r {
                changes.extend(c);
                cues.extend(cue);
            }
        }
        let cue = if cues.len() == 1 { cues.into_iter().next() } else { None };
        Relation::ValueChange { changes, cue }
    } else if shared == 0 && relations.iter().any(|r| matches!(r, Relation::Distinct(_))) {
        relations
            .into_iter()
            .find(|r| matches!(r, Relation::Distinct(_)))
            .unwrap_or(Relation::Open(Doubt::PartChanged))
    } else if shared > 0 || !relations.is_empty() {
        Relation::Open(Doubt::PartChanged)
    } else {
        Relation::Open(Doubt::Reworded)
    };
    with_stated_change(relation, a, b, lexicon)
}

/// `narrow` has every fact of `wide`: contained if it says enough and the
/// scopes agree, else a question.
fn contained(narrow: &Document, wide: &Document, wider: Side) -> Relation {
    let scoped_elsewhere = narrow
        .facts
        .iter()
        .any(|f| wide.facts.iter().any(|w| w.key() == f.key() && !w.scope.is_empty() && w.scope != f.scope));
    if narrow.word_count() < MIN_CONTAINED_WORDS || scoped_elsewhere {
        let words = wide.facts.iter().filter(|w| !narrow.facts.iter().any(|f| f.key() == w.key()));
        let words = words.map(|w| w.text.as_str()).collect::<Vec<_>>().join(" ");
        return Relation::Open(Doubt::Added { side: wider, words });
    }
    Relation::Contains { wider }
}

/// An open relation becomes a stated change when one text says "from X to
/// Y" (or "Y instead of X") and the other holds X, not Y, and they share
/// another word. When the other text is one fact and every other word of
/// the change (besides update cues and the lexicon's auxiliaries) is in it,
/// the change is proved to be about its subject: a value change with the cue
/// on the stating side.
fn with_stated_change(relation: Relation, a: &Document, b: &Document, lexicon: &Lexicon) -> Relation {
    if !matches!(relation, Relation::Open(_)) {
        return relation;
    }
    for (side, update, old) in [(Side::A, a, b), (Side::B, b, a)] {
        for fact in &update.facts {
            let Some((from, to)) = stated_change(&fact.words) else { continue };
            let old_words: BTreeSet<&str> =
                old.facts.iter().flat_map(|f| f.words.iter()).map(|w| w.text.as_str()).collect();
            if !old_words.contains(from.as_str()) || old_words.contains(to.as_str()) {
                continue;
            }
            let rest: Vec<&str> = fact
                .words
                .iter()
                .map(|w| w.text.as_str())
                .filter(|w| *w != from && *w != to && !matches!(*w, "from" | "to" | "instead" | "of"))
                .collect();
            let about_old = old.facts.len() == 1
                && rest.iter().all(|w| {
                    old_words.contains(w) || lexicon.cues.contains(*w) || lexicon.auxiliaries.contains(*w)
                });
            if about_old {
                let change = match side {
                    Side::A => (to.clone(), from.clone()),
                    Side::B => (from.clone(), to.clone()),
                };
                return Relation::ValueChange { changes: vec![change], cue: Some(side) };
            }
            if rest.iter().any(|w| w.chars().count() >= 4 && old_words.contains(w)) {
                return Relation::Open(Doubt::StatedChange { side, from, to });
            }
        }
    }
    relation
}

/// The change a fact states: for "… from X to Y" the last word of X and
/// the first of Y; for "Y instead of X" the last word of Y and the first of X.
pub fn stated_change(words: &[Word]) -> Option<(String, String)> {
    let text = |i: usize| words[i].text.clone();
    for i in 0..words.len() {
        if words[i].text == "from"
            && let Some(j) = (i + 2..words.len().min(i + 6)).find(|&j| words[j].text == "to")
            && j + 1 < words.len()
        {
            return Some((text(j - 1), text(j + 1)));
        }
    }
    let k = words.windows(2).position(|p| p[0].text == "instead" && p[1].text == "of")?;
    (k > 0 && k + 2 < words.len()).then(|| (text(k + 2), text(k - 1)))
}

/// 2·LCS / (|a| + |b|): the share of words the two sequences align.
pub fn share(a: &[Word], b: &[Word]) -> f64 {
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    if a.len().saturating_mul(b.len()) > MAX_ALIGNED_CELLS {
        return if a.iter().map(|w| &w.text).eq(b.iter().map(|w| &w.text)) { 1.0 } else { 0.0 };
    }
    let lcs = lcs_table(a, b)[0][0];
    2.0 * lcs as f64 / (a.len() + b.len()) as f64
}

fn lcs_table(a: &[Word], b: &[Word]) -> Vec<Vec<usize>> {
    let mut t = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            t[i][j] = if a[i].text == b[j].text { t[i + 1][j + 1] + 1 } else { t[i + 1][j].max(t[i][j + 1]) };
        }
    }
    t
}

/// The differing stretches of two word sequences, in order: (from `a`,
/// from `b`), at least one side non-empty. Ties prefer the earliest match,
/// so the result depends only on the sequences.
pub fn hunks<'w>(a: &'w [Word], b: &'w [Word]) -> Vec<(&'w [Word], &'w [Word])> {
    let t = lcs_table(a, b);
    let (mut i, mut j) = (0, 0);
    let (mut si, mut sj) = (0, 0);
    let mut out = Vec::new();
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i].text == b[j].text {
            if si < i || sj < j {
                out.push((&a[si..i], &b[sj..j]));
            }
            i += 1;
            j += 1;
            si = i;
            sj = j;
        } else if j < b.len() && (i == a.len() || t[i][j + 1] >= t[i + 1][j]) {
            j += 1;
        } else {
            i += 1;
        }
    }
    if si < a.len() || sj < b.len() {
        out.push((&a[si..], &b[sj..]));
    }
    out
}

/// How one fact relates to another.
pub fn compare_facts(a: &Fact, b: &Fact, lexicon: &Lexicon) -> Relation {
    let relation = compare_words(&a.words, &b.words, lexicon);
    // The same wording under different headings is two subjects' fact.
    if relation == Relation::Same && !a.scope.is_empty() && !b.scope.is_empty() && a.scope != b.scope {
        return Relation::Open(Doubt::Replaced { a: join(&a.scope), b: join(&b.scope) });
    }
    relation
}

/// Largest alignment (words of one fact times words of the other) worked
/// out word by word. Longer facts — a minified blob on one line — are
/// compared whole: identical, the same words in another order, or a
/// question; never aligned in quadratic memory.
pub const MAX_ALIGNED_CELLS: usize = 4_000_000;

/// How word sequence `a` relates to `b`.
pub fn compare_words(a: &[Word], b: &[Word], lexicon: &Lexicon) -> Relation {
    if a.iter().map(|w| &w.text).eq(b.iter().map(|w| &w.text)) {
        return Relation::Same;
    }
    let mut sorted_a: Vec<&str> = a.iter().map(|w| w.text.as_str()).collect();
    let mut sorted_b: Vec<&str> = b.iter().map(|w| w.text.as_str()).collect();
    sorted_a.sort_unstable();
    sorted_b.sort_unstable();
    if sorted_a == sorted_b {
        return Relation::Open(Doubt::WordOrder);
    }
    if a.len().saturating_mul(b.len()) > MAX_ALIGNED_CELLS {
        return Relation::Open(Doubt::Reworded);
    }
    let is_cue = |ws: &[Word]| {
        !ws.is_empty()
            && (ws.iter().all(|w| lexicon.cues.contains(&w.text))
                || (ws.len() == 2 && lexicon.cue_pairs.contains(&(ws[0].text.clone(), ws[1].text.clone()))))
    };
    fn qualifiers<'w>(ws: &'w [Word], lexicon: &Lexicon) -> BTreeSet<&'w str> {
        ws.iter().filter(|w| lexicon.qualifiers.contains(&w.text)).map(|w| w.text.as_str()).collect()
    }
    let negations = |ws: &[Word]| ws.iter().filter(|w| w.kind == Kind::Negation).count();
    let mut changes = Vec::new();
    let mut cue_sides = BTreeSet::new();
    let mut first_open: Option<Doubt> = None;
    let mut negated = false;
    for (x, y) in hunks(a, b) {
        let (qx, qy) = (qualifiers(x, lexicon), qualifiers(y, lexicon));
        if !qx.is_empty() && !qy.is_empty() && qx != qy {
            let a = qx.difference(&qy).next().or(qx.iter().next()).copied().unwrap_or_default();
            let b = qy.difference(&qx).next().or(qy.iter().next()).copied().unwrap_or_default();
            return Relation::Distinct(DistinctProof::Qualifier { a: a.to_owned(), b: b.to_owned() });
        }
        if x.is_empty() && is_cue(y) {
            cue_sides.insert(Side::B);
            continue;
        }
        if y.is_empty() && is_cue(x) {
            cue_sides.insert(Side::A);
            continue;
        }
        if negations(x) != negations(y) {
            negated = true;
            continue;
        }
        let values = |ws: &[Word]| !ws.is_empty() && ws.iter().all(|w| w.kind.is_value());
        if values(x) && values(y) && x.len() == y.len() {
            changes.extend(x.iter().zip(y).map(|(p, q)| (p.text.clone(), q.text.clone())));
            continue;
        }
        if first_open.is_none() {
            first_open = Some(match (x.is_empty(), y.is_empty()) {
                (true, _) => Doubt::Added { side: Side::B, words: join(y) },
                (_, true) => Doubt::Added { side: Side::A, words: join(x) },
                _ => Doubt::Replaced { a: join(x), b: join(y) },
            });
        }
    }
    if let Some(reason) = first_open {
        let reason = if share(a, b) < RELATED_SHARE { Doubt::Reworded } else { reason };
        return Relation::Open(reason);
    }
    let cue = if cue_sides.len() == 1 { cue_sides.into_iter().next() } else { None };
    if negated && cue.is_none() {
        return Relation::Open(Doubt::Negation);
    }
    Relation::ValueChange { changes, cue }
}

#[cfg(test)]
#[path = "compare_tests.rs"]
mod tests;
