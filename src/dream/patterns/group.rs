//! When two occurrences are one pattern: *certain* links group occurrences
//! on the device, *candidate* links only propose a group for a resolver to
//! confirm (a `pattern` question).

use super::incidents::Incident;
use super::statements::Terms;

/// Similarity thresholds of the embedder in use: cosines of different
/// models are not on one scale.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// A paraphrase sharing one term is certain at this cosine.
    pub high: f32,
    /// Below this cosine, texts sharing no term are not even candidates.
    pub low: f32,
}

/// How two occurrences relate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Link {
    /// Provably one pattern.
    Certain,
    /// Perhaps one pattern; the value orders candidates (higher first).
    Candidate(f32),
    /// Not one pattern (or nothing shows they are).
    None,
}

impl Link {
    fn or(self, other: Link) -> Link {
        match (self, other) {
            (Link::Certain, _) | (_, Link::Certain) => Link::Certain,
            (Link::Candidate(a), Link::Candidate(b)) => Link::Candidate(a.max(b)),
            (Link::Candidate(a), Link::None) | (Link::None, Link::Candidate(a)) => Link::Candidate(a),
            (Link::None, Link::None) => Link::None,
        }
    }
}

/// Two statements say the same when neither wants what the other rejects
/// and their terms agree: one's terms are all the other's (at least two,
/// or one with a similar embedding), or they share at least two terms and
/// half of the larger (or a practice term, `practice`: "small" and
/// "pull-request" in two long sentences), or one term and half of the
/// smaller at a high cosine. Weaker agreement (a shared term, or a cosine at `low`) is a
/// candidate.
pub fn statements(a: &Terms, b: &Terms, cos: f32, t: Thresholds, practice: &dyn Fn(&str) -> bool) -> Link {
    if a.opposes(b) || a.is_empty() || b.is_empty() {
        return Link::None;
    }
    let shared = a.shared(b);
    let on_practice =
        a.wanted.intersection(&b.wanted).chain(a.rejected.intersection(&b.rejected)).any(|w| practice(w));
    let small = a.len().min(b.len());
    let large = a.len().max(b.len());
    let certain = shared >= 1 && shared == small && (shared >= 2 || cos >= t.low)
        || shared >= 2 && (2 * shared >= large || on_practice)
        || shared >= 1 && 2 * shared >= small && cos >= t.high;
    if certain {
        Link::Certain
    } else if cos >= t.low || shared >= 1 && 2 * shared >= small {
        Link::Candidate(cos)
    } else {
        Link::None
    }
}

/// Two incidents are one mistake for certain when a failure of each has
/// the same tool and error signature, when both were set right by the
/// same program (a fix switched to it, or a correction asks for it, in
/// both), or when corrections of each say the same. They are candidates
/// when their corrections are alike, their failures of one tool read
/// alike, or they share a term of what they reject or want.
///
/// `cos(a, b)` gives the embedding cosine of two texts by their indices:
/// the failures' signatures use `sig_vec`, the corrections `said_vec`.
pub fn incidents(
    a: &Incident,
    b: &Incident,
    vectors: &IncidentVectors<'_>,
    cos: &dyn Fn(usize, usize) -> f32,
    t: Thresholds,
    practice: &dyn Fn(&str) -> bool,
) -> Link {
    if let (Some(fa), Some(fb)) = (&a.failure, &b.failure)
        && fa.tool == fb.tool
        && fa.signature == fb.signature
    {
        return Link::Certain;
    }
    let (ra, rb) = (a.remedy(), b.remedy());
    if ra.opposes(&rb) {
        return Link::None;
    }
    for program in [a.remedy_program(), b.remedy_program()].into_iter().flatten() {
        if ra.wanted.contains(program) && rb.wanted.contains(program) {
            return Link::Certain;
        }
    }
    let mut link = Link::None;
    for (ca, va) in a.corrections.iter().zip(vectors.said_a) {
        for (cb, vb) in b.corrections.iter().zip(vectors.said_b) {
            link = link.or(statements(&ca.statement.terms, &cb.statement.terms, cos(*va, *vb), t, practice));
        }
    }
    if let (Some(fa), Some(fb), Some(va), Some(vb)) = (&a.failure, &b.failure, vectors.sig_a, vectors.sig_b)
        && fa.tool == fb.tool
    {
        let c = cos(va, vb);
        if c >= t.low {
            link = link.or(Link::Candidate(c));
        }
    }
    if ra.shared(&rb) > 0 {
        link = link.or(Link::Candidate(0.0));
    }
    link
}

/// Where the texts of two incidents are among the embedded texts.
pub struct IncidentVectors<'a> {
    /// The first incident's failure signature.
    pub sig_a: Option<usize>,
    /// The second incident's failure signature.
    pub sig_b: Option<usize>,
    /// The first incident's corrections.
    pub said_a: &'a [usize],
    /// The second incident's corrections.
    pub said_b: &'a [usize],
}

/// Disjoint sets over `0..n` (union by size; the smaller root index wins
/// ties, so the result does not depend on the order of unions).
pub struct Sets {
    parent: Vec<usize>,
    size: Vec<usize>,
}

impl Sets {
    /// `n` singletons.
    pub fn new(n: usize) -> Self {
        Self { parent: (0..n).collect(), size: vec![1; n] }
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
            self.size[keep] += self.size[gone];
        }
    }

    /// Size of the set of `x`.
    pub fn size_of(&mut self, x: usize) -> usize {
        let r = self.find(x);
        self.size[r]
    }

    /// The sets, each sorted, ordered by their smallest member.
    pub fn groups(&mut self) -> Vec<Vec<usize>> {
        let n = self.parent.len();
        let mut by_root: std::collections::BTreeMap<usize, Vec<usize>> = std::collections::BTreeMap::new();
        for x in 0..n {
            let r = self.find(x);
            by_root.entry(r).or_default().push(x);
        }
        let mut groups: Vec<Vec<usize>> = by_root.into_values().collect();
        groups.sort_by_key(|g| g[0]);
        groups
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(wanted: &[&str], rejected: &[&str]) -> Terms {
        Terms {
            wanted: wanted.iter().map(|w| (*w).to_owned()).collect(),
            rejected: rejected.iter().map(|w| (*w).to_owned()).collect(),
        }
    }

    #[test]
    fn statements_link_on_agreeing_terms_never_on_opposite_ones() {
        let t = Thresholds { high: 0.7, low: 0.45 };
        let practice = |w: &str| w == "pull-request" || w == "function";
        let statements = |a: &Terms, b: &Terms, cos: f32, t: Thresholds| statements(a, b, cos, t, &practice);
        let small_prs = terms(&["pull-request", "small"], &[]);
        let small_prs_review = terms(&["pull-request", "small", "easy", "review"], &[]);
        assert_eq!(statements(&small_prs, &small_prs_review, 0.2, t), Link::Certain);
        let tabs = terms(&["tab"], &["space"]);
        let spaces = terms(&["space"], &["tab"]);
        assert_eq!(statements(&tabs, &spaces, 0.99, t), Link::None);
        let small_fns = terms(&["function", "small"], &[]);
        assert!(matches!(statements(&small_prs, &small_fns, 0.3, t), Link::Candidate(_)));
        let long = terms(&["pull-request", "small", "under", "300", "line", "split", "refactor"], &[]);
        assert_eq!(statements(&small_prs_review, &long, 0.3, t), Link::Certain, "two terms, one a practice");
        let retro = terms(&["retro", "thursday"], &[]);
        assert_eq!(statements(&small_prs, &retro, 0.1, t), Link::None);
    }

    #[test]
    fn sets_do_not_depend_on_union_order() {
        let mut a = Sets::new(5);
        a.union(3, 1);
        a.union(4, 3);
        let mut b = Sets::new(5);
        b.union(4, 1);
        b.union(1, 3);
        assert_eq!(a.groups(), b.groups());
        assert_eq!(a.groups(), vec![vec![0], vec![1, 3, 4], vec![2]]);
        assert_eq!(a.size_of(4), 3);
    }
}
