//! When occurrences are one pattern. *Certain* links — the same tool
//! error, the same fix, the same words — join occurrences on the device;
//! similar meaning (the embedder's cosine) only proposes a group, which a
//! resolver confirms (a `pattern` question).
//!
//! Groups are built in two steps: the certain links' connected sets, then
//! greedy average linkage along the similar pairs, strongest first: two
//! groups join when their members are alike *on average*, so a chain of
//! pairwise look-alikes never folds two topics into one — and about as
//! alike as each group's own members are ([`COHESION`]), so a tight group
//! ("small pull requests", three ways) never absorbs a neighbouring topic
//! that merely shares its words ("open a pull request, not main").

use std::collections::BTreeMap;

use super::incidents::Incident;
use crate::text::plain_words;

/// Two groups join only when their members are alike across at least this
/// share of how alike each group's own members are.
pub const COHESION: f32 = 0.7;

/// Similarity settings of the embedder in use: cosines of different
/// models are not on one scale.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PatternThresholds {
    /// Two occurrences this alike may be one pattern.
    pub link: f32,
    /// Two groups join when the mean similarity of their members is this high.
    pub join: f32,
}

/// Whether two incidents are provably one pattern: failures of the same
/// tool with the same error signature, failures set right the same way
/// (a switch to the same program, or the same step run first), or
/// directives in the same words (after case and punctuation).
pub fn certain(a: &Incident, b: &Incident) -> bool {
    if let (Some(fa), Some(fb)) = (&a.failure, &b.failure) {
        if fa.tool == fb.tool && fa.signature == fb.signature {
            return true;
        }
        if fa.remedy().is_some() && fa.remedy() == fb.remedy() {
            return true;
        }
    }
    a.said.iter().any(|x| b.said.iter().any(|y| same_words(&x.text, &y.text)))
}

/// The text's words, lower case, without punctuation: what "the same
/// words" compares.
pub fn normalised(text: &str) -> String {
    plain_words(text).join(" ")
}

fn same_words(a: &str, b: &str) -> bool {
    let (a, b) = (normalised(a), normalised(b));
    !a.is_empty() && a == b
}

/// Groups of `0..n`: the certain pairs' connected sets, joined along the
/// `similar` pairs (`(a, b, cosine)`, any order) by average linkage (see
/// the module doc); `sim(a, b)` is the similarity of any two members (1
/// for certain pairs). A group is never larger than `max` members. The
/// result is sorted: members ascending, groups by their first member.
pub fn groups(
    n: usize,
    certain_pairs: &[(usize, usize)],
    similar: &[(usize, usize, f32)],
    sim: &dyn Fn(usize, usize) -> f32,
    t: PatternThresholds,
    max: usize,
) -> Vec<Vec<usize>> {
    let mut sets = Sets::new(n);
    for &(a, b) in certain_pairs {
        sets.union(a, b);
    }
    let mut members: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for x in 0..n {
        members.entry(sets.find(x)).or_default().push(x);
    }
    let mut edges: Vec<(f32, usize, usize)> =
        similar.iter().filter(|e| e.2 >= t.link).map(|&(a, b, c)| (c, a.min(b), a.max(b))).collect();
    edges.sort_by(|x, y| y.0.total_cmp(&x.0).then(x.1.cmp(&y.1)).then(x.2.cmp(&y.2)));
    // Mean similarity of each group's own members (none for one member).
    let cohesion = |g: &[usize]| -> Option<f32> {
        let pairs = g.len() * (g.len() - 1) / 2;
        (pairs > 0).then(|| {
            let total: f32 =
                g.iter().enumerate().flat_map(|(k, &x)| g[k + 1..].iter().map(move |&y| sim(x, y))).sum();
            total / pairs as f32
        })
    };
    for (_, a, b) in edges {
        let (ra, rb) = (sets.find(a), sets.find(b));
        if ra == rb {
            continue;
        }
        let (ga, gb) = (&members[&ra], &members[&rb]);
        if ga.len() + gb.len() > max {
            continue;
        }
        let total: f32 =
            ga.iter().flat_map(|&x| gb.iter().map(move |&y| (x, y))).map(|(x, y)| sim(x, y)).sum();
        let across = total / (ga.len() * gb.len()) as f32;
        let tight = [cohesion(ga), cohesion(gb)].into_iter().flatten().fold(0.0f32, f32::max);
        if across >= t.join && across >= COHESION * tight {
            sets.union(ra, rb);
            let keep = sets.find(ra);
            let gone = if keep == ra { rb } else { ra };
            let moved = members.remove(&gone).unwrap_or_default();
            let into = members.entry(keep).or_default();
            into.extend(moved);
            into.sort_unstable();
        }
    }
    let mut out: Vec<Vec<usize>> = members.into_values().collect();
    out.sort_by_key(|g| g[0]);
    out
}

/// Disjoint sets over `0..n` (union by index: the smaller root wins, so
/// the result does not depend on the order of unions).
pub struct Sets {
    parent: Vec<usize>,
}

impl Sets {
    /// `n` singletons.
    pub fn new(n: usize) -> Self {
        Self { parent: (0..n).collect() }
    }

    /// The representative of `x`.
    pub fn find(&mut self, mut x: usize) -> usize {
        while self.parent[x] != x {
            self.parent[x] = self.parent[self.parent[x]];
            x = self.parent[x];
        }
        x
    }

    /// Joins the sets of `a` and `b`.
    pub fn union(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            let (keep, gone) = if ra < rb { (ra, rb) } else { (rb, ra) };
            self.parent[gone] = keep;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn average_linkage_does_not_chain_topics() {
        // 0–1 and 1–2 are alike, 0–2 not at all: a chain, not a group.
        let sim = |a: usize, b: usize| match (a.min(b), a.max(b)) {
            (0, 1) | (1, 2) => 0.6,
            _ => 0.0,
        };
        let t = PatternThresholds { link: 0.5, join: 0.45 };
        let g = groups(3, &[], &[(0, 1, 0.6), (1, 2, 0.6)], &sim, t, 8);
        assert_eq!(g, vec![vec![0, 1], vec![2]]);
        // Certain pairs join whatever their similarity.
        let g = groups(3, &[(2, 0)], &[], &sim, t, 8);
        assert_eq!(g, vec![vec![0, 2], vec![1]]);
        // A tight pair does not take in what is only loosely like it.
        let sim2 = |a: usize, b: usize| match (a.min(b), a.max(b)) {
            (0, 1) => 0.9,
            _ => 0.5,
        };
        let g = groups(3, &[], &[(0, 1, 0.9), (1, 2, 0.5), (0, 2, 0.5)], &sim2, t, 8);
        assert_eq!(g, vec![vec![0, 1], vec![2]]);
        // A size cap holds.
        let g = groups(3, &[], &[(0, 1, 0.6)], &sim, t, 1);
        assert_eq!(g, vec![vec![0], vec![1], vec![2]]);
    }

    #[test]
    fn sets_do_not_depend_on_union_order() {
        let mut a = Sets::new(5);
        a.union(3, 1);
        a.union(4, 3);
        let mut b = Sets::new(5);
        b.union(4, 1);
        b.union(1, 3);
        for x in 0..5 {
            assert_eq!(a.find(x), b.find(x));
        }
        assert_eq!(a.find(4), 1);
    }

    #[test]
    fn the_same_words_after_case_and_punctuation() {
        assert_eq!(normalised("No, use pnpm -- not npm!"), normalised("no use pnpm not npm"));
        assert!(!same_words("", ""));
    }
}
