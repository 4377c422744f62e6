//! Fuzzes the `dreams` resolver's decoders: arbitrary bytes as a memory
//! list page decode or fail, never panic; arbitrary output memories (path,
//! content) map onto the questions asked one reply each, in order, and an
//! answer applied is for its own question.
#![no_main]

use dreamwork::fuzzing::resolve::{dreams_list_page, dreams_replies};
use dreamwork::resolve::wire::Encoder;
use dreamwork::resolve::{Question, QuestionKind, QuestionMemory};
use dreamwork::{MemoryPath, Timestamp};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let member = |p: &str, t| QuestionMemory {
        path: MemoryPath::new(p).expect("a valid path"),
        content: "port".into(),
        updated_at: Timestamp(t),
    };
    let q =
        Question::new(QuestionKind::Cluster, "why", vec![member("/a.md", 1), member("/b.md", 2)], vec![], "");
    let asked = vec![q.clone()];
    let mut encoder = Encoder::new();
    encoder.encode(&q);
    let _ = dreams_list_page(data);
    // Pairs split at NUL bytes: path, content, path, content…; one of them
    // sits where the question's answer is read.
    let text = String::from_utf8_lossy(data);
    let parts: Vec<&str> = text.split('\0').collect();
    let mut memories: Vec<(String, String)> =
        parts.chunks(2).map(|c| (c[0].to_owned(), c.get(1).copied().unwrap_or("").to_owned())).collect();
    memories.push(("/answers/q1.json".into(), parts.last().copied().unwrap_or("").to_owned()));
    let replies = dreams_replies(&asked, &encoder, &memories);
    assert_eq!(replies.len(), 1);
    if let Ok(a) = &replies[0] {
        assert_eq!(a.answer.id, q.id);
    }
});
