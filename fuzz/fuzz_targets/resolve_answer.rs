//! Fuzzes the answer-line parser and the rules: arbitrary text gives an
//! answer or an error, never a panic; a parsed answer writes and parses back
//! the same; checking it against a question (and putting secrets back) never
//! panics.
#![no_main]

use dreamwork::fuzzing::resolve::{redact_question, restore};
use dreamwork::resolve::{Answer, Question, QuestionExcerpt, QuestionKind, QuestionMemory, check};
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
    let Ok(text) = std::str::from_utf8(data) else { return };
    match Answer::parse_line(text) {
        Ok(answer) => {
            let again = Answer::parse_line(&answer.to_line()).expect("a written answer parses");
            assert_eq!(again, answer);
            for kind in [QuestionKind::Cluster, QuestionKind::Pattern] {
                let (sent, raw, secrets) = redact_question(&question(kind));
                let mut answer = answer.clone();
                answer.id = sent.id.clone();
                let _ = restore(check(&sent, &answer), &raw, &secrets);
            }
        }
        Err(e) => assert!(!e.message.is_empty()),
    }
});
