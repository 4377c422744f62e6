//! Embedding benchmarks: throughput (texts/s) of both backends, and of the
//! vector cache (hits through `embed_cached`, and loading from disk).
//! The MiniLM bench is skipped with a message when the model is not
//! installed (`dreamwork model fetch`).
//!
//! `cargo bench --bench embed`.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use dreamwork::embed::{Embedder, LexicalEmbedder, VectorCache, VectorCacheWriter, embed_cached};
use dreamwork::{CancelToken, ContentHash, Silent};

/// Memory-like texts of 8–30 words.
fn texts(n: usize) -> Vec<String> {
    const WORDS: [&str; 24] = [
        "the", "staging", "database", "listens", "on", "port", "deploys", "happen", "fridays", "alice",
        "prefers", "tabs", "in", "go", "code", "tests", "must", "pass", "before", "merge", "use", "ruff",
        "not", "flake8",
    ];
    let mut s = 0x9e3779b97f4a7c15u64;
    (0..n)
        .map(|i| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            let len = 8 + (s % 23) as usize;
            let words: Vec<&str> = (0..len).map(|j| WORDS[(s as usize >> (j % 40)) % WORDS.len()]).collect();
            format!("{} (note {i})", words.join(" "))
        })
        .collect()
}

fn run_embed(c: &mut Criterion, name: &str, e: &dyn Embedder, n: usize) {
    let t = texts(n);
    let items: Vec<(ContentHash, &str)> =
        t.iter().map(|s| (ContentHash::of(s.as_bytes()), s.as_str())).collect();
    let empty = VectorCache::empty(e.model_id(), e.dimension());
    let mut g = c.benchmark_group("embed_texts");
    g.throughput(Throughput::Elements(n as u64));
    g.sample_size(10);
    g.bench_function(BenchmarkId::new(name, n), |b| {
        b.iter(|| embed_cached(e, &items, &empty, None, &Silent, &CancelToken::new()).map(|v| v.len()))
    });
    g.finish();
}

fn bench(c: &mut Criterion) {
    let lexical = LexicalEmbedder::default();
    run_embed(c, "lexical", &lexical, 10_000);

    #[cfg(feature = "minilm")]
    match dreamwork::embed::MiniLmEmbedder::load(&Default::default()) {
        Ok(m) => run_embed(c, "minilm", &m, 256),
        Err(e) => eprintln!("embed_texts/minilm skipped: {e}"),
    }
    #[cfg(not(feature = "minilm"))]
    eprintln!("embed_texts/minilm skipped: built without the `minilm` feature");

    // Cache hits: 10k vectors of 384 dimensions (MiniLM's size).
    let n = 10_000;
    let dim = 384;
    let t = texts(n);
    let items: Vec<(ContentHash, &str)> =
        t.iter().map(|s| (ContentHash::of(s.as_bytes()), s.as_str())).collect();
    let fake = LexicalEmbedder::new(dim);
    let dir = tempfile::tempdir().expect("temporary directory for the bench");
    let mut w = VectorCacheWriter::open(dir.path(), fake.model_id(), dim).expect("cache writer");
    let empty = VectorCache::empty(fake.model_id(), dim);
    embed_cached(&fake, &items, &empty, Some(&mut w), &Silent, &CancelToken::new()).expect("fill cache");
    drop(w);
    let cache = VectorCache::load(dir.path(), fake.model_id(), dim).expect("load cache");

    let mut g = c.benchmark_group("vector_cache");
    g.throughput(Throughput::Elements(n as u64));
    g.sample_size(10);
    g.bench_function(BenchmarkId::new("embed_cached_all_hits", n), |b| {
        b.iter(|| embed_cached(&fake, &items, &cache, None, &Silent, &CancelToken::new()).map(|v| v.len()))
    });
    g.bench_function(BenchmarkId::new("load", n), |b| {
        b.iter(|| VectorCache::load(dir.path(), fake.model_id(), dim).map(|c| c.len()))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
