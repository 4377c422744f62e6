//! Memories: path-addressed UTF-8 documents, the unit a store holds.
//!
//! The rules are those of the hosted memory stores (see the Anthropic
//! memory-store API), so that a store round-trips to the API:
//!
//! - a path starts with `/`, has 1 to [`MAX_PATH_SEGMENTS`] segments, no
//!   empty, `.` or `..` segment, no control or format characters, no
//!   U+2028/U+2029, is NFC-normalised and at most [`MAX_PATH_BYTES`] bytes;
//!   paths are case-sensitive;
//! - content is UTF-8 text of at most [`MAX_CONTENT_BYTES`] bytes (`""` is
//!   allowed).
//!
//! A [`MemoryPath`] can only be built through validation, so a bad path
//! cannot exist past the boundary.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use unicode_normalization::{UnicodeNormalization, is_nfc};

pub use crate::id::{ContentHash, Excerpt, Timestamp, content_sha256};

/// Most segments a memory path may have.
pub const MAX_PATH_SEGMENTS: usize = 20;
/// Most bytes a memory path may have (UTF-8).
pub const MAX_PATH_BYTES: usize = 1024;
/// Most bytes a memory's content may have (100 kB, as in the hosted API).
pub const MAX_CONTENT_BYTES: usize = 102_400;

/// Why a path or a content was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MemoryError {
    /// The path does not start with `/`.
    #[error("path {0:?} must start with '/'")]
    NotAbsolute(String),
    /// The path has an empty segment (`//` or a trailing `/`).
    #[error("path {0:?} has an empty segment")]
    EmptySegment(String),
    /// The path has a `.` or `..` segment.
    #[error("path {0:?} has a '.' or '..' segment")]
    DotSegment(String),
    /// The path holds a control or format character (NUL included).
    #[error("path {path:?} holds the forbidden character U+{code:04X}")]
    ForbiddenChar {
        /// The offending path.
        path: String,
        /// The code point refused.
        code: u32,
    },
    /// The path has more than [`MAX_PATH_SEGMENTS`] segments.
    #[error("path {path:?} has {segments} segments; at most {MAX_PATH_SEGMENTS} are allowed")]
    TooManySegments {
        /// The offending path.
        path: String,
        /// How many segments it has.
        segments: usize,
    },
    /// The path is longer than [`MAX_PATH_BYTES`].
    #[error("path is {bytes} bytes long; at most {MAX_PATH_BYTES} are allowed")]
    PathTooLong {
        /// Its length in bytes.
        bytes: usize,
    },
    /// The content is larger than [`MAX_CONTENT_BYTES`].
    #[error("content of {path} is {bytes} bytes; at most {MAX_CONTENT_BYTES} are allowed")]
    ContentTooLarge {
        /// The memory the content was meant for.
        path: String,
        /// Its size in bytes.
        bytes: usize,
    },
}

/// A validated, NFC-normalised, absolute memory path such as
/// `/preferences/indentation.md`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct MemoryPath(String);

impl MemoryPath {
    /// Validates `raw` and returns it NFC-normalised.
    ///
    /// A path that is not NFC is normalised rather than refused; everything
    /// else in the module rules is refused with a [`MemoryError`].
    pub fn new(raw: &str) -> Result<Self, MemoryError> {
        let path: String = if is_nfc(raw) { raw.to_owned() } else { raw.nfc().collect() };
        if path.len() > MAX_PATH_BYTES {
            return Err(MemoryError::PathTooLong { bytes: path.len() });
        }
        let Some(rest) = path.strip_prefix('/') else {
            return Err(MemoryError::NotAbsolute(path));
        };
        if let Some(c) = path.chars().find(|&c| is_forbidden(c)) {
            return Err(MemoryError::ForbiddenChar { path, code: c as u32 });
        }
        let mut segments = 0;
        for segment in rest.split('/') {
            segments += 1;
            if segment.is_empty() {
                return Err(MemoryError::EmptySegment(path));
            }
            if segment == "." || segment == ".." {
                return Err(MemoryError::DotSegment(path));
            }
        }
        if segments > MAX_PATH_SEGMENTS {
            return Err(MemoryError::TooManySegments { path, segments });
        }
        Ok(Self(path))
    }

    /// The path as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this path lies under `prefix` (plain string prefix, as the
    /// API's `path_prefix` filter).
    pub fn starts_with(&self, prefix: &str) -> bool {
        self.0.starts_with(prefix)
    }
}

impl<'de> Deserialize<'de> for MemoryPath {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        MemoryPath::new(&raw).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for MemoryPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for MemoryPath {
    type Err = MemoryError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        MemoryPath::new(s)
    }
}

/// Control characters, Unicode format characters (category Cf) and the
/// line/paragraph separators are refused in paths.
fn is_forbidden(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{2028}' | '\u{2029}')
        || matches!(c as u32,
            0x00AD | 0x0600..=0x0605 | 0x061C | 0x06DD | 0x070F | 0x08E2 | 0x180E
            | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x2064 | 0x2066..=0x206F
            | 0xFEFF | 0xFFF9..=0xFFFB | 0x110BD | 0x110CD | 0x13430..=0x1343F
            | 0x1BCA0..=0x1BCA3 | 0x1D173..=0x1D17A | 0xE0001 | 0xE0020..=0xE007F)
}

/// Checks that `content` fits the size limit for the memory at `path`.
pub fn check_content(path: &MemoryPath, content: &str) -> Result<(), MemoryError> {
    if content.len() > MAX_CONTENT_BYTES {
        return Err(MemoryError::ContentTooLarge { path: path.to_string(), bytes: content.len() });
    }
    Ok(())
}

/// Where a memory came from: another memory (by path and content hash) or a
/// stretch of a stored session.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Source {
    /// An input memory, as it was when it was used.
    Memory {
        /// Its path.
        path: MemoryPath,
        /// Its content hash at the time.
        hash: ContentHash,
    },
    /// A range of turns of a stored session.
    Excerpt(Excerpt),
}

/// Free-form metadata attached to a memory (string keys and values, sorted).
pub type Metadata = BTreeMap<String, String>;

/// One memory as stored: path, content and what is known about them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Memory {
    /// Unique path in its store.
    pub path: MemoryPath,
    /// UTF-8 text, at most [`MAX_CONTENT_BYTES`].
    pub content: String,
    /// blake3 of `content`'s bytes.
    pub hash: ContentHash,
    /// When the path was first written.
    pub created_at: Timestamp,
    /// When the content was last written.
    pub updated_at: Timestamp,
    /// Free-form metadata.
    pub metadata: Metadata,
    /// Provenance; empty for memories written by hand.
    pub sources: Vec<Source>,
}

/// The store hash: a digest of live (path, content) pairs, independent of
/// history, timestamps, metadata and order — blake3 over the tag `dreamwork
/// store hash v1` and then, per memory in path order, the path's length
/// (`u64` LE), the path and the content's blake3 hash. The store's
/// [`store_hash`](crate::Store::store_hash) and a dream report's hashes are
/// this function.
pub fn store_hash<'a>(memories: impl IntoIterator<Item = &'a Memory>) -> ContentHash {
    let mut sorted: Vec<&Memory> = memories.into_iter().collect();
    sorted.sort_by(|a, b| a.path.cmp(&b.path));
    let mut hasher = blake3::Hasher::new();
    hasher.update(b"dreamwork store hash v1");
    for memory in sorted {
        let path = memory.path.as_str().as_bytes();
        hasher.update(&(path.len() as u64).to_le_bytes());
        hasher.update(path);
        hasher.update(blake3::hash(memory.content.as_bytes()).as_bytes());
    }
    ContentHash(*hasher.finalize().as_bytes())
}

impl Memory {
    /// A memory written now by hand: no metadata, no sources.
    pub fn new(path: MemoryPath, content: impl Into<String>, at: Timestamp) -> Self {
        let content = content.into();
        Self {
            path,
            hash: ContentHash::of(content.as_bytes()),
            content,
            created_at: at,
            updated_at: at,
            metadata: Metadata::new(),
            sources: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_paths() {
        for p in ["/a", "/preferences/indentation.md", "/é/ü.md", "/a b/c"] {
            assert_eq!(MemoryPath::new(p).map(|p| p.to_string()), Ok(p.to_string()));
        }
    }

    #[test]
    fn refuses_bad_paths() {
        assert!(matches!(MemoryPath::new("a/b"), Err(MemoryError::NotAbsolute(_))));
        assert!(matches!(MemoryPath::new("/"), Err(MemoryError::EmptySegment(_))));
        assert!(matches!(MemoryPath::new("/a//b"), Err(MemoryError::EmptySegment(_))));
        assert!(matches!(MemoryPath::new("/a/"), Err(MemoryError::EmptySegment(_))));
        assert!(matches!(MemoryPath::new("/a/../b"), Err(MemoryError::DotSegment(_))));
        assert!(matches!(MemoryPath::new("/a/./b"), Err(MemoryError::DotSegment(_))));
        assert!(matches!(MemoryPath::new("/a\0b"), Err(MemoryError::ForbiddenChar { code: 0, .. })));
        assert!(matches!(MemoryPath::new("/a\nb"), Err(MemoryError::ForbiddenChar { .. })));
        assert!(matches!(MemoryPath::new("/a\u{200B}b"), Err(MemoryError::ForbiddenChar { .. })));
        assert!(matches!(MemoryPath::new("/a\u{2028}"), Err(MemoryError::ForbiddenChar { .. })));
        let deep = "/a".repeat(21);
        assert!(matches!(MemoryPath::new(&deep), Err(MemoryError::TooManySegments { segments: 21, .. })));
        assert!(MemoryPath::new(&"/a".repeat(20)).is_ok());
        let long = format!("/{}", "x".repeat(1024));
        assert!(matches!(MemoryPath::new(&long), Err(MemoryError::PathTooLong { .. })));
    }

    #[test]
    fn normalises_to_nfc() {
        let decomposed = "/cafe\u{301}";
        assert_eq!(MemoryPath::new(decomposed).map(|p| p.to_string()), Ok("/caf\u{e9}".to_string()));
    }

    #[test]
    fn content_limit() {
        let p = MemoryPath::new("/x").unwrap();
        assert!(check_content(&p, &"a".repeat(MAX_CONTENT_BYTES)).is_ok());
        assert!(check_content(&p, &"a".repeat(MAX_CONTENT_BYTES + 1)).is_err());
    }

    #[test]
    fn timestamps_round_trip() {
        let t = Timestamp::parse_rfc3339("2026-05-06T12:34:56.789Z").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-05-06T12:34:56.789Z");
        assert_eq!(Timestamp::parse_rfc3339("2026-05-06T14:34:56.789+02:00"), Some(t));
        assert_eq!(Timestamp::parse_rfc3339("yesterday"), None);
    }

    #[test]
    fn sha256_matches_known_vector() {
        assert_eq!(content_sha256("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
