//! Dream wall time over the seeded corpus (about 1k and 10k memories, 100
//! sessions), cold (every text embedded during the run) and with cached
//! embeddings (vectors looked up, as a second dream over a store with a
//! vector cache does). Before timing, prints the quality table of each size.
//!
//! `cargo bench --bench dream` uses MiniLM when its model is installed
//! (`dreamwork model fetch`), else the lexical embedder (always so with
//! `--no-default-features`). Sizes can be narrowed with
//! `DREAMWORK_BENCH_FACTS=620` (facts; the store holds ~1.67 memories each:
//! 620 → ~1k, 6200 → ~10k). One-shot figures with the quality table:
//! `examples/dream_quality.rs`.

use std::collections::BTreeMap;
use std::time::Instant;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use dreamwork::dream::{Dream, DreamInput};
use dreamwork::embed::{EmbedError, Embedder, LexicalEmbedder};
use dreamwork::resolve::LocalResolver;
use dreamwork::{CancelToken, Silent};
use dreamwork_testkit::corpus::{Spec, generate, score};

/// Vectors computed ahead, looked up by text: what a vector cache gives.
struct Cached<'a> {
    inner: &'a dyn Embedder,
    vectors: BTreeMap<String, Vec<f32>>,
}

impl<'a> Cached<'a> {
    fn warm(inner: &'a dyn Embedder, input: &DreamInput) -> Self {
        let mut texts: Vec<&str> = input.memories.iter().map(|m| m.content.as_str()).collect();
        texts.extend(input.sessions.iter().flat_map(|s| s.turns.iter().map(|t| t.text.as_str())));
        texts.sort_unstable();
        texts.dedup();
        let vectors = texts
            .chunks(256)
            .flat_map(|chunk| {
                let vs = inner.embed(chunk).expect("embedding works");
                chunk.iter().map(|t| (*t).to_owned()).zip(vs).collect::<Vec<_>>()
            })
            .collect();
        Self { inner, vectors }
    }
}

impl Embedder for Cached<'_> {
    fn model_id(&self) -> &str {
        self.inner.model_id()
    }
    fn dimension(&self) -> usize {
        self.inner.dimension()
    }
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let misses: Vec<&str> = texts.iter().copied().filter(|t| !self.vectors.contains_key(*t)).collect();
        let fresh: BTreeMap<&str, Vec<f32>> = if misses.is_empty() {
            BTreeMap::new()
        } else {
            misses.iter().copied().zip(self.inner.embed(&misses)?).collect()
        };
        Ok(texts
            .iter()
            .map(|t| self.vectors.get(*t).or_else(|| fresh.get(t)).cloned().unwrap_or_default())
            .collect())
    }
    fn word_vectors(&self, texts: &[&str]) -> Result<Option<Vec<dreamwork::embed::WordVectors>>, EmbedError> {
        self.inner.word_vectors(texts)
    }
}

fn sizes() -> Vec<usize> {
    match std::env::var("DREAMWORK_BENCH_FACTS") {
        Ok(v) => v.split(',').filter_map(|s| s.trim().parse().ok()).collect(),
        Err(_) => vec![620, 6200],
    }
}

fn run(input: DreamInput, embedder: &dyn Embedder) -> dreamwork::dream::DreamOutput {
    Dream::default().run(input, embedder, &LocalResolver, &Silent, &CancelToken::new()).expect("dream runs")
}

/// MiniLM when it is built in and installed, else the lexical embedder.
fn embedder() -> Box<dyn Embedder> {
    #[cfg(feature = "minilm")]
    if let Ok(e) = dreamwork::embed::MiniLmEmbedder::load(&dreamwork::embed::MiniLmOptions::default()) {
        return Box::new(e);
    }
    Box::new(LexicalEmbedder::default())
}

fn bench_dream(c: &mut Criterion) {
    let mut group = c.benchmark_group("dream");
    group.sample_size(10);
    for facts in sizes() {
        let corpus = generate(Spec { seed: 42, facts, sessions: 100, session_scale: 1 });
        let input = DreamInput { memories: corpus.memories.clone(), sessions: corpus.sessions.clone() };
        let n = input.memories.len();
        let model = embedder();
        let started = Instant::now();
        let out = run(input.clone(), model.as_ref());
        eprintln!(
            "\n{n} memories, 100 sessions, {}: one cold dream took {:.2?}\n{}",
            model.model_id(),
            started.elapsed(),
            score(&corpus, &out)
        );
        let cached = Cached::warm(model.as_ref(), &input);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::new("cold", n), &input, |b, input| {
            b.iter(|| run(input.clone(), model.as_ref()))
        });
        group.bench_with_input(BenchmarkId::new("cached_vectors", n), &input, |b, input| {
            b.iter(|| run(input.clone(), &cached))
        });
    }
    group.finish();
}

criterion_group!(benches, bench_dream);
criterion_main!(benches);
