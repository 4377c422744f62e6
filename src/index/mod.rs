//! The similarity index: k-nearest neighbours and near-duplicate candidate
//! pairs over L2-normalised vectors.
//!
//! Vectors are given in a canonical order (the caller sorts them, e.g. by
//! memory path) and ids are positions in that order. Results are sorted by
//! descending similarity, ties broken by ascending id, so that the candidate
//! set is a pure function of the vectors.

pub mod exact;
pub mod hnsw;

pub use exact::ExactIndex;
pub use hnsw::{HnswIndex, HnswParams};

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

/// The canonical order of neighbours: descending similarity, then
/// ascending id.
pub(crate) fn neighbour_order(x: &Neighbour, y: &Neighbour) -> std::cmp::Ordering {
    y.similarity.total_cmp(&x.similarity).then(x.id.cmp(&y.id))
}

/// Sorts neighbours by descending similarity, then ascending id.
pub(crate) fn sort_neighbours(list: &mut [Neighbour]) {
    list.sort_by(neighbour_order);
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
    pairs.sort_by_key(|p| (p.a, p.b));
    pairs.dedup_by(|x, y| x.a == y.a && x.b == y.b);
    pairs
}

/// Stores up to this many vectors use [`ExactIndex`]; larger ones use
/// [`HnswIndex`]. Chosen by measurement (`benches/index.rs` prints the
/// table; 384-d clustered vectors, 2 cores, default [`HnswParams`]): for
/// candidate pairs exact took 1.7 s at 5k and 7.0 s at 10k, hnsw build plus
/// search 3.2 s and 14.2 s. Exact grows with n², hnsw with about n log n, so
/// they meet near 20k; below that exact is as fast or faster and never wrong.
pub const EXACT_MAX: usize = 20_000;

/// Which search an [`Index`] uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IndexKind {
    /// [`ExactIndex`] up to [`EXACT_MAX`] vectors, [`HnswIndex`] above.
    #[default]
    Auto,
    /// Always exact.
    Exact,
    /// Always hnsw.
    Hnsw,
}

/// A similarity index that is exact for small stores and hnsw for large
/// ones; either way a pure function of the vectors in build order.
#[derive(Debug)]
pub enum Index {
    /// Brute force.
    Exact(ExactIndex),
    /// Approximate, deterministic.
    Hnsw(HnswIndex),
}

impl Index {
    /// Builds an index over `vectors` (ids are positions), exact up to
    /// [`EXACT_MAX`] vectors.
    pub fn build(vectors: Vec<Vec<f32>>) -> Self {
        Self::build_with(vectors, IndexKind::Auto, HnswParams::default())
    }

    /// Builds an index of the given kind.
    pub fn build_with(vectors: Vec<Vec<f32>>, kind: IndexKind, params: HnswParams) -> Self {
        let exact = match kind {
            IndexKind::Auto => vectors.len() <= EXACT_MAX,
            IndexKind::Exact => true,
            IndexKind::Hnsw => false,
        };
        if exact {
            Index::Exact(ExactIndex::build(vectors))
        } else {
            Index::Hnsw(HnswIndex::build(vectors, params))
        }
    }

    /// Number of vectors held.
    pub fn len(&self) -> usize {
        match self {
            Index::Exact(i) => i.len(),
            Index::Hnsw(i) => i.len(),
        }
    }

    /// Whether the index holds no vector.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `k` vectors most similar to `query`, by descending similarity
    /// then ascending id.
    pub fn neighbours(&self, query: &[f32], k: usize) -> Vec<Neighbour> {
        match self {
            Index::Exact(i) => i.neighbours(query, k),
            Index::Hnsw(i) => i.neighbours(query, k),
        }
    }

    /// Every pair among each vector's `k` nearest others whose similarity is
    /// at least `min_similarity`, sorted by `(a, b)`.
    pub fn candidate_pairs(&self, k: usize, min_similarity: f32) -> Vec<CandidatePair> {
        match self {
            Index::Exact(i) => i.candidate_pairs(k, min_similarity),
            Index::Hnsw(i) => i.candidate_pairs(k, min_similarity),
        }
    }
}
