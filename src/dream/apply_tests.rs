use super::*;
use crate::dream::exact;
use crate::dream::plan::{PatternCandidate, pattern_questions};
use crate::memory::Timestamp;
use crate::report::PatternKind;
use crate::resolve::{Answer, Output, OutputAction, QuestionKind, check};
use crate::session::{Role, Session, SessionFormat, Turn};

fn session(name: &str, text: &str, at: i64) -> Session {
    let turn = Turn {
        role: Role::User,
        author: None,
        text: text.into(),
        tool_calls: vec![],
        tool_results: vec![],
        timestamp: Some(Timestamp(at)),
        sidechain: false,
    };
    Session::new(SessionFormat::Text, Some(name.into()), None, vec![turn])
}

#[test]
fn an_answered_pattern_becomes_a_memory_with_its_sessions() {
    let mut sessions = vec![
        session("one", "npm install fails here, this is a pnpm workspace", 10),
        session("two", "corepack refuses yarn again", 20),
    ];
    sessions.sort_by_key(|s| s.id);
    let occurrences: Vec<Excerpt> = sessions.iter().map(|s| s.excerpt(0, 1)).collect();
    let candidate = PatternCandidate {
        why: "maybe one mistake: the package manager".into(),
        occurrences,
        draft: None,
        members: vec![],
    };
    let plan = pattern_questions(&[candidate], &sessions, "").unwrap();
    let q = &plan[0].prepared.question;
    assert_eq!(q.kind, QuestionKind::Pattern);
    let names: Vec<&str> = q.excerpts.iter().map(|e| e.session.as_str()).collect();
    assert_eq!(names.iter().copied().collect::<BTreeSet<_>>(), ["one", "two"].into_iter().collect());
    let answer = Answer::outputs(
        q.id.clone(),
        vec![Output {
            path: "/patterns/mistakes/package-manager.md".into(),
            content: "Use pnpm: npm and yarn fail on this workspace.".into(),
            sources: vec![],
            action: OutputAction::Pattern {
                kind: PatternKind::RecurringMistake,
                sessions: vec!["one".into(), "two".into()],
            },
        }],
        "same mistake, different errors",
    );
    let resolved = vec![Resolved {
        cluster: OpenCluster { groups: vec![], why: vec![] },
        question: q.clone(),
        evidence: plan[0].cites.evidence.clone(),
        sessions: plan[0].cites.sessions.clone(),
        outcome: check(q, &answer),
        reason: answer.reason.clone(),
    }];
    let memories = vec![Memory::new(MemoryPath::new("/a.md").unwrap(), "x", Timestamp(1))];
    let exact = exact::group(&memories);
    let groups: Vec<NearGroup> = (0..exact.groups.len())
        .map(|e| NearGroup { representative: e, members: vec![e], contained: vec![], judged: vec![] })
        .collect();
    let tokens = Tokens { tokenizer: "cl100k_base".into(), naive: 1, sent: 1, usage: Default::default() };
    let (out, report) = apply(&Decisions {
        memories: &memories,
        sessions: 2,
        exact: &exact,
        groups: &groups,
        apart: &[],
        settled: &[],
        patterns: &[],
        resolved: &resolved,
        tokens: &tokens,
        not_asked: 0,
        embedder: "lexical",
        resolver: &ResolverId::default(),
        instructions: "",
        options: &SavedOptions::default(),
    })
    .unwrap();
    let p = out.iter().find(|m| m.path.as_str() == "/patterns/mistakes/package-manager.md").unwrap();
    assert_eq!((p.created_at, p.updated_at), (Timestamp(10), Timestamp(20)));
    assert_eq!(p.sources.len(), 2, "it cites both sessions' excerpts");
    assert_eq!(report.patterns.len(), 1);
    assert_eq!(report.patterns[0].support, 2);
    let ids: BTreeSet<String> = sessions.iter().map(|s| s.id.to_string()).collect();
    assert_eq!(report.patterns[0].session_hashes.iter().cloned().collect::<BTreeSet<_>>(), ids);
    assert_eq!(
        report.patterns[0].sessions,
        vec!["one".to_owned(), "two".to_owned()],
        "the sessions' own ids"
    );
    assert!(report.unresolved.is_empty());
}
