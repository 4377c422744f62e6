//! The store's advisory lock: one writer (exclusive) or many readers
//! (shared) across processes, held on the `store.lock` file for one
//! operation at a time — an open, a write, a [`SharedStore`](super::SharedStore)
//! read or write — never for a handle's lifetime, and released by the
//! operating system if the process dies.
//!
//! A lock held by another process is waited for, briefly ([`LOCK_PATIENCE`]),
//! before [`StoreError::Locked`]: while a process starts another program,
//! the child shares the parent's open files until its `exec` closes them,
//! so a lock just released can stay held for a few milliseconds.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::Path;
use std::time::{Duration, Instant};

use super::error::StoreError;

/// Name of the lock file at the top of a store directory.
pub const LOCK_FILE: &str = "store.lock";

/// How long a lock held by another process is waited for.
pub const LOCK_PATIENCE: Duration = Duration::from_millis(500);

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
        patiently(LOCK_PATIENCE, || file.try_lock()).map_err(|e| refused(dir, &path, e))?;
        Ok(Self { _file: Some(file) })
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
        patiently(LOCK_PATIENCE, || file.try_lock_shared()).map_err(|e| refused(dir, &path, e))?;
        Ok(Self { _file: Some(file) })
    }
}

/// Tries `lock` until it succeeds or `patience` has passed, sleeping a
/// little longer after each refusal; the last refusal if it never does (an
/// I/O error at once).
pub(crate) fn patiently(
    patience: Duration,
    lock: impl Fn() -> Result<(), TryLockError>,
) -> Result<(), TryLockError> {
    let started = Instant::now();
    let mut pause = Duration::from_millis(1);
    loop {
        match lock() {
            Err(TryLockError::WouldBlock) if started.elapsed() < patience => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(50));
            }
            done => return done,
        }
    }
}

/// The store's error for a lock refused on `path` in the store `dir`.
fn refused(dir: &Path, path: &Path, e: TryLockError) -> StoreError {
    match e {
        TryLockError::WouldBlock => StoreError::Locked(dir.to_owned()),
        TryLockError::Error(e) => StoreError::Io { path: path.to_owned(), source: e },
    }
}
