//! The dream's promises, through the public API: every input memory carried
//! exactly once, determinism across input order and thread counts, journal
//! replay, cancellation, progress, resolver answers applied, re-dreaming an
//! output is stable.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use dreamwork::dream::{Dream, DreamError, DreamInput, DreamOptions, DreamOutput, Thresholds};
use dreamwork::embed::{Embedder, LexicalEmbedder};
use dreamwork::report::Action;
use dreamwork::resolve::{
    Answer, Asking, Journal, LocalResolver, OpenReason, Output, OutputAction, Question, QuestionKind, Reply,
    ResolveError, Resolver, Watch,
};
use dreamwork::session::Session;
use dreamwork::{CancelToken, Memory, MemoryPath, Progress, Silent, Source, Timestamp};
use dreamwork_testkit::corpus::{Corpus, Rng, Spec, generate};
use proptest::prelude::*;

fn dream(memories: Vec<Memory>, corpus: &Corpus, threads: Option<usize>) -> DreamOutput {
    dream_with(memories, corpus.sessions.clone(), threads)
}

fn dream_with(memories: Vec<Memory>, sessions: Vec<Session>, threads: Option<usize>) -> DreamOutput {
    let options = DreamOptions::default().with_threads(threads);
    let input = DreamInput { memories, sessions };
    Dream::new(options)
        .run(input, &LexicalEmbedder::default(), &LocalResolver, &Silent, &CancelToken::new())
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
        let corpus = generate(Spec { seed, facts, sessions, session_scale: 1 });
        let out = dream(corpus.memories.clone(), &corpus, None);
        check_carried_once(&corpus.memories, &out);
    }

    #[test]
    fn output_ignores_input_order_and_thread_count(seed in any::<u64>(), facts in 10usize..60) {
        let corpus = generate(Spec { seed, facts, sessions: 4, session_scale: 1 });
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
    let corpus = generate(Spec { seed: 99, facts: 200, sessions: 6, session_scale: 1 });
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("journal.jsonl");
    let run = |resolver: &dyn Resolver, journal: &mut Journal| {
        let input = DreamInput { memories: corpus.memories.clone(), sessions: corpus.sessions.clone() };
        let mut asking = Asking::new(resolver).journal(journal);
        let out = Dream::default()
            .run_asking(input, &LexicalEmbedder::default(), &mut asking, &Silent, &CancelToken::new())
            .expect("dream runs");
        (out, asking.stats().clone())
    };
    let mut journal = Journal::open(&path).expect("journal opens");
    let (first, stats) = run(&LocalResolver, &mut journal);
    let recorded = journal.recorded();
    drop(journal);
    assert!(recorded > 0, "the corpus has open clusters");
    assert_eq!(stats.recorded, recorded);
    let mut journal = Journal::open(&path).expect("journal opens");
    let (second, stats) = run(&LocalResolver, &mut journal);
    assert_eq!(stats.replayed, recorded);
    assert_eq!(stats.sent, 0);
    assert_eq!(journal.recorded(), 0);
    assert_eq!(first.report.to_json(), second.report.to_json());
    assert_eq!(first.memories, second.memories);
    assert_eq!(first.questions, second.questions);

    // Local answers never block another resolver: it is asked everything
    // (its answers shape the later rounds, so not the same questions).
    let (_, stats) = run(&Rewriter, &mut journal);
    assert_eq!(stats.replayed, 0);
    assert_eq!(stats.sent, stats.asked);
    assert!(stats.sent > 0);
    drop(journal);

    // Replayed answers are used even where the resolver would answer
    // otherwise: turn every recorded local answer into "unresolved".
    let text = std::fs::read_to_string(&path).expect("journal reads");
    let edited: String = text
        .lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).expect("journal line is JSON");
            if v["resolver"] == "local" {
                let id = v["answer"]["id"].clone();
                v["answer"] =
                    serde_json::json!({"id": id, "unresolved": true, "reason": "a person wants to look"});
            }
            format!("{v}\n")
        })
        .collect();
    std::fs::write(&path, edited).expect("journal writes");
    let mut journal = Journal::open(&path).expect("journal opens");
    let (third, _) = run(&LocalResolver, &mut journal);
    assert_eq!(third.report.unresolved.len(), recorded);
    assert!(third.report.unresolved.iter().all(|u| u.why.ends_with("a person wants to look")));
    assert!(third.report.unresolved.iter().all(|u| matches!(u.open, OpenReason::Declined { .. })));
    let open: Vec<&str> = third.questions.iter().map(|q| q.id.as_str()).collect();
    let reported: Vec<&str> = third.report.unresolved.iter().map(|u| u.cluster.as_str()).collect();
    assert_eq!(open, reported, "questions.jsonl lists the open questions in the report's order");
}

/// Answers every question with one function.
struct Scripted<F>(F);

impl<F: Fn(&Question) -> Answer + Send + Sync> Resolver for Scripted<F> {
    fn name(&self) -> dreamwork::resolve::ResolverName {
        "scripted".into()
    }
    fn resolve(&self, batch: &[Question], watch: &Watch<'_>) -> Result<Vec<Reply>, ResolveError> {
        watch.answered(batch.len());
        Ok(batch.iter().map(|q| Ok((self.0)(q).into())).collect())
    }
}

/// A resolver that rewrites every cluster into one text at its first path.
struct Rewriter;

impl Resolver for Rewriter {
    fn name(&self) -> dreamwork::resolve::ResolverName {
        "rewriter".into()
    }
    fn resolve(&self, batch: &[Question], watch: &Watch<'_>) -> Result<Vec<Reply>, ResolveError> {
        Scripted(rewrite).resolve(batch, watch)
    }
}

fn rewrite(q: &Question) -> Answer {
    if q.kind == QuestionKind::Pattern {
        return Answer::outputs(q.id.clone(), vec![], "a pattern: rejected");
    }
    let content = q.members.iter().map(|m| m.content.as_str()).collect::<Vec<_>>().join(" / ");
    let output = Output {
        path: q.members[0].path.to_string(),
        content,
        sources: q.members.iter().map(|m| m.path.to_string()).collect(),
        action: OutputAction::Superseded,
    };
    Answer::outputs(q.id.clone(), vec![output], "joined")
}

fn billing() -> DreamInput {
    let p = |s: &str| MemoryPath::new(s).expect("valid path");
    let mut a = Memory::new(p("/a.md"), "billing uses Postgres", Timestamp(1));
    a.updated_at = Timestamp(5);
    let b = Memory::new(p("/b.md"), "billing uses MySQL", Timestamp(2));
    let c = Memory::new(p("/c.md"), "billing uses SQLite", Timestamp(3));
    DreamInput { memories: vec![a, b, c], sessions: vec![] }
}

#[test]
fn rewrites_replace_the_cluster() {
    let input = billing();
    let out = Dream::default()
        .run(input.clone(), &LexicalEmbedder::default(), &Rewriter, &Silent, &CancelToken::new())
        .expect("dream runs");
    assert_eq!(out.memories.len(), 1);
    assert_eq!(out.memories[0].content, "billing uses Postgres / billing uses MySQL / billing uses SQLite");
    assert_eq!(out.memories[0].created_at, Timestamp(1));
    assert_eq!(out.memories[0].updated_at, Timestamp(5));
    assert_eq!(out.report.memories[0].action, Action::Superseded);
    assert_eq!(out.report.memories[0].reason, "joined");
    assert_eq!(out.report.dropped.len(), 2);
    check_carried_once(&input.memories, &out);
    let named: BTreeSet<&MemoryPath> = out.memories[0]
        .sources
        .iter()
        .filter_map(|s| match s {
            Source::Memory { path, .. } => Some(path),
            _ => None,
        })
        .collect();
    assert_eq!(named.len(), 3, "provenance names every source");

    // The local resolver leaves the same cluster for review.
    let local = Dream::default()
        .run(input, &LexicalEmbedder::default(), &LocalResolver, &Silent, &CancelToken::new())
        .expect("dream runs");
    assert_eq!(local.report.unresolved.len(), 1);
    assert_eq!(local.questions.len(), 1);
    assert_eq!(local.questions[0].id, local.report.unresolved[0].cluster);
    assert!(local.report.memories.iter().all(|e| e.action == Action::Unresolved));
}

#[test]
fn a_cluster_answered_with_several_outputs_yields_them_all() {
    let input = billing();
    // Postgres stands apart; MySQL and SQLite fold into one note.
    let partition = |q: &Question| {
        let path = |s: &str| q.members.iter().find(|m| m.path.as_str() == s).expect("member").clone();
        let (a, b) = (path("/a.md"), path("/b.md"));
        Answer::outputs(
            q.id.clone(),
            vec![
                Output {
                    path: "/a.md".into(),
                    content: a.content,
                    sources: vec!["/a.md".into()],
                    action: OutputAction::Kept,
                },
                Output {
                    path: "/b.md".into(),
                    content: format!("{}, SQLite in tests", b.content),
                    sources: vec!["/b.md".into(), "/c.md".into()],
                    action: OutputAction::Merged,
                },
            ],
            "one in production, the other in tests",
        )
    };
    let out = Dream::default()
        .run(input.clone(), &LexicalEmbedder::default(), &Scripted(partition), &Silent, &CancelToken::new())
        .expect("dream runs");
    check_carried_once(&input.memories, &out);
    let entries: Vec<(&str, Action, usize)> =
        out.report.memories.iter().map(|e| (e.path.as_str(), e.action, e.sources.len())).collect();
    assert_eq!(entries, vec![("/a.md", Action::Kept, 1), ("/b.md", Action::Merged, 2)]);
    assert_eq!(out.memories[0], input.memories[0], "a kept member is byte-identical");
    assert_eq!(out.memories[1].content, "billing uses MySQL, SQLite in tests");
    assert_eq!(out.report.memories[1].reason, "one in production, the other in tests");
    assert!(out.report.unresolved.is_empty() && out.questions.is_empty());
}

#[test]
fn members_an_answer_does_not_name_are_kept_as_they_are() {
    let input = billing();
    let merges_two = |q: &Question| {
        Answer::outputs(
            q.id.clone(),
            vec![Output {
                path: "/a.md".into(),
                content: String::new(),
                sources: vec!["/a.md".into(), "/b.md".into()],
                action: OutputAction::Superseded,
            }],
            "Postgres replaced MySQL; SQLite is another matter",
        )
    };
    let out = Dream::default()
        .run(input.clone(), &LexicalEmbedder::default(), &Scripted(merges_two), &Silent, &CancelToken::new())
        .expect("dream runs");
    check_carried_once(&input.memories, &out);
    let entries: Vec<(&str, Action, usize)> =
        out.report.memories.iter().map(|e| (e.path.as_str(), e.action, e.sources.len())).collect();
    assert_eq!(entries, vec![("/a.md", Action::Superseded, 2), ("/c.md", Action::Kept, 1)]);
    assert_eq!(out.memories[1], input.memories[2], "the member left out is byte-identical");
    assert!(out.report.unresolved.is_empty());
}

#[test]
fn an_answer_breaking_a_rule_leaves_the_cluster_open_and_says_why() {
    let input = billing();
    let names_one_twice = |q: &Question| {
        Answer::outputs(
            q.id.clone(),
            vec![
                Output {
                    path: "/a.md".into(),
                    content: "billing uses Postgres".into(),
                    sources: vec!["/a.md".into(), "/c.md".into()],
                    action: OutputAction::Superseded,
                },
                Output {
                    path: "/c.md".into(),
                    content: "billing uses SQLite".into(),
                    sources: vec!["/c.md".into()],
                    action: OutputAction::Kept,
                },
            ],
            "twice",
        )
    };
    let out = Dream::default()
        .run(
            input.clone(),
            &LexicalEmbedder::default(),
            &Scripted(names_one_twice),
            &Silent,
            &CancelToken::new(),
        )
        .expect("dream runs");
    check_carried_once(&input.memories, &out);
    assert_eq!(out.memories.len(), 3);
    assert_eq!(out.report.unresolved.len(), 1);
    let u = &out.report.unresolved[0];
    assert_eq!(u.open, OpenReason::MemberTwice { path: "/c.md".into() });
    assert!(u.why.ends_with("member /c.md is in the sources of two outputs"), "{}", u.why);
    let json = out.report.to_json();
    assert!(json.contains("\"rule\": \"member_twice\""), "{json}");
}

#[test]
fn caps_and_dry_runs_leave_questions_open_and_send_nothing() {
    let corpus = generate(Spec { seed: 99, facts: 200, sessions: 6, session_scale: 1 });
    let input = || DreamInput { memories: corpus.memories.clone(), sessions: corpus.sessions.clone() };
    let run = |asking: &mut Asking<'_>| {
        Dream::default()
            .run_asking(input(), &LexicalEmbedder::default(), asking, &Silent, &CancelToken::new())
            .expect("dream runs")
    };
    let all = run(&mut Asking::new(&Rewriter));
    let mut capped =
        Asking::new(&Rewriter).limits(dreamwork::resolve::Limits::default().with_max_questions(1));
    let out = run(&mut capped);
    assert_eq!(capped.stats().sent, 1);
    assert!(capped.stats().capped > 0);
    assert_eq!(out.report.unresolved.len(), capped.stats().capped);
    assert!(
        out.report
            .unresolved
            .iter()
            .all(|u| matches!(&u.open, OpenReason::OverCap { cap } if cap == "--max-questions 1"))
    );
    let mut dry = Asking::new(&Rewriter).dry_run(true);
    let out = run(&mut dry);
    assert_eq!(dry.stats().sent, 0);
    assert_eq!(out.questions.len(), dry.stats().asked, "a dry run lists everything it would send");
    assert!(out.report.unresolved.iter().all(|u| u.open == OpenReason::DryRun));
    assert!(all.report.unresolved.is_empty());
}

#[test]
fn cancelled_dream_stops_and_progress_is_reported() {
    let corpus = generate(Spec { seed: 5, facts: 50, sessions: 3, session_scale: 1 });
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
        .run(input, &LexicalEmbedder::default(), &LocalResolver, &observer, &cancel)
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
        .run(input, &LexicalEmbedder::default(), &LocalResolver, &record, &CancelToken::new())
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
        .run(input, &LexicalEmbedder::default(), &LocalResolver, &Silent, &CancelToken::new())
        .expect_err("duplicate path");
    assert!(err.to_string().contains("/a"));
}

#[test]
fn an_uncalibrated_embedder_needs_thresholds_given() {
    let memories = || {
        let p = |s: &str| MemoryPath::new(s).expect("valid path");
        vec![
            Memory::new(p("/a.md"), "billing uses Postgres", Timestamp(1)),
            Memory::new(p("/b.md"), "billing uses Postgres.", Timestamp(2)),
        ]
    };
    let other = LexicalEmbedder::new(16);
    let run = |options: DreamOptions| {
        Dream::new(options).run(
            DreamInput { memories: memories(), sessions: vec![] },
            &other,
            &LocalResolver,
            &Silent,
            &CancelToken::new(),
        )
    };
    let err = run(DreamOptions::default()).expect_err("no calibration for lexical-v1-16");
    assert!(matches!(&err, DreamError::Uncalibrated(id) if id == "lexical-v1-16"), "{err}");
    assert!(err.to_string().contains("DreamOptions::thresholds"), "{err}");
    let given = Thresholds::for_model(LexicalEmbedder::default().model_id());
    let out = run(DreamOptions::default().with_thresholds(given)).expect("runs with thresholds");
    assert_eq!(out.memories.len(), 1, "the exact duplicates merge");
}

#[test]
fn dreaming_an_output_again_is_stable() {
    let corpus = generate(Spec { seed: 11, facts: 120, sessions: 8, session_scale: 1 });
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
    let corpus = generate(Spec { seed: 3, facts: 150, sessions: 10, session_scale: 1 });
    // The corpus's sessions (for patterns) and a store with a certain merge
    // and a certain change, so that every section has something to tell.
    let p = |s: &str| MemoryPath::new(s).expect("valid path");
    let memories = vec![
        Memory::new(p("/team/cafeteria.md"), "The cafeteria opens at 8.", Timestamp(1)),
        Memory::new(p("/inbox/cafeteria.md"), "**The cafeteria opens at 8.**", Timestamp(2)),
        Memory::new(p("/infra/billing-db.md"), "The billing database listens on port 5432.", Timestamp(3)),
        Memory::new(
            p("/infra/billing-db-2.md"),
            "The billing database now listens on port 5433.",
            Timestamp(4),
        ),
    ];
    let out = dream(memories, &corpus, None);
    let md = out.report_markdown();
    assert!(md.starts_with("# Dream report"));
    for section in ["| merged |", "## Changes", "Before:", "After:", "## Patterns", "Tokens (cl100k_base)"] {
        assert!(md.contains(section), "{section} missing");
    }
    assert!(md.contains("Resolver: `local`"), "the report names who answered");
    assert_eq!(out.report.resolver.name.as_str(), "local");
    let json = out.report.to_json();
    assert_eq!(dreamwork::Report::from_json(&json).expect("report parses"), out.report);
}
