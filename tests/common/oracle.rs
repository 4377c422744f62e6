//! A resolver that answers every question from the seeded corpus's truth
//! (used by `examples/resolve_quality.rs` and `tests/resolve_quality.rs`):
//! what a perfect model would answer through the contract.
//!
//! It groups each cluster's members by the fact they state: a group becomes
//! one output at the member holding the current value (`kept` for one
//! member, `merged` when all state the same value, else `superseded`).
//! Pattern questions are left open (the corpus's patterns are found on the
//! device).

use std::collections::BTreeMap;

use dreamwork::resolve::{
    Answer, Output, OutputAction, Question, QuestionKind, Reply, ResolveError, Resolver, Watch,
};

use super::corpus::Corpus;

/// Answers from the corpus's truth.
pub struct Oracle<'c> {
    /// The corpus whose truth answers.
    pub corpus: &'c Corpus,
}

impl Oracle<'_> {
    fn answer(&self, q: &Question) -> Answer {
        if q.kind == QuestionKind::Pattern {
            return Answer::unresolved(q.id.clone(), "the oracle knows no pattern questions");
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

impl Resolver for Oracle<'_> {
    fn name(&self) -> String {
        "oracle".into()
    }
    fn resolve(&self, batch: &[Question], watch: &Watch<'_>) -> Result<Vec<Reply>, ResolveError> {
        watch.answered(batch.len());
        Ok(batch.iter().map(|q| Ok(self.answer(q).into())).collect())
    }
}
