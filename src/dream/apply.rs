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
use super::plan::Plan;
use crate::memory::{ContentHash, Memory, MemoryPath, Metadata, Source, Timestamp};
use crate::report::{
    Action, DroppedEntry, EvidenceRef, InputSummary, MemoryEntry, OutputSummary, PatternEntry, PatternKind,
    REPORT_FORMAT, Report, Tokens, UnresolvedEntry, memories_hash,
};
use crate::resolve::{Answer, Decision};
use crate::session::Excerpt;

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
    /// Stage 3 open clusters (group indexes), one per question.
    pub open: &'a [OpenCluster],
    /// Stage 4.
    pub patterns: &'a [Pattern],
    /// Stage 5.
    pub plan: &'a Plan,
    /// Stage 6: one answer per question.
    pub answers: &'a [Answer],
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
    // Who carries whom, and why.
    let mut next: Vec<Option<usize>> = vec![None; n_groups];
    let mut why_superseded: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    for s in d.settled {
        next[s.loser] = Some(s.winner);
        why_superseded.entry(s.winner).or_default().push(s.reason.clone());
    }
    let mut rewrite: BTreeMap<usize, (MemoryPath, String)> = BTreeMap::new();
    let mut cluster_of: BTreeMap<usize, usize> = BTreeMap::new();
    let mut unresolved = Vec::new();
    for (k, (cluster, answer)) in d.open.iter().zip(d.answers).enumerate() {
        let member_path = |path: &MemoryPath| {
            cluster.groups.iter().copied().find(|&g| &d.memories[rep_input(g)].path == path)
        };
        match &answer.decision {
            Decision::Keep { path } | Decision::Rewrite { path, .. } => {
                let winner = member_path(path).ok_or_else(|| {
                    DreamError::Invariant(format!("answer keeps {path}, which is not in its cluster"))
                })?;
                for &g in cluster.groups.iter().filter(|&&g| g != winner) {
                    next[g] = Some(winner);
                }
                why_superseded.entry(winner).or_default().push(answer.reason.clone());
                if let Decision::Rewrite { content, .. } = &answer.decision {
                    rewrite.insert(winner, (path.clone(), content.clone()));
                }
                for &g in &cluster.groups {
                    cluster_of.insert(g, k);
                }
            }
            Decision::Unresolved => {
                for &g in &cluster.groups {
                    cluster_of.insert(g, k);
                }
                let id = format!("c-{}", &d.plan.questions[k].key().to_hex()[..12]);
                unresolved.push((k, id, format!("{}; {}", cluster.why, answer.reason)));
            }
        }
    }
    let final_of = |mut g: usize| {
        let mut steps = 0;
        while let Some(n) = next[g] {
            g = n;
            steps += 1;
            if steps > n_groups {
                break;
            }
        }
        g
    };
    let mut carried: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for g in 0..n_groups {
        carried.entry(final_of(g)).or_default().push(g);
    }
    let unresolved_cluster: BTreeMap<usize, &(usize, String, String)> =
        unresolved.iter().flat_map(|u| d.open[u.0].groups.iter().map(move |&g| (g, u))).collect();

    let mut out: Vec<(Memory, MemoryEntry)> = Vec::new();
    for (&carrier, groups) in &carried {
        let own = inputs_of(carrier);
        let mut all: Vec<usize> = groups.iter().flat_map(|&g| inputs_of(g)).collect();
        all.sort_unstable();
        let rep = &d.memories[rep_input(carrier)];
        let evidence: Vec<Excerpt> =
            cluster_of.get(&carrier).map(|&k| d.plan.evidence[k].clone()).unwrap_or_default();
        let (action, reason) = if let Some((_, id, why)) = unresolved_cluster.get(&carrier) {
            let mut reasons = vec![format!("left for review in cluster {id}: {why}")];
            if groups.len() > 1 {
                reasons.extend(why_superseded.get(&carrier).cloned().unwrap_or_default());
            }
            if own.len() > 1 {
                reasons.push(merge_reason(d, carrier));
            }
            (Action::Unresolved, reasons.join("; "))
        } else if groups.len() > 1 || rewrite.contains_key(&carrier) {
            let mut reasons = why_superseded.get(&carrier).cloned().unwrap_or_default();
            if own.len() > 1 {
                reasons.push(merge_reason(d, carrier));
            }
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
            let mut sources: Vec<MemoryPath> = d.open[k]
                .groups
                .iter()
                .flat_map(|g| carried.get(g).into_iter().flatten())
                .flat_map(|&h| inputs_of(h))
                .map(|i| d.memories[i].path.clone())
                .collect();
            sources.sort();
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
                sessions: p.sessions.iter().map(ToString::to_string).collect(),
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
        tokens: Tokens {
            tokenizer: super::plan::TOKENIZER.to_owned(),
            naive: d.plan.naive,
            sent: d.plan.sent,
        },
    })
}
