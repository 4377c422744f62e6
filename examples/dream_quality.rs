//! Dream quality on the seeded corpus (the generator of `testkit/`),
//! for either embedder, with wall times: prints the quality table that the
//! README quotes.
//!
//! ```text
//! cargo run --release --example dream_quality -- [--embedder lexical|minilm] [--facts N] [--sessions N] [--seed S] [--stages 1] [--no-judge]
//! ```
//!
//! With `--embedder minilm` the model must be installed (`dreamwork model
//! fetch`). Timings are cold (every text embedded) and then cached (vectors
//! looked up by content hash, as a dream over a store with a filled vector
//! cache does).

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Instant;

use dreamwork::CancelToken;
use dreamwork::dream::{Dream, DreamInput, DreamOutput};
use dreamwork::embed::{EmbedError, Embedder, EmbedderChoice, WordVectors};
use dreamwork::resolve::LocalResolver;
use dreamwork_testkit::corpus::{Spec, generate, score};

/// Remembers every vector it hands out, so a second run embeds nothing.
struct Remembering {
    inner: Box<dyn Embedder>,
    seen: Mutex<BTreeMap<String, Vec<f32>>>,
}

impl Embedder for Remembering {
    fn model_id(&self) -> &str {
        self.inner.model_id()
    }
    fn dimension(&self) -> usize {
        self.inner.dimension()
    }
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let mut seen = self.seen.lock().map_err(|_| EmbedError::Backend("poisoned".into()))?;
        let misses: Vec<&str> = texts.iter().copied().filter(|t| !seen.contains_key(*t)).collect();
        if !misses.is_empty() {
            for (t, v) in misses.iter().zip(self.inner.embed(&misses)?) {
                seen.insert((*t).to_owned(), v);
            }
        }
        texts
            .iter()
            .map(|t| seen.get(*t).cloned().ok_or_else(|| EmbedError::Backend("missing".into())))
            .collect()
    }
    fn word_vectors(&self, texts: &[&str]) -> Result<Option<Vec<WordVectors>>, EmbedError> {
        self.inner.word_vectors(texts)
    }
}

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1).cloned())
}

/// The chosen embedder (only `lexical` without the `minilm` feature).
fn load(choice: EmbedderChoice) -> Result<Box<dyn Embedder>, EmbedError> {
    dreamwork::embed::load_embedder(choice, &dreamwork::embed::MiniLmOptions::default())
}

/// Notes when each stage is first heard of, to print where the time goes.
#[derive(Default)]
struct StageClock {
    seen: Mutex<Vec<(&'static str, Instant)>>,
}

impl dreamwork::Observer for StageClock {
    fn progress(&self, event: dreamwork::Progress) {
        if let Ok(mut seen) = self.seen.lock()
            && seen.last().is_none_or(|(s, _)| *s != event.stage)
        {
            seen.push((event.stage, Instant::now()));
        }
    }
}

impl StageClock {
    fn summary(&self, end: Instant) -> String {
        let seen = self.seen.lock().map(|s| s.clone()).unwrap_or_default();
        let mut parts = Vec::new();
        for (i, (stage, at)) in seen.iter().enumerate() {
            let next = seen.get(i + 1).map_or(end, |(_, t)| *t);
            parts.push(format!("{stage} {:.2?}", next - *at));
        }
        parts.join(", ")
    }
}

fn run(input: &DreamInput, embedder: &dyn Embedder) -> Result<DreamOutput, dreamwork::DreamError> {
    let clock = StageClock::default();
    let index = match arg("--index").as_deref() {
        Some("exact") => dreamwork::index::IndexKind::Exact,
        Some("hnsw") => dreamwork::index::IndexKind::Hnsw,
        _ => dreamwork::index::IndexKind::Auto,
    };
    let judge = !std::env::args().any(|a| a == "--no-judge");
    let options = dreamwork::dream::DreamOptions::default().with_index(index).with_judge(judge);
    let out =
        Dream::new(options).run(input.clone(), embedder, &LocalResolver, &clock, &CancelToken::new())?;
    if arg("--stages").is_some() {
        println!("stages: {}", clock.summary(Instant::now()));
    }
    Ok(out)
}

/// Cosine of same-fact pairs (which must become candidates) against the
/// candidate floor of this embedder: the share at or above it, and the
/// quantiles, to calibrate `Thresholds`.
fn calibration(
    corpus: &dreamwork_testkit::corpus::Corpus,
    embedder: &dyn Embedder,
) -> Result<(), Box<dyn std::error::Error>> {
    let texts: Vec<&str> = corpus.memories.iter().map(|m| m.content.as_str()).collect();
    let vectors = embedder.embed(&texts)?;
    let mut same = Vec::new();
    let mut other = Vec::new();
    for i in 0..texts.len() {
        for j in i + 1..texts.len() {
            let (a, b) = (&corpus.labels[&corpus.memories[i].path], &corpus.labels[&corpus.memories[j].path]);
            let c = dreamwork::embed::cosine(&vectors[i], &vectors[j]);
            if a.fact == b.fact { same.push(c) } else { other.push(c) }
        }
    }
    same.sort_by(f32::total_cmp);
    other.sort_by(f32::total_cmp);
    let floor =
        dreamwork::dream::Thresholds::for_model(embedder.model_id()).map_or(0.0, |t| t.min_similarity);
    let at = |v: &[f32], q: f64| v.get(((v.len() as f64 - 1.0) * q) as usize).copied().unwrap_or(0.0);
    let above = same.iter().filter(|&&c| c >= floor).count();
    println!(
        "calibration: same-fact pairs {}, cosine p1 {:.2} p5 {:.2} p50 {:.2}; {:.1}% at or above the floor {floor}",
        same.len(),
        at(&same, 0.01),
        at(&same, 0.05),
        at(&same, 0.5),
        100.0 * above as f64 / same.len().max(1) as f64
    );
    println!(
        "calibration: other pairs {}, cosine p50 {:.2} p99 {:.2}",
        other.len(),
        at(&other, 0.5),
        at(&other, 0.99)
    );
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let choice: EmbedderChoice = arg("--embedder").unwrap_or_else(|| "lexical".into()).parse()?;
    let facts: usize = arg("--facts").map_or(Ok(620), |s| s.parse())?;
    let sessions: usize = arg("--sessions").map_or(Ok(100), |s| s.parse())?;
    let seed: u64 = arg("--seed").map_or(Ok(42), |s| s.parse())?;
    let corpus = generate(Spec { seed, facts, sessions, session_scale: 1 });
    let input = DreamInput { memories: corpus.memories.clone(), sessions: corpus.sessions.clone() };
    let embedder = Remembering { inner: load(choice)?, seen: Mutex::default() };
    let t = Instant::now();
    let out = run(&input, &embedder)?;
    let cold = t.elapsed();
    let t = Instant::now();
    let again = run(&input, &embedder)?;
    let cached = t.elapsed();
    if again.report.to_json() != out.report.to_json() {
        return Err("a second dream over the same input gave a different report".into());
    }
    println!(
        "embedder {}, seed {seed}: {} memories, {} sessions; dream {:.2?} cold, {:.2?} with cached vectors\n",
        embedder.model_id(),
        input.memories.len(),
        input.sessions.len(),
        cold,
        cached
    );
    println!("{}", score(&corpus, &out));
    calibration(&corpus, &embedder)?;
    Ok(())
}
