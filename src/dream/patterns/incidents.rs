//! What went wrong in one session: tool failures with the call that failed
//! and what worked next, and the user's corrections, joined into
//! *incidents*: a failure and the correction that answers it are one
//! incident, never two.

use std::collections::BTreeMap;

use super::statements::{Statement, StatementKind, Terms, remark, statements};
use crate::session::{Excerpt, Role, Session, Turn};
use crate::text::{PatternLists, plain_words};

/// A correction joins the failure before it when it comes within this many
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
    /// The program the failing command ran and the one the fix ran, when
    /// they differ (`npm` → `pnpm`): the agent reached for the wrong one.
    pub swap: Option<(String, String)>,
    /// A program the fix ran first, before the failing one (`alembic
    /// upgrade head && pytest`): a step the agent left out, and the
    /// failing program.
    pub before: Option<(String, String)>,
    /// The first lines of the error (for telling what a correction is about).
    pub detail: String,
}

/// A user statement in a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Said {
    /// The turn.
    pub turn: usize,
    /// Who said it, where known.
    pub author: Option<String>,
    /// What was said.
    pub statement: Statement,
}

/// One thing that went wrong: a failure, the corrections that answer it,
/// or a correction alone.
#[derive(Debug, Clone)]
pub struct Incident {
    /// The failure, if a tool failed.
    pub failure: Option<Failure>,
    /// The corrections that go with it.
    pub corrections: Vec<Said>,
    /// Where it is.
    pub excerpt: Excerpt,
    /// When, where known.
    pub at: Option<crate::memory::Timestamp>,
}

impl Incident {
    /// Terms the incident says are right: the program the fix switched to
    /// and what the corrections want.
    pub fn remedy(&self) -> Terms {
        let mut t = Terms::default();
        if let Some(program) = self.remedy_program() {
            t.wanted.insert(program.to_owned());
        }
        if let Some((from, _)) = self.failure.as_ref().and_then(|f| f.swap.as_ref()) {
            t.rejected.insert(from.clone());
        }
        for c in &self.corrections {
            t.wanted.extend(c.statement.terms.wanted.iter().cloned());
            t.rejected.extend(c.statement.terms.rejected.iter().cloned());
        }
        t
    }

    /// The program that set things right, if any: the one a fix switched
    /// to, or the one it ran first.
    pub fn remedy_program(&self) -> Option<&str> {
        let f = self.failure.as_ref()?;
        f.swap.as_ref().map(|(_, to)| to.as_str()).or(f.before.as_ref().map(|(first, _)| first.as_str()))
    }
}

/// The incidents and preferences of one session.
#[derive(Debug, Clone, Default)]
pub struct SessionFindings {
    /// What went wrong.
    pub incidents: Vec<Incident>,
    /// Preferences stated, with their excerpts.
    pub preferences: Vec<(Said, Excerpt)>,
}

/// Reads one session.
pub fn read(session: &Session, lex: &PatternLists) -> SessionFindings {
    let turns = &session.turns;
    let mut out = SessionFindings::default();
    // Failures, in turn order, each with the turn of its result.
    let mut failures: Vec<(usize, usize, Failure)> = tool_failures(turns, lex);
    failures.sort_by_key(|f| f.1);
    let mut taken = vec![false; failures.len()];
    let mut pending: Vec<Incident> = Vec::new();
    // User statements.
    let user_text_turns: Vec<usize> = turns
        .iter()
        .enumerate()
        .filter(|(_, t)| {
            t.role == Role::User && !t.sidechain && t.tool_results.is_empty() && !t.text.trim().is_empty()
        })
        .map(|(i, _)| i)
        .collect();
    // The failure a user turn may answer: the latest before it, within the
    // window, with no other user text between.
    let answers = |turn: usize| {
        failures.iter().enumerate().rev().find(|(_, (_, result, _))| {
            *result < turn
                && turn - result <= ATTACH_WINDOW
                && !user_text_turns.iter().any(|&u| u > *result && u < turn)
        })
    };
    let mut said: Vec<Said> = Vec::new();
    for &i in &user_text_turns {
        let turn = &turns[i];
        let found = statements(&turn.text, lex);
        let corrects = found.iter().any(|s| s.kind == StatementKind::Correction);
        // A turn right after a failure that speaks about it corrects it,
        // whatever its wording.
        let reply = (!corrects)
            .then(|| answers(i))
            .flatten()
            .and_then(|(_, (_, _, f))| remark(&turn.text, lex).filter(|r| related(f, &r.terms, lex)));
        let author = turn.author.clone();
        match reply {
            Some(statement) => said.push(Said { turn: i, author, statement }),
            None => said.extend(found.into_iter().map(|statement| Said {
                turn: i,
                author: author.clone(),
                statement,
            })),
        }
    }
    for s in said {
        if s.statement.kind == StatementKind::Preference {
            let excerpt = session.excerpt(s.turn.saturating_sub(1), s.turn + 1);
            out.preferences.push((s, excerpt));
            continue;
        }
        // The failure this correction answers, if it speaks about it.
        let answered = answers(s.turn).filter(|(_, (_, _, f))| related(f, &s.statement.terms, lex));
        match answered {
            Some((k, (call_turn, _, f))) => {
                if let Some(existing) = pending
                    .iter_mut()
                    .find(|p| p.failure.as_ref() == Some(f) && p.excerpt.start as usize == *call_turn)
                {
                    existing.corrections.push(s.clone());
                    let end = (s.turn + 1).min(*call_turn + MAX_EXCERPT_TURNS);
                    existing.excerpt = session.excerpt(*call_turn, end.max(existing.excerpt.end as usize));
                } else {
                    let end = (s.turn + 1).min(*call_turn + MAX_EXCERPT_TURNS);
                    pending.push(Incident {
                        failure: Some(f.clone()),
                        corrections: vec![s.clone()],
                        excerpt: session.excerpt(*call_turn, end),
                        at: turns[s.turn].timestamp.or(turns[*call_turn].timestamp),
                    });
                }
                taken[k] = true;
            }
            None => {
                out.incidents.push(Incident {
                    failure: None,
                    excerpt: session.excerpt(s.turn.saturating_sub(1), s.turn + 1),
                    at: turns[s.turn].timestamp,
                    corrections: vec![s],
                });
            }
        }
    }
    for (k, (call_turn, result, f)) in failures.into_iter().enumerate() {
        if !taken[k] {
            out.incidents.push(Incident {
                failure: Some(f),
                corrections: Vec::new(),
                excerpt: session.excerpt(call_turn, result + 1),
                at: turns[result].timestamp.or(turns[call_turn].timestamp),
            });
        }
    }
    out.incidents.extend(pending);
    out.incidents.sort_by(|a, b| a.excerpt.cmp(&b.excerpt));
    out
}

/// Whether a correction speaks about a failure: it names a term of the
/// failing call, its error or its fix.
fn related(f: &Failure, terms: &Terms, lex: &PatternLists) -> bool {
    let mut text = format!("{} {}", f.detail, f.call.as_deref().unwrap_or(""));
    if let Some(fix) = &f.fix {
        text.push(' ');
        text.push_str(fix);
    }
    let said = terms.all();
    let parts = plain_words(&text).into_iter().flat_map(|w| {
        let mut all: Vec<String> = w.split(['/', '.']).filter(|p| !p.is_empty()).map(str::to_owned).collect();
        all.push(w);
        all
    });
    parts
        .map(|w| lex.canonical(&w))
        .any(|w| !lex.stop_words.contains(&w) && !lex.generic_words.contains(&w) && said.contains(w.as_str()))
}

/// Every tool failure of a session: (call turn, result turn, failure).
fn tool_failures(turns: &[Turn], lex: &PatternLists) -> Vec<(usize, usize, Failure)> {
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
            let swap = next.as_ref().and_then(|(_, fix)| swap(input, fix, lex));
            let before = next.as_ref().and_then(|(_, fix)| before(input, fix, lex));
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
fn swap(failed: &str, fix: &str, lex: &PatternLists) -> Option<(String, String)> {
    let (a, b) = (program(failed, lex)?, program(fix, lex)?);
    let args = |input: &str, program: &str| -> (bool, std::collections::BTreeSet<String>) {
        let command = command_text(input).unwrap_or_default();
        let w: Vec<String> = plain_words(&command).into_iter().map(|w| lex.canonical(&w)).collect();
        let runs = |p: &str| w.iter().any(|x| x == p);
        let rest =
            w.iter().filter(|x| x.as_str() != program && !lex.stop_words.contains(*x)).cloned().collect();
        (runs(program), rest)
    };
    let (_, failed_args) = args(failed, &a);
    let (_, fix_args) = args(fix, &b);
    let fix_runs_a =
        plain_words(&command_text(fix).unwrap_or_default()).iter().any(|w| lex.canonical(w) == a);
    (a != b && !fix_runs_a && failed_args.intersection(&fix_args).next().is_some()).then_some((a, b))
}

/// A program the fix runs first, then the failing command's program with
/// the failing command's arguments: (first program, failing program).
fn before(failed: &str, fix: &str, lex: &PatternLists) -> Option<(String, String)> {
    let (a, first) = (program(failed, lex)?, program(fix, lex)?);
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
pub fn program(input: &str, lex: &PatternLists) -> Option<String> {
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
        return name.chars().any(char::is_alphabetic).then(|| lex.canonical(&name));
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
        let lex = &crate::text::Lexicon::built_in().patterns;
        for (input, want) in [
            ("{\"command\":\"cd web && CI=1 npm install\"}", Some("npm")),
            ("{\"command\":\"sudo /usr/bin/docker compose up\"}", Some("docker")),
            ("yarn add zod", Some("yarn")),
            ("{\"file_path\":\"/a\"}", None),
        ] {
            assert_eq!(program(input, lex).as_deref(), want, "{input}");
        }
    }

    #[test]
    fn a_failure_and_its_correction_are_one_incident() {
        let lex = &crate::text::Lexicon::built_in().patterns;
        let turns = [
            call("a", "npm install", "npm error Unsupported URL Type \"workspace:\": workspace:*", true),
            vec![turn(Role::User, "This repo is a pnpm workspace, npm can't install it. Use pnpm.")],
            call("b", "pnpm install", "Done in 2.1s", false),
        ]
        .concat();
        let s = Session::new(SessionFormat::Text, Some("t.md".into()), None, turns);
        let found = read(&s, lex);
        assert_eq!(found.incidents.len(), 1, "{:#?}", found.incidents);
        let i = &found.incidents[0];
        assert_eq!(i.corrections.len(), 1);
        assert_eq!(i.failure.as_ref().and_then(|f| f.swap.clone()), Some(("npm".into(), "pnpm".into())));
        assert_eq!((i.excerpt.start, i.excerpt.end), (0, 3));
    }

    #[test]
    fn an_unrelated_correction_stays_apart() {
        let lex = &crate::text::Lexicon::built_in().patterns;
        let turns = [
            call("a", "make", "make: *** No rule to make target 'all'", true),
            vec![turn(Role::User, "No, the retro is on Thursday this week.")],
        ]
        .concat();
        let s = Session::new(SessionFormat::Text, None, None, turns);
        assert_eq!(read(&s, lex).incidents.len(), 2);
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
