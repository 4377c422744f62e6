//! The dream's promises, through the public API: every input memory carried
//! exactly once, determinism across input order and thread counts, journal
//! replay, cancellation, progress, resolver answers applied, re-dreaming an
//! output is stable.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use common::corpus::{Corpus, Rng, Spec, generate};
use dreamwork::dream::{Dream, DreamError, DreamInput, DreamOptions, DreamOutput};
use dreamwork::embed::LexicalEmbedder;
use dreamwork::memory::{Memory, MemoryPath, Source, Timestamp};
use dreamwork::progress::{CancelToken, Progress, Silent};
use dreamwork::report::Action;
use dreamwork::resolve::{Answer, Decision, Journal, LocalResolver, Question, ResolveError, Resolver};
use dreamwork::session::Session;
use proptest::prelude::*;

fn dream(memories: Vec<Memory>, corpus: &Corpus, threads: Option<usize>) -> DreamOutput {
    dream_with(memories, corpus.sessions.clone(), threads)
}

fn dream_with(memories: Vec<Memory>, sessions: Vec<Session>, threads: Option<usize>) -> DreamOutput {
    let options = DreamOptions { threads, ..DreamOptions::default() };
    let input = DreamInput { memories, sessions };
    Dream::new(options)
        .run(input, &LexicalEmbedder::default(), &mut LocalResolver, &Silent, &CancelToken::new())
        .expect("dream runs")
}

/// Every input path is a source of exactly one output memory; `dropped` is
/// exactly the inputs absent from the output, each pointing at its carrier.
fn check_carried_once(input: &[Memory], out: &DreamOutput) {
    let report = &out.report;
    let mut carrier: BTreeMap<&MemoryPath, &MemoryPath> = BTreeMap::new();
    for e in &report.memories {
        for s in &e.sources {
            assert!(carrier.insert(s, &e.path).is_none(), "{s} is a source of two output memories");
        }
    }
    let out_paths: BTreeSet<&MemoryPath> = out.memories.iter().map(|m| &m.path).collect();
    assert_eq!(out_paths.len(), out.memories.len(), "output paths are unique");
    assert_eq!(report.memories.len(), out.memories.len());
    let dropped: BTreeMap<&MemoryPath, Option<&MemoryPath>> =
        report.dropped.iter().map(|d| (&d.path, d.into.as_ref())).collect();
    assert_eq!(dropped.len(), report.dropped.len(), "dropped lists each path once");
    for m in input {
        let c = carrier.get(&m.path).unwrap_or_else(|| panic!("{} is carried by nothing", m.path));
        if out_paths.contains(&m.path) {
            assert!(!dropped.contains_key(&m.path), "{} is in the output and in dropped", m.path);
        } else {
            assert_eq!(dropped.get(&m.path), Some(&Some(*c)), "{} dropped into its carrier", m.path);
        }
    }
    // Memories that are not kept as they were name their inputs by hash.
    let by_path: BTreeMap<&MemoryPath, &Memory> = input.iter().map(|m| (&m.path, m)).collect();
    for (m, e) in out.memories.iter().zip(&report.memories) {
        assert_eq!(m.path, e.path);
        if matches!(e.action, Action::Merged | Action::Superseded) {
            for s in &e.sources {
                let hash = by_path[s].hash;
                assert!(
                    m.sources.contains(&Source::Memory { path: s.clone(), hash }),
                    "{} lacks source {s}",
                    m.path
                );
            }
        }
        if e.action == Action::Kept {
            assert_eq!(Some(&m), by_path.get(&m.path), "a kept memory is byte-identical");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn every_input_is_carried_exactly_once(seed in any::<u64>(), facts in 10usize..80, sessions in 2usize..6) {
        let corpus = generate(Spec { seed, facts, sessions });
        let out = dream(corpus.memories.clone(), &corpus, None);
        check_carried_once(&corpus.memories, &out);
    }

    #[test]
    fn output_ignores_input_order_and_thread_count(seed in any::<u64>(), facts in 10usize..60) {
        let corpus = generate(Spec { seed, facts, sessions: 4 });
        let one = dream(corpus.memories.clone(), &corpus, Some(1));
        let mut shuffled = corpus.memories.clone();
        Rng::new(seed ^ 1).shuffle(&mut shuffled);
        let mut sessions = corpus.sessions.clone();
        sessions.reverse();
        let many = dream_with(shuffled, sessions, Some(3));
        prop_assert_eq!(one.report.to_json(), many.report.to_json());
        prop_assert_eq!(&one.memories, &many.memories);
        prop_assert_eq!(one.report_markdown(), many.report_markdown());
    }
}

#[test]
fn journal_replays_and_its_answers_win() {
    let corpus = generate(Spec { seed: 99, facts: 200, sessions: 6 });
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("journal.jsonl");
    let run = |resolver: &mut dyn Resolver| {
        let input = DreamInput { memories: corpus.memories.clone(), sessions: corpus.sessions.clone() };
        Dream::default()
            .run(input, &LexicalEmbedder::default(), resolver, &Silent, &CancelToken::new())
            .expect("dream runs")
    };
    let mut journal = Journal::open(&path, LocalResolver).expect("journal opens");
    let first = run(&mut journal);
    let recorded = journal.recorded();
    drop(journal);
    assert!(recorded > 0, "the corpus has open clusters");
    let mut journal = Journal::open(&path, LocalResolver).expect("journal opens");
    let second = run(&mut journal);
    assert_eq!(journal.replayed(), recorded);
    assert_eq!(journal.recorded(), 0);
    assert_eq!(first.report.to_json(), second.report.to_json());
    assert_eq!(first.memories, second.memories);
    drop(journal);

    // Replayed answers are used even where the inner resolver would differ:
    // turn every recorded answer into "unresolved".
    let text = std::fs::read_to_string(&path).expect("journal reads");
    let edited: String = text
        .lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).expect("journal line is JSON");
            v["answer"] = serde_json::json!({"decision": "unresolved", "reason": "a person wants to look"});
            format!("{v}\n")
        })
        .collect();
    std::fs::write(&path, edited).expect("journal writes");
    let mut journal = Journal::open(&path, LocalResolver).expect("journal opens");
    let third = run(&mut journal);
    assert_eq!(third.report.unresolved.len(), recorded);
    assert!(third.report.unresolved.iter().all(|u| u.why.ends_with("a person wants to look")));
}

/// A resolver that rewrites every cluster into one text at its first path.
struct Rewriter;

impl Resolver for Rewriter {
    fn name(&self) -> String {
        "rewriter".into()
    }
    fn resolve(&mut self, q: &Question) -> Result<Answer, ResolveError> {
        let content = q.members.iter().map(|m| m.content.as_str()).collect::<Vec<_>>().join(" / ");
        Ok(Answer {
            decision: Decision::Rewrite { path: q.members[0].path.clone(), content },
            reason: "joined".into(),
        })
    }
}

#[test]
fn rewrites_replace_the_cluster() {
    let p = |s: &str| MemoryPath::new(s).expect("valid path");
    let mut a = Memory::new(p("/a.md"), "billing uses Postgres", Timestamp(1));
    a.updated_at = Timestamp(5);
    let b = Memory::new(p("/b.md"), "billing uses MySQL", Timestamp(2));
    let input = DreamInput { memories: vec![a, b], sessions: vec![] };
    let out = Dream::default()
        .run(input.clone(), &LexicalEmbedder::default(), &mut Rewriter, &Silent, &CancelToken::new())
        .expect("dream runs");
    assert_eq!(out.memories.len(), 1);
    assert_eq!(out.memories[0].content, "billing uses Postgres / billing uses MySQL");
    assert_eq!(out.memories[0].created_at, Timestamp(1));
    assert_eq!(out.memories[0].updated_at, Timestamp(5));
    assert_eq!(out.report.memories[0].action, Action::Superseded);
    assert_eq!(out.report.dropped.len(), 1);
    check_carried_once(&input.memories, &out);

    // The local resolver leaves the same pair for review.
    let local = Dream::default()
        .run(input, &LexicalEmbedder::default(), &mut LocalResolver, &Silent, &CancelToken::new())
        .expect("dream runs");
    assert_eq!(local.report.unresolved.len(), 1);
    assert!(local.report.memories.iter().all(|e| e.action == Action::Unresolved));
}

#[test]
fn cancelled_dream_stops_and_progress_is_reported() {
    let corpus = generate(Spec { seed: 5, facts: 50, sessions: 3 });
    let input = DreamInput { memories: corpus.memories.clone(), sessions: corpus.sessions.clone() };
    let cancel = CancelToken::new();
    let seen = Mutex::new(Vec::new());
    let observer = |p: Progress| {
        seen.lock().expect("not poisoned").push(p.stage);
        if p.stage == "embed" {
            cancel.cancel();
        }
    };
    let err = Dream::default()
        .run(input, &LexicalEmbedder::default(), &mut LocalResolver, &observer, &cancel)
        .expect_err("cancelled");
    assert!(matches!(err, DreamError::Cancelled));
    let stages = seen.into_inner().expect("not poisoned");
    assert_eq!(stages.first(), Some(&"exact"));
    assert_eq!(stages.last(), Some(&"embed"));

    let all = Mutex::new(BTreeSet::new());
    let record = |p: Progress| {
        all.lock().expect("not poisoned").insert(p.stage);
    };
    let input = DreamInput { memories: corpus.memories.clone(), sessions: corpus.sessions.clone() };
    Dream::default()
        .run(input, &LexicalEmbedder::default(), &mut LocalResolver, &record, &CancelToken::new())
        .expect("dream runs");
    let all = all.into_inner().expect("not poisoned");
    for stage in ["exact", "embed", "candidates", "near", "conflicts", "patterns", "plan", "resolve", "apply"]
    {
        assert!(all.contains(stage), "no progress for {stage}");
    }
}

#[test]
fn duplicate_paths_are_refused() {
    let p = MemoryPath::new("/a").expect("valid path");
    let input = DreamInput {
        memories: vec![Memory::new(p.clone(), "x", Timestamp(0)), Memory::new(p, "y", Timestamp(0))],
        sessions: vec![],
    };
    let err = Dream::default()
        .run(input, &LexicalEmbedder::default(), &mut LocalResolver, &Silent, &CancelToken::new())
        .expect_err("duplicate path");
    assert!(err.to_string().contains("/a"));
}

#[test]
fn dreaming_an_output_again_is_stable() {
    let corpus = generate(Spec { seed: 11, facts: 120, sessions: 8 });
    let first = dream(corpus.memories.clone(), &corpus, None);
    let second = dream(first.memories.clone(), &corpus, None);
    check_carried_once(&first.memories, &second);
    let paths = |o: &DreamOutput| o.memories.iter().map(|m| m.path.clone()).collect::<Vec<_>>();
    assert_eq!(paths(&first), paths(&second), "no new merges, no duplicate patterns");
    assert_eq!(first.report.patterns.len(), second.report.patterns.len());
    for e in &second.report.memories {
        if e.action == Action::Pattern {
            assert_eq!(e.sources, vec![e.path.clone()], "a pattern replaces its earlier self");
        }
    }
}

#[test]
fn report_markdown_tells_the_story() {
    let corpus = generate(Spec { seed: 3, facts: 150, sessions: 10 });
    let out = dream(corpus.memories.clone(), &corpus, None);
    let md = out.report_markdown();
    assert!(md.starts_with("# Dream report"));
    for section in ["| merged |", "## Changes", "Before:", "After:", "## Patterns", "Tokens (cl100k_base)"] {
        assert!(md.contains(section), "{section} missing");
    }
    let json = out.report.to_json();
    assert_eq!(dreamwork::Report::from_json(&json).expect("report parses"), out.report);
}
