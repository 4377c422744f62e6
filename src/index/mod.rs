//! The similarity index: k-nearest neighbours and near-duplicate candidate
//! pairs over L2-normalised vectors.
//!
//! Vectors are given in a canonical order (the caller sorts them, e.g. by
//! memory path) and ids are positions in that order. Results are sorted by
//! descending similarity, ties broken by ascending id, so that the candidate
//! set is a pure function of the vectors.

mod exact;
mod hnsw;
mod similar;

pub use exact::ExactIndex;
pub use hnsw::{HnswIndex, HnswParams};
pub use similar::similar_memories;

use rayon::prelude::*;

use crate::progress::{CancelToken, Cancelled, Observer, Progress};

/// Vectors inserted or searched between two progress reports (and
/// cancellation checks) of the watched index jobs.
pub const WATCH_BATCH: usize = 1024;

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
/// [`HnswIndex`]. Chosen by measurement (`cargo bench --bench index` prints
/// the table; 384-d clustered vectors, 2 cores, default [`HnswParams`]):
/// candidate pairs took 2.2 s exact vs 14.1 s hnsw (serial build plus
/// search) at 10k, 18.6 vs 46.4 s at 20k and 70.4 vs 100.5 s at 40k. Exact
/// grows with n², hnsw with about n log n, so they meet near 60k; up to 40k
/// exact is faster and never misses a pair.
pub const EXACT_MAX: usize = 40_000;

/// Which search an [`Index`] uses (`auto`, `exact` or `hnsw` in a report's
/// options).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
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
#[non_exhaustive]
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
        if kind.is_exact_for(vectors.len()) {
            Index::Exact(ExactIndex::build(vectors))
        } else {
            Index::Hnsw(HnswIndex::build(vectors, params))
        }
    }

    /// [`build_with`](Self::build_with), reporting the hnsw build as stage
    /// `"index"` (vectors inserted) and stopping between batches of
    /// [`WATCH_BATCH`] insertions once `cancel` is cancelled.
    pub fn build_watched(
        vectors: Vec<Vec<f32>>,
        kind: IndexKind,
        params: HnswParams,
        observer: &dyn Observer,
        cancel: &CancelToken,
    ) -> Result<Self, Cancelled> {
        if kind.is_exact_for(vectors.len()) {
            Ok(Index::Exact(ExactIndex::build(vectors)))
        } else {
            HnswIndex::build_watched(vectors, params, observer, cancel).map(Index::Hnsw)
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

    /// [`candidate_pairs`](Self::candidate_pairs), reporting stage
    /// `"candidates"` (vectors searched) and stopping between batches of
    /// [`WATCH_BATCH`] searches once `cancel` is cancelled. The result is
    /// the same.
    pub fn candidate_pairs_watched(
        &self,
        k: usize,
        min_similarity: f32,
        observer: &dyn Observer,
        cancel: &CancelToken,
    ) -> Result<Vec<CandidatePair>, Cancelled> {
        let vectors = match self {
            Index::Exact(i) => i.vectors(),
            Index::Hnsw(i) => i.vectors(),
        };
        let total = vectors.len();
        let report = |done: usize| {
            observer.progress(Progress { stage: "candidates", done: done as u64, total: total as u64 })
        };
        report(0);
        let mut lists: Vec<Vec<Neighbour>> = Vec::with_capacity(total);
        for batch in vectors.chunks(WATCH_BATCH) {
            cancel.check()?;
            lists.par_extend(batch.par_iter().map(|v| self.neighbours(v, k + 1)));
            report(lists.len());
        }
        Ok(pairs_from_neighbours(&lists, min_similarity))
    }
}

impl IndexKind {
    /// Whether an index of this kind over `len` vectors is exact.
    fn is_exact_for(self, len: usize) -> bool {
        match self {
            IndexKind::Auto => len <= EXACT_MAX,
            IndexKind::Exact => true,
            IndexKind::Hnsw => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embed::normalize;
    use crate::progress::Silent;

    fn vectors(n: usize) -> Vec<Vec<f32>> {
        let mut state = 3u64;
        (0..n)
            .map(|_| {
                let mut v: Vec<f32> = (0..8)
                    .map(|_| {
                        state = state
                            .wrapping_mul(6_364_136_223_846_793_005)
                            .wrapping_add(1_442_695_040_888_963_407);
                        (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5
                    })
                    .collect();
                normalize(&mut v);
                v
            })
            .collect()
    }

    #[test]
    fn watched_jobs_give_the_same_pairs_and_report_progress() {
        let vs = vectors(WATCH_BATCH + 300);
        for kind in [IndexKind::Exact, IndexKind::Hnsw] {
            let plain = Index::build_with(vs.clone(), kind, HnswParams::default()).candidate_pairs(5, 0.5);
            let events = std::sync::Mutex::new(Vec::new());
            let observer = |p: Progress| events.lock().expect("not poisoned").push(p);
            let cancel = CancelToken::new();
            let index = Index::build_watched(vs.clone(), kind, HnswParams::default(), &observer, &cancel)
                .expect("not cancelled");
            let watched = index.candidate_pairs_watched(5, 0.5, &observer, &cancel).expect("not cancelled");
            assert_eq!(watched, plain, "{kind:?}");
            let events = events.into_inner().expect("not poisoned");
            let last = events.last().expect("progress reported");
            assert_eq!((last.stage, last.done, last.total), ("candidates", vs.len() as u64, vs.len() as u64));
            if kind == IndexKind::Hnsw {
                assert!(events.iter().any(|p| p.stage == "index" && p.done == vs.len() as u64));
            }
        }
    }

    #[test]
    fn cancelled_index_jobs_stop() {
        let vs = vectors(50);
        let cancel = CancelToken::new();
        cancel.cancel();
        let built =
            Index::build_watched(vs.clone(), IndexKind::Hnsw, HnswParams::default(), &Silent, &cancel);
        assert_eq!(built.err(), Some(Cancelled));
        let exact = Index::build_with(vs, IndexKind::Exact, HnswParams::default());
        assert_eq!(exact.candidate_pairs_watched(5, 0.5, &Silent, &cancel), Err(Cancelled));
    }
}
