//! Search latency: one `memory_search` query over a store of 1k and 10k
//! memories (~120-byte notes), k = 10, once the index is built — with the
//! lexical embedder, with MiniLM (its vectors pre-filled in the cache, so
//! only the query is embedded; skipped when the model is not installed),
//! through a `SharedStore` (lock and change check per query, as
//! `dreamwork mcp` does), and right after another memory changed (one
//! embedding and an index rebuild).
//!
//! `cargo bench --bench agent`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use dreamwork::MemoryPath;
use dreamwork::agent::Searcher;
use dreamwork::embed::LexicalEmbedder;
use dreamwork::store::{SharedStore, Store};

const QUERY: &str = "which port does the staging database listen on";

/// A store of `n` memory-like notes in a temporary directory.
fn store(n: usize) -> (tempfile::TempDir, Store) {
    const SUBJECTS: [&str; 8] = [
        "staging database",
        "deploy window",
        "CI runner",
        "Go code style",
        "billing owner",
        "cache",
        "on-call rota",
        "API timeout",
    ];
    const FACTS: [&str; 6] = [
        "listens on port 5433 since the migration",
        "is owned by the platform team and reviewed weekly",
        "moved to Tuesdays after the outage",
        "uses tabs, and tests must pass before merge",
        "was raised to 30 seconds for the batch jobs",
        "runs on the self-hosted runner in the basement",
    ];
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = Store::create(dir.path().join("store")).expect("create");
    let mut batch = store.batch();
    for i in 0..n {
        let text = format!("The {} {} (note {i}).", SUBJECTS[i % 8], FACTS[(i / 8) % 6]);
        let path = MemoryPath::new(&format!("/notes/{:02}/{i:05}.md", i % 50)).expect("valid");
        batch.put(&path, &text).expect("put");
    }
    batch.commit().expect("commit");
    (dir, store)
}

fn bench_lexical(c: &mut Criterion) {
    let mut g = c.benchmark_group("search");
    g.measurement_time(Duration::from_secs(5));
    for n in [1_000, 10_000] {
        let (_dir, store) = store(n);
        let mut searcher = Searcher::new(Box::new(LexicalEmbedder::default()));
        searcher.search(&store, QUERY, 10).expect("first search builds the index");
        g.bench_function(BenchmarkId::new("lexical", n), |b| {
            b.iter(|| black_box(searcher.search(&store, QUERY, 10).expect("search")))
        });
    }
    g.finish();
}

#[cfg(feature = "minilm")]
fn bench_minilm(c: &mut Criterion) {
    use dreamwork::embed::{Embedder, MiniLmEmbedder, VectorCacheWriter, normalize};
    let minilm = match MiniLmEmbedder::load(&Default::default()) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("search/minilm skipped: {e}");
            return;
        }
    };
    let n = 10_000;
    let (_dir, store) = store(n);
    // Stand-in vectors of MiniLM's size in its cache: the scan costs the
    // same, and only the query goes through the model.
    let mut writer =
        VectorCacheWriter::open(&store.vectors_dir(), minilm.model_id(), minilm.dimension()).expect("cache");
    let vectors: Vec<Vec<f32>> = store
        .iter()
        .map(|m| {
            let mut v: Vec<f32> =
                (0..minilm.dimension()).map(|d| f32::from(m.hash.0[d % 32]) - 127.5).collect();
            normalize(&mut v);
            v
        })
        .collect();
    let entries: Vec<_> = store.iter().zip(&vectors).map(|(m, v)| (m.hash, v.as_slice())).collect();
    writer.append(&entries).expect("append");
    drop(writer);
    let mut searcher = Searcher::new(Box::new(minilm));
    searcher.search(&store, QUERY, 10).expect("first search builds the index");
    let mut g = c.benchmark_group("search");
    g.measurement_time(Duration::from_secs(5));
    g.bench_function(BenchmarkId::new("minilm", n), |b| {
        b.iter(|| black_box(searcher.search(&store, QUERY, 10).expect("search")))
    });
    g.finish();
}

#[cfg(not(feature = "minilm"))]
fn bench_minilm(_c: &mut Criterion) {
    eprintln!("search/minilm skipped: built without the `minilm` feature");
}

fn bench_shared_and_changed(c: &mut Criterion) {
    let n = 10_000;
    let (dir, store) = store(n);
    drop(store);
    let mut shared = SharedStore::open(dir.path().join("store")).expect("open");
    let mut searcher = Searcher::new(Box::new(LexicalEmbedder::default()));
    searcher.search_shared(&mut shared, QUERY, 10).expect("first search builds the index");
    let mut g = c.benchmark_group("search");
    g.measurement_time(Duration::from_secs(5));
    g.bench_function(BenchmarkId::new("lexical_shared_store", n), |b| {
        b.iter(|| black_box(searcher.search_shared(&mut shared, QUERY, 10).expect("search")))
    });
    g.sample_size(20);
    let path = MemoryPath::new("/notes/changing.md").expect("valid");
    let mut round = 0u64;
    g.bench_function(BenchmarkId::new("lexical_after_a_change", n), |b| {
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            for _ in 0..iters {
                round += 1;
                let text = format!("The staging database moved to port {round}.");
                shared.write(|s| s.put(&path, &text)).expect("put");
                let started = Instant::now();
                black_box(searcher.search_shared(&mut shared, QUERY, 10).expect("search"));
                spent += started.elapsed();
            }
            spent
        })
    });
    g.finish();
}

fn bench(c: &mut Criterion) {
    bench_lexical(c);
    bench_minilm(c);
    bench_shared_and_changed(c);
}

criterion_group!(benches, bench);
criterion_main!(benches);
