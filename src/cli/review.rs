//! `dreamwork review STORE OUT`: settle a dream's open clusters one key at
//! a time in the terminal (or from a file of answers with `--answers`),
//! then rewrite OUT with the answers. A translation into
//! [`dreamwork::review`] calls.

use std::collections::BTreeSet;
use std::io::IsTerminal;
use std::path::PathBuf;

use clap::Args;

use dreamwork::dream::disk;
use dreamwork::review::{self, AnswerLog, Ending, JournalLog, Review};
use dreamwork::{EmbedderChoice, folder};

use super::CliResult;
use super::embed::LocateArgs;
use super::progress::Bars;

/// Settle the clusters a dream left open, one key each, then rewrite OUT
/// with the answers (atomically; STORE is only read).
#[derive(Debug, Args)]
pub(crate) struct ReviewArgs {
    /// The input store or folder of memory files the dream read (never changed).
    store: PathBuf,
    /// The dream output to review.
    out: PathBuf,
    /// The journal the answers go to (default OUT/dream/journal.jsonl); a
    /// later `dream --journal FILE` replays them.
    #[arg(long)]
    journal: Option<PathBuf>,
    /// Apply a file of answers (one JSON answer per line) without prompting.
    #[arg(long)]
    answers: Option<PathBuf>,
    #[command(flatten)]
    locate: LocateArgs,
}

/// What the review is not allowed to do without a terminal.
const NO_TERMINAL: &str = "review needs a terminal (standard input and output); \
                           to apply answers from a script use --answers FILE";

pub(crate) fn run(args: ReviewArgs) -> CliResult {
    let ReviewArgs { store, out, journal, answers, locate } = args;
    if !disk::is_dream_output(&out) {
        return Err(dreamwork::DreamError::NotADreamOutput(out).into());
    }
    if answers.is_none() && !(std::io::stdin().is_terminal() && std::io::stdout().is_terminal()) {
        return Err(NO_TERMINAL.into());
    }
    let journal = journal.unwrap_or_else(|| review::default_journal(&out));
    let report = disk::read_report(&out)?;
    let choice = EmbedderChoice::for_model(&report.embedder).ok_or_else(|| {
        format!(
            "{}: the dream used the embedder {:?}, which this build does not know",
            out.display(),
            report.embedder
        )
    })?;
    let embedder = locate.load(choice)?;
    let cache = locate.cache_dir();
    // A folder is re-read as the dream read it (refused if it changed since).
    let view =
        if folder::is_folder(&store) { Some(folder::FolderStore::for_output(&store, &out)?) } else { None };
    let store = view.as_ref().map_or(store, folder::FolderStore::store_path);
    let rewrite = |answered: usize| -> CliResult {
        let bars = Bars::new();
        let done = review::rewrite_output(
            &store,
            &out,
            &journal,
            embedder.as_ref(),
            cache.as_ref(),
            &bars,
            super::interrupt(),
        );
        bars.finish();
        let done = done?;
        if let Some(v) = &view {
            folder::refresh(v, &out)?;
        }
        let noun = if answered == 1 { "answer" } else { "answers" };
        println!("{}: rewritten with {answered} {noun} applied", out.display());
        println!("{} clusters still open; journal {}", done.report.unresolved.len(), journal.display());
        Ok(())
    };

    let open = review::open_clusters(&out)?;
    // Every answer of the file is checked before any is journaled.
    let scripted = answers.as_deref().map(|file| review::read_answers(file, &open)).transpose()?;
    let mut log = JournalLog::open(&journal)?;
    // Answers journaled by an earlier review that OUT does not show yet
    // (it stopped before rewriting): apply them first.
    let pending = open.iter().filter(|q| log.settles(q)).count();
    if let Some(checked) = scripted {
        for (question, answer) in &checked {
            log.record(question, answer)?;
        }
        drop(log);
        return rewrite(checked.len() + pending);
    }
    if pending > 0 {
        drop(log);
        println!("applying {pending} answers an earlier review journaled");
        rewrite(pending)?;
        log = JournalLog::open(&journal)?;
    }
    let mut open = review::open_clusters(&out)?;
    if open.is_empty() {
        println!("nothing to review: {} has no open clusters", out.display());
        return Ok(());
    }
    let editor = review::editor_command();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    loop {
        seen.extend(open.iter().map(|q| q.id.clone()));
        println!("{} open clusters in {} (? for help)", open.len(), out.display());
        println!("answers go to {}", journal.display());
        let mut session = Review::new(open, log);
        let ending = review::run_in_terminal(&mut session, &editor, super::interrupt())?;
        let answered = session.answers().count();
        drop(session);
        if super::interrupt().is_cancelled() {
            return Err(format!(
                "interrupted: OUT was not rewritten; the {answered} answers of this review are in {} \
                 and the next review applies them",
                journal.display()
            )
            .into());
        }
        if answered > 0 {
            rewrite(answered)?;
        }
        if ending == Ending::Quit {
            println!("stopped; run the same command again to go on");
            return Ok(());
        }
        // Answers can open new clusters (what stands now may conflict):
        // go on with those not shown yet.
        open = review::open_clusters(&out)?.into_iter().filter(|q| !seen.contains(&q.id)).collect();
        if open.is_empty() || answered == 0 {
            return Ok(());
        }
        log = JournalLog::open(&journal)?;
    }
}
