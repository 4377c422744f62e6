//! Dream quality after resolution, scored against the seeded corpus's truth
//! with a resolver that answers every question correctly
//! (`testkit/src/oracle.rs`) — a regression test; the figures at full size
//! come from `cargo run --release --example resolve_quality`.
//!
//! With MiniLM every target holds once the questions are answered: no stale
//! fact stands (pairs a full cluster left out are asked in later rounds),
//! nothing is lost or falsely merged, and far fewer tokens are sent than a
//! whole-store dream would. With the lexical embedder only the safety
//! targets are asserted (it misses some questions, never merges two facts).

use dreamwork::dream::{Dream, DreamInput};
use dreamwork::embed::{Embedder, LexicalEmbedder};
use dreamwork::resolve::Asking;
use dreamwork::{CancelToken, Silent};
use dreamwork_testkit::corpus::{Scores, Spec, generate, score};
use dreamwork_testkit::oracle::Oracle;

fn run(embedder: &dyn Embedder) -> (Scores, usize) {
    let corpus = generate(Spec { seed: 42, facts: 300, sessions: 30, session_scale: 1 });
    let input = DreamInput { memories: corpus.memories.clone(), sessions: corpus.sessions.clone() };
    let oracle = Oracle { corpus: &corpus };
    let mut asking = Asking::new(&oracle);
    let out = Dream::default()
        .run_asking(input, embedder, &mut asking, &Silent, &CancelToken::new())
        .expect("dream runs");
    let s = score(&corpus, &out);
    println!("{} with the oracle\n{s}", embedder.model_id());
    assert_eq!(out.report.resolver.name.as_str(), "oracle");
    (s, asking.stats().sent)
}

fn assert_safe(s: &Scores) {
    assert_eq!(s.lookalike_merges, 0, "look-alike merges");
    assert_eq!(s.facts_lost, 0, "facts lost");
    assert_eq!(s.not_wanted_surfaced, 0, "one-offs surfaced");
}

#[test]
fn lexical_answers_never_merge_two_facts() {
    let (s, sent) = run(&LexicalEmbedder::default());
    assert_safe(&s);
    assert!(s.mistake_recall() >= 0.9 && s.preference_recall() >= 0.75);
    assert!(sent > 0);
}

#[cfg(feature = "minilm")]
#[test]
#[ignore = "needs the MiniLM model: run `dreamwork model fetch` (scripts/test.sh does)"]
fn minilm_answers_leave_no_stale_fact_standing() {
    let m = crate::common::minilm();
    let (s, sent) = run(m);
    assert_safe(&s);
    // Every planted pattern found, none twice, none false.
    assert_eq!((s.mistake_recall(), s.preference_recall()), (1.0, 1.0));
    assert_eq!((s.spurious_patterns, s.patterns_twice), (0, 0), "false patterns, patterns twice");
    assert!(sent > 0);
    assert_eq!(s.stale_standing + s.stale_flagged, 0, "stale facts standing after every answer");
    assert!(s.dup_merged_or_asked() >= 0.95, "duplicate pairs {}", s.dup_merged_or_asked());
    assert!(s.token_ratio() >= 3.0, "token ratio {}", s.token_ratio());
}
