//! Resolvers settle what the dream's rules could not: each unresolved
//! cluster becomes a [`Question`] (the memories in conflict, the session
//! excerpts that bear on them, the user's instructions) and a resolver
//! returns an [`Answer`] (which memory wins, or a new text, or "leave it
//! for review", with its reason).
//!
//! Backends: [`LocalResolver`] (deterministic offline rules), [`Journal`]
//! (records every answer keyed by the hash of its question and replays it,
//! so re-runs are byte-identical), and room for remote ones (a question
//! renders as a self-contained [`prompt`](Question::prompt)).
//!
//! Promise: an answer depends only on its question (and, for the journal,
//! on the journal file), never on the order questions are asked in.

#[cfg(feature = "remote")]
pub mod anthropic;
#[cfg(feature = "remote")]
pub mod http;
pub mod journal;
pub mod local;

use serde::{Deserialize, Serialize};

use crate::memory::{ContentHash, MemoryPath, Timestamp, check_content};
use crate::session::SessionId;

pub use journal::Journal;
pub use local::LocalResolver;

/// What the resolver is asked to do, in a sentence (part of every prompt).
pub const TASK: &str = "Each <cluster> holds memories of an AI agent's long-term store, as [path last-updated] text, \
that seem to state different values for the same subject, and session turns that may tell which is current. For \
each cluster decide: keep one memory (by path), or write one text that replaces them all, or leave them for a \
person to review; give a one-sentence reason.";

/// One memory of an unresolved cluster, as the resolver sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuestionMemory {
    /// Its path in the input store.
    pub path: MemoryPath,
    /// Its text.
    pub content: String,
    /// When it was last written.
    pub updated_at: Timestamp,
}

/// A stretch of a session cited as evidence, with its text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuestionExcerpt {
    /// The session.
    pub session: SessionId,
    /// First turn (inclusive).
    pub start: u32,
    /// Last turn (exclusive).
    pub end: u32,
    /// When the excerpt's first turn happened, where known.
    pub at: Option<Timestamp>,
    /// The turns rendered as text (possibly shortened to fit the budget).
    pub text: String,
}

/// An unresolved cluster put to a resolver.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Question {
    /// The memories in conflict, sorted by path.
    pub members: Vec<QuestionMemory>,
    /// The most relevant session excerpts, most relevant first.
    pub excerpts: Vec<QuestionExcerpt>,
    /// Extra instructions from the user (`--instructions`), or empty.
    pub instructions: String,
}

impl Question {
    /// The blake3 of the question's canonical JSON form: the journal key.
    pub fn key(&self) -> ContentHash {
        let json = serde_json::to_vec(self).expect("serialising plain data to JSON cannot fail");
        ContentHash::of(&json)
    }

    /// The text a remote model would be sent for this question, after the
    /// [`prompt_header`] shared by a batch of questions.
    pub fn prompt(&self) -> String {
        let mut out = String::from("<cluster>\n");
        for m in &self.members {
            let day = m.updated_at.to_rfc3339();
            out.push_str(&format!("[{} {}] {}\n", m.path, day.get(..10).unwrap_or(&day), m.content));
        }
        for e in &self.excerpts {
            let id = e.session.to_string();
            out.push_str(&format!("(session {} turn {}) {}\n", &id[..12], e.start, e.text));
        }
        out.push_str("</cluster>\n");
        out
    }
}

/// The instructions sent once before a batch of questions: the [`TASK`] and
/// the user's instructions, if any.
pub fn prompt_header(instructions: &str) -> String {
    let mut out = String::from(TASK);
    out.push('\n');
    if !instructions.is_empty() {
        out.push_str("Instructions: ");
        out.push_str(instructions);
        out.push('\n');
    }
    out
}

/// What a resolver decided for one question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Decision {
    /// The memory at `path` is current; the others are superseded by it.
    Keep {
        /// One of the question's member paths.
        path: MemoryPath,
    },
    /// A new text replaces every member, at `path`.
    Rewrite {
        /// One of the question's member paths.
        path: MemoryPath,
        /// The replacing text.
        content: String,
    },
    /// Nothing can be settled: keep every member and flag the cluster.
    Unresolved,
}

/// A decision and its reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    /// What to do.
    #[serde(flatten)]
    pub decision: Decision,
    /// Why, in one sentence (copied into the report).
    pub reason: String,
}

impl Answer {
    /// Checks that the answer fits its question: a kept or rewritten path
    /// must be a member, a rewritten text must fit the content limit.
    pub fn validate(&self, question: &Question) -> Result<(), ResolveError> {
        let invalid = |message: String| ResolveError::InvalidAnswer { key: question.key().to_hex(), message };
        let path = match &self.decision {
            Decision::Unresolved => return Ok(()),
            Decision::Keep { path } | Decision::Rewrite { path, .. } => path,
        };
        if !question.members.iter().any(|m| &m.path == path) {
            return Err(invalid(format!("{path} is not a memory of the cluster")));
        }
        if let Decision::Rewrite { content, .. } = &self.decision {
            check_content(path, content).map_err(|e| invalid(e.to_string()))?;
        }
        Ok(())
    }
}

/// Why a resolver failed.
#[derive(Debug, thiserror::Error)]
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
    /// An answer does not fit its question.
    #[error("answer to question {key} is invalid: {message}")]
    InvalidAnswer {
        /// The question's key (hex).
        key: String,
        /// What is wrong.
        message: String,
    },
    /// A backend failed.
    #[error("resolver failed: {0}")]
    Backend(String),
}

/// Answers questions about unresolved clusters.
pub trait Resolver: Send {
    /// A short name of the backend (`local`, `journal(local)`...), for summaries.
    fn name(&self) -> String;

    /// Answers one question.
    fn resolve(&mut self, question: &Question) -> Result<Answer, ResolveError>;

    /// Answers a batch, in order. Remote backends override this to send one
    /// request; the default asks one question at a time.
    fn resolve_all(&mut self, questions: &[Question]) -> Result<Vec<Answer>, ResolveError> {
        questions.iter().map(|q| self.resolve(q)).collect()
    }

    /// Makes whatever the resolver recorded durable (called once at the end).
    fn finish(&mut self) -> Result<(), ResolveError> {
        Ok(())
    }
}

/// A question about `/a` ("port 1", older) and `/b` ("port {newer}"), for tests.
#[cfg(test)]
pub(crate) fn port_question(newer: &str) -> Question {
    let member = |path: &str, content: String, at| QuestionMemory {
        path: MemoryPath::new(path).expect("a valid test path"),
        content,
        updated_at: Timestamp(at),
    };
    Question {
        members: vec![member("/a", "port 1".into(), 1), member("/b", format!("port {newer}"), 2)],
        excerpts: vec![],
        instructions: String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn question() -> Question {
        port_question("2")
    }

    #[test]
    fn key_changes_with_content_and_instructions() {
        let q = question();
        let mut r = q.clone();
        r.instructions = "prefer production values".into();
        assert_ne!(q.key(), r.key());
        assert_eq!(q.key(), question().key());
        assert!(prompt_header(&r.instructions).contains("Instructions: prefer production values"));
        assert!(r.prompt().contains("[/a 1970-01-01] port 1"));
    }

    #[test]
    fn answers_must_name_a_member() {
        let q = question();
        let ok =
            Answer { decision: Decision::Keep { path: MemoryPath::new("/b").unwrap() }, reason: "r".into() };
        assert!(ok.validate(&q).is_ok());
        let bad =
            Answer { decision: Decision::Keep { path: MemoryPath::new("/c").unwrap() }, reason: "r".into() };
        assert!(matches!(bad.validate(&q), Err(ResolveError::InvalidAnswer { .. })));
    }

    #[test]
    fn answers_serialise_with_a_tag() {
        let a = Answer { decision: Decision::Unresolved, reason: "why".into() };
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(json, r#"{"decision":"unresolved","reason":"why"}"#);
        assert_eq!(serde_json::from_str::<Answer>(&json).unwrap(), a);
    }
}
