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
//! The oracle groups each cluster's members by the fact they state: a group
//! becomes one output at the member holding the current value (`kept` for
//! one member, `merged` when all state the same value, else `superseded`).
//! Pattern questions are left open (the corpus's patterns are found on the
//! device). Printed: the quality table of `dream_quality` for this dream, the
//! questions asked and answered, and tokens: whole-store versus what was sent.

#[path = "../tests/common/corpus.rs"]
#[allow(dead_code)]
mod corpus;

use std::collections::BTreeMap;

use corpus::{Corpus, Spec, generate, score};
use dreamwork::dream::{Dream, DreamInput};
use dreamwork::embed::{EmbedError, Embedder, EmbedderChoice};
use dreamwork::progress::{CancelToken, Silent};
use dreamwork::resolve::{
    Answer, Asking, Output, OutputAction, Question, QuestionKind, Reply, ResolveError, Resolver, Watch,
};

/// Answers from the corpus's truth.
struct Oracle<'c> {
    corpus: &'c Corpus,
}

impl Oracle<'_> {
    fn answer(&self, q: &Question) -> Answer {
        if q.kind == QuestionKind::Pattern {
            return Answer::unresolved(q.id.clone(), "the oracle knows no pattern questions");
        }
        // Members by the fact they state (unlabelled ones stand alone).
        let mut by_fact: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, m) in q.members.iter().enumerate() {
            let fact =
                self.corpus.labels.get(&m.path).map_or_else(|| format!("?{}", m.path), |l| l.fact.clone());
            by_fact.entry(fact).or_default().push(i);
        }
        let outputs = by_fact
            .iter()
            .map(|(fact, members)| {
                let value = |i: usize| self.corpus.labels.get(&q.members[i].path).map(|l| l.value.clone());
                let current = self.corpus.current.get(fact);
                let winner = members
                    .iter()
                    .copied()
                    .find(|&i| value(i).as_ref() == current)
                    .or_else(|| members.iter().copied().max_by_key(|&i| q.members[i].updated_at))
                    .unwrap_or(members[0]);
                let same = members.iter().all(|&i| value(i) == value(winner));
                let action = match (members.len(), same) {
                    (1, _) => OutputAction::Kept,
                    (_, true) => OutputAction::Merged,
                    _ => OutputAction::Superseded,
                };
                Output {
                    path: q.members[winner].path.to_string(),
                    content: q.members[winner].content.clone(),
                    sources: members.iter().map(|&i| q.members[i].path.to_string()).collect(),
                    action,
                }
            })
            .collect();
        Answer::outputs(q.id.clone(), outputs, "from the corpus's truth")
    }
}

impl Resolver for Oracle<'_> {
    fn name(&self) -> String {
        "oracle".into()
    }
    fn resolve(&self, batch: &[Question], watch: &Watch<'_>) -> Result<Vec<Reply>, ResolveError> {
        watch.answered(batch.len());
        Ok(batch.iter().map(|q| Ok(self.answer(q).into())).collect())
    }
}

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
