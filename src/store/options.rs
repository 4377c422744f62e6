//! How to open or create a store: [`StoreOptions`] (a builder) and
//! [`Durability`].

use std::fs::{self, OpenOptions};
use std::path::Path;

use super::follow::LogStamp;
use super::lock::Lock;
use super::{DEFAULT_SNAPSHOT_AFTER_LOG_BYTES, LOG_FILE, SNAPSHOT_FILE, Store, StoreError, Writer};
use super::{log, recovery, snapshot};

/// When a commit reaches the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Durability {
    /// Every commit is fsynced before it returns: an acknowledged write
    /// survives power loss.
    #[default]
    Immediate,
    /// Commits are written to the operating system but fsynced only by
    /// [`Store::sync`], [`Store::compact`] or when the store is dropped. An
    /// application crash loses nothing; a power loss or kernel crash may lose
    /// the commits since the last sync (never earlier ones, and never leaving
    /// a partial commit behind).
    Batched,
}

/// How to open or create a store (a builder).
///
/// ```no_run
/// use dreamwork::store::{Durability, StoreOptions};
/// let store = StoreOptions::new().durability(Durability::Batched).open("memstore")?;
/// # Ok::<(), dreamwork::store::StoreError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoreOptions {
    pub(super) durability: Durability,
    pub(super) snapshot_after: Option<u64>,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self { durability: Durability::Immediate, snapshot_after: Some(DEFAULT_SNAPSHOT_AFTER_LOG_BYTES) }
    }
}

impl StoreOptions {
    /// Immediate durability, snapshot after [`DEFAULT_SNAPSHOT_AFTER_LOG_BYTES`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Chooses when commits reach the disk.
    pub fn durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }

    /// A writable open takes a snapshot when at least this many bytes of log
    /// were written since the last one; `None` snapshots only on
    /// [`Store::compact`].
    pub fn snapshot_after_log_bytes(mut self, bytes: Option<u64>) -> Self {
        self.snapshot_after = bytes;
        self
    }

    /// Creates a new, empty store in `dir` (created if missing) and opens it
    /// for writing; fails if a store is already there.
    pub fn create(&self, dir: impl AsRef<Path>) -> Result<Store, StoreError> {
        let dir = dir.as_ref();
        fs::create_dir_all(dir).map_err(StoreError::io(dir))?;
        if store_exists(dir)? {
            return Err(StoreError::AlreadyExists(dir.to_owned()));
        }
        let lock = Lock::exclusive(dir)?;
        if store_exists(dir)? {
            return Err(StoreError::AlreadyExists(dir.to_owned()));
        }
        snapshot::write_atomically(dir, LOG_FILE, &log::header())?;
        self.open_locked(dir, lock)
    }

    /// Opens the store in `dir` for writing, dropping a torn tail left by an
    /// interrupted write (under the exclusive lock, for the open only: each
    /// write takes it again).
    pub fn open(&self, dir: impl AsRef<Path>) -> Result<Store, StoreError> {
        let dir = dir.as_ref();
        // Checked before locking so that a directory without a store does
        // not get a lock file.
        if !dir.join(LOG_FILE).exists() {
            return Err(StoreError::NotFound(dir.to_owned()));
        }
        let lock = Lock::exclusive(dir)?;
        self.open_locked(dir, lock)
    }

    /// Opens the store in `dir` for reading (under the shared lock, for the
    /// open only: the handle shows the store as it was then). Never writes a
    /// byte: a torn tail is ignored, not repaired.
    pub fn open_read_only(&self, dir: impl AsRef<Path>) -> Result<Store, StoreError> {
        let dir = dir.as_ref();
        if !dir.join(LOG_FILE).exists() {
            return Err(StoreError::NotFound(dir.to_owned()));
        }
        let _lock = Lock::shared(dir)?;
        let loaded = recovery::load(dir)?;
        Ok(Store {
            dir: dir.to_owned(),
            memories: loaded.memories,
            version: loaded.version,
            log_len: loaded.log_len,
            snapshot_offset: loaded.snapshot_offset,
            snapshot_bytes: loaded.snapshot_bytes,
            torn_tail: loaded.torn,
            writer: None,
            options: self.clone(),
            seen: Some(LogStamp::of(dir)?),
            holding: false,
        })
    }

    fn open_locked(&self, dir: &Path, lock: Lock) -> Result<Store, StoreError> {
        let loaded = recovery::load(dir)?;
        let log_path = dir.join(LOG_FILE);
        let file =
            OpenOptions::new().read(true).append(true).open(&log_path).map_err(StoreError::io(&log_path))?;
        if loaded.torn.is_some() {
            file.set_len(loaded.log_len).map_err(StoreError::io(&log_path))?;
            file.sync_all().map_err(StoreError::io(&log_path))?;
        }
        let mut store = Store {
            dir: dir.to_owned(),
            memories: loaded.memories,
            version: loaded.version,
            log_len: loaded.log_len,
            snapshot_offset: loaded.snapshot_offset,
            snapshot_bytes: loaded.snapshot_bytes,
            torn_tail: None,
            writer: Some(Writer { file, poisoned: false, unsynced: false, scratch: Vec::new() }),
            options: self.clone(),
            seen: Some(LogStamp::of(dir)?),
            // The open holds the lock, so taking a snapshot below must not.
            holding: true,
        };
        if let Some(limit) = self.snapshot_after
            && store.log_len - store.snapshot_offset >= limit
        {
            store.compact()?;
        }
        store.holding = false;
        drop(lock);
        Ok(store)
    }
}

/// Whether `dir` holds a store's log or snapshot.
fn store_exists(dir: &Path) -> Result<bool, StoreError> {
    for name in [LOG_FILE, SNAPSHOT_FILE] {
        let path = dir.join(name);
        if path.try_exists().map_err(StoreError::io(&path))? {
            return Ok(true);
        }
    }
    Ok(false)
}
