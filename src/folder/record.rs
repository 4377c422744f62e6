//! The record of a folder dream, `OUT/dream/folder.json`: the folder as
//! read (the manifest) and what `accept` will do to it, and the same for a
//! person as a section of `report.md`.
//!
//! Contract (JSON field names are stable): `format`; `layout` (`plain`,
//! `claude_code`); `files`: `{path, blake3, bytes, modified_ms}` per file
//! of the folder, in path order; `changes`: `{file, change, memories,
//! reason}` per file that `accept` adds, rewrites or removes, in path
//! order (`change` one of `added`, `rewritten`, `removed`); `index`: `{file,
//! lines, bytes, moved, notes}` or null when the folder has no index;
//! `repeats`: `{memory, file, line, rule}` per memory repeating a line of a
//! `CLAUDE.md`.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{Folder, FolderError, Layout, Plan, RECORD_FILE, REPORT_DIR, Repeat, index};
use crate::memory::MemoryPath;

/// Version of the record format.
pub const RECORD_FORMAT: u32 = 1;

/// One file of the folder as the dream read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestEntry {
    /// Relative, `/`-separated.
    pub path: String,
    /// blake3 of the file's bytes (hex).
    pub blake3: String,
    /// Its size.
    pub bytes: u64,
    /// Its modification time (ms since the Unix epoch), the memory's time.
    pub modified_ms: i64,
}

/// What `accept` does to a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ChangeKind {
    /// A new file.
    Added,
    /// New bytes under the same name.
    Rewritten,
    /// The file goes (its memory was merged or superseded).
    Removed,
}

impl ChangeKind {
    /// The word used in the record and the report.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Added => "added",
            ChangeKind::Rewritten => "rewritten",
            ChangeKind::Removed => "removed",
        }
    }
}

/// A file `accept` adds, rewrites or removes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileChange {
    /// The file, relative to the folder.
    pub file: String,
    /// What happens to it.
    pub change: ChangeKind,
    /// The memories it is about (the dream report's paths).
    pub memories: Vec<MemoryPath>,
    /// Why, from the dream report (or the index notes).
    pub reason: String,
}

/// The index after the dream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexSummary {
    /// The index file.
    pub file: String,
    /// Its lines.
    pub lines: usize,
    /// Its bytes.
    pub bytes: usize,
    /// Lines moved to the overflow file because they did not fit (0: none).
    pub moved: usize,
    /// Every line removed, moved, added or changed, and why.
    pub notes: Vec<String>,
}

/// `OUT/dream/folder.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FolderRecord {
    /// [`RECORD_FORMAT`].
    pub format: u32,
    /// The folder's layout.
    pub layout: Layout,
    /// The manifest: the folder's files as read.
    pub files: Vec<ManifestEntry>,
    /// What `accept` will change.
    pub changes: Vec<FileChange>,
    /// The index after the dream, if the folder has one.
    pub index: Option<IndexSummary>,
    /// Memories that repeat a line of a `CLAUDE.md`.
    pub repeats: Vec<Repeat>,
}

impl FolderRecord {
    pub(crate) fn new(folder: &Folder, plan: &Plan, repeats: Vec<Repeat>) -> Self {
        FolderRecord {
            format: RECORD_FORMAT,
            layout: folder.layout(),
            files: folder.manifest(),
            changes: plan.changes.clone(),
            index: plan.index.clone(),
            repeats,
        }
    }

    /// Reads the record of the folder dream in `out`.
    pub fn read(out: &Path) -> Result<Self, FolderError> {
        let path = out.join(REPORT_DIR).join(RECORD_FILE);
        let text = match fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(FolderError::NotAFolderOutput(out.to_owned()));
            }
            Err(source) => return Err(FolderError::Io { path, source }),
        };
        let record: FolderRecord = serde_json::from_str(&text)
            .map_err(|e| FolderError::BadRecord { path: path.clone(), message: e.to_string() })?;
        if record.format != RECORD_FORMAT {
            return Err(FolderError::BadRecord {
                path,
                message: format!("format {} (this build reads {RECORD_FORMAT})", record.format),
            });
        }
        Ok(record)
    }

    /// The record as pretty JSON, ending in a newline.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("serialising plain data to JSON cannot fail") + "\n"
    }

    /// The section of `report.md`.
    pub fn to_markdown(&self) -> String {
        let mut md = String::new();
        let _ = writeln!(md, "\n## The folder\n");
        let _ = writeln!(
            md,
            "`dreamwork accept FOLDER OUT` writes these changes into the folder ({} files read); \
             the old folder is kept beside it as `FOLDER.bak-N`.\n",
            self.files.len()
        );
        if self.changes.is_empty() {
            let _ = writeln!(md, "No file changes.");
        }
        for c in &self.changes {
            let _ = writeln!(md, "- {} `{}`: {}", c.change.as_str(), c.file, c.reason);
        }
        if let Some(i) = &self.index {
            let _ = writeln!(
                md,
                "\n### Index\n\n`{}`: {} lines, {} bytes (at most {} lines and {} bytes are loaded).",
                i.file,
                i.lines,
                i.bytes,
                index::MAX_LINES,
                index::MAX_BYTES
            );
            if i.moved > 0 {
                let _ = writeln!(
                    md,
                    "{} lines did not fit and move to `{}`, which its last line links.",
                    i.moved,
                    super::OVERFLOW_FILE
                );
            }
            if !i.notes.is_empty() {
                md.push('\n');
            }
            for n in &i.notes {
                let _ = writeln!(md, "- {n}");
            }
        }
        if !self.repeats.is_empty() {
            let _ = writeln!(md, "\n### Repeats of CLAUDE.md\n");
            let _ = writeln!(md, "These memories say what a CLAUDE.md already says (both are kept):\n");
            for r in &self.repeats {
                let _ = writeln!(md, "- `{}` repeats {} line {}: {}", r.memory, r.file, r.line, r.rule);
            }
        }
        md
    }
}
