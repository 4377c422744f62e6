//! Fuzzes the wire answer decoder (`resolve::wire::Encoder::answer`):
//! arbitrary text as an answer to a question put in the wire form expands
//! to a contract answer for that question or an error, never a panic; an
//! expanded answer is checked (and its secrets put back) without a panic.
#![no_main]

use dreamwork::fuzzing::resolve::{redact_question, restore};
use dreamwork::resolve::wire::Encoder;
use dreamwork::resolve::{Question, QuestionExcerpt, QuestionKind, QuestionMemory, check};
use dreamwork::{MemoryPath, Timestamp};
use libfuzzer_sys::fuzz_target;

fn question(kind: QuestionKind) -> Question {
    let member = |p: &str, c: &str, t| QuestionMemory {
        path: MemoryPath::new(p).expect("a valid path"),
        content: c.to_owned(),
        updated_at: Timestamp(t),
    };
    let members = match kind {
        QuestionKind::Cluster => vec![member("/a", "port 1 password=hunter22", 1), member("/b", "port 2", 2)],
        // Memories that may already state the pattern (an answer may cite one: "stated").
        QuestionKind::Pattern => vec![member("/tools/pnpm.md", "Use pnpm, not npm. token=hunter22", 3)],
        _ => Vec::new(),
    };
    let excerpt =
        |s: &str| QuestionExcerpt { session: s.into(), turns: [0, 1], at: None, text: "npm fails".into() };
    Question::new(kind, "fuzz", members, vec![excerpt("s1"), excerpt("s2")], "")
}

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else { return };
    for kind in [QuestionKind::Cluster, QuestionKind::Pattern] {
        let (sent, raw, secrets) = redact_question(&question(kind));
        let mut encoder = Encoder::new();
        encoder.encode(&sent);
        if let Ok(answer) = encoder.answer(&sent, &value) {
            assert_eq!(answer.id, sent.id);
            let _ = restore(check(&sent, &answer), &raw, &secrets);
        }
    }
});
