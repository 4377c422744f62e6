//! The one error type of the session layer: importing transcripts and
//! storing sessions. Every variant names the file at fault and, for bad
//! input, the place in it (line, column or item).

use std::fmt;
use std::path::PathBuf;

/// Where in an input file a problem was found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Location {
    /// A 1-based line (JSONL files, text transcripts).
    Line(usize),
    /// A 1-based line and column (whole JSON documents).
    LineColumn(usize, usize),
    /// An item of a JSON document, e.g. `messages[3]` or `event 2`.
    Item(String),
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Line(line) => write!(f, "line {line}"),
            Location::LineColumn(line, column) => write!(f, "line {line}, column {column}"),
            Location::Item(item) => f.write_str(item),
        }
    }
}

/// Why importing, storing or reading a session failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// An I/O error on the named path.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory that failed.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// The input is not valid for its format.
    #[error("{file}: {location}: {message}")]
    Malformed {
        /// The input file (or the origin name given to [`parse`](super::parse)).
        file: String,
        /// Where in the file.
        location: Location,
        /// What is wrong.
        message: String,
    },
    /// `--format auto` found no format that fits the content.
    #[error("{file}: not a recognised session transcript ({reason})")]
    UnknownFormat {
        /// The input file.
        file: String,
        /// Why no format fits.
        reason: String,
    },
    /// A stored session file is damaged: bad header, checksum, body, or a
    /// content that does not hash to its id.
    #[error("{path}: corrupt session file: {reason}")]
    Corrupt {
        /// The damaged file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A stored session file was written by a format version this build
    /// does not read.
    #[error(
        "{path}: session file format version {found} is not supported (this build reads version {supported})"
    )]
    UnsupportedVersion {
        /// The file.
        path: PathBuf,
        /// The version found in its header.
        found: u32,
        /// The version this build reads and writes.
        supported: u32,
    },
    /// A session handed to the store does not hash to the id it carries
    /// (its fields were changed after [`Session::new`](super::Session::new)).
    #[error("session claims id {claimed} but its content hashes to {actual}")]
    IdMismatch {
        /// The id the session carries.
        claimed: super::SessionId,
        /// The id its content hashes to.
        actual: super::SessionId,
    },
    /// No stored session matches the id or prefix.
    #[error("no session {0} in the store")]
    NotFound(String),
    /// A hexadecimal prefix matches several stored sessions.
    #[error("session prefix {prefix} is ambiguous: it matches {count} sessions")]
    AmbiguousPrefix {
        /// The prefix asked for.
        prefix: String,
        /// How many sessions it matches.
        count: usize,
    },
    /// A session id or prefix is not hexadecimal.
    #[error("{0:?} is not a session id (expected 1 to 64 hexadecimal digits)")]
    BadId(String),
    /// A write was attempted on a store opened read-only.
    #[error("{0}: session store is open read-only")]
    ReadOnly(PathBuf),
    /// The job was cancelled.
    #[error("cancelled")]
    Cancelled,
}

impl SessionError {
    /// A [`SessionError::Malformed`] for `file` at `location`.
    pub(crate) fn malformed(file: &str, location: Location, message: impl Into<String>) -> Self {
        SessionError::Malformed { file: file.to_owned(), location, message: message.into() }
    }

    /// A [`SessionError::Io`] for `path`.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        SessionError::Io { path: path.into(), source }
    }
}
