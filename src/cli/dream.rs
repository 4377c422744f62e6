//! The dream commands: `dream`, `diff`, `accept`, `discard`. Each
//! translates its arguments into [`dreamwork::dream::disk`] calls and
//! prints a short summary (timings go to the summary, never into OUT).

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

use dreamwork::dream::disk::{self, DiffLine, DiskRequest};
use dreamwork::dream::{Dream, DreamOptions};
use dreamwork::folder::{self, ChangeKind, claude_code};
use dreamwork::report::{Action, Report};
use dreamwork::resolve::{Asking, ExecResolver, Journal, Limits, LocalResolver, Resolver};
use dreamwork::session::{FormatChoice, SessionFormat, import_paths};

use super::CliResult;
use super::embed::ModelArgs;
use super::progress::Bars;

/// Who settles the clusters the rules leave open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ResolverChoice {
    /// Offline rules: value-only conflicts by recency, the rest flagged.
    Local,
    /// Any program speaking the contract as JSON lines (--resolver-cmd).
    Exec,
    /// Claude through the Messages API (ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL).
    #[cfg(feature = "remote")]
    Anthropic,
    /// The hosted Dreams API over a temporary store of the questions.
    #[cfg(feature = "remote")]
    Dreams,
}

/// Who answers the dream's questions, and what may be sent.
#[derive(Debug, Args)]
pub(crate) struct ResolveArgs {
    /// Who settles what the rules leave open.
    #[arg(long, value_enum, default_value = "local")]
    pub(crate) resolver: ResolverChoice,
    /// For --resolver exec: the program and its arguments, split as a shell
    /// would ("python3 answer.py --model small").
    #[arg(long, value_name = "COMMAND", required_if_eq("resolver", "exec"))]
    pub(crate) resolver_cmd: Option<String>,
    /// For --resolver exec: seconds the program may stay silent while
    /// questions wait before they are left open.
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    pub(crate) resolver_timeout: u64,
    /// A JSONL journal of resolutions: replayed when the same question
    /// comes again, appended otherwise (makes re-runs identical).
    #[arg(long)]
    pub(crate) journal: Option<PathBuf>,
    /// Extra instructions passed with every question to the resolver.
    #[arg(long)]
    pub(crate) instructions: Option<String>,
    /// Send at most N questions; the rest stay open and are reported.
    #[arg(long, value_name = "N")]
    pub(crate) max_questions: Option<usize>,
    /// Send questions of at most N prompt tokens in all; the rest stay open.
    #[arg(long, value_name = "N")]
    pub(crate) max_tokens: Option<u64>,
    /// Send nothing: write the questions a real run would send (redacted)
    /// to OUT/dream/questions.jsonl and print their count and tokens.
    #[arg(long)]
    pub(crate) dry_run: bool,
    #[cfg(feature = "remote")]
    #[command(flatten)]
    pub(crate) remote: super::remote::RemoteArgs,
}

/// The dream commands.
#[derive(Debug, Subcommand)]
pub(crate) enum DreamCommand {
    /// Dream over STORE and write a new, cleaner store to OUT, with the
    /// report in OUT/dream/report.json and report.md. STORE is only read.
    /// STORE may be a folder of Markdown memory files (a Claude Code memory
    /// folder: its project's transcripts are the sessions unless --sessions
    /// names others); `accept` then writes the dream back into it.
    Dream {
        /// The input store or folder of memory files (never changed).
        store: PathBuf,
        /// The output directory (must not exist).
        #[arg(long)]
        out: PathBuf,
        /// Transcript files or directories read alongside STORE's sessions
        /// (never imported into STORE).
        #[arg(long, num_args = 1..)]
        sessions: Vec<PathBuf>,
        /// Format of the --sessions files: auto, claude-code, managed-agents, openai or text.
        #[arg(long, default_value = "auto")]
        format: FormatChoice,
        #[command(flatten)]
        model: ModelArgs,
        #[command(flatten)]
        resolve: Box<ResolveArgs>,
        /// Worker threads (default: all cores); never changes the output.
        #[arg(long)]
        threads: Option<usize>,
        /// Neither read nor add to the user vector cache (CACHE/vectors,
        /// where CACHE is --cache-dir, else $DREAMWORK_CACHE_DIR, else
        /// ~/.cache/dreamwork); STORE's own vectors are still read.
        #[arg(long)]
        no_cache: bool,
    },
    /// Show what the dream in OUT changed compared with STORE (for a
    /// folder: the files `accept` adds, rewrites and removes).
    Diff {
        /// The input store or folder.
        store: PathBuf,
        /// The dream output (or any other store).
        out: PathBuf,
    },
    /// Replace STORE with the dream output OUT; the old store is kept next
    /// to it as STORE.bak-N (rename it back to undo). For a folder of memory
    /// files: write the dream back into it (refused if it changed since).
    Accept {
        /// The store or folder to replace.
        store: PathBuf,
        /// The dream output.
        out: PathBuf,
    },
    /// Delete the dream output OUT (refuses any directory that is not one).
    Discard {
        /// The dream output.
        out: PathBuf,
    },
}

/// Appends a line to the command's output (written once at the end, so a
/// closed pipe never aborts the command).
macro_rules! say {
    ($out:expr, $($arg:tt)*) => {{
        use std::fmt::Write as _;
        let _ = writeln!($out, $($arg)*);
    }};
}

pub(crate) fn run(cmd: DreamCommand) -> CliResult {
    let mut text = String::new();
    let result = execute(cmd, &mut text);
    emit(&text);
    result
}

/// Writes the output to stdout; a reader that went away (a closed pipe) is
/// not an error of ours.
fn emit(text: &str) {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush());
}

fn execute(cmd: DreamCommand, text: &mut String) -> CliResult {
    match cmd {
        DreamCommand::Dream { store, out, sessions, format, model, resolve, threads, no_cache } => {
            let ResolveArgs {
                resolver,
                resolver_cmd,
                resolver_timeout,
                journal,
                instructions,
                max_questions,
                max_tokens,
                dry_run,
                #[cfg(feature = "remote")]
                remote,
            } = *resolve;
            let bars = Bars::new();
            // A folder of memory files is read into a temporary store; a
            // Claude Code memory folder brings its project's transcripts.
            let view =
                if folder::is_folder(&store) { Some(folder::FolderStore::open(&store)?) } else { None };
            let input = view.as_ref().map_or_else(|| store.clone(), folder::FolderStore::store_path);
            let (sessions, format) =
                match view.as_ref().and_then(|v| claude_code::transcripts_dir(v.folder())) {
                    Some(dir) if sessions.is_empty() => {
                        (vec![dir], FormatChoice::Fixed(SessionFormat::ClaudeCode))
                    }
                    _ => (sessions, format),
                };
            let extra =
                if sessions.is_empty() { Vec::new() } else { import_paths(&sessions, format, &bars)? };
            let embedder = model.load()?;
            let options = DreamOptions::default()
                .with_instructions(instructions.unwrap_or_default())
                .with_threads(threads);
            #[cfg(feature = "remote")]
            let mut leftovers = None;
            let backend: Box<dyn Resolver> = match resolver {
                ResolverChoice::Local => Box::new(LocalResolver),
                ResolverChoice::Exec => Box::new(
                    ExecResolver::new(resolver_cmd.as_deref().unwrap_or_default())?
                        .timeout(std::time::Duration::from_secs(resolver_timeout)),
                ),
                #[cfg(feature = "remote")]
                ResolverChoice::Anthropic => Box::new(remote.anthropic(super::interrupt(), dry_run)?),
                #[cfg(feature = "remote")]
                ResolverChoice::Dreams => {
                    let dreams = remote.dreams(super::interrupt(), dry_run, &input, &extra)?;
                    leftovers = Some(dreams.leftovers());
                    Box::new(dreams)
                }
            };
            let mut journal = journal.as_ref().map(Journal::open).transpose()?;
            let limits = Limits::default().with_max_questions(max_questions).with_max_tokens(max_tokens);
            let mut asking = Asking::new(backend.as_ref()).limits(limits).dry_run(dry_run);
            if let Some(j) = journal.as_mut() {
                asking = asking.journal(j);
            }
            let vector_cache = if no_cache { None } else { model.cache_dir() };
            let dream = Dream::new(options);
            let done: Result<_, Box<dyn std::error::Error>> = match &view {
                Some(v) => {
                    let request = folder::FolderRequest::new(out.clone())
                        .with_sessions(extra)
                        .with_vector_cache(vector_cache);
                    folder::dream(
                        v,
                        &dream,
                        request,
                        embedder.as_ref(),
                        &mut asking,
                        &bars,
                        super::interrupt(),
                    )
                    .map(|f| (f.disk, Some(f.record)))
                    .map_err(Into::into)
                }
                None => {
                    let request = DiskRequest::new(store.clone(), out.clone())
                        .with_extra_sessions(extra)
                        .with_vector_cache(vector_cache);
                    disk::dream_store(
                        &dream,
                        request,
                        embedder.as_ref(),
                        &mut asking,
                        &bars,
                        super::interrupt(),
                    )
                    .map(|d| (d, None))
                    .map_err(Into::into)
                }
            };
            bars.finish();
            #[cfg(feature = "remote")]
            for left in leftovers.iter().flat_map(|l| l.list()) {
                eprintln!("dreamwork: warning: {left}");
            }
            let (done, record) = done?;
            for warning in &done.warnings {
                eprintln!("dreamwork: warning: {warning}");
            }
            let t = done.timings;
            say!(
                text,
                "dreamed {} -> {} in {:.2?} (read {:.2?}, dream {:.2?}, write {:.2?}; {} texts embedded, {} from cache; word vectors of {} texts computed, {} from cache)",
                store.display(),
                out.display(),
                t.read + t.dream + t.write,
                t.read,
                t.dream,
                t.write,
                done.embedded,
                done.cached,
                done.words_computed,
                done.words_cached
            );
            print_summary(text, &done.report);
            let stats = asking.stats().clone();
            let spent = backend.usage();
            drop(asking);
            print_asking(text, backend.name().as_str(), &stats, dry_run, &spent);
            if let Some(j) = &journal {
                say!(
                    text,
                    "journal {}: {} answers replayed, {} recorded",
                    j.path().display(),
                    stats.replayed,
                    j.recorded()
                );
            }
            say!(text, "questions: {}", done.report_dir.join(disk::QUESTIONS_JSONL).display());
            say!(text, "report: {}", done.report_dir.join(disk::REPORT_MD).display());
            if let Some(r) = &record {
                print_folder(text, &store, &out, r);
            }
            Ok(())
        }
        DreamCommand::Diff { store, out } if folder::is_folder(&store) => {
            let (changes, drift) = folder::diff(&store, &out)?;
            for c in &changes {
                let mark = match c.change {
                    ChangeKind::Added => '+',
                    ChangeKind::Removed => '-',
                    ChangeKind::Rewritten => '~',
                    _ => '?',
                };
                say!(text, "{mark} {}\t{}", c.file, c.reason);
            }
            print_unresolved(text, &disk::read_report(&out)?);
            if !drift.is_empty() {
                eprintln!(
                    "dreamwork: warning: {} changed since the dream ({}); accept would refuse",
                    store.display(),
                    drift.join(", ")
                );
            }
            Ok(())
        }
        DreamCommand::Diff { store, out } => {
            let lines = disk::diff_stores(&store, &out)?;
            let report = if disk::is_dream_output(&out) { Some(disk::read_report(&out)?) } else { None };
            for line in &lines {
                let (mark, path) = match line {
                    DiffLine::Added(p) => ('+', p),
                    DiffLine::Removed(p) => ('-', p),
                    DiffLine::Changed(p) => ('~', p),
                    // A kind of line this build does not know.
                    _ => continue,
                };
                let why = report.as_ref().and_then(|r| {
                    r.memories
                        .iter()
                        .find(|e| &e.path == path)
                        .map(|e| format!("{}: {}", e.action.as_str(), e.reason))
                        .or_else(|| {
                            r.dropped.iter().find(|d| &d.path == path).map(|d| match &d.into {
                                Some(into) => format!("into {into}: {}", d.reason),
                                None => d.reason.clone(),
                            })
                        })
                });
                match why {
                    Some(why) => say!(text, "{mark} {path}\t{why}"),
                    None => say!(text, "{mark} {path}"),
                }
            }
            if let Some(r) = &report {
                print_unresolved(text, r);
            }
            Ok(())
        }
        DreamCommand::Accept { store, out } if folder::is_folder(&store) => {
            let done = folder::accept(&store, &out)?;
            let count = |k: ChangeKind| done.changes.iter().filter(|c| c.change == k).count();
            say!(
                text,
                "{} now holds the dream: {} files added, {} rewritten, {} removed; the old folder is kept at {}",
                done.folder.display(),
                count(ChangeKind::Added),
                count(ChangeKind::Rewritten),
                count(ChangeKind::Removed),
                done.backup.display()
            );
            say!(
                text,
                "to undo: mv {} {}.rejected && mv {} {}",
                done.folder.display(),
                done.folder.display(),
                done.backup.display(),
                done.folder.display()
            );
            say!(
                text,
                "{} stays as the record of this dream (`dreamwork discard` removes it)",
                out.display()
            );
            Ok(())
        }
        DreamCommand::Accept { store, out } => {
            let backup = disk::accept(&store, &out)?;
            say!(
                text,
                "{} now holds the dream; the old store is kept at {}",
                store.display(),
                backup.display()
            );
            say!(
                text,
                "to undo: mv {} {}.rejected && mv {} {}",
                store.display(),
                store.display(),
                backup.display(),
                store.display()
            );
            Ok(())
        }
        DreamCommand::Discard { out } => {
            disk::discard(&out)?;
            say!(text, "discarded {}", out.display());
            Ok(())
        }
    }
}

/// The clusters a dream left open, one line each.
fn print_unresolved(text: &mut String, r: &Report) {
    for u in &r.unresolved {
        let paths: Vec<&str> = u.sources.iter().map(|p| p.as_str()).collect();
        say!(text, "? {}\t{}\t{}", u.cluster, paths.join(" "), u.why);
    }
}

/// What `accept` will do to the folder a dream read.
fn print_folder(
    text: &mut String,
    folder: &std::path::Path,
    out: &std::path::Path,
    r: &folder::FolderRecord,
) {
    let count = |k: ChangeKind| r.changes.iter().filter(|c| c.change == k).count();
    say!(
        text,
        "folder {} ({} files read): accept adds {}, rewrites {}, removes {} files",
        folder.display(),
        r.files.len(),
        count(ChangeKind::Added),
        count(ChangeKind::Rewritten),
        count(ChangeKind::Removed)
    );
    if let Some(i) = &r.index {
        let moved = if i.moved > 0 {
            format!("; {} lines moved to {}", i.moved, folder::OVERFLOW_FILE)
        } else {
            String::new()
        };
        say!(text, "index {}: {} lines, {} bytes{moved}", i.file, i.lines, i.bytes);
    }
    if !r.repeats.is_empty() {
        say!(text, "{} memories repeat a line of a CLAUDE.md (see the report)", r.repeats.len());
    }
    say!(
        text,
        "review: dreamwork diff {0} {1}; then dreamwork accept {0} {1}",
        folder.display(),
        out.display()
    );
}

/// What was asked of the resolver, sent and spent in this run.
fn print_asking(
    text: &mut String,
    name: &str,
    s: &dreamwork::resolve::AskStats,
    dry_run: bool,
    spent: &dreamwork::resolve::Usage,
) {
    if dry_run {
        say!(
            text,
            "dry run: {} questions ({} tokens) would be sent to {name}; nothing was sent ({} answered by the journal, {} left out by the caps)",
            s.would_send.len(),
            s.sent_tokens,
            s.replayed,
            s.capped
        );
        return;
    }
    say!(
        text,
        "resolver {name}: {} questions, {} answered by the journal, {} sent ({} tokens), {} left out by the caps",
        s.asked,
        s.replayed,
        s.sent,
        s.sent_tokens,
        s.capped
    );
    if s.wire.requests > 0 {
        say!(
            text,
            "sent to {name} this run: {} tokens ({} bytes) in {} requests, fixed prompts and schemas included",
            s.wire.tokens,
            s.wire.bytes,
            s.wire.requests
        );
    }
    if !spent.is_zero() {
        say!(
            text,
            "server usage this run: {} input, {} output, {} cache-write, {} cache-read tokens",
            spent.input_tokens,
            spent.output_tokens,
            spent.cache_creation_input_tokens,
            spent.cache_read_input_tokens
        );
    }
}

fn print_summary(text: &mut String, r: &Report) {
    say!(
        text,
        "input: {} memories, {} sessions; output: {} memories; questions answered by {}",
        r.input.memories,
        r.input.sessions,
        r.output.memories,
        r.resolver
    );
    say!(
        text,
        "kept {}, merged {}, superseded {}, patterns {}, unresolved {} (clusters left for review: {}); input memories folded into others: {}",
        r.count(Action::Kept),
        r.count(Action::Merged),
        r.count(Action::Superseded),
        r.count(Action::Pattern),
        r.count(Action::Unresolved),
        r.unresolved.len(),
        r.dropped.len()
    );
    let ratio = if r.tokens.sent == 0 {
        "nothing to send".to_owned()
    } else {
        format!("{:.1}x fewer", r.tokens.naive as f64 / r.tokens.sent as f64)
    };
    say!(
        text,
        "tokens ({}): a whole-store dream would send {}, this plan sends {} ({ratio}); server usage for these answers: {} input, {} output, {} cache-write, {} cache-read",
        r.tokens.tokenizer,
        r.tokens.naive,
        r.tokens.sent,
        r.tokens.usage.input_tokens,
        r.tokens.usage.output_tokens,
        r.tokens.usage.cache_creation_input_tokens,
        r.tokens.usage.cache_read_input_tokens
    );
    let u = &r.tokens.usage;
    let cost = u.input_tokens + u.cache_creation_input_tokens + u.cache_read_input_tokens + u.output_tokens;
    if cost > 0 {
        say!(
            text,
            "the answers cost {cost} tokens at the server ({:.1}x fewer than the {} a whole-store dream would read)",
            r.tokens.naive as f64 / cost as f64,
            r.tokens.naive
        );
    }
}
