//! A store held by a long-lived process (an agent runtime, `dreamwork mcp`)
//! that shares it with other processes: [`SharedStore`] holds no lock
//! between operations. Each read takes the shared lock, each write the
//! exclusive lock, for that operation only; both first catch up with what
//! other processes committed since the last operation.
//!
//! Catching up is cheap when nothing changed (one `stat` of the log). When
//! the log grew in place, only the commits appended since are replayed: the
//! log is append-only, so the bytes already read are still there and still
//! the same. Anything else — the log shorter, or a different file (`accept`
//! renamed another store into place) — reloads the store from its snapshot.

use std::fs::OpenOptions;
use std::io::{BufReader, Seek, SeekFrom};
use std::path::Path;
use std::time::SystemTime;

use super::lock::Lock;
use super::log::LogReader;
use super::{LOG_FILE, Store, StoreError, StoreOptions, Writer, recovery};

/// A store directory opened by a process that keeps it for long and lets
/// other processes write it meanwhile: no lock is held between operations,
/// and each operation first catches up with the commits made since (only
/// the appended ones are replayed; a replaced store is reloaded). See the
/// concurrency model in [`crate::store`].
///
/// ```no_run
/// use dreamwork::{MemoryPath, store::SharedStore};
/// let mut shared = SharedStore::open("memstore")?;
/// let path = MemoryPath::new("/notes/today.md")?;
/// shared.write(|store| store.put(&path, "Deploys are on Tuesdays."))?;
/// let count = shared.read(|store| store.len())?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct SharedStore {
    /// The state as of the last operation. Its lock is a released one and
    /// it has a writer only while [`SharedStore::write`] runs.
    store: Store,
    /// The log as it was when `store` last matched it; `None` forces a
    /// reload (after a write that failed half-way).
    seen: Option<LogStamp>,
}

/// What changes when another process writes the log.
#[derive(Debug, Clone, PartialEq, Eq)]
struct LogStamp {
    len: u64,
    modified: Option<SystemTime>,
    /// Device and inode, where the platform has them.
    file: Option<(u64, u64)>,
}

impl LogStamp {
    fn of(dir: &Path) -> Result<Self, StoreError> {
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

impl SharedStore {
    /// Opens the store in `dir` with default options.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::open_with(&StoreOptions::new(), dir)
    }

    /// Opens the store in `dir`: loads it under the shared lock and lets
    /// go. Writes follow `options` (durability, snapshot size).
    pub fn open_with(options: &StoreOptions, dir: impl AsRef<Path>) -> Result<Self, StoreError> {
        let dir = dir.as_ref();
        if !dir.join(LOG_FILE).exists() {
            return Err(StoreError::NotFound(dir.to_owned()));
        }
        let _lock = Lock::shared(dir)?;
        let seen = LogStamp::of(dir)?;
        let loaded = recovery::load(dir)?;
        let store = Store {
            dir: dir.to_owned(),
            memories: loaded.memories,
            version: loaded.version,
            log_len: loaded.log_len,
            snapshot_offset: loaded.snapshot_offset,
            snapshot_bytes: loaded.snapshot_bytes,
            torn_tail: loaded.torn,
            writer: None,
            options: options.clone(),
            _lock: Lock::released(),
        };
        Ok(Self { store, seen: Some(seen) })
    }

    /// The store's directory.
    pub fn dir(&self) -> &Path {
        self.store.dir()
    }

    /// Runs `read` on the store as it is now, under the shared lock (held
    /// for the call only, waiting up to [`LOCK_PATIENCE`](super::LOCK_PATIENCE)
    /// for a writer to finish). `read` sees a read-only store.
    pub fn read<T>(&mut self, read: impl FnOnce(&Store) -> T) -> Result<T, StoreError> {
        let _lock = Lock::shared(self.store.dir())?;
        self.catch_up()?;
        Ok(read(&self.store))
    }

    /// Runs `write` on the store as it is now, under the exclusive lock
    /// (held for the call only). Every commit `write` makes is durable
    /// before the lock is released, whatever the durability option (a
    /// batched store syncs once, at the end); a snapshot is taken when the
    /// log since the last one exceeds the configured size.
    pub fn write<T, E: From<StoreError>>(
        &mut self,
        write: impl FnOnce(&mut Store) -> Result<T, E>,
    ) -> Result<T, E> {
        let dir = self.store.dir().to_owned();
        let _lock = Lock::exclusive(&dir)?;
        self.catch_up()?;
        let log_path = dir.join(LOG_FILE);
        let file =
            OpenOptions::new().read(true).append(true).open(&log_path).map_err(StoreError::io(&log_path))?;
        if self.store.torn_tail.take().is_some() {
            // As a writable open does: the unfinished write is dropped.
            file.set_len(self.store.log_len).map_err(StoreError::io(&log_path))?;
            file.sync_all().map_err(StoreError::io(&log_path))?;
        }
        self.store.writer = Some(Writer { file, poisoned: false, unsynced: false, scratch: Vec::new() });
        let result = write(&mut self.store).and_then(|value| {
            self.store.sync()?;
            if let Some(limit) = self.store.options.snapshot_after
                && self.store.log_len - self.store.snapshot_offset >= limit
            {
                self.store.compact()?;
            }
            Ok(value)
        });
        // A write that failed and could not be rolled back left bytes
        // behind: reload next time. Otherwise the log holds exactly what
        // `store` has (a refused or rolled-back write wrote nothing).
        let poisoned = self.store.writer.take().is_some_and(|w| w.poisoned);
        self.seen = if poisoned { None } else { Some(LogStamp::of(&dir)?) };
        result
    }

    /// Brings `store` up to date with the log; the caller holds a lock.
    fn catch_up(&mut self) -> Result<(), StoreError> {
        let dir = self.store.dir().to_owned();
        let now = LogStamp::of(&dir)?;
        match &self.seen {
            Some(seen) if *seen == now => return Ok(()),
            Some(seen) if now.same_file(seen) && now.len >= self.store.log_len => self.replay_tail()?,
            _ => self.reload()?,
        }
        self.seen = Some(now);
        Ok(())
    }

    /// Applies the commits appended after the last one read.
    fn replay_tail(&mut self) -> Result<(), StoreError> {
        let store = &mut self.store;
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
        let loaded = recovery::load(&self.store.dir)?;
        let store = &mut self.store;
        store.memories = loaded.memories;
        store.version = loaded.version;
        store.log_len = loaded.log_len;
        store.snapshot_offset = loaded.snapshot_offset;
        store.snapshot_bytes = loaded.snapshot_bytes;
        store.torn_tail = loaded.torn;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::MemoryPath;

    fn p(s: &str) -> MemoryPath {
        MemoryPath::new(s).expect("test paths are valid")
    }

    #[test]
    fn other_writers_get_in_between_operations_and_are_seen() {
        let dir = tempfile::tempdir().unwrap();
        drop(Store::create(dir.path()).unwrap());
        let mut shared = SharedStore::open(dir.path()).unwrap();
        shared.write(|s| s.put(&p("/mine"), "one")).unwrap();
        // Another writer opens the store while the shared one is held.
        let mut other = Store::open(dir.path()).unwrap();
        other.put(&p("/theirs"), "two").unwrap();
        // While it holds the lock, the shared store waits and then gives up.
        assert!(matches!(shared.read(|s| s.len()), Err(StoreError::Locked(_))));
        drop(other);
        assert_eq!(shared.read(|s| (s.len(), s.version())).unwrap(), (2, 2));
        shared.write(|s| s.put(&p("/mine"), "three")).unwrap();
        let reopened = Store::open_read_only(dir.path()).unwrap();
        assert_eq!(reopened.version(), 3);
        assert_eq!(reopened.get(&p("/mine")).map(|m| m.content.as_str()), Some("three"));
        assert!(Store::verify(dir.path()).unwrap().is_ok());
    }

    #[test]
    fn a_replaced_store_is_reloaded() {
        let root = tempfile::tempdir().unwrap();
        let (a, b) = (root.path().join("a"), root.path().join("b"));
        let mut first = Store::create(&a).unwrap();
        first.put(&p("/old"), "x").unwrap();
        drop(first);
        let mut second = Store::create(&b).unwrap();
        for (path, text) in [("/new1", "y"), ("/new2", "z")] {
            second.put(&p(path), text).unwrap();
        }
        drop(second);
        let mut shared = SharedStore::open(&a).unwrap();
        assert_eq!(shared.read(|s| s.len()).unwrap(), 1);
        std::fs::rename(&a, root.path().join("a.bak")).unwrap();
        std::fs::rename(&b, &a).unwrap();
        let paths = shared.read(|s| s.iter().map(|m| m.path.to_string()).collect::<Vec<_>>()).unwrap();
        assert_eq!(paths, ["/new1", "/new2"]);
    }

    #[test]
    fn a_torn_tail_left_by_another_writer_is_cut_before_writing() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::create(dir.path()).unwrap();
        store.put(&p("/a"), "x").unwrap();
        drop(store);
        let mut shared = SharedStore::open(dir.path()).unwrap();
        let log = dir.path().join(LOG_FILE);
        let mut bytes = std::fs::read(&log).unwrap();
        bytes.extend_from_slice(&[7, 0, 0, 0, 1, 2]);
        std::fs::write(&log, &bytes).unwrap();
        assert_eq!(shared.read(|s| s.len()).unwrap(), 1);
        shared.write(|s| s.put(&p("/b"), "y")).unwrap();
        let report = Store::verify(dir.path()).unwrap();
        assert!(report.is_ok(), "{report:?}");
        assert_eq!(Store::open_read_only(dir.path()).unwrap().len(), 2);
    }

    #[test]
    fn a_failed_write_changes_nothing_and_batched_writes_are_synced() {
        let dir = tempfile::tempdir().unwrap();
        drop(Store::create(dir.path()).unwrap());
        let options = StoreOptions::new().durability(super::super::Durability::Batched);
        let mut shared = SharedStore::open_with(&options, dir.path()).unwrap();
        let failed: Result<(), StoreError> = shared.write(|s| {
            s.put(&p("/a"), "x")?;
            Err(StoreError::Cancelled)
        });
        assert!(matches!(failed, Err(StoreError::Cancelled)));
        // The commit made before the error stands (each commit is whole).
        assert_eq!(shared.read(|s| s.len()).unwrap(), 1);
        shared.write(|s| s.put(&p("/b"), "y")).unwrap();
        assert_eq!(Store::open_read_only(dir.path()).unwrap().len(), 2);
    }
}
