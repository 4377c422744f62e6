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
//! Pattern questions are left for review too.
//!
//! A settled cluster is answered with one `superseded` output at the
//! winner's path, carrying every member; the local resolver never rewrites
//! a text.

use super::{
    Answer, Output, OutputAction, Question, QuestionKind, QuestionMemory, Reply, ResolveError, Resolver,
    Watch,
};
use std::collections::BTreeSet;

use crate::text::{Lexicon, content_words, stated_target};

/// The default resolver (see the module doc).
#[derive(Debug, Default, Clone, Copy)]
pub struct LocalResolver;

impl LocalResolver {
    /// The local rules' answer to one question.
    pub fn answer(&self, question: &Question) -> Answer {
        decide(question)
    }
}

impl Resolver for LocalResolver {
    fn name(&self) -> super::ResolverName {
        super::ResolverName::Local
    }

    fn reads_secrets(&self) -> bool {
        true
    }

    fn resolve(&self, batch: &[Question], watch: &Watch<'_>) -> Result<Vec<Reply>, ResolveError> {
        let replies = batch.iter().map(|q| Ok(decide(q).into())).collect();
        watch.answered(batch.len());
        Ok(replies)
    }
}

/// `winner` replaces every member of `question`.
fn keep(question: &Question, winner: &QuestionMemory, reason: String) -> Answer {
    let output = Output {
        path: winner.path.to_string(),
        content: winner.content.clone(),
        sources: question.members.iter().map(|m| m.path.to_string()).collect(),
        action: OutputAction::Superseded,
    };
    Answer::outputs(question.id.clone(), vec![output], reason)
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
        let Some(stated) = stated_target(&e.text, Lexicon::built_in()) else { continue };
        let target = stated.text;
        if common.contains(&stated.key) {
            continue;
        }
        let holders: Vec<usize> = (0..words.len()).filter(|&i| words[i].contains(&stated.key)).collect();
        if let [only] = holders[..] {
            let m = &question.members[only];
            let reason = format!(
                "session {} turn {} ({}) states the change to \"{target}\", which only {} holds",
                e.session,
                e.turns[0],
                e.at.map(|t| t.to_rfc3339()).unwrap_or_default(),
                m.path
            );
            return Some(keep(question, m, reason));
        }
    }
    None
}

fn decide(question: &Question) -> Answer {
    if question.kind == QuestionKind::Pattern {
        return Answer::unresolved(
            question.id.clone(),
            "the local rules do not group patterns; left for review",
        );
    }
    let words: Vec<BTreeSet<String>> = question
        .members
        .iter()
        .map(|m| content_words(&m.content, Lexicon::built_in()).into_iter().map(|w| w.key).collect())
        .collect();
    by_evidence(question, &words).unwrap_or_else(|| {
        Answer::unresolved(
            question.id.clone(),
            "no session turn newer than the memories states which one is current; kept all for review",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::{MemoryPath, Timestamp};
    use crate::resolve::{QuestionExcerpt, Verdict};

    fn q(members: &[(&str, &str, i64)], excerpts: Vec<QuestionExcerpt>) -> Question {
        let members = members
            .iter()
            .map(|(p, c, t)| QuestionMemory {
                path: MemoryPath::new(p).unwrap(),
                content: (*c).into(),
                updated_at: Timestamp(*t),
            })
            .collect();
        Question::new(QuestionKind::Cluster, "open", members, excerpts, "")
    }

    /// The path a settled answer keeps, or None when it is unresolved.
    fn kept(question: &Question) -> Option<String> {
        let a = decide(question);
        assert_eq!(a.id, question.id);
        match &a.verdict {
            Verdict::Unresolved => None,
            Verdict::Outputs(o) => {
                assert_eq!(o.len(), 1);
                assert_eq!(o[0].sources.len(), question.members.len());
                assert_eq!(o[0].action, OutputAction::Superseded);
                Some(o[0].path.clone())
            }
        }
    }

    #[test]
    fn value_changes_without_evidence_are_left_for_review() {
        // Stage 3 settles what timestamps or cues decide; what reaches here stays open.
        let question = q(&[("/a", "staging port is 5433", 1), ("/b", "staging port is 5434", 2)], vec![]);
        assert_eq!(kept(&question), None);
        let Ok(replies) = LocalResolver.resolve(
            std::slice::from_ref(&question),
            &Watch::new(&crate::progress::Silent, &crate::progress::CancelToken::new(), 1),
        ) else {
            panic!("local never fails")
        };
        assert!(matches!(
            crate::resolve::check(&question, &replies[0].clone().unwrap().answer),
            crate::resolve::Outcome::Open(_)
        ));
    }

    #[test]
    fn newer_session_evidence_settles_a_word_change() {
        let excerpt = |text: &str, at: i64| QuestionExcerpt {
            session: "s-1".into(),
            turns: [3, 4],
            at: Some(Timestamp(at)),
            text: text.into(),
        };
        let members =
            [("/a", "The shop CI runs on Buildkite.", 1), ("/b", "The shop CI runs on Jenkins.", 2)];
        let question = q(&members, vec![excerpt("We switched the shop CI to Jenkins last week.", 5)]);
        assert_eq!(kept(&question).as_deref(), Some("/b"));
        assert!(decide(&question).reason.contains("jenkins"), "{}", decide(&question).reason);
        // Older than a member, or naming a shared word: no evidence.
        assert_eq!(
            kept(&q(&members, vec![excerpt("We switched the shop CI to Jenkins last week.", 1)])),
            None
        );
        assert_eq!(kept(&q(&members, vec![excerpt("We moved the shop to the CI cluster.", 9)])), None);
    }

    #[test]
    fn word_changes_ties_and_patterns_stay_unresolved() {
        assert_eq!(
            kept(&q(&[("/a", "billing uses Postgres", 1), ("/b", "billing uses MySQL", 2)], vec![])),
            None
        );
        assert_eq!(
            kept(&q(&[("/a", "staging port is 5433", 2), ("/b", "staging port is 5434", 2)], vec![])),
            None
        );
        let p = Question::new(QuestionKind::Pattern, "maybe", vec![], vec![], "");
        assert_eq!(decide(&p).verdict, Verdict::Unresolved);
    }
}
