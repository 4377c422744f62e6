//! The backend contract: the [`Resolver`] trait, a backend's [`Reply`], the
//! [`Watch`] it reports progress through, and [`ResolveError`].

use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::{Deserialize, Serialize};

use super::{Answer, OpenReason, Question, Sent, Usage};
use crate::progress::{CancelToken, Observer, Progress};

/// An answer and the share of the server's usage it cost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answered {
    /// The answer.
    pub answer: Answer,
    /// Its share of the request's usage ([`Usage::split`]).
    pub usage: Usage,
}

impl From<Answer> for Answered {
    fn from(answer: Answer) -> Self {
        Answered { answer, usage: Usage::default() }
    }
}

/// A backend's reply to one question: an answer, or why there is none
/// (a backend failure, a malformed line, ...).
pub type Reply = Result<Answered, OpenReason>;

/// Progress and cancellation while a backend works: it calls
/// [`answered`](Self::answered) as answers arrive and stops early (leaving
/// the rest unanswered) once [`is_cancelled`](Self::is_cancelled).
pub struct Watch<'a> {
    observer: &'a dyn Observer,
    cancel: &'a CancelToken,
    total: usize,
    done: AtomicUsize,
}

impl std::fmt::Debug for Watch<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watch").field("total", &self.total).field("done", &self.done).finish()
    }
}

/// The progress stage name while waiting on a resolver.
pub const RESOLVE_STAGE: &str = "resolve";

impl<'a> Watch<'a> {
    /// A watch over `total` questions.
    pub fn new(observer: &'a dyn Observer, cancel: &'a CancelToken, total: usize) -> Self {
        Watch { observer, cancel, total, done: AtomicUsize::new(0) }
    }

    /// `n` more questions were answered (or given up on).
    pub fn answered(&self, n: usize) {
        let done = self.done.fetch_add(n, Ordering::Relaxed) + n;
        self.observer.progress(Progress {
            stage: RESOLVE_STAGE,
            done: done as u64,
            total: self.total as u64,
        });
    }

    /// Whether the user asked to stop.
    pub fn is_cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }
}

/// Answers questions (see the module doc). Methods take `&self` so that
/// batches can be answered concurrently; a backend with state keeps it
/// behind a lock.
pub trait Resolver: Send + Sync {
    /// The backend's name: part of the journal key.
    fn name(&self) -> ResolverName;

    /// The model answering, where the backend has one (`""` otherwise): the
    /// other part of the journal key.
    fn model(&self) -> String {
        String::new()
    }

    /// Whether the backend reads the questions unredacted. Only backends
    /// that keep everything on the machine may say yes ([`LocalResolver`](super::LocalResolver)).
    fn reads_secrets(&self) -> bool {
        false
    }

    /// Splits the questions to send (with their prompt tokens) into requests.
    /// The default sends them all in one.
    fn batches(&self, questions: &[Question], tokens: &[u64]) -> Vec<Range<usize>> {
        let _ = tokens;
        std::iter::once(0..questions.len()).collect()
    }

    /// How many batches may be answered at once (default 1).
    fn parallelism(&self) -> usize {
        1
    }

    /// Answers one batch: one reply per question, in order (missing replies
    /// count as [`OpenReason::NoAnswer`]). An `Err` stops the dream; a
    /// failure that leaves questions open is a reply.
    fn resolve(&self, batch: &[Question], watch: &Watch<'_>) -> Result<Vec<Reply>, ResolveError>;

    /// What the server reported for every request so far (also failed ones).
    fn usage(&self) -> Usage {
        Usage::default()
    }

    /// What the backend sent off the machine so far (see [`Sent`]).
    fn sent(&self) -> Sent {
        Sent::default()
    }

    /// Called once when the dream has asked everything (a process backend
    /// closes its program's stdin and waits for it here).
    fn finish(&self) -> Result<(), ResolveError> {
        Ok(())
    }
}

/// Why resolving failed (and the dream with it).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ResolveError {
    /// An I/O error on the named file.
    #[error("{path}: {source}")]
    Io {
        /// The file that failed.
        path: std::path::PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// A journal line is not a valid entry.
    #[error("{path}:{line}: corrupt journal entry: {message}")]
    JournalCorrupt {
        /// The journal file.
        path: std::path::PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        message: String,
    },
    /// A backend could not even start (bad command, missing key, ...).
    #[error("resolver failed: {0}")]
    Backend(String),
    /// The user asked to stop.
    #[error("cancelled")]
    Cancelled,
}

/// A resolver backend's name, typed: the first part of a journal key and
/// the `name` of a report's resolver. Written as its text (`local`, `exec`,
/// `anthropic`, `dreams`, `review`, or any other backend's own name).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
#[non_exhaustive]
pub enum ResolverName {
    /// [`LocalResolver`](super::LocalResolver): offline, leaves questions for review.
    #[default]
    Local,
    /// [`ExecResolver`](super::ExecResolver): any program speaking the contract.
    Exec,
    /// The Messages API resolver.
    Anthropic,
    /// The hosted Dreams API resolver.
    Dreams,
    /// A person, in `dreamwork review`: their journal entries win over any
    /// backend's.
    Review,
    /// A backend defined outside the crate, by its name.
    Other(String),
}

impl ResolverName {
    /// The name as written in journals and reports.
    pub fn as_str(&self) -> &str {
        match self {
            ResolverName::Local => "local",
            ResolverName::Exec => "exec",
            ResolverName::Anthropic => "anthropic",
            ResolverName::Dreams => "dreams",
            ResolverName::Review => "review",
            ResolverName::Other(name) => name,
        }
    }
}

impl From<&str> for ResolverName {
    fn from(name: &str) -> Self {
        match name {
            "local" => ResolverName::Local,
            "exec" => ResolverName::Exec,
            "anthropic" => ResolverName::Anthropic,
            "dreams" => ResolverName::Dreams,
            "review" => ResolverName::Review,
            other => ResolverName::Other(other.to_owned()),
        }
    }
}

impl From<String> for ResolverName {
    fn from(name: String) -> Self {
        ResolverName::from(name.as_str())
    }
}

impl From<ResolverName> for String {
    fn from(name: ResolverName) -> Self {
        name.as_str().to_owned()
    }
}

impl std::fmt::Display for ResolverName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
