//! Dream quality after resolution, on the seeded corpus (`testkit/`),
//! with a resolver that answers every question correctly from the corpus's
//! truth (an in-process [`Resolver`]): what a perfect remote model would
//! achieve through the contract, and the tokens it would cost.
//!
//! ```text
//! cargo run --release --example resolve_quality -- [--embedder minilm|lexical] [--facts N] [--sessions N] [--seed S] [--session-scale K]
//! ```
//!
//! `--session-scale K` gives each session K times the work (tool calls,
//! file reads): 1 is about 9k tokens a session, 4 about 35k, the size of a
//! long Claude Code session.
//!
//! The oracle is `testkit/src/oracle.rs`. It is asked the way the
//! Messages API backend asks (`resolve::anthropic`): questions packed into
//! requests by its default budget, each request the wire form of its
//! questions (`resolve::wire`: each memory and excerpt once) with the
//! system prompt and the tool schema. Printed: the quality table of
//! `dream_quality` for this dream, the questions and requests, the tokens of
//! every request body in full against a whole-store dream, and how often a
//! memory's text was sent.

use dreamwork::dream::{Dream, DreamInput};
use dreamwork::embed::{EmbedError, Embedder, EmbedderChoice};
use dreamwork::{CancelToken, Silent};
use dreamwork_testkit::corpus::{Spec, generate, score};
use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::Mutex;

use dreamwork::resolve::anthropic::{AnthropicOptions, DEFAULT_MODEL, batches, request_body};
use dreamwork::resolve::wire::Encoder;
use dreamwork::resolve::{Asking, Question, Reply, ResolveError, Resolver, ResolverName, Sent, Watch};
use dreamwork_testkit::oracle::Oracle;

/// The oracle behind the Messages API's packing and wire form: counts every
/// byte a request body would carry and every memory text line.
struct AsMessages<'c> {
    oracle: Oracle<'c>,
    options: AnthropicOptions,
    sent: Mutex<(Sent, BTreeMap<String, usize>)>,
}

impl Resolver for AsMessages<'_> {
    fn name(&self) -> ResolverName {
        self.oracle.name()
    }
    fn batches(&self, _: &[Question], tokens: &[u64]) -> Vec<Range<usize>> {
        batches(tokens, self.options.budget, self.options.max_questions)
    }
    fn resolve(&self, batch: &[Question], watch: &Watch<'_>) -> Result<Vec<Reply>, ResolveError> {
        let mut encoder = Encoder::new();
        let lines: Vec<String> = batch.iter().flat_map(|q| encoder.encode(q)).collect();
        let body = request_body(DEFAULT_MODEL, self.options.max_tokens, &lines);
        let mut sent = self.sent.lock().unwrap_or_else(|p| p.into_inner());
        sent.0.add_request(&body.to_string());
        for line in &lines {
            let v = serde_json::from_str::<serde_json::Value>(line).unwrap_or_default();
            if let Some(path) = v["path"].as_str() {
                *sent.1.entry(path.to_owned()).or_default() += 1;
            }
        }
        self.oracle.resolve(batch, watch)
    }
    fn sent(&self) -> Sent {
        self.sent.lock().unwrap_or_else(|p| p.into_inner()).0
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

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let choice: EmbedderChoice = arg("--embedder").unwrap_or_else(|| "minilm".into()).parse()?;
    let embedder = load(choice)?;
    let facts: usize = arg("--facts").map_or(Ok(620), |s| s.parse())?;
    let sessions: usize = arg("--sessions").map_or(Ok(100), |s| s.parse())?;
    let seed: u64 = arg("--seed").map_or(Ok(42), |s| s.parse())?;
    let session_scale: usize = arg("--session-scale").map_or(Ok(1), |s| s.parse())?;
    let corpus = generate(Spec { seed, facts, sessions, session_scale });
    let session_tokens = dreamwork::fuzzing::dream_text::naive_tokens(&[], &corpus.sessions)?;
    let input = DreamInput { memories: corpus.memories.clone(), sessions: corpus.sessions.clone() };
    let resolver = AsMessages {
        oracle: Oracle { corpus: &corpus },
        options: AnthropicOptions::default(),
        sent: Mutex::new((Sent::default(), BTreeMap::new())),
    };
    let mut asking = Asking::new(&resolver);
    let out =
        Dream::default().run_asking(input, embedder.as_ref(), &mut asking, &Silent, &CancelToken::new())?;
    let stats = asking.stats().clone();
    println!(
        "{} seed {seed}: {} memories, {} sessions of {} tokens on average; {} questions asked, {} sent ({} tokens), {} left open after the answers\n",
        embedder.model_id(),
        corpus.memories.len(),
        corpus.sessions.len(),
        session_tokens / corpus.sessions.len().max(1) as u64,
        stats.asked,
        stats.sent,
        stats.sent_tokens,
        out.report.unresolved.len()
    );
    println!("{}", score(&corpus, &out));
    let naive = out.report.tokens.naive;
    let wire = stats.wire;
    let ratio = if wire.tokens == 0 { f64::INFINITY } else { naive as f64 / wire.tokens as f64 };
    println!(
        "tokens (cl100k_base): whole store {naive}; sent {} in {} requests, system prompt and tool schema included ({ratio:.1}x fewer, {:.3} of the whole store); the plan's count (questions the local rules leave open, wire form) {}",
        wire.tokens,
        wire.requests,
        wire.tokens as f64 / naive.max(1) as f64,
        out.report.tokens.sent
    );
    let counts = resolver.sent.lock().unwrap_or_else(|p| p.into_inner()).1.clone();
    let total: usize = counts.values().sum();
    let max = counts.values().copied().max().unwrap_or(0);
    println!(
        "memory texts sent: {} memories, {total} times: {:.2} times each on average, {max} at most",
        counts.len(),
        total as f64 / counts.len().max(1) as f64
    );
    Ok(())
}
