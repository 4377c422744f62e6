//! Stage 3: contradictions and supersession between merge groups.
//!
//! Each conflicting pair whose wording proves the same subject (a strong
//! conflict: only values differ, or a stated change) is decided by explicit
//! evidence only; a weak one (a plain word differs too) is always left open:
//! - an update cue ("moved from X to Y", "now", "no longer", "replaced",
//!   "switched", "instead") on exactly one side supersedes the other side,
//!   provided the cue is not older than what it replaces;
//! - cues on both sides: the later one wins (a tie stays open);
//! - no cue: left open. Recency alone is weaker evidence, so it is left to
//!   the resolver of stage 6 (the local one acts on it only when nothing
//!   but values differ).
//!
//! A group superseded by two different winners, or a cycle of winners, is
//! left open too. Strong open conflicts form clusters (connected
//! components) for the first round of questions; weak ones are kept as
//! edges for a second round, asked once the first round's answers are
//! known, so that a doubtful look-alike never blocks a settled change. Weak
//! conflicts in which a group swaps the same words with more than
//! [`MAX_WEAK_DEGREE`] others are look-alikes and are dropped.

use std::collections::{BTreeMap, BTreeSet};

use super::near::{Relation, Strength, UnionFind, compare};
use super::normalize::Analysed;
use crate::memory::{MemoryPath, Timestamp};

/// What stage 3 needs to know about a merge group.
#[derive(Debug, Clone, Copy)]
pub struct Unit<'a> {
    /// The analysed text the group keeps.
    pub analysed: &'a Analysed,
    /// The path of that text's memory (for reasons).
    pub path: &'a MemoryPath,
    /// The latest `updated_at` among the group's members.
    pub updated_at: Timestamp,
}

/// A group replaced by a newer one on explicit evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Supersession {
    /// The stale group.
    pub loser: usize,
    /// The group that replaces it (final: chains are followed).
    pub winner: usize,
    /// Why.
    pub reason: String,
}

/// Groups in conflict that the evidence could not settle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenCluster {
    /// The groups, ascending.
    pub groups: Vec<usize>,
    /// Why they are open (one clause per kind of doubt, sorted).
    pub why: String,
}

/// A conflict left open between two groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenEdge {
    /// One group.
    pub a: usize,
    /// The other group.
    pub b: usize,
    /// Why it is open.
    pub why: &'static str,
}

/// What stage 3 decided.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConflictOutput {
    /// Supersessions settled by cues, sorted by loser.
    pub settled: Vec<Supersession>,
    /// Clusters of strong conflicts (certainly one subject), for the first
    /// round of questions, in order of their first group.
    pub strong: Vec<OpenCluster>,
    /// Weak conflicts (maybe one subject), between groups still standing
    /// after stage 3, for the second round once the first is answered.
    pub weak: Vec<OpenEdge>,
}

/// Most weak conflicts in which a group swaps the same words before those
/// conflicts are taken for look-alikes (the same sentence about many
/// subjects) and dropped.
pub const MAX_WEAK_DEGREE: usize = 3;

const WEAK_MERGED: &str =
    "a merged memory conflicts with another, but their kept texts differ in more than values";
const WEAK_WORDING: &str = "wording differs beyond values: maybe the same subject, maybe not";

fn is_weak(why: &str) -> bool {
    why == WEAK_MERGED || why == WEAK_WORDING
}

/// A group and the words it swaps in a weak conflict.
type SwapKey = (usize, String);

enum Verdict {
    Beats { winner: usize, loser: usize, reason: String },
    Open(&'static str),
}

fn decide(units: &[Unit<'_>], a: usize, b: usize) -> Verdict {
    let (ua, ub) = (&units[a], &units[b]);
    let relation = compare(ua.analysed, ub.analysed);
    let Relation::Conflict { strength } = relation else {
        return Verdict::Open(WEAK_MERGED);
    };
    let cue_reason = |w: &Unit<'_>, l: &Unit<'_>| {
        format!(
            "{} states an update (\"{}\") about the same subject as {}, and is not older",
            w.path,
            w.analysed.cue.unwrap_or("update"),
            l.path
        )
    };
    if strength == Strength::Weak {
        return Verdict::Open(WEAK_WORDING);
    }
    match (ua.analysed.cue.is_some(), ub.analysed.cue.is_some()) {
        (true, false) if ua.updated_at >= ub.updated_at => {
            Verdict::Beats { winner: a, loser: b, reason: cue_reason(ua, ub) }
        }
        (false, true) if ub.updated_at >= ua.updated_at => {
            Verdict::Beats { winner: b, loser: a, reason: cue_reason(ub, ua) }
        }
        (true, false) | (false, true) => {
            Verdict::Open("an update cue is older than the statement it would replace")
        }
        (true, true) if ua.updated_at != ub.updated_at => {
            let (w, l) = if ua.updated_at > ub.updated_at { (a, b) } else { (b, a) };
            let reason = format!(
                "both {} and {} state updates; {} is the later one",
                units[w].path, units[l].path, units[w].path
            );
            Verdict::Beats { winner: w, loser: l, reason }
        }
        (true, true) => Verdict::Open("two update statements written at the same time"),
        (false, false) => Verdict::Open("same subject with different values and no update cue"),
    }
}

/// Decides the conflicting pairs `(a, b)` (group indexes into `units`).
pub fn resolve(units: &[Unit<'_>], conflicts: &[(usize, usize)]) -> ConflictOutput {
    let mut beats: BTreeMap<usize, BTreeMap<usize, String>> = BTreeMap::new();
    let mut open: Vec<(usize, usize, &'static str)> = Vec::new();
    for &(a, b) in conflicts {
        match decide(units, a, b) {
            Verdict::Beats { winner, loser, reason } => {
                beats.entry(loser).or_default().insert(winner, reason);
            }
            Verdict::Open(why) => open.push((a, b, why)),
        }
    }
    // A loser claimed by two winners is ambiguous: leave all of it open.
    let mut direct: BTreeMap<usize, (usize, String)> = BTreeMap::new();
    for (loser, winners) in beats {
        if winners.len() == 1 {
            let (w, r) = winners.into_iter().next().expect("one winner");
            direct.insert(loser, (w, r));
        } else {
            for w in winners.into_keys() {
                open.push((loser.min(w), loser.max(w), "superseded by two different memories"));
            }
        }
    }
    // Follow chains to the final winner; a cycle stays open.
    let mut settled = Vec::new();
    let mut in_cycle = BTreeSet::new();
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
            in_cycle.insert(loser);
        } else {
            settled.push(Supersession { loser, winner: cur, reason: reason.clone() });
        }
    }
    for &l in &in_cycle {
        if let Some((w, _)) = direct.get(&l) {
            open.push((l.min(*w), l.max(*w), "update statements contradict each other in a cycle"));
        }
    }
    let carrier: BTreeMap<usize, usize> = settled.iter().map(|s| (s.loser, s.winner)).collect();
    let final_of = |g: usize| *carrier.get(&g).unwrap_or(&g);
    let n = units.len();
    let mapped: BTreeSet<(usize, usize, &'static str)> = open
        .into_iter()
        .map(|(a, b, why)| (final_of(a), final_of(b), why))
        .filter(|(a, b, _)| a != b)
        .map(|(a, b, why)| (a.min(b), a.max(b), why))
        .collect();
    // The words a text swaps in a weak conflict show where its subject is:
    // "Owner of calo: Mei" swapping "calo" against many other texts is the
    // same sentence about many subjects (look-alikes), while swapping "mei"
    // against one text is a possible change. Weak conflicts through a
    // swapped word used more than MAX_WEAK_DEGREE times are dropped.
    let swapped = |x: usize, y: usize| -> (String, String) {
        let words = |i: usize| -> BTreeSet<&str> {
            units[i].analysed.tokens.iter().map(|t| t.text.as_str()).collect()
        };
        let (wx, wy) = (words(x), words(y));
        let only =
            |p: &BTreeSet<&str>, q: &BTreeSet<&str>| p.difference(q).copied().collect::<Vec<_>>().join(" ");
        (only(&wx, &wy), only(&wy, &wx))
    };
    let mut swaps: BTreeMap<(usize, String), usize> = BTreeMap::new();
    let mut weak_keys: BTreeMap<(usize, usize), [SwapKey; 2]> = BTreeMap::new();
    for &(a, b, why) in &mapped {
        if is_weak(why) {
            let (sa, sb) = swapped(a, b);
            *swaps.entry((a, sa.clone())).or_insert(0) += 1;
            *swaps.entry((b, sb.clone())).or_insert(0) += 1;
            weak_keys.insert((a, b), [(a, sa), (b, sb)]);
        }
    }
    let hub = |a: usize, b: usize| {
        weak_keys.get(&(a, b)).is_some_and(|[ka, kb]| {
            swaps.get(ka).is_some_and(|&n| n > MAX_WEAK_DEGREE)
                || swaps.get(kb).is_some_and(|&n| n > MAX_WEAK_DEGREE)
        })
    };
    let (weak, strong): (Vec<OpenEdge>, Vec<OpenEdge>) = mapped
        .into_iter()
        .filter(|&(a, b, why)| !(is_weak(why) && hub(a, b)))
        .map(|(a, b, why)| OpenEdge { a, b, why })
        .partition(|e| is_weak(e.why));
    let strong = clusters(n, &strong, |g| g);
    ConflictOutput { settled, strong, weak }
}

/// Connected components (of two groups or more) of `edges` after mapping
/// each end through `carrier`, in order of their smallest group; each with
/// the distinct reasons of its edges.
pub fn clusters(n: usize, edges: &[OpenEdge], carrier: impl Fn(usize) -> usize) -> Vec<OpenCluster> {
    let mut uf = UnionFind::new(n);
    let mut kept = Vec::new();
    for e in edges {
        let (a, b) = (carrier(e.a), carrier(e.b));
        if a != b {
            uf.union(a, b);
            kept.push((a, e.why));
        }
    }
    let mut whys: BTreeMap<usize, BTreeSet<&'static str>> = BTreeMap::new();
    for (a, why) in kept {
        whys.entry(uf.find(a)).or_default().insert(why);
    }
    let mut members: BTreeMap<usize, BTreeSet<usize>> =
        whys.keys().map(|&root| (root, BTreeSet::new())).collect();
    for e in edges {
        for g in [carrier(e.a), carrier(e.b)] {
            if let Some(set) = members.get_mut(&uf.find(g)) {
                set.insert(g);
            }
        }
    }
    members
        .into_iter()
        .map(|(root, groups)| {
            let why: Vec<&str> = whys.get(&root).map(|s| s.iter().copied().collect()).unwrap_or_default();
            OpenCluster { groups: groups.into_iter().collect(), why: why.join("; ") }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dream::normalize::analyse;

    struct Fixture {
        analysed: Vec<Analysed>,
        paths: Vec<MemoryPath>,
        times: Vec<i64>,
    }

    impl Fixture {
        fn new(items: &[(&str, i64)]) -> Self {
            Self {
                analysed: items.iter().map(|(t, _)| analyse(t)).collect(),
                paths: (0..items.len()).map(|i| MemoryPath::new(&format!("/m{i}")).unwrap()).collect(),
                times: items.iter().map(|(_, t)| *t).collect(),
            }
        }
        fn units(&self) -> Vec<Unit<'_>> {
            (0..self.paths.len())
                .map(|i| Unit {
                    analysed: &self.analysed[i],
                    path: &self.paths[i],
                    updated_at: Timestamp(self.times[i]),
                })
                .collect()
        }
    }

    #[test]
    fn cue_supersedes_older_statement() {
        let f = Fixture::new(&[("billing uses Postgres", 1), ("Billing moved from Postgres to MySQL", 2)]);
        let out = resolve(&f.units(), &[(0, 1)]);
        assert_eq!(out.settled.len(), 1);
        assert_eq!((out.settled[0].loser, out.settled[0].winner), (0, 1));
        assert!(out.strong.is_empty() && out.weak.is_empty());
    }

    #[test]
    fn older_cue_and_no_cue_stay_open() {
        let f = Fixture::new(&[("billing uses Postgres", 3), ("Billing moved from Postgres to MySQL", 2)]);
        let out = resolve(&f.units(), &[(0, 1)]);
        assert!(out.settled.is_empty());
        assert_eq!(out.strong.len(), 1);
        let g = Fixture::new(&[
            ("staging port is 5433", 1),
            ("staging port is 5434", 2),
            ("staging port is 5435", 3),
        ]);
        let out = resolve(&g.units(), &[(0, 1), (1, 2)]);
        assert_eq!(
            out.strong,
            vec![OpenCluster {
                groups: vec![0, 1, 2],
                why: "same subject with different values and no update cue".into()
            }]
        );
    }

    #[test]
    fn chains_reach_the_final_winner() {
        let f = Fixture::new(&[
            ("deploy day is Monday", 1),
            ("deploy day is now Tuesday", 2),
            ("deploy day switched to Wednesday", 3),
        ]);
        let out = resolve(&f.units(), &[(0, 1), (1, 2)]);
        let winners: Vec<(usize, usize)> = out.settled.iter().map(|s| (s.loser, s.winner)).collect();
        assert_eq!(winners, vec![(0, 2), (1, 2)]);
    }
}
