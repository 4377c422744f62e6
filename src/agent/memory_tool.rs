//! The commands of Claude's client-side memory tool (`memory_20250818`:
//! `view`, `create`, `str_replace`, `insert`, `delete`, `rename`) executed
//! against a store, with the semantics and the result texts of the official
//! SDK helpers (anthropic-sdk-python's `BetaLocalFilesystemMemoryTool`), so
//! that a model trained on them reads the same answers.
//!
//! # Paths
//!
//! The model sees the store as a directory tree under `/memories`: the
//! memory `/notes/ci.md` is the file `/memories/notes/ci.md`, and every
//! path prefix that memories share (`/memories/notes`) is a directory.
//! [`resolve`] is the one place that turns a tool path into a store path;
//! it refuses paths outside `/memories` and any `..` segment.
//!
//! # Semantics (as the SDK helper's)
//!
//! - `view` of a file numbers its lines (`cat -n` style, optionally a
//!   `view_range` `[start, end]`, `-1` meaning the last line); of a
//!   directory it lists files and directories up to 2 levels deep with
//!   their sizes (a directory's size is the bytes of all memories below
//!   it), leaving out hidden items (a name starting with `.`) and
//!   `node_modules`.
//! - `create` never overwrites: an existing file or directory is an error.
//! - `str_replace` needs `old_str` exactly once; absent or repeated, it is
//!   an error and nothing changes.
//! - `insert` puts a line after line `insert_line` (0 = at the top), within
//!   `[0, lines]`.
//! - `delete` removes a file or a whole directory; `/memories` itself
//!   cannot be deleted.
//! - `rename` moves a file or a directory; an existing destination is an
//!   error.
//!
//! Every change is one store commit, so one version in the history (a
//! directory delete or rename too); a command that fails writes nothing.
//! Where a store cannot mirror a file system (a memory `/a` beside
//! memories under `/a/`), `create` and `rename` refuse to put a file under
//! a file; `view` shows the file.

use serde::{Deserialize, Serialize};

use crate::memory::{Memory, MemoryPath, Timestamp};
use crate::store::{SharedStore, Store, StoreError};

/// The directory the model sees the store as.
pub const ROOT: &str = "/memories";

/// One memory-tool command, as the model sends it in a `tool_use` block's
/// `input` (tagged by `command`). Unknown fields are ignored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Command {
    /// Show a file (numbered lines) or list a directory.
    View {
        /// File or directory under `/memories`.
        path: String,
        /// `[start, end]`, 1-based and inclusive; `end` -1 is the last line.
        /// Used only when it has two numbers, as in the SDK helper.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        view_range: Option<Vec<i64>>,
    },
    /// Create a new file.
    Create {
        /// Where.
        path: String,
        /// Its content.
        file_text: String,
    },
    /// Replace the one occurrence of `old_str` in a file.
    StrReplace {
        /// The file.
        path: String,
        /// Text that occurs exactly once in the file.
        old_str: String,
        /// What replaces it.
        new_str: String,
    },
    /// Insert a line into a file.
    Insert {
        /// The file.
        path: String,
        /// Insert after this line (0 = before the first).
        insert_line: i64,
        /// The text to insert.
        insert_text: String,
    },
    /// Delete a file or a directory.
    Delete {
        /// What to delete.
        path: String,
    },
    /// Rename or move a file or a directory.
    Rename {
        /// What to move.
        old_path: String,
        /// Where to (must not exist).
        new_path: String,
    },
}

impl Command {
    /// The command's name (`view`, `create`, …).
    pub fn name(&self) -> &'static str {
        match self {
            Command::View { .. } => "view",
            Command::Create { .. } => "create",
            Command::StrReplace { .. } => "str_replace",
            Command::Insert { .. } => "insert",
            Command::Delete { .. } => "delete",
            Command::Rename { .. } => "rename",
        }
    }
}

/// Why a command failed; its text is what the model reads in the error
/// `tool_result`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ToolError {
    /// The command was refused (bad path, no such file, `old_str` not
    /// unique, …), with the SDK helper's wording. Nothing was written.
    #[error("{0}")]
    Refused(String),
    /// The store failed (I/O, locked by another process, a content over
    /// the size limit, …).
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn refused(text: impl Into<String>) -> ToolError {
    ToolError::Refused(text.into())
}

/// How the commands reach a store: a [`Store`] opened for writing, or a
/// [`SharedStore`] (each command then takes the lock for itself only).
pub trait StoreAccess {
    /// Runs `read` on the current state.
    fn read<T>(&mut self, read: impl FnOnce(&Store) -> T) -> Result<T, StoreError>;
    /// Runs `write` on the current state, as one locked operation.
    fn write<T>(&mut self, write: impl FnOnce(&mut Store) -> Result<T, ToolError>) -> Result<T, ToolError>;
}

impl StoreAccess for Store {
    fn read<T>(&mut self, read: impl FnOnce(&Store) -> T) -> Result<T, StoreError> {
        Ok(read(self))
    }

    fn write<T>(&mut self, write: impl FnOnce(&mut Store) -> Result<T, ToolError>) -> Result<T, ToolError> {
        write(self)
    }
}

impl StoreAccess for SharedStore {
    fn read<T>(&mut self, read: impl FnOnce(&Store) -> T) -> Result<T, StoreError> {
        SharedStore::read(self, read)
    }

    fn write<T>(&mut self, write: impl FnOnce(&mut Store) -> Result<T, ToolError>) -> Result<T, ToolError> {
        SharedStore::write(self, write)
    }
}

/// Executes `command` and returns the tool result text, or the error the
/// model should read (as a `tool_result` with `is_error: true`).
pub fn execute(store: &mut impl StoreAccess, command: &Command) -> Result<String, ToolError> {
    match command {
        Command::View { path, view_range } => {
            let target = resolve(path)?;
            store.read(|s| view(s, path, &target, view_range.as_deref()))?
        }
        Command::Create { path, file_text } => {
            let target = resolve(path)?;
            store.write(|s| create(s, path, &target, file_text))
        }
        Command::StrReplace { path, old_str, new_str } => {
            let target = resolve(path)?;
            store.write(|s| str_replace(s, path, &target, old_str, new_str))
        }
        Command::Insert { path, insert_line, insert_text } => {
            let target = resolve(path)?;
            store.write(|s| insert(s, path, &target, *insert_line, insert_text))
        }
        Command::Delete { path } => {
            let target = resolve(path)?;
            store.write(|s| delete(s, path, &target))
        }
        Command::Rename { old_path, new_path } => {
            let (from, to) = (resolve(old_path)?, resolve(new_path)?);
            store.write(|s| rename(s, old_path, &from, new_path, &to))
        }
    }
}

/// A tool path resolved to the store: `/memories` itself, or the store
/// path it names (a file, a directory, or nothing yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `/memories`: the whole store.
    Root,
    /// `/memories/x/y` is the store path `/x/y`.
    Path(MemoryPath),
}

impl Target {
    /// The prefix the memories below this directory share (`/x/y/`, or
    /// `/` for the root).
    fn dir_prefix(&self) -> String {
        match self {
            Target::Root => "/".to_owned(),
            Target::Path(p) => format!("{p}/"),
        }
    }

    fn file<'s>(&self, store: &'s Store) -> Option<&'s Memory> {
        match self {
            Target::Root => None,
            Target::Path(p) => store.get(p),
        }
    }

    fn is_dir(&self, store: &Store) -> bool {
        match self {
            Target::Root => true,
            Target::Path(_) => store.list(&self.dir_prefix()).next().is_some(),
        }
    }

    fn exists(&self, store: &Store) -> bool {
        self.file(store).is_some() || self.is_dir(store)
    }
}

/// Turns a tool path into a [`Target`]: the one place where paths are
/// checked. It must be `/memories` or start with `/memories/` (a trailing
/// `/` is allowed); a `..` segment is refused (whether or not it would
/// climb out); the rest must be a valid memory path (no empty or `.`
/// segments, no control characters, NFC, at most 20 segments).
pub fn resolve(path: &str) -> Result<Target, ToolError> {
    let Some(rest) = path.strip_prefix(ROOT) else {
        return Err(refused(format!("Path must start with /memories, got: {path}")));
    };
    if !rest.is_empty() && !rest.starts_with('/') {
        return Err(refused(format!("Path must start with /memories, got: {path}")));
    }
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.is_empty() {
        return Ok(Target::Root);
    }
    let mut depth = 0i64;
    for segment in rest[1..].split('/') {
        if segment == ".." {
            depth -= 1;
            if depth < 0 {
                return Err(refused(format!("Path {path} would escape /memories directory")));
            }
            return Err(refused(format!("Path {path} has a '..' segment; give the path without it")));
        }
        depth += 1;
    }
    MemoryPath::new(rest).map(Target::Path).map_err(|e| refused(format!("Invalid path {path}: {e}")))
}

fn not_found(path: &str) -> ToolError {
    refused(format!("The path {path} does not exist. Please provide a valid path."))
}

/// Width of line numbers, as the SDK helper's (`len("999999")`).
const LINE_NUMBER_WIDTH: usize = 6;

fn numbered(first: usize, lines: &[&str]) -> String {
    let numbered: Vec<String> = lines
        .iter()
        .enumerate()
        .map(|(i, line)| format!("{:>width$}\t{line}", first + i, width = LINE_NUMBER_WIDTH))
        .collect();
    numbered.join("\n")
}

fn view(store: &Store, path: &str, target: &Target, range: Option<&[i64]>) -> Result<String, ToolError> {
    if let Some(memory) = target.file(store) {
        let lines: Vec<&str> = memory.content.split('\n').collect();
        let (start, end) = match range {
            Some(&[from, to]) => {
                let start = usize::try_from(from.max(1) - 1).unwrap_or(0);
                let end = if to == -1 { lines.len() } else { python_slice_end(to, lines.len()) };
                (start.min(lines.len()), end)
            }
            _ => (0, lines.len()),
        };
        let shown = if start < end { &lines[start..end] } else { &[][..] };
        return Ok(format!(
            "Here's the content of {path} with line numbers:\n{}",
            numbered(start + 1, shown)
        ));
    }
    if !target.is_dir(store) {
        return Err(not_found(path));
    }
    Ok(list_dir(store, path, target))
}

/// Where a Python slice `[..end]` of a `len`-long list ends.
fn python_slice_end(end: i64, len: usize) -> usize {
    let len_i = i64::try_from(len).unwrap_or(i64::MAX);
    let end = if end < 0 { (len_i + end).max(0) } else { end.min(len_i) };
    usize::try_from(end).unwrap_or(0)
}

/// Names left out of directory listings, as the SDK helpers do.
fn hidden(name: &str) -> bool {
    name.starts_with('.') || name == "node_modules"
}

fn list_dir(store: &Store, path: &str, target: &Target) -> String {
    use std::collections::BTreeMap;
    let prefix = target.dir_prefix();
    // (relative segments, is a directory) -> bytes below; in this order a
    // directory is followed by its children, each level sorted by name.
    let mut entries: BTreeMap<(Vec<&str>, bool), u64> = BTreeMap::new();
    let mut total = 0u64;
    for memory in store.list(&prefix) {
        let size = memory.content.len() as u64;
        total += size;
        let segments: Vec<&str> = memory.path.as_str()[prefix.len()..].split('/').collect();
        for depth in 1..=segments.len().min(2) {
            if hidden(segments[depth - 1]) {
                break;
            }
            let is_dir = depth < segments.len();
            *entries.entry((segments[..depth].to_vec(), is_dir)).or_default() += size;
        }
    }
    let base = path.strip_suffix('/').filter(|b| !b.is_empty()).unwrap_or(path);
    let mut out = format!(
        "Here're the files and directories up to 2 levels deep in {path}, excluding hidden items and node_modules:\n{}\t{path}",
        format_size(total)
    );
    for ((segments, is_dir), size) in &entries {
        let slash = if *is_dir { "/" } else { "" };
        out.push_str(&format!("\n{}\t{base}/{}{slash}", format_size(*size), segments.join("/")));
    }
    out
}

/// A size as the SDK helper prints it: `0B`, `512B`, `1.5K`, `2M`.
pub fn format_size(bytes: u64) -> String {
    if bytes == 0 {
        return "0B".to_owned();
    }
    const UNITS: [&str; 4] = ["B", "K", "M", "G"];
    let i = (((63 - bytes.leading_zeros()) / 10) as usize).min(UNITS.len() - 1);
    let size = bytes as f64 / 1024f64.powi(i as i32);
    if size.fract() == 0.0 { format!("{size}{}", UNITS[i]) } else { format!("{size:.1}{}", UNITS[i]) }
}

/// The nearest ancestor of `path` that is a memory (a file), if any.
fn file_ancestor(store: &Store, path: &MemoryPath) -> Option<MemoryPath> {
    let text = path.as_str();
    text.match_indices('/')
        .skip(1)
        .map(|(i, _)| &text[..i])
        .filter_map(|ancestor| MemoryPath::new(ancestor).ok())
        .find(|ancestor| store.get(ancestor).is_some())
}

fn tool_path(path: &MemoryPath) -> String {
    format!("{ROOT}{path}")
}

fn create(store: &mut Store, path: &str, target: &Target, text: &str) -> Result<String, ToolError> {
    let Target::Path(memory_path) = target else {
        return Err(refused(format!("File {path} already exists")));
    };
    if target.exists(store) {
        return Err(refused(format!("File {path} already exists")));
    }
    if let Some(file) = file_ancestor(store, memory_path) {
        return Err(refused(format!("Cannot create {path}: {} is a file", tool_path(&file))));
    }
    store.put(memory_path, text)?;
    Ok(format!("File created successfully at: {path}"))
}

/// The file a command edits: an existing memory, not a directory.
fn editable<'s>(
    store: &'s Store,
    path: &str,
    target: &Target,
) -> Result<(&'s Memory, MemoryPath), ToolError> {
    match (target, target.file(store)) {
        (Target::Path(p), Some(memory)) => Ok((memory, p.clone())),
        _ if target.is_dir(store) => Err(refused(format!("The path {path} is not a file."))),
        _ => Err(not_found(path)),
    }
}

fn str_replace(
    store: &mut Store,
    path: &str,
    target: &Target,
    old: &str,
    new: &str,
) -> Result<String, ToolError> {
    let (memory, memory_path) = editable(store, path, target)?;
    let content = memory.content.as_str();
    match content.matches(old).count() {
        0 => {
            return Err(refused(format!(
                "No replacement was performed, old_str `{old}` did not appear verbatim in {path}."
            )));
        }
        1 => {}
        _ => {
            let lines: Vec<String> = occurrences(content, old)
                .map(|pos| (content[..pos].matches('\n').count() + 1).to_string())
                .collect();
            return Err(refused(format!(
                "No replacement was performed. Multiple occurrences of old_str `{old}` in lines: {}. Please ensure it is unique",
                lines.join(", ")
            )));
        }
    }
    let pos = content.find(old).unwrap_or(0);
    let changed_line = content[..pos].matches('\n').count();
    let replaced = content.replacen(old, new, 1);
    if replaced != content {
        store.put(&memory_path, &replaced)?;
    }
    let lines: Vec<&str> = replaced.split('\n').collect();
    let from = changed_line.saturating_sub(2);
    let to = (changed_line + 3).min(lines.len());
    Ok(format!(
        "The memory file has been edited. Here is the snippet showing the change (with line numbers):\n{}",
        numbered(from + 1, &lines[from..to])
    ))
}

/// Byte offsets of every occurrence of `needle`, overlapping ones included
/// (the SDK helper searches again one character after each match).
fn occurrences<'a>(haystack: &'a str, needle: &'a str) -> impl Iterator<Item = usize> + 'a {
    let mut start = Some(0);
    std::iter::from_fn(move || {
        let from = start?;
        let pos = from + haystack.get(from..)?.find(needle)?;
        let step = haystack[pos..].chars().next().map_or(1, char::len_utf8);
        start = Some(pos + step);
        Some(pos)
    })
}

/// Python's `str.splitlines()`: lines without their terminators.
fn split_lines(text: &str) -> Vec<&str> {
    const BREAKS: [char; 10] =
        ['\n', '\r', '\u{0b}', '\u{0c}', '\u{1c}', '\u{1d}', '\u{1e}', '\u{85}', '\u{2028}', '\u{2029}'];
    let mut lines = Vec::new();
    let mut start = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if BREAKS.contains(&c) {
            lines.push(&text[start..i]);
            let mut end = i + c.len_utf8();
            if c == '\r' && chars.peek().is_some_and(|&(_, next)| next == '\n') {
                chars.next();
                end += 1;
            }
            start = end;
        }
    }
    if start < text.len() {
        lines.push(&text[start..]);
    }
    lines
}

fn insert(
    store: &mut Store,
    path: &str,
    target: &Target,
    line: i64,
    text: &str,
) -> Result<String, ToolError> {
    let (memory, memory_path) = editable(store, path, target)?;
    let mut lines = split_lines(&memory.content);
    let at = usize::try_from(line).ok().filter(|&at| at <= lines.len()).ok_or_else(|| {
        refused(format!(
            "Invalid `insert_line` parameter: {line}. It should be within the range [0, {}].",
            lines.len()
        ))
    })?;
    lines.insert(at, text.trim_end_matches('\n'));
    let mut content = lines.join("\n");
    if !content.ends_with('\n') {
        content.push('\n');
    }
    store.put(&memory_path, &content)?;
    Ok(format!("The file {path} has been edited."))
}

fn delete(store: &mut Store, path: &str, target: &Target) -> Result<String, ToolError> {
    let Target::Path(memory_path) = target else {
        return Err(refused("Cannot delete the /memories directory itself"));
    };
    let below: Vec<MemoryPath> = store.list(&target.dir_prefix()).map(|m| m.path.clone()).collect();
    if store.get(memory_path).is_none() && below.is_empty() {
        return Err(refused(format!("The path {path} does not exist")));
    }
    let mut batch = store.batch();
    batch.delete(memory_path);
    for p in &below {
        batch.delete(p);
    }
    batch.commit()?;
    Ok(format!("Successfully deleted {path}"))
}

fn rename(store: &mut Store, old: &str, from: &Target, new: &str, to: &Target) -> Result<String, ToolError> {
    let Target::Path(to_path) = to else {
        return Err(refused(format!("The destination {new} already exists")));
    };
    if to.exists(store) {
        return Err(refused(format!("The destination {new} already exists")));
    }
    let Target::Path(from_path) = from else {
        return Err(refused("Cannot rename the /memories directory itself"));
    };
    let file = store.get(from_path).cloned();
    let below: Vec<Memory> = store.list(&from.dir_prefix()).cloned().collect();
    if file.is_none() && below.is_empty() {
        return Err(refused(format!("The path {old} does not exist")));
    }
    if to_path.starts_with(&from.dir_prefix()) {
        return Err(refused(format!("Cannot move {old} into itself ({new})")));
    }
    if let Some(file) = file_ancestor(store, to_path) {
        return Err(refused(format!("Cannot rename to {new}: {} is a file", tool_path(&file))));
    }
    let now = Timestamp::now();
    let mut moves = Vec::new();
    for memory in file.into_iter().chain(below) {
        let suffix = &memory.path.as_str()[from_path.as_str().len()..];
        let moved = MemoryPath::new(&format!("{to_path}{suffix}"))
            .map_err(|e| refused(format!("Cannot rename {old} to {new}: {e}")))?;
        moves.push((memory, moved));
    }
    let mut batch = store.batch();
    for (memory, moved) in moves {
        batch.delete(&memory.path);
        let mut renamed = memory;
        renamed.path = moved;
        renamed.updated_at = now;
        batch.put_memory(renamed)?;
    }
    batch.commit()?;
    Ok(format!("Successfully renamed {old} to {new}"))
}

#[cfg(test)]
#[path = "memory_tool_tests.rs"]
mod tests;
