//! Fuzzes the `anthropic` resolver's decoder: arbitrary bytes as a Messages
//! reply give the tool input's answers or an error, never a panic; whatever
//! they hold, the answers map onto the questions asked one reply each, in
//! order, and an answer applied is for its own question.
#![no_main]

use dreamwork::fuzzing::resolve::anthropic_replies;
use dreamwork::resolve::wire::Encoder;
use dreamwork::resolve::{Question, QuestionKind, QuestionMemory};
use dreamwork::{MemoryPath, Timestamp};
use libfuzzer_sys::fuzz_target;

fn questions() -> Vec<Question> {
    let member = |p: &str, c: &str, t| QuestionMemory {
        path: MemoryPath::new(p).expect("a valid path"),
        content: c.into(),
        updated_at: Timestamp(t),
    };
    vec![
        Question::new(
            QuestionKind::Cluster,
            "why",
            vec![member("/a.md", "port 1", 1), member("/b.md", "port 2", 2)],
            vec![],
            "",
        ),
        Question::new(QuestionKind::Pattern, "why", vec![], vec![], ""),
    ]
}

fuzz_target!(|data: &[u8]| {
    let asked = questions();
    let mut encoder = Encoder::new();
    asked.iter().for_each(|q| drop(encoder.encode(q)));
    if let Some(replies) = anthropic_replies(data, &asked, &encoder) {
        assert_eq!(replies.len(), asked.len());
        for (q, r) in asked.iter().zip(&replies) {
            if let Ok(a) = r {
                assert_eq!(a.answer.id, q.id);
            }
        }
    }
});
