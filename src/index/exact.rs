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
    pub fn neighbours(&self, query: &[f32], k: usize) -> Vec<Neighbour> {
        let mut all: Vec<Neighbour> = self
            .vectors
            .iter()
            .enumerate()
            .map(|(id, v)| Neighbour { id, similarity: cosine(query, v) })
            .collect();
        // Select the k best first (the order is total, so this is exact and
        // deterministic), then sort only those.
        if k < all.len() {
            if k == 0 {
                return Vec::new();
            }
            all.select_nth_unstable_by(k - 1, neighbour_order);
            all.truncate(k);
        }
        sort_neighbours(&mut all);
        all
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
    fn pairs_are_canonical() {
        let idx = ExactIndex::build(vec![unit(1.0, 0.0), unit(0.0, 1.0), unit(1.0, 0.1)]);
        let pairs = idx.candidate_pairs(2, 0.9);
        assert_eq!(pairs.len(), 1);
        assert_eq!((pairs[0].a, pairs[0].b), (0, 2));
    }
}
