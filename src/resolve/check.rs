//! The rules an answer must keep (see the [module doc](super)), applied to
//! one answer and its question. What comes out is an [`Outcome`]: a
//! partition of a cluster's members into output memories, the new patterns
//! of a pattern question (none: rejected), or the reason the question stays
//! open.

use std::collections::{BTreeMap, BTreeSet};

use super::{Answer, OpenReason, OutputAction, PatternKind, Question, QuestionKind, Verdict};
use crate::memory::{MemoryPath, check_content};

/// What an answer settles, once checked.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// A cluster's members become these output memories (every member in
    /// exactly one part's sources), sorted by path.
    Partition(Vec<Part>),
    /// A pattern question yields these new pattern memories (usually one;
    /// none when the answer says its excerpts show no pattern), sorted by
    /// path.
    Patterns(Vec<NewPattern>),
    /// The question stays open, and why.
    Open(OpenReason),
}

/// One output memory of a cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// Its path: one of its sources.
    pub path: MemoryPath,
    /// Its text.
    pub content: String,
    /// The member paths it stands for, sorted, without repeats.
    pub sources: Vec<MemoryPath>,
    /// What it is.
    pub action: PartAction,
}

/// What a part does to its sources.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub enum PartAction {
    /// One member, unchanged.
    Kept,
    /// Members stating the same fact, folded into one.
    Merged,
    /// Stale facts replaced.
    Superseded,
}

/// A pattern a resolver found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPattern {
    /// Its path: a new one under `/patterns/`, or, when [`stated`](Self::stated),
    /// that of the member stating it.
    pub path: MemoryPath,
    /// Its text (a stated pattern's: the member's, byte for byte).
    pub content: String,
    /// Whether a memory of the store (a member of the question) already
    /// states it: cited, not written again.
    pub stated: bool,
    /// Which kind.
    pub kind: PatternKind,
    /// The sessions it rests on, as the question names them, sorted, without repeats.
    pub sessions: Vec<String>,
}

/// Checks `answer` against `question` (the rules of the [module doc](super)).
pub fn check(question: &Question, answer: &Answer) -> Outcome {
    match check_inner(question, answer) {
        Ok(o) => o,
        Err(reason) => Outcome::Open(reason),
    }
}

fn path(raw: &str) -> Result<MemoryPath, OpenReason> {
    MemoryPath::new(raw).map_err(|e| OpenReason::InvalidPath { path: raw.to_owned(), message: e.to_string() })
}

fn content(path: &MemoryPath, text: &str) -> Result<(), OpenReason> {
    check_content(path, text)
        .map_err(|e| OpenReason::InvalidContent { path: path.to_string(), message: e.to_string() })
}

fn check_inner(question: &Question, answer: &Answer) -> Result<Outcome, OpenReason> {
    if answer.id != question.id {
        return Err(OpenReason::WrongId { found: answer.id.clone() });
    }
    let outputs = match &answer.verdict {
        Verdict::Unresolved => {
            return Ok(Outcome::Open(OpenReason::Declined { reason: answer.reason.clone() }));
        }
        Verdict::Outputs(o) => o,
    };
    let wrong_kind = |action: &OutputAction| OpenReason::ActionForKind {
        action: action.as_str().to_owned(),
        kind: question.kind.as_str().to_owned(),
    };
    match question.kind {
        QuestionKind::Pattern => {
            let mut found: Vec<NewPattern> = Vec::with_capacity(outputs.len());
            for output in outputs {
                let p = pattern(question, output, &wrong_kind)?;
                if found.iter().any(|f| f.path == p.path) {
                    return Err(OpenReason::PatternTwice { path: p.path.to_string() });
                }
                found.push(p);
            }
            found.sort_by(|a, b| a.path.cmp(&b.path));
            Ok(Outcome::Patterns(found))
        }
        QuestionKind::Cluster => {
            let members: BTreeMap<&MemoryPath, &str> =
                question.members.iter().map(|m| (&m.path, m.content.as_str())).collect();
            let mut covered: BTreeMap<MemoryPath, usize> = BTreeMap::new();
            let mut parts = Vec::with_capacity(outputs.len());
            for output in outputs {
                let action = match output.action {
                    OutputAction::Kept => PartAction::Kept,
                    OutputAction::Merged => PartAction::Merged,
                    OutputAction::Superseded => PartAction::Superseded,
                    OutputAction::Pattern { .. } | OutputAction::Stated { .. } => {
                        return Err(wrong_kind(&output.action));
                    }
                };
                let p = path(&output.path)?;
                let mut sources = Vec::with_capacity(output.sources.len());
                for s in &output.sources {
                    let s = path(s)?;
                    if !members.contains_key(&s) {
                        return Err(OpenReason::NotAMember { path: s.to_string() });
                    }
                    sources.push(s);
                }
                sources.sort();
                sources.dedup();
                if !sources.contains(&p) {
                    return Err(OpenReason::PathNotASource { path: p.to_string() });
                }
                for s in &sources {
                    *covered.entry(s.clone()).or_default() += 1;
                }
                content(&p, &output.content)?;
                let mut text = output.content.clone();
                if action == PartAction::Kept {
                    let problem = if sources.len() != 1 {
                        Some(format!("has {} sources", sources.len()))
                    } else if output.content.trim_end() != members[&p].trim_end() {
                        Some("its text differs from the member's".to_owned())
                    } else {
                        None
                    };
                    if let Some(problem) = problem {
                        return Err(OpenReason::KeptChanged { path: p.to_string(), problem });
                    }
                    // Kept means the member's very bytes.
                    text = members[&p].to_owned();
                }
                parts.push(Part { path: p, content: text, sources, action });
            }
            for (m, text) in &members {
                match covered.get(*m).copied().unwrap_or(0) {
                    // A member no output names stays as it is: a large
                    // cluster is answered by naming what merges or is
                    // superseded.
                    0 => parts.push(Part {
                        path: (*m).clone(),
                        content: (*text).to_owned(),
                        sources: vec![(*m).clone()],
                        action: PartAction::Kept,
                    }),
                    1 => {}
                    _ => return Err(OpenReason::MemberTwice { path: m.to_string() }),
                }
            }
            parts.sort_by(|a, b| a.path.cmp(&b.path));
            Ok(Outcome::Partition(parts))
        }
    }
}

/// One output of a pattern answer, checked: a new memory under
/// `/patterns/`, or a member of the question cited as stating it.
fn pattern(
    question: &Question,
    output: &super::Output,
    wrong_kind: &dyn Fn(&OutputAction) -> OpenReason,
) -> Result<NewPattern, OpenReason> {
    let (kind, sessions, stated) = match &output.action {
        OutputAction::Pattern { kind, sessions } => (kind, sessions, false),
        OutputAction::Stated { kind, sessions } => (kind, sessions, true),
        other => return Err(wrong_kind(other)),
    };
    let p = path(&output.path)?;
    if !output.sources.is_empty() {
        return Err(OpenReason::PatternSources { path: p.to_string() });
    }
    let content = if stated {
        let Some(member) = question.members.iter().find(|m| m.path == p) else {
            return Err(OpenReason::NotAMember { path: p.to_string() });
        };
        if output.content.trim_end() != member.content.trim_end() {
            return Err(OpenReason::KeptChanged {
                path: p.to_string(),
                problem: "a stated pattern cites its member's text unchanged".to_owned(),
            });
        }
        // Cited means the member's very bytes.
        member.content.clone()
    } else {
        if !p.starts_with("/patterns/") {
            return Err(OpenReason::PatternPath { path: p.to_string() });
        }
        content(&p, &output.content)?;
        output.content.clone()
    };
    let known: BTreeSet<&str> = question.excerpts.iter().map(|e| e.session.as_str()).collect();
    let named: BTreeSet<&str> = sessions.iter().map(String::as_str).collect();
    if let Some(unknown) = named.iter().find(|s| !known.contains(**s)) {
        return Err(OpenReason::PatternSessions {
            problem: format!("{unknown:?} is not a session of the question"),
        });
    }
    if named.len() < 2 {
        return Err(OpenReason::PatternSessions { problem: format!("it names {}", named.len()) });
    }
    Ok(NewPattern {
        path: p,
        content,
        stated,
        kind: *kind,
        sessions: named.into_iter().map(str::to_owned).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolve::{Output, QuestionExcerpt, QuestionMemory, port_question};

    fn out(path: &str, content: &str, sources: &[&str], action: OutputAction) -> Output {
        Output {
            path: path.into(),
            content: content.into(),
            sources: sources.iter().map(|s| (*s).to_owned()).collect(),
            action,
        }
    }

    fn open(q: &Question, outputs: Vec<Output>) -> OpenReason {
        match check(q, &Answer::outputs(q.id.clone(), outputs, "r")) {
            Outcome::Open(r) => r,
            other => panic!("expected open, got {other:?}"),
        }
    }

    #[test]
    fn a_partition_covers_every_member_once() {
        let q = port_question("2");
        let one = check(
            &q,
            &Answer::outputs(
                q.id.clone(),
                vec![out("/b", "port 2", &["/a", "/b"], OutputAction::Superseded)],
                "newer",
            ),
        );
        let Outcome::Partition(parts) = one else { panic!("{one:?}") };
        assert_eq!(parts.len(), 1);
        assert_eq!(parts[0].sources.len(), 2);
        let two = check(
            &q,
            &Answer::outputs(
                q.id.clone(),
                vec![
                    out("/b", "port 2", &["/b"], OutputAction::Kept),
                    out("/a", "port 1", &["/a"], OutputAction::Kept),
                ],
                "different",
            ),
        );
        let Outcome::Partition(parts) = two else { panic!("{two:?}") };
        assert_eq!(parts[0].path.as_str(), "/a", "sorted by path");

        // A member no output names is kept as it is.
        let Outcome::Partition(parts) = check(
            &q,
            &Answer::outputs(
                q.id.clone(),
                vec![out("/b", "port 2", &["/b"], OutputAction::Kept)],
                "two facts",
            ),
        ) else {
            panic!("a partition")
        };
        assert_eq!(parts.len(), 2);
        assert_eq!((parts[0].path.as_str(), parts[0].action), ("/a", PartAction::Kept));
        assert_eq!(parts[0].content, "port 1");
        assert_eq!(
            open(
                &q,
                vec![
                    out("/b", "x", &["/a", "/b"], OutputAction::Merged),
                    out("/a", "port 1", &["/a"], OutputAction::Kept)
                ]
            ),
            OpenReason::MemberTwice { path: "/a".into() }
        );
        assert_eq!(
            open(&q, vec![out("/c", "x", &["/a", "/b", "/c"], OutputAction::Merged)]),
            OpenReason::NotAMember { path: "/c".into() }
        );
        assert_eq!(
            open(
                &q,
                vec![
                    out("/b", "x", &["/a"], OutputAction::Merged),
                    out("/a", "y", &["/b"], OutputAction::Merged)
                ]
            ),
            OpenReason::PathNotASource { path: "/b".into() }
        );
        assert!(matches!(
            open(
                &q,
                vec![
                    out("/a", "changed", &["/a"], OutputAction::Kept),
                    out("/b", "port 2", &["/b"], OutputAction::Kept)
                ]
            ),
            OpenReason::KeptChanged { .. }
        ));
        assert!(matches!(
            open(&q, vec![out("no-slash", "x", &["/a", "/b"], OutputAction::Merged)]),
            OpenReason::InvalidPath { .. }
        ));
        assert!(matches!(
            open(
                &q,
                vec![out(
                    "/a",
                    &"x".repeat(crate::memory::MAX_CONTENT_BYTES + 1),
                    &["/a", "/b"],
                    OutputAction::Merged
                )]
            ),
            OpenReason::InvalidContent { .. }
        ));
        let pattern = OutputAction::Pattern { kind: PatternKind::RecurringMistake, sessions: vec![] };
        assert!(matches!(
            open(&q, vec![out("/a", "x", &["/a", "/b"], pattern)]),
            OpenReason::ActionForKind { .. }
        ));
        let wrong = check(&q, &Answer::unresolved("c-000000000000", "x"));
        assert!(matches!(wrong, Outcome::Open(OpenReason::WrongId { .. })));
        let declined = check(&q, &Answer::unresolved(q.id.clone(), "unsure"));
        assert_eq!(declined, Outcome::Open(OpenReason::Declined { reason: "unsure".into() }));
    }

    #[test]
    fn a_pattern_is_a_new_memory_on_two_sessions_or_none() {
        let excerpt = |s: &str| QuestionExcerpt {
            session: s.into(),
            turns: [0, 1],
            at: None,
            text: "npm fails".into(),
        };
        let q = Question::new(
            QuestionKind::Pattern,
            "maybe one mistake",
            vec![],
            vec![excerpt("s1"), excerpt("s2")],
            "",
        );
        let pat = |sessions: &[&str]| OutputAction::Pattern {
            kind: PatternKind::RecurringMistake,
            sessions: sessions.iter().map(|s| (*s).to_owned()).collect(),
        };
        let ok = check(
            &q,
            &Answer::outputs(
                q.id.clone(),
                vec![out("/patterns/mistakes/pm.md", "use pnpm", &[], pat(&["s2", "s1", "s1"]))],
                "r",
            ),
        );
        let Outcome::Patterns(p) = ok else { panic!("{ok:?}") };
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].sessions, vec!["s1".to_owned(), "s2".to_owned()]);
        assert!(matches!(
            open(&q, vec![out("/notes/pm.md", "x", &[], pat(&["s1", "s2"]))]),
            OpenReason::PatternPath { .. }
        ));
        assert!(matches!(
            open(&q, vec![out("/patterns/a.md", "x", &["/a"], pat(&["s1", "s2"]))]),
            OpenReason::PatternSources { .. }
        ));
        assert!(matches!(
            open(&q, vec![out("/patterns/a.md", "x", &[], pat(&["s1"]))]),
            OpenReason::PatternSessions { .. }
        ));
        assert!(matches!(
            open(&q, vec![out("/patterns/a.md", "x", &[], pat(&["s1", "s9"]))]),
            OpenReason::PatternSessions { .. }
        ));
        let none = check(&q, &Answer::outputs(q.id.clone(), vec![], "not one mistake"));
        assert_eq!(none, Outcome::Patterns(vec![]), "rejected: settled, nothing written");
        let twice = out("/patterns/a.md", "x", &[], pat(&["s1", "s2"]));
        assert!(matches!(open(&q, vec![twice.clone(), twice]), OpenReason::PatternTwice { .. }));
        assert!(matches!(
            open(&q, vec![out("/patterns/a.md", "x", &[], OutputAction::Merged)]),
            OpenReason::ActionForKind { .. }
        ));
    }

    #[test]
    fn a_pattern_a_member_states_is_cited_unchanged() {
        let excerpt =
            |s: &str| QuestionExcerpt { session: s.into(), turns: [0, 1], at: None, text: "npm".into() };
        let member = QuestionMemory {
            path: MemoryPath::new("/tools/pnpm.md").unwrap(),
            content: "Use pnpm in this repo, not npm.\n".into(),
            updated_at: crate::memory::Timestamp(1),
        };
        let q = Question::new(
            QuestionKind::Pattern,
            "maybe one mistake",
            vec![member],
            vec![excerpt("s1"), excerpt("s2")],
            "",
        );
        let stated = |path: &str, text: &str| {
            let action = OutputAction::Stated {
                kind: PatternKind::RecurringMistake,
                sessions: vec!["s1".into(), "s2".into()],
            };
            out(path, text, &[], action)
        };
        let ok = check(
            &q,
            &Answer::outputs(
                q.id.clone(),
                vec![stated("/tools/pnpm.md", "Use pnpm in this repo, not npm.")],
                "r",
            ),
        );
        let Outcome::Patterns(p) = ok else { panic!("{ok:?}") };
        assert!(p[0].stated);
        assert_eq!(p[0].content, "Use pnpm in this repo, not npm.\n", "the member's very bytes");
        assert!(matches!(
            open(&q, vec![stated("/tools/other.md", "Use pnpm in this repo, not npm.")]),
            OpenReason::NotAMember { .. }
        ));
        assert!(matches!(
            open(&q, vec![stated("/tools/pnpm.md", "Use yarn.")]),
            OpenReason::KeptChanged { .. }
        ));
        let cluster = Question::new(QuestionKind::Cluster, "c", q.members.clone(), vec![], "");
        assert!(matches!(
            open(&cluster, vec![stated("/tools/pnpm.md", "Use pnpm in this repo, not npm.")]),
            OpenReason::ActionForKind { .. }
        ));
    }
}
