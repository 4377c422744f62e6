//! Resolvers settle what the dream's rules could not. The dream hands them
//! **questions** and applies their **answers**; one contract, several
//! backends.
//!
//! # The contract
//!
//! A [`Question`] is one JSON object (one line on the wire):
//!
//! ```json
//! {"id": "c-1a2b3c4d5e6f", "kind": "cluster", "why": "…",
//!  "members": [{"path": "/a.md", "content": "…", "updated_at": "2026-05-06T12:00:00.000Z"}],
//!  "excerpts": [{"session": "<the transcript's own id>", "turns": [12, 14], "at": "…", "text": "…"}],
//!  "instructions": "…"}
//! ```
//!
//! `kind` is `cluster` (memories that may state the same fact, or a changed
//! one) or `pattern` (the excerpts are candidate occurrences,
//! across sessions, of what may be one recurring mistake or one shared
//! preference; `"draft": {"path": "/patterns/…", "kind": …, "content": "…"}`
//! is the device's proposed memory for it, which an answer may take as it
//! is, rewrite or reject; its `members`, often none, are memories of the
//! store that may already state the rule). `session` is the transcript's own id (a Claude Code
//! `sessionId`, a Managed Agents session id), else the first 12 hex digits of
//! its content hash. `turns` is `[start, end)`. `instructions` are the
//! user's (`--instructions`), possibly empty. The `id` is `c-` and the first
//! 12 hex digits of [`Question::key`], the blake3 of the question's other
//! fields as sent.
//!
//! An [`Answer`] is one JSON object, either
//!
//! ```json
//! {"id": "c-1a2b3c4d5e6f", "outputs": [{"path": "/a.md", "content": "…",
//!   "sources": ["/a.md", "/b.md"], "action": "merged"}], "reason": "…"}
//! ```
//!
//! or `{"id": …, "unresolved": true, "reason": "…"}`. For a cluster, every
//! member path is in the `sources` of at most one output (a member in none
//! is kept as it is, so a large cluster is answered by naming only what
//! merges or is superseded), each output's
//! `path` is one of its own sources, `action` is `kept` (one source, its text
//! unchanged), `merged` (the sources state the same fact) or `superseded`
//! (the output replaces stale facts among its sources), and `content` obeys
//! the store's limits ([`check_content`]). A `pattern` question is answered
//! by the patterns its excerpts show: one output each, with a new path
//! under `/patterns/`, `"sources": []`, `"action": "pattern"`, `"kind":
//! "recurring_mistake"` or `"shared_preference"`, and the `"sessions"` it
//! rests on (at least two of the question's) — usually one, none when the
//! excerpts show no pattern (`"outputs": []`: rejected, settled); where a
//! member already states the rule, the output cites it instead: the
//! member's `path`, its text unchanged, `"sources": []`, `"action":
//! "stated"`, `kind` and `sessions` as for a new one (nothing is written;
//! the report names the member); or unresolved. Extra fields are ignored both ways.
//!
//! An answer that breaks a rule is treated as unresolved and the report says
//! which rule ([`OpenReason`]); so is a question a backend failed to answer.
//! [`check()`] applies the rules; [`Answer::parse_line`] reads an answer line.
//!
//! # Backends
//!
//! A backend implements [`Resolver`]: it answers a batch of questions with
//! one [`Reply`] per question. The dream drives it through [`Asking`], which
//! replays the [`Journal`], applies the caps and the dry run, splits the
//! questions into the backend's [batches](Resolver::batches) and runs up to
//! [`parallelism`](Resolver::parallelism) of them at once; replies are put
//! back in question order, so concurrency never changes an output byte.
//! [`LocalResolver`] settles value-only conflicts by recency and leaves the
//! rest for review; [`ExecResolver`] runs any program that speaks the
//! contract as JSON lines on its stdin and stdout.
//!
//! Promise: an answer depends only on its question (and, for the journal, on
//! the journal file), never on the order questions are asked in.

mod answer;
#[cfg(feature = "remote")]
pub mod anthropic;
pub(crate) mod ask;
pub(crate) mod check;
mod dates;
#[cfg(feature = "remote")]
pub mod dreams;
pub(crate) mod exec;
#[cfg(feature = "remote")]
pub mod http;
pub(crate) mod journal;
pub(crate) mod local;
mod question;
mod reason;
pub(crate) mod redact;
mod resolver;
mod usage;
pub mod wire;

pub use crate::memory::check_content;
pub use answer::{Answer, AnswerError, Output, OutputAction, Verdict};
pub use ask::{AskStats, Asking, Limits, Prepared};
pub use check::{NewPattern, Outcome, Part, PartAction, check};
pub use exec::ExecResolver;
pub use journal::{Journal, JournalEntry};
pub use local::LocalResolver;
pub use question::{
    PatternDraft, PatternKind, Question, QuestionExcerpt, QuestionKind, QuestionMemory, id_of,
};
pub use reason::OpenReason;
pub use resolver::{Answered, RESOLVE_STAGE, Reply, ResolveError, Resolver, ResolverName, Watch};
pub use usage::{Sent, Usage};

/// A question about `/a` ("port 1", older) and `/b` ("port {newer}"), for tests.
#[cfg(test)]
pub(crate) fn port_question(newer: &str) -> Question {
    use crate::memory::{MemoryPath, Timestamp};
    let member = |path: &str, content: String, at| QuestionMemory {
        path: MemoryPath::new(path).expect("a valid test path"),
        content,
        updated_at: Timestamp(at),
    };
    Question::new(
        QuestionKind::Cluster,
        "same subject, different values",
        vec![member("/a", "port 1".into(), 1), member("/b", format!("port {newer}"), 2)],
        vec![],
        "",
    )
}

#[cfg(test)]
mod tests;
