//! The local resolver: deterministic, offline rules.
//!
//! First, session evidence: an excerpt no older than every member that
//! states a change ("we switched the CI to Jenkins", "moved from X to Y")
//! whose new value is a word of exactly one member (a word the other
//! members do not share) settles the cluster for that member.
//!
//! Nothing else: value changes with a timestamp or an update cue to go by
//! are settled by the dream itself (stage 3); what reaches a resolver is
//! what the device could not prove, so the local resolver leaves it for a
//! person to review (every member kept, the cluster flagged in the report).

use super::{Answer, Decision, Question, ResolveError, Resolver};
use std::collections::BTreeSet;

use crate::text::normalize::{analyse, stated_target};

/// The default resolver (see the module doc).
#[derive(Debug, Default, Clone, Copy)]
pub struct LocalResolver;

impl Resolver for LocalResolver {
    fn name(&self) -> String {
        "local".into()
    }

    fn resolve(&mut self, question: &Question) -> Result<Answer, ResolveError> {
        Ok(decide(question))
    }
}

/// The member a newer session excerpt says the subject changed to, if
/// exactly one member holds that value.
fn by_evidence(question: &Question, words: &[BTreeSet<String>]) -> Option<Answer> {
    let newest = question.members.iter().map(|m| m.updated_at).max()?;
    let common: BTreeSet<&String> = words
        .iter()
        .skip(1)
        .fold(words.first()?.iter().collect(), |acc, w| acc.into_iter().filter(|x| w.contains(*x)).collect());
    for e in &question.excerpts {
        if e.at.is_none_or(|at| at < newest) {
            continue;
        }
        let Some(target) = stated_target(&e.text) else { continue };
        if common.contains(&target) {
            continue;
        }
        let holders: Vec<usize> = (0..words.len()).filter(|&i| words[i].contains(&target)).collect();
        if let [only] = holders[..] {
            let m = &question.members[only];
            return Some(Answer {
                decision: Decision::Keep { path: m.path.clone() },
                reason: format!(
                    "session {} turn {} ({}) states the change to \"{target}\", which only {} holds",
                    &e.session.to_string()[..12],
                    e.start,
                    e.at.map(|t| t.to_rfc3339()).unwrap_or_default(),
                    m.path
                ),
            });
        }
    }
    None
}

fn decide(question: &Question) -> Answer {
    let words: Vec<BTreeSet<String>> = question
        .members
        .iter()
        .map(|m| analyse(&m.content).tokens.into_iter().map(|t| t.text).collect())
        .collect();
    by_evidence(question, &words).unwrap_or_else(|| Answer {
        decision: Decision::Unresolved,
        reason: "no session turn newer than the memories states which one is current; kept all for review".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::{MemoryPath, Timestamp};
    use crate::resolve::QuestionMemory;

    fn q(members: &[(&str, &str, i64)]) -> Question {
        Question {
            members: members
                .iter()
                .map(|(p, c, t)| QuestionMemory {
                    path: MemoryPath::new(p).unwrap(),
                    content: (*c).into(),
                    updated_at: Timestamp(*t),
                })
                .collect(),
            excerpts: vec![],
            instructions: String::new(),
        }
    }

    #[test]
    fn newer_session_evidence_settles_a_word_change() {
        use crate::resolve::QuestionExcerpt;
        use crate::session::SessionId;
        let mut question =
            q(&[("/a", "The shop CI runs on Buildkite.", 1), ("/b", "The shop CI runs on Jenkins.", 2)]);
        let excerpt = |text: &str, at: i64| QuestionExcerpt {
            session: SessionId(crate::memory::ContentHash::of(b"s")),
            start: 3,
            end: 4,
            at: Some(Timestamp(at)),
            text: text.into(),
        };
        question.excerpts = vec![excerpt("We switched the shop CI to Jenkins last week.", 5)];
        let a = LocalResolver.resolve(&question).unwrap();
        assert_eq!(a.decision, Decision::Keep { path: MemoryPath::new("/b").unwrap() });
        assert!(a.reason.contains("jenkins"), "{}", a.reason);
        // Older than a member, or naming a shared word: no evidence.
        question.excerpts = vec![excerpt("We switched the shop CI to Jenkins last week.", 1)];
        assert_eq!(LocalResolver.resolve(&question).unwrap().decision, Decision::Unresolved);
        question.excerpts = vec![excerpt("We moved the shop to the CI cluster.", 9)];
        assert_eq!(LocalResolver.resolve(&question).unwrap().decision, Decision::Unresolved);
    }

    #[test]
    fn word_changes_and_ties_stay_unresolved() {
        let a = LocalResolver
            .resolve(&q(&[("/a", "billing uses Postgres", 1), ("/b", "billing uses MySQL", 2)]))
            .unwrap();
        assert_eq!(a.decision, Decision::Unresolved);
        let b = LocalResolver
            .resolve(&q(&[("/a", "staging port is 5433", 2), ("/b", "staging port is 5434", 2)]))
            .unwrap();
        assert_eq!(b.decision, Decision::Unresolved);
    }
}
