//! The user-level cache directory, where data computed from a text (its
//! vector, and later other kinds) is kept by (content hash, model id) across
//! stores and runs, outside any store.
//!
//! The root is the one `dreamwork model fetch` installs into: an explicit
//! path, else `$DREAMWORK_CACHE_DIR`, else the user cache directory
//! (`~/.cache/dreamwork` on Linux; see [`super::locate::cache_dir`]). Each
//! kind of data has its own folder under it, and one file per model id:
//!
//! ```text
//! CACHE/vectors/<model file name>.dwvec     pooled vectors (super::cache format)
//! CACHE/words/<model file name>.dwwords     word vectors (super::word_cache format)
//! ```
//!
//! A dream reads the vectors there beside STORE's and appends every vector
//! it computes (see [`crate::dream::disk`]), so a second dream over the
//! same store embeds nothing while STORE's bytes stay unchanged. Many
//! processes may append to one file at once
//! ([`VectorCacheWriter::open_shared`](super::VectorCacheWriter::open_shared)).
//!
//! The same goes for the judge's word vectors ([`CacheKind::Words`],
//! [`WordCacheWriter`](super::WordCacheWriter)), computed only for the texts
//! the judge needs.
//!
//! The files only grow: about `32 + 4 × dimension` bytes per distinct text
//! (1.6 kB with MiniLM, so 100k texts take 160 MB) for pooled vectors, and
//! `4 × dimension` bytes per word of each text the judge read (1.5 kB a word
//! with MiniLM) for word vectors. [`CacheDir::files`]
//! lists them and [`CacheDir::clear`] removes them (`dreamwork cache stats`,
//! `dreamwork cache clear`).

use std::fs::{self, File};
use std::io::Read;
use std::path::{Path, PathBuf};

use super::cache::{self, CacheError};
use super::word_cache;

/// A kind of per-text data kept in the cache directory, each in its own
/// folder (a future kind adds a variant).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum CacheKind {
    /// One pooled vector per text ([`super::VectorCache`] files).
    Vectors,
    /// Each text's contextual word vectors ([`super::WordCache`] files).
    Words,
}

impl CacheKind {
    /// Every kind, in folder order.
    pub const ALL: [CacheKind; 2] = [CacheKind::Vectors, CacheKind::Words];

    /// The folder of this kind under the cache root.
    pub fn dir_name(self) -> &'static str {
        match self {
            CacheKind::Vectors => "vectors",
            CacheKind::Words => "words",
        }
    }

    /// The extension of this kind's files.
    pub fn extension(self) -> &'static str {
        match self {
            CacheKind::Vectors => cache::EXTENSION,
            CacheKind::Words => word_cache::EXTENSION,
        }
    }

    /// The file name of this kind's file for `model_id`.
    fn file_name(self, model_id: &str) -> String {
        match self {
            CacheKind::Vectors => cache::file_name(model_id),
            CacheKind::Words => word_cache::file_name(model_id),
        }
    }

    /// The model id, dimension and header length of a header of this kind.
    fn parse_header(self, bytes: &[u8]) -> Option<(String, usize, usize)> {
        match self {
            CacheKind::Vectors => cache::parse_header(bytes),
            CacheKind::Words => word_cache::parse_header(bytes),
        }
    }
}

/// A cache directory: where the files of each (kind, model id) live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheDir {
    root: PathBuf,
}

/// One cache file, as [`CacheDir::files`] lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheFile {
    /// The file.
    pub path: PathBuf,
    /// The model id its header names (`None` if the header is unreadable).
    pub model_id: Option<String>,
    /// Complete entries it holds (a torn tail not counted).
    pub entries: u64,
    /// Its size in bytes.
    pub bytes: u64,
}

impl CacheDir {
    /// The cache directory at `root` (created when first written).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The user's cache directory: `explicit`, else `$DREAMWORK_CACHE_DIR`,
    /// else `dirs::cache_dir()/dreamwork`; `None` if none can be determined.
    pub fn user(explicit: Option<&Path>) -> Option<Self> {
        super::locate::cache_dir(explicit).map(Self::new)
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The folder holding the files of `kind`.
    pub fn dir(&self, kind: CacheKind) -> PathBuf {
        self.root.join(kind.dir_name())
    }

    /// The file holding the data of `kind` for `model_id`.
    pub fn file(&self, kind: CacheKind, model_id: &str) -> PathBuf {
        self.dir(kind).join(kind.file_name(model_id))
    }

    /// The cache files of `kind`, by file name (none if the folder is missing).
    pub fn files(&self, kind: CacheKind) -> Result<Vec<CacheFile>, CacheError> {
        let mut out = Vec::new();
        for path in self.paths(kind)? {
            let io = |source| CacheError::Io { path: path.clone(), source };
            let mut file = File::open(&path).map_err(io)?;
            let bytes = file.metadata().map_err(io)?.len();
            let mut head = Vec::new();
            file.by_ref().take(HEADER_MAX).read_to_end(&mut head).map_err(io)?;
            let parsed = kind.parse_header(&head);
            let entries = match (&parsed, kind) {
                (None, _) => 0,
                (Some((_, dimension, len)), CacheKind::Vectors) => {
                    cache::frame_count(bytes, *len, *dimension)
                }
                (Some((_, _, len)), CacheKind::Words) => {
                    word_cache::frame_count(&mut file, *len, bytes).map_err(io)?
                }
            };
            out.push(CacheFile { model_id: parsed.map(|(id, _, _)| id), entries, bytes, path });
        }
        Ok(out)
    }

    /// Removes every cache file of `kind`, each once no writer is appending
    /// to it (a dream running meanwhile loses only what it would have added);
    /// returns the files removed.
    pub fn clear(&self, kind: CacheKind) -> Result<Vec<PathBuf>, CacheError> {
        let mut removed = Vec::new();
        for path in self.paths(kind)? {
            let io = |source| CacheError::Io { path: path.clone(), source };
            let file = File::open(&path).map_err(io)?;
            file.lock().map_err(io)?;
            fs::remove_file(&path).map_err(io)?;
            removed.push(path);
        }
        Ok(removed)
    }

    /// The files of `kind` (by their extension), sorted.
    fn paths(&self, kind: CacheKind) -> Result<Vec<PathBuf>, CacheError> {
        let dir = self.dir(kind);
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => return Err(CacheError::Io { path: dir, source }),
        };
        let mut paths = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|source| CacheError::Io { path: dir.clone(), source })?;
            let path = entry.path();
            if path.extension().is_some_and(|e| e == kind.extension()) && path.is_file() {
                paths.push(path);
            }
        }
        paths.sort();
        Ok(paths)
    }
}

/// The longest header: fixed fields, the longest model id, the checksum.
const HEADER_MAX: u64 = 24 + cache::MAX_MODEL_ID_BYTES as u64;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embed::VectorCacheWriter;
    use crate::memory::ContentHash;

    #[test]
    fn files_are_listed_with_their_model_and_count_and_cleared() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = CacheDir::new(tmp.path().join("c"));
        assert!(cache.files(CacheKind::Vectors).unwrap().is_empty());
        let dir = cache.dir(CacheKind::Vectors);
        let (mut w, _) = VectorCacheWriter::open_shared(&dir, "m-1", 4).unwrap();
        let v = [0.5f32; 4];
        w.append(&[(ContentHash::of(b"a"), &v[..]), (ContentHash::of(b"b"), &v[..])]).unwrap();
        drop(w);
        assert_eq!(cache.file(CacheKind::Vectors, "m-1"), dir.join(cache::file_name("m-1")));
        std::fs::write(dir.join("notes.txt"), "not a cache file").unwrap();
        let files = cache.files(CacheKind::Vectors).unwrap();
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].model_id.as_deref(), Some("m-1"));
        assert_eq!(files[0].entries, 2);
        assert_eq!(cache.clear(CacheKind::Vectors).unwrap(), vec![dir.join(cache::file_name("m-1"))]);
        assert!(cache.files(CacheKind::Vectors).unwrap().is_empty());
        assert!(dir.join("notes.txt").exists(), "only cache files are removed");

        let words = cache.dir(CacheKind::Words);
        let (mut w, _) = crate::embed::WordCacheWriter::open_shared(&words, "m-1", 2).unwrap();
        let v = crate::embed::WordVectors {
            words: vec!["a".into()],
            dimension: 2,
            data: vec![1.0, 0.0],
            sentence: vec![0.0, 1.0],
        };
        w.append(&[(ContentHash::of(b"a"), &v), (ContentHash::of(b"b"), &v)]).unwrap();
        drop(w);
        assert!(cache.files(CacheKind::Vectors).unwrap().is_empty(), "kinds keep to their folders");
        let files = cache.files(CacheKind::Words).unwrap();
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].path, cache.file(CacheKind::Words, "m-1"));
        assert_eq!((files[0].model_id.as_deref(), files[0].entries), (Some("m-1"), 2));
        assert_eq!(cache.clear(CacheKind::Words).unwrap().len(), 1);
    }
}
