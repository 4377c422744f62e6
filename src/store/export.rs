//! Export of the live memories to a directory of files (the mounted view)
//! or to JSONL (one memory object per line, in path order, with the
//! hosted API's `content_sha256` beside the blake3 `content_hash`).

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::error::StoreError;
use super::{Store, snapshot};
use crate::id::{Excerpt, SessionId};
use crate::memory::{ContentHash, Memory, MemoryPath, Metadata, Source, Timestamp, content_sha256};
use crate::progress::{Observer, Progress};

/// Where [`Store::export`] writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ExportFormat {
    /// One file per memory under the destination directory, named by its
    /// path, with its `updated_at` as modification time.
    #[default]
    Dir,
    /// One JSON object per line.
    Jsonl,
}

/// A memory's provenance entry in JSONL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum JsonSource {
    Memory { path: String, hash: String },
    Excerpt { session: String, start: u32, end: u32, hash: String },
}

impl JsonSource {
    pub(crate) fn from_source(source: &Source) -> Self {
        match source {
            Source::Memory { path, hash } => {
                JsonSource::Memory { path: path.to_string(), hash: hash.to_hex() }
            }
            Source::Excerpt(e) => JsonSource::Excerpt {
                session: e.session.0.to_hex(),
                start: e.start,
                end: e.end,
                hash: e.hash.to_hex(),
            },
        }
    }

    pub(crate) fn to_source(&self) -> Result<Source, String> {
        let hash =
            |h: &str| ContentHash::from_hex(h).ok_or_else(|| format!("{h:?} is not a 64-digit hex hash"));
        Ok(match self {
            JsonSource::Memory { path, hash: h } => Source::Memory {
                path: MemoryPath::new(path).map_err(|e| format!("source: {e}"))?,
                hash: hash(h)?,
            },
            JsonSource::Excerpt { session, start, end, hash: h } => Source::Excerpt(Excerpt {
                session: SessionId(hash(session)?),
                start: *start,
                end: *end,
                hash: hash(h)?,
            }),
        })
    }
}

/// The JSONL line written for a memory.
#[derive(Serialize)]
struct JsonOut<'a> {
    path: &'a str,
    content: &'a str,
    content_hash: String,
    content_sha256: String,
    created_at: String,
    updated_at: String,
    metadata: &'a Metadata,
    sources: Vec<JsonSource>,
}

/// Writes `memory` as one JSONL line (with its newline) to `out`.
pub(crate) fn write_jsonl_line(memory: &Memory, out: &mut impl Write) -> io::Result<()> {
    let line = JsonOut {
        path: memory.path.as_str(),
        content: &memory.content,
        content_hash: memory.hash.to_hex(),
        content_sha256: content_sha256(&memory.content),
        created_at: memory.created_at.to_rfc3339(),
        updated_at: memory.updated_at.to_rfc3339(),
        metadata: &memory.metadata,
        sources: memory.sources.iter().map(JsonSource::from_source).collect(),
    };
    serde_json::to_writer(&mut *out, &line)?;
    out.write_all(b"\n")
}

/// The file-system time of a timestamp.
fn system_time(at: Timestamp) -> SystemTime {
    let ms = Duration::from_millis(at.0.unsigned_abs());
    let t = if at.0 >= 0 { UNIX_EPOCH.checked_add(ms) } else { UNIX_EPOCH.checked_sub(ms) };
    t.unwrap_or(UNIX_EPOCH)
}

impl Store {
    /// Writes every live memory in path order as JSONL to `out`.
    pub fn export_jsonl_to(&self, out: &mut impl Write) -> io::Result<()> {
        for memory in self.iter() {
            write_jsonl_line(memory, out)?;
        }
        Ok(())
    }

    /// Exports the live memories to `dest` and returns how many were written.
    ///
    /// [`ExportFormat::Jsonl`] replaces the file `dest` atomically.
    /// [`ExportFormat::Dir`] needs `dest` to be missing or an empty
    /// directory, and fails if one memory's path is a directory of another
    /// (`/a` and `/a/b`), which files cannot express.
    pub fn export(
        &self,
        dest: &Path,
        format: ExportFormat,
        observer: &dyn Observer,
    ) -> Result<u64, StoreError> {
        let total = self.len() as u64;
        let report = |done: u64| observer.progress(Progress { stage: "export", done, total });
        match format {
            ExportFormat::Jsonl => {
                let (dir, name) = split_file(dest)?;
                let tmp = dir.join(format!(".{name}.tmp"));
                let file = File::create(&tmp).map_err(StoreError::io(&tmp))?;
                let mut out = BufWriter::new(file);
                for (i, memory) in self.iter().enumerate() {
                    write_jsonl_line(memory, &mut out).map_err(StoreError::io(&tmp))?;
                    if i % 4096 == 0 {
                        report(i as u64);
                    }
                }
                let file = out
                    .into_inner()
                    .map_err(|e| StoreError::Io { path: tmp.clone(), source: e.into_error() })?;
                file.sync_all().map_err(StoreError::io(&tmp))?;
                fs::rename(&tmp, dest).map_err(StoreError::io(dest))?;
                snapshot::sync_dir(&dir)?;
            }
            ExportFormat::Dir => {
                if dest.exists() {
                    let mut entries = fs::read_dir(dest).map_err(StoreError::io(dest))?;
                    if entries.next().is_some() {
                        return Err(StoreError::BadFile {
                            file: dest.to_owned(),
                            reason: "export directory exists and is not empty".into(),
                        });
                    }
                }
                fs::create_dir_all(dest).map_err(StoreError::io(dest))?;
                for (i, memory) in self.iter().enumerate() {
                    self.export_file(dest, memory)?;
                    if i % 1024 == 0 {
                        report(i as u64);
                    }
                }
            }
        }
        report(total);
        Ok(total)
    }

    fn export_file(&self, dest: &Path, memory: &Memory) -> Result<(), StoreError> {
        let path = memory.path.as_str();
        for (i, _) in path.match_indices('/').skip(1) {
            if self.memories.contains_key(&path[..i]) {
                return Err(StoreError::BadFile {
                    file: dest.to_owned(),
                    reason: format!(
                        "cannot export {path} as a file: {} is a memory too (use the jsonl format)",
                        &path[..i]
                    ),
                });
            }
        }
        let file = dest.join(&path[1..]);
        if let Some(parent) = file.parent() {
            fs::create_dir_all(parent).map_err(StoreError::io(parent))?;
        }
        let mut out = File::create(&file).map_err(StoreError::io(&file))?;
        out.write_all(memory.content.as_bytes()).map_err(StoreError::io(&file))?;
        out.set_modified(system_time(memory.updated_at)).map_err(StoreError::io(&file))?;
        Ok(())
    }
}

/// Splits a file path into its directory (`.` if none) and file name.
fn split_file(dest: &Path) -> Result<(std::path::PathBuf, String), StoreError> {
    let name = dest.file_name().and_then(|n| n.to_str()).ok_or_else(|| StoreError::BadFile {
        file: dest.to_owned(),
        reason: "not a usable file name".into(),
    })?;
    let dir = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => std::path::PathBuf::from("."),
    };
    Ok((dir, name.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_round_trip_through_json() {
        let path = MemoryPath::new("/a").unwrap();
        let sources = [
            Source::Memory { path, hash: ContentHash::of(b"x") },
            Source::Excerpt(Excerpt {
                session: SessionId(ContentHash::of(b"s")),
                start: 1,
                end: 4,
                hash: ContentHash::of(b"t"),
            }),
        ];
        for source in sources {
            let json = serde_json::to_string(&JsonSource::from_source(&source)).unwrap();
            let back: JsonSource = serde_json::from_str(&json).unwrap();
            assert_eq!(back.to_source(), Ok(source));
        }
    }

    #[test]
    fn negative_and_positive_times_map_to_system_time() {
        assert_eq!(system_time(Timestamp(1500)), UNIX_EPOCH + Duration::from_millis(1500));
        assert_eq!(Timestamp::from_system_time(system_time(Timestamp(-2500))), Timestamp(-2500));
    }
}
