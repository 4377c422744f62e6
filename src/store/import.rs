//! Import from a directory of text files (path = `/` + relative file path,
//! timestamps from the modification time, files visited in sorted order)
//! or from a JSONL file of memory objects.
//!
//! Both stream their input (one file or one line at a time, lines capped at
//! [`MAX_LINE_BYTES`]), report progress, and are all or nothing: the whole
//! import is one version, and the first bad file or line aborts it with its
//! name and line number unless [`ImportOptions::skip_bad_lines`] is set.
//!
//! Memory: the input is never held whole; the parsed memories are held until
//! the single commit (after which the store's live state holds them anyway),
//! and the commit is written frame by frame.

use std::fs::{self, File};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::error::StoreError;
use super::export::JsonSource;
use super::{Batch, Store};
use crate::memory::{ContentHash, MAX_CONTENT_BYTES, Memory, MemoryPath, Metadata, Timestamp};
use crate::progress::{CancelToken, Observer, Progress};

/// Longest JSONL line accepted (a 100 kB content fully `\u`-escaped, plus
/// room for metadata and sources).
pub const MAX_LINE_BYTES: usize = 4 << 20;

/// How to import: [`Default`] (abort on the first bad input, no
/// cancellation) and `with_…` methods.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ImportOptions {
    /// Skip bad lines (JSONL) or bad files (directory), listing them in the
    /// report, instead of aborting the whole import.
    pub skip_bad_lines: bool,
    /// Stops the import (nothing is written) when cancelled.
    pub cancel: Option<CancelToken>,
}

impl ImportOptions {
    /// Skips bad lines or files, listing them in the report, instead of aborting.
    pub fn with_skip_bad_lines(mut self, skip_bad_lines: bool) -> Self {
        self.skip_bad_lines = skip_bad_lines;
        self
    }

    /// Stops the import (nothing is written) when `cancel` is cancelled.
    pub fn with_cancel(mut self, cancel: CancelToken) -> Self {
        self.cancel = Some(cancel);
        self
    }
}

/// A line or file left out by an import with `skip_bad_lines`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedInput {
    /// The file.
    pub file: PathBuf,
    /// The 1-based line number, for JSONL.
    pub line: Option<u64>,
    /// Why it was skipped.
    pub reason: String,
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportReport {
    /// Distinct paths written.
    pub imported: u64,
    /// Inputs left out (only with `skip_bad_lines`).
    pub skipped: Vec<SkippedInput>,
    /// The store's version after the import.
    pub version: u64,
}

/// A JSONL memory object; fields the export adds are accepted and checked,
/// unknown fields are ignored.
#[derive(Deserialize)]
struct JsonMemory {
    path: String,
    content: String,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    updated_at: Option<String>,
    #[serde(default)]
    metadata: Option<Metadata>,
    #[serde(default)]
    sources: Option<Vec<JsonSource>>,
    #[serde(default)]
    content_hash: Option<String>,
    #[serde(default)]
    content_sha256: Option<String>,
}

/// Turns one JSONL line into a memory; `now` fills missing timestamps.
fn parse_line(line: &str, now: Timestamp) -> Result<Memory, String> {
    let json: JsonMemory = serde_json::from_str(line).map_err(|e| format!("invalid memory object: {e}"))?;
    let path = MemoryPath::new(&json.path).map_err(|e| e.to_string())?;
    if json.content.len() > MAX_CONTENT_BYTES {
        return Err(format!(
            "content of {path} is {} bytes; at most {MAX_CONTENT_BYTES} are allowed",
            json.content.len()
        ));
    }
    let time = |field: &str, text: &Option<String>| -> Result<Option<Timestamp>, String> {
        match text {
            None => Ok(None),
            Some(t) => Timestamp::parse_rfc3339(t)
                .map(Some)
                .ok_or_else(|| format!("{field} {t:?} is not an RFC 3339 date-time")),
        }
    };
    let created = time("created_at", &json.created_at)?;
    let updated = time("updated_at", &json.updated_at)?;
    let mut memory = Memory::new(path, json.content, now);
    memory.created_at = created.or(updated).unwrap_or(now);
    memory.updated_at = updated.or(created).unwrap_or(now);
    if let Some(hex) = &json.content_hash
        && ContentHash::from_hex(hex) != Some(memory.hash)
    {
        return Err(format!("content_hash {hex:?} does not match the content"));
    }
    if let Some(hex) = &json.content_sha256
        && !hex.eq_ignore_ascii_case(&crate::memory::content_sha256(&memory.content))
    {
        return Err(format!("content_sha256 {hex:?} does not match the content"));
    }
    memory.metadata = json.metadata.unwrap_or_default();
    memory.sources =
        json.sources.unwrap_or_default().iter().map(JsonSource::to_source).collect::<Result<_, _>>()?;
    Ok(memory)
}

fn check_cancel(options: &ImportOptions) -> Result<(), StoreError> {
    match &options.cancel {
        Some(token) if token.is_cancelled() => Err(StoreError::Cancelled),
        _ => Ok(()),
    }
}

/// Streams JSONL memory objects from `reader` (the file `file`, of
/// `total_bytes` bytes for progress) and hands each valid memory to `sink`.
///
/// Blank lines are ignored. A bad line is an error naming `file` and its
/// line number, or, with `skip_bad_lines`, is listed in the returned vector.
pub fn import_jsonl_reader(
    mut reader: impl BufRead,
    file: &Path,
    total_bytes: u64,
    options: &ImportOptions,
    observer: &dyn Observer,
    mut sink: impl FnMut(Memory) -> Result<(), StoreError>,
) -> Result<Vec<SkippedInput>, StoreError> {
    let now = Timestamp::now();
    let mut skipped = Vec::new();
    let mut buf = Vec::new();
    let (mut line_no, mut done) = (0u64, 0u64);
    loop {
        buf.clear();
        let n = (&mut reader)
            .take(MAX_LINE_BYTES as u64 + 1)
            .read_until(b'\n', &mut buf)
            .map_err(StoreError::io(file))?;
        if n == 0 {
            break;
        }
        line_no += 1;
        done += n as u64;
        let parsed = if buf.len() > MAX_LINE_BYTES {
            // Consume the rest of the over-long line so the next one starts clean.
            while !buf.ends_with(b"\n") {
                buf.clear();
                let more =
                    (&mut reader).take(1 << 16).read_until(b'\n', &mut buf).map_err(StoreError::io(file))?;
                if more == 0 {
                    break;
                }
                done += more as u64;
            }
            Err(format!("line is longer than {MAX_LINE_BYTES} bytes"))
        } else {
            match std::str::from_utf8(&buf) {
                Err(e) => Err(format!("not UTF-8 at byte {} of the line", e.valid_up_to())),
                Ok(text) if text.trim().is_empty() => continue,
                Ok(text) => parse_line(text, now),
            }
        };
        match parsed {
            Ok(memory) => sink(memory)?,
            Err(reason) if options.skip_bad_lines => {
                skipped.push(SkippedInput { file: file.to_owned(), line: Some(line_no), reason });
            }
            Err(reason) => return Err(StoreError::BadLine { file: file.to_owned(), line: line_no, reason }),
        }
        if line_no % 1024 == 0 {
            check_cancel(options)?;
            observer.progress(Progress { stage: "import", done, total: total_bytes.max(done) });
        }
    }
    observer.progress(Progress { stage: "import", done, total: total_bytes.max(done) });
    Ok(skipped)
}

/// A file of a directory import that cannot be imported.
fn bad_file(file: &Path, reason: impl Into<String>) -> StoreError {
    StoreError::BadFile { file: file.to_owned(), reason: reason.into() }
}

/// Reads one file of a directory import into a memory.
fn read_file_memory(root: &Path, file: &Path) -> Result<Memory, StoreError> {
    let relative = file.strip_prefix(root).map_err(|_| bad_file(file, "outside the import directory"))?;
    let mut raw = String::new();
    for part in relative.components() {
        let text = part.as_os_str().to_str().ok_or_else(|| bad_file(file, "file name is not UTF-8"))?;
        raw.push('/');
        raw.push_str(text);
    }
    let path = MemoryPath::new(&raw).map_err(|e| bad_file(file, e.to_string()))?;
    let meta = fs::metadata(file).map_err(StoreError::io(file))?;
    if meta.len() > MAX_CONTENT_BYTES as u64 {
        return Err(bad_file(
            file,
            format!("{} bytes; a memory holds at most {MAX_CONTENT_BYTES}", meta.len()),
        ));
    }
    let bytes = fs::read(file).map_err(StoreError::io(file))?;
    let content = String::from_utf8(bytes)
        .map_err(|e| bad_file(file, format!("not UTF-8 text (at byte {})", e.utf8_error().valid_up_to())))?;
    let mtime = meta.modified().map(Timestamp::from_system_time).map_err(StoreError::io(file))?;
    let memory = Memory::new(path, content, mtime);
    crate::memory::check_content(&memory.path, &memory.content)?;
    Ok(memory)
}

/// Walks `root` in sorted order, following links, yielding regular files.
fn walk(root: &Path) -> impl Iterator<Item = Result<PathBuf, StoreError>> {
    walkdir::WalkDir::new(root).follow_links(true).sort_by_file_name().into_iter().filter_map(|entry| {
        match entry {
            Ok(e) if e.file_type().is_file() => Some(Ok(e.into_path())),
            Ok(_) => None,
            Err(e) => {
                let path = e.path().map(Path::to_owned).unwrap_or_default();
                Some(Err(StoreError::Io { path, source: e.into() }))
            }
        }
    })
}

impl Store {
    /// Imports `src`: a directory of text files, or a JSONL file of memory
    /// objects (anything that is not a directory). One version, all or
    /// nothing (see [`ImportOptions`]).
    pub fn import(
        &mut self,
        src: &Path,
        options: &ImportOptions,
        observer: &dyn Observer,
    ) -> Result<ImportReport, StoreError> {
        if src.is_dir() {
            self.import_dir(src, options, observer)
        } else {
            self.import_jsonl(src, options, observer)
        }
    }

    /// Imports a JSONL file of memory objects; see [`import_jsonl_reader`].
    pub fn import_jsonl(
        &mut self,
        src: &Path,
        options: &ImportOptions,
        observer: &dyn Observer,
    ) -> Result<ImportReport, StoreError> {
        let file = File::open(src).map_err(StoreError::io(src))?;
        let total = file.metadata().map_err(StoreError::io(src))?.len();
        let mut batch = self.batch();
        batch.store.writable()?;
        let skipped = import_jsonl_reader(
            BufReader::with_capacity(1 << 16, file),
            src,
            total,
            options,
            observer,
            |memory| batch.put_memory(memory),
        )?;
        check_cancel(options)?;
        finish(batch, skipped)
    }

    /// Imports a directory of text files.
    pub fn import_dir(
        &mut self,
        src: &Path,
        options: &ImportOptions,
        observer: &dyn Observer,
    ) -> Result<ImportReport, StoreError> {
        self.writable()?;
        let mut total = 0u64;
        for entry in walk(src) {
            entry?;
            total += 1;
        }
        let mut batch = self.batch();
        let mut skipped = Vec::new();
        for (done, entry) in walk(src).enumerate() {
            let file = entry?;
            match read_file_memory(src, &file) {
                Ok(memory) => batch.put_memory(memory)?,
                Err(e @ (StoreError::BadFile { .. } | StoreError::Memory(_))) if options.skip_bad_lines => {
                    skipped.push(SkippedInput { file, line: None, reason: e.to_string() });
                }
                Err(e) => return Err(e),
            }
            if done % 256 == 0 {
                check_cancel(options)?;
                observer.progress(Progress { stage: "import", done: done as u64, total });
            }
        }
        observer.progress(Progress { stage: "import", done: total, total });
        check_cancel(options)?;
        finish(batch, skipped)
    }
}

fn finish(batch: Batch<'_>, skipped: Vec<SkippedInput>) -> Result<ImportReport, StoreError> {
    let imported = batch.len() as u64;
    let version = batch.commit()?;
    Ok(ImportReport { imported, skipped, version })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::progress::Silent;

    fn parse_all(text: &str, skip: bool) -> Result<(Vec<Memory>, Vec<SkippedInput>), StoreError> {
        let mut out = Vec::new();
        let options = ImportOptions { skip_bad_lines: skip, cancel: None };
        let skipped =
            import_jsonl_reader(text.as_bytes(), Path::new("in.jsonl"), 0, &options, &Silent, |m| {
                out.push(m);
                Ok(())
            })?;
        Ok((out, skipped))
    }

    #[test]
    fn reads_objects_and_reports_bad_line_numbers() {
        let text = "{\"path\":\"/a\",\"content\":\"x\",\"created_at\":\"2026-01-02T03:04:05Z\"}\n\n{\"path\":\"b\",\"content\":\"y\"}\n";
        let err = parse_all(text, false).unwrap_err().to_string();
        assert!(err.starts_with("in.jsonl, line 3: path \"b\" must start with '/'"), "{err}");
        let (memories, skipped) = parse_all(text, true).unwrap();
        assert_eq!(memories.len(), 1);
        assert_eq!(memories[0].created_at, memories[0].updated_at);
        assert_eq!(memories[0].created_at.to_rfc3339(), "2026-01-02T03:04:05.000Z");
        assert_eq!(skipped.len(), 1);
        assert_eq!(skipped[0].line, Some(3));
    }

    #[test]
    fn checks_hashes_the_export_writes() {
        let bad = "{\"path\":\"/a\",\"content\":\"x\",\"content_sha256\":\"00\"}";
        assert!(parse_all(bad, false).unwrap_err().to_string().contains("content_sha256"));
        let good = format!(
            "{{\"path\":\"/a\",\"content\":\"x\",\"content_sha256\":\"{}\",\"content_hash\":\"{}\"}}",
            crate::memory::content_sha256("x"),
            ContentHash::of(b"x").to_hex()
        );
        assert_eq!(parse_all(&good, false).unwrap().0.len(), 1);
    }

    #[test]
    fn refuses_over_long_lines_and_resynchronises() {
        let long = format!("{{\"path\":\"/a\",\"content\":\"{}\"}}\n", "x".repeat(MAX_LINE_BYTES));
        let text = format!("{long}{{\"path\":\"/b\",\"content\":\"y\"}}\n");
        let (memories, skipped) = parse_all(&text, true).unwrap();
        assert_eq!(memories.len(), 1);
        assert_eq!(memories[0].path.as_str(), "/b");
        assert_eq!(skipped[0].line, Some(1));
        assert!(parse_all(&text, false).unwrap_err().to_string().contains("line 1: line is longer"));
    }

    #[test]
    fn invalid_utf8_is_a_bad_line() {
        let text: &[u8] = b"{\"path\":\"/a\",\"content\":\"\xff\"}\n";
        let options = ImportOptions::default();
        let err = import_jsonl_reader(text, Path::new("f"), 0, &options, &Silent, |_| Ok(())).unwrap_err();
        assert!(err.to_string().contains("line 1: not UTF-8"), "{err}");
    }
}
