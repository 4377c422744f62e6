//! Dreaming a plain folder of Markdown memory files in place — a Claude
//! Code memory folder (`~/.claude/projects/<slug>/memory/`: an index
//! `MEMORY.md` and topic files with YAML frontmatter), or any folder of
//! `.md` files (Codex, OpenClaw, notes).
//!
//! The folder is an adapter in front of the ordinary store: [`FolderStore::open`]
//! reads it once (every file hashed with blake3 as it is read) into a
//! temporary store, [`dream`] dreams that store with the usual pipeline into
//! OUT and records in `OUT/dream/folder.json` the folder as read (path →
//! blake3, size, modification time: the manifest) and what [`accept`] will
//! do to it; `OUT/dream/report.md` gets a section saying the same.
//!
//! How files become memories:
//! - a topic file `a/b.md` is the memory `/a/b.md`; its content is the body
//!   (the frontmatter removed, trailing whitespace trimmed; the
//!   frontmatter's `description` when the body is empty); its time is the
//!   file's modification time;
//! - in the index ([`INDEX_FILE`], and [`OVERFLOW_FILE`], the continuation
//!   a dream writes when the index would not fit), a line linking a file of
//!   the folder is that file's entry; any other line holding text (a fact
//!   written straight into the index, or a link to a file that does not
//!   exist, read without its link) is the memory `/MEMORY.md#L<line>`;
//! - `CLAUDE.md` files are context, never memories: a memory repeating one
//!   of their lines is reported; they are never rewritten (nor are any files
//!   that are not `.md`).
//!
//! Promises:
//! - Nothing in the folder is written before [`accept`]; [`dream`],
//!   [`diff`] and a review only read it.
//! - [`accept`] refuses, naming the files, when the folder's files differ
//!   from the manifest (an agent wrote meanwhile), and then changes nothing.
//!   Otherwise it builds the new folder whole beside the old one
//!   (`.NAME.accepting`), then renames the old folder to `NAME.bak-N` and
//!   the new one into place; the backup is the old folder itself, byte for
//!   byte.
//! - Every output memory is a file of the new folder or a line of its
//!   index; a file survives under its name; a kept file is copied byte for
//!   byte (with its modification time), a rewritten one keeps the
//!   frontmatter of the file it was kept from, with `description` replaced
//!   when the text changed.
//! - The index's links all resolve, every surviving topic file that had an
//!   entry keeps exactly one, new files get one, and it fits in 200 lines
//!   and 25,000 bytes (`index::MAX_LINES`, `index::MAX_BYTES`): what does
//!   not fit moves to [`OVERFLOW_FILE`], linked from its last line. Every
//!   line removed or moved is named in the record.
//! - The plan is a function of the folder as read and OUT: the same inputs
//!   give the same bytes.

pub mod claude_code;
pub(crate) mod frontmatter;
pub(crate) mod index;
mod plan;
mod read;
mod record;
mod write;

use std::fs;
use std::path::{Path, PathBuf};

use crate::dream::Dream;
use crate::dream::DreamError;
use crate::dream::disk::{self, DiskDream, DiskRequest, REPORT_DIR};
use crate::embed::{CacheDir, Embedder};
use crate::progress::{CancelToken, Observer};
use crate::resolve::Asking;
use crate::session::Session;
use crate::store::{Store, StoreError};

pub use claude_code::Repeat;
pub use plan::Plan;
pub use read::Folder;
pub use record::{ChangeKind, FileChange, FolderRecord, IndexSummary, ManifestEntry, RECORD_FORMAT};
pub use write::{Accepted, accept};

/// The index of a memory folder.
pub const INDEX_FILE: &str = "MEMORY.md";
/// Where index lines that do not fit in [`INDEX_FILE`] go.
pub const OVERFLOW_FILE: &str = "MEMORY-more.md";
/// The record of a folder dream, inside `OUT/dream/`.
pub const RECORD_FILE: &str = "folder.json";
/// File names read as context (rules the agent already loads), never as memories.
pub const CONTEXT_FILES: [&str; 2] = ["CLAUDE.md", "CLAUDE.local.md"];

/// Why a folder could not be read, dreamed or written back.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FolderError {
    /// An I/O error on the named file or directory.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// A file of the folder cannot be read as a memory.
    #[error("{}{}: {reason}", file.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
    BadFile {
        /// The file.
        file: PathBuf,
        /// The 1-based line, where the problem has one.
        line: Option<usize>,
        /// What is wrong.
        reason: String,
    },
    /// The folder changed since the dream read it.
    #[error(
        "{} changed since the dream read it ({}); nothing was written: dream again",
        folder.display(),
        files.join(", ")
    )]
    Changed {
        /// The folder.
        folder: PathBuf,
        /// Each file that differs, with how (`a.md changed`, `b.md added`, `c.md removed`).
        files: Vec<String>,
    },
    /// The directory is not the output of a folder dream.
    #[error("{0} is not the output of a folder dream (no dream/folder.json there); refusing")]
    NotAFolderOutput(PathBuf),
    /// The record in OUT does not parse.
    #[error("{}: not a folder dream record: {message}", path.display())]
    BadRecord {
        /// The record file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// Neither `CLAUDE_CONFIG_DIR` nor a home directory is known.
    #[error("cannot find Claude Code's folder: set CLAUDE_CONFIG_DIR or HOME")]
    NoHome,
    /// The dream failed.
    #[error(transparent)]
    Dream(#[from] DreamError),
    /// The temporary store or OUT could not be read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A consistency check failed (a bug; nothing was written).
    #[error("internal check failed: {0}")]
    Invariant(String),
}

pub(crate) fn io(path: &Path) -> impl Fn(std::io::Error) -> FolderError + '_ {
    move |source| FolderError::Io { path: path.to_owned(), source }
}

/// How a folder is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Layout {
    /// Any folder of Markdown files.
    Plain,
    /// A Claude Code memory folder: named `memory`, inside a project folder
    /// holding the project's transcripts (`*.jsonl`).
    ClaudeCode,
}

/// Whether `dir` is a folder of memory files rather than a store: a
/// directory that holds no store but holds `.md` files.
pub fn is_folder(dir: &Path) -> bool {
    dir.is_dir()
        && !dir.join(crate::store::LOG_FILE).exists()
        && walkdir::WalkDir::new(dir).into_iter().filter_map(Result::ok).any(|e| {
            e.file_type().is_file() && e.path().extension().is_some_and(|x| x.eq_ignore_ascii_case("md"))
        })
}

/// Whether `out` is the output of a folder dream.
pub fn is_folder_output(out: &Path) -> bool {
    disk::is_dream_output(out) && out.join(REPORT_DIR).join(RECORD_FILE).is_file()
}

/// A folder read into a temporary store, for a dream or a review to read.
/// The temporary store is removed when the view is dropped.
#[derive(Debug)]
pub struct FolderStore {
    folder: Folder,
    dir: tempfile::TempDir,
}

impl FolderStore {
    /// Reads the folder at `root` into a temporary store.
    pub fn open(root: &Path) -> Result<FolderStore, FolderError> {
        FolderStore::of(Folder::read(root)?)
    }

    /// Reads the folder at `root` as the dream in `out` read it, refusing
    /// ([`FolderError::Changed`]) when its files differ from OUT's manifest;
    /// file times are the manifest's, so a re-run sees the same input.
    pub fn for_output(root: &Path, out: &Path) -> Result<FolderStore, FolderError> {
        let record = FolderRecord::read(out)?;
        let folder = Folder::read(root)?;
        let files = folder.differences(&record.files);
        if !files.is_empty() {
            return Err(FolderError::Changed { folder: root.to_owned(), files });
        }
        FolderStore::of(folder.with_times_of(&record.files))
    }

    fn of(folder: Folder) -> Result<FolderStore, FolderError> {
        let dir = tempfile::Builder::new()
            .prefix("dreamwork-folder-")
            .tempdir()
            .map_err(io(&std::env::temp_dir()))?;
        let mut store = Store::create(dir.path().join("store"))?;
        let mut batch = store.batch();
        for m in folder.memories()? {
            batch.put_memory(m)?;
        }
        batch.commit()?;
        Ok(FolderStore { folder, dir })
    }

    /// The temporary store holding the folder's memories.
    pub fn store_path(&self) -> PathBuf {
        self.dir.path().join("store")
    }

    /// The folder as read.
    pub fn folder(&self) -> &Folder {
        &self.folder
    }
}

/// What to dream a folder into: [`FolderRequest::new`] and `with_…` methods.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct FolderRequest {
    /// The output directory; must not exist yet.
    pub out: PathBuf,
    /// The sessions to learn from (for a Claude Code folder, usually its
    /// project's transcripts: [`claude_code::transcripts_dir`]).
    pub sessions: Vec<Session>,
    /// The user cache, as in [`DiskRequest::vector_cache`].
    pub vector_cache: Option<CacheDir>,
}

impl FolderRequest {
    /// Dreams into `out`, with no sessions and no user cache.
    pub fn new(out: impl Into<PathBuf>) -> Self {
        Self { out: out.into(), sessions: Vec::new(), vector_cache: None }
    }

    /// The sessions to learn from.
    pub fn with_sessions(mut self, sessions: Vec<Session>) -> Self {
        self.sessions = sessions;
        self
    }

    /// The user cache, as in [`DiskRequest::vector_cache`].
    pub fn with_vector_cache(mut self, vector_cache: impl Into<Option<CacheDir>>) -> Self {
        self.vector_cache = vector_cache.into();
        self
    }
}

/// What a folder dream did.
#[derive(Debug, Clone)]
pub struct FolderDream {
    /// The dream of the folder's memories, as for a store.
    pub disk: DiskDream,
    /// What `accept` will do to the folder (also in `OUT/dream/folder.json`).
    pub record: FolderRecord,
}

/// Dreams the folder of `view` into `request.out`: the ordinary dream of its
/// memories, plus the record of the folder as read and of what [`accept`]
/// will write (`OUT/dream/folder.json`, and a section of `report.md`). OUT
/// appears whole or not at all; the folder is only read.
pub fn dream(
    view: &FolderStore,
    dream: &Dream,
    request: FolderRequest,
    embedder: &dyn Embedder,
    asking: &mut Asking<'_>,
    observer: &dyn Observer,
    cancel: &CancelToken,
) -> Result<FolderDream, FolderError> {
    let FolderRequest { out, sessions, vector_cache } = request;
    if out.exists() {
        return Err(DreamError::OutputExists(out).into());
    }
    let context = claude_code::context(&view.folder, &sessions);
    let memories = view.folder.memories()?;
    let repeats = claude_code::repeats(&memories, &context);
    let name = out.file_name().ok_or_else(|| DreamError::OutputExists(out.clone()))?;
    let staging = out.with_file_name(format!(".{}.folder", name.to_string_lossy()));
    if staging.exists() {
        fs::remove_dir_all(&staging).map_err(io(&staging))?;
    }
    let disk_request = DiskRequest {
        store: view.store_path(),
        out: staging.clone(),
        extra_sessions: sessions,
        replay_of: None,
        vector_cache,
    };
    let result = (|| {
        let mut done = disk::dream_store(dream, disk_request, embedder, asking, observer, cancel)?;
        let record = write_record(&view.folder, &staging, repeats)?;
        fs::rename(&staging, &out).map_err(io(&out))?;
        write::sync_parent(&out)?;
        done.report_dir = out.join(REPORT_DIR);
        Ok(FolderDream { disk: done, record })
    })();
    if result.is_err() && staging.exists() {
        let _ = fs::remove_dir_all(&staging);
    }
    result
}

/// Writes the record of a dream of `folder` into the output `out` (whose
/// report is the dream's): `folder.json` and the section of `report.md`.
fn write_record(folder: &Folder, out: &Path, repeats: Vec<Repeat>) -> Result<FolderRecord, FolderError> {
    let (outputs, report) = {
        let store = Store::open_read_only(out)?;
        (store.iter().cloned().collect::<Vec<_>>(), disk::read_report(out)?)
    };
    let plan = plan::plan(folder, &outputs, &report)?;
    let record = FolderRecord::new(folder, &plan, repeats);
    let dir = out.join(REPORT_DIR);
    write::replace_file(&dir.join(RECORD_FILE), record.to_json().as_bytes())?;
    let md_path = dir.join(disk::REPORT_MD);
    let mut md = fs::read_to_string(&md_path).map_err(io(&md_path))?;
    md.push_str(&record.to_markdown());
    write::replace_file(&md_path, md.as_bytes())?;
    Ok(record)
}

/// Brings the record of `out` up to date after a review rewrote it (the
/// rewrite carries `folder.json` over but writes a new `report.md`).
pub fn refresh(view: &FolderStore, out: &Path) -> Result<FolderRecord, FolderError> {
    let old = FolderRecord::read(out)?;
    write_record(&view.folder, out, old.repeats)
}

/// What [`accept`] would do to `folder` with the dream in `out` (as
/// recorded), and the files of `folder` that changed since the dream (then
/// accept would refuse).
pub fn diff(folder: &Path, out: &Path) -> Result<(Vec<FileChange>, Vec<String>), FolderError> {
    let record = FolderRecord::read(out)?;
    let now = Folder::read(folder)?;
    let drift = now.differences(&record.files);
    Ok((record.changes, drift))
}

#[cfg(test)]
mod tests;
