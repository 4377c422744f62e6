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
//! one) or `pattern` (no members; the excerpts are candidate occurrences,
//! across sessions, of what may be one recurring mistake or one shared
//! preference; `"draft": {"path": "/patterns/…", "kind": …, "content": "…"}`
//! is the device's proposed memory for it, which an answer may take as it
//! is, rewrite or reject). `session` is the transcript's own id (a Claude Code
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
//! member path is in the `sources` of exactly one output, each output's
//! `path` is one of its own sources, `action` is `kept` (one source, its text
//! unchanged), `merged` (the sources state the same fact) or `superseded`
//! (the output replaces stale facts among its sources), and `content` obeys
//! the store's limits ([`check_content`]). A `pattern` question is answered
//! by the patterns its excerpts show: one output each, with a new path
//! under `/patterns/`, `"sources": []`, `"action": "pattern"`, `"kind":
//! "recurring_mistake"` or `"shared_preference"`, and the `"sessions"` it
//! rests on (at least two of the question's) — usually one, none when the
//! excerpts show no pattern (`"outputs": []`: rejected, settled); or
//! unresolved. Extra fields are ignored both ways.
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

#[cfg(feature = "remote")]
pub mod anthropic;
pub mod ask;
pub mod check;
#[cfg(feature = "remote")]
pub mod dreams;
pub mod exec;
#[cfg(feature = "remote")]
pub mod http;
pub mod journal;
pub mod local;
pub mod redact;
pub mod wire;

use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::{Deserialize, Serialize};

use crate::memory::{ContentHash, MemoryPath, Timestamp};
use crate::progress::{CancelToken, Observer, Progress};

pub use crate::memory::check_content;
pub use ask::{AskStats, Asking, Limits, Prepared};
pub use check::{NewPattern, Outcome, Part, PartAction, check};
pub use exec::ExecResolver;
pub use journal::Journal;
pub use local::LocalResolver;

/// Kinds of pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PatternKind {
    /// Tool errors or user corrections recurring across sessions.
    RecurringMistake,
    /// A preference stated in several sessions (by several people, where known).
    SharedPreference,
}

/// What a question is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum QuestionKind {
    /// Memories that may state the same fact or a changed one.
    #[default]
    Cluster,
    /// Session excerpts that may show one recurring mistake or one shared
    /// preference.
    Pattern,
}

impl QuestionKind {
    /// The word used on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            QuestionKind::Cluster => "cluster",
            QuestionKind::Pattern => "pattern",
        }
    }
}

/// One memory of a cluster, as the resolver sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuestionMemory {
    /// The path the memory would have in the output.
    pub path: MemoryPath,
    /// Its text.
    pub content: String,
    /// When it was last written.
    #[serde(with = "rfc3339")]
    pub updated_at: Timestamp,
}

/// A stretch of a session cited as evidence, with its text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuestionExcerpt {
    /// The transcript's own id (see the module doc).
    pub session: String,
    /// Turns `[start, end)`.
    pub turns: [u32; 2],
    /// When the excerpt's first turn happened, where known.
    #[serde(with = "rfc3339_opt", default)]
    pub at: Option<Timestamp>,
    /// The turns rendered as text (possibly shortened to fit the budget).
    pub text: String,
}

/// A question put to a resolver (see the module doc for the wire form).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Question {
    /// `c-` and the first 12 hex digits of [`key`](Self::key).
    pub id: String,
    /// Cluster or pattern.
    pub kind: QuestionKind,
    /// Why the dream could not settle it itself.
    pub why: String,
    /// The memories in question, sorted by path (none for a pattern).
    pub members: Vec<QuestionMemory>,
    /// The most relevant session excerpts.
    pub excerpts: Vec<QuestionExcerpt>,
    /// Extra instructions from the user (`--instructions`), or empty.
    pub instructions: String,
    /// For the model: the rules that left a cluster open (`replaced`,
    /// `no_evidence`, …; see [`wire`]), where `why` is the sentence for
    /// people.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub open: Vec<String>,
    /// For the model: the words that tell the members apart.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub differ: Vec<String>,
    /// For a `pattern` question: the memory the device proposes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub draft: Option<PatternDraft>,
}

/// The pattern memory the device proposes for a `pattern` question: the
/// rule as an instruction, then its evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatternDraft {
    /// Where it would be written (under `/patterns/`).
    pub path: MemoryPath,
    /// Which kind it looks like.
    pub kind: PatternKind,
    /// Its text.
    pub content: String,
}

/// The hashed part of a question: everything but the id.
#[derive(Serialize)]
struct QuestionBody<'a> {
    kind: QuestionKind,
    why: &'a str,
    members: &'a [QuestionMemory],
    excerpts: &'a [QuestionExcerpt],
    instructions: &'a str,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    open: &'a [String],
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    differ: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    draft: Option<&'a PatternDraft>,
}

impl Question {
    /// A question; its id is derived from the rest.
    pub fn new(
        kind: QuestionKind,
        why: impl Into<String>,
        members: Vec<QuestionMemory>,
        excerpts: Vec<QuestionExcerpt>,
        instructions: impl Into<String>,
    ) -> Self {
        let mut q = Question {
            id: String::new(),
            kind,
            why: why.into(),
            members,
            excerpts,
            instructions: instructions.into(),
            open: Vec::new(),
            differ: Vec::new(),
            draft: None,
        };
        q.id = id_of(&q.key());
        q
    }

    /// The same question with the device's proposed pattern memory (its id
    /// follows).
    pub fn drafted(mut self, draft: Option<PatternDraft>) -> Self {
        self.draft = draft;
        self.id = id_of(&self.key());
        self
    }

    /// The same question with the short reason for the model: the rules
    /// that left it open and the words that differ (its id follows).
    pub fn hinted(mut self, open: Vec<String>, differ: Vec<String>) -> Self {
        self.open = open;
        self.differ = differ;
        self.id = id_of(&self.key());
        self
    }

    /// The blake3 of the question's canonical JSON form without its id: the
    /// journal key.
    pub fn key(&self) -> ContentHash {
        let body = QuestionBody {
            kind: self.kind,
            why: &self.why,
            members: &self.members,
            excerpts: &self.excerpts,
            instructions: &self.instructions,
            open: &self.open,
            differ: &self.differ,
            draft: self.draft.as_ref(),
        };
        let json = serde_json::to_vec(&body).expect("serialising plain data to JSON cannot fail");
        ContentHash::of(&json)
    }

    /// Whether the id is the one derived from the rest (a question read back
    /// from a file can be checked with this).
    pub fn id_matches(&self) -> bool {
        self.id == id_of(&self.key())
    }

    /// The question as one JSON line (no trailing newline).
    pub fn to_line(&self) -> String {
        serde_json::to_string(self).expect("serialising plain data to JSON cannot fail")
    }
}

/// The id of a question with `key`.
pub fn id_of(key: &ContentHash) -> String {
    format!("c-{}", &key.to_hex()[..12])
}

/// What a resolver says about a question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "WireAnswer", into = "WireAnswer")]
pub struct Answer {
    /// The question's id.
    pub id: String,
    /// The outputs, or unresolved.
    pub verdict: Verdict,
    /// Why, in a sentence (copied into the report).
    pub reason: String,
}

/// An answer's substance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The memories the question's members become (a pattern: one new memory).
    Outputs(Vec<Output>),
    /// Nothing can be settled: the members stay as they are, flagged.
    Unresolved,
}

/// One output memory of an answer, as the resolver wrote it (checked
/// against its question by [`check()`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// Its path.
    pub path: String,
    /// Its text.
    pub content: String,
    /// The member paths it stands for (empty for a pattern).
    pub sources: Vec<String>,
    /// What it is.
    pub action: OutputAction,
}

/// What an output memory is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutputAction {
    /// Its one source, unchanged.
    Kept,
    /// Its sources state the same fact.
    Merged,
    /// It replaces stale facts among its sources.
    Superseded,
    /// A new pattern memory.
    Pattern {
        /// Which kind.
        kind: PatternKind,
        /// The sessions it rests on (as named in the question's excerpts).
        sessions: Vec<String>,
    },
}

impl OutputAction {
    /// The word used on the wire.
    pub fn as_str(&self) -> &'static str {
        match self {
            OutputAction::Kept => "kept",
            OutputAction::Merged => "merged",
            OutputAction::Superseded => "superseded",
            OutputAction::Pattern { .. } => "pattern",
        }
    }
}

impl Answer {
    /// An answer leaving the question open.
    pub fn unresolved(id: impl Into<String>, reason: impl Into<String>) -> Self {
        Answer { id: id.into(), verdict: Verdict::Unresolved, reason: reason.into() }
    }

    /// An answer with outputs.
    pub fn outputs(id: impl Into<String>, outputs: Vec<Output>, reason: impl Into<String>) -> Self {
        Answer { id: id.into(), verdict: Verdict::Outputs(outputs), reason: reason.into() }
    }

    /// Parses one answer line. The error names what is wrong and, when the
    /// line has one, the id it was meant for.
    pub fn parse_line(line: &str) -> Result<Answer, AnswerError> {
        serde_json::from_str::<Answer>(line.trim()).map_err(|e| {
            let id = serde_json::from_str::<IdOnly>(line.trim()).ok().map(|i| i.id);
            AnswerError { id, message: e.to_string() }
        })
    }

    /// The answer as one JSON line (no trailing newline).
    pub fn to_line(&self) -> String {
        serde_json::to_string(self).expect("serialising plain data to JSON cannot fail")
    }
}

/// An answer line that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed answer{}: {message}", id.as_ref().map(|i| format!(" for {i}")).unwrap_or_default())]
pub struct AnswerError {
    /// The id the line names, if it has one.
    pub id: Option<String>,
    /// What is wrong.
    pub message: String,
}

#[derive(Deserialize)]
struct IdOnly {
    id: String,
}

#[derive(Serialize, Deserialize)]
struct WireAnswer {
    id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    outputs: Option<Vec<WireOutput>>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    unresolved: bool,
    #[serde(default)]
    reason: String,
}

#[derive(Serialize, Deserialize)]
struct WireOutput {
    path: String,
    content: String,
    #[serde(default)]
    sources: Vec<String>,
    action: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kind: Option<PatternKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sessions: Option<Vec<String>>,
}

impl TryFrom<WireAnswer> for Answer {
    type Error = String;

    fn try_from(w: WireAnswer) -> Result<Self, String> {
        let verdict = match (w.unresolved, w.outputs) {
            (true, Some(o)) if !o.is_empty() => {
                return Err("an answer has either \"outputs\" or \"unresolved\": true, not both".into());
            }
            (true, _) => Verdict::Unresolved,
            (false, None) => return Err("an answer needs \"outputs\" or \"unresolved\": true".into()),
            (false, Some(outputs)) => {
                Verdict::Outputs(outputs.into_iter().map(Output::try_from).collect::<Result<_, _>>()?)
            }
        };
        Ok(Answer { id: w.id, verdict, reason: w.reason })
    }
}

impl TryFrom<WireOutput> for Output {
    type Error = String;

    fn try_from(w: WireOutput) -> Result<Self, String> {
        let action = match w.action.as_str() {
            "kept" => OutputAction::Kept,
            "merged" => OutputAction::Merged,
            "superseded" => OutputAction::Superseded,
            "pattern" => OutputAction::Pattern {
                kind: w.kind.ok_or_else(|| {
                    format!(
                        "output {}: a pattern needs \"kind\": \"recurring_mistake\" or \"shared_preference\"",
                        w.path
                    )
                })?,
                sessions: w.sessions.unwrap_or_default(),
            },
            other => {
                return Err(format!(
                    "output {}: action {other:?} is not kept, merged, superseded or pattern",
                    w.path
                ));
            }
        };
        Ok(Output { path: w.path, content: w.content, sources: w.sources, action })
    }
}

impl From<Answer> for WireAnswer {
    fn from(a: Answer) -> Self {
        match a.verdict {
            Verdict::Unresolved => WireAnswer { id: a.id, outputs: None, unresolved: true, reason: a.reason },
            Verdict::Outputs(outputs) => WireAnswer {
                id: a.id,
                outputs: Some(outputs.into_iter().map(WireOutput::from).collect()),
                unresolved: false,
                reason: a.reason,
            },
        }
    }
}

impl From<Output> for WireOutput {
    fn from(o: Output) -> Self {
        let action = o.action.as_str().to_owned();
        let (kind, sessions) = match o.action {
            OutputAction::Pattern { kind, sessions } => (Some(kind), Some(sessions)),
            _ => (None, None),
        };
        WireOutput { path: o.path, content: o.content, sources: o.sources, action, kind, sessions }
    }
}

/// Why a question stays open: the resolver said so, an answer broke a rule,
/// or no usable answer came. Typed, so the report and tools can tell them
/// apart; [`Display`](std::fmt::Display) gives the sentence for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum OpenReason {
    /// The resolver answered `unresolved`.
    #[error("the resolver left it open: {reason}")]
    Declined {
        /// The resolver's reason.
        reason: String,
    },
    /// The answer is for another question.
    #[error("the answer names question {found}")]
    WrongId {
        /// The id it names.
        found: String,
    },
    /// A path is not a valid memory path.
    #[error("{path:?} is not a valid memory path: {message}")]
    InvalidPath {
        /// The path as written.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// An output's content breaks the store's limits.
    #[error("the content of {path} breaks the store's limits: {message}")]
    InvalidContent {
        /// The output's path.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// A source is not a member of the cluster.
    #[error("{path} is not a member of the cluster")]
    NotAMember {
        /// The source.
        path: String,
    },
    /// A member is in no output's sources.
    #[error("member {path} is in no output's sources")]
    MemberUncovered {
        /// The member.
        path: String,
    },
    /// A member is in the sources of two outputs.
    #[error("member {path} is in the sources of two outputs")]
    MemberTwice {
        /// The member.
        path: String,
    },
    /// An output's path is not one of its sources.
    #[error("output {path} is not one of its own sources")]
    PathNotASource {
        /// The output's path.
        path: String,
    },
    /// A `kept` output with other than one source, or a changed text.
    #[error("output {path} is \"kept\" but {problem}")]
    KeptChanged {
        /// The output's path.
        path: String,
        /// What is wrong (several sources, or a changed text).
        problem: String,
    },
    /// An action that does not fit the question's kind.
    #[error("action {action:?} does not answer a {kind} question")]
    ActionForKind {
        /// The action.
        action: String,
        /// The question's kind (`cluster` or `pattern`).
        kind: String,
    },
    /// Two outputs of a pattern answer at one path.
    #[error("two patterns of the answer are at {path}")]
    PatternTwice {
        /// The path.
        path: String,
    },
    /// A pattern's path is not under `/patterns/`.
    #[error("pattern path {path} is not under /patterns/")]
    PatternPath {
        /// The path.
        path: String,
    },
    /// A pattern output lists sources.
    #[error("a pattern output has no sources, but {path} lists some")]
    PatternSources {
        /// The output's path.
        path: String,
    },
    /// A pattern rests on too few of the question's sessions.
    #[error("a pattern rests on at least two of the question's sessions; {problem}")]
    PatternSessions {
        /// What is wrong.
        problem: String,
    },
    /// An output holds a redaction placeholder none of its sources holds.
    #[error("output {path} holds the placeholder {placeholder}, which none of its sources holds")]
    Placeholder {
        /// The output's path.
        path: String,
        /// The placeholder.
        placeholder: String,
    },
    /// The backend's reply could not be read.
    #[error("malformed answer: {message}")]
    Malformed {
        /// What is wrong.
        message: String,
    },
    /// The backend failed before answering.
    #[error("{resolver} failed: {message}")]
    Backend {
        /// The backend.
        resolver: String,
        /// What failed.
        message: String,
    },
    /// The backend returned no answer for the question.
    #[error("{resolver} gave no answer")]
    NoAnswer {
        /// The backend.
        resolver: String,
    },
    /// A cap (`--max-questions`, `--max-tokens`) left it out.
    #[error("not sent: {cap}")]
    OverCap {
        /// Which cap, with its value.
        cap: String,
    },
    /// A dry run sends nothing.
    #[error("not sent: dry run")]
    DryRun,
}

/// Tokens a server reported for requests (all zero for local backends).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Input tokens billed at the full rate.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Input tokens written to the prompt cache.
    pub cache_creation_input_tokens: u64,
    /// Input tokens read from the prompt cache.
    pub cache_read_input_tokens: u64,
}

impl Usage {
    /// Whether every count is zero.
    pub fn is_zero(&self) -> bool {
        *self == Usage::default()
    }

    /// Adds `other` to `self`.
    pub fn add(&mut self, other: &Usage) {
        self.input_tokens += other.input_tokens;
        self.output_tokens += other.output_tokens;
        self.cache_creation_input_tokens += other.cache_creation_input_tokens;
        self.cache_read_input_tokens += other.cache_read_input_tokens;
    }

    /// Splits one request's usage over `n` answers: equal shares, the
    /// remainders to the first ones, so the shares sum to `self`.
    pub fn split(&self, n: usize) -> Vec<Usage> {
        let n64 = n.max(1) as u64;
        let part = |v: u64, i: usize| v / n64 + u64::from((i as u64) < v % n64);
        (0..n)
            .map(|i| Usage {
                input_tokens: part(self.input_tokens, i),
                output_tokens: part(self.output_tokens, i),
                cache_creation_input_tokens: part(self.cache_creation_input_tokens, i),
                cache_read_input_tokens: part(self.cache_read_input_tokens, i),
            })
            .collect()
    }
}

/// What a backend sent off the machine for the model: every byte, fixed
/// prompts and tool schemas included (all zero for local backends).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sent {
    /// Requests (an `exec` run counts as one).
    pub requests: u64,
    /// Bytes sent.
    pub bytes: u64,
    /// Their `cl100k_base` tokens.
    pub tokens: u64,
}

impl Sent {
    /// One more request of `text`.
    pub fn add_request(&mut self, text: &str) {
        self.requests += 1;
        self.add_text(text);
    }

    /// Adds `other` to `self`.
    pub fn add(&mut self, other: &Sent) {
        self.requests += other.requests;
        self.bytes += other.bytes;
        self.tokens += other.tokens;
    }

    /// More text in the current request.
    pub fn add_text(&mut self, text: &str) {
        self.bytes += text.len() as u64;
        // The tokenizer loaded before any question was planned.
        self.tokens += crate::text::tokens::count_tokens(text).unwrap_or(0);
    }
}

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
    /// The backend's name (`local`, `exec`, `anthropic`, `dreams`, `review`):
    /// part of the journal key.
    fn name(&self) -> String;

    /// The model answering, where the backend has one (`""` otherwise): the
    /// other part of the journal key.
    fn model(&self) -> String {
        String::new()
    }

    /// Whether the backend reads the questions unredacted. Only backends
    /// that keep everything on the machine may say yes ([`LocalResolver`]).
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

/// Serde for a [`Timestamp`] as RFC 3339 text.
mod rfc3339 {
    use super::Timestamp;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&t.to_rfc3339())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
        let text = String::deserialize(d)?;
        Timestamp::parse_rfc3339(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("{text:?} is not an RFC 3339 date-time")))
    }
}

/// Serde for an optional [`Timestamp`] as RFC 3339 text or null.
mod rfc3339_opt {
    use super::Timestamp;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_str(&t.to_rfc3339()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Timestamp>, D::Error> {
        match Option::<String>::deserialize(d)? {
            None => Ok(None),
            Some(text) => Timestamp::parse_rfc3339(&text)
                .map(Some)
                .ok_or_else(|| serde::de::Error::custom(format!("{text:?} is not an RFC 3339 date-time"))),
        }
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
    Question::new(
        QuestionKind::Cluster,
        "same subject, different values",
        vec![member("/a", "port 1".into(), 1), member("/b", format!("port {newer}"), 2)],
        vec![],
        "",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_derives_from_the_rest() {
        let q = port_question("2");
        assert!(q.id.starts_with("c-") && q.id.len() == 14, "{}", q.id);
        assert!(q.id_matches());
        let mut r = q.clone();
        r.instructions = "prefer production values".into();
        assert_ne!(q.key(), r.key());
        assert!(!r.id_matches());
        assert_eq!(q.key(), port_question("2").key());
    }

    #[test]
    fn question_wire_form() {
        let mut q = port_question("2");
        q.excerpts.push(QuestionExcerpt {
            session: "sess-1".into(),
            turns: [3, 5],
            at: Some(Timestamp(0)),
            text: "user: port 2 now".into(),
        });
        let v: serde_json::Value = serde_json::from_str(&q.to_line()).unwrap();
        assert_eq!(v["kind"], "cluster");
        assert_eq!(v["members"][0]["updated_at"], "1970-01-01T00:00:00.001Z");
        assert_eq!(v["excerpts"][0]["turns"], serde_json::json!([3, 5]));
        assert_eq!(v["excerpts"][0]["session"], "sess-1");
        assert_eq!(v["id"], q.id.as_str());
        // Extra fields are ignored on the way in.
        let mut extra = v.clone();
        extra["something"] = serde_json::json!(1);
        extra["members"][0]["extra"] = serde_json::json!("x");
        let back: Question = serde_json::from_value(extra).unwrap();
        assert_eq!(back, q);
    }

    #[test]
    fn answers_round_trip_and_ignore_extra_fields() {
        let a = Answer::outputs(
            "c-000000000000",
            vec![Output {
                path: "/a".into(),
                content: "port 2".into(),
                sources: vec!["/a".into(), "/b".into()],
                action: OutputAction::Superseded,
            }],
            "newer",
        );
        let line = a.to_line();
        assert_eq!(
            line,
            r#"{"id":"c-000000000000","outputs":[{"path":"/a","content":"port 2","sources":["/a","/b"],"action":"superseded"}],"reason":"newer"}"#
        );
        assert_eq!(Answer::parse_line(&line).unwrap(), a);
        let u = Answer::unresolved("c-1", "unsure");
        assert_eq!(u.to_line(), r#"{"id":"c-1","unresolved":true,"reason":"unsure"}"#);
        let extra = r#"{"id":"c-1","unresolved":true,"reason":"unsure","confidence":0.2}"#;
        assert_eq!(Answer::parse_line(extra).unwrap(), u);
        let p = r#"{"id":"c-2","outputs":[{"path":"/patterns/x.md","content":"c","sources":[],
            "action":"pattern","kind":"shared_preference","sessions":["s1","s2"]}],"reason":"r"}"#;
        let parsed = Answer::parse_line(&p.replace('\n', "")).unwrap();
        let Verdict::Outputs(o) = &parsed.verdict else { panic!("outputs expected") };
        assert_eq!(
            o[0].action,
            OutputAction::Pattern {
                kind: PatternKind::SharedPreference,
                sessions: vec!["s1".into(), "s2".into()]
            }
        );
        assert!(parsed.to_line().contains(r#""kind":"shared_preference","sessions":["s1","s2"]"#));
    }

    #[test]
    fn malformed_answers_say_why_and_for_which_id() {
        let e =
            Answer::parse_line(r#"{"id":"c-1","outputs":[{"path":"/a","content":"x","action":"deleted"}]}"#)
                .unwrap_err();
        assert_eq!(e.id.as_deref(), Some("c-1"));
        assert!(e.to_string().contains("\"deleted\" is not kept"), "{e}");
        let e = Answer::parse_line(r#"{"id":"c-1","reason":"?"}"#).unwrap_err();
        assert!(e.message.contains("needs \"outputs\""), "{e}");
        let e = Answer::parse_line("not json").unwrap_err();
        assert_eq!(e.id, None);
        let e = Answer::parse_line(
            r#"{"id":"c-1","outputs":[{"path":"/p","content":"x","action":"pattern"}],"reason":""}"#,
        )
        .unwrap_err();
        assert!(e.message.contains("needs \"kind\""), "{e}");
    }

    #[test]
    fn usage_splits_to_its_sum() {
        let u = Usage {
            input_tokens: 10,
            output_tokens: 3,
            cache_creation_input_tokens: 0,
            cache_read_input_tokens: 7,
        };
        let parts = u.split(3);
        let mut sum = Usage::default();
        parts.iter().for_each(|p| sum.add(p));
        assert_eq!(sum, u);
        assert_eq!(parts[0].input_tokens, 4);
        assert_eq!(parts[2].input_tokens, 3);
    }

    #[test]
    fn open_reasons_serialise_with_their_rule() {
        let r = OpenReason::MemberUncovered { path: "/b".into() };
        assert_eq!(serde_json::to_string(&r).unwrap(), r#"{"rule":"member_uncovered","path":"/b"}"#);
        assert_eq!(r.to_string(), "member /b is in no output's sources");
    }
}
