//! Quality of a dream, scored against the seeded corpus' ground truth.
//! Prints the quality table (`cargo test --test dream_quality -- --nocapture`).

mod common;

use common::corpus::{Spec, generate, score};
use dreamwork::dream::{Dream, DreamInput, DreamOptions};
use dreamwork::embed::LexicalEmbedder;
use dreamwork::progress::{CancelToken, Silent};
use dreamwork::resolve::LocalResolver;

#[test]
fn dream_meets_quality_targets_on_the_seeded_corpus() {
    for seed in [7, 1234] {
        let corpus = generate(Spec { seed, facts: 400, sessions: 40 });
        let input = DreamInput { memories: corpus.memories.clone(), sessions: corpus.sessions.clone() };
        let out = Dream::new(DreamOptions::default())
            .run(input, &LexicalEmbedder::default(), &LocalResolver, &Silent, &CancelToken::new())
            .expect("dream runs");
        let s = score(&corpus, &out);
        println!("seed {seed}\n{s}");
        assert_eq!(s.lookalike_merges, 0, "look-alike merges");
        assert_eq!(s.stale_standing, 0, "stale facts left standing");
        assert_eq!(s.facts_lost, 0, "facts lost");
        assert!(s.mistake_recall() >= 0.9, "recurring mistakes recall {}", s.mistake_recall());
        assert!(s.preference_recall() >= 0.9, "shared preferences recall {}", s.preference_recall());
        assert_eq!(s.not_wanted_surfaced, 0, "one-offs surfaced");
        assert!(s.token_ratio() >= 10.0, "token ratio {}", s.token_ratio());
        assert!(s.dup_recall() >= 0.5, "duplicate-pair recall {}", s.dup_recall());
    }
}
