//! Stage 4: patterns from sessions — recurring mistakes and shared
//! preferences.
//!
//! - [`statements`]: which user words are candidates, generously: every
//!   user turn that directs the agent after it acted ("no, …", "please …",
//!   "we … here", any instruction), and the standing rules of an opening
//!   request; never thanks, praise or chit-chat.
//! - [`incidents`]: per session, tool failures (tool, masked error
//!   signature, the failing call, what worked next) joined with the
//!   directives that answer them, so that a failure and its correction are
//!   **one** occurrence.
//! - `group`: occurrences of all sessions grouped by *certain* links (the
//!   same error signature, the same fix, the same words) and by meaning
//!   (the embedder's cosine, average linkage), so that two groups about
//!   one thing are one group before anything is written.
//! - `write`: the memory a pattern becomes: the rule as an instruction,
//!   then what happened and the evidence (sessions by their own ids, who,
//!   when).
//! - [`cite`]: memories of the store that state, or may state, a pattern's
//!   rule: one that states it for certain is cited instead of writing the
//!   pattern again ([`Pattern::stated_by`]); ones that only may are the
//!   members of its `pattern` question, which an answer may cite.
//!
//! A group is a pattern candidate when it is seen in at least
//! `min_sessions` sessions and, unless a tool failed in it or its words
//! correct the agent, in the words of two people (known authors; a session
//! whose speaker is unknown counts as one). A group its certain links alone
//! make is a [`Pattern`], settled on the device; any other group becomes
//! **one** [`OpenPattern`] — a `pattern` question with its excerpts
//! and the device's draft — whatever the number of pairs in it.
//!
//! Promises: a one-off failure or remark is never a pattern nor asked
//! about; thanks and chit-chat are never candidates; the result depends
//! only on the sessions' contents, not on their order (they are taken in
//! id order, repeats ignored) nor on the thread count.

pub mod cite;
mod group;
pub mod incidents;
pub mod statements;
mod write;

use std::collections::{BTreeMap, BTreeSet};

use rayon::prelude::*;

use crate::embed::{EmbedError, Embedder, cosine};
use crate::memory::{MemoryPath, Timestamp};
use crate::report::PatternKind;
use crate::resolve::{PatternDraft, QuestionMemory};
use crate::session::{Excerpt, Session, SessionId};
use crate::text::{Lexicon, plain_words};
use cite::{Known, Stating};
use group::PatternThresholds;
use incidents::Incident;
use statements::clip;
use write::{Cited, Draft};

/// Most excerpts a pattern cites.
pub const MAX_PATTERN_EVIDENCE: usize = 8;
/// Most occurrences a candidate quotes (one per session first), so that a
/// group holding two patterns still shows each from two sessions.
pub const MAX_CANDIDATE_OCCURRENCES: usize = 12;
/// Most occurrences one group holds.
const MAX_GROUP: usize = 16;
/// Texts per embedding batch.
const EMBED_BATCH: usize = 256;

/// A pattern found in the sessions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    /// Its kind.
    pub kind: PatternKind,
    /// A path-safe name for it (the memory's file name without extension).
    pub slug: String,
    /// The memory text: the rule, what happened, the evidence.
    pub body: String,
    /// Distinct sessions supporting it, ascending.
    pub sessions: Vec<SessionId>,
    /// The same sessions as a person knows them ([`Session::display_id`]), in the same order.
    pub session_names: Vec<String>,
    /// Cited excerpts, sorted, at most [`MAX_PATTERN_EVIDENCE`].
    pub evidence: Vec<Excerpt>,
    /// Earliest timestamp among the occurrences, if any is known.
    pub first_at: Option<Timestamp>,
    /// Latest timestamp among the occurrences, if any is known.
    pub last_at: Option<Timestamp>,
    /// The memory of the store that already states its rule for certain
    /// (see [`cite`]): cited, and no pattern memory written.
    pub stated_by: Option<MemoryPath>,
}

/// Occurrences that may be one recurring mistake or one shared preference,
/// which the device could not prove one (different error texts, different
/// words, different people). The dream asks a resolver about it as one
/// `pattern` question.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenPattern {
    /// What it would be.
    pub kind: PatternKind,
    /// Why it is open: what links the occurrences and what is missing.
    pub why: String,
    /// The occurrences, in session id then turn order, at most [`MAX_CANDIDATE_OCCURRENCES`].
    pub occurrences: Vec<CandidateOccurrence>,
    /// The memory the device proposes: the rule, what happened, the evidence.
    pub draft: PatternDraft,
    /// Memories of the store that may already state its rule (see
    /// [`cite`]), sorted by path: the question's members.
    pub stating: Vec<QuestionMemory>,
}

impl OpenPattern {
    /// What the planner makes a `pattern` question of
    /// ([`plan::pattern_questions`](super::plan::pattern_questions)): the
    /// reason, the occurrences' excerpts, which the question quotes with
    /// the sessions' own ids, and the draft.
    pub fn to_plan(&self) -> super::plan::PatternCandidate {
        super::plan::PatternCandidate {
            why: self.why.clone(),
            occurrences: self.occurrences.iter().map(|o| o.excerpt.clone()).collect(),
            draft: Some(self.draft.clone()),
            members: self.stating.clone(),
        }
    }
}

/// One occurrence of a [`OpenPattern`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CandidateOccurrence {
    /// The turns it spans.
    pub excerpt: Excerpt,
    /// The session as a person knows it ([`Session::display_id`]).
    pub session: String,
    /// What happened, in one or two lines: the failing call and its error,
    /// what the user said.
    pub text: String,
    /// When, where known.
    pub at: Option<Timestamp>,
}

/// What stage 4 found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Found {
    /// Patterns proved on the device, mistakes first, each kind in order of
    /// their first occurrence.
    pub patterns: Vec<Pattern>,
    /// Groups the device could not prove, one question each.
    pub candidates: Vec<OpenPattern>,
}

/// An occurrence: an incident, its session, and who was there.
struct Occ {
    session: usize,
    incident: Incident,
    /// Who said its words; the session's person when the turns do not tell.
    people: BTreeSet<String>,
}

/// Finds the patterns of `sessions` (any order) that recur in at least
/// `min_sessions` sessions (at least 2), using `embedder` (with its
/// calibrated `thresholds`) to compare meaning and `lexicon` to read what
/// users say; `known` are the store's memories, whose vectors are the
/// embedder's, that a pattern's rule may already be stated by (see the `cite` module).
pub fn find(
    sessions: &[Session],
    known: &[Known<'_>],
    embedder: &dyn Embedder,
    thresholds: &super::Thresholds,
    lexicon: &Lexicon,
    min_sessions: usize,
) -> Result<Found, EmbedError> {
    let min_sessions = min_sessions.max(2);
    let mut sessions: Vec<&Session> = sessions.iter().collect();
    sessions.sort_by_key(|s| s.id);
    sessions.dedup_by_key(|s| s.id);
    let persons = persons(&sessions);
    let read: Vec<Vec<Incident>> = sessions.par_iter().map(|s| incidents::read(s, lexicon)).collect();
    let mut occs: Vec<Occ> = Vec::new();
    for (si, found) in read.into_iter().enumerate() {
        for incident in found {
            let mut people: BTreeSet<String> =
                incident.said.iter().filter_map(|s| s.author.clone()).collect();
            if people.is_empty()
                && let Some(p) = &persons[si]
            {
                people.insert(p.clone());
            }
            occs.push(Occ { session: si, incident, people });
        }
    }

    // Every text compared by meaning, embedded once.
    let texts_of: Vec<Vec<String>> = occs.iter().map(|o| texts(&o.incident)).collect();
    let all: BTreeSet<&str> = texts_of.iter().flatten().map(String::as_str).collect();
    let all: Vec<&str> = all.into_iter().collect();
    let vectors = embed(embedder, &all)?;
    let index_of: Vec<Vec<usize>> = texts_of
        .iter()
        .map(|ts| ts.iter().filter_map(|t| all.binary_search(&t.as_str()).ok()).collect())
        .collect();
    let n = occs.len();
    let certain: Vec<(usize, usize)> = (0..n)
        .into_par_iter()
        .flat_map_iter(|a| {
            let occs = &occs;
            (a + 1..n)
                .filter(move |&b| group::certain(&occs[a].incident, &occs[b].incident))
                .map(move |b| (a, b))
        })
        .collect();
    let similarity = |a: usize, b: usize| -> f32 {
        let mut best = f32::MIN;
        for &x in &index_of[a] {
            for &y in &index_of[b] {
                best = best.max(cosine(&vectors[x], &vectors[y]));
            }
        }
        best
    };
    let similar: Vec<(usize, usize, f32)> =
        (0..n).into_par_iter().flat_map_iter(|a| (a + 1..n).map(move |b| (a, b, similarity(a, b)))).collect();
    let certain_set: BTreeSet<(usize, usize)> = certain.iter().copied().collect();
    let sim = |a: usize, b: usize| {
        if certain_set.contains(&(a.min(b), a.max(b))) { 1.0 } else { similarity(a, b) }
    };
    let t = PatternThresholds { link: thresholds.pattern_link, join: thresholds.pattern_join };
    let groups = group::groups(n, &certain, &similar, &sim, t, MAX_GROUP);
    // The certain sets inside each group.
    let cores = group::groups(n, &certain, &[], &sim, t, n.max(1));

    let reader = Reader { sessions: &sessions, occs: &occs, lexicon, min_sessions, sim: &sim };
    let qualified: Vec<(&Vec<usize>, Draft)> =
        groups.iter().filter_map(|g| reader.draft(g).map(|d| (g, d))).collect();
    // The rules, embedded once, to compare with the store's memories.
    let rules: Vec<&str> = qualified.iter().map(|(_, d)| rule_of(&d.body)).collect();
    let rule_vectors = if known.is_empty() { Vec::new() } else { embed(embedder, &rules)? };
    let mut found = Found::default();
    for (k, (g, draft)) in qualified.iter().enumerate() {
        let stating = match rule_vectors.get(k) {
            Some(rule) => {
                let mut compared: Vec<(&str, &[f32])> = vec![(rules[k], rule.as_slice())];
                for &i in g.iter() {
                    compared.extend(index_of[i].iter().map(|&x| (all[x], vectors[x].as_slice())));
                }
                cite::stating(&compared, known, t.link, lexicon)
            }
            None => Stating::default(),
        };
        // Proved on the device: a group its certain links alone make,
        // whose rule the store states for certain or not at all. A group
        // holding more than that is asked whole, so that one pattern is
        // written for it, not two; one the store may state is asked with
        // the memories that may.
        let proved = cores.iter().any(|c| c == *g);
        let done = match (proved, stating.certain) {
            (true, Some(m)) => Ok(reader.pattern(g, draft, Some(known[m].memory.path.clone()))),
            (true, None) if stating.maybe.is_empty() => Ok(reader.pattern(g, draft, None)),
            _ => Err(reader.candidate(g, draft, proved, stating.maybe.iter().map(|&m| known[m].memory))),
        };
        match done {
            Ok(p) => found.patterns.push(p),
            Err(Some(c)) => found.candidates.push(c),
            Err(None) => {}
        }
    }
    found.patterns.sort_by(|a, b| {
        let kind = |k: PatternKind| k != PatternKind::RecurringMistake;
        kind(a.kind).cmp(&kind(b.kind)).then(a.first_at.cmp(&b.first_at)).then(a.slug.cmp(&b.slug))
    });
    Ok(found)
}

/// Most clauses of one directive compared on their own.
const MAX_CLAUSES: usize = 6;

/// The texts of an incident compared by meaning: what was said, each of
/// its clauses of three words or more when it has several (a rule is often
/// one clause of a longer turn: "smaller PRs pls. just the profile flag in
/// this one"), and the failing call with its masked error.
fn texts(i: &Incident) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in &i.said {
        out.push(s.text.clone());
        let clauses = statements::clauses(&s.text);
        if clauses.len() > 1 {
            out.extend(clauses.into_iter().filter(|c| plain_words(c).len() >= 3).take(MAX_CLAUSES));
        }
    }
    if let Some(f) = &i.failure {
        let call = f.call.as_deref().map(command_of).unwrap_or_else(|| f.tool.clone());
        out.push(format!("{} failed: {}", clip(&call, 120), f.signature));
    }
    out
}

/// The command of a shell call's input, else the input.
fn command_of(input: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(input) {
        Ok(serde_json::Value::Object(o)) => match o.get("command").and_then(|c| c.as_str()) {
            Some(c) => c.to_owned(),
            None => input.to_owned(),
        },
        _ => input.to_owned(),
    }
}

/// The rule of a pattern memory: its first line, without the heading mark.
fn rule_of(body: &str) -> &str {
    body.lines().next().unwrap_or_default().trim_start_matches('#').trim()
}

/// The person each session belongs to, from its working directory
/// (`/home/NAME/…`, `/Users/NAME/…`), when the sessions name at least two
/// people that way: a home that every session shares tells nothing.
fn persons(sessions: &[&Session]) -> Vec<Option<String>> {
    let of = |s: &Session| {
        let cwd = s.cwd.as_deref()?;
        let rest = cwd.strip_prefix("/home/").or_else(|| cwd.strip_prefix("/Users/"))?;
        let name = rest.split('/').next()?;
        (!name.is_empty()).then(|| name.to_owned())
    };
    let found: Vec<Option<String>> = sessions.iter().map(|s| of(s)).collect();
    let distinct: BTreeSet<&String> = found.iter().flatten().collect();
    if distinct.len() >= 2 { found } else { vec![None; sessions.len()] }
}

fn embed(embedder: &dyn Embedder, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
    let mut out = Vec::with_capacity(texts.len());
    for chunk in texts.chunks(EMBED_BATCH) {
        let got = embedder.embed(chunk)?;
        if got.len() != chunk.len() || got.iter().any(|v| v.len() != embedder.dimension()) {
            return Err(EmbedError::Backend(format!(
                "{} returned {} vectors for {} pattern texts, or vectors of the wrong length",
                embedder.model_id(),
                got.len(),
                chunk.len()
            )));
        }
        out.extend(got);
    }
    Ok(out)
}

/// What turns a group of occurrences into a pattern or a question.
struct Reader<'a> {
    sessions: &'a [&'a Session],
    occs: &'a [Occ],
    lexicon: &'a Lexicon,
    min_sessions: usize,
    sim: &'a dyn Fn(usize, usize) -> f32,
}

impl Reader<'_> {
    /// The kind the group would be, if it is seen often enough and (unless
    /// a tool failed in it or it corrects the agent) by two people.
    fn qualifies(&self, g: &[usize]) -> Option<PatternKind> {
        let sessions: BTreeSet<usize> = g.iter().map(|&i| self.occs[i].session).collect();
        if sessions.len() < self.min_sessions {
            return None;
        }
        let kind = self.kind(g);
        if kind == PatternKind::RecurringMistake && g.iter().any(|&i| self.occs[i].incident.failure.is_some())
        {
            return Some(kind);
        }
        let people: BTreeSet<&str> =
            g.iter().flat_map(|&i| self.occs[i].people.iter().map(String::as_str)).collect();
        let unknown: BTreeSet<usize> =
            g.iter().filter(|&&i| self.occs[i].people.is_empty()).map(|&i| self.occs[i].session).collect();
        (people.len() + unknown.len() >= 2).then_some(kind)
    }

    /// A mistake when a tool failed or most of what was said corrects the
    /// agent; else a preference.
    fn kind(&self, g: &[usize]) -> PatternKind {
        let incidents = g.iter().map(|&i| &self.occs[i].incident);
        let failed = incidents.clone().any(|x| x.failure.is_some());
        let said: Vec<bool> = incidents.flat_map(|x| x.said.iter().map(|s| s.correction)).collect();
        let corrections = said.iter().filter(|c| **c).count();
        if failed || corrections * 2 > said.len() {
            PatternKind::RecurringMistake
        } else {
            PatternKind::SharedPreference
        }
    }

    /// The members in the order to cite them: most typical first (highest
    /// mean similarity to the others), one per session before a second.
    fn ranked(&self, g: &[usize]) -> Vec<usize> {
        let mean = |x: usize| -> f32 {
            let others = g.iter().filter(|&&y| y != x);
            others.clone().map(|&y| (self.sim)(x, y)).sum::<f32>() / others.count().max(1) as f32
        };
        let mut scored: Vec<(f32, usize)> = g.iter().map(|&x| (mean(x), x)).collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        let mut seen = BTreeSet::new();
        let (first, second): (Vec<usize>, Vec<usize>) =
            scored.iter().map(|s| s.1).partition(|&x| seen.insert(self.occs[x].session));
        first.into_iter().chain(second).collect()
    }

    fn draft(&self, g: &[usize]) -> Option<Draft> {
        let kind = self.qualifies(g)?;
        let ranked = self.ranked(g);
        let cited: Vec<Cited> = ranked
            .iter()
            .take(MAX_PATTERN_EVIDENCE)
            .map(|&i| {
                let o = &self.occs[i];
                let s = self.sessions[o.session];
                Cited {
                    incident: &o.incident,
                    session: s.display_id(),
                    who: o.people.iter().cloned().collect(),
                }
            })
            .collect();
        let n_sessions = g.iter().map(|&i| self.occs[i].session).collect::<BTreeSet<_>>().len();
        Some(write::draft(kind, &cited, n_sessions, self.lexicon))
    }

    fn pattern(&self, g: &[usize], draft: &Draft, stated_by: Option<MemoryPath>) -> Pattern {
        let ranked = self.ranked(g);
        let evidence: Vec<Excerpt> = ranked
            .iter()
            .take(MAX_PATTERN_EVIDENCE)
            .map(|&i| self.occs[i].incident.excerpt.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let by_id: BTreeMap<SessionId, usize> =
            g.iter().map(|&i| (self.sessions[self.occs[i].session].id, self.occs[i].session)).collect();
        Pattern {
            kind: draft.kind,
            slug: draft.slug.clone(),
            body: draft.body.clone(),
            sessions: by_id.keys().copied().collect(),
            session_names: by_id.values().map(|&si| self.sessions[si].display_id()).collect(),
            evidence,
            first_at: g.iter().filter_map(|&i| self.occs[i].incident.at).min(),
            last_at: g.iter().filter_map(|&i| self.occs[i].incident.at).max(),
            stated_by,
        }
    }

    /// The question about group `g`: whether it is one pattern (unless
    /// `proved`) and whether one of the memories `stating` states it.
    fn candidate<'m>(
        &self,
        g: &[usize],
        draft: &Draft,
        proved: bool,
        stating: impl Iterator<Item = &'m crate::memory::Memory>,
    ) -> Option<OpenPattern> {
        let mut chosen: Vec<usize> = self.ranked(g).into_iter().take(MAX_CANDIDATE_OCCURRENCES).collect();
        chosen.sort_by(|&a, &b| {
            let key = |x: usize| (self.sessions[self.occs[x].session].id, &self.occs[x].incident.excerpt);
            key(a).cmp(&key(b))
        });
        let occurrences: Vec<CandidateOccurrence> = chosen
            .iter()
            .map(|&i| {
                let o = &self.occs[i];
                CandidateOccurrence {
                    excerpt: o.incident.excerpt.clone(),
                    session: self.sessions[o.session].display_id(),
                    text: write::what_happened(&o.incident),
                    at: o.incident.at,
                }
            })
            .collect();
        let sessions = g.iter().map(|&i| self.occs[i].session).collect::<BTreeSet<_>>().len();
        let people: BTreeSet<&str> =
            g.iter().flat_map(|&i| self.occs[i].people.iter().map(String::as_str)).collect();
        let mut sum = 0.0;
        let mut pairs = 0usize;
        for (k, &a) in g.iter().enumerate() {
            for &b in &g[k + 1..] {
                sum += (self.sim)(a, b);
                pairs += 1;
            }
        }
        let by = if people.is_empty() {
            String::new()
        } else {
            format!(" by {}", people.into_iter().collect::<Vec<_>>().join(", "))
        };
        let what = match draft.kind {
            PatternKind::RecurringMistake => "one recurring mistake",
            PatternKind::SharedPreference => "one shared preference",
        };
        let path = MemoryPath::new(&draft.path).ok()?;
        let mut stating: Vec<QuestionMemory> = stating
            .map(|m| QuestionMemory {
                path: m.path.clone(),
                content: m.content.clone(),
                updated_at: m.updated_at,
            })
            .collect();
        stating.sort_by(|a, b| a.path.cmp(&b.path));
        let listed = stating.iter().map(|m| m.path.as_str()).collect::<Vec<_>>().join(", ");
        let why = if proved {
            format!(
                "{} occurrences in {sessions} sessions{by} are {what} (the same error, fix or wording), \
                 and {listed} may already state its rule",
                g.len()
            )
        } else {
            let stated =
                if stating.is_empty() { String::new() } else { format!("; {listed} may already state it") };
            format!(
                "{} occurrences in {sessions} sessions{by} may be {what}: alike in meaning (mean cosine {:.2}), \
                 but no shared error, fix or wording proves it{stated}",
                g.len(),
                sum / pairs.max(1) as f32
            )
        };
        Some(OpenPattern {
            kind: draft.kind,
            why,
            occurrences,
            draft: PatternDraft { path, kind: draft.kind, content: draft.body.clone() },
            stating,
        })
    }
}

/// A short, path-safe slug of at most `max_words` significant words
/// (grammar words of `lexicon` and single letters, such as the masked
/// `<s>` of an error signature, left out); `item` when none is left.
pub fn slug(text: &str, max_words: usize, lexicon: &Lexicon) -> String {
    let words: Vec<String> = plain_words(text)
        .into_iter()
        .map(|w| w.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect::<String>())
        .map(|w| w.trim_matches('-').to_owned())
        .filter(|w| w.len() > 1 && !lexicon.grammar.contains(w))
        .take(max_words)
        .collect();
    if words.is_empty() { "item".to_owned() } else { words.join("-") }
}

#[cfg(test)]
mod tests;
