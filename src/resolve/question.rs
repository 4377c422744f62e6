//! Questions: what the dream asks a resolver about one open cluster or one
//! candidate pattern, and the key that names a question in the journal.

use serde::{Deserialize, Serialize};

use super::dates::{rfc3339, rfc3339_opt};
use crate::memory::{ContentHash, MemoryPath, Timestamp};

/// Kinds of pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum PatternKind {
    /// Tool errors or user corrections recurring across sessions.
    RecurringMistake,
    /// A preference stated in several sessions (by several people, where known).
    SharedPreference,
}

/// What a question is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
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
    /// `no_evidence`, …; see [`wire`](super::wire)), where `why` is the sentence for
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
