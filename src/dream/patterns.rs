//! Stage 4: patterns from sessions.
//!
//! - Recurring mistakes: tool errors grouped by tool and
//!   [`error_signature`] (paths, ids, numbers, hashes and quoted strings
//!   masked, so they do not split one failure into many), and user
//!   corrections ("no, use pnpm", "don't …", "stop …") grouped by their
//!   content words.
//! - Shared preferences: preferences stated by users ("I prefer …", "we
//!   always …", "please use …") grouped by their content words; shared when
//!   stated by more than one known author (or, where no author is known, in
//!   several sessions).
//!
//! Promise: a pattern needs support in at least `min_sessions` distinct
//! sessions; a one-off failure or a preference of a single person is never
//! surfaced. The result depends only on the sessions' contents (they are
//! taken in id order).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use crate::text::normalize::{analyse, error_signature, slug};
use crate::memory::Timestamp;
use crate::report::PatternKind;
use crate::session::{Excerpt, Role, Session, SessionId, Turn};

/// Most excerpts a pattern cites.
pub const MAX_PATTERN_EVIDENCE: usize = 8;
/// Most quotes a pattern's text shows.
const MAX_QUOTES: usize = 4;
/// Two statements are about the same thing when their content words overlap
/// by at least this share of the smaller set ...
pub const GROUP_OVERLAP: f64 = 0.67;
/// ... and this share of their union (Jaccard); or, for longer statements,
/// they share at least [`GROUP_MIN_SHARED`] words and half the smaller set.
pub const GROUP_JACCARD: f64 = 0.34;
/// See [`GROUP_JACCARD`].
pub const GROUP_MIN_SHARED: usize = 3;

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
    /// Cited excerpts, sorted, at most [`MAX_PATTERN_EVIDENCE`].
    pub evidence: Vec<Excerpt>,
    /// Earliest timestamp among the occurrences, if any is known.
    pub first_at: Option<Timestamp>,
    /// Latest timestamp among the occurrences, if any is known.
    pub last_at: Option<Timestamp>,
}

#[derive(Debug, Clone)]
struct Occurrence {
    session: usize,
    excerpt: Excerpt,
    text: String,
    author: Option<String>,
    at: Option<Timestamp>,
    /// For tool errors: the failing call's input and what worked next.
    call: Option<String>,
    fix: Option<String>,
}

/// Finds the patterns of `sessions` (sorted by id) that recur in at least
/// `min_sessions` sessions.
pub fn find(sessions: &[Session], min_sessions: usize) -> Vec<Pattern> {
    let min_sessions = min_sessions.max(2);
    let mut patterns = Vec::new();
    let mut errors: BTreeMap<String, Vec<Occurrence>> = BTreeMap::new();
    let mut corrections: Vec<(BTreeSet<String>, Occurrence)> = Vec::new();
    let mut preferences: Vec<(BTreeSet<String>, Occurrence)> = Vec::new();
    for (si, session) in sessions.iter().enumerate() {
        for (sig, occ) in tool_errors(si, session) {
            errors.entry(sig).or_default().push(occ);
        }
        for (i, turn) in session.turns.iter().enumerate() {
            if turn.role != Role::User || turn.text.trim().is_empty() || !turn.tool_results.is_empty() {
                continue;
            }
            let kind = if is_correction(&turn.text) {
                &mut corrections
            } else if is_preference(&turn.text) {
                &mut preferences
            } else {
                continue;
            };
            let key: BTreeSet<String> = analyse(&turn.text)
                .tokens
                .into_iter()
                .map(|t| t.text)
                .filter(|t| t != "not" && t != "prefer")
                .collect();
            if key.is_empty() {
                continue;
            }
            let occ = Occurrence {
                session: si,
                excerpt: session.excerpt(i.saturating_sub(1), i + 1),
                text: first_sentence(&turn.text),
                author: turn.author.clone(),
                at: turn.timestamp,
                call: None,
                fix: None,
            };
            kind.push((key, occ));
        }
    }
    for (sig, occs) in errors {
        if distinct_sessions(&occs).len() >= min_sessions {
            patterns.push(tool_error_pattern(sessions, &sig, &occs));
        }
    }
    for group in group_by_words(corrections) {
        if distinct_sessions(&group).len() >= min_sessions {
            patterns.push(said_pattern(sessions, PatternKind::RecurringMistake, &group));
        }
    }
    for group in group_by_words(preferences) {
        let authors: BTreeSet<&str> = group.iter().filter_map(|o| o.author.as_deref()).collect();
        let shared =
            authors.len() >= 2 || (authors.is_empty() && distinct_sessions(&group).len() >= min_sessions);
        if shared && distinct_sessions(&group).len() >= min_sessions {
            patterns.push(said_pattern(sessions, PatternKind::SharedPreference, &group));
        }
    }
    patterns
}

fn distinct_sessions(occs: &[Occurrence]) -> BTreeSet<usize> {
    occs.iter().map(|o| o.session).collect()
}

/// Every tool error of a session with its signature, failing call and the
/// next successful call of the same tool.
fn tool_errors(si: usize, session: &Session) -> Vec<(String, Occurrence)> {
    let mut calls: BTreeMap<&str, (usize, &str, &str)> = BTreeMap::new();
    let mut last_call: Option<(usize, &str, &str)> = None;
    let mut out = Vec::new();
    let turns = &session.turns;
    for (i, turn) in turns.iter().enumerate() {
        for call in &turn.tool_calls {
            let entry = (i, call.name.as_str(), call.input.as_str());
            if let Some(id) = &call.id {
                calls.insert(id.as_str(), entry);
            }
            last_call = Some(entry);
        }
        for result in turn.tool_results.iter().filter(|r| r.is_error) {
            let found = result.call_id.as_deref().and_then(|id| calls.get(id).copied()).or(last_call);
            let (call_turn, tool, input) = found.unwrap_or((i, "tool", ""));
            let sig = format!("{tool}: {}", error_signature(&result.content));
            let fix = next_success(turns, i, tool);
            let occ = Occurrence {
                session: si,
                excerpt: session.excerpt(call_turn, i + 1),
                text: result.content.lines().find(|l| !l.trim().is_empty()).unwrap_or("").trim().to_owned(),
                author: None,
                at: turn.timestamp.or(turns[call_turn].timestamp),
                call: (!input.is_empty()).then(|| input.to_owned()),
                fix,
            };
            out.push((sig, occ));
        }
    }
    out
}

/// The input of the first successful call of `tool` after turn `after`.
fn next_success(turns: &[Turn], after: usize, tool: &str) -> Option<String> {
    let mut pending: BTreeMap<&str, &str> = BTreeMap::new();
    for turn in turns.iter().skip(after + 1) {
        for call in turn.tool_calls.iter().filter(|c| c.name == tool) {
            pending.insert(call.id.as_deref().unwrap_or(""), call.input.as_str());
        }
        for result in &turn.tool_results {
            let id = result.call_id.as_deref().unwrap_or("");
            if let Some(input) = pending.get(id)
                && !result.is_error
            {
                return Some((*input).to_owned());
            }
        }
    }
    None
}

const CORRECTION_STARTS: &[&str] = &[
    "no,",
    "no ",
    "no.",
    "no!",
    "nope",
    "wrong",
    "stop",
    "don't",
    "dont",
    "do not",
    "never",
    "that's not",
    "thats not",
    "that is not",
    "not like that",
    "actually,",
    "i told you",
    "you forgot",
    "please don't",
    "please do not",
    "we don't",
    "we do not",
    "you should have",
    "why did you",
    "again,",
];
const CORRECTION_ANYWHERE: &[&str] = &["i told you", "you keep", "as i said", "i already said", "not again"];
const PREFERENCE_MARKS: &[&str] = &[
    "i prefer",
    "we prefer",
    "i'd prefer",
    "we'd prefer",
    "please always",
    "always use",
    "we always",
    "i always",
    "i like",
    "we like",
    "our convention",
    "the convention",
    "team convention",
    "please use",
    "let's use",
    "lets use",
    "i want you to",
    "make sure to",
    "we use",
    "i'd rather",
    "we'd rather",
    "prefer to",
];

fn is_correction(text: &str) -> bool {
    let t = text.trim().to_lowercase().replace('\u{2019}', "'");
    CORRECTION_STARTS.iter().any(|s| t.starts_with(s)) || CORRECTION_ANYWHERE.iter().any(|s| t.contains(s))
}

fn is_preference(text: &str) -> bool {
    let t = text.trim().to_lowercase().replace('\u{2019}', "'");
    PREFERENCE_MARKS.iter().any(|s| t.contains(s))
}

/// Groups statements whose content words overlap (greedy, in input order:
/// each joins the first group whose first statement it matches).
fn group_by_words(items: Vec<(BTreeSet<String>, Occurrence)>) -> Vec<Vec<Occurrence>> {
    let mut seeds: Vec<BTreeSet<String>> = Vec::new();
    let mut groups: Vec<Vec<Occurrence>> = Vec::new();
    for (key, occ) in items {
        let found = seeds.iter().position(|seed| {
            let inter = seed.intersection(&key).count() as f64;
            let min = seed.len().min(key.len()) as f64;
            let union = (seed.len() + key.len()) as f64 - inter;
            (inter > 0.0 && inter / min >= GROUP_OVERLAP && inter / union >= GROUP_JACCARD)
                || (inter >= GROUP_MIN_SHARED as f64 && inter / min >= 0.5)
        });
        match found {
            Some(g) => groups[g].push(occ),
            None => {
                seeds.push(key);
                groups.push(vec![occ]);
            }
        }
    }
    groups
}

fn first_sentence(text: &str) -> String {
    let line = text.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("");
    clip(line, 240)
}

fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let mut s: String = text.chars().take(max).collect();
        s.push('…');
        s
    }
}

fn short(id: &SessionId) -> String {
    id.to_string()[..12].to_owned()
}

fn evidence_of(occs: &[Occurrence]) -> Vec<Excerpt> {
    let set: BTreeSet<Excerpt> = occs.iter().map(|o| o.excerpt.clone()).collect();
    set.into_iter().take(MAX_PATTERN_EVIDENCE).collect()
}

fn evidence_line(body: &mut String, sessions: &[Session], occs: &[Occurrence]) {
    let cites: Vec<String> = evidence_of(occs)
        .iter()
        .map(|e| format!("session {} turns {}–{}", short(&e.session), e.start, e.end))
        .collect();
    let _ = writeln!(body, "\nEvidence: {}.", cites.join("; "));
    let _ = sessions;
}

fn finish(
    kind: PatternKind,
    slug: String,
    body: String,
    occs: &[Occurrence],
    sessions: &[Session],
) -> Pattern {
    let ids: BTreeSet<SessionId> = occs.iter().map(|o| sessions[o.session].id).collect();
    Pattern {
        kind,
        slug,
        body,
        sessions: ids.into_iter().collect(),
        evidence: evidence_of(occs),
        first_at: occs.iter().filter_map(|o| o.at).min(),
        last_at: occs.iter().filter_map(|o| o.at).max(),
    }
}

fn tool_error_pattern(sessions: &[Session], sig: &str, occs: &[Occurrence]) -> Pattern {
    let (tool, message) = sig.split_once(": ").unwrap_or(("tool", sig));
    let n_sessions = distinct_sessions(occs).len();
    let mut body = String::new();
    let _ = writeln!(body, "# Recurring mistake: `{tool}` fails with \"{message}\"\n");
    let _ = writeln!(body, "Seen {} times in {n_sessions} sessions. Example error:\n", occs.len());
    let _ = writeln!(body, "    {}\n", clip(&occs[0].text, 300));
    if let Some(call) = occs.iter().find_map(|o| o.call.as_deref()) {
        let _ = writeln!(body, "A failing call: `{}`", clip(call, 300));
    }
    let fixes: BTreeMap<&str, usize> =
        occs.iter().filter_map(|o| o.fix.as_deref()).fold(BTreeMap::new(), |mut m, f| {
            *m.entry(f).or_insert(0) += 1;
            m
        });
    if let Some((fix, _)) = fixes.iter().max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0))) {
        let _ = writeln!(body, "What worked afterwards: `{}`", clip(fix, 300));
    }
    let _ = writeln!(body, "\nCheck for this before calling `{tool}` again; do what worked instead.");
    evidence_line(&mut body, sessions, occs);
    finish(PatternKind::RecurringMistake, slug(&format!("{tool} {message}"), 6), body, occs, sessions)
}

fn said_pattern(sessions: &[Session], kind: PatternKind, occs: &[Occurrence]) -> Pattern {
    let n_sessions = distinct_sessions(occs).len();
    let authors: BTreeSet<&str> = occs.iter().filter_map(|o| o.author.as_deref()).collect();
    let by = if authors.is_empty() {
        String::new()
    } else {
        format!(" by {}", authors.into_iter().collect::<Vec<_>>().join(", "))
    };
    let title = clip(&occs[0].text, 80);
    let mut body = String::new();
    match kind {
        PatternKind::RecurringMistake => {
            let _ = writeln!(body, "# Recurring correction: {title}\n");
            let _ = writeln!(
                body,
                "Users corrected the agent about this {} times in {n_sessions} sessions{by}. Get it right from the start. In their words:\n",
                occs.len()
            );
        }
        PatternKind::SharedPreference => {
            let _ = writeln!(body, "# Shared preference: {title}\n");
            let _ = writeln!(body, "Stated in {n_sessions} sessions{by}. In their words:\n");
        }
    }
    let mut quoted = BTreeSet::new();
    for o in occs {
        if quoted.len() >= MAX_QUOTES {
            break;
        }
        if quoted.insert(o.text.as_str()) {
            let who = o.author.as_deref().unwrap_or("user");
            let _ = writeln!(body, "- \"{}\" ({who})", o.text);
        }
    }
    evidence_line(&mut body, sessions, occs);
    finish(kind, slug(&occs[0].text, 6), body, occs, sessions)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::{SessionFormat, ToolCall, ToolResult};

    fn turn(role: Role, author: Option<&str>, text: &str) -> Turn {
        Turn {
            role,
            author: author.map(str::to_owned),
            text: text.into(),
            tool_calls: vec![],
            tool_results: vec![],
            timestamp: None,
            sidechain: false,
        }
    }

    fn failing(id: &str, cmd: &str, err: &str) -> Vec<Turn> {
        let mut call = turn(Role::Assistant, None, "");
        call.tool_calls.push(ToolCall { id: Some(id.into()), name: "Bash".into(), input: cmd.into() });
        let mut res = turn(Role::User, None, "");
        res.tool_results.push(ToolResult { call_id: Some(id.into()), content: err.into(), is_error: true });
        vec![call, res]
    }

    fn session(name: &str, turns: Vec<Turn>) -> Session {
        Session::new(SessionFormat::Text, Some(name.into()), None, turns)
    }

    #[test]
    fn recurring_tool_errors_surface_and_one_offs_do_not() {
        let s1 = session(
            "1",
            [
                failing("a", "cat /a/x.json", "ENOENT: no such file '/a/x.json'"),
                failing("b", "make", "make: *** No rule to make target 'all'"),
            ]
            .concat(),
        );
        let s2 = session("2", failing("c", "cat /b/y.json", "ENOENT: no such file '/b/y.json'"));
        let mut sessions = vec![s1, s2];
        sessions.sort_by_key(|s| s.id);
        let found = find(&sessions, 2);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!(found[0].kind, PatternKind::RecurringMistake);
        assert_eq!(found[0].sessions.len(), 2);
        assert!(found[0].body.contains("Seen 2 times in 2 sessions"));
        assert!(found[0].slug.starts_with("bash-enoent"));
    }

    #[test]
    fn preferences_need_two_people() {
        let shared = [
            session("1", vec![turn(Role::User, Some("alice"), "I prefer tabs for indentation")]),
            session("2", vec![turn(Role::User, Some("bob"), "We like tabs for indentation here")]),
            session("3", vec![turn(Role::User, Some("carol"), "I prefer small pull requests")]),
            session("4", vec![turn(Role::User, Some("carol"), "I prefer small pull requests, please")]),
        ];
        let mut sessions = shared.to_vec();
        sessions.sort_by_key(|s| s.id);
        let found = find(&sessions, 2);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!(found[0].kind, PatternKind::SharedPreference);
        assert!(found[0].body.contains("alice, bob"));
    }

    #[test]
    fn corrections_recur_across_sessions() {
        let mut sessions = vec![
            session("1", vec![turn(Role::User, None, "No, use pnpm, not npm.")]),
            session("2", vec![turn(Role::User, None, "Don't use npm here, use pnpm")]),
        ];
        sessions.sort_by_key(|s| s.id);
        let found = find(&sessions, 2);
        assert_eq!(found.len(), 1);
        assert!(found[0].body.starts_with("# Recurring correction"));
    }
}
