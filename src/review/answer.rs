//! A reviewer's choice for one cluster, as an answer of the resolver
//! contract ([`Answer`]).
//!
//! - keep member *i*: one output at *i*'s path with *i*'s text, standing for
//!   every member; `superseded` when some other member is older and states
//!   another value (anything but the same facts by [`compare`](crate::text::compare())), else
//!   `merged`;
//! - keep all: one `kept` output per member;
//! - write a text (in the editor, starting from member *i*): one output at
//!   *i*'s path with the new text, standing for every member; `superseded`
//!   when some member states another value than the new text, else `merged`.
//!
//! For a pattern question:
//! - write it: one `pattern` output at the proposed path (or the edited
//!   text there), resting on every session the question quotes;
//! - not a pattern: no output at all — the question is settled and nothing
//!   is written;
//! - already stated by member *i* (a memory of the store): one `stated`
//!   output citing it, unchanged; nothing is written.

use std::collections::BTreeSet;

use crate::resolve::{Answer, Output, OutputAction, Question};
use crate::text::{Document, Lexicon, Relation, compare};

/// What the reviewer chose for a cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Choice {
    /// Keep this member (0-based); the others fold into it.
    Keep(usize),
    /// Keep every member as a memory of its own.
    KeepAll,
    /// Replace every member by this text, at the path of member `at`.
    Write {
        /// The member whose path the text takes (0-based).
        at: usize,
        /// The text.
        content: String,
    },
    /// A pattern question: write this memory at the proposed path.
    Pattern {
        /// The memory's text (the proposal's, or the reviewer's edit).
        content: String,
    },
    /// A pattern question: the occurrences are no pattern.
    NoPattern,
    /// A pattern question: this member (0-based) already states the rule.
    Stated(usize),
}

/// Whether `a` states something else than `b`: not the same facts (or a
/// subset of them) in wording that provably does not change meaning.
fn other_value(a: &str, b: &str) -> bool {
    let lexicon = Lexicon::default();
    let relation = compare(&Document::parse(a, &lexicon), &Document::parse(b, &lexicon), &lexicon);
    !matches!(relation, Relation::Same | Relation::Contains { .. })
}

/// The answer for `choice`, or `None` when it names no member of
/// `question`, writes a pattern the question proposes none for, or is a
/// choice for the other kind of question.
pub fn answer(question: &Question, choice: &Choice) -> Option<Answer> {
    let for_pattern = matches!(choice, Choice::Pattern { .. } | Choice::NoPattern | Choice::Stated(_));
    if for_pattern != (question.kind == crate::resolve::QuestionKind::Pattern) {
        return None;
    }
    let members = &question.members;
    let paths: Vec<String> = members.iter().map(|m| m.path.to_string()).collect();
    let folded = |at: usize, content: String, action: OutputAction| Output {
        path: paths[at].clone(),
        content,
        sources: paths.clone(),
        action,
    };
    let (outputs, reason) = match choice {
        Choice::Keep(i) => {
            let kept = members.get(*i)?;
            if members.len() == 1 {
                (
                    vec![folded(*i, kept.content.clone(), OutputAction::Kept)],
                    format!("reviewed: kept {}", kept.path),
                )
            } else {
                let stale = members.iter().enumerate().any(|(j, m)| {
                    j != *i && m.updated_at < kept.updated_at && other_value(&m.content, &kept.content)
                });
                let action = if stale { OutputAction::Superseded } else { OutputAction::Merged };
                let others: Vec<&str> =
                    paths.iter().enumerate().filter(|(j, _)| j != i).map(|(_, p)| p.as_str()).collect();
                let verb = if stale { "superseded by" } else { "merged into" };
                (
                    vec![folded(*i, kept.content.clone(), action)],
                    format!("reviewed: {} {verb} {}", others.join(", "), kept.path),
                )
            }
        }
        Choice::KeepAll => (
            members
                .iter()
                .zip(&paths)
                .map(|(m, p)| Output {
                    path: p.clone(),
                    content: m.content.clone(),
                    sources: vec![p.clone()],
                    action: OutputAction::Kept,
                })
                .collect(),
            "reviewed: different facts, each kept".to_owned(),
        ),
        Choice::Pattern { content } => {
            let draft = question.draft.as_ref()?;
            let sessions: BTreeSet<&str> = question.excerpts.iter().map(|e| e.session.as_str()).collect();
            let output = Output {
                path: draft.path.to_string(),
                content: content.clone(),
                sources: Vec::new(),
                action: OutputAction::Pattern {
                    kind: draft.kind,
                    sessions: sessions.into_iter().map(str::to_owned).collect(),
                },
            };
            let how = if *content == draft.content { "as proposed" } else { "edited by hand" };
            (vec![output], format!("reviewed: a pattern, written {how} at {}", draft.path))
        }
        Choice::NoPattern => (Vec::new(), "reviewed: not a pattern; nothing written".to_owned()),
        Choice::Stated(i) => {
            let (member, draft) = (members.get(*i)?, question.draft.as_ref()?);
            let sessions: BTreeSet<&str> = question.excerpts.iter().map(|e| e.session.as_str()).collect();
            let output = Output {
                path: member.path.to_string(),
                content: member.content.clone(),
                sources: Vec::new(),
                action: OutputAction::Stated {
                    kind: draft.kind,
                    sessions: sessions.into_iter().map(str::to_owned).collect(),
                },
            };
            (vec![output], format!("reviewed: a pattern {} already states; nothing written", member.path))
        }
        Choice::Write { at, content } => {
            members.get(*at)?;
            let stale = members.iter().any(|m| m.content != *content && other_value(&m.content, content));
            let action = if stale { OutputAction::Superseded } else { OutputAction::Merged };
            (
                vec![folded(*at, content.clone(), action)],
                format!("reviewed: rewritten by hand at {}, standing for {}", paths[*at], paths.join(", ")),
            )
        }
    };
    Some(Answer::outputs(question.id.clone(), outputs, reason))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolve::{QuestionKind, QuestionMemory, Verdict};
    use crate::{MemoryPath, Timestamp};

    fn question(members: &[(&str, &str, i64)]) -> Question {
        let members = members
            .iter()
            .map(|(p, c, t)| QuestionMemory {
                path: MemoryPath::new(p).unwrap(),
                content: (*c).into(),
                updated_at: Timestamp(*t),
            })
            .collect();
        Question::new(QuestionKind::Cluster, "why", members, vec![], "")
    }

    fn outputs(a: &Answer) -> &[Output] {
        match &a.verdict {
            Verdict::Outputs(o) => o,
            Verdict::Unresolved => panic!("unresolved"),
        }
    }

    #[test]
    fn keeping_the_newer_value_supersedes_the_older() {
        let q = question(&[("/a", "The staging port is 5433.", 1), ("/b", "The staging port is 5434.", 2)]);
        let a = answer(&q, &Choice::Keep(1)).unwrap();
        assert_eq!(a.id, q.id);
        let o = outputs(&a);
        assert_eq!((o.len(), o[0].path.as_str(), &o[0].action), (1, "/b", &OutputAction::Superseded));
        assert_eq!(o[0].sources, ["/a", "/b"]);
        // Keeping the older one: nothing older is replaced, so it is a merge.
        let a = answer(&q, &Choice::Keep(0)).unwrap();
        assert_eq!(outputs(&a)[0].action, OutputAction::Merged);
        assert!(answer(&q, &Choice::Keep(2)).is_none());
    }

    #[test]
    fn a_pattern_is_written_or_rejected() {
        use crate::resolve::{PatternDraft, PatternKind, QuestionExcerpt, QuestionKind};
        let excerpt =
            |s: &str| QuestionExcerpt { session: s.into(), turns: [0, 2], at: None, text: "x".into() };
        let q = Question::new(QuestionKind::Pattern, "maybe", vec![], vec![excerpt("s2"), excerpt("s1")], "")
            .drafted(Some(PatternDraft {
                path: crate::MemoryPath::new("/patterns/preferences/no-mocks.md").unwrap(),
                kind: PatternKind::SharedPreference,
                content: "# No mocks".into(),
            }));
        let a = answer(&q, &Choice::Pattern { content: "# No mocks".into() }).unwrap();
        let o = outputs(&a);
        assert_eq!(
            (o.len(), o[0].path.as_str(), o[0].sources.len()),
            (1, "/patterns/preferences/no-mocks.md", 0)
        );
        let OutputAction::Pattern { sessions, .. } = &o[0].action else { panic!("a pattern") };
        assert_eq!(sessions, &["s1", "s2"]);
        assert!(
            matches!(crate::resolve::check(&q, &a), crate::resolve::Outcome::Patterns(p) if p.len() == 1)
        );
        let no = answer(&q, &Choice::NoPattern).unwrap();
        assert!(outputs(&no).is_empty());
        assert_eq!(crate::resolve::check(&q, &no), crate::resolve::Outcome::Patterns(vec![]));
        assert!(answer(&q, &Choice::Stated(0)).is_none(), "no member to cite");
        assert!(answer(&q, &Choice::KeepAll).is_none(), "a cluster's choice");
        let member = crate::resolve::QuestionMemory {
            path: crate::MemoryPath::new("/testing/db.md").unwrap(),
            content: "Tests hit a real postgres, no mocks.".into(),
            updated_at: crate::memory::Timestamp(1),
        };
        let offered = Question { members: vec![member], ..q.clone() };
        let a = answer(&offered, &Choice::Stated(0)).unwrap();
        let crate::resolve::Outcome::Patterns(p) = crate::resolve::check(&offered, &a) else {
            panic!("{a:?}")
        };
        assert_eq!((p.len(), p[0].path.as_str(), p[0].stated), (1, "/testing/db.md", true));
        let undrafted = Question::new(QuestionKind::Pattern, "maybe", vec![], vec![excerpt("s1")], "");
        assert!(answer(&undrafted, &Choice::Pattern { content: "x".into() }).is_none());
    }

    #[test]
    fn keep_all_and_write() {
        let q =
            question(&[("/a", "Deploys go out on Fridays.", 1), ("/b", "Deploys go out on Tuesdays.", 2)]);
        let a = answer(&q, &Choice::KeepAll).unwrap();
        let o = outputs(&a);
        assert_eq!(o.len(), 2);
        assert!(o.iter().all(|o| o.action == OutputAction::Kept && o.sources == [o.path.clone()]));
        let w = Choice::Write { at: 1, content: "Deploys go out on Wednesdays.".into() };
        let a = answer(&q, &w).unwrap();
        let o = outputs(&a);
        assert_eq!((o[0].path.as_str(), o[0].content.as_str()), ("/b", "Deploys go out on Wednesdays."));
        assert_eq!(o[0].action, OutputAction::Superseded);
    }
}
