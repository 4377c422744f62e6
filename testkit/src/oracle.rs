//! A resolver that answers every question from the seeded corpus's truth
//! (used by `examples/resolve_quality.rs` and `tests/it/resolve_quality.rs`):
//! what a perfect model would answer through the contract.
//!
//! It groups each cluster's members by the fact they state: a group becomes
//! one output at the member holding the current value (`kept` for one
//! member, `merged` when all state the same value, else `superseded`).
//! A pattern question is answered with the planted patterns its excerpts
//! show (an excerpt shows one when its session holds it and its text every
//! word of the pattern's marker; the longest such marker wins): one output
//! per pattern quoted from at least two sessions, none when there is none.

use std::collections::{BTreeMap, BTreeSet};

use dreamwork::report::PatternKind;
use dreamwork::resolve::{
    Answer, Output, OutputAction, Question, QuestionKind, Reply, ResolveError, Resolver, Watch,
};

use crate::corpus::Corpus;

/// Answers from the corpus's truth.
pub struct Oracle<'c> {
    /// The corpus whose truth answers.
    pub corpus: &'c Corpus,
}

impl Oracle<'_> {
    fn answer(&self, q: &Question) -> Answer {
        if q.kind == QuestionKind::Pattern {
            return self.pattern(q);
        }
        // Members by the fact they state (unlabelled ones stand alone).
        let mut by_fact: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, m) in q.members.iter().enumerate() {
            let fact =
                self.corpus.labels.get(&m.path).map_or_else(|| format!("?{}", m.path), |l| l.fact.clone());
            by_fact.entry(fact).or_default().push(i);
        }
        let outputs = by_fact
            .iter()
            .map(|(fact, members)| {
                let value = |i: usize| self.corpus.labels.get(&q.members[i].path).map(|l| l.value.clone());
                let current = self.corpus.current.get(fact);
                let winner = members
                    .iter()
                    .copied()
                    .find(|&i| value(i).as_ref() == current)
                    .or_else(|| members.iter().copied().max_by_key(|&i| q.members[i].updated_at))
                    .unwrap_or(members[0]);
                let same = members.iter().all(|&i| value(i) == value(winner));
                let action = match (members.len(), same) {
                    (1, _) => OutputAction::Kept,
                    (_, true) => OutputAction::Merged,
                    _ => OutputAction::Superseded,
                };
                Output {
                    path: q.members[winner].path.to_string(),
                    content: q.members[winner].content.clone(),
                    sources: members.iter().map(|&i| q.members[i].path.to_string()).collect(),
                    action,
                }
            })
            .collect();
        Answer::outputs(q.id.clone(), outputs, "from the corpus's truth")
    }
}

impl Oracle<'_> {
    fn pattern(&self, q: &Question) -> Answer {
        let ids: BTreeMap<&str, String> = self
            .corpus
            .sessions
            .iter()
            .filter_map(|s| s.external_id.as_deref().map(|n| (n, s.id.to_string())))
            .collect();
        let mut shown: BTreeMap<usize, BTreeSet<String>> = BTreeMap::new();
        for e in &q.excerpts {
            let Some(id) = ids.get(e.session.as_str()) else { continue };
            let text = e.text.to_lowercase();
            let planted = (0..self.corpus.patterns.len())
                .filter(|&i| {
                    let p = &self.corpus.patterns[i];
                    p.should_surface
                        && p.sessions.iter().any(|s| s.to_string() == *id)
                        && p.marker.to_lowercase().split_whitespace().all(|w| text.contains(w))
                })
                .max_by_key(|&i| (self.corpus.patterns[i].marker.len(), std::cmp::Reverse(i)));
            if let Some(p) = planted {
                shown.entry(p).or_default().insert(e.session.clone());
            }
        }
        let outputs: Vec<Output> = shown
            .into_iter()
            .filter(|(_, sessions)| sessions.len() >= 2)
            .map(|(p, sessions)| {
                let planted = &self.corpus.patterns[p];
                let dir = match planted.kind {
                    PatternKind::RecurringMistake => "mistakes",
                    PatternKind::SharedPreference => "preferences",
                    _ => "patterns",
                };
                let slug: String =
                    planted.marker.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
                let draft = q.draft.as_ref().map(|d| d.content.as_str()).unwrap_or_default();
                Output {
                    path: format!("/patterns/{dir}/{}.md", slug.to_lowercase()),
                    content: format!("# {}\n\n{draft}", planted.marker),
                    sources: Vec::new(),
                    action: OutputAction::Pattern {
                        kind: planted.kind,
                        sessions: sessions.into_iter().collect(),
                    },
                }
            })
            .collect();
        Answer::outputs(q.id.clone(), outputs, "from the corpus's truth")
    }
}

impl Resolver for Oracle<'_> {
    fn name(&self) -> dreamwork::resolve::ResolverName {
        "oracle".into()
    }
    fn resolve(&self, batch: &[Question], watch: &Watch<'_>) -> Result<Vec<Reply>, ResolveError> {
        watch.answered(batch.len());
        Ok(batch.iter().map(|q| Ok(self.answer(q).into())).collect())
    }
}
