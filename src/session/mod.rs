//! Sessions: past agent transcripts, turned into turns with roles, text,
//! tool calls and tool results, and stored content-addressed so that an
//! [`Excerpt`] is a stable reference.

use serde::{Deserialize, Serialize};

use crate::memory::{ContentHash, Timestamp};

/// Identifies a session by the blake3 hash of its canonical encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SessionId(pub ContentHash);

impl std::fmt::Display for SessionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.to_hex())
    }
}

/// Who speaks in a turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Role {
    /// A person (or the runtime speaking for them).
    User,
    /// The agent.
    Assistant,
    /// System or developer instructions.
    System,
    /// A tool's output returned to the agent.
    Tool,
}

/// A tool invocation made by the agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolCall {
    /// The call id, where the format has one.
    pub id: Option<String>,
    /// The tool's name.
    pub name: String,
    /// The input, as compact JSON text.
    pub input: String,
}

/// What a tool returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolResult {
    /// The id of the call this answers, where known.
    pub call_id: Option<String>,
    /// The output as text.
    pub content: String,
    /// Whether the tool reported an error.
    pub is_error: bool,
}

/// One turn of a transcript.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Turn {
    /// Who speaks.
    pub role: Role,
    /// The user or agent name, where the format knows it.
    pub author: Option<String>,
    /// The visible text (thinking blocks excluded).
    pub text: String,
    /// Tool calls made in this turn.
    pub tool_calls: Vec<ToolCall>,
    /// Tool results carried by this turn.
    pub tool_results: Vec<ToolResult>,
    /// When the turn happened, where known.
    pub timestamp: Option<Timestamp>,
    /// Whether the turn belongs to a side chain (a sub-agent's transcript).
    pub sidechain: bool,
}

/// A stable reference to a stretch of a stored session: turns
/// `start..end` of `session`, whose canonical encoding hashes to `hash`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Excerpt {
    /// The session.
    pub session: SessionId,
    /// First turn (inclusive).
    pub start: u32,
    /// Last turn (exclusive).
    pub end: u32,
    /// blake3 of the excerpt's turns, so a citation can be checked.
    pub hash: ContentHash,
}

/// The transcript format a session was imported from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum SessionFormat {
    /// Claude Code JSONL (`~/.claude/projects/<project>/<session>.jsonl`).
    ClaudeCode,
    /// Claude Managed Agents session events.
    ManagedAgents,
    /// OpenAI-style chat JSON (`messages` with role/content/tool_calls).
    OpenAi,
    /// Plain text or Markdown transcript.
    Text,
}

/// A transcript: its turns and what is known about where it ran.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// Content address: blake3 of the canonical encoding of every other field.
    pub id: SessionId,
    /// The format it was imported from.
    pub format: SessionFormat,
    /// The session's own id in its source format, where it has one.
    pub external_id: Option<String>,
    /// Working directory, where known.
    pub cwd: Option<String>,
    /// The turns, in order.
    pub turns: Vec<Turn>,
}

/// The hashed part of a session (everything but its id).
#[derive(Serialize)]
struct SessionContent<'a> {
    format: SessionFormat,
    external_id: &'a Option<String>,
    cwd: &'a Option<String>,
    turns: &'a [Turn],
}

impl Session {
    /// Builds a session and computes its content address.
    pub fn new(
        format: SessionFormat,
        external_id: Option<String>,
        cwd: Option<String>,
        turns: Vec<Turn>,
    ) -> Self {
        let content = SessionContent { format, external_id: &external_id, cwd: &cwd, turns: &turns };
        let bytes = postcard::to_stdvec(&content).expect("serialising plain data to a Vec cannot fail");
        Self { id: SessionId(ContentHash::of(&bytes)), format, external_id, cwd, turns }
    }

    /// A stable reference to turns `start..end` (clamped to the session).
    pub fn excerpt(&self, start: usize, end: usize) -> Excerpt {
        let end = end.min(self.turns.len());
        let start = start.min(end);
        let bytes = postcard::to_stdvec(&self.turns[start..end])
            .expect("serialising plain data to a Vec cannot fail");
        Excerpt {
            session: self.id,
            start: u32::try_from(start).unwrap_or(u32::MAX),
            end: u32::try_from(end).unwrap_or(u32::MAX),
            hash: ContentHash::of(&bytes),
        }
    }

    /// The time of the first timestamped turn, if any.
    pub fn started_at(&self) -> Option<Timestamp> {
        self.turns.iter().find_map(|t| t.timestamp)
    }
}
