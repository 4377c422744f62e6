//! The local resolver: deterministic, offline rules.
//!
//! It acts on recency only where the wording proves the subject is the same:
//! when every pair of the cluster differs in values alone (numbers,
//! versions, days, flags, negation — a [`Strength::Strong`] conflict), the
//! most recently updated memory is kept and the others are superseded by
//! it. Recency without an update cue is weaker evidence than a cue, so the
//! reason says so and the report lists it as settled "by recency" for a
//! reviewer to check. Anything else (a plain word differs as well, or two
//! members share the newest timestamp) is left unresolved: every member is
//! kept and the cluster is flagged.

use super::{Answer, Decision, Question, ResolveError, Resolver};
use crate::dream::near::{Relation, Strength, compare};
use crate::dream::normalize::analyse;

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

fn decide(question: &Question) -> Answer {
    let analysed: Vec<_> = question.members.iter().map(|m| analyse(&m.content)).collect();
    for i in 0..analysed.len() {
        for j in i + 1..analysed.len() {
            let relation = compare(&analysed[i], &analysed[j]);
            if relation != (Relation::Conflict { strength: Strength::Strong }) {
                let (a, b) = (&question.members[i].path, &question.members[j].path);
                return Answer {
                    decision: Decision::Unresolved,
                    reason: format!(
                        "{a} and {b} differ in more than values, so they may be about different subjects; \
                         kept both for review"
                    ),
                };
            }
        }
    }
    let Some(newest) = question.members.iter().max_by_key(|m| m.updated_at) else {
        return Answer { decision: Decision::Unresolved, reason: "empty cluster".into() };
    };
    let ties = question.members.iter().filter(|m| m.updated_at == newest.updated_at).count();
    if ties > 1 {
        return Answer {
            decision: Decision::Unresolved,
            reason: "same subject with different values, all written at the same time; kept all for review"
                .into(),
        };
    }
    Answer {
        decision: Decision::Keep { path: newest.path.clone() },
        reason: format!(
            "same subject, only values differ, no update cue: settled by recency ({} was updated last, {})",
            newest.path,
            newest.updated_at.to_rfc3339()
        ),
    }
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
    fn newest_wins_when_only_values_differ() {
        let a = LocalResolver
            .resolve(&q(&[("/a", "staging port is 5433", 1), ("/b", "staging port is 5434", 2)]))
            .unwrap();
        assert_eq!(a.decision, Decision::Keep { path: MemoryPath::new("/b").unwrap() });
        assert!(a.reason.contains("recency"));
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
