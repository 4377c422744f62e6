//! Stage 3: value changes and questions between merge groups.
//!
//! Stage 2 leaves the pairs it could not settle: value changes (the same
//! words but values, or an update cue) and questions. A value change is
//! settled here only with evidence of which side is newer:
//! - an update cue ("now", "moved from X to Y", "no longer"...) on exactly
//!   one side supersedes the other side, provided the cue is not older than
//!   what it replaces; cues on both sides: the later one wins;
//! - otherwise the later `updated_at`: a value-only change is the same
//!   subject for certain, so the newer value stands (the report says "by
//!   recency", for a reviewer to check);
//! - equal times, or a cue older than what it would replace: a question.
//!
//! A group superseded by two different winners, or a cycle of winners, is a
//! question too. Open value changes are asked first (certainly one
//! subject); the other questions, and value changes a full cluster left
//! out, are asked in later rounds between what stands once the earlier
//! rounds are answered (see [`clusters`] and [`MAX_ROUNDS`]). Questions in
//! which a group has the same words replaced against more than
//! [`MAX_TEMPLATE_DEGREE`] others are the same sentence about many subjects
//! (a template), proved distinct and dropped.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use super::near::{UnionFind, Unsettled};
use crate::memory::{MemoryPath, Timestamp};
use crate::text::{Doubt, Relation, Side};

/// What stage 3 needs to know about a merge group.
#[derive(Debug, Clone, Copy)]
pub struct Unit<'a> {
    /// The path of the memory whose text the group keeps (for reasons).
    pub path: &'a MemoryPath,
    /// The latest `updated_at` among the group's members.
    pub updated_at: Timestamp,
}

/// Why a group was superseded on the device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SettleReason {
    /// The winner states an update, and is not older.
    Cue {
        /// The winner's path.
        winner: MemoryPath,
        /// The loser's path.
        loser: MemoryPath,
    },
    /// Only values differ, and the winner was written later.
    Recency {
        /// The winner's path.
        winner: MemoryPath,
        /// The loser's path.
        loser: MemoryPath,
        /// The values, loser's then winner's.
        changes: Vec<(String, String)>,
    },
}

impl fmt::Display for SettleReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SettleReason::Cue { winner, loser } => {
                write!(f, "{winner} states an update about the same subject as {loser}, and is not older")
            }
            SettleReason::Recency { winner, loser, changes } => {
                let values: Vec<String> = changes.iter().map(|(old, new)| format!("{old} → {new}")).collect();
                if values.is_empty() {
                    write!(f, "by recency: {winner} restates {loser} and is newer")
                } else {
                    write!(
                        f,
                        "by recency: only values differ ({}); {winner} is newer than {loser}",
                        values.join(", ")
                    )
                }
            }
        }
    }
}

/// A group replaced by a newer one on evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Supersession {
    /// The stale group.
    pub loser: usize,
    /// The group that replaces it (final: chains are followed).
    pub winner: usize,
    /// Why.
    pub reason: SettleReason,
}

/// Groups that the evidence could not settle: one question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenCluster {
    /// The groups, ascending.
    pub groups: Vec<usize>,
    /// Why they are open (one reason per kind of doubt, sorted).
    pub why: Vec<Doubt>,
}

impl OpenCluster {
    /// The reasons as one sentence.
    pub fn why_text(&self) -> String {
        let distinct: BTreeSet<String> = self.why.iter().map(ToString::to_string).collect();
        distinct.into_iter().collect::<Vec<_>>().join("; ")
    }

    /// The reasons as the model reads them: the names of the rules that
    /// left the cluster open, sorted, without repeats.
    pub fn rules(&self) -> Vec<String> {
        let names: BTreeSet<&str> = self.why.iter().map(rule_name).collect();
        names.into_iter().map(str::to_owned).collect()
    }
}

/// The short name of the rule that left a pair open (the `open` of a
/// question on the wire).
pub fn rule_name(why: &Doubt) -> &'static str {
    match why {
        Doubt::WordOrder => "word_order",
        Doubt::Negation => "negation",
        Doubt::Added { .. } => "added_words",
        Doubt::Replaced { .. } => "replaced_words",
        Doubt::Reworded => "reworded",
        Doubt::StatedChange { .. } => "stated_change",
        Doubt::PartChanged => "part_changed",
        Doubt::NoEvidence => "same_time_other_value",
        Doubt::ConflictingCues => "conflicting_update_cues",
    }
}

/// A question left open between two groups.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenEdge {
    /// One group.
    pub a: usize,
    /// The other group.
    pub b: usize,
    /// Why it is open.
    pub why: Doubt,
    /// The cosine of the pair (closer pairs are asked together first).
    pub similarity: f32,
}

/// Most groups one question holds. The members the device could not tell
/// apart go to the resolver together, as one question it partitions in one
/// answer, rather than as pairs cut from them and asked round after round
/// (each such pair sends both texts again). Memories are short notes, so a
/// thousand of them are some 20k tokens, within one request's budget; the
/// answer names only what merges or is superseded (a member it leaves out
/// is kept). On the generated corpus each memory's text was sent 1.69
/// times on average and 5 at most at 24 groups, 1.42 and 3 at 64, 1.00 and
/// 2 at 1,024 (`cargo run --release --features remote --example
/// resolve_quality`). Open pairs are joined into clusters closest first; a
/// pair whose clusters would grow beyond this is not asked, and counted as
/// such ([`Clusters::not_asked`]).
pub const MAX_CLUSTER_GROUPS: usize = 1024;

/// Clusters built from open pairs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Clusters {
    /// The clusters, in order of their smallest group.
    pub clusters: Vec<OpenCluster>,
    /// Open pairs left out because their clusters were full.
    pub not_asked: usize,
}

/// What stage 3 decided.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ConflictOutput {
    /// Supersessions settled on evidence, sorted by loser.
    pub settled: Vec<Supersession>,
    /// Open value changes (certainly one subject), asked first.
    pub strong: Vec<OpenEdge>,
    /// Other questions, between groups still standing after stage 3, asked
    /// once the value changes are answered.
    pub weak: Vec<OpenEdge>,
    /// Questions dropped as templates (the same sentence about many subjects).
    pub templates: usize,
}

/// Most questions in which a group has the same words replaced before
/// those questions are taken for a template (the same sentence about many
/// subjects: "Owner of calo: Mei", "Owner of draqu: Mei"...) and dropped.
pub const MAX_TEMPLATE_DEGREE: usize = 3;

enum Decision {
    Beats { winner: usize, loser: usize, reason: SettleReason },
    Open(Doubt),
}

fn decide(units: &[Unit<'_>], pair: &Unsettled) -> Decision {
    let (a, b) = (pair.a, pair.b);
    let Relation::ValueChange { changes, cue } = &pair.relation else {
        let why = match &pair.relation {
            Relation::Open(why) => why.clone(),
            _ => Doubt::PartChanged,
        };
        return Decision::Open(why);
    };
    let (ua, ub) = (&units[a], &units[b]);
    let side = |s: Side| match s {
        Side::A => (a, b),
        Side::B => (b, a),
    };
    let at = |g: usize| units[g].updated_at;
    let path = |g: usize| units[g].path.clone();
    match cue {
        Some(s) => {
            let (w, l) = side(*s);
            if at(w) >= at(l) {
                Decision::Beats {
                    winner: w,
                    loser: l,
                    reason: SettleReason::Cue { winner: path(w), loser: path(l) },
                }
            } else {
                Decision::Open(Doubt::ConflictingCues)
            }
        }
        None if ua.updated_at == ub.updated_at => Decision::Open(Doubt::NoEvidence),
        None => {
            let (w, l) = if ua.updated_at > ub.updated_at { (a, b) } else { (b, a) };
            let changes = if w == b {
                changes.clone()
            } else {
                changes.iter().map(|(x, y)| (y.clone(), x.clone())).collect()
            };
            let reason = SettleReason::Recency { winner: path(w), loser: path(l), changes };
            Decision::Beats { winner: w, loser: l, reason }
        }
    }
}

/// Decides the pairs stage 2 left (group indexes into `units`).
pub fn resolve(units: &[Unit<'_>], unsettled: &[Unsettled]) -> ConflictOutput {
    let mut beats: BTreeMap<usize, BTreeMap<usize, SettleReason>> = BTreeMap::new();
    let mut open: Vec<(usize, usize, Doubt, bool)> = Vec::new();
    let closeness: BTreeMap<(usize, usize), f32> =
        unsettled.iter().map(|p| ((p.a, p.b), p.similarity)).collect();
    for pair in unsettled {
        let value = matches!(pair.relation, Relation::ValueChange { .. });
        match decide(units, pair) {
            Decision::Beats { winner, loser, reason } => {
                beats.entry(loser).or_default().insert(winner, reason);
            }
            Decision::Open(why) => open.push((pair.a, pair.b, why, value)),
        }
    }
    let similarity = |a: usize, b: usize| closeness.get(&(a.min(b), a.max(b))).copied().unwrap_or(0.0);
    // A loser claimed by two winners is ambiguous: leave all of it open.
    let mut direct: BTreeMap<usize, (usize, SettleReason)> = BTreeMap::new();
    for (loser, winners) in beats {
        if winners.len() == 1 {
            let (w, r) = winners.into_iter().next().expect("one winner");
            direct.insert(loser, (w, r));
        } else {
            for w in winners.into_keys() {
                open.push((loser.min(w), loser.max(w), Doubt::ConflictingCues, true));
            }
        }
    }
    // Follow chains to the final winner; a cycle stays open.
    let mut settled = Vec::new();
    for (&loser, (_, reason)) in &direct {
        let mut seen = BTreeSet::from([loser]);
        let mut cur = loser;
        let mut cycle = false;
        while let Some((next, _)) = direct.get(&cur) {
            if !seen.insert(*next) {
                cycle = true;
                break;
            }
            cur = *next;
        }
        if cycle {
            if let Some((w, _)) = direct.get(&loser) {
                open.push((loser.min(*w), loser.max(*w), Doubt::ConflictingCues, true));
            }
        } else {
            settled.push(Supersession { loser, winner: cur, reason: reason.clone() });
        }
    }
    let carrier: BTreeMap<usize, usize> = settled.iter().map(|s| (s.loser, s.winner)).collect();
    let final_of = |g: usize| *carrier.get(&g).unwrap_or(&g);
    let mapped: BTreeMap<(usize, usize), (Doubt, bool)> = open
        .into_iter()
        .map(|(a, b, why, value)| (final_of(a), final_of(b), why, value))
        .filter(|(a, b, _, _)| a != b)
        .map(|(a, b, why, value)| ((a.min(b), a.max(b)), (why, value)))
        .collect();
    // The words a text has replaced in a question show where its subject
    // is: "Owner of calo: Mei" replacing "calo" against many other texts is
    // the same sentence about many subjects, while replacing "mei" against
    // one text is a possible change.
    let mut degree: BTreeMap<(usize, &str), usize> = BTreeMap::new();
    for ((a, b), (why, _)) in &mapped {
        if let Doubt::Replaced { a: wa, b: wb } = why {
            *degree.entry((*a, wa.as_str())).or_insert(0) += 1;
            *degree.entry((*b, wb.as_str())).or_insert(0) += 1;
        }
    }
    let template = |a: usize, b: usize, why: &Doubt| match why {
        Doubt::Replaced { a: wa, b: wb } => {
            degree.get(&(a, wa.as_str())).is_some_and(|&n| n > MAX_TEMPLATE_DEGREE)
                || degree.get(&(b, wb.as_str())).is_some_and(|&n| n > MAX_TEMPLATE_DEGREE)
        }
        _ => false,
    };
    let mut strong_edges = Vec::new();
    let mut weak = Vec::new();
    let mut templates = 0;
    for ((a, b), (why, value)) in &mapped {
        if template(*a, *b, why) {
            templates += 1;
            continue;
        }
        let edge = OpenEdge { a: *a, b: *b, why: why.clone(), similarity: similarity(*a, *b) };
        if *value { strong_edges.push(edge) } else { weak.push(edge) }
    }
    ConflictOutput { settled, strong: strong_edges, weak, templates }
}

/// A pair of groups in [`clusters`]: its closest similarity and its reasons.
type Joined<'a> = (f32, BTreeSet<&'a Doubt>);

/// Most rounds of questions in one dream. Each round asks the pairs that
/// join what stands after the earlier rounds and were never in one question
/// together (value changes a full cluster left out, then the other
/// questions); what is left after the last round is counted as not asked.
pub const MAX_ROUNDS: usize = 16;

/// Clusters of `edges` after mapping each end through `carrier`, leaving
/// out pairs that `asked_together` (an earlier question held both): pairs
/// are joined closest first (then by groups), while the joined cluster
/// holds at most [`MAX_CLUSTER_GROUPS`] groups; in order of their smallest
/// group, each with the distinct reasons of its pairs.
pub fn clusters<'e>(
    n: usize,
    edges: impl IntoIterator<Item = &'e OpenEdge>,
    carrier: impl Fn(usize) -> usize,
    asked_together: impl Fn(usize, usize) -> bool,
) -> Clusters {
    let mut mapped: BTreeMap<(usize, usize), Joined<'_>> = BTreeMap::new();
    for e in edges {
        let (a, b) = (carrier(e.a), carrier(e.b));
        if a != b && !asked_together(a, b) {
            let entry = mapped.entry((a.min(b), a.max(b))).or_insert((e.similarity, BTreeSet::new()));
            entry.0 = entry.0.max(e.similarity);
            entry.1.insert(&e.why);
        }
    }
    let mut order: Vec<(&(usize, usize), &Joined<'_>)> = mapped.iter().collect();
    order.sort_by(|x, y| y.1.0.total_cmp(&x.1.0).then(x.0.cmp(y.0)));
    let mut uf = UnionFind::new(n);
    let mut size: BTreeMap<usize, usize> = BTreeMap::new();
    let mut asked: Vec<(usize, usize, &BTreeSet<&Doubt>)> = Vec::new();
    let mut not_asked = 0;
    for (&(a, b), (_, why)) in order {
        let (ra, rb) = (uf.find(a), uf.find(b));
        if ra != rb {
            let (sa, sb) = (size.get(&ra).copied().unwrap_or(1), size.get(&rb).copied().unwrap_or(1));
            if sa + sb > MAX_CLUSTER_GROUPS {
                not_asked += 1;
                continue;
            }
            uf.union(a, b);
            size.insert(uf.find(a), sa + sb);
        }
        asked.push((a, b, why));
    }
    let mut by_root: BTreeMap<usize, (BTreeSet<usize>, BTreeSet<&Doubt>)> = BTreeMap::new();
    for (a, b, why) in asked {
        let entry = by_root.entry(uf.find(a)).or_default();
        entry.0.insert(a);
        entry.0.insert(b);
        entry.1.extend(why.iter().copied());
    }
    let clusters = by_root
        .into_values()
        .map(|(groups, why)| OpenCluster {
            groups: groups.into_iter().collect(),
            why: why.into_iter().cloned().collect(),
        })
        .collect();
    Clusters { clusters, not_asked }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(n: usize) -> Vec<MemoryPath> {
        (0..n).map(|i| MemoryPath::new(&format!("/m{i}")).unwrap()).collect()
    }

    fn units<'a>(paths: &'a [MemoryPath], times: &[i64]) -> Vec<Unit<'a>> {
        paths.iter().zip(times).map(|(path, &t)| Unit { path, updated_at: Timestamp(t) }).collect()
    }

    fn change(a: usize, b: usize, cue: Option<Side>) -> Unsettled {
        Unsettled {
            a,
            b,
            relation: Relation::ValueChange { changes: vec![("1".into(), "2".into())], cue },
            judgement: None,
            similarity: 0.9,
        }
    }

    #[test]
    fn a_cue_supersedes_an_older_statement() {
        let p = paths(2);
        let out = resolve(&units(&p, &[1, 2]), &[change(0, 1, Some(Side::B))]);
        assert_eq!((out.settled[0].loser, out.settled[0].winner), (0, 1));
        assert!(matches!(out.settled[0].reason, SettleReason::Cue { .. }));
        let out = resolve(&units(&p, &[3, 2]), &[change(0, 1, Some(Side::B))]);
        assert!(out.settled.is_empty());
        assert_eq!(out.strong[0].why, Doubt::ConflictingCues);
    }

    #[test]
    fn value_changes_settle_by_recency_unless_written_at_once() {
        let p = paths(3);
        let out = resolve(&units(&p, &[1, 2, 3]), &[change(0, 1, None), change(1, 2, None)]);
        let winners: Vec<(usize, usize)> = out.settled.iter().map(|s| (s.loser, s.winner)).collect();
        assert_eq!(winners, vec![(0, 2), (1, 2)]);
        assert!(out.settled[0].reason.to_string().starts_with("by recency"));
        let out = resolve(&units(&p, &[1, 1, 1]), &[change(0, 1, None), change(1, 2, None)]);
        assert_eq!(
            clusters(3, &out.strong, |g| g, |_, _| false).clusters,
            vec![OpenCluster { groups: vec![0, 1, 2], why: vec![Doubt::NoEvidence] }]
        );
    }

    #[test]
    fn questions_wait_for_the_second_round_and_templates_drop() {
        let p = paths(6);
        let replaced = |a, b, x: &str| Unsettled {
            a,
            b,
            relation: Relation::Open(Doubt::Replaced { a: x.into(), b: format!("{x}{b}") }),
            judgement: None,
            similarity: 0.9,
        };
        let pairs: Vec<Unsettled> = (1..6).map(|b| replaced(0, b, "calo")).collect();
        let out = resolve(&units(&p, &[1; 6]), &pairs);
        assert_eq!(out.templates, 5);
        assert!(out.weak.is_empty());
        let out = resolve(&units(&p, &[1; 6]), &pairs[..2]);
        assert_eq!(out.weak.len(), 2);
        assert!(out.strong.is_empty());
    }

    #[test]
    fn clusters_stay_small_joining_the_closest_pairs_first() {
        let edge = |a, b, similarity| OpenEdge { a, b, why: Doubt::Reworded, similarity };
        // A chain of 12 groups: the closest pairs fill a cluster of 8.
        let edges: Vec<OpenEdge> = (0..11).map(|i| edge(i, i + 1, 0.5 + i as f32 / 100.0)).collect();
        let out = clusters(12, &edges, |g| g, |_, _| false);
        let sizes: Vec<usize> = out.clusters.iter().map(|c| c.groups.len()).collect();
        assert!(sizes.iter().all(|&s| s <= MAX_CLUSTER_GROUPS), "{sizes:?}");
        assert_eq!(out.clusters.iter().map(|c| c.groups.len() - 1).sum::<usize>() + out.not_asked, 11);
        assert!(out.clusters.iter().any(|c| c.groups.contains(&11) && c.groups.contains(&4)));
    }

    #[test]
    fn pairs_asked_together_are_not_asked_again_and_cut_pairs_are() {
        let edge = |a, b| OpenEdge { a, b, why: Doubt::NoEvidence, similarity: 0.9 };
        let n = 3 * MAX_CLUSTER_GROUPS / 2;
        let edges: Vec<OpenEdge> = (0..n - 1).map(|i| edge(i, i + 1)).collect();
        let first = clusters(n, &edges, |g| g, |_, _| false);
        assert!(first.not_asked > 0);
        // Each first-round question is answered by one output at its
        // smallest group: the cut pairs now join those outputs.
        let answered: Vec<&OpenCluster> = first.clusters.iter().collect();
        let question_of = |g: usize| answered.iter().position(|c| c.groups.contains(&g));
        let carrier = |g: usize| question_of(g).map_or(g, |q| answered[q].groups[0]);
        let together = |a: usize, b: usize| question_of(a).is_some() && question_of(a) == question_of(b);
        let second = clusters(n, &edges, carrier, together);
        assert_eq!(second.not_asked, 0);
        let asked: usize = second.clusters.iter().map(|c| c.groups.len() - 1).sum();
        assert_eq!(asked, first.not_asked, "{:?} then {:?}", first.clusters, second.clusters);
        // Had the answers kept every member apart, only the cut pairs would
        // be asked again, as they are.
        let third = clusters(n, &edges, |g| g, together);
        assert_eq!(third.clusters.iter().map(|c| c.groups.len() - 1).sum::<usize>(), first.not_asked);
        let none = clusters(n, &edges[..2], |g| g, |_, _| true);
        assert!(none.clusters.is_empty());
    }
}
