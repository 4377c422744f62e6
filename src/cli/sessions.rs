//! `dreamwork sessions import|fetch|ls|show|verify`: a thin translation of
//! arguments into [`SessionStore`] calls (`fetch` in [`super::hosted`]).
//!
//! Until the memory store's lock is available here, the commands work on
//! `STORE/sessions/` directly and only check that `STORE` looks like a
//! store (it holds a `log` file).

use std::fmt::Write as _;
use std::path::PathBuf;

use clap::Subcommand;

use dreamwork::session::{FormatChoice, OnError, Role, Session, SessionSummary};
use dreamwork::store::Store;

use super::CliResult;
use super::progress::Bars;

#[derive(Debug, Subcommand)]
pub(crate) enum SessionsCommand {
    /// Import transcripts (files or directories, walked in sorted order).
    /// Re-importing a transcript already stored changes nothing.
    Import {
        /// The store directory.
        store: PathBuf,
        /// Transcript files, or directories to search for .jsonl, .json,
        /// .md, .markdown and .txt files (files there that fit no format are
        /// skipped and counted; files named here must be transcripts).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// The transcript format: auto, claude-code, managed-agents, openai or text.
        #[arg(long, default_value = "auto")]
        format: FormatChoice,
        /// Skip files that cannot be imported (each is reported on stderr,
        /// and the exit status is 1) instead of stopping at the first one.
        #[arg(long)]
        keep_going: bool,
    },
    /// List stored sessions, oldest first: id, format, start time, turns,
    /// tool calls, tool errors, external id.
    Ls {
        /// The store directory.
        store: PathBuf,
    },
    /// Read and check every stored session (header, checksum, content
    /// hash); report each damaged file, exit 1 if any.
    Verify {
        /// The store directory.
        store: PathBuf,
    },
    /// Fetch the events of Claude Managed Agents sessions from the API
    /// (all pages) and store each as a transcript, known by its session id.
    #[cfg(feature = "remote")]
    Fetch {
        /// The store directory.
        store: PathBuf,
        /// Hosted session ids (sesn_…).
        #[arg(required = true)]
        session_ids: Vec<String>,
        /// Seconds one request may take before it is retried.
        #[arg(long, default_value_t = 120, value_name = "SECS")]
        request_timeout: u64,
    },
    /// Print one stored session, turn by turn.
    Show {
        /// The store directory.
        store: PathBuf,
        /// The session id, or a unique prefix of it.
        id: String,
    },
}

pub(crate) fn run(cmd: SessionsCommand) -> CliResult {
    match cmd {
        SessionsCommand::Import { store, paths, format, keep_going } => {
            let store = Store::open(&store)?;
            let sessions = store.sessions()?;
            let on_error = if keep_going { OnError::Skip } else { OnError::Stop };
            let bars = Bars::new();
            let result = sessions.import_paths(&paths, format, on_error, &bars, super::interrupt());
            bars.finish();
            let summary = result?;
            for (_, error) in &summary.failures {
                eprintln!("dreamwork: skipped {error}");
            }
            let mut line = format!(
                "imported {} ({} new) from {}",
                count(summary.sessions, "session"),
                summary.new,
                count(summary.files, "file")
            );
            if !summary.skipped.is_empty() {
                let _ = write!(line, "; skipped {}", count(summary.skipped.len(), "non-transcript file"));
            }
            println!("{line}");
            match summary.failures.len() {
                0 => Ok(()),
                n => Err(format!("{} could not be imported", count(n, "file")).into()),
            }
        }
        SessionsCommand::Ls { store } => {
            let store = Store::open_read_only(&store)?;
            let sessions = store.sessions()?;
            let mut summaries = sessions.summaries()?;
            // Oldest first; undated sessions last; the id breaks ties.
            summaries.sort_by(|a, b| {
                (a.started_at.is_none(), a.started_at, a.id).cmp(&(
                    b.started_at.is_none(),
                    b.started_at,
                    b.id,
                ))
            });
            let mut out = String::new();
            for s in &summaries {
                ls_line(&mut out, s);
            }
            print!("{out}");
            Ok(())
        }
        SessionsCommand::Verify { store } => {
            let store = Store::open_read_only(&store)?;
            let sessions = store.sessions()?;
            let (intact, damaged) = sessions.verify()?;
            for error in &damaged {
                eprintln!("dreamwork: {error}");
            }
            println!("{} intact, {} damaged", count(intact, "session"), damaged.len());
            match damaged.len() {
                0 => Ok(()),
                n => Err(format!("{} damaged", count(n, "session file")).into()),
            }
        }
        #[cfg(feature = "remote")]
        SessionsCommand::Fetch { store, session_ids, request_timeout } => {
            super::hosted::fetch(&store, &session_ids, request_timeout)
        }
        SessionsCommand::Show { store, id } => {
            let store = Store::open_read_only(&store)?;
            let sessions = store.sessions()?;
            let id = sessions.resolve(&id)?;
            print!("{}", render(&sessions.get(&id)?));
            Ok(())
        }
    }
}

/// `n thing` or `n things`.
fn count(n: usize, thing: &str) -> String {
    if n == 1 { format!("1 {thing}") } else { format!("{n} {thing}s") }
}

/// One tab-separated `ls` line.
fn ls_line(out: &mut String, s: &SessionSummary) {
    let started = s.started_at.map(|t| t.to_rfc3339()).unwrap_or_else(|| "-".to_owned());
    let _ = writeln!(
        out,
        "{}\t{}\t{}\t{}\t{}\t{}\t{}",
        s.id,
        s.format,
        started,
        count(s.turns, "turn"),
        count(s.tool_calls, "tool call"),
        count(s.tool_errors, "tool error"),
        s.external_id.as_deref().unwrap_or("-")
    );
}

/// A readable rendering of a whole session.
fn render(session: &Session) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "session  {}", session.id);
    let _ = writeln!(out, "format   {}", session.format);
    if let Some(external) = &session.external_id {
        let _ = writeln!(out, "external {external}");
    }
    if let Some(cwd) = &session.cwd {
        let _ = writeln!(out, "cwd      {cwd}");
    }
    let _ = writeln!(out, "turns    {}", session.turns.len());
    for (i, turn) in session.turns.iter().enumerate() {
        let role = match turn.role {
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::System => "system",
            Role::Tool => "tool",
            _ => "other",
        };
        let _ = write!(out, "\n[{i}] {role}");
        if let Some(author) = &turn.author {
            let _ = write!(out, " ({author})");
        }
        if let Some(t) = turn.timestamp {
            let _ = write!(out, " {}", t.to_rfc3339());
        }
        if turn.sidechain {
            out.push_str(" [sidechain]");
        }
        out.push('\n');
        for line in turn.text.lines() {
            let _ = writeln!(out, "    {line}");
        }
        for call in &turn.tool_calls {
            let id = call.id.as_deref().map(|id| format!(" [{id}]")).unwrap_or_default();
            let _ = writeln!(out, "    -> {}{id} {}", call.name, call.input);
        }
        for result in &turn.tool_results {
            let id = result.call_id.as_deref().map(|id| format!(" [{id}]")).unwrap_or_default();
            let status = if result.is_error { "error" } else { "ok" };
            let _ = writeln!(out, "    <- {status}{id}");
            for line in result.content.lines() {
                let _ = writeln!(out, "       {line}");
            }
        }
    }
    out
}
