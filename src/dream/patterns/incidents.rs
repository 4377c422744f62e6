//! What happened in one session: tool failures with the call that failed
//! and what worked next, and the user's directives
//! ([`directive`]), joined into *incidents*: a failure and the
//! directive that answers it are one incident, never two; a directive that
//! answers no failure is an incident of its own.

use std::collections::{BTreeMap, BTreeSet};

use super::statements::directive;
use crate::session::{Excerpt, Role, Session, Turn};
use crate::text::{Lexicon, content_words, plain_words};

/// A directive joins the failure before it when it comes within this many
/// turns of the failing result, before any other user text.
pub const ATTACH_WINDOW: usize = 6;
/// Most turns an incident's excerpt spans.
const MAX_EXCERPT_TURNS: usize = 8;

/// A failing tool call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The tool.
    pub tool: String,
    /// The error with its varying parts masked ([`error_signature`]).
    pub signature: String,
    /// The first line of the error, as the tool wrote it.
    pub first_line: String,
    /// The failing call's input, if any.
    pub call: Option<String>,
    /// The input of the next successful call of the same tool.
    pub fix: Option<String>,
    /// The turn of that call's result.
    pub fixed_at: Option<usize>,
    /// The program the failing command ran and the one the fix ran, when
    /// they differ (`npm` → `pnpm`): the agent reached for the wrong one.
    pub swap: Option<(String, String)>,
    /// A program the fix ran first, before the failing one (`alembic
    /// upgrade head && pytest`): a step the agent left out, and the
    /// failing program.
    pub before: Option<(String, String)>,
    /// The first lines of the error (for telling what a directive is about).
    pub detail: String,
}

impl Failure {
    /// How it was set right, when a fix shows it: `("to", program)` for a
    /// switch to another program, `("first", program)` for a step run
    /// before the failing one.
    pub fn remedy(&self) -> Option<(&str, &str)> {
        match (&self.swap, &self.before) {
            (Some((_, to)), _) => Some(("to", to.as_str())),
            (None, Some((first, _))) => Some(("first", first.as_str())),
            (None, None) => None,
        }
    }
}

/// A user directive in a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Said {
    /// The turn.
    pub turn: usize,
    /// Who said it, where the transcript tells.
    pub author: Option<String>,
    /// What was said ([`statements::Directive::text`](super::statements::Directive)).
    pub text: String,
    /// Whether it opens with a correction.
    pub correction: bool,
}

/// One thing that happened: a failure with the directives that answer it,
/// or a directive alone.
#[derive(Debug, Clone)]
pub struct Incident {
    /// The failure, if a tool failed.
    pub failure: Option<Failure>,
    /// The directives that go with it.
    pub said: Vec<Said>,
    /// Where it is.
    pub excerpt: Excerpt,
    /// When, where known.
    pub at: Option<crate::memory::Timestamp>,
}

/// The incidents of one session, in excerpt order.
pub fn read(session: &Session, lexicon: &Lexicon) -> Vec<Incident> {
    let lex = &lexicon.patterns;
    let turns = &session.turns;
    let mut failures: Vec<(usize, usize, Failure)> = tool_failures(turns);
    failures.sort_by_key(|f| f.1);
    let mut taken = vec![false; failures.len()];
    let user_text_turns: Vec<usize> = turns
        .iter()
        .enumerate()
        .filter(|(_, t)| {
            t.role == Role::User && !t.sidechain && t.tool_results.is_empty() && !t.text.trim().is_empty()
        })
        .map(|(i, _)| i)
        .collect();
    // The failure a user turn may answer: the latest before it, within the
    // window, not yet set right by the agent, with no other user text between.
    let answers = |turn: usize| {
        failures.iter().enumerate().rev().find(|(_, (_, result, f))| {
            *result < turn
                && turn - result <= ATTACH_WINDOW
                && f.fixed_at.is_none_or(|at| at > turn)
                && !user_text_turns.iter().any(|&u| u > *result && u < turn)
        })
    };
    let acted = |turn: usize| {
        turns[..turn]
            .iter()
            .any(|t| t.role == Role::Assistant && (!t.text.trim().is_empty() || !t.tool_calls.is_empty()))
    };
    let mut out: Vec<Incident> = Vec::new();
    let mut pending: Vec<Incident> = Vec::new();
    for &i in &user_text_turns {
        let turn = &turns[i];
        let Some(d) = directive(&turn.text, acted(i), lex) else { continue };
        let said = Said { turn: i, author: turn.author.clone(), text: d.text, correction: d.correction };
        // The failure this directive answers, if it speaks about it.
        match answers(i).filter(|(_, (_, _, f))| related(f, &said.text, lexicon)) {
            Some((k, (call_turn, _, f))) => {
                let end = (i + 1).min(*call_turn + MAX_EXCERPT_TURNS);
                if let Some(existing) = pending
                    .iter_mut()
                    .find(|p| p.failure.as_ref() == Some(f) && p.excerpt.start as usize == *call_turn)
                {
                    existing.said.push(said);
                    existing.excerpt = session.excerpt(*call_turn, end.max(existing.excerpt.end as usize));
                } else {
                    pending.push(Incident {
                        failure: Some(f.clone()),
                        said: vec![said],
                        excerpt: session.excerpt(*call_turn, end),
                        at: turn.timestamp.or(turns[*call_turn].timestamp),
                    });
                }
                taken[k] = true;
            }
            None => out.push(Incident {
                failure: None,
                excerpt: session.excerpt(said_from(turns, i), i + 1),
                at: turn.timestamp,
                said: vec![said],
            }),
        }
    }
    for (k, (call_turn, result, f)) in failures.into_iter().enumerate() {
        if !taken[k] {
            out.push(Incident {
                failure: Some(f),
                said: Vec::new(),
                excerpt: session.excerpt(call_turn, result + 1),
                at: turns[result].timestamp.or(turns[call_turn].timestamp),
            });
        }
    }
    out.extend(pending);
    out.sort_by(|a, b| a.excerpt.cmp(&b.excerpt));
    out
}

/// Where the excerpt of a directive at `turn` starts: at the agent's words
/// it answers, when the turn before is that (not a long tool output, which
/// would crowd the directive out of a question's excerpt).
fn said_from(turns: &[Turn], turn: usize) -> usize {
    match turn.checked_sub(1).map(|p| &turns[p]) {
        Some(t) if t.role == Role::Assistant && !t.text.trim().is_empty() => turn - 1,
        _ => turn,
    }
}

/// Whether a directive speaks about a failure: it shares a content word
/// (of three letters or more) with the failing call, its error or its fix,
/// names split at `/`, `.`, `-` and `_` too.
fn related(f: &Failure, said: &str, lexicon: &Lexicon) -> bool {
    let mut text = format!("{} {}", f.detail, f.call.as_deref().unwrap_or(""));
    if let Some(fix) = &f.fix {
        text.push(' ');
        text.push_str(fix);
    }
    let keys = |t: &str| -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for w in content_words(t, lexicon) {
            for part in w.key.split(['/', '.', '-', '_']).chain([w.key.as_str()]) {
                if part.chars().count() >= 3 {
                    out.insert(part.to_owned());
                }
            }
        }
        out
    };
    !keys(said).is_disjoint(&keys(&text))
}

/// Every tool failure of a session: (call turn, result turn, failure).
fn tool_failures(turns: &[Turn]) -> Vec<(usize, usize, Failure)> {
    let mut calls: BTreeMap<&str, (usize, &str, &str)> = BTreeMap::new();
    let mut last_call: Option<(usize, &str, &str)> = None;
    let mut out = Vec::new();
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
            let next = next_success(turns, i, tool).filter(|(at, _)| at - i <= ATTACH_WINDOW * 2);
            let swap = next.as_ref().and_then(|(_, fix)| swap(input, fix));
            let before = next.as_ref().and_then(|(_, fix)| before(input, fix));
            let fixed_at = next.as_ref().map(|(at, _)| *at);
            let fix = next.map(|(_, fix)| fix);
            let detail: String = result.content.lines().take(8).collect::<Vec<_>>().join("\n");
            let first_line =
                result.content.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("").to_owned();
            out.push((
                call_turn,
                i,
                Failure {
                    tool: tool.to_owned(),
                    signature: error_signature(&result.content),
                    first_line,
                    call: (!input.is_empty()).then(|| input.to_owned()),
                    fix,
                    fixed_at,
                    swap,
                    before,
                    detail,
                },
            ));
        }
    }
    out
}

/// The programs of a failing command and of the one that worked next,
/// when the next one does the same job with another program: it runs the
/// same arguments (a subcommand, a package, a path) and never the first
/// program (`npm run test:unit` → `pnpm test`; not `psql …` → `docker
/// compose up db && psql …`, not `run` → `make check`).
fn swap(failed: &str, fix: &str) -> Option<(String, String)> {
    let (a, b) = (program(failed)?, program(fix)?);
    let args = |input: &str, program: &str| -> (bool, std::collections::BTreeSet<String>) {
        let command = command_text(input).unwrap_or_default();
        let w: Vec<String> = plain_words(&command);
        let runs = |p: &str| w.iter().any(|x| x == p);
        let rest = w.iter().filter(|x| x.as_str() != program && x.len() > 1).cloned().collect();
        (runs(program), rest)
    };
    let (_, failed_args) = args(failed, &a);
    let (_, fix_args) = args(fix, &b);
    let fix_runs_a = plain_words(&command_text(fix).unwrap_or_default()).contains(&a);
    (a != b && !fix_runs_a && failed_args.intersection(&fix_args).next().is_some()).then_some((a, b))
}

/// A program the fix runs first, then the failing command's program with
/// the failing command's arguments: (first program, failing program).
fn before(failed: &str, fix: &str) -> Option<(String, String)> {
    let (a, first) = (program(failed)?, program(fix)?);
    let failed_cmd = command_text(failed)?;
    let fix_cmd = command_text(fix)?;
    let later = fix_cmd.split("&&").skip(1).any(|step| step.trim() == failed_cmd.trim());
    (first != a && later).then_some((first, a))
}

/// The command of a shell call: the input's `command` field, or the input
/// itself when it is not JSON; `None` for other tools' inputs.
fn command_text(input: &str) -> Option<String> {
    match serde_json::from_str::<serde_json::Value>(input) {
        Ok(serde_json::Value::Object(obj)) => Some(obj.get("command")?.as_str()?.to_owned()),
        Ok(_) => None,
        Err(_) => Some(input.to_owned()),
    }
}

/// The turn and input of the first successful call of `tool` after turn `after`.
fn next_success(turns: &[Turn], after: usize, tool: &str) -> Option<(usize, String)> {
    let mut pending: BTreeMap<&str, &str> = BTreeMap::new();
    for (at, turn) in turns.iter().enumerate().skip(after + 1) {
        for call in turn.tool_calls.iter().filter(|c| c.name == tool) {
            pending.insert(call.id.as_deref().unwrap_or(""), call.input.as_str());
        }
        for result in &turn.tool_results {
            let id = result.call_id.as_deref().unwrap_or("");
            if let Some(input) = pending.get(id)
                && !result.is_error
            {
                return Some((at, (*input).to_owned()));
            }
        }
    }
    None
}

/// The program a shell call runs: the first word of its `command` (the
/// input's `command` field, or the input itself when it is not JSON),
/// skipping `VAR=value`, `sudo`, `env`, `time` and leading `cd … &&`
/// steps; a path keeps its last part. `None` for other tools' inputs.
pub fn program(input: &str) -> Option<String> {
    let command = command_text(input)?;
    for step in command.split("&&").flat_map(|s| s.split(';')) {
        let mut words = step.split_whitespace().filter(|w| {
            !(w.contains('=') && !w.starts_with('-')
                || matches!(*w, "sudo" | "env" | "time" | "exec" | "command"))
        });
        let Some(first) = words.next() else { continue };
        if first == "cd" {
            continue;
        }
        let name = first.rsplit('/').next().unwrap_or(first).to_lowercase();
        return name.chars().any(char::is_alphabetic).then_some(name);
    }
    None
}

/// Replaces the parts of an error message that vary between occurrences
/// (paths, hex ids and hashes, numbers, quoted strings, UUIDs) with
/// placeholders, keeps the first non-empty line, and trims it to 160
/// characters, so that the same failure reads the same in every session.
pub fn error_signature(message: &str) -> String {
    let line = message.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("");
    let mut out = String::new();
    for word in line.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&mask_word(word));
    }
    let mut masked = mask_quoted(&out);
    if masked.chars().count() > 160 {
        masked = masked.chars().take(160).collect();
    }
    masked
}

fn mask_word(word: &str) -> String {
    let trimmed = word.trim_matches(|c: char| matches!(c, ',' | ';' | '(' | ')' | '[' | ']' | '{' | '}'));
    let core = trimmed.trim_end_matches([':', '.']);
    if core.is_empty() {
        return word.to_owned();
    }
    let is_path = core.contains('/') && core.len() > 1 || core.starts_with('~');
    let hexish = core.len() >= 7
        && core.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
        && core.chars().any(|c| c.is_ascii_digit());
    let has_digit = core.chars().any(|c| c.is_ascii_digit());
    let placeholder = if is_path {
        Some("<path>")
    } else if hexish {
        Some("<id>")
    } else if has_digit && core.chars().all(|c| c.is_ascii_digit() || matches!(c, '.' | ':' | '-' | '_')) {
        Some("<n>")
    } else if has_digit && core.chars().filter(char::is_ascii_digit).count() * 2 >= core.len() {
        Some("<id>")
    } else {
        None
    };
    match placeholder {
        Some(p) => word.replacen(core, p, 1),
        None => word.to_owned(),
    }
}

/// Masks the inside of '...', "..." and `...` quotes.
fn mask_quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut open: Option<char> = None;
    for c in text.chars() {
        match open {
            Some(q) if c == q => {
                out.push_str("<s>");
                out.push(c);
                open = None;
            }
            Some(_) => {}
            None if matches!(c, '\'' | '"' | '`') => {
                out.push(c);
                open = Some(c);
            }
            None => out.push(c),
        }
    }
    if let Some(q) = open {
        // An unbalanced quote is an apostrophe or a cut message: keep the rest as written.
        let start = out.rfind(q).map_or(out.len(), |i| i + q.len_utf8());
        out.truncate(start);
        let tail: String =
            text.chars().rev().take_while(|&c| c != q).collect::<Vec<_>>().into_iter().rev().collect();
        out.push_str(&tail);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::{SessionFormat, ToolCall, ToolResult};

    fn turn(role: Role, text: &str) -> Turn {
        Turn {
            role,
            author: Some("ana".into()),
            text: text.into(),
            tool_calls: vec![],
            tool_results: vec![],
            timestamp: None,
            sidechain: false,
        }
    }

    fn call(id: &str, cmd: &str, out: &str, error: bool) -> Vec<Turn> {
        let mut c = turn(Role::Assistant, "");
        c.tool_calls.push(ToolCall {
            id: Some(id.into()),
            name: "Bash".into(),
            input: serde_json::json!({ "command": cmd }).to_string(),
        });
        let mut r = turn(Role::User, "");
        r.tool_results.push(ToolResult { call_id: Some(id.into()), content: out.into(), is_error: error });
        vec![c, r]
    }

    #[test]
    fn programs_of_shell_commands() {
        for (input, want) in [
            ("{\"command\":\"cd web && CI=1 npm install\"}", Some("npm")),
            ("{\"command\":\"sudo /usr/bin/docker compose up\"}", Some("docker")),
            ("yarn add zod", Some("yarn")),
            ("{\"file_path\":\"/a\"}", None),
        ] {
            assert_eq!(program(input).as_deref(), want, "{input}");
        }
    }

    #[test]
    fn a_failure_and_its_correction_are_one_incident() {
        let lex = crate::text::Lexicon::built_in();
        let turns = [
            call("a", "npm install", "npm error Unsupported URL Type \"workspace:\": workspace:*", true),
            vec![turn(Role::User, "This repo is a pnpm workspace, npm can't install it. Use pnpm.")],
            call("b", "pnpm install", "Done in 2.1s", false),
        ]
        .concat();
        let s = Session::new(SessionFormat::Text, Some("t.md".into()), None, turns);
        let found = read(&s, lex);
        assert_eq!(found.len(), 1, "{found:#?}");
        let i = &found[0];
        assert_eq!(i.said.len(), 1);
        assert_eq!(i.failure.as_ref().and_then(|f| f.swap.clone()), Some(("npm".into(), "pnpm".into())));
        assert_eq!((i.excerpt.start, i.excerpt.end), (0, 3));
    }

    #[test]
    fn an_unrelated_correction_stays_apart() {
        let lex = crate::text::Lexicon::built_in();
        let turns = [
            call("a", "make", "make: *** No rule to make target 'all'", true),
            vec![turn(Role::User, "No, the retro is on Thursday this week.")],
        ]
        .concat();
        let s = Session::new(SessionFormat::Text, None, None, turns);
        assert_eq!(read(&s, lex).len(), 2);
    }

    #[test]
    fn error_signatures_mask_what_varies() {
        let a = error_signature("ENOENT: no such file or directory, open '/home/ann/app/config.json'");
        let b = error_signature("ENOENT: no such file or directory, open '/srv/x/y.json'");
        assert_eq!(a, b);
        let c = error_signature("error[E0308]: mismatched types at src/main.rs:42:7");
        let d = error_signature("error[E0308]: mismatched types at src/lib.rs:7:1");
        assert_eq!(c, d);
        assert_eq!(
            error_signature("connection refused on port 5432"),
            error_signature("connection refused on port 6543")
        );
        assert_ne!(error_signature("permission denied"), error_signature("connection refused"));
    }
}
