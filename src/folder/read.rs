//! Reading a folder once: every file's bytes, blake3 and modification
//! time, each classified (topic file, index, context, other), topic files
//! parsed and the index split into lines; and the memories the folder
//! holds (see the module doc of [`crate::folder`]).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use super::frontmatter::{self, Frontmatter};
use super::{
    CONTEXT_FILES, FolderError, INDEX_FILE, Layout, ManifestEntry, OVERFLOW_FILE, claude_code, index, io,
};
use crate::memory::{ContentHash, MAX_CONTENT_BYTES, Memory, MemoryPath, Timestamp};

/// What a file of the folder is.
#[derive(Debug, Clone)]
pub(super) enum Role {
    /// A memory file.
    Topic(Topic),
    /// [`INDEX_FILE`] or [`OVERFLOW_FILE`]: its frontmatter (raw, with its
    /// gap) and its lines, numbered as in the file.
    Index { head: String, lines: Vec<index::IndexLine> },
    /// A `CLAUDE.md`: read as context.
    Context,
    /// Anything else: carried over as it is.
    Other,
}

/// A topic file, parsed.
#[derive(Debug, Clone)]
pub(super) struct Topic {
    pub(super) frontmatter: Option<Frontmatter>,
    pub(super) gap: String,
    /// The memory's content.
    pub(super) content: String,
}

/// One file of the folder as read.
#[derive(Debug, Clone)]
pub(super) struct FolderFile {
    /// Relative, `/`-separated.
    pub(super) path: String,
    pub(super) bytes: Vec<u8>,
    hash: ContentHash,
    modified: Timestamp,
    pub(super) role: Role,
}

/// A folder of memory files, read once: every file's bytes and hash.
#[derive(Debug, Clone)]
pub struct Folder {
    root: PathBuf,
    pub(super) layout: Layout,
    /// By relative path.
    pub(super) files: BTreeMap<String, FolderFile>,
}

/// The memory path of the fact on `line` of the index file `file`.
pub(super) fn fact_path(file: &str, line: usize) -> Result<MemoryPath, FolderError> {
    MemoryPath::new(&format!("/{file}#L{line}"))
        .map_err(|e| FolderError::Invariant(format!("index fact path: {e}")))
}

/// The index file and line of a fact's memory path, if it is one.
pub(super) fn fact_of_path(path: &MemoryPath) -> Option<(&str, usize)> {
    let (file, line) = path.as_str().strip_prefix('/')?.split_once("#L")?;
    if file != INDEX_FILE && file != OVERFLOW_FILE {
        return None;
    }
    line.parse().ok().map(|n| (file, n))
}

impl Folder {
    /// Reads every file under `root` (sorted, links refused): topic files
    /// parsed, the index split into lines. A `.md` file that is not UTF-8,
    /// too large for a memory, or has an unclosed frontmatter is an error
    /// naming it.
    pub fn read(root: &Path) -> Result<Folder, FolderError> {
        let meta = fs::metadata(root).map_err(io(root))?;
        if !meta.is_dir() {
            return Err(FolderError::BadFile {
                file: root.to_owned(),
                line: None,
                reason: "not a directory".into(),
            });
        }
        let mut files = BTreeMap::new();
        for entry in walkdir::WalkDir::new(root).sort_by_file_name() {
            let entry = entry.map_err(|e| {
                let path = e.path().map(Path::to_owned).unwrap_or_else(|| root.to_owned());
                FolderError::Io { source: e.into(), path }
            })?;
            let path = entry.path();
            if entry.file_type().is_symlink() {
                return Err(FolderError::BadFile {
                    file: path.to_owned(),
                    line: None,
                    reason: "a symbolic link; dreamwork only dreams folders of plain files".into(),
                });
            }
            if !entry.file_type().is_file() {
                continue;
            }
            let rel = relative(root, path)?;
            let bytes = fs::read(path).map_err(io(path))?;
            let modified = fs::metadata(path)
                .and_then(|m| m.modified())
                .map(Timestamp::from_system_time)
                .map_err(io(path))?;
            let role = role_of(&rel, path, &bytes)?;
            let hash = ContentHash::of(&bytes);
            files.insert(rel.clone(), FolderFile { path: rel, bytes, hash, modified, role });
        }
        Ok(Folder { root: root.to_owned(), layout: claude_code::layout_of(root), files })
    }

    /// The folder's path.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// How the folder is laid out.
    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// The folder's files as read: path, blake3, size, modification time.
    pub fn manifest(&self) -> Vec<ManifestEntry> {
        self.files
            .values()
            .map(|f| ManifestEntry {
                path: f.path.clone(),
                blake3: f.hash.to_hex(),
                bytes: f.bytes.len() as u64,
                modified_ms: f.modified.0,
            })
            .collect()
    }

    /// The files that differ from `manifest` (`a.md changed`, `b.md added`,
    /// `c.md removed`), in path order; empty when the folder is as recorded.
    pub fn differences(&self, manifest: &[ManifestEntry]) -> Vec<String> {
        let recorded: BTreeMap<&str, &str> =
            manifest.iter().map(|e| (e.path.as_str(), e.blake3.as_str())).collect();
        let mut out = Vec::new();
        let mut paths: Vec<&str> =
            recorded.keys().copied().chain(self.files.keys().map(String::as_str)).collect();
        paths.sort_unstable();
        paths.dedup();
        for p in paths {
            match (recorded.get(p), self.files.get(p)) {
                (Some(h), Some(f)) if f.hash.to_hex() != *h => out.push(format!("{p} changed")),
                (None, Some(_)) => out.push(format!("{p} added")),
                (Some(_), None) => out.push(format!("{p} removed")),
                _ => {}
            }
        }
        out
    }

    /// The memories the folder holds (see the module doc), sorted by path.
    pub fn memories(&self) -> Result<Vec<Memory>, FolderError> {
        let mut out = Vec::new();
        for f in self.files.values() {
            match &f.role {
                Role::Topic(t) => {
                    let path =
                        MemoryPath::new(&format!("/{}", f.path)).map_err(|e| FolderError::BadFile {
                            file: self.root.join(&f.path),
                            line: None,
                            reason: e.to_string(),
                        })?;
                    out.push(Memory::new(path, t.content.clone(), f.modified));
                }
                Role::Index { lines, .. } => {
                    for line in lines {
                        if let Some(text) = self.fact_text(line) {
                            out.push(Memory::new(fact_path(&f.path, line.number)?, text, f.modified));
                        }
                    }
                }
                Role::Context | Role::Other => {}
            }
        }
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }

    /// The text of an index line that is a memory: a fact, or a link to a
    /// file the folder does not hold (read without its link).
    fn fact_text<'l>(&self, line: &'l index::IndexLine) -> Option<&'l str> {
        match &line.kind {
            index::LineKind::Fact(f) => Some(&f.text),
            index::LineKind::Link { target, as_fact }
                if !self.files.contains_key(target) && target != OVERFLOW_FILE =>
            {
                Some(&as_fact.text)
            }
            _ => None,
        }
    }

    /// The `CLAUDE.md` files inside the folder, as (path, text).
    pub(super) fn context_inside(&self) -> Vec<(PathBuf, String)> {
        self.files
            .values()
            .filter(|f| matches!(f.role, Role::Context))
            .filter_map(|f| String::from_utf8(f.bytes.clone()).ok().map(|t| (self.root.join(&f.path), t)))
            .collect()
    }

    /// Uses the modification times of `manifest` (the folder as first read)
    /// for the files it lists, so a re-run sees the times the dream saw.
    pub(super) fn with_times_of(mut self, manifest: &[ManifestEntry]) -> Self {
        for e in manifest {
            if let Some(f) = self.files.get_mut(&e.path) {
                f.modified = Timestamp(e.modified_ms);
            }
        }
        self
    }
}

/// `path` relative to `root`, `/`-separated; a name that is not UTF-8 is an error.
fn relative(root: &Path, path: &Path) -> Result<String, FolderError> {
    let rel =
        path.strip_prefix(root).map_err(|_| FolderError::Invariant("walked outside the folder".into()))?;
    let mut parts = Vec::new();
    for c in rel.components() {
        parts.push(c.as_os_str().to_str().ok_or_else(|| FolderError::BadFile {
            file: path.to_owned(),
            line: None,
            reason: "file name is not UTF-8".into(),
        })?);
    }
    Ok(parts.join("/"))
}

fn role_of(rel: &str, file: &Path, bytes: &[u8]) -> Result<Role, FolderError> {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    if CONTEXT_FILES.contains(&name) {
        return Ok(Role::Context);
    }
    if !name.to_ascii_lowercase().ends_with(".md") {
        return Ok(Role::Other);
    }
    let bad =
        |line: Option<usize>, reason: String| FolderError::BadFile { file: file.to_owned(), line, reason };
    let text = std::str::from_utf8(bytes)
        .map_err(|e| bad(None, format!("not UTF-8 text (at byte {})", e.valid_up_to())))?;
    let split = frontmatter::split(text).map_err(|e| bad(Some(e.line), e.message))?;
    if rel == INDEX_FILE || rel == OVERFLOW_FILE {
        let head_len = text.len() - split.body.len();
        let offset = text[..head_len].matches('\n').count();
        let mut lines = index::parse(split.body);
        for l in &mut lines {
            l.number += offset;
        }
        let head = if rel == OVERFLOW_FILE { String::new() } else { text[..head_len].to_owned() };
        return Ok(Role::Index { head, lines });
    }
    if bytes.len() > MAX_CONTENT_BYTES {
        return Err(bad(None, format!("{} bytes; a memory holds at most {MAX_CONTENT_BYTES}", bytes.len())));
    }
    let body = split.body.trim_end();
    let content = match (&split.frontmatter, body.is_empty()) {
        (Some(f), true) => f.get("description").unwrap_or_default(),
        _ => body.to_owned(),
    };
    Ok(Role::Topic(Topic { frontmatter: split.frontmatter, gap: split.gap.to_owned(), content }))
}
