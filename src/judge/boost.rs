//! Gradient-boosted decision trees for a yes/no question, with Platt
//! scaling: small, deterministic, and written out as plain data.
//!
//! Training is a pure function of its input: features are cut into at most
//! [`MAX_BINS`] bins at quantiles of the training values, trees grow level
//! by level with ties broken by feature index then bin, and every sum runs
//! in sample order. The same data gives the same model bytes.

use serde::{Deserialize, Serialize};

/// Most bins a feature is cut into while training.
pub const MAX_BINS: usize = 64;

/// How trees are grown.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Params {
    /// Boosting rounds (trees).
    pub rounds: usize,
    /// Depth of each tree.
    pub depth: usize,
    /// Shrinkage applied to each tree's leaves.
    pub learning_rate: f64,
    /// L2 penalty on leaf values.
    pub lambda: f64,
    /// Least hessian (weighted p·(1−p)) on each side of a split.
    pub min_child_weight: f64,
}

impl Default for Params {
    fn default() -> Self {
        Self { rounds: 400, depth: 5, learning_rate: 0.05, lambda: 1.0, min_child_weight: 2.0 }
    }
}

/// A node of a tree: a split on one feature, or a leaf.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Node {
    /// Go to `left` when `feature ≤ at`, else to `right`.
    Split {
        /// The feature index.
        feature: usize,
        /// The threshold.
        at: f64,
        /// Index of the left child.
        left: usize,
        /// Index of the right child.
        right: usize,
    },
    /// A leaf's value (log-odds).
    Leaf {
        /// The value added to the score.
        leaf: f64,
    },
}

/// A boosted model: its score is `base + Σ tree(x)`; its probability the
/// Platt-scaled sigmoid of that score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Booster {
    /// The starting log-odds.
    pub base: f64,
    /// The trees, each a node list rooted at 0.
    pub trees: Vec<Vec<Node>>,
    /// Platt scaling: probability = σ(scale · score + shift).
    pub scale: f64,
    /// See [`Booster::scale`].
    pub shift: f64,
}

/// Why a model cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("tree {tree}, node {node}: {message}")]
#[non_exhaustive]
pub struct ModelError {
    /// The tree at fault.
    pub tree: usize,
    /// The node at fault.
    pub node: usize,
    /// What is wrong.
    pub message: String,
}

impl Booster {
    /// The raw score (log-odds before scaling) of `x`.
    pub fn score(&self, x: &[f64]) -> f64 {
        let mut s = self.base;
        for tree in &self.trees {
            let mut at = 0;
            loop {
                match tree.get(at) {
                    Some(Node::Split { feature, at: t, left, right }) => {
                        let v = x.get(*feature).copied().unwrap_or(0.0);
                        at = if v <= *t { *left } else { *right };
                    }
                    Some(Node::Leaf { leaf }) => {
                        s += leaf;
                        break;
                    }
                    None => break,
                }
            }
        }
        s
    }

    /// The calibrated probability of "yes" for `x`.
    pub fn probability(&self, x: &[f64]) -> f64 {
        sigmoid(self.scale * self.score(x) + self.shift)
    }

    /// Checks that every tree is well formed for `features` inputs: child
    /// indexes point forward inside the tree (so walking ends) and every
    /// number is finite.
    pub fn check(&self, features: usize) -> Result<(), ModelError> {
        if !(self.base.is_finite() && self.scale.is_finite() && self.shift.is_finite()) {
            return Err(ModelError { tree: 0, node: 0, message: "a non-finite base or scaling".into() });
        }
        for (t, tree) in self.trees.iter().enumerate() {
            if tree.is_empty() {
                return Err(ModelError { tree: t, node: 0, message: "an empty tree".into() });
            }
            for (n, node) in tree.iter().enumerate() {
                let bad = |message: &str| Err(ModelError { tree: t, node: n, message: message.into() });
                match node {
                    Node::Split { feature, at, left, right } => {
                        if *feature >= features {
                            return bad("a feature index out of range");
                        }
                        if !at.is_finite() {
                            return bad("a non-finite threshold");
                        }
                        if *left <= n || *right <= n || *left >= tree.len() || *right >= tree.len() {
                            return bad("a child index that does not point forward inside the tree");
                        }
                    }
                    Node::Leaf { leaf } if !leaf.is_finite() => return bad("a non-finite leaf"),
                    Node::Leaf { .. } => {}
                }
            }
        }
        Ok(())
    }
}

/// The logistic function.
pub fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// Fits a booster to rows `x` with labels `y` (true = yes) and weights `w`.
/// Platt scaling is left as the identity; see [`platt`].
pub fn fit(x: &[Vec<f64>], y: &[bool], w: &[f64], params: &Params) -> Booster {
    let n = x.len();
    let features = x.first().map_or(0, Vec::len);
    let cuts: Vec<Vec<f64>> = (0..features).map(|f| cut_points(x.iter().map(|r| r[f]))).collect();
    let bins: Vec<Vec<u8>> = x
        .iter()
        .map(|r| (0..features).map(|f| cuts[f].partition_point(|c| *c < r[f]) as u8).collect())
        .collect();
    let total_w: f64 = w.iter().sum();
    let pos_w: f64 = y.iter().zip(w).filter(|(y, _)| **y).map(|(_, w)| w).sum();
    let prior = (pos_w / total_w.max(f64::MIN_POSITIVE)).clamp(1e-6, 1.0 - 1e-6);
    let base = (prior / (1.0 - prior)).ln();
    let mut score = vec![base; n];
    let mut trees = Vec::with_capacity(params.rounds);
    let mut grad = vec![0.0; n];
    let mut hess = vec![0.0; n];
    for _ in 0..params.rounds {
        for i in 0..n {
            let p = sigmoid(score[i]);
            grad[i] = w[i] * (p - if y[i] { 1.0 } else { 0.0 });
            hess[i] = (w[i] * p * (1.0 - p)).max(1e-12);
        }
        let grower = Grower { bins: &bins, cuts: &cuts, grad: &grad, hess: &hess, params };
        let mut nodes = Vec::new();
        let all: Vec<usize> = (0..n).collect();
        grower.grow(&all, 0, &mut nodes);
        for (i, s) in score.iter_mut().enumerate() {
            *s += leaf_of(&nodes, &bins[i], &cuts);
        }
        trees.push(nodes);
    }
    Booster { base, trees, scale: 1.0, shift: 0.0 }
}

/// The Platt scaling `(a, b)` that fits σ(a·score + b) to held-out scores
/// (Newton's method on the weighted log loss); `None` if it diverges.
pub fn platt(scores: &[f64], y: &[bool], w: &[f64]) -> Option<(f64, f64)> {
    let (mut a, mut b) = (1.0f64, 0.0f64);
    for _ in 0..50 {
        let (mut ga, mut gb, mut haa, mut hab, mut hbb) = (0.0, 0.0, 1e-9, 0.0, 1e-9);
        for ((s, yi), wi) in scores.iter().zip(y).zip(w) {
            let p = sigmoid(a * s + b);
            let g = wi * (p - if *yi { 1.0 } else { 0.0 });
            let h = wi * p * (1.0 - p);
            ga += g * s;
            gb += g;
            haa += h * s * s;
            hab += h * s;
            hbb += h;
        }
        let det = haa * hbb - hab * hab;
        if det.abs() < 1e-12 {
            break;
        }
        let da = (hbb * ga - hab * gb) / det;
        let db = (haa * gb - hab * ga) / det;
        a -= da;
        b -= db;
        if da.abs() + db.abs() < 1e-10 {
            break;
        }
    }
    (a.is_finite() && b.is_finite()).then_some((a, b))
}

/// Up to `MAX_BINS − 1` cut points at quantiles of the distinct values.
fn cut_points(values: impl Iterator<Item = f64>) -> Vec<f64> {
    let mut v: Vec<f64> = values.filter(|x| x.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    v.dedup();
    if v.len() <= MAX_BINS {
        return v.windows(2).map(|p| (p[0] + p[1]) / 2.0).collect();
    }
    let mut cuts: Vec<f64> = (1..MAX_BINS)
        .map(|k| {
            let i = k * v.len() / MAX_BINS;
            (v[i - 1] + v[i]) / 2.0
        })
        .collect();
    cuts.dedup();
    cuts
}

/// The leaf value a row (by bins) reaches in a tree being built.
fn leaf_of(nodes: &[Node], bins: &[u8], cuts: &[Vec<f64>]) -> f64 {
    let mut at = 0;
    loop {
        match &nodes[at] {
            Node::Split { feature, at: t, left, right } => {
                let bin = bins[*feature] as usize;
                // Bin `k` holds values in (cut[k-1], cut[k]]: at or below cut `t` iff bin ≤ index of t.
                let index = cuts[*feature].partition_point(|c| c < t);
                at = if bin <= index { *left } else { *right };
            }
            Node::Leaf { leaf } => return *leaf,
        }
    }
}

struct Grower<'a> {
    bins: &'a [Vec<u8>],
    cuts: &'a [Vec<f64>],
    grad: &'a [f64],
    hess: &'a [f64],
    params: &'a Params,
}

impl Grower<'_> {
    fn grow(&self, rows: &[usize], depth: usize, nodes: &mut Vec<Node>) -> usize {
        let at = nodes.len();
        let (g, h) = rows.iter().fold((0.0, 0.0), |(g, h), &i| (g + self.grad[i], h + self.hess[i]));
        let lambda = self.params.lambda;
        let leaf = Node::Leaf { leaf: -g / (h + lambda) * self.params.learning_rate };
        nodes.push(leaf.clone());
        if depth >= self.params.depth || h < 2.0 * self.params.min_child_weight {
            return at;
        }
        let parent = g * g / (h + lambda);
        let mut best: Option<(f64, usize, usize)> = None;
        for (f, cuts) in self.cuts.iter().enumerate() {
            if cuts.is_empty() {
                continue;
            }
            let mut hist = vec![(0.0f64, 0.0f64); cuts.len() + 1];
            for &i in rows {
                let b = self.bins[i][f] as usize;
                hist[b].0 += self.grad[i];
                hist[b].1 += self.hess[i];
            }
            let (mut gl, mut hl) = (0.0, 0.0);
            for (k, (hg, hh)) in hist.iter().enumerate().take(cuts.len()) {
                gl += hg;
                hl += hh;
                let (gr, hr) = (g - gl, h - hl);
                if hl < self.params.min_child_weight || hr < self.params.min_child_weight {
                    continue;
                }
                let gain = gl * gl / (hl + lambda) + gr * gr / (hr + lambda) - parent;
                if gain > 1e-9 && best.is_none_or(|(bg, _, _)| gain > bg) {
                    best = Some((gain, f, k));
                }
            }
        }
        let Some((_, feature, k)) = best else { return at };
        let threshold = self.cuts[feature][k];
        let (left_rows, right_rows): (Vec<usize>, Vec<usize>) =
            rows.iter().partition(|&&i| (self.bins[i][feature] as usize) <= k);
        let left = self.grow(&left_rows, depth + 1, nodes);
        let right = self.grow(&right_rows, depth + 1, nodes);
        nodes[at] = Node::Split { feature, at: threshold, left, right };
        at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data() -> (Vec<Vec<f64>>, Vec<bool>, Vec<f64>) {
        let x: Vec<Vec<f64>> = (0..400).map(|i| vec![(i % 20) as f64, (i / 20) as f64]).collect();
        let y: Vec<bool> = x.iter().map(|r| r[0] + r[1] > 20.0).collect();
        let w = vec![1.0; x.len()];
        (x, y, w)
    }

    #[test]
    fn learns_a_boundary_and_is_deterministic() {
        let (x, y, w) = data();
        let p = Params { rounds: 30, depth: 3, learning_rate: 0.3, ..Params::default() };
        let m = fit(&x, &y, &w, &p);
        let right = x.iter().zip(&y).filter(|(r, y)| (m.probability(r) > 0.5) == **y).count();
        assert!(right as f64 / x.len() as f64 > 0.95, "{right}");
        assert_eq!(m, fit(&x, &y, &w, &p));
        assert!(m.check(2).is_ok());
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(serde_json::from_str::<Booster>(&json).unwrap(), m);
    }

    #[test]
    fn scores_while_training_match_the_written_thresholds() {
        let (x, y, w) = data();
        let m = fit(&x, &y, &w, &Params { rounds: 1, depth: 3, learning_rate: 1.0, ..Params::default() });
        let cuts: Vec<Vec<f64>> = (0..2).map(|f| cut_points(x.iter().map(|r| r[f]))).collect();
        for r in &x {
            let bins: Vec<u8> = (0..2).map(|f| cuts[f].partition_point(|c| *c < r[f]) as u8).collect();
            assert_eq!(m.base + leaf_of(&m.trees[0], &bins, &cuts), m.score(r));
        }
    }

    #[test]
    fn calibration_and_checks() {
        let (x, y, w) = data();
        let m = fit(&x, &y, &w, &Params { rounds: 10, ..Params::default() });
        let scores: Vec<f64> = x.iter().map(|r| m.score(r)).collect();
        assert!(platt(&scores, &y, &w).is_some_and(|(scale, _)| scale > 0.0));
        let mut bad = m.clone();
        bad.trees[0][0] = Node::Split { feature: 0, at: 1.0, left: 0, right: 0 };
        assert!(bad.check(2).is_err());
        let mut bad = m.clone();
        bad.trees[0] = vec![Node::Split { feature: 9, at: 1.0, left: 1, right: 2 }];
        assert!(bad.check(2).is_err());
    }

    #[test]
    fn platt_scaling_fits_held_out_scores() {
        // Scores of 2 are right three times in four, of −2 once in four.
        let scores = [2.0, 2.0, 2.0, 2.0, -2.0, -2.0, -2.0, -2.0];
        let y = [true, true, true, false, false, false, false, true];
        let (a, b) = platt(&scores, &y, &[1.0; 8]).unwrap();
        assert!((sigmoid(a * 2.0 + b) - 0.75).abs() < 1e-6, "{a} {b}");
        assert!((sigmoid(-a * 2.0 + b) - 0.25).abs() < 1e-6, "{a} {b}");
    }
}
