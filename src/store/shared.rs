//! A store held by a long-lived process (an agent runtime, `dreamwork mcp`)
//! that shares it with other processes: [`SharedStore`] holds no lock
//! between operations. Each read takes the shared lock, each write the
//! exclusive lock, for that operation only; both first catch up with what
//! other processes committed since the last operation.
//!
//! (see [`follow`](super::follow)). Unlike a [`Store`] handle, whose writes
//! each take the lock on their own, a [`SharedStore::write`] holds it for
//! the whole closure, so several writes commit with no other writer in
//! between; and [`SharedStore::read`] catches up before reading.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use super::follow::LogStamp;
use super::lock::Lock;
use super::{LOG_FILE, Store, StoreError, StoreOptions, Writer};

/// A store directory opened by a process that keeps it for long and lets
/// other processes write it meanwhile: no lock is held between operations,
/// and each operation first catches up with the commits made since (only
/// the appended ones are replayed; a replaced store is reloaded). See the
/// concurrency model in [`crate::store`].
///
/// ```no_run
/// use dreamwork::{MemoryPath, store::SharedStore};
/// let shared = SharedStore::open("memstore")?;
/// let path = MemoryPath::new("/notes/today.md")?;
/// shared.write(|store| store.put(&path, "Deploys are on Tuesdays."))?;
/// let count = shared.read(|store| store.len())?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct SharedStore {
    dir: PathBuf,
    /// The state as of the last operation; it has a writer only while
    /// [`SharedStore::write`] runs. A mutex, so that reads take `&self` and
    /// one process's threads take turns.
    store: Mutex<Store>,
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
        let store = options.open_read_only(dir)?;
        Ok(Self { dir: dir.to_owned(), store: Mutex::new(store) })
    }

    /// The store's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The state, whatever a panicking thread left (each operation catches up
    /// with the log first, and a write that failed half-way forces a reload).
    fn state(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `read` on the store as it is now, under the shared lock (held
    /// for the call only, waiting up to [`LOCK_PATIENCE`](super::LOCK_PATIENCE)
    /// for a writer to finish). `read` sees a read-only store.
    pub fn read<T>(&self, read: impl FnOnce(&Store) -> T) -> Result<T, StoreError> {
        let mut store = self.state();
        let _lock = Lock::shared(&self.dir)?;
        store.catch_up()?;
        Ok(read(&store))
    }

    /// Runs `write` on the store as it is now, under the exclusive lock
    /// (held for the call only). Every commit `write` makes is durable
    /// before the lock is released, whatever the durability option (a
    /// batched store syncs once, at the end); a snapshot is taken when the
    /// log since the last one exceeds the configured size.
    pub fn write<T, E: From<StoreError>>(
        &self,
        write: impl FnOnce(&mut Store) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut guard = self.state();
        let store = &mut *guard;
        let dir = self.dir.clone();
        let _lock = Lock::exclusive(&dir)?;
        store.catch_up()?;
        let log_path = dir.join(LOG_FILE);
        let file =
            OpenOptions::new().read(true).append(true).open(&log_path).map_err(StoreError::io(&log_path))?;
        if store.torn_tail.take().is_some() {
            // As a writable open does: the unfinished write is dropped.
            file.set_len(store.log_len).map_err(StoreError::io(&log_path))?;
            file.sync_all().map_err(StoreError::io(&log_path))?;
        }
        store.writer = Some(Writer { file, poisoned: false, unsynced: false, scratch: Vec::new() });
        // The lock is held here: the store's own writes must not take it again.
        store.holding = true;
        let result = write(store).and_then(|value| {
            store.sync()?;
            if let Some(limit) = store.options.snapshot_after
                && store.log_len - store.snapshot_offset >= limit
            {
                store.compact()?;
            }
            Ok(value)
        });
        store.holding = false;
        // A write that failed and could not be rolled back left bytes
        // behind: reload next time. Otherwise the log holds exactly what
        // `store` has (a refused or rolled-back write wrote nothing).
        let poisoned = store.writer.take().is_some_and(|w| w.poisoned);
        store.seen = if poisoned { None } else { Some(LogStamp::of(&dir)?) };
        result
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
        let shared = SharedStore::open(dir.path()).unwrap();
        shared.write(|s| s.put(&p("/mine"), "one")).unwrap();
        // Another writer opens the store while the shared one is held.
        let mut other = Store::open(dir.path()).unwrap();
        other.put(&p("/theirs"), "two").unwrap();
        // While a writer holds the lock, the shared store waits and then gives up.
        let held = Lock::exclusive(dir.path()).unwrap();
        assert!(matches!(shared.read(|s| s.len()), Err(StoreError::Locked(_))));
        drop(held);
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
        let shared = SharedStore::open(&a).unwrap();
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
        let shared = SharedStore::open(dir.path()).unwrap();
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
        let shared = SharedStore::open_with(&options, dir.path()).unwrap();
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
