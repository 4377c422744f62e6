//! Review: a person settles, cluster by cluster, what a dream left open.
//!
//! The open clusters of a dream output are its unresolved questions
//! (`OUT/dream/questions.jsonl`), shown in the report's order. For each,
//! the reviewer keeps one member (the others fold into it), keeps all, or
//! writes the merged memory; each choice becomes an answer of the resolver
//! contract ([`crate::resolve`]) and is appended to the journal at once
//! under the resolver name [`ResolverName::Review`](crate::resolve::ResolverName::Review), so a review can stop and resume, and
//! a later dream with the journal replays it whatever its resolver. When the
//! review ends, [`rewrite_output`] dreams STORE again with the
//! journal and swaps the result in for OUT atomically; STORE is only read.
//!
//! A pattern question (session excerpts that may show one recurring mistake
//! or shared preference) is shown with its occurrences and the memory the
//! dream proposes: the reviewer writes it (`y`), rejects it (`n`: nothing is
//! written, and the question is settled), or edits it first (`e`); where
//! memories of the store may already state its rule (shown as its members),
//! `1`…`9` cites the one that does, and nothing is written. The
//! rewrite re-runs the dream with the options its report saved (embedder,
//! instructions, thresholds, caps…; see [`crate::report`]) and the local
//! resolver, so it reproduces a dream made through the library with other
//! options as well as one of `dreamwork dream`.
//!
//! A front end drives a [`Review`] (the state: current cluster, answers,
//! undo) with one [`Key`] at a time, writing each answer to an
//! [`AnswerLog`] such as the [`JournalLog`]; [`answer()`] turns a
//! [`Choice`] into a contract answer, [`edit`] is the `$EDITOR` round-trip,
//! and [`rewrite_output`] the atomic rewrite of OUT. With the `cli` feature,
//! [`run_in_terminal`] is the terminal front end of `dreamwork review`
//! (keys, and each cluster laid out in lines of at most 80 columns).

mod answer;
pub(crate) mod diff;
mod editor;
pub(crate) mod render;
mod rewrite;
mod session;
#[cfg(feature = "cli")]
mod terminal;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use crate::dream::DreamError;
use crate::dream::disk::{self, REPORT_DIR};
use crate::resolve::journal::REVIEW;
use crate::resolve::{Answer, Answered, Journal, Outcome, Question, ResolveError, Verdict, check};

pub use answer::{Choice, answer};
pub use editor::{Edited, EditorError, edit, editor_command};
pub use rewrite::rewrite_output;
pub use session::{AnswerLog, Key, KeyOutcome, Review};
#[cfg(feature = "cli")]
pub use terminal::{Ending, run_in_terminal};

/// The journal a review writes when none is given: `OUT/dream/journal.jsonl`.
pub const JOURNAL_FILE: &str = "journal.jsonl";

/// Why a review failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReviewError {
    /// Reading OUT, or rewriting it.
    #[error(transparent)]
    Dream(#[from] DreamError),
    /// The journal.
    #[error(transparent)]
    Resolve(#[from] ResolveError),
    /// A line of the questions or answers file.
    #[error("{path}:{line}: {message}")]
    BadLine {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// The journal changed under the review (another process appended to
    /// it), so the last answer cannot be taken back by cutting it off.
    #[error("{0}: the journal grew since the last answer was written; cannot undo it")]
    JournalMoved(PathBuf),
    /// An I/O error on the named file.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// The embedder at hand is not the one the output was dreamed with.
    #[error("{out} was dreamed with the embedder {dreamed}, but this one is {given}")]
    Embedder {
        /// The dream output.
        out: PathBuf,
        /// The report's embedder.
        dreamed: String,
        /// The one given.
        given: String,
    },
    /// Reading keys or writing to the terminal failed.
    #[error("terminal: {0}")]
    Terminal(std::io::Error),
    /// A consistency check failed (a bug; nothing was written).
    #[error("internal check failed: {0}")]
    Invariant(String),
}

/// The journal of `out` when none is given.
pub fn default_journal(out: &Path) -> PathBuf {
    out.join(REPORT_DIR).join(JOURNAL_FILE)
}

/// The open questions of the dream output `out`, in the report's order: the
/// cluster and pattern questions of `OUT/dream/questions.jsonl` the report
/// lists as unresolved.
pub fn open_clusters(out: &Path) -> Result<Vec<Question>, ReviewError> {
    let report = disk::read_report(out)?;
    let path = out.join(REPORT_DIR).join(disk::QUESTIONS_JSONL);
    let text = match fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && report.unresolved.is_empty() => String::new(),
        Err(source) => return Err(ReviewError::Io { path, source }),
    };
    let mut by_id: BTreeMap<String, Question> = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let bad = |message: String| ReviewError::BadLine { path: path.clone(), line: n + 1, message };
        let q: Question = serde_json::from_str(line).map_err(|e| bad(e.to_string()))?;
        if !q.id_matches() {
            return Err(bad(format!("question {} does not hash to its id", q.id)));
        }
        by_id.insert(q.id.clone(), q);
    }
    let mut open = Vec::new();
    for u in &report.unresolved {
        if let Some(q) = by_id.remove(&u.cluster) {
            open.push(q);
        }
    }
    Ok(open)
}

/// The journal as a review writes it: each answer appended under
/// [`ResolverName::Review`](crate::resolve::ResolverName::Review) and synced at once; undo cuts the file back to its length
/// before that answer.
#[derive(Debug)]
pub struct JournalLog {
    path: PathBuf,
    journal: Journal,
}

/// Where an answer sits in the journal file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    start: u64,
    end: u64,
}

impl JournalLog {
    /// Opens (or creates) the journal at `path`.
    pub fn open(path: impl Into<PathBuf>) -> Result<Self, ReviewError> {
        let path = path.into();
        let journal = Journal::open(&path)?;
        Ok(JournalLog { path, journal })
    }

    /// The journal file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the journal holds a person's answer that settles `question`
    /// (one an earlier review gave and OUT may not show yet).
    pub fn settles(&self, question: &Question) -> bool {
        self.journal
            .lookup(&question.key(), &REVIEW, "")
            .is_some_and(|e| e.resolver == REVIEW && matches!(e.answer.verdict, Verdict::Outputs(_)))
    }

    fn len(&self) -> Result<u64, ReviewError> {
        fs::metadata(&self.path)
            .map(|m| m.len())
            .map_err(|source| ReviewError::Io { path: self.path.clone(), source })
    }
}

impl AnswerLog for JournalLog {
    type Receipt = Span;

    fn record(&mut self, question: &Question, answer: &Answer) -> Result<Span, ReviewError> {
        let start = self.len()?;
        self.journal.record(&question.key(), &REVIEW, "", &Answered::from(answer.clone()))?;
        self.journal.sync()?;
        Ok(Span { start, end: self.len()? })
    }

    fn retract(&mut self, span: Span) -> Result<(), ReviewError> {
        if self.len()? != span.end {
            return Err(ReviewError::JournalMoved(self.path.clone()));
        }
        let io = |source| ReviewError::Io { path: self.path.clone(), source };
        let file = fs::OpenOptions::new().write(true).open(&self.path).map_err(io)?;
        file.set_len(span.start).map_err(io)?;
        file.sync_all().map_err(io)?;
        drop(file);
        // Reopened, so that what it remembers matches the file again.
        self.journal = Journal::open(&self.path)?;
        Ok(())
    }
}

/// Reads a file of answers (one contract answer per line, matched to the
/// open clusters by `id`) and checks each against its question, so that a
/// script's answers can be journaled all or none. An `unresolved` answer
/// leaves its cluster open and is left out.
pub fn read_answers<'q>(
    path: &Path,
    open: &'q [Question],
) -> Result<Vec<(&'q Question, Answer)>, ReviewError> {
    let text =
        fs::read_to_string(path).map_err(|source| ReviewError::Io { path: path.to_owned(), source })?;
    let by_id: BTreeMap<&str, &Question> = open.iter().map(|q| (q.id.as_str(), q)).collect();
    let mut checked = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let bad = |message: String| ReviewError::BadLine { path: path.to_owned(), line: n + 1, message };
        let answer = Answer::parse_line(line).map_err(|e| bad(e.to_string()))?;
        let question = by_id
            .get(answer.id.as_str())
            .ok_or_else(|| bad(format!("no open cluster {} in this output", answer.id)))?;
        if answer.verdict == Verdict::Unresolved {
            continue;
        }
        if let Outcome::Open(why) = check(question, &answer) {
            return Err(bad(format!("the answer to {} breaks the contract: {why}", answer.id)));
        }
        checked.push((*question, answer));
    }
    Ok(checked)
}
