//! Stage 4: patterns from sessions — recurring mistakes and shared
//! preferences.
//!
//! - [`incidents`]: per session, tool failures (tool, masked error
//!   signature, the failing call, what worked next) and user corrections,
//!   joined so that a failure and the correction that answers it are **one**
//!   incident.
//! - [`statements`]: user turns classified as corrections, preferences
//!   (statements about how work should be done: a preference cue *and* a
//!   practice term or a code-like token) or nothing (thanks, praise,
//!   chit-chat, requests, questions, stories), with content terms split
//!   into wanted and rejected ("pnpm, not npm").
//! - [`group`]: when two occurrences are one pattern. *Certain* links (the
//!   same error signature; the same program set things right; statements
//!   whose terms agree, backed by the embedder's cosine) group occurrences
//!   on the device; *candidate* links (similar wording by embedding, a
//!   shared term) only propose a group.
//! - the word lists are the `[patterns]` section of the dream's
//!   [`Lexicon`] ([`PatternLists`](crate::text::PatternLists), read with
//!   the one tokeniser and stemmer of [`crate::text`]).
//!
//! A group of certainly-linked occurrences is a [`Pattern`] when it is seen
//! in at least `min_sessions` sessions; a preference also needs two voices
//! (known authors, each session whose speaker is unknown counting as one). Groups that fall short but are
//! joined by candidate links into one that would not are returned as
//! [`PatternCandidate`]s: the device cannot tell whether they are one
//! pattern, so a resolver is asked (a `pattern` question, whose excerpts
//! are the candidate occurrences: [`PatternCandidate::to_plan`] gives the
//! input of [`plan::pattern_questions`](super::plan::pattern_questions)). A group that is a pattern by itself is
//! never part of a candidate.
//!
//! Promises: a one-off failure or correction, and a preference of a single
//! person, is never a pattern; thanks and chit-chat are never preferences;
//! the result depends only on the sessions' contents, not on their order
//! (they are taken in id order, repeats ignored).

pub mod group;
pub mod incidents;
pub mod statements;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use rayon::prelude::*;

use crate::embed::{EmbedError, Embedder, cosine};
use crate::memory::Timestamp;
use crate::report::PatternKind;
use crate::session::{Excerpt, Session, SessionId};
use crate::text::{Lexicon, plain_words};
use group::{IncidentVectors, Link, Sets, Thresholds};
use incidents::{Incident, Said};
use statements::clip;

/// Most excerpts a pattern cites, and most occurrences a candidate holds.
pub const MAX_PATTERN_EVIDENCE: usize = 8;
/// Most quotes a pattern's text shows.
const MAX_QUOTES: usize = 4;
/// Texts per embedding batch.
const EMBED_BATCH: usize = 256;

/// A pattern found in the sessions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    /// Its kind.
    pub kind: PatternKind,
    /// A path-safe name for it (the memory's file name without extension).
    pub slug: String,
    /// The memory text: what happens, how often, what to do, the evidence.
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
}

/// Occurrences that may be one recurring mistake or one shared preference,
/// which the device could not group by itself (different error texts,
/// different wording, different people). The dream asks a resolver about
/// it as a `pattern` question.
#[derive(Debug, Clone, PartialEq)]
pub struct PatternCandidate {
    /// What it would be.
    pub kind: PatternKind,
    /// Why it is open: what links the occurrences and what is missing.
    pub why: String,
    /// The occurrences, in session id then turn order, at most [`MAX_PATTERN_EVIDENCE`].
    pub occurrences: Vec<CandidateOccurrence>,
}

impl PatternCandidate {
    /// What the planner makes a `pattern` question of
    /// ([`plan::pattern_questions`](super::plan::pattern_questions)): the
    /// reason, and the occurrences' excerpts, which the question quotes
    /// with the sessions' own ids.
    pub fn to_plan(&self) -> super::plan::PatternCandidate {
        super::plan::PatternCandidate {
            why: self.why.clone(),
            occurrences: self.occurrences.iter().map(|o| o.excerpt.clone()).collect(),
        }
    }
}

/// One occurrence of a [`PatternCandidate`].
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
    /// Patterns grouped on the device, mistakes first, each kind in order of
    /// their first occurrence.
    pub patterns: Vec<Pattern>,
    /// Groups the device could not confirm.
    pub candidates: Vec<PatternCandidate>,
}

/// Finds the patterns of `sessions` (any order) that recur in at least
/// `min_sessions` sessions (at least 2), using `embedder` (with its
/// calibrated `thresholds`) to compare wording and `lexicon` to read what
/// users say.
pub fn find(
    sessions: &[Session],
    embedder: &dyn Embedder,
    thresholds: &super::Thresholds,
    lexicon: &Lexicon,
    min_sessions: usize,
) -> Result<Found, EmbedError> {
    let min_sessions = min_sessions.max(2);
    let mut sessions: Vec<&Session> = sessions.iter().collect();
    sessions.sort_by_key(|s| s.id);
    sessions.dedup_by_key(|s| s.id);
    let findings: Vec<incidents::SessionFindings> =
        sessions.par_iter().map(|s| incidents::read(s, &lexicon.patterns)).collect();

    // Every text compared by embedding, embedded once.
    let mut mistakes: Vec<Occ<Incident>> = Vec::new();
    let mut preferences: Vec<Occ<Said>> = Vec::new();
    for (si, f) in findings.into_iter().enumerate() {
        for incident in f.incidents {
            let excerpt = incident.excerpt.clone();
            let at = incident.at;
            let authors = incident.corrections.iter().filter_map(|c| c.author.clone()).collect();
            mistakes.push(Occ { session: si, item: incident, excerpt, at, authors });
        }
        for (said, excerpt) in f.preferences {
            let at = sessions[si].turns.get(said.turn).and_then(|t| t.timestamp);
            let authors = said.author.iter().cloned().collect();
            preferences.push(Occ { session: si, item: said, excerpt, at, authors });
        }
    }
    let mut texts: BTreeSet<String> = BTreeSet::new();
    for m in &mistakes {
        if let Some(f) = &m.item.failure {
            texts.insert(signature_text(f));
        }
        texts.extend(m.item.corrections.iter().map(|c| c.statement.text.clone()));
    }
    texts.extend(preferences.iter().map(|p| p.item.statement.text.clone()));
    let texts: Vec<String> = texts.into_iter().collect();
    let vectors = embed(embedder, &texts)?;
    let index = |text: &str| texts.binary_search_by(|t| t.as_str().cmp(text)).unwrap_or(0);
    let cos = |a: usize, b: usize| cosine(&vectors[a], &vectors[b]);
    let t = Thresholds { high: thresholds.pattern_certain, low: thresholds.pattern_candidate };
    let practice = |w: &str| lexicon.patterns.practice_terms.contains(w);

    // Recurring mistakes.
    let sig_of: Vec<Option<usize>> =
        mistakes.iter().map(|m| m.item.failure.as_ref().map(|f| index(&signature_text(f)))).collect();
    let said_of: Vec<Vec<usize>> = mistakes
        .iter()
        .map(|m| m.item.corrections.iter().map(|c| index(&c.statement.text)).collect())
        .collect();
    let mistake_links = links(mistakes.len(), |a, b| {
        let v =
            IncidentVectors { sig_a: sig_of[a], sig_b: sig_of[b], said_a: &said_of[a], said_b: &said_of[b] };
        group::incidents(&mistakes[a].item, &mistakes[b].item, &v, &cos, t, &practice)
    });
    let shared_enough = |occs: &[&Occ<Incident>]| distinct(occs.iter().map(|o| o.session)) >= min_sessions;
    let (groups, open) = settle(&mistakes, &mistake_links, &shared_enough);
    let mut found = Found::default();
    for g in &groups {
        let occs: Vec<&Occ<Incident>> = g.iter().map(|&i| &mistakes[i]).collect();
        found.patterns.push(mistake_pattern(&sessions, &occs, lexicon));
    }
    for (g, strength) in open {
        let occs: Vec<&Occ<Incident>> = g.iter().map(|&i| &mistakes[i]).collect();
        found.candidates.push(mistake_candidate(&sessions, &occs, strength));
    }

    // Shared preferences.
    let pref_vec: Vec<usize> = preferences.iter().map(|p| index(&p.item.statement.text)).collect();
    let pref_links = links(preferences.len(), |a, b| {
        let (pa, pb) = (&preferences[a].item.statement, &preferences[b].item.statement);
        group::statements(&pa.terms, &pb.terms, cos(pref_vec[a], pref_vec[b]), t, &practice)
    });
    // Voices: the known authors, plus each session where the speaker is
    // unknown (it may be anyone).
    let shared = |occs: &[&Occ<Said>]| {
        let authors: BTreeSet<&str> =
            occs.iter().flat_map(|o| o.authors.iter().map(String::as_str)).collect();
        let unknown = distinct(occs.iter().filter(|o| o.authors.is_empty()).map(|o| o.session));
        let n = distinct(occs.iter().map(|o| o.session));
        n >= min_sessions && authors.len() + unknown >= 2
    };
    let (groups, open) = settle(&preferences, &pref_links, &shared);
    for g in &groups {
        let occs: Vec<&Occ<Said>> = g.iter().map(|&i| &preferences[i]).collect();
        found.patterns.push(preference_pattern(&sessions, &occs, lexicon));
    }
    for (g, strength) in open {
        let occs: Vec<&Occ<Said>> = g.iter().map(|&i| &preferences[i]).collect();
        found.candidates.push(preference_candidate(&sessions, &occs, strength));
    }
    Ok(found)
}

/// An occurrence: what, where, when, said by whom.
struct Occ<T> {
    session: usize,
    item: T,
    excerpt: Excerpt,
    at: Option<Timestamp>,
    authors: Vec<String>,
}

fn distinct(sessions: impl Iterator<Item = usize>) -> usize {
    sessions.collect::<BTreeSet<_>>().len()
}

fn signature_text(f: &incidents::Failure) -> String {
    format!("{}: {}", f.tool, f.signature)
}

/// Every linked pair `a < b` of `0..n`, in order.
fn links(n: usize, link: impl Fn(usize, usize) -> Link + Sync) -> Vec<(usize, usize, Link)> {
    (0..n)
        .into_par_iter()
        .flat_map_iter(|a| {
            let link = &link;
            (a + 1..n).filter_map(move |b| match link(a, b) {
                Link::None => None,
                l => Some((a, b, l)),
            })
        })
        .collect()
}

/// Groups by certain links; the groups that are patterns (`enough`), and
/// candidate groups: groups that are not, joined along candidate links
/// (strongest first, up to [`MAX_PATTERN_EVIDENCE`] occurrences) into ones
/// that would be, with the weakest link used.
type Settled = (Vec<Vec<usize>>, Vec<(Vec<usize>, f32)>);
fn settle<T>(
    occs: &[Occ<T>],
    links: &[(usize, usize, Link)],
    enough: &dyn Fn(&[&Occ<T>]) -> bool,
) -> Settled {
    let mut sets = Sets::new(occs.len());
    for &(a, b, l) in links {
        if l == Link::Certain {
            sets.union(a, b);
        }
    }
    let groups = sets.groups();
    let of = |g: &[usize]| -> Vec<&Occ<T>> { g.iter().map(|&i| &occs[i]).collect() };
    let is_pattern: Vec<bool> = groups.iter().map(|g| enough(&of(g))).collect();
    let mut group_of = vec![0; occs.len()];
    for (gi, g) in groups.iter().enumerate() {
        for &i in g {
            group_of[i] = gi;
        }
    }
    let patterns: Vec<Vec<usize>> =
        groups.iter().zip(&is_pattern).filter(|(_, p)| **p).map(|(g, _)| g.clone()).collect();
    // Candidate links between groups that are not patterns.
    let mut between: Vec<(f32, usize, usize)> = links
        .iter()
        .filter_map(|&(a, b, l)| match l {
            Link::Candidate(s) => Some((s, group_of[a], group_of[b])),
            _ => None,
        })
        .filter(|&(_, ga, gb)| ga != gb && !is_pattern[ga] && !is_pattern[gb])
        .collect();
    between.sort_by(|x, y| y.0.total_cmp(&x.0).then(x.1.cmp(&y.1)).then(x.2.cmp(&y.2)));
    let mut joined = Sets::new(groups.len());
    let mut weakest = vec![f32::INFINITY; groups.len()];
    let mut members: Vec<usize> = groups.iter().map(Vec::len).collect();
    for (s, ga, gb) in between {
        let (ra, rb) = (joined.find(ga), joined.find(gb));
        if ra == rb || members[ra] + members[rb] > MAX_PATTERN_EVIDENCE {
            continue;
        }
        let total = members[ra] + members[rb];
        let w = s.min(weakest[ra]).min(weakest[rb]);
        joined.union(ra, rb);
        let r = joined.find(ra);
        members[r] = total;
        weakest[r] = w;
    }
    let mut candidates = Vec::new();
    for set in joined.groups() {
        if set.len() < 2 {
            continue;
        }
        let mut all: Vec<usize> = set.iter().flat_map(|&g| groups[g].iter().copied()).collect();
        all.sort_unstable();
        if enough(&of(&all)) {
            let r = joined.find(set[0]);
            candidates.push((all, weakest[r]));
        }
    }
    (patterns, candidates)
}

fn embed(embedder: &dyn Embedder, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
    let mut out = Vec::with_capacity(texts.len());
    for chunk in texts.chunks(EMBED_BATCH) {
        let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
        let got = embedder.embed(&refs)?;
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

fn name_of(sessions: &[&Session], si: usize) -> String {
    sessions[si].display_id()
}

fn finish<T>(
    kind: PatternKind,
    slug: String,
    mut body: String,
    occs: &[&Occ<T>],
    sessions: &[&Session],
) -> Pattern {
    let evidence: Vec<Excerpt> = occs
        .iter()
        .map(|o| o.excerpt.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .take(MAX_PATTERN_EVIDENCE)
        .collect();
    let by_id: BTreeMap<SessionId, usize> =
        occs.iter().map(|o| (sessions[o.session].id, o.session)).collect();
    let cites: Vec<String> = evidence
        .iter()
        .map(|e| {
            let name =
                by_id.get(&e.session).map_or_else(|| e.session.to_string(), |&si| name_of(sessions, si));
            format!("session {name} turns {}–{}", e.start, e.end)
        })
        .collect();
    let _ = writeln!(body, "\nEvidence: {}.", cites.join("; "));
    Pattern {
        kind,
        slug,
        body,
        sessions: by_id.keys().copied().collect(),
        session_names: by_id.values().map(|&si| name_of(sessions, si)).collect(),
        evidence,
        first_at: occs.iter().filter_map(|o| o.at).min(),
        last_at: occs.iter().filter_map(|o| o.at).max(),
    }
}

/// The program most fixes switched to, with the ones they switched from.
fn common_swap(occs: &[&Occ<Incident>]) -> Option<(Vec<String>, String)> {
    let mut to: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for o in occs {
        if let Some((a, b)) = o.item.failure.as_ref().and_then(|f| f.swap.as_ref()) {
            to.entry(b.as_str()).or_default().insert(a.as_str());
        }
    }
    let (program, from) = to.into_iter().max_by(|a, b| a.1.len().cmp(&b.1.len()).then(b.0.cmp(a.0)))?;
    Some((from.into_iter().map(str::to_owned).collect(), program.to_owned()))
}

/// The program most fixes ran first, with the programs it had to precede.
fn common_first_step(occs: &[&Occ<Incident>]) -> Option<(String, Vec<String>)> {
    let mut first: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for o in occs {
        if let Some((a, b)) = o.item.failure.as_ref().and_then(|f| f.before.as_ref()) {
            first.entry(a.as_str()).or_default().insert(b.as_str());
        }
    }
    let (program, then) = first.into_iter().max_by(|a, b| a.1.len().cmp(&b.1.len()).then(b.0.cmp(a.0)))?;
    Some((program.to_owned(), then.into_iter().map(str::to_owned).collect()))
}

fn quote_list(from: &[String]) -> String {
    from.iter().map(|p| format!("`{p}`")).collect::<Vec<_>>().join(", ")
}

fn mistake_pattern(sessions: &[&Session], occs: &[&Occ<Incident>], lexicon: &Lexicon) -> Pattern {
    let n_sessions = distinct(occs.iter().map(|o| o.session));
    // Failures by tool and signature, most frequent first.
    let mut failures: BTreeMap<(&str, &str), Vec<&incidents::Failure>> = BTreeMap::new();
    for o in occs {
        if let Some(f) = &o.item.failure {
            failures.entry((f.tool.as_str(), f.signature.as_str())).or_default().push(f);
        }
    }
    let mut failures: Vec<_> = failures.into_iter().collect();
    failures.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(&b.0)));
    let corrections: Vec<&Said> = occs.iter().flat_map(|o| o.item.corrections.iter()).collect();
    let swap = common_swap(occs);
    let first_step = common_first_step(occs);
    let title = match (&swap, failures.first(), corrections.first()) {
        (Some((from, to)), _, _) => format!("{} used where `{to}` was needed", quote_list(from)),
        (None, _, _) if first_step.is_some() => {
            let (first, then) = first_step.clone().unwrap_or_default();
            format!("{} run without `{first}` first", quote_list(&then))
        }
        (None, Some(((tool, sig), _)), _) => format!("`{tool}` fails with \"{}\"", clip(sig, 80)),
        (None, None, Some(c)) => clip(&c.statement.text, 80),
        (None, None, None) => "a recurring mistake".to_owned(),
    };
    let mut body = String::new();
    let _ = writeln!(body, "# Recurring mistake: {title}\n");
    let _ = writeln!(body, "Seen {} times in {n_sessions} sessions.", occs.len());
    if !failures.is_empty() {
        let _ = writeln!(body, "\nErrors:\n");
    }
    for ((tool, _), fs) in failures.iter().take(MAX_QUOTES) {
        let f = fs[0];
        let _ = writeln!(body, "- `{tool}` ({}×): {}", fs.len(), clip(&f.first_line, 200));
        if let Some(call) = &f.call {
            let _ = writeln!(body, "  - failing call: `{}`", clip(call, 200));
        }
        if let Some(fix) = &f.fix {
            let _ = writeln!(body, "  - what worked afterwards: `{}`", clip(fix, 200));
        }
    }
    if !corrections.is_empty() {
        let _ = writeln!(body, "\nUsers corrected the agent, in their words:\n");
    }
    let mut quoted = BTreeSet::new();
    for c in &corrections {
        if quoted.len() >= MAX_QUOTES {
            break;
        }
        if quoted.insert(c.statement.text.as_str()) {
            let who = c.author.as_deref().unwrap_or("user");
            let _ = writeln!(body, "- \"{}\" ({who})", c.statement.text);
        }
    }
    let advice = match (&swap, &first_step) {
        (Some((from, to)), _) => format!("Use `{to}` here, not {}.", quote_list(from)),
        (None, Some((first, then))) => format!("Run `{first}` before {}.", quote_list(then)),
        (None, None) if failures.is_empty() => "Get it right from the start.".to_owned(),
        (None, None) => {
            "Check for this before running the same call again; do what worked instead.".to_owned()
        }
    };
    let _ = writeln!(body, "\n{advice}");
    finish(PatternKind::RecurringMistake, slug(&title, 6, lexicon), body, occs, sessions)
}

fn preference_pattern(sessions: &[&Session], occs: &[&Occ<Said>], lexicon: &Lexicon) -> Pattern {
    let n_sessions = distinct(occs.iter().map(|o| o.session));
    let authors: BTreeSet<&str> = occs.iter().flat_map(|o| o.authors.iter().map(String::as_str)).collect();
    let by = if authors.is_empty() {
        String::new()
    } else {
        format!(" by {}", authors.into_iter().collect::<Vec<_>>().join(", "))
    };
    let title = clip(&occs[0].item.statement.text, 80);
    let mut body = String::new();
    let _ = writeln!(body, "# Shared preference: {title}\n");
    let _ = writeln!(body, "Stated in {n_sessions} sessions{by}. In their words:\n");
    let mut quoted = BTreeSet::new();
    for o in occs {
        if quoted.len() >= MAX_QUOTES {
            break;
        }
        if quoted.insert(o.item.statement.text.as_str()) {
            let who = o.item.author.as_deref().unwrap_or("user");
            let _ = writeln!(body, "- \"{}\" ({who})", o.item.statement.text);
        }
    }
    finish(PatternKind::SharedPreference, slug(&title, 6, lexicon), body, occs, sessions)
}

fn occurrence<T>(sessions: &[&Session], o: &Occ<T>, text: String) -> CandidateOccurrence {
    CandidateOccurrence { excerpt: o.excerpt.clone(), session: name_of(sessions, o.session), text, at: o.at }
}

fn mistake_candidate(sessions: &[&Session], occs: &[&Occ<Incident>], strength: f32) -> PatternCandidate {
    let occurrences = occs
        .iter()
        .map(|o| {
            let mut text = String::new();
            if let Some(f) = &o.item.failure {
                let call = f.call.as_deref().map(|c| format!(" `{}`", clip(c, 120))).unwrap_or_default();
                let _ = write!(text, "`{}`{call} failed: {}", f.tool, clip(&f.first_line, 160));
            }
            for c in &o.item.corrections {
                if !text.is_empty() {
                    text.push('\n');
                }
                let who = c.author.as_deref().unwrap_or("user");
                let _ = write!(text, "{who}: \"{}\"", c.statement.text);
            }
            occurrence(sessions, o, text)
        })
        .collect();
    let n = distinct(occs.iter().map(|o| o.session));
    let errors: BTreeSet<&str> =
        occs.iter().filter_map(|o| o.item.failure.as_ref()).map(|f| f.signature.as_str()).collect();
    let how = if strength > 0.0 {
        format!("similar wording (cosine {strength:.2} at the weakest link)")
    } else {
        "a shared term of what was done or asked for".to_owned()
    };
    PatternCandidate {
        kind: PatternKind::RecurringMistake,
        why: format!(
            "{} occurrences in {n} sessions may be one recurring mistake: {} different error texts, linked only by {how}; no shared error, fix or paraphrase proves it",
            occs.len(),
            errors.len()
        ),
        occurrences,
    }
}

fn preference_candidate(sessions: &[&Session], occs: &[&Occ<Said>], strength: f32) -> PatternCandidate {
    let occurrences = occs
        .iter()
        .map(|o| {
            let who = o.item.author.as_deref().unwrap_or("user");
            occurrence(sessions, o, format!("{who}: \"{}\"", o.item.statement.text))
        })
        .collect();
    let n = distinct(occs.iter().map(|o| o.session));
    let how = if strength > 0.0 {
        format!("similar wording (cosine {strength:.2} at the weakest link)")
    } else {
        "a shared term".to_owned()
    };
    PatternCandidate {
        kind: PatternKind::SharedPreference,
        why: format!(
            "{} statements in {n} sessions may state one shared preference in different words, linked only by {how}",
            occs.len()
        ),
        occurrences,
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
