//! Index benchmarks: build and query, exact vs hnsw, at 10k and 100k
//! vectors (384-d), plus printed figures that criterion does not give:
//!
//! - the exact/hnsw crossover for candidate pairs (how `EXACT_MAX` was chosen),
//! - hnsw recall against exact search at 100k clustered vectors.
//!
//! `cargo bench --bench index`. Set `DREAMWORK_BENCH_QUICK=1` to stop at 10k.

use std::time::Instant;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use dreamwork::embed::normalize;
use dreamwork::index::{ExactIndex, HnswIndex, HnswParams};

const DIM: usize = 384;

/// xorshift noise in [-0.5, 0.5).
fn noise(state: &mut u64) -> f32 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    (*state >> 11) as f32 / (1u64 << 53) as f32 - 0.5
}

/// Random unit vectors (no structure: the worst case for hnsw speed).
fn random(n: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut s = seed | 1;
    (0..n)
        .map(|_| {
            let mut v: Vec<f32> = (0..DIM).map(|_| noise(&mut s)).collect();
            normalize(&mut v);
            v
        })
        .collect()
}

/// Clustered unit vectors: groups of 10 points around random centres
/// (cosine ≈ 0.75 within a group), like a store full of near-duplicates.
fn clustered(n: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut s = seed | 1;
    let centres = random(n / 10 + 1, seed.wrapping_add(99));
    (0..n)
        .map(|i| {
            let c = &centres[(i * 7919) % centres.len()];
            let mut v: Vec<f32> = c.iter().map(|x| x + 0.12 * noise(&mut s)).collect();
            normalize(&mut v);
            v
        })
        .collect()
}

fn quick() -> bool {
    std::env::var("DREAMWORK_BENCH_QUICK").is_ok_and(|v| v == "1")
}

/// Prints how long candidate pairs take both ways at growing sizes.
fn crossover() {
    println!(
        "# candidate_pairs(k = 10, min 0.5), clustered 384-d, threads = {}",
        rayon::current_num_threads()
    );
    println!("# n\texact_s\thnsw_build_s\thnsw_pairs_s");
    let sizes: &[usize] =
        if quick() { &[1_000, 2_000, 5_000, 10_000] } else { &[1_000, 2_000, 5_000, 10_000, 20_000, 40_000] };
    for &n in sizes {
        let v = clustered(n, 5);
        let t = Instant::now();
        let e = ExactIndex::build(v.clone()).candidate_pairs(10, 0.5);
        let exact = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let h = HnswIndex::build(v, HnswParams::default());
        let build = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let hp = h.candidate_pairs(10, 0.5);
        let pairs = t.elapsed().as_secs_f64();
        println!("{n}\t{exact:.3}\t{build:.3}\t{pairs:.3}\t(pairs exact {} hnsw {})", e.len(), hp.len());
    }
}

/// Recall of hnsw against exact on `n` clustered vectors, over `queries`
/// of them, at several `ef_search`: recall@10 (all ten nearest others) and
/// candidate recall (those of the ten with cosine ≥ 0.5, which is what
/// near-duplicate detection asks for).
fn recall(n: usize, queries: usize) {
    let v = clustered(n, 11);
    let t = Instant::now();
    let mut h = HnswIndex::build(v.clone(), HnswParams::default());
    let build = t.elapsed().as_secs_f64();
    println!("# hnsw at {n} clustered 384-d vectors, {:?}: serial build {build:.1} s", h.params());
    let e = ExactIndex::build(v.clone());
    let truth: Vec<(usize, Vec<usize>, Vec<usize>)> = (0..n)
        .step_by((n / queries).max(1))
        .map(|q| {
            let near: Vec<_> = e.neighbours(&v[q], 11).into_iter().filter(|x| x.id != q).take(10).collect();
            let all = near.iter().map(|x| x.id).collect();
            let pairs = near.iter().filter(|x| x.similarity >= 0.5).map(|x| x.id).collect();
            (q, all, pairs)
        })
        .collect();
    for ef in [HnswParams::default().ef_search, 96, 200] {
        h = h.with_ef_search(ef);
        let (mut hit, mut tot, mut phit, mut ptot) = (0, 0, 0, 0);
        let t = Instant::now();
        for (q, all, pairs) in &truth {
            let got: Vec<usize> = h.neighbours(&v[*q], 11).iter().map(|x| x.id).collect();
            hit += all.iter().filter(|id| got.contains(id)).count();
            tot += all.len();
            phit += pairs.iter().filter(|id| got.contains(id)).count();
            ptot += pairs.len();
        }
        let ms = t.elapsed().as_secs_f64() * 1e3 / truth.len() as f64;
        println!(
            "#   ef_search {ef}: recall@10 {:.4} ({hit}/{tot}), candidate recall (cos >= 0.5) {:.4} ({phit}/{ptot}), {ms:.2} ms/query",
            hit as f64 / tot as f64,
            phit as f64 / ptot as f64
        );
    }
}

fn bench(c: &mut Criterion) {
    crossover();
    let sizes: &[usize] = if quick() { &[10_000] } else { &[10_000, 100_000] };
    if !quick() {
        recall(100_000, 1_000);
    } else {
        recall(10_000, 500);
    }

    let mut g = c.benchmark_group("index_build");
    g.sample_size(10);
    let v = random(10_000, 1);
    g.throughput(Throughput::Elements(v.len() as u64));
    g.bench_function(BenchmarkId::new("hnsw", 10_000), |b| {
        b.iter(|| HnswIndex::build(v.clone(), HnswParams::default()))
    });
    g.bench_function(BenchmarkId::new("exact", 10_000), |b| b.iter(|| ExactIndex::build(v.clone())));
    g.finish();

    let mut g = c.benchmark_group("index_query_k10");
    for &n in sizes {
        let v = random(n, 2);
        let queries = random(100, 3);
        let h = HnswIndex::build(v.clone(), HnswParams::default());
        let e = ExactIndex::build(v);
        g.throughput(Throughput::Elements(queries.len() as u64));
        g.sample_size(10);
        g.bench_function(BenchmarkId::new("hnsw", n), |b| {
            b.iter(|| queries.iter().map(|q| h.neighbours(q, 10).len()).sum::<usize>())
        });
        g.bench_function(BenchmarkId::new("exact", n), |b| {
            b.iter(|| queries.iter().map(|q| e.neighbours(q, 10).len()).sum::<usize>())
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
