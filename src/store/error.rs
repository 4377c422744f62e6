//! The store layer's error type: every variant names the file (and where it
//! applies, the offset or line) so that a user can act on it.

use std::io;
use std::path::PathBuf;

use crate::memory::MemoryError;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// An operating-system call on `path` failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory the call was about.
        path: PathBuf,
        /// What the operating system said.
        source: io::Error,
    },
    /// There is no store in the directory.
    #[error("{}: no store here (run `dreamwork init` first)", .0.display())]
    NotFound(PathBuf),
    /// `create` found a store already in the directory.
    #[error("{}: a store already exists here", .0.display())]
    AlreadyExists(PathBuf),
    /// Another process holds the store's lock (a writer excludes everyone,
    /// readers exclude writers), still after waiting [`LOCK_PATIENCE`](super::LOCK_PATIENCE).
    #[error("{}: store is locked by another process", .0.display())]
    Locked(PathBuf),
    /// A file does not start with the magic bytes of the expected kind.
    #[error("{}: not a dreamwork {kind} file (bad magic bytes)", file.display())]
    BadMagic {
        /// The file.
        file: PathBuf,
        /// What it should have been (`"log"`, `"snapshot"`).
        kind: &'static str,
    },
    /// A file was written by an unknown format version.
    #[error("{}: format version {found} is not supported (this build reads version {expected})", file.display())]
    UnsupportedVersion {
        /// The file.
        file: PathBuf,
        /// The version found in the file.
        found: u32,
        /// The version this build reads.
        expected: u32,
    },
    /// A checksum, length or structural check failed: the file is damaged.
    #[error("{}: corrupt at offset {offset}: {reason}", file.display())]
    Corrupt {
        /// The damaged file.
        file: PathBuf,
        /// Byte offset of the damaged frame or field.
        offset: u64,
        /// What check failed.
        reason: String,
    },
    /// A path or content broke the memory rules.
    #[error(transparent)]
    Memory(#[from] MemoryError),
    /// A write was attempted on a store opened read-only.
    #[error("{}: store is open read-only", .0.display())]
    ReadOnly(PathBuf),
    /// A previous write failed half-way and could not be rolled back; the
    /// store refuses further writes until it is reopened (which repairs the
    /// log).
    #[error("{}: an earlier write failed; reopen the store to repair it", .0.display())]
    Poisoned(PathBuf),
    /// A version number that the store has not reached.
    #[error("version {asked} does not exist (the store is at version {current})")]
    NoSuchVersion {
        /// The version asked for.
        asked: u64,
        /// The store's last committed version.
        current: u64,
    },
    /// A bad line of a JSONL import.
    #[error("{}, line {line}: {reason}", file.display())]
    BadLine {
        /// The JSONL file.
        file: PathBuf,
        /// The 1-based line number.
        line: u64,
        /// What is wrong with it.
        reason: String,
    },
    /// A file of a directory import, or an export target, that cannot be used.
    #[error("{}: {reason}", file.display())]
    BadFile {
        /// The file at fault.
        file: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The job was cancelled through its [`CancelToken`](crate::progress::CancelToken).
    #[error("cancelled")]
    Cancelled,
}

impl StoreError {
    /// Wraps an I/O error with the path it concerns.
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> StoreError {
        let path = path.into();
        move |source| StoreError::Io { path, source }
    }

    /// A corruption error at `offset` of `file`.
    pub(crate) fn corrupt(file: impl Into<PathBuf>, offset: u64, reason: impl Into<String>) -> StoreError {
        StoreError::Corrupt { file: file.into(), offset, reason: reason.into() }
    }
}
