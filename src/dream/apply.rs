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
use super::near::{NearGroup, Relation, Side, compare};
use super::normalize::Analysed;
use super::patterns::Pattern;
use crate::memory::{ContentHash, Memory, MemoryPath, Metadata, Source, Timestamp};
use crate::report::{
    Action, DroppedEntry, EvidenceRef, InputSummary, MemoryEntry, OutputSummary, PatternEntry, PatternKind,
    REPORT_FORMAT, Report, Tokens, UnresolvedEntry, memories_hash,
};
use crate::resolve::{Answer, Decision, Question};
use crate::session::Excerpt;

/// A cluster put to the resolver, with its question, the excerpts it cites
/// and the answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The groups of the cluster (stage-2 indexes).
    pub cluster: OpenCluster,
    /// The question asked.
    pub question: Question,
    /// The excerpts the question cites.
    pub evidence: Vec<Excerpt>,
    /// The answer given.
    pub answer: Answer,
}

impl Resolved {
    /// The cluster's id in the report: `c-` and the start of its question key.
    pub fn id(&self) -> String {
        format!("c-{}", &self.question.key().to_hex()[..12])
    }
}

/// Who carries whom after stage 3 and the answers so far.
#[derive(Debug, Clone, Default)]
pub struct Carriers {
    next: Vec<Option<usize>>,
    why: BTreeMap<usize, Vec<String>>,
    rewrite: BTreeMap<usize, (MemoryPath, String)>,
}

impl Carriers {
    /// Applies stage 3's supersessions and the answers of `resolved` (in
    /// order) to `n` groups; `path_of(g)` is the path of group `g`'s text.
    pub fn new<'p>(
        n: usize,
        settled: &[Supersession],
        resolved: &[Resolved],
        path_of: impl Fn(usize) -> &'p MemoryPath,
    ) -> Result<Self, DreamError> {
        let mut c = Carriers { next: vec![None; n], ..Carriers::default() };
        for s in settled {
            c.next[s.loser] = Some(s.winner);
            c.why.entry(s.winner).or_default().push(s.reason.clone());
        }
        for r in resolved {
            let (Decision::Keep { path } | Decision::Rewrite { path, .. }) = &r.answer.decision else {
                continue;
            };
            let winner = r.cluster.groups.iter().copied().find(|&g| path_of(g) == path).ok_or_else(|| {
                DreamError::Invariant(format!("answer keeps {path}, which is not in its cluster"))
            })?;
            for &g in r.cluster.groups.iter().filter(|&&g| g != winner) {
                c.next[g] = Some(winner);
            }
            c.why.entry(winner).or_default().push(r.answer.reason.clone());
            if let Decision::Rewrite { content, .. } = &r.answer.decision {
                c.rewrite.insert(winner, (path.clone(), content.clone()));
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
    /// Analysed text of each stage-1 group's representative.
    pub analysed: &'a [Analysed],
    /// Stage 2 groups.
    pub groups: &'a [NearGroup],
    /// Stage 3 supersessions (group indexes).
    pub settled: &'a [Supersession],
    /// Stage 4.
    pub patterns: &'a [Pattern],
    /// Stages 5 and 6: the clusters asked about, in the order answered.
    pub resolved: &'a [Resolved],
    /// Token accounting of the plan.
    pub tokens: &'a Tokens,
    /// The embedder's model id.
    pub embedder: &'a str,
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
    let carriers = Carriers::new(n_groups, d.settled, d.resolved, |g| &d.memories[rep_input(g)].path)?;
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
        .filter(|(_, r)| r.answer.decision == Decision::Unresolved)
        .map(|(k, r)| (k, r.id(), format!("{}; {}", r.cluster.why, r.answer.reason)))
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
            (Action::Superseded, reasons.join("; "))
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
            UnresolvedEntry { cluster, sources, why }
        })
        .collect();
    add_patterns(d, &mut out);
    out.sort_by(|a, b| a.0.path.cmp(&b.0.path));
    let report = build_report(d, &out, unresolved)?;
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
        match compare(&d.analysed[group.representative], &d.analysed[e]) {
            Relation::Subsumes { wider: Side::A } => {
                parts.insert(format!("{rep_path} says all that {other} says, and more"));
            }
            _ => {
                parts.insert(format!("{other} states the same fact as {rep_path} in other words"));
            }
        }
    }
    format!("merged: {}", parts.into_iter().collect::<Vec<_>>().join("; "))
}

fn add_patterns(d: &Decisions<'_>, out: &mut Vec<(Memory, MemoryEntry)>) {
    let fallback = d.memories.iter().map(|m| m.updated_at).max().unwrap_or(Timestamp(0));
    for p in d.patterns {
        let dir = match p.kind {
            PatternKind::RecurringMistake => "mistakes",
            PatternKind::SharedPreference => "preferences",
        };
        let mut absorbed = None;
        let mut path = None;
        for n in 1.. {
            let name = if n == 1 {
                format!("/patterns/{dir}/{}.md", p.slug)
            } else {
                format!("/patterns/{dir}/{}-{n}.md", p.slug)
            };
            let Ok(candidate) = MemoryPath::new(&name) else { break };
            match out.iter().position(|(m, _)| m.path == candidate) {
                None => {
                    path = Some(candidate);
                    break;
                }
                // A pattern from an earlier dream at the same path, kept as it
                // was: the new one replaces it and names it as a source.
                Some(i) if out[i].1.action == Action::Kept && out[i].1.reason == "unchanged" => {
                    absorbed = Some(out.remove(i));
                    path = Some(candidate);
                    break;
                }
                Some(_) => {}
            }
        }
        let Some(path) = path else { continue };
        let mut sources: BTreeSet<Source> = p.evidence.iter().cloned().map(Source::Excerpt).collect();
        let mut input_paths = Vec::new();
        if let Some((old, entry)) = &absorbed {
            sources.insert(Source::Memory { path: old.path.clone(), hash: old.hash });
            input_paths.extend(entry.sources.iter().cloned());
        }
        let memory = Memory {
            path: path.clone(),
            hash: ContentHash::of(p.body.as_bytes()),
            content: p.body.clone(),
            created_at: p.first_at.unwrap_or(fallback),
            updated_at: p.last_at.unwrap_or(fallback),
            metadata: Metadata::new(),
            sources: sources.into_iter().collect(),
        };
        let reason = match p.kind {
            PatternKind::RecurringMistake => {
                format!("recurring mistake seen in {} sessions", p.sessions.len())
            }
            PatternKind::SharedPreference => {
                format!("preference shared across {} sessions", p.sessions.len())
            }
        };
        let entry = MemoryEntry {
            path,
            action: Action::Pattern,
            sources: input_paths,
            reason,
            evidence: p.evidence.iter().map(evidence_ref).collect(),
        };
        out.push((memory, entry));
    }
}

fn build_report(
    d: &Decisions<'_>,
    out: &[(Memory, MemoryEntry)],
    unresolved: Vec<UnresolvedEntry>,
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
    let patterns = out
        .iter()
        .filter(|(_, e)| e.action == Action::Pattern)
        .filter_map(|(m, _)| {
            d.patterns.iter().find(|p| p.body == m.content).map(|p| PatternEntry {
                kind: p.kind,
                path: m.path.clone(),
                sessions: p.session_names.clone(),
                session_hashes: p.sessions.iter().map(ToString::to_string).collect(),
                support: p.sessions.len(),
            })
        })
        .collect();
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
        memories: out.iter().map(|(_, e)| e.clone()).collect(),
        dropped,
        patterns,
        unresolved,
        tokens: d.tokens.clone(),
    })
}
