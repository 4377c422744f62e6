//! The similarity index: k-nearest neighbours and near-duplicate candidate
//! pairs over L2-normalised vectors.
//!
//! Vectors are given in a canonical order (the caller sorts them, e.g. by
//! memory path) and ids are positions in that order. Results are sorted by
//! descending similarity, ties broken by ascending id, so that the candidate
//! set is a pure function of the vectors.

pub mod exact;

pub use exact::ExactIndex;

/// A neighbour of a query: its id (position in the build order) and cosine
/// similarity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Neighbour {
    /// Position of the vector in the build order.
    pub id: usize,
    /// Cosine similarity to the query.
    pub similarity: f32,
}

/// An unordered pair of near vectors, stored with `a < b`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CandidatePair {
    /// The smaller id.
    pub a: usize,
    /// The larger id.
    pub b: usize,
    /// Their cosine similarity.
    pub similarity: f32,
}

/// Sorts neighbours by descending similarity, then ascending id.
pub(crate) fn sort_neighbours(list: &mut [Neighbour]) {
    list.sort_by(|x, y| y.similarity.total_cmp(&x.similarity).then(x.id.cmp(&y.id)));
}

/// Turns per-vector neighbour lists into a sorted, de-duplicated pair list,
/// keeping pairs at or above `min_similarity`.
pub(crate) fn pairs_from_neighbours(lists: &[Vec<Neighbour>], min_similarity: f32) -> Vec<CandidatePair> {
    let mut pairs: Vec<CandidatePair> = lists
        .iter()
        .enumerate()
        .flat_map(|(i, list)| {
            list.iter()
                .filter(move |n| n.id != i && n.similarity >= min_similarity)
                .map(move |n| CandidatePair { a: i.min(n.id), b: i.max(n.id), similarity: n.similarity })
        })
        .collect();
    pairs.sort_by(|x, y| (x.a, x.b).cmp(&(y.a, y.b)));
    pairs.dedup_by(|x, y| x.a == y.a && x.b == y.b);
    pairs
}
