//! Stage 4 on hand-written transcripts in words other than the corpus
//! generator's (`tests/fixtures/patterns/`, see its README): several people,
//! paraphrased preferences, thanks and chit-chat, different error texts of
//! one mistake, one-off errors. Run with the lexical embedder always, and
//! with MiniLM when asked for (`--include-ignored`; the model comes from
//! `dreamwork model fetch`).
//!
//! `cargo test --test it dream_patterns:: -- --include-ignored --nocapture`
//! prints what was found.

use std::collections::BTreeSet;
use std::path::Path;

use dreamwork::dream::{Dream, DreamInput, Thresholds};
use dreamwork::embed::{Embedder, LexicalEmbedder};
use dreamwork::fuzzing::dream_text::{Found, find};
use dreamwork::report::PatternKind;
use dreamwork::resolve::{
    Answer, LocalResolver, Output, OutputAction, Question, QuestionKind, Reply, ResolveError, Resolver, Watch,
};
use dreamwork::session::{FormatChoice, Session, import_paths};
use dreamwork::text::Lexicon;
use dreamwork::{CancelToken, Memory, MemoryPath, Silent, Timestamp};
use proptest::prelude::*;

fn fixtures() -> Vec<Session> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/patterns");
    import_paths(&[dir], FormatChoice::Auto, &Silent).expect("the fixtures import")
}

/// What a found pattern or candidate is about, by the words it must hold.
struct Expected {
    kind: PatternKind,
    name: &'static str,
    /// Every one of these must be in the pattern's text.
    words: &'static [&'static str],
    sessions: &'static [&'static str],
}

const EXPECTED: &[Expected] = &[
    Expected {
        kind: PatternKind::RecurringMistake,
        name: "wrong package manager",
        words: &["EUNSUPPORTEDPROTOCOL", "configured to use pnpm", "npm ci"],
        sessions: &[
            "7d0e51a2-33c4-4f8e-9a61-2b5c0d9e1f01",
            "a41f09c3-8e27-4b1d-b0c5-6e9f3a2d4c02",
            "c9b2e7d4-1f60-4a3e-9d8c-5b7a6f0e2d03",
        ],
    },
    Expected {
        kind: PatternKind::RecurringMistake,
        name: "tests before migrations",
        words: &["UndefinedTable", "UndefinedColumn", "alembic upgrade head"],
        sessions: &["7d0e51a2-33c4-4f8e-9a61-2b5c0d9e1f01", "e5d8c1b0-6a4f-4e29-8f3b-9c2d1a0b7e04"],
    },
    Expected {
        kind: PatternKind::SharedPreference,
        name: "small pull requests",
        words: &["please keep PRs small", "We like small pull requests here."],
        sessions: &["7d0e51a2-33c4-4f8e-9a61-2b5c0d9e1f01", "wen-review.md"],
    },
    Expected {
        kind: PatternKind::SharedPreference,
        name: "named exports",
        words: &["named exports over default exports", "named exports only"],
        sessions: &["a41f09c3-8e27-4b1d-b0c5-6e9f3a2d4c02", "e5d8c1b0-6a4f-4e29-8f3b-9c2d1a0b7e04"],
    },
];

/// Scores `found` (a pattern or question covering two sessions of an
/// expected one finds it): (expected found as patterns, expected only as candidates,
/// false patterns, false candidates), printing each.
fn score(found: &Found) -> (usize, usize, usize, usize) {
    let mut matched_patterns = vec![false; found.patterns.len()];
    let mut matched_candidates = vec![false; found.candidates.len()];
    let (mut as_pattern, mut as_candidate) = (0, 0);
    for e in EXPECTED {
        let covered = |names: &mut dyn Iterator<Item = &str>| {
            let names: Vec<&str> = names.collect();
            e.sessions.iter().filter(|s| names.contains(s)).count() >= 2
        };
        let hit = found.patterns.iter().position(|p| {
            p.kind == e.kind
                && e.words.iter().any(|w| p.body.contains(w))
                && covered(&mut p.session_names.iter().map(String::as_str))
        });
        let candidate = found
            .candidates
            .iter()
            .position(|c| covered(&mut c.occurrences.iter().map(|o| o.session.as_str())));
        match (hit, candidate) {
            (Some(i), _) => {
                matched_patterns[i] = true;
                as_pattern += 1;
                println!("found: {}", e.name);
            }
            (None, Some(i)) => {
                matched_candidates[i] = true;
                as_candidate += 1;
                println!("asked: {}", e.name);
            }
            (None, None) => println!("MISSED: {}", e.name),
        }
    }
    for (p, m) in found.patterns.iter().zip(&matched_patterns) {
        if !m {
            println!("FALSE PATTERN:\n{}", p.body);
        }
    }
    for (c, m) in found.candidates.iter().zip(&matched_candidates) {
        if !m {
            println!(
                "unmatched candidate: {} {:#?}",
                c.why,
                c.occurrences.iter().map(|o| &o.text).collect::<Vec<_>>()
            );
        }
    }
    let false_patterns = matched_patterns.iter().filter(|m| !**m).count();
    let false_candidates = matched_candidates.iter().filter(|m| !**m).count();
    (as_pattern, as_candidate, false_patterns, false_candidates)
}

fn check(embedder: &dyn Embedder) {
    let thresholds = Thresholds::for_model(embedder.model_id()).expect("a calibrated embedder");
    let found = find(&fixtures(), &[], embedder, &thresholds, &Lexicon::default(), 2).expect("stage 4 runs");
    let (as_pattern, as_candidate, false_patterns, false_candidates) = score(&found);
    println!(
        "{}: {as_pattern}/{} found on the device, {as_candidate} asked, {false_patterns} false patterns, {false_candidates} other candidates",
        embedder.model_id(),
        EXPECTED.len()
    );
    assert_eq!(false_patterns, 0, "no one-off, single person's preference, thanks or chit-chat is a pattern");
    // "please keep PRs small" / "We like small pull requests here." share
    // one word and, by MiniLM, a cosine of 0.33: too far apart to ask.
    assert!(as_pattern + as_candidate >= 3, "recurring mistakes and shared preferences are found or asked");
    assert!(as_pattern >= 1, "the mistakes fixed the same way are settled on the device: {as_pattern}");
    // One mistake is one pattern: its error and its correction are not two.
    let mistakes = found.patterns.iter().filter(|p| p.kind == PatternKind::RecurringMistake).count();
    assert!(mistakes <= 2, "{mistakes} mistake patterns for two mistakes");
}

#[test]
fn hand_written_transcripts_with_the_lexical_embedder() {
    check(&LexicalEmbedder::default());
}

#[cfg(feature = "minilm")]
#[test]
#[ignore = "needs the MiniLM model: run `dreamwork model fetch` (scripts/test.sh does)"]
fn hand_written_transcripts_with_minilm() {
    check(crate::common::minilm());
}

#[test]
fn text_transcripts_are_named_by_their_file() {
    let sessions = fixtures();
    let names: Vec<&str> = sessions.iter().filter_map(|s| s.external_id.as_deref()).collect();
    assert!(
        names.contains(&"wen-review.md") && names.contains(&"7d0e51a2-33c4-4f8e-9a61-2b5c0d9e1f01"),
        "{names:?}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// The result does not depend on the order the sessions come in (nor on repeats).
    #[test]
    fn the_result_does_not_depend_on_session_order(seed in any::<u64>(), repeat in any::<bool>()) {
        let sessions = fixtures();
        let mut shuffled = sessions.clone();
        // A seeded Fisher–Yates shuffle.
        let mut state = seed | 1;
        for i in (1..shuffled.len()).rev() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            shuffled.swap(i, (state % (i as u64 + 1)) as usize);
        }
        if repeat {
            shuffled.push(sessions[(seed % sessions.len() as u64) as usize].clone());
        }
        let lexicon = Lexicon::default();
        let embedder = LexicalEmbedder::default();
        let thresholds = Thresholds::for_model(embedder.model_id()).expect("lexical is calibrated");
        let a = find(&sessions, &[], &embedder, &thresholds, &lexicon, 2).expect("runs");
        let b = find(&shuffled, &[], &embedder, &thresholds, &lexicon, 2).expect("runs");
        prop_assert_eq!(a, b);
    }
}

/// Answers a pattern question whose members may state its rule by citing
/// the first member, and leaves the rest open.
struct CitesFirst;

impl Resolver for CitesFirst {
    fn name(&self) -> dreamwork::resolve::ResolverName {
        "cites-first".into()
    }
    fn resolve(&self, batch: &[Question], watch: &Watch<'_>) -> Result<Vec<Reply>, ResolveError> {
        watch.answered(batch.len());
        let answer = |q: &Question| match (q.kind, q.members.first(), &q.draft) {
            (QuestionKind::Pattern, Some(m), Some(d)) => {
                let sessions: BTreeSet<String> = q.excerpts.iter().map(|e| e.session.clone()).collect();
                let action = OutputAction::Stated { kind: d.kind, sessions: sessions.into_iter().collect() };
                let cited =
                    Output { path: m.path.to_string(), content: m.content.clone(), sources: vec![], action };
                Answer::outputs(q.id.clone(), vec![cited], "the member states it")
            }
            _ => Answer::unresolved(q.id.clone(), "not asked of this resolver"),
        };
        Ok(batch.iter().map(|q| Ok(answer(q).into())).collect())
    }
}

/// A memory of the store that states a pattern's rule is cited, not
/// written again: on the device when it is the same statement in other
/// grammar words; else the pattern question carries it as a member, and an
/// answer that cites it writes nothing either.
#[test]
fn a_memory_stating_the_rule_is_cited_not_duplicated() {
    let embedder = LexicalEmbedder::default();
    let memory = |path: &str, text: &str| Memory::new(MemoryPath::new(path).unwrap(), text, Timestamp(1_000));
    let dream = |memories: Vec<Memory>, resolver: &dyn Resolver| {
        let input = DreamInput { memories, sessions: fixtures() };
        Dream::default().run(input, &embedder, resolver, &Silent, &CancelToken::new()).expect("runs")
    };
    let pnpm_patterns = |out: &dreamwork::dream::DreamOutput| {
        out.memories.iter().filter(|m| m.path.as_str().contains("pnpm")).count()
    };
    let alone = dream(vec![], &LocalResolver);
    assert_eq!(pnpm_patterns(&alone), 1, "the mistake is settled on the device");

    // The same statement: cited on the device.
    let same = memory("/tools/package-manager.md", "Use pnpm here, not npm or yarn.\n");
    let out = dream(vec![same.clone()], &LocalResolver);
    assert_eq!(out.memories, vec![alone.memories[1].clone(), same.clone()], "nothing written twice");
    let cited = out.report.patterns.iter().find(|p| p.path == same.path).expect("the memory is cited");
    assert!(cited.stated && cited.support == 2, "{cited:?}");
    assert!(out.report.to_markdown(&out.input, &out.memories).contains("already stated by this memory"));

    // Other words: asked, with the memory as a member; citing it writes nothing.
    let other = memory("/tools/pnpm.md", "Use pnpm in this repo, not npm: it is a pnpm workspace.\n");
    let asked = dream(vec![other.clone()], &LocalResolver);
    let q = asked
        .questions
        .iter()
        .find(|q| q.members.iter().any(|m| m.path == other.path))
        .expect("the pattern question offers the memory");
    assert!(q.kind == QuestionKind::Pattern && q.why.contains("may already state"), "{}", q.why);
    assert_eq!(pnpm_patterns(&asked), 1, "only the store's memory until answered");
    let out = dream(vec![other.clone()], &CitesFirst);
    assert_eq!(pnpm_patterns(&out), 1, "the memory, no pattern memory");
    let cited = out.report.patterns.iter().find(|p| p.path == other.path).expect("cited");
    assert!(cited.stated && cited.sessions.len() == 2, "{cited:?}");
}
