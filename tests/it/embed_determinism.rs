//! The candidate set is a pure function of the vectors: the same with 1 and
//! N threads, and with the vectors given in another order (ids mapped back).

use dreamwork::embed::normalize;
use dreamwork::index::{CandidatePair, HnswParams, Index, IndexKind};

/// Deterministic clustered unit vectors: `clusters` centres, each point a
/// centre plus noise, so near-duplicate pairs exist.
fn clustered(n: usize, dim: usize, clusters: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut state = seed;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f32 / (1u64 << 53) as f32 - 0.5
    };
    let centres: Vec<Vec<f32>> = (0..clusters).map(|_| (0..dim).map(|_| next()).collect()).collect();
    (0..n)
        .map(|i| {
            let c = &centres[i % clusters];
            let mut v: Vec<f32> = c.iter().map(|x| x + 0.15 * next()).collect();
            normalize(&mut v);
            v
        })
        .collect()
}

fn pairs_in(threads: usize, vectors: Vec<Vec<f32>>, kind: IndexKind) -> Vec<CandidatePair> {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
    pool.install(|| Index::build_with(vectors, kind, HnswParams::default()).candidate_pairs(8, 0.6))
}

fn key(p: &CandidatePair) -> (usize, usize, u32) {
    (p.a, p.b, p.similarity.to_bits())
}

fn check(kind: IndexKind, n: usize) {
    let vectors = clustered(n, 48, n / 10, 42);
    let one = pairs_in(1, vectors.clone(), kind);
    let four = pairs_in(4, vectors.clone(), kind);
    assert!(!one.is_empty());
    assert_eq!(one.iter().map(key).collect::<Vec<_>>(), four.iter().map(key).collect::<Vec<_>>());

    // Shuffle: position j of the shuffled list holds canonical vector perm[j].
    let mut perm: Vec<usize> = (0..n).collect();
    let mut s = 7u64;
    for i in (1..n).rev() {
        s = s.wrapping_mul(6364136223846793005).wrapping_add(1);
        perm.swap(i, (s >> 33) as usize % (i + 1));
    }
    let shuffled: Vec<Vec<f32>> = perm.iter().map(|&i| vectors[i].clone()).collect();
    let mut back: Vec<(usize, usize, u32)> = pairs_in(3, shuffled, kind)
        .iter()
        .map(|p| {
            let (a, b) = (perm[p.a], perm[p.b]);
            (a.min(b), a.max(b), p.similarity.to_bits())
        })
        .collect();
    back.sort();
    assert_eq!(one.iter().map(key).collect::<Vec<_>>(), back);
}

#[test]
fn hnsw_candidates_ignore_threads_and_order() {
    check(IndexKind::Hnsw, 600);
}

#[test]
fn exact_candidates_ignore_threads_and_order() {
    check(IndexKind::Exact, 400);
}

#[test]
fn hnsw_agrees_with_exact_on_clear_pairs() {
    let vectors = clustered(600, 48, 60, 9);
    let exact = pairs_in(2, vectors.clone(), IndexKind::Exact);
    let approx = pairs_in(2, vectors, IndexKind::Hnsw);
    let e: std::collections::BTreeSet<_> = exact.iter().map(key).collect();
    let a: std::collections::BTreeSet<_> = approx.iter().map(key).collect();
    assert!(a.is_subset(&e), "hnsw scores are exact re-scores");
    let recall = a.len() as f64 / e.len() as f64;
    assert!(recall > 0.98, "recall {recall}");
}
