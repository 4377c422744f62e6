//! Stages 5 and 6 of the dream, in rounds: the open clusters planned into
//! questions and put to the resolver, then, while answers settle
//! something, what a full cluster left out, between what stands.

use std::collections::BTreeSet;

use super::{DreamError, DreamOptions, Groups, Tracker, apply, conflict, plan};
use crate::embed::Embedder;
use crate::resolve::ask::Prepared;
use crate::resolve::redact;
use crate::resolve::{Asking, LocalResolver, Outcome, QuestionMemory, ResolveError, Usage, Verdict, check};
use crate::session::Session;

/// Stages 5 and 6: open value changes (certainly one subject) are asked
/// first; then, between what stands after the earlier answers and never
/// between groups one question already held, the other questions and what
/// a full cluster left out. A question names a group by the path its
/// memory would have.
pub(super) struct Rounds<'a> {
    pub(super) groups: &'a Groups<'a>,
    pub(super) decided: &'a conflict::ConflictOutput,
    pub(super) patterns: &'a [plan::PatternCandidate],
    pub(super) sessions: &'a [Session],
    pub(super) embedder: &'a dyn Embedder,
    pub(super) options: &'a DreamOptions,
}

/// What the rounds asked and what came back.
pub(super) struct Asked {
    pub(super) resolved: Vec<apply::Resolved>,
    /// The questions (indexes into `resolved`) that held each group.
    pub(super) asked_in: Vec<BTreeSet<usize>>,
    /// Tokens of the questions the local rules leave for a model, in the
    /// wire form, each memory and excerpt counted once.
    pub(super) sent: u64,
    pub(super) usage: Usage,
}

impl Rounds<'_> {
    pub(super) fn ask(&self, asking: &mut Asking<'_>, track: &Tracker<'_>) -> Result<Asked, DreamError> {
        let n = self.groups.len();
        let mut asked = Asked {
            resolved: Vec::new(),
            asked_in: vec![BTreeSet::new(); n],
            sent: 0,
            usage: Usage::default(),
        };
        // The groups whose last question was left open.
        let mut left_open = vec![false; n];
        // What a model reads over the whole dream: each memory and excerpt once.
        let mut wire = crate::resolve::wire::Encoder::new();
        for round in 0..conflict::MAX_ROUNDS {
            let carriers = self.carriers(&asked.resolved)?;
            let mut open = self.open_clusters(round, &carriers, &asked.asked_in, &left_open);
            if round > 0 && open.is_empty() {
                break;
            }
            track.step("plan", 0, open.len())?;
            let inputs: Vec<plan::ClusterInput<'_>> =
                open.iter().map(|c| self.cluster_input(c, &carriers)).collect();
            let opts = self.options;
            let mut planned =
                plan::plan(&inputs, self.sessions, self.embedder, opts.excerpts, &opts.instructions)?;
            if round == 0 {
                // Occurrences the pattern stage could not group for certain:
                // `pattern` questions, asked with the first round.
                let patterns = plan::pattern_questions(self.patterns, self.sessions, &opts.instructions)?;
                open.extend(
                    patterns.iter().map(|_| conflict::OpenCluster { groups: Vec::new(), why: Vec::new() }),
                );
                planned.extend(patterns);
            }
            // What needs a model: the questions the local rules leave open.
            for p in &planned {
                if LocalResolver.answer(&p.prepared.raw).verdict == Verdict::Unresolved {
                    let lines = crate::resolve::wire::joined(&wire.encode(&p.prepared.question));
                    asked.sent += plan::count_tokens(&lines)?;
                }
            }
            track.step("plan", open.len(), open.len())?;
            let (prepared, cites): (Vec<Prepared>, Vec<plan::Cites>) =
                planned.into_iter().map(|p| (p.prepared, p.cites)).unzip();
            let replies = asking.ask(&prepared, track.observer, track.cancel).map_err(|e| match e {
                ResolveError::Cancelled => DreamError::Cancelled,
                other => DreamError::Resolve(other),
            })?;
            for (((cluster, prepared), cites), reply) in
                open.into_iter().zip(prepared).zip(cites).zip(replies)
            {
                let (outcome, reason) = match reply {
                    Ok(a) => {
                        asked.usage.add(&a.usage);
                        // Answers are checked against what was sent, then
                        // get their secrets back.
                        let checked = check(&prepared.question, &a.answer);
                        (redact::restore(checked, &prepared.raw, &cites.secrets), a.answer.reason)
                    }
                    Err(open) => (Outcome::Open(open), String::new()),
                };
                for &g in &cluster.groups {
                    asked.asked_in[g].insert(asked.resolved.len());
                    left_open[g] = matches!(outcome, Outcome::Open(_));
                }
                asked.resolved.push(apply::Resolved {
                    cluster,
                    question: prepared.question,
                    evidence: cites.evidence,
                    sessions: cites.sessions,
                    outcome,
                    reason,
                });
            }
        }
        Ok(asked)
    }

    /// Which group carries each group's memory after stage 3 and the answers.
    fn carriers(&self, resolved: &[apply::Resolved]) -> Result<apply::Carriers, DreamError> {
        let g = self.groups;
        apply::Carriers::new(g.len(), &self.decided.settled, resolved, |i| g.paths[i], |i| g.texts[i])
    }

    /// The clusters to ask in `round`, between the groups that carry the
    /// open pairs. After the round it is first asked in, a pair a full
    /// cluster left out waits for answers: once a question holding one of
    /// its groups is left open, it is for the reviewer, not asked — unless
    /// the other group was never in a question.
    fn open_clusters(
        &self,
        round: usize,
        carriers: &apply::Carriers,
        asked_in: &[BTreeSet<usize>],
        left_open: &[bool],
    ) -> Vec<conflict::OpenCluster> {
        let together = |a: usize, b: usize| !asked_in[a].is_disjoint(&asked_in[b]);
        // A pair waits for answers; but a group no question has held yet is
        // asked with its open neighbour even if that one's question was
        // left open, or no reviewer would ever see it.
        let waiting = |e: &&conflict::OpenEdge| {
            let (a, b) = (carriers.final_of(e.a), carriers.final_of(e.b));
            (!left_open[a] && !left_open[b]) || asked_in[a].is_empty() || asked_in[b].is_empty()
        };
        let strong = self.decided.strong.iter().filter(|e| round == 0 || waiting(e));
        let weak = self.decided.weak.iter().filter(|e| round == 1 || (round > 1 && waiting(e)));
        conflict::clusters(self.groups.len(), strong.chain(weak), |g| carriers.final_of(g), together).clusters
    }

    /// A cluster as the plan reads it: its groups' memories as they stand
    /// now, sorted by path, and their vectors.
    fn cluster_input(
        &self,
        cluster: &conflict::OpenCluster,
        carriers: &apply::Carriers,
    ) -> plan::ClusterInput<'_> {
        let g = self.groups;
        let mut members: Vec<(QuestionMemory, &[f32])> = cluster
            .groups
            .iter()
            .map(|&i| {
                let memory = QuestionMemory {
                    path: g.paths[i].clone(),
                    content: carriers.rewritten(i).unwrap_or(g.texts[i]).to_owned(),
                    updated_at: g.units[i].updated_at,
                };
                (memory, g.vectors[i])
            })
            .collect();
        members.sort_by(|a, b| a.0.path.cmp(&b.0.path));
        let vectors = members.iter().map(|m| m.1).collect();
        plan::ClusterInput {
            why: cluster.why_text(),
            open: cluster.rules(),
            members: members.into_iter().map(|m| m.0).collect(),
            vectors,
        }
    }

    /// Open pairs between what stands that no question held together.
    pub(super) fn not_asked(&self, asked: &Asked) -> Result<usize, DreamError> {
        let carriers = self.carriers(&asked.resolved)?;
        Ok(self
            .decided
            .strong
            .iter()
            .chain(&self.decided.weak)
            .map(|e| {
                let (a, b) = (carriers.final_of(e.a), carriers.final_of(e.b));
                (a.min(b), a.max(b))
            })
            .filter(|&(a, b)| a != b && asked.asked_in[a].is_disjoint(&asked.asked_in[b]))
            .collect::<BTreeSet<_>>()
            .len())
    }
}
