//! Following other writers: a store handle holds no lock between
//! operations, so before each one it catches up with the commits other
//! processes (or other handles) made since its last look.
//!
//! Catching up is cheap when nothing changed (one `stat` of the log). When
//! the log grew in place, only the commits appended since are replayed: the
//! log is append-only, so the bytes already read are still there and still
//! the same. Anything else — the log shorter, or a different file (`accept`
//! renamed another store into place) — reloads the store from its snapshot.

use std::io::{BufReader, Seek, SeekFrom};
use std::path::Path;
use std::time::SystemTime;

use super::log::LogReader;
use super::{LOG_FILE, Store, StoreError, recovery};

/// What changes when another process writes the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct LogStamp {
    len: u64,
    modified: Option<SystemTime>,
    /// Device and inode, where the platform has them.
    file: Option<(u64, u64)>,
}

impl LogStamp {
    pub(super) fn of(dir: &Path) -> Result<Self, StoreError> {
        let path = dir.join(LOG_FILE);
        let meta = match std::fs::metadata(&path) {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(StoreError::NotFound(dir.to_owned()));
            }
            Err(e) => return Err(StoreError::Io { path, source: e }),
        };
        Ok(Self { len: meta.len(), modified: meta.modified().ok(), file: file_id(&meta) })
    }

    /// Whether `self` is the same file as `before` (possibly grown).
    fn same_file(&self, before: &LogStamp) -> bool {
        self.file.is_some() && self.file == before.file
    }
}

#[cfg(unix)]
fn file_id(meta: &std::fs::Metadata) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    Some((meta.dev(), meta.ino()))
}

#[cfg(not(unix))]
fn file_id(_meta: &std::fs::Metadata) -> Option<(u64, u64)> {
    // Without a file identity every change is a full reload.
    None
}

impl Store {
    /// Brings the handle up to date with the log; the caller holds a lock.
    /// Whether the store was reloaded (the log is another file, or shorter).
    pub(super) fn catch_up(&mut self) -> Result<bool, StoreError> {
        let now = LogStamp::of(&self.dir)?;
        let reloaded = match &self.seen {
            Some(seen) if *seen == now => return Ok(false),
            Some(seen) if now.same_file(seen) && now.len >= self.log_len => {
                self.replay_tail()?;
                false
            }
            _ => {
                self.reload()?;
                true
            }
        };
        self.seen = Some(now);
        Ok(reloaded)
    }

    /// Applies the commits appended after the last one read.
    fn replay_tail(&mut self) -> Result<(), StoreError> {
        let store = self;
        let log_path = store.dir.join(LOG_FILE);
        let (mut file, len) = recovery::open_log(&store.dir)?;
        file.seek(SeekFrom::Start(store.log_len)).map_err(StoreError::io(&log_path))?;
        let mut reader =
            LogReader::new(BufReader::new(file), &log_path, store.log_len, len, store.version + 1);
        while let Some(commit) = reader.next_commit()? {
            store.version = commit.version;
            recovery::apply(&mut store.memories, commit.ops);
        }
        store.log_len = reader.offset();
        store.torn_tail = reader.torn_tail().cloned();
        Ok(())
    }

    /// Loads the store afresh (snapshot plus log).
    fn reload(&mut self) -> Result<(), StoreError> {
        let loaded = recovery::load(&self.dir)?;
        let store = self;
        store.memories = loaded.memories;
        store.version = loaded.version;
        store.log_len = loaded.log_len;
        store.snapshot_offset = loaded.snapshot_offset;
        store.snapshot_bytes = loaded.snapshot_bytes;
        store.torn_tail = loaded.torn;
        Ok(())
    }
}
