//! Fuzzes what a reviewer sees on arbitrary member texts and widths: no
//! panic; the word diff's segments rebuild each text exactly and never mark
//! white space; every rendered line fits the width; the answer built for
//! each choice passes the contract's check.
#![no_main]

use dreamwork::fuzzing::review::{cluster, highlight, view};
use dreamwork::resolve::{Outcome, Question, QuestionKind, QuestionMemory, check};
use dreamwork::review::{Choice, answer};
use dreamwork::{MemoryPath, Timestamp};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (u8, Vec<(String, i32)>)| {
    let (width, members) = input;
    let members: Vec<(String, i32)> = members.into_iter().take(4).collect();
    let texts: Vec<&str> = members.iter().map(|(t, _)| t.as_str()).collect();
    for (text, segments) in texts.iter().zip(highlight(&texts)) {
        assert_eq!(segments.iter().map(|s| s.text).collect::<String>(), *text);
        assert!(segments.iter().all(|s| !(s.differs && s.text.chars().all(char::is_whitespace))));
    }
    let mut question_members = Vec::new();
    for (n, (text, at)) in members.iter().enumerate() {
        if dreamwork::resolve::check_content(&MemoryPath::new("/x").expect("valid"), text).is_err() {
            return;
        }
        let path = MemoryPath::new(&format!("/m/{n}.md")).expect("a valid path");
        question_members.push(QuestionMemory {
            path,
            content: text.clone(),
            updated_at: Timestamp(i64::from(*at)),
        });
    }
    let question = Question::new(QuestionKind::Cluster, "why", question_members, vec![], "");
    let width = 40 + usize::from(width % 81);
    for line in cluster(&view(&question, (1, 1)), 0, width) {
        assert!(line.width() <= width, "line wider than {width}: {:?}", line.plain());
    }
    if question.members.len() < 2 {
        return;
    }
    for choice in [Choice::Keep(0), Choice::KeepAll, Choice::Write { at: 1, content: "new text".into() }] {
        let a = answer(&question, &choice).expect("the choice names a member");
        assert!(!matches!(check(&question, &a), Outcome::Open(_)), "{choice:?} gives an invalid answer");
    }
});
