//! Exact (brute-force) search: every query compared with every vector.
//! Right for small stores, and the reference the approximate index is
//! measured against.

use rayon::prelude::*;

use super::{CandidatePair, Neighbour, neighbour_order, pairs_from_neighbours, sort_neighbours};
use crate::embed::cosine;

/// Brute-force index over vectors held in build order.
#[derive(Debug, Clone, Default)]
pub struct ExactIndex {
    vectors: Vec<Vec<f32>>,
}

impl ExactIndex {
    /// Builds the index; ids are positions in `vectors`.
    pub fn build(vectors: Vec<Vec<f32>>) -> Self {
        Self { vectors }
    }

    /// Number of vectors held.
    pub fn len(&self) -> usize {
        self.vectors.len()
    }

    /// Whether the index holds no vector.
    pub fn is_empty(&self) -> bool {
        self.vectors.is_empty()
    }

    /// The `k` vectors most similar to `query`.
    ///
    /// The order of neighbours is total (similarity, then id), so the `k`
    /// best are one set whatever the scan order: a small `k` keeps the best
    /// so far while scanning; a large one selects among all similarities.
    pub fn neighbours(&self, query: &[f32], k: usize) -> Vec<Neighbour> {
        let scored =
            self.vectors.iter().enumerate().map(|(id, v)| Neighbour { id, similarity: cosine(query, v) });
        let mut best = if k <= SCAN_MAX_K {
            let mut top = TopK::new(k);
            scored.for_each(|n| top.offer(n));
            top.items
        } else {
            let mut all: Vec<Neighbour> = scored.collect();
            if k < all.len() {
                all.select_nth_unstable_by(k - 1, neighbour_order);
                all.truncate(k);
            }
            all
        };
        sort_neighbours(&mut best);
        best
    }

    /// The vectors, in build order.
    pub fn vectors(&self) -> &[Vec<f32>] {
        &self.vectors
    }

    /// Every pair among each vector's `k` nearest others whose similarity is
    /// at least `min_similarity`, sorted by `(a, b)`.
    pub fn candidate_pairs(&self, k: usize, min_similarity: f32) -> Vec<CandidatePair> {
        let lists: Vec<Vec<Neighbour>> = self.vectors.par_iter().map(|v| self.neighbours(v, k + 1)).collect();
        pairs_from_neighbours(&lists, min_similarity)
    }
}

/// Largest `k` for which [`ExactIndex::neighbours`] keeps a running top `k`
/// (each replacement rescans it) rather than selecting among all.
const SCAN_MAX_K: usize = 64;

/// The `k` best neighbours offered so far, unordered.
struct TopK {
    k: usize,
    items: Vec<Neighbour>,
    /// Position of the worst of `items` once it holds `k`.
    worst: usize,
}

impl TopK {
    fn new(k: usize) -> Self {
        Self { k, items: Vec::with_capacity(k), worst: 0 }
    }

    fn offer(&mut self, n: Neighbour) {
        if self.items.len() < self.k {
            self.items.push(n);
            if self.items.len() == self.k {
                self.find_worst();
            }
        } else if self.k > 0 && neighbour_order(&n, &self.items[self.worst]).is_lt() {
            self.items[self.worst] = n;
            self.find_worst();
        }
    }

    fn find_worst(&mut self) {
        let worst = self.items.iter().enumerate().max_by(|x, y| neighbour_order(x.1, y.1));
        self.worst = worst.map_or(0, |(i, _)| i);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(x: f32, y: f32) -> Vec<f32> {
        let n = (x * x + y * y).sqrt();
        vec![x / n, y / n]
    }

    #[test]
    fn finds_nearest_in_order() {
        let idx = ExactIndex::build(vec![unit(1.0, 0.0), unit(0.0, 1.0), unit(1.0, 0.1)]);
        let n = idx.neighbours(&unit(1.0, 0.0), 2);
        assert_eq!(n.iter().map(|n| n.id).collect::<Vec<_>>(), vec![0, 2]);
    }

    #[test]
    fn running_top_k_equals_selection_among_all() {
        let mut state = 1u64;
        let vectors: Vec<Vec<f32>> = (0..300)
            .map(|i| {
                state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                // Every fifth vector repeats an earlier one: ties broken by id.
                let angle = if i % 5 == 0 { (i / 5) as f32 } else { (state >> 40) as f32 / 1e5 };
                unit(angle.cos(), angle.sin())
            })
            .collect();
        let idx = ExactIndex::build(vectors);
        for (q, k) in [(0, 0), (1, 1), (7, 10), (12, 64), (40, 65), (99, 300), (3, 1000)] {
            let query = idx.vectors()[q].clone();
            let mut all: Vec<Neighbour> = idx
                .vectors()
                .iter()
                .enumerate()
                .map(|(id, v)| Neighbour { id, similarity: cosine(&query, v) })
                .collect();
            sort_neighbours(&mut all);
            all.truncate(k);
            assert_eq!(idx.neighbours(&query, k), all, "query {q}, k {k}");
        }
    }

    #[test]
    fn pairs_are_canonical() {
        let idx = ExactIndex::build(vec![unit(1.0, 0.0), unit(0.0, 1.0), unit(1.0, 0.1)]);
        let pairs = idx.candidate_pairs(2, 0.9);
        assert_eq!(pairs.len(), 1);
        assert_eq!((pairs[0].a, pairs[0].b), (0, 2));
    }
}
