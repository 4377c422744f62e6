//! Sessions: past agent transcripts, turned into turns with roles, text,
//! tool calls and tool results, and stored content-addressed so that an
//! [`Excerpt`] is a stable reference.
//!
//! One importer per format ([`claude_code`], `managed_agents`,
//! `openai`, [`text`]), each documenting its mapping; [`detect`] picks
//! one for `--format auto`; `storage` keeps sessions on disk ([`SessionStore`]), one
//! checksummed file per session named by its id. Importers never panic on
//! bad input: they return a [`SessionError`] naming the file and the line
//! (or item) at fault. Directory walks visit files in sorted order, so
//! what is imported never depends on the order the file system lists them.
//!
//! ```
//! use dreamwork::session::{self, FormatChoice, Role, SessionStore};
//!
//! let transcript = b"## User (ana)\nUse tabs, please.\n\n## Assistant\nNoted: tabs.\n";
//! let sessions = session::parse_as(transcript, FormatChoice::Auto, "pairing.md")?;
//! assert_eq!(sessions[0].turns[0].role, Role::User);
//! assert_eq!(sessions[0].turns[0].author.as_deref(), Some("ana"));
//!
//! let dir = tempfile::tempdir()?;
//! let store = SessionStore::open(dir.path().join("sessions"))?;
//! assert!(store.put(&sessions[0])?); // newly stored
//! assert!(!store.put(&sessions[0])?); // already there: a no-op
//! assert_eq!(store.get(&sessions[0].id)?, sessions[0]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod claude_code;
pub mod detect;
mod error;
mod in_store;
mod json;
pub(crate) mod managed_agents;
pub(crate) mod openai;
pub(crate) mod storage;
pub mod text;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::id::{ContentHash, Timestamp};
pub use crate::id::{Excerpt, SessionId};
use crate::progress::{Observer, Progress};

pub use error::{Location, SessionError};
pub use storage::{ImportSummary, OnError, SessionStore, SessionSummary};

/// Who speaks in a turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[non_exhaustive]
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

/// The transcript format a session was imported from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[non_exhaustive]
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

impl SessionFormat {
    /// Every format, in a fixed order.
    pub const ALL: [SessionFormat; 4] =
        [SessionFormat::ClaudeCode, SessionFormat::ManagedAgents, SessionFormat::OpenAi, SessionFormat::Text];

    /// The name used on the command line and in listings (`claude-code`,
    /// `managed-agents`, `openai`, `text`).
    pub fn name(self) -> &'static str {
        match self {
            SessionFormat::ClaudeCode => "claude-code",
            SessionFormat::ManagedAgents => "managed-agents",
            SessionFormat::OpenAi => "openai",
            SessionFormat::Text => "text",
        }
    }
}

impl SessionFormat {
    /// The file extensions this format is looked for under when walking a
    /// directory.
    pub fn extensions(self) -> &'static [&'static str] {
        match self {
            SessionFormat::ClaudeCode => &["jsonl"],
            SessionFormat::ManagedAgents => &["json", "jsonl"],
            SessionFormat::OpenAi => &["json"],
            SessionFormat::Text => &["md", "markdown", "txt"],
        }
    }
}

impl FormatChoice {
    /// The file extensions looked for when walking a directory: those of
    /// the chosen format, or of every format for [`FormatChoice::Auto`].
    pub fn extensions(self) -> &'static [&'static str] {
        match self {
            FormatChoice::Auto => &["jsonl", "json", "md", "markdown", "txt"],
            FormatChoice::Fixed(format) => format.extensions(),
        }
    }
}

impl std::fmt::Display for SessionFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Which importer to use: one named format, or detection from the content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum FormatChoice {
    /// Detect the format of each file (see [`detect`]).
    #[default]
    Auto,
    /// Use this format for every file.
    Fixed(SessionFormat),
}

impl std::str::FromStr for FormatChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "auto" {
            return Ok(FormatChoice::Auto);
        }
        SessionFormat::ALL.into_iter().find(|f| f.name() == s).map(FormatChoice::Fixed).ok_or_else(|| {
            format!("unknown format {s:?} (expected auto, claude-code, managed-agents, openai or text)")
        })
    }
}

/// Parses the transcript in `bytes` as `format`. `origin` names the input
/// in errors (usually the file path). A file yields zero or more sessions:
/// Claude Code files hold one per `sessionId`, other formats at most one,
/// and a transcript without any turn yields none.
pub fn parse(bytes: &[u8], format: SessionFormat, origin: &str) -> Result<Vec<Session>, SessionError> {
    match format {
        SessionFormat::ClaudeCode => claude_code::parse(bytes, origin),
        SessionFormat::ManagedAgents => managed_agents::parse(bytes, origin),
        SessionFormat::OpenAi => openai::parse(bytes, origin),
        SessionFormat::Text => text::parse(bytes, origin),
    }
}

/// Like [`parse`], detecting the format first when `format` is
/// [`FormatChoice::Auto`].
pub fn parse_as(bytes: &[u8], format: FormatChoice, origin: &str) -> Result<Vec<Session>, SessionError> {
    let format = match format {
        FormatChoice::Auto => detect::detect(bytes, origin)?,
        FormatChoice::Fixed(format) => format,
    };
    parse(bytes, format, origin)
}

/// The name a transcript is known by when its format gives it no id: the
/// last component of `origin` (the file name, without its directories, so
/// it does not depend on where the file lies), or `origin` itself when it
/// has none.
pub fn origin_name(origin: &str) -> String {
    Path::new(origin)
        .file_name()
        .map_or_else(|| origin.to_owned(), |name| name.to_string_lossy().into_owned())
}

/// Reads and parses one transcript file.
pub fn import_file(path: &Path, format: FormatChoice) -> Result<Vec<Session>, SessionError> {
    let bytes = std::fs::read(path).map_err(|e| SessionError::io(path, e))?;
    parse_as(&bytes, format, &path.display().to_string())
}

/// Directory names never entered when walking: Claude Code keeps oversized
/// tool outputs as plain `.txt` files in `<session>/tool-results/`.
pub const SKIPPED_DIRECTORIES: [&str; 1] = ["tool-results"];

/// A transcript file to import.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct TranscriptFile {
    /// Where it is.
    pub path: PathBuf,
    /// Whether it was named explicitly rather than found in a directory.
    pub named: bool,
}

/// The transcript files under `paths`: files as given, and directories
/// walked recursively for files with an extension of `format` (see
/// [`FormatChoice::extensions`]), skipping hidden entries (names starting
/// with `.`) and [`SKIPPED_DIRECTORIES`]. The result is sorted by path and
/// free of duplicates, so it does not depend on the order of `paths` or of
/// directory listings. Symbolic links are not followed inside directories.
pub fn transcript_files(
    paths: &[PathBuf],
    format: FormatChoice,
) -> Result<Vec<TranscriptFile>, SessionError> {
    let extensions = format.extensions();
    let mut files = Vec::new();
    for path in paths {
        let meta = std::fs::metadata(path).map_err(|e| SessionError::io(path, e))?;
        if !meta.is_dir() {
            files.push(TranscriptFile { path: path.clone(), named: true });
            continue;
        }
        let walk = walkdir::WalkDir::new(path).sort_by_file_name().into_iter().filter_entry(|e| {
            let name = e.file_name().to_string_lossy();
            let skipped_dir = e.file_type().is_dir() && SKIPPED_DIRECTORIES.contains(&name.as_ref());
            e.depth() == 0 || !(name.starts_with('.') || skipped_dir)
        });
        for entry in walk {
            let entry = entry.map_err(|e| {
                let at = e.path().unwrap_or(path).to_path_buf();
                let source = e.into_io_error().unwrap_or_else(|| std::io::Error::other("file system loop"));
                SessionError::io(at, source)
            })?;
            let wanted = entry
                .path()
                .extension()
                .and_then(|x| x.to_str())
                .is_some_and(|x| extensions.iter().any(|known| x.eq_ignore_ascii_case(known)));
            if entry.file_type().is_file() && wanted {
                files.push(TranscriptFile { path: entry.into_path(), named: false });
            }
        }
    }
    // Named before walked for the same path, so that the named entry stays.
    files.sort_by(|a, b| a.path.cmp(&b.path).then(b.named.cmp(&a.named)));
    files.dedup_by(|later, kept| later.path == kept.path);
    Ok(files)
}

/// Imports one file found by [`transcript_files`]. A named file must be a
/// transcript; a file found in a directory that fits no format (an empty
/// file, a metadata `.json`, notes without speaker lines) is not an error
/// but `Ok(None)`: directories such as `~/.claude/projects` hold such files
/// beside the transcripts. A file that is recognised but malformed is an
/// error either way.
pub fn import_transcript(
    file: &TranscriptFile,
    format: FormatChoice,
) -> Result<Option<Vec<Session>>, SessionError> {
    match import_file(&file.path, format) {
        Err(SessionError::UnknownFormat { .. }) if !file.named => Ok(None),
        other => other.map(Some),
    }
}

/// Imports every transcript under `paths` (see [`transcript_files`] and
/// [`import_transcript`]), reporting progress as stage `"import"` (files
/// done / files in all). Sessions come in file order, then in their order
/// within each file.
pub fn import_paths(
    paths: &[PathBuf],
    format: FormatChoice,
    observer: &dyn Observer,
) -> Result<Vec<Session>, SessionError> {
    let files = transcript_files(paths, format)?;
    let total = files.len() as u64;
    let mut sessions = Vec::new();
    for (done, file) in files.iter().enumerate() {
        observer.progress(Progress { stage: "import", done: done as u64, total });
        sessions.extend(import_transcript(file, format)?.unwrap_or_default());
    }
    observer.progress(Progress { stage: "import", done: total, total });
    Ok(sessions)
}

/// A transcript: its turns and what is known about where it ran.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// Content address: blake3 of the canonical encoding of every other field.
    pub id: SessionId,
    /// The format it was imported from.
    pub format: SessionFormat,
    /// The session's own id in its source format: the Claude Code
    /// `sessionId`, the Managed Agents `session_id`, the OpenAI conversation
    /// `id`; the file name for text transcripts and for OpenAI ones without
    /// an id. `None` for Claude Code and Managed Agents transcripts whose
    /// events carry no id (a file name is not a hosted session id, which the
    /// Dreams API needs), and for sessions built without one.
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

    /// Whether `excerpt` cites turns of this session that still hash to
    /// what it recorded.
    pub fn verifies(&self, excerpt: &Excerpt) -> bool {
        excerpt.session == self.id
            && excerpt.start <= excerpt.end
            && (excerpt.end as usize) <= self.turns.len()
            && self.excerpt(excerpt.start as usize, excerpt.end as usize) == *excerpt
    }

    /// The id a person knows this session by: its [`external_id`](Self::external_id),
    /// or else the first 12 digits of its content hash.
    pub fn display_id(&self) -> String {
        self.external_id.clone().unwrap_or_else(|| self.id.to_string()[..12].to_owned())
    }

    /// The time of the first timestamped turn, if any.
    pub fn started_at(&self) -> Option<Timestamp> {
        self.turns.iter().find_map(|t| t.timestamp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_names_round_trip() {
        for format in SessionFormat::ALL {
            assert_eq!(format.name().parse::<FormatChoice>(), Ok(FormatChoice::Fixed(format)));
            assert_eq!(format.to_string(), format.name());
        }
        assert_eq!("auto".parse::<FormatChoice>(), Ok(FormatChoice::Auto));
        assert!("Claude-Code".parse::<FormatChoice>().unwrap_err().contains("unknown format"));
    }

    #[test]
    fn session_ids_round_trip_through_hex() {
        let id = Session::new(SessionFormat::Text, None, None, Vec::new()).id;
        assert_eq!(SessionId::from_hex(&id.to_string()), Some(id));
        assert_eq!(SessionId::from_hex("abc"), None);
    }

    #[test]
    fn walked_extensions_cover_every_format() {
        let auto = FormatChoice::Auto.extensions();
        for format in SessionFormat::ALL {
            assert!(format.extensions().iter().all(|x| auto.contains(x)), "{format}");
        }
    }

    #[test]
    fn excerpts_verify_only_against_their_session() {
        let turn = |text: &str| Turn {
            role: Role::User,
            author: None,
            text: text.into(),
            tool_calls: Vec::new(),
            tool_results: Vec::new(),
            timestamp: None,
            sidechain: false,
        };
        let s = Session::new(SessionFormat::Text, None, None, vec![turn("a"), turn("b"), turn("c")]);
        let e = s.excerpt(1, 3);
        assert!(s.verifies(&e));
        let other = Session::new(SessionFormat::Text, None, None, vec![turn("a"), turn("x"), turn("c")]);
        assert!(!other.verifies(&e));
        assert!(!s.verifies(&Excerpt { end: 9, ..e.clone() }));
        assert!(!s.verifies(&Excerpt { start: 0, ..e }));
    }

    #[test]
    fn the_content_address_covers_every_field() {
        let turn = Turn {
            role: Role::User,
            author: None,
            text: "hi".into(),
            tool_calls: Vec::new(),
            tool_results: Vec::new(),
            timestamp: None,
            sidechain: false,
        };
        let base = Session::new(SessionFormat::Text, None, None, vec![turn.clone()]);
        let variants = [
            Session::new(SessionFormat::OpenAi, None, None, vec![turn.clone()]),
            Session::new(SessionFormat::Text, Some("x".into()), None, vec![turn.clone()]),
            Session::new(SessionFormat::Text, None, Some("/".into()), vec![turn.clone()]),
            Session::new(SessionFormat::Text, None, None, vec![Turn { sidechain: true, ..turn.clone() }]),
            Session::new(SessionFormat::Text, None, None, vec![turn.clone(), turn]),
        ];
        for v in variants {
            assert_ne!(v.id, base.id);
        }
    }
}
