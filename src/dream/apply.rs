//! Stage 7: apply every decision to build the output memories and the
//! report.
//!
//! Rules that make the output a pure function of the inputs:
//! - a group's output path is the path of its earliest-created member (then
//!   the shortest, then the first in order), except a resolver's rewrite,
//!   which names its path; a group superseded by another lives on in the
//!   winner's memory;
//! - timestamps come from the inputs (earliest `created_at`, latest
//!   `updated_at` of what a memory stands for; patterns take their
//!   evidence's turn times), never from the clock;
//! - a memory kept as it was is byte-identical to its input, provenance
//!   included; any other output memory lists every input memory it stands
//!   for (path and hash), their own earlier provenance, and its evidence.

use std::collections::{BTreeMap, BTreeSet};

use super::DreamError;
use super::conflict::{OpenCluster, Supersession};
use super::exact::ExactGroups;
use super::near::{Apart, NearGroup};
use super::patterns::Pattern;
use crate::judge::PairVerdict;
use crate::memory::{ContentHash, Memory, MemoryPath, Metadata, Source};
use crate::report::{
    Action, DroppedEntry, EvidenceRef, InputSummary, JudgedPair, MemoryEntry, OutputSummary, PatternEntry,
    REPORT_FORMAT, Report, ResolverId, SavedOptions, Tokens, UnresolvedEntry, memories_hash,
};
use crate::resolve::{OpenReason, Outcome, PartAction, Question};
use crate::session::{Excerpt, SessionId};

mod patterns;

use patterns::{add_answered_patterns, add_patterns};

/// A question put to the resolver, with the excerpts it cites and what
/// came of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The groups of the cluster (stage-2 indexes; none for a pattern question).
    pub cluster: OpenCluster,
    /// The question asked (as sent).
    pub question: Question,
    /// The excerpts the question cites.
    pub evidence: Vec<Excerpt>,
    /// The question's session names and the sessions they stand for.
    pub sessions: BTreeMap<String, SessionId>,
    /// The checked answer.
    pub outcome: Outcome,
    /// The resolver's reason (empty when no answer came).
    pub reason: String,
}

impl Resolved {
    /// The question's id (`c-…`), as in the report.
    pub fn id(&self) -> &str {
        &self.question.id
    }
}

/// The path stage-2 group `g`'s memory has in the output unless an answer
/// rewrites it: that of its earliest-created input (then the shortest path,
/// then the first). Questions name a group's member by this path.
pub fn group_path<'m>(
    memories: &'m [Memory],
    exact: &ExactGroups,
    groups: &[NearGroup],
    g: usize,
) -> &'m MemoryPath {
    let mut own: Vec<usize> =
        groups[g].members.iter().flat_map(|&e| exact.groups[e].members.iter().copied()).collect();
    own.sort_unstable();
    output_path(memories, &own)
}

/// Who carries whom after stage 3 and the answers so far.
#[derive(Debug, Clone, Default)]
pub struct Carriers {
    next: Vec<Option<usize>>,
    why: BTreeMap<usize, Vec<String>>,
    rewrite: BTreeMap<usize, (MemoryPath, String)>,
    /// The strongest action an answer took on a group it kept.
    action: BTreeMap<usize, PartAction>,
    /// Groups that replace another by stage 3's evidence.
    settled_winners: BTreeSet<usize>,
}

impl Carriers {
    /// Applies stage 3's supersessions and the partitions of `resolved` (in
    /// order) to `n` groups; `path_of(g)` is the path questions name group
    /// `g` by ([`group_path`]) and `text_of(g)` its text before any answer.
    pub fn new<'p>(
        n: usize,
        settled: &[Supersession],
        resolved: &[Resolved],
        path_of: impl Fn(usize) -> &'p MemoryPath,
        text_of: impl Fn(usize) -> &'p str,
    ) -> Result<Self, DreamError> {
        let mut c = Carriers { next: vec![None; n], ..Carriers::default() };
        for s in settled {
            c.next[s.loser] = Some(s.winner);
            c.why.entry(s.winner).or_default().push(s.reason.to_string());
            c.settled_winners.insert(s.winner);
        }
        for r in resolved {
            let Outcome::Partition(parts) = &r.outcome else { continue };
            let group_of = |path: &MemoryPath| {
                r.cluster.groups.iter().copied().find(|&g| path_of(g) == path).ok_or_else(|| {
                    DreamError::Invariant(format!(
                        "answer to {} names {path}, which is not in its cluster",
                        r.id()
                    ))
                })
            };
            for part in parts {
                let winner = group_of(&part.path)?;
                for source in &part.sources {
                    let g = group_of(source)?;
                    if g != winner {
                        c.next[g] = Some(winner);
                    }
                }
                let action = c.action.entry(winner).or_insert(part.action);
                *action = (*action).max(part.action);
                if part.action != PartAction::Kept {
                    c.why.entry(winner).or_default().push(r.reason.clone());
                    let current = c.rewrite.get(&winner).map_or_else(|| text_of(winner), |(_, t)| t.as_str());
                    if part.content != current {
                        c.rewrite.insert(winner, (part.path.clone(), part.content.clone()));
                    }
                }
            }
        }
        Ok(c)
    }

    /// The group that finally carries `g` (itself if nothing replaced it).
    pub fn final_of(&self, mut g: usize) -> usize {
        let mut steps = 0;
        while let Some(n) = self.next[g] {
            g = n;
            steps += 1;
            if steps > self.next.len() {
                break;
            }
        }
        g
    }

    /// The text a resolver wrote for group `g`, if any.
    pub fn rewritten(&self, g: usize) -> Option<&str> {
        self.rewrite.get(&g).map(|(_, c)| c.as_str())
    }
}

/// Everything the earlier stages decided.
#[derive(Debug, Clone, Copy)]
pub struct Decisions<'a> {
    /// The input memories, sorted by path.
    pub memories: &'a [Memory],
    /// Number of sessions read.
    pub sessions: usize,
    /// Stage 1.
    pub exact: &'a ExactGroups,
    /// Stage 2 groups.
    pub groups: &'a [NearGroup],
    /// Stage 2 pairs the judge kept apart as different facts.
    pub apart: &'a [Apart],
    /// Stage 3 supersessions (group indexes).
    pub settled: &'a [Supersession],
    /// Stage 4.
    pub patterns: &'a [Pattern],
    /// Stages 5 and 6: the questions asked, in the order asked.
    pub resolved: &'a [Resolved],
    /// Token accounting of the plan.
    pub tokens: &'a Tokens,
    /// Open pairs left out of full clusters.
    pub not_asked: usize,
    /// The embedder's model id.
    pub embedder: &'a str,
    /// The resolver asked.
    pub resolver: &'a ResolverId,
    /// The user's instructions to the resolver.
    pub instructions: &'a str,
    /// The options the dream ran with, as the report keeps them.
    pub options: &'a SavedOptions,
}

/// Builds the output memories (sorted by path) and the report.
pub fn apply(d: &Decisions<'_>) -> Result<(Vec<Memory>, Report), DreamError> {
    let n_groups = d.groups.len();
    let rep_input = |g: usize| d.exact.groups[d.groups[g].representative].representative;
    let inputs_of = |g: usize| -> Vec<usize> {
        let mut v: Vec<usize> =
            d.groups[g].members.iter().flat_map(|&e| d.exact.groups[e].members.iter().copied()).collect();
        v.sort_unstable();
        v
    };
    let carriers = Carriers::new(
        n_groups,
        d.settled,
        d.resolved,
        |g| group_path(d.memories, d.exact, d.groups, g),
        |g| d.memories[rep_input(g)].content.as_str(),
    )?;
    let why_superseded = &carriers.why;
    let rewrite = &carriers.rewrite;
    let mut carried: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for g in 0..n_groups {
        carried.entry(carriers.final_of(g)).or_default().push(g);
    }
    // Clusters each group was asked about, and those left unresolved.
    let mut clusters_of: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (k, r) in d.resolved.iter().enumerate() {
        for &g in &r.cluster.groups {
            clusters_of.entry(g).or_default().push(k);
        }
    }
    let unresolved: Vec<(usize, String, String)> = d
        .resolved
        .iter()
        .enumerate()
        .filter_map(|(k, r)| match &r.outcome {
            Outcome::Open(reason) => {
                // A pattern question holds no groups: its own reason says why.
                let why =
                    if r.cluster.groups.is_empty() { r.question.why.clone() } else { r.cluster.why_text() };
                Some((k, r.id().to_owned(), format!("{why}; {}", open_text(reason))))
            }
            _ => None,
        })
        .collect();
    let mut unresolved_cluster: BTreeMap<usize, Vec<&(usize, String, String)>> = BTreeMap::new();
    for u in &unresolved {
        for &g in &d.resolved[u.0].cluster.groups {
            unresolved_cluster.entry(g).or_default().push(u);
        }
    }

    // Why the groups an output memory carries were merged, if they were.
    let merged_reasons = |groups: &[usize]| {
        groups.iter().filter(|&&g| inputs_of(g).len() > 1).map(|&g| merge_reason(d, g)).collect::<Vec<_>>()
    };
    let mut out: Vec<(Memory, MemoryEntry)> = Vec::new();
    for (&carrier, groups) in &carried {
        let own = inputs_of(carrier);
        let mut all: Vec<usize> = groups.iter().flat_map(|&g| inputs_of(g)).collect();
        all.sort_unstable();
        let rep = &d.memories[rep_input(carrier)];
        let evidence: Vec<Excerpt> = groups
            .iter()
            .flat_map(|g| clusters_of.get(g).into_iter().flatten())
            .flat_map(|&k| d.resolved[k].evidence.iter().cloned())
            .collect::<BTreeSet<Excerpt>>()
            .into_iter()
            .collect();
        let (action, reason) = if let Some(list) = unresolved_cluster.get(&carrier) {
            let mut reasons: Vec<String> =
                list.iter().map(|(_, id, why)| format!("left for review in cluster {id}: {why}")).collect();
            if groups.len() > 1 {
                reasons.extend(why_superseded.get(&carrier).cloned().unwrap_or_default());
            }
            reasons.extend(merged_reasons(groups));
            (Action::Unresolved, reasons.join("; "))
        } else if groups.len() > 1 || rewrite.contains_key(&carrier) {
            let mut reasons = why_superseded.get(&carrier).cloned().unwrap_or_default();
            reasons.extend(merged_reasons(groups));
            // An answer that merged same-fact members says so; a stage-3
            // supersession into the same memory still makes it superseded.
            let merged = carriers.action.get(&carrier) == Some(&PartAction::Merged)
                && !carriers.settled_winners.contains(&carrier);
            (if merged { Action::Merged } else { Action::Superseded }, reasons.join("; "))
        } else if own.len() > 1 {
            (Action::Merged, merge_reason(d, carrier))
        } else {
            (Action::Kept, "unchanged".to_owned())
        };
        let memory = if action == Action::Kept || (action == Action::Unresolved && all.len() == 1) {
            rep.clone()
        } else {
            let (path, content) = match rewrite.get(&carrier) {
                Some((p, c)) => (p.clone(), c.clone()),
                None => (output_path(d.memories, &own).clone(), rep.content.clone()),
            };
            let mut metadata: Metadata = rep.metadata.clone();
            let mut sources: BTreeSet<Source> = BTreeSet::new();
            for &i in &all {
                let m = &d.memories[i];
                for (k, v) in &m.metadata {
                    metadata.entry(k.clone()).or_insert_with(|| v.clone());
                }
                sources.insert(Source::Memory { path: m.path.clone(), hash: m.hash });
                sources.extend(m.sources.iter().cloned());
            }
            sources.extend(evidence.iter().cloned().map(Source::Excerpt));
            Memory {
                path,
                hash: ContentHash::of(content.as_bytes()),
                content,
                created_at: all.iter().map(|&i| d.memories[i].created_at).min().unwrap_or_default(),
                updated_at: all.iter().map(|&i| d.memories[i].updated_at).max().unwrap_or_default(),
                metadata,
                sources: sources.into_iter().collect(),
            }
        };
        let entry = MemoryEntry {
            path: memory.path.clone(),
            action,
            sources: all.iter().map(|&i| d.memories[i].path.clone()).collect(),
            reason,
            evidence: evidence.iter().map(evidence_ref).collect(),
        };
        out.push((memory, entry));
    }
    let unresolved: Vec<UnresolvedEntry> = unresolved
        .into_iter()
        .map(|(k, cluster, why)| {
            let mut sources: Vec<MemoryPath> = d.resolved[k]
                .cluster
                .groups
                .iter()
                .flat_map(|g| carried.get(g).into_iter().flatten())
                .flat_map(|&h| inputs_of(h))
                .map(|i| d.memories[i].path.clone())
                .collect();
            sources.sort();
            sources.dedup();
            let r = &d.resolved[k];
            let open = match &r.outcome {
                Outcome::Open(reason) => reason.clone(),
                _ => OpenReason::NoAnswer { resolver: String::new() },
            };
            UnresolvedEntry { cluster, kind: r.question.kind, sources, why, open }
        })
        .collect();
    let mut patterns = add_patterns(d, &mut out);
    patterns.extend(add_answered_patterns(d, &mut out));
    patterns.sort_by(|a, b| a.path.cmp(&b.path));
    out.sort_by(|a, b| a.0.path.cmp(&b.0.path));
    let report = build_report(d, &out, unresolved, patterns)?;
    let memories = out.into_iter().map(|(m, _)| m).collect();
    Ok((memories, report))
}

fn evidence_ref(e: &Excerpt) -> EvidenceRef {
    EvidenceRef { session: e.session.to_string(), turns: [e.start, e.end] }
}

/// The earliest-created input (then the shortest path, then the first).
fn output_path<'m>(memories: &'m [Memory], own: &[usize]) -> &'m MemoryPath {
    let best = own
        .iter()
        .copied()
        .min_by(|&a, &b| {
            let (ma, mb) = (&memories[a], &memories[b]);
            ma.created_at
                .cmp(&mb.created_at)
                .then(ma.path.as_str().len().cmp(&mb.path.as_str().len()))
                .then(ma.path.cmp(&mb.path))
        })
        .expect("a group has at least one member");
    &memories[best].path
}

fn merge_reason(d: &Decisions<'_>, g: usize) -> String {
    let group = &d.groups[g];
    let rep_path = &d.memories[d.exact.groups[group.representative].representative].path;
    let mut parts = BTreeSet::new();
    for &e in &group.members {
        if d.exact.groups[e].members.len() > 1 {
            parts.insert("exact copies (same text up to case, spacing and Markdown)".to_owned());
        }
        if e == group.representative {
            continue;
        }
        let other = &d.memories[d.exact.groups[e].representative].path;
        if group.contained.contains(&e) {
            parts.insert(format!("{rep_path} states every fact of {other} word for word, and more"));
        } else if let Some((_, p)) = group.judged.iter().find(|(m, _)| *m == e) {
            parts.insert(format!(
                "{other} says the same as {rep_path} in other words (judge: same, p = {p:.4})"
            ));
        } else {
            parts.insert(format!("{other} states the same facts as {rep_path}, differing only in wording that does not change meaning"));
        }
    }
    format!("merged: {}", parts.into_iter().collect::<Vec<_>>().join("; "))
}

/// Why an open question is open, for the report's `why`.
fn open_text(reason: &OpenReason) -> String {
    match reason {
        OpenReason::Declined { reason } => reason.clone(),
        other => other.to_string(),
    }
}

fn build_report(
    d: &Decisions<'_>,
    out: &[(Memory, MemoryEntry)],
    unresolved: Vec<UnresolvedEntry>,
    patterns: Vec<PatternEntry>,
) -> Result<Report, DreamError> {
    let output_paths: BTreeSet<&MemoryPath> = out.iter().map(|(m, _)| &m.path).collect();
    let mut carrier_of: BTreeMap<&MemoryPath, &MemoryEntry> = BTreeMap::new();
    for (_, entry) in out {
        for src in &entry.sources {
            if carrier_of.insert(src, entry).is_some() {
                return Err(DreamError::Invariant(format!("{src} is a source of two output memories")));
            }
        }
    }
    let mut dropped = Vec::new();
    for m in d.memories {
        let carrier = carrier_of.get(&m.path);
        if carrier.is_none() {
            return Err(DreamError::Invariant(format!("{} is carried by no output memory", m.path)));
        }
        if !output_paths.contains(&m.path) {
            let into = carrier.map(|e| e.path.clone());
            let reason = carrier.map_or_else(|| "no output carries it".to_owned(), |e| e.reason.clone());
            dropped.push(DroppedEntry { path: m.path.clone(), into, reason });
        }
    }
    let output: Vec<Memory> = out.iter().map(|(m, _)| m.clone()).collect();
    Ok(Report {
        format: REPORT_FORMAT,
        input: InputSummary {
            store_hash: memories_hash(d.memories),
            memories: d.memories.len(),
            sessions: d.sessions,
        },
        output: OutputSummary { store_hash: memories_hash(&output), memories: output.len() },
        embedder: d.embedder.to_owned(),
        resolver: d.resolver.clone(),
        instructions: d.instructions.to_owned(),
        options: d.options.clone(),
        memories: out.iter().map(|(_, e)| e.clone()).collect(),
        dropped,
        patterns,
        unresolved,
        not_asked: d.not_asked,
        judged: judged_pairs(d),
        tokens: d.tokens.clone(),
    })
}

/// The pairs the judge settled, most doubtful first (ties by paths).
fn judged_pairs(d: &Decisions<'_>) -> Vec<JudgedPair> {
    let path = |e: usize| d.memories[d.exact.groups[e].representative].path.clone();
    let mut out: Vec<JudgedPair> = d
        .groups
        .iter()
        .flat_map(|g| {
            g.judged.iter().map(|&(m, probability)| JudgedPair {
                a: path(g.representative),
                b: path(m),
                verdict: PairVerdict::Same,
                probability,
            })
        })
        .chain(d.apart.iter().map(|x| JudgedPair {
            a: path(x.a),
            b: path(x.b),
            verdict: PairVerdict::Different,
            probability: x.probability,
        }))
        .collect();
    out.sort_by(|x, y| x.probability.total_cmp(&y.probability).then(x.a.cmp(&y.a)).then(x.b.cmp(&y.b)));
    out
}

#[cfg(test)]
#[path = "apply_tests.rs"]
mod tests;
