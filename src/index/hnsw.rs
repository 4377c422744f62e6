//! Approximate search with hnsw_rs, made deterministic.
//!
//! hnsw_rs draws each point's layer from its own RNG seeded with a constant,
//! in insertion order, and `parallel_insert` makes that order (and the
//! graph) depend on thread scheduling. So this index:
//!
//! - inserts **serially**, in a canonical order that depends only on the
//!   vectors: sorted by the blake3 hash of each vector's bytes, ties by id.
//!   The order looks random (what HNSW wants) but is the same for the same
//!   vectors whatever order or thread count they arrive with;
//! - searches in parallel (searching does not change the graph);
//! - re-scores every hit with [`cosine`] and sorts by
//!   (similarity desc, id asc), so scores and ties are exactly those of
//!   [`ExactIndex`](super::ExactIndex).
//!
//! The result is a pure function of the vectors (tested with 1 and N
//! threads and shuffled input). It may miss a true neighbour (recall is
//! measured in `benches/index.rs`), but always the same one.

use hnsw_rs::anndists::dist::Distance;
use hnsw_rs::hnsw::Hnsw;
use rayon::prelude::*;

use super::{CandidatePair, Neighbour, WATCH_BATCH, pairs_from_neighbours, sort_neighbours};
use crate::embed::cosine;
use crate::progress::{CancelToken, Cancelled, Observer, Progress};

/// Graph and search settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct HnswParams {
    /// Links per node and layer (hnsw "M"; at most 255).
    pub max_connections: usize,
    /// Candidate list size while building.
    pub ef_construction: usize,
    /// Candidate list size while searching (raised to `k` if smaller).
    pub ef_search: usize,
}

impl Default for HnswParams {
    /// M = 16, ef_construction = 128, ef_search = 48, chosen by measurement
    /// at 100k clustered 384-d vectors (`benches/index.rs`): candidate
    /// recall (neighbours with cosine ≥ 0.5) 1.0000 and recall@10 0.986
    /// against exact search, where M = 12, ef_construction = 64 gave only
    /// 0.976 candidate recall at ef_search = 48 (0.994 at 200).
    fn default() -> Self {
        Self { max_connections: 16, ef_construction: 128, ef_search: 48 }
    }
}

/// `1 - dot`, clamped to `[0, 2]` (hnsw_rs asserts distances are not
/// negative, and rounding can make `1 - dot` of a unit vector with itself
/// slightly so). A NaN becomes the largest distance.
#[derive(Debug, Clone, Copy, Default)]
struct CosineDistance;

impl Distance<f32> for CosineDistance {
    fn eval(&self, va: &[f32], vb: &[f32]) -> f32 {
        let d = 1.0 - cosine(va, vb);
        if d.is_nan() { 2.0 } else { d.clamp(0.0, 2.0) }
    }
}

/// An empty graph for `len` vectors, and the settings it uses (links per
/// node clamped to what hnsw_rs accepts).
fn empty_graph(len: usize, params: HnswParams) -> (Hnsw<'static, f32, CosineDistance>, HnswParams) {
    let max_connections = params.max_connections.clamp(2, 255);
    let params = HnswParams { max_connections, ..params };
    (Hnsw::new(max_connections, len.max(1), 16, params.ef_construction, CosineDistance), params)
}

/// The hnsw index over vectors held in build order.
pub struct HnswIndex {
    vectors: Vec<Vec<f32>>,
    graph: Hnsw<'static, f32, CosineDistance>,
    params: HnswParams,
}

impl std::fmt::Debug for HnswIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HnswIndex").field("len", &self.vectors.len()).field("params", &self.params).finish()
    }
}

/// The canonical insertion order: ids sorted by the blake3 hash of their
/// vector's little-endian bytes, then by id.
pub fn insertion_order(vectors: &[Vec<f32>]) -> Vec<usize> {
    let mut keyed: Vec<([u8; 32], usize)> = vectors
        .par_iter()
        .enumerate()
        .map(|(id, v)| {
            let mut h = blake3::Hasher::new();
            for x in v {
                h.update(&x.to_le_bytes());
            }
            (*h.finalize().as_bytes(), id)
        })
        .collect();
    keyed.sort_unstable();
    keyed.into_iter().map(|(_, id)| id).collect()
}

impl HnswIndex {
    /// Builds the graph; ids are positions in `vectors`.
    pub fn build(vectors: Vec<Vec<f32>>, params: HnswParams) -> Self {
        let (graph, params) = empty_graph(vectors.len(), params);
        for id in insertion_order(&vectors) {
            graph.insert_slice((&vectors[id], id));
        }
        Self::searching(vectors, graph, params)
    }

    /// [`build`](Self::build), reporting stage `"index"` (vectors inserted)
    /// and stopping between batches of [`WATCH_BATCH`] insertions once
    /// `cancel` is cancelled. The graph is the same.
    pub fn build_watched(
        vectors: Vec<Vec<f32>>,
        params: HnswParams,
        observer: &dyn Observer,
        cancel: &CancelToken,
    ) -> Result<Self, Cancelled> {
        let (graph, params) = empty_graph(vectors.len(), params);
        let total = vectors.len() as u64;
        observer.progress(Progress { stage: "index", done: 0, total });
        let mut done = 0;
        for batch in insertion_order(&vectors).chunks(WATCH_BATCH) {
            cancel.check()?;
            for &id in batch {
                graph.insert_slice((&vectors[id], id));
            }
            done += batch.len() as u64;
            observer.progress(Progress { stage: "index", done, total });
        }
        Ok(Self::searching(vectors, graph, params))
    }

    /// The index over a built graph, switched to searching.
    fn searching(
        vectors: Vec<Vec<f32>>,
        mut graph: Hnsw<'static, f32, CosineDistance>,
        params: HnswParams,
    ) -> Self {
        graph.set_searching_mode(true);
        Self { vectors, graph, params }
    }

    /// Number of vectors held.
    pub fn len(&self) -> usize {
        self.vectors.len()
    }

    /// Whether the index holds no vector.
    pub fn is_empty(&self) -> bool {
        self.vectors.is_empty()
    }

    /// The same graph searched with another `ef_search` (a search-time
    /// setting: trades speed for recall without rebuilding).
    pub fn with_ef_search(mut self, ef_search: usize) -> Self {
        self.params.ef_search = ef_search.max(1);
        self
    }

    /// The settings in use.
    pub fn params(&self) -> HnswParams {
        self.params
    }

    /// The vectors, in build order.
    pub fn vectors(&self) -> &[Vec<f32>] {
        &self.vectors
    }

    /// The (approximately) `k` vectors most similar to `query`.
    pub fn neighbours(&self, query: &[f32], k: usize) -> Vec<Neighbour> {
        if k == 0 || self.vectors.is_empty() {
            return Vec::new();
        }
        let ef = self.params.ef_search.max(k);
        let mut found: Vec<Neighbour> = self
            .graph
            .search(query, k, ef)
            .into_iter()
            .filter_map(|n| {
                self.vectors.get(n.d_id).map(|v| Neighbour { id: n.d_id, similarity: cosine(query, v) })
            })
            .collect();
        sort_neighbours(&mut found);
        found.dedup_by_key(|n| n.id);
        found.truncate(k);
        found
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
    use crate::embed::normalize;

    fn random_unit(seed: u64, n: usize, dim: usize) -> Vec<Vec<f32>> {
        let mut state = seed;
        (0..n)
            .map(|_| {
                let mut v: Vec<f32> = (0..dim)
                    .map(|_| {
                        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                        ((state >> 33) as f32 / (1u64 << 31) as f32) - 0.5
                    })
                    .collect();
                normalize(&mut v);
                v
            })
            .collect()
    }

    #[test]
    fn finds_itself_and_matches_exact_on_small_sets() {
        let vs = random_unit(7, 300, 16);
        let h = HnswIndex::build(vs.clone(), HnswParams::default());
        let e = super::super::ExactIndex::build(vs.clone());
        for (i, v) in vs.iter().enumerate().take(50) {
            let got = h.neighbours(v, 5);
            assert_eq!(got[0].id, i);
            assert_eq!(got, e.neighbours(v, 5));
        }
    }

    #[test]
    fn zero_and_nan_vectors_do_not_panic() {
        let mut vs = random_unit(3, 20, 4);
        vs.push(vec![0.0; 4]);
        vs.push(vec![f32::NAN; 4]);
        let h = HnswIndex::build(vs, HnswParams::default());
        assert!(!h.neighbours(&[0.0; 4], 3).is_empty());
        let _ = h.candidate_pairs(3, 0.5);
    }

    #[test]
    fn insertion_order_ignores_input_order() {
        let vs = random_unit(11, 50, 8);
        let order = insertion_order(&vs);
        let mut rev = vs.clone();
        rev.reverse();
        let back: Vec<usize> = insertion_order(&rev).into_iter().map(|i| 49 - i).collect();
        assert_eq!(order, back);
    }
}
