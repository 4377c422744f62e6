//! Why a question stays open, typed.

use serde::{Deserialize, Serialize};

/// Why a question stays open: the resolver said so, an answer broke a rule,
/// or no usable answer came. Typed, so the report and tools can tell them
/// apart; [`Display`](std::fmt::Display) gives the sentence for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "rule", rename_all = "snake_case")]
#[non_exhaustive]
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
    /// A member is in no output's sources. No longer given (such a member
    /// is kept as it is); read from the reports of earlier versions.
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
