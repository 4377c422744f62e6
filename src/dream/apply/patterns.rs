//! Pattern memories in the output: those the resolver answered and those
//! the device settled, each at a free path.

use std::collections::BTreeSet;

use super::{Decisions, evidence_ref};
use crate::memory::{ContentHash, Memory, MemoryPath, Metadata, Source, Timestamp};
use crate::report::{Action, MemoryEntry, PatternEntry, PatternKind};
use crate::resolve::{NewPattern, Outcome};
use crate::session::{Excerpt, SessionId};

/// The first of `path`, `path-2`, `path-3`… (before the extension) that no
/// output memory has yet.
pub(super) fn free_path(out: &[(Memory, MemoryEntry)], path: &MemoryPath) -> Option<MemoryPath> {
    let raw = path.as_str();
    let (stem, ext) = match raw.rfind('.') {
        Some(i) if i > raw.rfind('/').unwrap_or(0) + 1 => raw.split_at(i),
        _ => (raw, ""),
    };
    (1..=out.len() + 1).find_map(|n| {
        let candidate =
            if n == 1 { path.clone() } else { MemoryPath::new(&format!("{stem}-{n}{ext}")).ok()? };
        (!out.iter().any(|(m, _)| m.path == candidate)).then_some(candidate)
    })
}

/// The output memory that carries input memory `input`: the one standing
/// for it, else the one at its path.
fn carrier(out: &[(Memory, MemoryEntry)], input: &MemoryPath) -> Option<MemoryPath> {
    out.iter()
        .find(|(_, e)| e.sources.contains(input))
        .or_else(|| out.iter().find(|(m, _)| m.path == *input))
        .map(|(m, _)| m.path.clone())
}

/// The patterns resolvers found: one memory each, citing the excerpts of the
/// sessions the answer names; one an answer says a memory of the store
/// states cites that memory (as carried into the output) instead.
pub(super) fn add_answered_patterns(
    d: &Decisions<'_>,
    out: &mut Vec<(Memory, MemoryEntry)>,
) -> Vec<PatternEntry> {
    let fallback = d.memories.iter().map(|m| m.updated_at).max().unwrap_or(Timestamp(0));
    let mut entries = Vec::new();
    let answered = d.resolved.iter().flat_map(|r| match &r.outcome {
        Outcome::Patterns(found) => found.iter().map(|p| (r, p)).collect(),
        _ => Vec::new(),
    });
    for (r, NewPattern { path, content, stated, kind, sessions }) in answered {
        let ids: BTreeSet<SessionId> = sessions.iter().filter_map(|s| r.sessions.get(s).copied()).collect();
        let names = || -> Vec<String> {
            ids.iter()
                .map(|id| {
                    let name = r.sessions.iter().find(|(_, v)| *v == id).map(|(name, _)| name.clone());
                    name.unwrap_or_else(|| id.to_string())
                })
                .collect()
        };
        let entry_at = |path: MemoryPath, stated: bool| PatternEntry {
            kind: *kind,
            path,
            sessions: names(),
            session_hashes: ids.iter().map(ToString::to_string).collect(),
            support: ids.len(),
            stated,
        };
        let cited = if *stated { carrier(out, path) } else { None };
        if let Some(path) = cited {
            entries.push(entry_at(path, true));
            continue;
        }
        let Some(path) = free_path(out, path) else { continue };
        let evidence: Vec<Excerpt> =
            r.evidence.iter().filter(|e| ids.contains(&e.session)).cloned().collect();
        let times: Vec<Timestamp> = r
            .question
            .excerpts
            .iter()
            .filter(|e| sessions.contains(&e.session))
            .filter_map(|e| e.at)
            .collect();
        let memory = Memory {
            path: path.clone(),
            hash: ContentHash::of(content.as_bytes()),
            content: content.clone(),
            created_at: times.iter().min().copied().unwrap_or(fallback),
            updated_at: times.iter().max().copied().unwrap_or(fallback),
            metadata: Metadata::new(),
            sources: evidence.iter().cloned().map(Source::Excerpt).collect(),
        };
        let what = match kind {
            PatternKind::RecurringMistake => "recurring mistake",
            PatternKind::SharedPreference => "shared preference",
        };
        let entry = MemoryEntry {
            path: path.clone(),
            action: Action::Pattern,
            sources: Vec::new(),
            reason: format!(
                "{what} across {} sessions, found by the resolver in {}: {}",
                ids.len(),
                r.id(),
                r.reason
            ),
            evidence: evidence.iter().map(evidence_ref).collect(),
        };
        out.push((memory, entry));
        entries.push(entry_at(path, false));
    }
    entries
}

/// Whether `m` is an input memory carried over byte for byte.
pub(super) fn kept_as_input(inputs: &[Memory], m: &Memory) -> bool {
    inputs.binary_search_by(|x| x.path.cmp(&m.path)).is_ok_and(|i| inputs[i] == *m)
}

/// The patterns the device found (stage 4): one memory each, or, for one
/// a memory of the store states, that memory cited.
pub(super) fn add_patterns(d: &Decisions<'_>, out: &mut Vec<(Memory, MemoryEntry)>) -> Vec<PatternEntry> {
    let mut entries = Vec::new();
    let fallback = d.memories.iter().map(|m| m.updated_at).max().unwrap_or(Timestamp(0));
    for p in d.patterns {
        if let Some(path) = p.stated_by.as_ref().and_then(|s| carrier(out, s)) {
            entries.push(PatternEntry {
                kind: p.kind,
                path,
                sessions: p.session_names.clone(),
                session_hashes: p.sessions.iter().map(ToString::to_string).collect(),
                support: p.sessions.len(),
                stated: true,
            });
            continue;
        }
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
                Some(i) if out[i].1.action == Action::Kept && kept_as_input(d.memories, &out[i].0) => {
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
            path: path.clone(),
            action: Action::Pattern,
            sources: input_paths,
            reason,
            evidence: p.evidence.iter().map(evidence_ref).collect(),
        };
        out.push((memory, entry));
        entries.push(PatternEntry {
            kind: p.kind,
            path,
            sessions: p.session_names.clone(),
            session_hashes: p.sessions.iter().map(ToString::to_string).collect(),
            support: p.sessions.len(),
            stated: false,
        });
    }
    entries
}
