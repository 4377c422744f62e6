//! The store's advisory lock: one writer (exclusive) or many readers
//! (shared) across processes, held on the `store.lock` file for as long as
//! the [`Store`](super::Store) lives, and released by the operating system
//! if the process dies.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::Path;

use super::error::StoreError;

/// Name of the lock file at the top of a store directory.
pub const LOCK_FILE: &str = "store.lock";

/// A held lock; dropping it releases the lock.
#[derive(Debug)]
pub(crate) struct Lock {
    _file: Option<File>,
}

impl Lock {
    /// Takes the exclusive (writer) lock, creating the lock file if needed.
    pub(crate) fn exclusive(dir: &Path) -> Result<Self, StoreError> {
        let path = dir.join(LOCK_FILE);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(StoreError::io(&path))?;
        match file.try_lock() {
            Ok(()) => Ok(Self { _file: Some(file) }),
            Err(TryLockError::WouldBlock) => Err(StoreError::Locked(dir.to_owned())),
            Err(TryLockError::Error(e)) => Err(StoreError::Io { path, source: e }),
        }
    }

    /// Takes a shared (reader) lock without writing anything: the lock file
    /// is opened read-only, and a store without one (copied without it) is
    /// read unlocked.
    pub(crate) fn shared(dir: &Path) -> Result<Self, StoreError> {
        let path = dir.join(LOCK_FILE);
        let file = match File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self { _file: None }),
            Err(e) => return Err(StoreError::Io { path, source: e }),
        };
        match file.try_lock_shared() {
            Ok(()) => Ok(Self { _file: Some(file) }),
            Err(TryLockError::WouldBlock) => Err(StoreError::Locked(dir.to_owned())),
            Err(TryLockError::Error(e)) => Err(StoreError::Io { path, source: e }),
        }
    }
}
