//! The memory a pattern becomes, written for the agent that will read it:
//! the rule as an instruction first, then what happened (the failing calls
//! and what worked, what people said, in their words), then the evidence —
//! sessions by their own ids, who, when.
//!
//! The device states a rule only where the sessions show it: a fix that
//! switched programs ("Use `pnpm` here, not `npm`."), a step the fix ran
//! first ("Run `alembic` before `pytest`."), or a fix of one error. Where
//! only words say it, the rule is the team's own words — the most typical
//! of them, as said: rewording them is a resolver's (or the reviewer's)
//! job.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use super::incidents::{Failure, Incident};
use super::slug;
use super::statements::clip;
use crate::resolve::PatternKind;
use crate::text::Lexicon;

/// Most lines of "what happened".
const MAX_QUOTES: usize = 4;

/// An occurrence as the memory cites it.
pub struct Cited<'a> {
    /// What happened.
    pub incident: &'a Incident,
    /// Its session, as people know it.
    pub session: String,
    /// Who was there, where known.
    pub who: Vec<String>,
}

/// A pattern memory, ready to write or to propose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    /// Its kind.
    pub kind: PatternKind,
    /// Its file name, without extension.
    pub slug: String,
    /// Its path: `/patterns/mistakes/SLUG.md` or `/patterns/preferences/SLUG.md`.
    pub path: String,
    /// Its text.
    pub body: String,
}

/// The memory of a pattern of `kind` seen in `sessions` sessions, from its
/// cited occurrences (most typical first).
pub fn draft(kind: PatternKind, cited: &[Cited<'_>], sessions: usize, lexicon: &Lexicon) -> Draft {
    let failures: Vec<&Failure> = cited.iter().filter_map(|c| c.incident.failure.as_ref()).collect();
    let said: Vec<(&str, &[String])> = cited
        .iter()
        .flat_map(|c| c.incident.said.iter().map(move |s| (s.text.as_str(), c.who.as_slice())))
        .collect();
    let (rule, name) = match (rule_of_fixes(&failures), said.first()) {
        (Some((rule, name)), _) => (rule, name),
        (None, Some((text, _))) => (upper_first(text), (*text).to_owned()),
        (None, None) => match failures.first() {
            Some(f) => {
                let rule = match &f.fix {
                    Some(fix) => format!(
                        "When `{}` fails with \"{}\", do what worked instead: `{}`.",
                        f.tool,
                        clip(&f.signature, 100),
                        clip(fix, 120)
                    ),
                    None => format!(
                        "`{}` keeps failing with \"{}\": check why before running the same call again.",
                        f.tool,
                        clip(&f.signature, 100)
                    ),
                };
                (rule, format!("{} {}", f.tool, f.signature))
            }
            None => ("Watch for this recurring problem.".to_owned(), "item".to_owned()),
        },
    };
    let mut body = String::new();
    let _ = writeln!(body, "# {}\n", clip(&rule, 400));
    let what = match kind {
        PatternKind::RecurringMistake => "Recurring mistake (the agent was set right)",
        PatternKind::SharedPreference => "Shared preference",
    };
    let people: BTreeSet<&str> = cited.iter().flat_map(|c| c.who.iter().map(String::as_str)).collect();
    let by = if people.is_empty() {
        String::new()
    } else {
        format!(", by {}", people.into_iter().collect::<Vec<_>>().join(", "))
    };
    let _ = writeln!(body, "{what}, seen in {sessions} sessions{by}.\n");
    let _ = writeln!(body, "What happened:\n");
    let mut shown = BTreeSet::new();
    for c in cited {
        let line = what_happened(c.incident);
        if shown.len() >= MAX_QUOTES {
            break;
        }
        if shown.insert(line.clone()) {
            for (k, part) in line.lines().enumerate() {
                let _ = writeln!(body, "{}{part}", if k == 0 { "- " } else { "  " });
            }
        }
    }
    let _ = writeln!(body, "\nEvidence:\n");
    let mut by_session: BTreeMap<&str, Vec<&Cited<'_>>> = BTreeMap::new();
    for c in cited {
        by_session.entry(c.session.as_str()).or_default().push(c);
    }
    for (session, cs) in by_session {
        let who: BTreeSet<&str> = cs.iter().flat_map(|c| c.who.iter().map(String::as_str)).collect();
        let when = cs.iter().filter_map(|c| c.incident.at).min().map(|t| t.to_rfc3339()[..10].to_owned());
        let turns: Vec<String> =
            cs.iter().map(|c| format!("{}–{}", c.incident.excerpt.start, c.incident.excerpt.end)).collect();
        let mut about = Vec::new();
        if !who.is_empty() {
            about.push(who.into_iter().collect::<Vec<_>>().join(", "));
        }
        about.extend(when);
        let about = if about.is_empty() { String::new() } else { format!(" ({})", about.join(", ")) };
        let _ = writeln!(body, "- session {session}{about}: turns {}", turns.join(", "));
    }
    let slug = slug(&name, 6, lexicon);
    let dir = match kind {
        PatternKind::RecurringMistake => "mistakes",
        PatternKind::SharedPreference => "preferences",
    };
    Draft { kind, path: format!("/patterns/{dir}/{slug}.md"), slug, body }
}

/// The entry with the most values (the first key of equals).
fn most<'a>(m: BTreeMap<&'a str, BTreeSet<&'a str>>) -> Option<(&'a str, BTreeSet<&'a str>)> {
    m.into_iter().max_by(|a, b| a.1.len().cmp(&b.1.len()).then(b.0.cmp(a.0)))
}

/// The rule the fixes show, with a name for it: the program most fixes
/// switched to, or ran first.
fn rule_of_fixes(failures: &[&Failure]) -> Option<(String, String)> {
    let mut swaps: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    let mut firsts: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for f in failures {
        if let Some((from, to)) = &f.swap {
            swaps.entry(to.as_str()).or_default().insert(from.as_str());
        }
        if let Some((first, then)) = &f.before {
            firsts.entry(first.as_str()).or_default().insert(then.as_str());
        }
    }
    if let Some((to, from)) = most(swaps) {
        let from = quote_list(&from);
        return Some((format!("Use `{to}` here, not {from}."), format!("{from} instead of {to}")));
    }
    let (first, then) = most(firsts)?;
    let then = quote_list(&then);
    Some((format!("Run `{first}` before {then}."), format!("{then} without {first} first")))
}

/// `text` with its first letter in upper case.
fn upper_first(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

fn quote_list(items: &BTreeSet<&str>) -> String {
    items.iter().map(|p| format!("`{p}`")).collect::<Vec<_>>().join(", ")
}

/// What happened in an occurrence, in a line or two: the failing call with
/// its error and what worked next, what people said.
pub fn what_happened(i: &Incident) -> String {
    let mut text = String::new();
    if let Some(f) = &i.failure {
        let call =
            f.call.as_deref().map(|c| format!(" `{}`", clip(&super::command_of(c), 120))).unwrap_or_default();
        let _ = write!(text, "`{}`{call} failed: {}", f.tool, clip(&f.first_line, 160));
        if let Some(fix) = &f.fix {
            let _ = write!(text, "; what worked: `{}`", clip(&super::command_of(fix), 120));
        }
    }
    for s in &i.said {
        if !text.is_empty() {
            text.push('\n');
        }
        let who = s.author.as_deref().unwrap_or("user");
        let _ = write!(text, "{who}: \"{}\"", s.text);
    }
    text
}
