//! Dream quality after resolution, on the seeded corpus (`tests/common/`),
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
//! The oracle is `tests/common/oracle.rs`. Printed: the quality table of `dream_quality` for this dream, the
//! questions asked and answered, and tokens: whole-store versus what was sent.

#[path = "../tests/common/corpus.rs"]
#[allow(dead_code)]
mod corpus;
#[path = "../tests/common/oracle.rs"]
mod oracle;

use corpus::{Spec, generate, score};
use dreamwork::dream::{Dream, DreamInput};
use dreamwork::embed::{EmbedError, Embedder, EmbedderChoice};
use dreamwork::progress::{CancelToken, Silent};
use dreamwork::resolve::Asking;
use oracle::Oracle;

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1).cloned())
}

#[cfg(feature = "minilm")]
fn load(choice: EmbedderChoice) -> Result<Box<dyn Embedder>, EmbedError> {
    dreamwork::embed::load_embedder(choice, &dreamwork::embed::MiniLmOptions::default())
}

#[cfg(not(feature = "minilm"))]
fn load(choice: EmbedderChoice) -> Result<Box<dyn Embedder>, EmbedError> {
    dreamwork::embed::load_embedder(choice)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let choice: EmbedderChoice = arg("--embedder").unwrap_or_else(|| "minilm".into()).parse()?;
    let embedder = load(choice)?;
    let facts: usize = arg("--facts").map_or(Ok(620), |s| s.parse())?;
    let sessions: usize = arg("--sessions").map_or(Ok(100), |s| s.parse())?;
    let seed: u64 = arg("--seed").map_or(Ok(42), |s| s.parse())?;
    let session_scale: usize = arg("--session-scale").map_or(Ok(1), |s| s.parse())?;
    let corpus = generate(Spec { seed, facts, sessions, session_scale });
    let session_tokens = dreamwork::dream::plan::naive_tokens(&[], &corpus.sessions)?;
    let input = DreamInput { memories: corpus.memories.clone(), sessions: corpus.sessions.clone() };
    let oracle = Oracle { corpus: &corpus };
    let mut asking = Asking::new(&oracle);
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
    let ratio = if stats.sent_tokens == 0 { f64::INFINITY } else { naive as f64 / stats.sent_tokens as f64 };
    println!(
        "tokens (cl100k_base): whole store {naive}; sent to the resolver {} ({ratio:.1}x fewer); of which the local rules leave for a model {}",
        stats.sent_tokens, out.report.tokens.sent
    );
    Ok(())
}
