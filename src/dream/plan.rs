//! Stage 5: the plan. Open clusters become [`Question`]s, each with the few
//! session excerpts most relevant to it, and the plan counts tokens.
//!
//! Excerpts: a turn is a candidate for a cluster when it shares at least
//! [`MIN_SHARED_WORDS`] content words with the cluster's memories, one of
//! them a word that tells the members apart (a value not all of them
//! state: a turn that cannot tell which value holds is no evidence); candidates
//! are ranked by the cosine of their embedding to the cluster's centroid
//! plus [`RECENCY_WEIGHT`] times the session's recency rank (0 oldest, 1
//! newest), ties by (session id, turn); the best are taken while they fit
//! the per-cluster token budget.
//!
//! An excerpt names its session by the transcript's own id
//! ([`Session::external_id`]), else by the first 12 hex digits of its content
//! hash; two sessions of one question that would share a name are told
//! apart by appending their hash. [`Cites::sessions`] maps the names back.
//!
//! Tokens are counted with tiktoken's `cl100k_base` ([`TOKENIZER`]): `naive`
//! is every memory and every session transcript in full; a question's
//! tokens are those of its lines on the wire with nothing sent before
//! ([`wire`](crate::resolve::wire): its table and its question line).

use std::collections::{BTreeMap, BTreeSet};

use rayon::prelude::*;
use tiktoken_rs::CoreBPE;

use super::DreamError;
use crate::embed::{Embedder, cosine};
use crate::memory::Memory;
use crate::resolve::ask::Prepared;
use crate::resolve::redact::{Secrets, redact_question};
use crate::resolve::wire::{Encoder, joined};
use crate::resolve::{Question, QuestionExcerpt, QuestionKind, QuestionMemory};
use crate::session::{Excerpt, Role, Session, SessionId, Turn};
use crate::text::{ContentWord, Lexicon, content_words};

/// The tokenizer used for both token counts.
pub const TOKENIZER: &str = "cl100k_base";
/// A turn must share this many content words with a cluster to be considered.
pub const MIN_SHARED_WORDS: usize = 2;
/// Weight of a session's recency rank in an excerpt's score.
pub const RECENCY_WEIGHT: f32 = 0.1;
/// Most characters of a turn put in an excerpt's text.
pub const EXCERPT_MAX_CHARS: usize = 800;

fn bpe() -> Result<&'static CoreBPE, DreamError> {
    crate::text::tokens::bpe().map_err(DreamError::Tokenizer)
}

/// Number of `cl100k_base` tokens of `text`.
pub fn count_tokens(text: &str) -> Result<u64, DreamError> {
    Ok(bpe()?.encode_ordinary(text).len() as u64)
}

/// A turn as text: role (and author), text, tool calls and results.
pub fn render_turn(turn: &Turn) -> String {
    let role = match turn.role {
        Role::User => "user",
        Role::Assistant => "assistant",
        Role::System => "system",
        Role::Tool => "tool",
    };
    let mut out = match &turn.author {
        Some(a) => format!("{role} ({a}): {}", turn.text),
        None => format!("{role}: {}", turn.text),
    };
    for c in &turn.tool_calls {
        out.push_str(&format!("\n[call {}] {}", c.name, c.input));
    }
    for r in &turn.tool_results {
        let tag = if r.is_error { "error" } else { "result" };
        out.push_str(&format!("\n[{tag}] {}", r.content));
    }
    out
}

/// A whole session as text.
pub fn render_session(session: &Session) -> String {
    let mut out = format!("<session id=\"{}\">\n", session.id);
    for t in &session.turns {
        out.push_str(&render_turn(t));
        out.push('\n');
    }
    out.push_str("</session>\n");
    out
}

/// A memory as a whole-store dream would send it.
pub fn render_memory(m: &Memory) -> String {
    format!("<memory path=\"{}\">\n{}\n</memory>\n", m.path, m.content)
}

/// One cluster to plan: its memories and their vectors.
#[derive(Debug, Clone)]
pub struct ClusterInput<'a> {
    /// Why it is open (for people).
    pub why: String,
    /// The rules that left it open (for the model).
    pub open: Vec<String>,
    /// The texts in conflict, sorted by path; `updated_at` is the latest of
    /// the group each text stands for.
    pub members: Vec<QuestionMemory>,
    /// Their vectors, in the same order.
    pub vectors: Vec<&'a [f32]>,
}

/// Budget and size of the excerpts per question: by default 2 excerpts
/// and 200 tokens, changed with the `with_…` methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExcerptBudget {
    /// Most excerpts per question.
    pub max_excerpts: usize,
    /// Most tokens of excerpts per question.
    pub max_tokens: u64,
}

impl Default for ExcerptBudget {
    fn default() -> Self {
        Self { max_excerpts: 2, max_tokens: 200 }
    }
}

impl ExcerptBudget {
    /// Most excerpts per question.
    pub fn with_max_excerpts(mut self, max_excerpts: usize) -> Self {
        self.max_excerpts = max_excerpts;
        self
    }

    /// Most tokens of excerpts per question.
    pub fn with_max_tokens(mut self, max_tokens: u64) -> Self {
        self.max_tokens = max_tokens;
        self
    }
}

/// One question of a round, ready to ask, and what it cites.
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    /// The question as sent ([`redact`](crate::resolve::redact)ed), the same
    /// question unredacted, and the tokens of its JSON line.
    pub prepared: Prepared,
    /// What stays on the device to map its answer back.
    pub cites: Cites,
}

/// What a question cites and hides, kept on the device to map its answer back.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Cites {
    /// The secrets its redaction replaced.
    pub secrets: Secrets,
    /// The excerpts it cites, neighbouring turns of a session joined into
    /// one range, in (session, turn) order.
    pub evidence: Vec<Excerpt>,
    /// Its session names and the sessions they stand for.
    pub sessions: BTreeMap<String, SessionId>,
}

/// Redacts `question` and counts its tokens as sent.
fn planned(
    bpe: &CoreBPE,
    question: &Question,
    evidence: Vec<Excerpt>,
    sessions: BTreeMap<String, SessionId>,
) -> Planned {
    let (sent, raw, secrets) = redact_question(question);
    let tokens = bpe.encode_ordinary(&joined(&Encoder::new().encode(&sent))).len() as u64;
    Planned {
        prepared: Prepared { question: sent, raw, tokens },
        cites: Cites { secrets, evidence, sessions },
    }
}

/// What may be one recurring mistake or one shared preference, which the
/// pattern stage could not group with certainty: a `pattern` question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternCandidate {
    /// Why it is open.
    pub why: String,
    /// The candidate occurrences, across sessions.
    pub occurrences: Vec<Excerpt>,
    /// The memory the device proposes, if any.
    pub draft: Option<crate::resolve::PatternDraft>,
    /// Memories of the store that may already state its rule, sorted by
    /// path (the question's members).
    pub members: Vec<crate::resolve::QuestionMemory>,
}

/// The name an excerpt gives `session` (see the module doc).
fn session_name(session: &Session) -> String {
    session.external_id.clone().unwrap_or_else(|| session.id.to_string()[..12].to_owned())
}

/// Names for the sessions `ids` (sorted, deduplicated): their own names,
/// with the hash appended where two would share one.
fn session_names(sessions: &[Session], ids: &BTreeSet<SessionId>) -> BTreeMap<SessionId, String> {
    let base: BTreeMap<SessionId, String> = ids
        .iter()
        .filter_map(|id| {
            sessions.binary_search_by_key(id, |s| s.id).ok().map(|i| (*id, session_name(&sessions[i])))
        })
        .collect();
    let mut count: BTreeMap<&str, usize> = BTreeMap::new();
    for name in base.values() {
        *count.entry(name.as_str()).or_default() += 1;
    }
    base.iter()
        .map(|(id, name)| {
            let unique = if count[name.as_str()] > 1 { format!("{name} ({id})") } else { name.clone() };
            (*id, unique)
        })
        .collect()
}

/// Renders the excerpt `e` of `session` for a question.
fn question_excerpt(session: &Session, e: &Excerpt, name: String) -> QuestionExcerpt {
    let turns = &session.turns
        [(e.start as usize).min(session.turns.len())..(e.end as usize).min(session.turns.len())];
    let full: String = turns.iter().map(render_turn).collect::<Vec<_>>().join("\n");
    let mut text: String = full.chars().take(EXCERPT_MAX_CHARS).collect();
    if full.chars().count() > EXCERPT_MAX_CHARS {
        text.push('…');
    }
    QuestionExcerpt {
        session: name,
        turns: [e.start, e.end],
        at: turns.iter().find_map(|t| t.timestamp),
        text,
    }
}

/// One `pattern` question per candidate. `sessions` are sorted by id;
/// occurrences of sessions not among them are left out.
pub fn pattern_questions(
    candidates: &[PatternCandidate],
    sessions: &[Session],
    instructions: &str,
) -> Result<Vec<Planned>, DreamError> {
    let bpe = bpe()?;
    let mut plan = Vec::with_capacity(candidates.len());
    for c in candidates {
        let mut cited: Vec<Excerpt> = c
            .occurrences
            .iter()
            .filter(|e| sessions.binary_search_by_key(&e.session, |s| s.id).is_ok())
            .cloned()
            .collect();
        cited.sort();
        cited.dedup();
        let ids: BTreeSet<SessionId> = cited.iter().map(|e| e.session).collect();
        let names = session_names(sessions, &ids);
        let excerpts = cited
            .iter()
            .filter_map(|e| {
                let s = &sessions[sessions.binary_search_by_key(&e.session, |s| s.id).ok()?];
                Some(question_excerpt(s, e, names.get(&e.session)?.clone()))
            })
            .collect();
        let question =
            Question::new(QuestionKind::Pattern, c.why.clone(), c.members.clone(), excerpts, instructions)
                .drafted(c.draft.clone());
        let names = names.into_iter().map(|(id, name)| (name, id)).collect();
        plan.push(planned(bpe, &question, cited, names));
    }
    Ok(plan)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct TurnRef {
    session: usize,
    turn: usize,
}

/// One question per cluster, in order, with its excerpts and tokens.
pub fn plan(
    clusters: &[ClusterInput<'_>],
    sessions: &[Session],
    embedder: &dyn Embedder,
    budget: ExcerptBudget,
    instructions: &str,
) -> Result<Vec<Planned>, DreamError> {
    // Inverted index of the sessions' conversational turns by content word.
    let turn_words: Vec<(TurnRef, BTreeSet<String>)> = sessions
        .par_iter()
        .enumerate()
        .flat_map_iter(|(si, s)| {
            s.turns.iter().enumerate().filter(|(_, t)| !t.text.trim().is_empty()).map(move |(ti, t)| {
                let text: String = t.text.chars().take(4 * EXCERPT_MAX_CHARS).collect();
                let words: BTreeSet<String> =
                    content_words(&text, Lexicon::built_in()).into_iter().map(|w| w.key).collect();
                (TurnRef { session: si, turn: ti }, words)
            })
        })
        .collect();
    let mut postings: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, (_, words)) in turn_words.iter().enumerate() {
        for w in words {
            postings.entry(w.as_str()).or_default().push(i);
        }
    }
    let candidates: Vec<Vec<usize>> = clusters
        .par_iter()
        .map(|c| {
            let sets: Vec<BTreeSet<String>> = c
                .members
                .iter()
                .map(|m| content_words(&m.content, Lexicon::built_in()).into_iter().map(|w| w.key).collect())
                .collect();
            let words: BTreeSet<&String> = sets.iter().flatten().collect();
            // Words not shared by every member: the values in question.
            let telling: BTreeSet<&String> =
                words.iter().copied().filter(|w| !sets.iter().all(|s| s.contains(*w))).collect();
            let mut hits: BTreeMap<usize, (usize, bool)> = BTreeMap::new();
            for w in &words {
                for &i in postings.get(w.as_str()).map(Vec::as_slice).unwrap_or(&[]) {
                    let hit = hits.entry(i).or_insert((0, false));
                    hit.0 += 1;
                    hit.1 |= telling.contains(w);
                }
            }
            hits.into_iter()
                .filter(|&(_, (n, telling))| n >= MIN_SHARED_WORDS && telling)
                .map(|(i, _)| i)
                .collect()
        })
        .collect();
    // Embed each candidate turn once.
    let needed: BTreeSet<usize> = candidates.iter().flatten().copied().collect();
    let needed: Vec<usize> = needed.into_iter().collect();
    let texts: Vec<String> = needed
        .iter()
        .map(|&i| {
            let r = turn_words[i].0;
            sessions[r.session].turns[r.turn].text.chars().take(4 * EXCERPT_MAX_CHARS).collect()
        })
        .collect();
    let mut vectors: BTreeMap<usize, Vec<f32>> = BTreeMap::new();
    for (chunk_ids, chunk_texts) in needed.chunks(256).zip(texts.chunks(256)) {
        let refs: Vec<&str> = chunk_texts.iter().map(String::as_str).collect();
        let vs = embedder.embed(&refs)?;
        vectors.extend(chunk_ids.iter().copied().zip(vs));
    }
    // Session recency rank: sessions without timestamps count as oldest.
    let mut order: Vec<usize> = (0..sessions.len()).collect();
    order.sort_by_key(|&i| (sessions[i].started_at(), sessions[i].id));
    let mut recency = vec![0.0f32; sessions.len()];
    let denom = sessions.len().saturating_sub(1).max(1) as f32;
    for (rank, &i) in order.iter().enumerate() {
        recency[i] = rank as f32 / denom;
    }
    let bpe = bpe()?;
    type Built = (Question, Vec<Excerpt>, BTreeMap<String, SessionId>);
    let built: Vec<Built> = clusters
        .par_iter()
        .zip(&candidates)
        .map(|(c, cands)| {
            let dim = c.vectors.first().map_or(0, |v| v.len());
            let mut centroid = vec![0.0f32; dim];
            for v in &c.vectors {
                centroid.iter_mut().zip(v.iter()).for_each(|(a, b)| *a += b);
            }
            crate::embed::normalize(&mut centroid);
            let mut scored: Vec<(f32, TurnRef)> = cands
                .iter()
                .map(|&i| {
                    let r = turn_words[i].0;
                    let sim = vectors.get(&i).map_or(0.0, |v| cosine(v, &centroid));
                    (sim + RECENCY_WEIGHT * recency[r.session], r)
                })
                .collect();
            scored.sort_by(|x, y| {
                y.0.total_cmp(&x.0)
                    .then(sessions[x.1.session].id.cmp(&sessions[y.1.session].id))
                    .then(x.1.turn.cmp(&y.1.turn))
            });
            let mut excerpts = Vec::new();
            let mut picked = Vec::new();
            let mut used = 0u64;
            for (_, r) in scored {
                if excerpts.len() >= budget.max_excerpts {
                    break;
                }
                let s = &sessions[r.session];
                let turn = &s.turns[r.turn];
                let mut text: String = render_turn(turn).chars().take(EXCERPT_MAX_CHARS).collect();
                if render_turn(turn).chars().count() > EXCERPT_MAX_CHARS {
                    text.push('…');
                }
                let cost = bpe.encode_ordinary(&text).len() as u64;
                if used + cost > budget.max_tokens {
                    continue;
                }
                used += cost;
                let ex = s.excerpt(r.turn, r.turn + 1);
                excerpts.push((s.id, [ex.start, ex.end], turn.timestamp, text));
                picked.push(r);
            }
            let cited = coalesce(sessions, picked);
            let ids: BTreeSet<SessionId> = excerpts.iter().map(|e| e.0).collect();
            let names = session_names(sessions, &ids);
            let excerpts: Vec<QuestionExcerpt> = excerpts
                .into_iter()
                .map(|(id, turns, at, text)| QuestionExcerpt {
                    session: names.get(&id).cloned().unwrap_or_else(|| id.to_string()),
                    turns,
                    at,
                    text,
                })
                .collect();
            let members = c
                .members
                .iter()
                .map(|m| QuestionMemory {
                    path: m.path.clone(),
                    content: m.content.clone(),
                    updated_at: m.updated_at,
                })
                .collect();
            let names = names.into_iter().map(|(id, name)| (name, id)).collect();
            let differ = differing_words(&c.members);
            (
                Question::new(QuestionKind::Cluster, c.why.clone(), members, excerpts, instructions)
                    .hinted(c.open.clone(), differ),
                cited,
                names,
            )
        })
        .collect();
    Ok(built.into_par_iter().map(|(q, cited, names)| planned(bpe, &q, cited, names)).collect())
}

/// Most differing words a question names for the model.
pub const MAX_DIFFER: usize = 8;

/// The words that tell `members` apart: those not every member states, in
/// the order the members first state them, at most [`MAX_DIFFER`].
fn differing_words(members: &[QuestionMemory]) -> Vec<String> {
    let words: Vec<Vec<ContentWord>> =
        members.iter().map(|m| content_words(&m.content, Lexicon::built_in())).collect();
    let sets: Vec<BTreeSet<&String>> = words.iter().map(|w| w.iter().map(|w| &w.key).collect()).collect();
    let mut seen = BTreeSet::new();
    words
        .iter()
        .flatten()
        .filter(|w| !sets.iter().all(|s| s.contains(&w.key)) && seen.insert(w.key.as_str()))
        .take(MAX_DIFFER)
        .map(|w| w.text.clone())
        .collect()
}

/// The excerpts that cite `turns`: neighbouring turns of one session become
/// one range, in (session, turn) order.
fn coalesce(sessions: &[Session], mut turns: Vec<TurnRef>) -> Vec<Excerpt> {
    turns.sort();
    turns.dedup();
    let mut ranges: Vec<(usize, usize, usize)> = Vec::new();
    for r in turns {
        match ranges.last_mut() {
            Some((session, _, end)) if *session == r.session && *end == r.turn => *end += 1,
            _ => ranges.push((r.session, r.turn, r.turn + 1)),
        }
    }
    ranges.into_iter().map(|(session, start, end)| sessions[session].excerpt(start, end)).collect()
}

/// Tokens a whole-store dream would send: every memory and every session
/// transcript in full.
pub fn naive_tokens(memories: &[Memory], sessions: &[Session]) -> Result<u64, DreamError> {
    let bpe = bpe()?;
    let m: u64 = memories.par_iter().map(|m| bpe.encode_ordinary(&render_memory(m)).len() as u64).sum();
    let s: u64 = sessions.par_iter().map(|s| bpe.encode_ordinary(&render_session(s)).len() as u64).sum();
    Ok(m + s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embed::LexicalEmbedder;
    use crate::memory::{MemoryPath, Timestamp};
    use crate::session::SessionFormat;

    fn turn(text: &str, at: i64) -> Turn {
        Turn {
            role: Role::User,
            author: None,
            text: text.into(),
            tool_calls: vec![],
            tool_results: vec![],
            timestamp: Some(Timestamp(at)),
            sidechain: false,
        }
    }

    #[test]
    fn picks_relevant_excerpts_within_budget() {
        let e = LexicalEmbedder::default();
        let a = Memory::new(MemoryPath::new("/a").unwrap(), "staging port is 5433", Timestamp(1));
        let b = Memory::new(MemoryPath::new("/b").unwrap(), "staging port is 5434", Timestamp(2));
        let va = e.embed_one(&a.content);
        let vb = e.embed_one(&b.content);
        let s = Session::new(
            SessionFormat::Text,
            None,
            None,
            vec![
                turn("we moved the staging port to 5434 last week", 10),
                turn("lunch is at noon", 11),
                turn("the staging database port is odd", 12),
            ],
        );
        let qm = |m: &Memory| QuestionMemory {
            path: m.path.clone(),
            content: m.content.clone(),
            updated_at: m.updated_at,
        };
        let clusters = vec![ClusterInput {
            why: "open".into(),
            open: vec![],
            members: vec![qm(&a), qm(&b)],
            vectors: vec![&va, &vb],
        }];
        let budget = ExcerptBudget::default().with_max_excerpts(3).with_max_tokens(400);
        let p = plan(&clusters, std::slice::from_ref(&s), &e, budget, "").unwrap();
        assert_eq!(p.len(), 1);
        let q = &p[0].prepared.question;
        let turns: Vec<u32> = q.excerpts.iter().map(|x| x.turns[0]).collect();
        assert_eq!(q.excerpts[0].session, s.id.to_string()[..12]);
        assert_eq!(p[0].cites.sessions.get(&s.id.to_string()[..12]), Some(&s.id));
        assert!(turns.contains(&0) && !turns.contains(&1), "{turns:?}");
        let tokens = p[0].prepared.tokens;
        assert!(tokens > 0);
        assert!(naive_tokens(&[a.clone(), b.clone()], std::slice::from_ref(&s)).unwrap() > tokens / 2);
        let tight = plan(&clusters, &[s], &e, budget.with_max_tokens(5), "").unwrap();
        assert!(tight[0].prepared.question.excerpts.is_empty());
    }

    #[test]
    fn neighbouring_turns_are_cited_as_one_range() {
        let texts = ["one", "two", "three", "four", "five"];
        let s = Session::new(SessionFormat::Text, None, None, texts.iter().map(|t| turn(t, 1)).collect());
        let r = |turn| TurnRef { session: 0, turn };
        let cited = coalesce(std::slice::from_ref(&s), vec![r(3), r(1), r(0), r(1), r(4)]);
        assert_eq!(cited, vec![s.excerpt(0, 2), s.excerpt(3, 5)]);
        assert!(cited.iter().all(|e| s.verifies(e)));
    }

    #[test]
    fn counts_tokens_with_cl100k() {
        assert_eq!(count_tokens("hello world").unwrap(), 2);
    }
}
