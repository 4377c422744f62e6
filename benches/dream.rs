//! Dream wall time over the seeded corpus (about 1k and 10k memories, 100
//! sessions), cold (every text embedded during the run) and with cached
//! embeddings (vectors looked up, as a second dream over a store with a
//! vector cache does). Before timing, prints the quality table of each size.
//!
//! `cargo bench --no-default-features --bench dream`; sizes can be narrowed
//! with `DREAMWORK_BENCH_FACTS=600` (facts; the store holds ~1.6 memories each).

#[path = "../tests/common/corpus.rs"]
#[allow(dead_code)]
mod corpus;

use std::collections::BTreeMap;
use std::time::Instant;

use corpus::{Spec, generate, score};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use dreamwork::dream::{Dream, DreamInput};
use dreamwork::embed::{EmbedError, Embedder, LexicalEmbedder};
use dreamwork::progress::{CancelToken, Silent};
use dreamwork::resolve::LocalResolver;

/// Vectors computed ahead, looked up by text: what a vector cache gives.
struct Cached {
    inner: LexicalEmbedder,
    vectors: BTreeMap<String, Vec<f32>>,
}

impl Cached {
    fn warm(inner: LexicalEmbedder, input: &DreamInput) -> Self {
        let mut texts: Vec<&str> = input.memories.iter().map(|m| m.content.as_str()).collect();
        texts.extend(input.sessions.iter().flat_map(|s| s.turns.iter().map(|t| t.text.as_str())));
        let vectors = texts.iter().map(|t| ((*t).to_owned(), inner.embed_one(t))).collect();
        Self { inner, vectors }
    }
}

impl Embedder for Cached {
    fn model_id(&self) -> &str {
        self.inner.model_id()
    }
    fn dimension(&self) -> usize {
        self.inner.dimension()
    }
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        Ok(texts
            .iter()
            .map(|t| self.vectors.get(*t).cloned().unwrap_or_else(|| self.inner.embed_one(t)))
            .collect())
    }
}

fn sizes() -> Vec<usize> {
    match std::env::var("DREAMWORK_BENCH_FACTS") {
        Ok(v) => v.split(',').filter_map(|s| s.trim().parse().ok()).collect(),
        Err(_) => vec![620, 6200],
    }
}

fn run(input: DreamInput, embedder: &dyn Embedder) -> dreamwork::dream::DreamOutput {
    Dream::default()
        .run(input, embedder, &mut LocalResolver, &Silent, &CancelToken::new())
        .expect("dream runs")
}

fn bench_dream(c: &mut Criterion) {
    let mut group = c.benchmark_group("dream");
    group.sample_size(10);
    for facts in sizes() {
        let corpus = generate(Spec { seed: 42, facts, sessions: 100 });
        let input = DreamInput { memories: corpus.memories.clone(), sessions: corpus.sessions.clone() };
        let n = input.memories.len();
        let lexical = LexicalEmbedder::default();
        let started = Instant::now();
        let out = run(input.clone(), &lexical);
        eprintln!(
            "\n{n} memories, 100 sessions: one cold dream took {:.2?}\n{}",
            started.elapsed(),
            score(&corpus, &out)
        );
        let cached = Cached::warm(LexicalEmbedder::default(), &input);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::new("cold_lexical", n), &input, |b, input| {
            b.iter(|| run(input.clone(), &lexical))
        });
        group.bench_with_input(BenchmarkId::new("cached_vectors", n), &input, |b, input| {
            b.iter(|| run(input.clone(), &cached))
        });
    }
    group.finish();
}

criterion_group!(benches, bench_dream);
criterion_main!(benches);
