//! The vector cache: embeddings kept on disk by (content hash, model id),
//! so that a second run embeds nothing it has embedded before.
//!
//! # Layout
//!
//! A cache lives in a directory (a store keeps it in `STORE/vectors/`), one
//! append-only file per model id, named after the model id
//! ([`file_name`]). Each file is:
//!
//! ```text
//! header: b"DWVECTOR" | version u32 = 1 | dimension u32 | id_len u32 | model id (UTF-8) | crc32 u32
//! frame*: payload_len u32 | crc32(payload) u32 | payload = content hash [32] ++ dimension × f32
//! ```
//!
//! All integers and floats are little-endian; `crc32` is CRC-32/ISO-HDLC
//! (crc32fast); the header's checksum covers every header byte before it.
//!
//! # Promises
//!
//! - Reading ([`VectorCache::load`]) never writes, so a cache inside a
//!   read-only input store can be used; a missing file is an empty cache.
//! - A torn tail (an incomplete last frame, or a last frame whose checksum
//!   fails, as a crash during an append leaves) is ignored on read and cut
//!   off by the next [`VectorCacheWriter::open`].
//! - A damaged frame followed by more data is corruption: an error naming
//!   the file and the byte offset of the frame. A file with another magic,
//!   version, dimension or model id is refused with a clear error.
//! - Writers append whole frames and `fsync` after each batch, under an
//!   exclusive lock on the file, so two writers cannot interleave: a store's
//!   writer holds the lock while open, a writer of the user cache
//!   ([`VectorCacheWriter::open_shared`]) only around each append.
//! - Every frame is checked on read, so a damaged file never yields a
//!   wrong vector: it is an error, which a dream reports before embedding
//!   without that file.
//! - Reading and writing are separate values: a dream reads the input
//!   store's cache and writes to the output store's, see [`embed_cached`].

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::{EmbedError, Embedder};
use crate::memory::ContentHash;
use crate::progress::{CancelToken, Observer, Progress};

/// Magic bytes at the start of every cache file.
pub const MAGIC: &[u8; 8] = b"DWVECTOR";
/// The format version written and accepted.
pub const VERSION: u32 = 1;
/// Longest model id accepted, in bytes.
pub const MAX_MODEL_ID_BYTES: usize = 1024;
/// Misses embedded per batch (cancellation and progress are checked
/// between batches; each batch is written to disk before the next starts).
pub const BATCH: usize = 256;

const FRAME_HEADER: usize = 8;

/// Why the cache could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// An I/O error on the named file.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory that failed.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// A damaged frame in the middle of a file.
    #[error("{path}: vector cache corrupt at byte offset {offset}: {reason}")]
    Corrupt {
        /// The cache file.
        path: PathBuf,
        /// Byte offset of the damaged frame or header field.
        offset: u64,
        /// What is wrong there.
        reason: String,
    },
    /// Not a cache file for this model (wrong magic, version, dimension or id).
    #[error("{path}: not a vector cache for this model: {reason}")]
    Foreign {
        /// The file.
        path: PathBuf,
        /// What did not match.
        reason: String,
    },
    /// Another process is writing this cache.
    #[error("{path}: vector cache is locked by another process")]
    Locked {
        /// The cache file.
        path: PathBuf,
    },
    /// A vector of the wrong length was offered.
    #[error("vector has {found} dimensions, cache holds {expected}")]
    Dimension {
        /// The cache's dimension.
        expected: usize,
        /// The vector's length.
        found: usize,
    },
    /// The cache was opened for another model than the embedder's.
    #[error("vector cache is for model {cache}, embedder is {embedder}")]
    ModelMismatch {
        /// The cache's model id.
        cache: String,
        /// The embedder's model id.
        embedder: String,
    },
    /// The model id is empty or longer than [`MAX_MODEL_ID_BYTES`].
    #[error("invalid model id {0:?}")]
    ModelId(String),
}

/// Where a decode stopped being valid (see [`decode`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    /// Byte offset of the bad header field or frame.
    pub offset: u64,
    /// Whether the header itself did not match (foreign file) rather than
    /// a frame being damaged.
    pub foreign: bool,
    /// What is wrong.
    pub reason: String,
}

/// The valid content of a cache file's bytes.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Decoded {
    /// Entries in file order (the first of duplicate hashes wins on load).
    pub entries: Vec<(ContentHash, Vec<f32>)>,
    /// Length of the valid prefix; bytes after it are a torn tail.
    pub valid_len: u64,
}

/// The file name used for `model_id`: its safe characters, then 16 hex
/// digits of its blake3 hash (so distinct ids never share a file).
pub fn file_name(model_id: &str) -> String {
    format!("{}.{EXTENSION}", file_stem(model_id))
}

/// A cache file's name without its extension: the model id's safe
/// characters, then 16 hex digits of its blake3 hash.
pub(super) fn file_stem(model_id: &str) -> String {
    let safe: String = model_id
        .chars()
        .take(64)
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_' { c } else { '_' })
        .collect();
    let hash = blake3::hash(model_id.as_bytes()).to_hex();
    format!("{safe}-{}", &hash[..16])
}

/// The extension of every cache file.
pub const EXTENSION: &str = "dwvec";

/// The model id, dimension and length of a header at the start of `bytes`,
/// if it is a whole, valid header of this format version.
pub fn parse_header(bytes: &[u8]) -> Option<(String, usize, usize)> {
    parse_header_of(MAGIC, bytes)
}

/// [`parse_header`] for a file format that shares this header layout under
/// another magic (see [`super::word_cache`]).
pub(super) fn parse_header_of(magic: &[u8; 8], bytes: &[u8]) -> Option<(String, usize, usize)> {
    if bytes.get(..8) != Some(magic.as_slice()) || u32_at(bytes, 8) != Some(VERSION) {
        return None;
    }
    let dimension = u32_at(bytes, 12)? as usize;
    let id_len = u32_at(bytes, 16)? as usize;
    if id_len > MAX_MODEL_ID_BYTES {
        return None;
    }
    let id = std::str::from_utf8(bytes.get(20..20 + id_len)?).ok()?;
    let expected = header_of(magic, id, dimension);
    (bytes.get(..expected.len()) == Some(expected.as_slice()))
        .then(|| (id.to_string(), dimension, expected.len()))
}

/// Complete frames in a file of `file_len` bytes whose header is
/// `header_len` long (a torn tail not counted; damage not detected).
pub fn frame_count(file_len: u64, header_len: usize, dimension: usize) -> u64 {
    file_len.saturating_sub(header_len as u64) / frame_len(dimension) as u64
}

/// The exact header bytes for a model id and dimension.
pub fn header(model_id: &str, dimension: usize) -> Vec<u8> {
    header_of(MAGIC, model_id, dimension)
}

/// [`header`] under another magic.
pub(super) fn header_of(magic: &[u8; 8], model_id: &str, dimension: usize) -> Vec<u8> {
    let mut h = Vec::with_capacity(24 + model_id.len());
    h.extend_from_slice(magic);
    h.extend_from_slice(&VERSION.to_le_bytes());
    h.extend_from_slice(&(dimension as u32).to_le_bytes());
    h.extend_from_slice(&(model_id.len() as u32).to_le_bytes());
    h.extend_from_slice(model_id.as_bytes());
    let crc = crc32fast::hash(&h);
    h.extend_from_slice(&crc.to_le_bytes());
    h
}

fn frame_len(dimension: usize) -> usize {
    FRAME_HEADER + 32 + 4 * dimension
}

fn encode_frame(out: &mut Vec<u8>, hash: &ContentHash, vector: &[f32]) {
    let payload_len = 32 + 4 * vector.len();
    let start = out.len();
    out.extend_from_slice(&(payload_len as u32).to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&hash.0);
    for x in vector {
        out.extend_from_slice(&x.to_le_bytes());
    }
    let crc = crc32fast::hash(&out[start + FRAME_HEADER..]);
    out[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
}

pub(super) fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    bytes.get(at..at + 4).and_then(|b| b.try_into().ok()).map(u32::from_le_bytes)
}

fn check_header(bytes: &[u8], model_id: &str, dimension: usize) -> Result<usize, DecodeError> {
    check_header_of(MAGIC, bytes, model_id, dimension)
}

/// Checks the header at the start of `bytes` against the one `magic`,
/// `model_id` and `dimension` give; returns its length, or the length of
/// `bytes` if they are a prefix of it (a header torn at creation).
pub(super) fn check_header_of(
    magic: &[u8; 8],
    bytes: &[u8],
    model_id: &str,
    dimension: usize,
) -> Result<usize, DecodeError> {
    let foreign =
        |offset: usize, reason: String| DecodeError { offset: offset as u64, foreign: true, reason };
    let expected = header_of(magic, model_id, dimension);
    if bytes.len() < expected.len() && expected.starts_with(bytes) {
        // A header torn while the file was being created: an empty cache.
        return Ok(bytes.len());
    }
    if bytes.get(..8) != Some(magic.as_slice()) {
        return Err(foreign(0, "wrong magic bytes".into()));
    }
    match u32_at(bytes, 8) {
        Some(VERSION) => {}
        Some(v) => return Err(foreign(8, format!("format version {v}, expected {VERSION}"))),
        None => return Err(foreign(8, "truncated header".into())),
    }
    match u32_at(bytes, 12) {
        Some(d) if d as usize == dimension => {}
        Some(d) => return Err(foreign(12, format!("dimension {d}, expected {dimension}"))),
        None => return Err(foreign(12, "truncated header".into())),
    }
    let id_len = u32_at(bytes, 16).ok_or_else(|| foreign(16, "truncated header".into()))? as usize;
    let id = bytes.get(20..20 + id_len.min(MAX_MODEL_ID_BYTES + 1));
    if id != Some(model_id.as_bytes()) {
        let found = id.map(String::from_utf8_lossy).unwrap_or_default();
        return Err(foreign(20, format!("model id {found:?}, expected {model_id:?}")));
    }
    if bytes.get(..expected.len()) != Some(expected.as_slice()) {
        return Err(DecodeError {
            offset: (expected.len() - 4) as u64,
            foreign: false,
            reason: "header checksum mismatch".into(),
        });
    }
    Ok(expected.len())
}

/// Decodes a cache file's bytes for `model_id` and `dimension`: the valid
/// entries and where they end. A torn tail is not an error; a damaged frame
/// with data after it is (at that frame's offset), and so is a header that
/// does not match. Never panics, whatever the bytes.
pub fn decode(bytes: &[u8], model_id: &str, dimension: usize) -> Result<Decoded, DecodeError> {
    let at = check_header(bytes, model_id, dimension)?;
    if at < header(model_id, dimension).len() {
        return Ok(Decoded { entries: Vec::new(), valid_len: at as u64 });
    }
    decode_frames(&bytes[at..], at as u64, dimension)
}

/// Decodes the frames in `bytes`, which start at byte offset `base` of the
/// file (offsets in the result and in errors are the file's).
fn decode_frames(bytes: &[u8], base: u64, dimension: usize) -> Result<Decoded, DecodeError> {
    let mut at = 0;
    let mut out = Decoded { entries: Vec::new(), valid_len: base };
    let flen = frame_len(dimension);
    while at < bytes.len() {
        let Some(frame) = bytes.get(at..at + flen) else {
            break; // incomplete last frame: torn tail
        };
        let is_last = at + flen == bytes.len();
        let corrupt = |reason: String| DecodeError { offset: base + at as u64, foreign: false, reason };
        let payload_len = u32_at(frame, 0).unwrap_or(0) as usize;
        let crc = u32_at(frame, 4).unwrap_or(0);
        let payload = &frame[FRAME_HEADER..];
        let problem = if payload_len != payload.len() {
            Some(format!("frame length {payload_len}, expected {}", payload.len()))
        } else if crc32fast::hash(payload) != crc {
            Some("frame checksum mismatch".to_string())
        } else {
            None
        };
        if let Some(reason) = problem {
            if is_last {
                break; // a damaged last frame is a torn append
            }
            return Err(corrupt(reason));
        }
        let mut hash = [0u8; 32];
        hash.copy_from_slice(&payload[..32]);
        let vector =
            payload[32..].chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
        out.entries.push((ContentHash(hash), vector));
        at += flen;
        out.valid_len = base + at as u64;
    }
    Ok(out)
}

pub(super) fn check_model_id(model_id: &str) -> Result<(), CacheError> {
    if model_id.is_empty() || model_id.len() > MAX_MODEL_ID_BYTES {
        return Err(CacheError::ModelId(model_id.to_string()));
    }
    Ok(())
}

pub(super) fn to_cache_error(path: &Path, e: DecodeError) -> CacheError {
    if e.foreign {
        CacheError::Foreign {
            path: path.to_path_buf(),
            reason: format!("{} (byte offset {})", e.reason, e.offset),
        }
    } else {
        CacheError::Corrupt { path: path.to_path_buf(), offset: e.offset, reason: e.reason }
    }
}

/// Vectors of one model, loaded from a cache directory (read-only).
#[derive(Debug, Clone)]
pub struct VectorCache {
    model_id: String,
    dimension: usize,
    vectors: BTreeMap<ContentHash, Vec<f32>>,
}

impl VectorCache {
    /// An empty cache for `model_id` (no file behind it).
    pub fn empty(model_id: &str, dimension: usize) -> Self {
        Self { model_id: model_id.to_string(), dimension, vectors: BTreeMap::new() }
    }

    /// Loads the cache of `model_id` from `dir`. A missing directory or file
    /// is an empty cache. Never writes: a torn tail is skipped, not repaired.
    pub fn load(dir: &Path, model_id: &str, dimension: usize) -> Result<Self, CacheError> {
        check_model_id(model_id)?;
        let path = dir.join(file_name(model_id));
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(source) => return Err(CacheError::Io { path, source }),
        };
        let decoded = decode(&bytes, model_id, dimension).map_err(|e| to_cache_error(&path, e))?;
        let mut cache = Self::empty(model_id, dimension);
        for (hash, vector) in decoded.entries {
            cache.vectors.entry(hash).or_insert(vector);
        }
        Ok(cache)
    }

    /// The model id whose vectors these are.
    pub fn model_id(&self) -> &str {
        &self.model_id
    }

    /// The length of every vector.
    pub fn dimension(&self) -> usize {
        self.dimension
    }

    /// The vector cached for `hash`.
    pub fn get(&self, hash: &ContentHash) -> Option<&[f32]> {
        self.vectors.get(hash).map(Vec::as_slice)
    }

    /// Number of cached vectors.
    pub fn len(&self) -> usize {
        self.vectors.len()
    }

    /// Whether no vector is cached.
    pub fn is_empty(&self) -> bool {
        self.vectors.is_empty()
    }

    /// Adds the vectors of `other` that this cache lacks (in memory only):
    /// a dream reads STORE's cache and the user cache as one.
    pub fn merge(&mut self, other: VectorCache) -> Result<(), CacheError> {
        if other.model_id != self.model_id {
            return Err(CacheError::ModelMismatch { cache: other.model_id, embedder: self.model_id.clone() });
        }
        if other.dimension != self.dimension {
            return Err(CacheError::Dimension { expected: self.dimension, found: other.dimension });
        }
        for (hash, vector) in other.vectors {
            self.vectors.entry(hash).or_insert(vector);
        }
        Ok(())
    }

    /// Adds a vector in memory only (e.g. to share results between calls).
    pub fn insert(&mut self, hash: ContentHash, vector: Vec<f32>) -> Result<(), CacheError> {
        if vector.len() != self.dimension {
            return Err(CacheError::Dimension { expected: self.dimension, found: vector.len() });
        }
        self.vectors.entry(hash).or_insert(vector);
        Ok(())
    }
}

/// Appends vectors of one model to a cache directory (which may differ from
/// the directory read from).
///
/// Two ways to share the file with other writers:
/// - [`VectorCacheWriter::open`] holds an exclusive lock on the file for the
///   writer's lifetime: a second writer is refused (a store's cache).
/// - [`VectorCacheWriter::open_shared`] takes the lock only around each
///   append (the user cache, written by every dream that runs): under the
///   lock it first reads the frames other writers appended since its last
///   look (so it does not write them again), cuts off a torn tail a crashed
///   writer left, then appends. Frames of two writers never interleave, so
///   concurrent dreams leave a valid file. Do not mix the two ways on one file.
#[derive(Debug)]
pub struct VectorCacheWriter {
    file: File,
    path: PathBuf,
    model_id: String,
    dimension: usize,
    known: BTreeSet<ContentHash>,
    /// For a shared writer, the end of the frames read or written so far.
    shared_end: Option<u64>,
}

pub(super) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> CacheError + '_ {
    move |source| CacheError::Io { path: path.to_path_buf(), source }
}

impl VectorCacheWriter {
    /// Opens (creating if needed) the cache file of `model_id` in `dir`,
    /// checks it, and cuts off a torn tail. Fails with
    /// [`CacheError::Locked`] if another writer holds it.
    pub fn open(dir: &Path, model_id: &str, dimension: usize) -> Result<Self, CacheError> {
        check_model_id(model_id)?;
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let path = dir.join(file_name(model_id));
        if !path.exists() {
            create_with_header(dir, &path, &header(model_id, dimension))?;
        }
        let mut file = OpenOptions::new().read(true).write(true).open(&path).map_err(io(&path))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => return Err(CacheError::Locked { path }),
            Err(std::fs::TryLockError::Error(e)) => return Err(CacheError::Io { path, source: e }),
        }
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(io(&path))?;
        let decoded = decode(&bytes, model_id, dimension).map_err(|e| to_cache_error(&path, e))?;
        let header_len = header(model_id, dimension).len() as u64;
        if decoded.valid_len < header_len {
            // Torn header: rewrite it whole.
            file.set_len(0).map_err(io(&path))?;
            file.seek(SeekFrom::Start(0)).map_err(io(&path))?;
            file.write_all(&header(model_id, dimension)).map_err(io(&path))?;
            file.sync_data().map_err(io(&path))?;
        } else if decoded.valid_len < bytes.len() as u64 {
            file.set_len(decoded.valid_len).map_err(io(&path))?;
            file.sync_data().map_err(io(&path))?;
        }
        file.seek(SeekFrom::End(0)).map_err(io(&path))?;
        let known = decoded.entries.into_iter().map(|(h, _)| h).collect();
        Ok(Self { file, path, model_id: model_id.to_string(), dimension, known, shared_end: None })
    }

    /// Opens (creating if needed) the cache file of `model_id` in `dir` for
    /// appending beside other shared writers, and returns the vectors it
    /// holds (one read of the file serves both). The lock is held only
    /// while the file is read here and around each [`append`](Self::append),
    /// waiting for another writer's append to finish. A torn tail is cut
    /// off; a damaged or foreign file is an error (and left as it is).
    pub fn open_shared(
        dir: &Path,
        model_id: &str,
        dimension: usize,
    ) -> Result<(Self, VectorCache), CacheError> {
        let (file, path) = open_locked(dir, model_id, &file_name(model_id), &header(model_id, dimension))?;
        let mut writer = Self {
            file,
            path,
            model_id: model_id.to_string(),
            dimension,
            known: BTreeSet::new(),
            shared_end: None,
        };
        let read = writer.read_locked();
        let unlocked = writer.file.unlock().map_err(io(&writer.path));
        let cache = read?;
        unlocked?;
        Ok((writer, cache))
    }

    /// [`open_shared`](Self::open_shared)'s reading, under the lock: checks
    /// the whole file, repairs a torn header or tail, learns what it holds.
    fn read_locked(&mut self) -> Result<VectorCache, CacheError> {
        let (path, model_id, dimension) = (self.path.clone(), self.model_id.clone(), self.dimension);
        let mut bytes = Vec::new();
        self.file.seek(SeekFrom::Start(0)).map_err(io(&path))?;
        self.file.read_to_end(&mut bytes).map_err(io(&path))?;
        let decoded = decode(&bytes, &model_id, dimension).map_err(|e| to_cache_error(&path, e))?;
        let head = header(&model_id, dimension);
        let end = if decoded.valid_len < head.len() as u64 {
            self.file.set_len(0).map_err(io(&path))?;
            self.file.seek(SeekFrom::Start(0)).map_err(io(&path))?;
            self.file.write_all(&head).map_err(io(&path))?;
            self.file.sync_data().map_err(io(&path))?;
            head.len() as u64
        } else {
            if decoded.valid_len < bytes.len() as u64 {
                self.file.set_len(decoded.valid_len).map_err(io(&path))?;
                self.file.sync_data().map_err(io(&path))?;
            }
            decoded.valid_len
        };
        let mut cache = VectorCache::empty(&model_id, dimension);
        for (hash, vector) in decoded.entries {
            self.known.insert(hash);
            cache.vectors.entry(hash).or_insert(vector);
        }
        self.shared_end = Some(end);
        Ok(cache)
    }

    /// For a shared writer, under the lock: reads the frames appended by
    /// others since `end`, cuts off a torn tail, and returns the new end.
    fn catch_up(&mut self, end: u64) -> Result<u64, CacheError> {
        let path = self.path.clone();
        let len = self.file.metadata().map_err(io(&path))?.len();
        if len < end {
            return Err(CacheError::Corrupt {
                path,
                offset: len,
                reason: format!("file shrank from {end} to {len} bytes while open"),
            });
        }
        if len == end {
            return Ok(end);
        }
        let mut bytes = Vec::new();
        self.file.seek(SeekFrom::Start(end)).map_err(io(&path))?;
        self.file.read_to_end(&mut bytes).map_err(io(&path))?;
        let decoded = decode_frames(&bytes, end, self.dimension).map_err(|e| to_cache_error(&path, e))?;
        if decoded.valid_len < len {
            // A writer died mid-append; nobody else writes while we hold the lock.
            self.file.set_len(decoded.valid_len).map_err(io(&path))?;
        }
        self.known.extend(decoded.entries.into_iter().map(|(h, _)| h));
        Ok(decoded.valid_len)
    }

    /// The file written to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The model id whose vectors this file holds.
    pub fn model_id(&self) -> &str {
        &self.model_id
    }

    /// Whether the file already holds a vector for `hash`.
    pub fn contains(&self, hash: &ContentHash) -> bool {
        self.known.contains(hash)
    }

    /// Appends the entries whose hash the file does not hold yet, then
    /// `fsync`s. Returns how many were written.
    pub fn append(&mut self, entries: &[(ContentHash, &[f32])]) -> Result<usize, CacheError> {
        let mut buf = Vec::new();
        let mut added = Vec::new();
        for (hash, vector) in entries {
            if vector.len() != self.dimension {
                return Err(CacheError::Dimension { expected: self.dimension, found: vector.len() });
            }
            if self.known.contains(hash) || added.contains(hash) {
                continue;
            }
            encode_frame(&mut buf, hash, vector);
            added.push(*hash);
        }
        if buf.is_empty() {
            return Ok(0);
        }
        let Some(end) = self.shared_end else {
            self.file.write_all(&buf).map_err(io(&self.path))?;
            self.file.sync_data().map_err(io(&self.path))?;
            let n = added.len();
            self.known.extend(added);
            return Ok(n);
        };
        self.file.lock().map_err(io(&self.path))?;
        let written = self.append_locked(end, &buf, &added);
        let unlocked = self.file.unlock().map_err(io(&self.path));
        let n = written?;
        unlocked?;
        self.known.extend(added);
        Ok(n)
    }

    /// A shared writer's append, under the lock: catch up with the other
    /// writers, then write `buf` (the frames of `added`) less what they
    /// wrote meanwhile.
    fn append_locked(&mut self, end: u64, buf: &[u8], added: &[ContentHash]) -> Result<usize, CacheError> {
        let end = self.catch_up(end)?;
        let flen = frame_len(self.dimension);
        let mut fresh = Vec::with_capacity(buf.len());
        let mut n = 0;
        for (hash, frame) in added.iter().zip(buf.chunks_exact(flen)) {
            if !self.known.contains(hash) {
                fresh.extend_from_slice(frame);
                n += 1;
            }
        }
        self.shared_end = Some(end);
        if fresh.is_empty() {
            return Ok(0);
        }
        self.file.seek(SeekFrom::Start(end)).map_err(io(&self.path))?;
        self.file.write_all(&fresh).map_err(io(&self.path))?;
        self.file.sync_data().map_err(io(&self.path))?;
        self.shared_end = Some(end + fresh.len() as u64);
        Ok(n)
    }
}

/// Creates `path` in `dir` holding just `header`, atomically; keeps the
/// file a concurrent writer created first.
/// Opens the cache file `name` of `model_id` in `dir` for reading and
/// appending, creating it (with `header`) if it is missing, and takes its
/// lock: how every shared cache writer starts.
pub(super) fn open_locked(
    dir: &Path,
    model_id: &str,
    name: &str,
    header: &[u8],
) -> Result<(File, PathBuf), CacheError> {
    check_model_id(model_id)?;
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let path = dir.join(name);
    if !path.exists() {
        create_with_header(dir, &path, header)?;
    }
    let file = OpenOptions::new().read(true).write(true).open(&path).map_err(io(&path))?;
    file.lock().map_err(io(&path))?;
    Ok((file, path))
}

pub(super) fn create_with_header(dir: &Path, path: &Path, header: &[u8]) -> Result<(), CacheError> {
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io(dir))?;
    tmp.write_all(header).map_err(io(tmp.path()))?;
    tmp.as_file().sync_all().map_err(io(path))?;
    // persist_noclobber: if a concurrent writer created it first, keep theirs.
    match tmp.persist_noclobber(path) {
        Ok(_) => {}
        Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(CacheError::Io { path: path.to_path_buf(), source: e.error }),
    }
    if let Ok(d) = File::open(dir) {
        // Best effort: makes the new name durable on Linux; not possible everywhere.
        let _ = d.sync_all();
    }
    Ok(())
}

/// Vectors for `items` in input order, embedding only the hashes that
/// `cache` lacks.
///
/// Misses are embedded in batches of [`BATCH`] spread over all cores;
/// between batches `cancel` is checked and `observer` gets
/// `Progress { stage: "embed", done, total }` (counting distinct misses).
/// If `writer` is given, every vector of `items` that its file lacks —
/// hits included, so a dream's output store gets a complete cache — is
/// appended to it, batch by batch, so a cancelled run keeps its work.
pub fn embed_cached(
    embedder: &dyn Embedder,
    items: &[(ContentHash, &str)],
    cache: &VectorCache,
    mut writer: Option<&mut VectorCacheWriter>,
    observer: &dyn Observer,
    cancel: &CancelToken,
) -> Result<Vec<Vec<f32>>, EmbedError> {
    for model in [Some(cache.model_id()), writer.as_ref().map(|w| w.model_id())].into_iter().flatten() {
        if model != embedder.model_id() {
            return Err(CacheError::ModelMismatch {
                cache: model.to_string(),
                embedder: embedder.model_id().to_string(),
            }
            .into());
        }
    }
    let dimension = embedder.dimension();
    if cache.dimension() != dimension {
        return Err(CacheError::Dimension { expected: cache.dimension(), found: dimension }.into());
    }

    // Distinct misses in order of first appearance.
    let mut seen = BTreeSet::new();
    let misses: Vec<(ContentHash, &str)> = items
        .iter()
        .filter(|(h, _)| cache.get(h).is_none() && seen.insert(*h))
        .map(|(h, t)| (*h, *t))
        .collect();

    if let Some(w) = writer.as_deref_mut() {
        let hits: Vec<(ContentHash, &[f32])> =
            items.iter().filter_map(|(h, _)| cache.get(h).map(|v| (*h, v))).collect();
        w.append(&hits)?;
    }

    let total = misses.len() as u64;
    observer.progress(Progress { stage: "embed", done: 0, total });
    let mut fresh: BTreeMap<ContentHash, Vec<f32>> = BTreeMap::new();
    let threads = rayon::current_num_threads().max(1);
    for batch in misses.chunks(BATCH) {
        if cancel.is_cancelled() {
            return Err(EmbedError::Cancelled);
        }
        let texts: Vec<&str> = batch.iter().map(|(_, t)| *t).collect();
        let per = texts.len().div_ceil(threads).max(1);
        let parts: Vec<Vec<Vec<f32>>> =
            texts.par_chunks(per).map(|chunk| embedder.embed(chunk)).collect::<Result<_, _>>()?;
        let vectors: Vec<Vec<f32>> = parts.into_iter().flatten().collect();
        if vectors.len() != batch.len() {
            return Err(EmbedError::Backend(format!(
                "embedder returned {} vectors for {} texts",
                vectors.len(),
                batch.len()
            )));
        }
        if let Some(v) = vectors.iter().find(|v| v.len() != dimension) {
            return Err(CacheError::Dimension { expected: dimension, found: v.len() }.into());
        }
        if let Some(w) = writer.as_deref_mut() {
            let entries: Vec<(ContentHash, &[f32])> =
                batch.iter().zip(&vectors).map(|((h, _), v)| (*h, v.as_slice())).collect();
            w.append(&entries)?;
        }
        for ((h, _), v) in batch.iter().zip(vectors) {
            fresh.insert(*h, v);
        }
        observer.progress(Progress { stage: "embed", done: fresh.len() as u64, total });
    }

    items
        .iter()
        .map(|(h, _)| {
            cache
                .get(h)
                .map(<[f32]>::to_vec)
                .or_else(|| fresh.get(h).cloned())
                .ok_or_else(|| EmbedError::Backend(format!("no vector for {h}")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embed::LexicalEmbedder;
    use crate::progress::Silent;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct Counting {
        inner: LexicalEmbedder,
        calls: AtomicUsize,
    }

    impl Embedder for Counting {
        fn model_id(&self) -> &str {
            self.inner.model_id()
        }
        fn dimension(&self) -> usize {
            self.inner.dimension()
        }
        fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
            self.calls.fetch_add(texts.len(), Ordering::Relaxed);
            self.inner.embed(texts)
        }
        fn word_vectors(&self, texts: &[&str]) -> Result<Option<Vec<crate::embed::WordVectors>>, EmbedError> {
            self.inner.word_vectors(texts)
        }
    }

    fn counting() -> Counting {
        Counting { inner: LexicalEmbedder::new(16), calls: AtomicUsize::new(0) }
    }

    fn items(texts: &[&'static str]) -> Vec<(ContentHash, &'static str)> {
        texts.iter().map(|t| (ContentHash::of(t.as_bytes()), *t)).collect()
    }

    #[test]
    fn second_run_embeds_nothing_and_results_match() {
        let dir = tempfile::tempdir().unwrap();
        let e = counting();
        let its = items(&["alpha beta", "gamma", "alpha beta", "delta epsilon"]);
        let empty = VectorCache::load(dir.path(), e.model_id(), 16).unwrap();
        let mut w = VectorCacheWriter::open(dir.path(), e.model_id(), 16).unwrap();
        let first = embed_cached(&e, &its, &empty, Some(&mut w), &Silent, &CancelToken::new()).unwrap();
        assert_eq!(e.calls.load(Ordering::Relaxed), 3);
        drop(w);
        let loaded = VectorCache::load(dir.path(), e.model_id(), 16).unwrap();
        assert_eq!(loaded.len(), 3);
        let second = embed_cached(&e, &its, &loaded, None, &Silent, &CancelToken::new()).unwrap();
        assert_eq!(e.calls.load(Ordering::Relaxed), 3);
        assert_eq!(first, second);
        assert_eq!(first[0], first[2]);
    }

    #[test]
    fn read_one_directory_write_another() {
        let input = tempfile::tempdir().unwrap();
        let output = tempfile::tempdir().unwrap();
        let e = counting();
        let id = e.model_id().to_string();
        let mut w = VectorCacheWriter::open(input.path(), &id, 16).unwrap();
        embed_cached(
            &e,
            &items(&["one"]),
            &VectorCache::empty(&id, 16),
            Some(&mut w),
            &Silent,
            &CancelToken::new(),
        )
        .unwrap();
        drop(w);
        let before = std::fs::read(input.path().join(file_name(&id))).unwrap();

        let cache = VectorCache::load(input.path(), &id, 16).unwrap();
        let mut out = VectorCacheWriter::open(&output.path().join("vectors"), &id, 16).unwrap();
        embed_cached(&e, &items(&["one", "two"]), &cache, Some(&mut out), &Silent, &CancelToken::new())
            .unwrap();
        drop(out);
        assert_eq!(std::fs::read(input.path().join(file_name(&id))).unwrap(), before);
        let copied = VectorCache::load(&output.path().join("vectors"), &id, 16).unwrap();
        assert_eq!(copied.len(), 2, "hits and misses both reach the output cache");
    }

    #[test]
    fn torn_tail_is_ignored_then_cut_and_middle_damage_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let e = LexicalEmbedder::new(8);
        let id = e.model_id().to_string();
        let mut w = VectorCacheWriter::open(dir.path(), &id, 8).unwrap();
        let vs = e.embed(&["a", "b", "c"]).unwrap();
        let hs: Vec<ContentHash> = ["a", "b", "c"].iter().map(|t| ContentHash::of(t.as_bytes())).collect();
        let entries: Vec<(ContentHash, &[f32])> =
            hs.iter().copied().zip(vs.iter().map(|v| v.as_slice())).collect();
        assert_eq!(w.append(&entries).unwrap(), 3);
        assert_eq!(w.append(&entries).unwrap(), 0);
        drop(w);
        let path = dir.path().join(file_name(&id));
        let full = std::fs::read(&path).unwrap();
        let hlen = header(&id, 8).len();
        let flen = frame_len(8);
        assert_eq!(full.len(), hlen + 3 * flen);

        for cut in hlen..full.len() {
            let d = decode(&full[..cut], &id, 8).unwrap();
            assert_eq!(d.entries.len(), (cut - hlen) / flen, "cut at {cut}");
        }
        // A flipped bit in the last frame is a torn tail.
        let mut last = full.clone();
        let n = last.len();
        last[n - 1] ^= 1;
        assert_eq!(decode(&last, &id, 8).unwrap().entries.len(), 2);
        std::fs::write(&path, &last).unwrap();
        assert_eq!(VectorCache::load(dir.path(), &id, 8).unwrap().len(), 2);
        assert_eq!(std::fs::read(&path).unwrap(), last, "load never writes");
        let w = VectorCacheWriter::open(dir.path(), &id, 8).unwrap();
        drop(w);
        assert_eq!(std::fs::metadata(&path).unwrap().len() as usize, hlen + 2 * flen);

        // A flipped bit in the first frame, with frames after it, is corruption.
        let mut mid = full.clone();
        mid[hlen + FRAME_HEADER + 3] ^= 0x40;
        std::fs::write(&path, &mid).unwrap();
        let err = VectorCache::load(dir.path(), &id, 8).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, CacheError::Corrupt { offset, .. } if offset == hlen as u64), "{msg}");
        assert!(msg.contains(&path.display().to_string()), "{msg}");
    }

    #[test]
    fn foreign_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let id = "lexical-v1-8";
        let path = dir.path().join(file_name(id));
        std::fs::write(&path, b"PK\x03\x04 definitely not a cache file at all").unwrap();
        assert!(matches!(VectorCache::load(dir.path(), id, 8), Err(CacheError::Foreign { .. })));
        std::fs::write(&path, header(id, 16)).unwrap();
        let err = VectorCache::load(dir.path(), id, 8).unwrap_err();
        assert!(err.to_string().contains("dimension 16"), "{err}");
        std::fs::write(&path, header("other", 8)).unwrap();
        assert!(matches!(VectorCache::load(dir.path(), id, 8), Err(CacheError::Foreign { .. })));
        // A header torn at creation is an empty cache.
        std::fs::write(&path, &header(id, 8)[..10]).unwrap();
        assert!(VectorCache::load(dir.path(), id, 8).unwrap().is_empty());
    }

    #[test]
    fn second_writer_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let _w = VectorCacheWriter::open(dir.path(), "m", 4).unwrap();
        assert!(matches!(VectorCacheWriter::open(dir.path(), "m", 4), Err(CacheError::Locked { .. })));
    }

    #[test]
    fn shared_writers_cut_a_crashed_writers_torn_tail_and_skip_what_others_wrote() {
        let dir = tempfile::tempdir().unwrap();
        let e = LexicalEmbedder::new(8);
        let id = e.model_id().to_string();
        let texts = ["a", "b", "c"];
        let vs = e.embed(&texts).unwrap();
        let entry = |i: usize| (ContentHash::of(texts[i].as_bytes()), vs[i].as_slice());
        let (mut one, empty) = VectorCacheWriter::open_shared(dir.path(), &id, 8).unwrap();
        assert!(empty.is_empty());
        let (mut two, _) = VectorCacheWriter::open_shared(dir.path(), &id, 8).unwrap();
        assert_eq!(one.append(&[entry(0)]).unwrap(), 1);
        // Half a frame, as a writer killed mid-append leaves.
        let path = dir.path().join(file_name(&id));
        let mut half = Vec::new();
        encode_frame(&mut half, &entry(2).0, entry(2).1);
        std::fs::OpenOptions::new().append(true).open(&path).unwrap().write_all(&half[..20]).unwrap();
        assert_eq!(two.append(&[entry(0), entry(1)]).unwrap(), 1, "a was written by the other writer");
        let (_, cache) = VectorCacheWriter::open_shared(dir.path(), &id, 8).unwrap();
        assert_eq!(cache.len(), 2);
        assert_eq!(cache.get(&entry(1).0), Some(entry(1).1));
        let hlen = header(&id, 8).len();
        assert_eq!(std::fs::metadata(&path).unwrap().len() as usize, hlen + 2 * frame_len(8));
    }

    #[test]
    fn merged_caches_keep_the_first_vector_and_refuse_other_models() {
        let mut a = VectorCache::empty("m", 2);
        a.insert(ContentHash::of(b"x"), vec![1.0, 0.0]).unwrap();
        let mut b = VectorCache::empty("m", 2);
        b.insert(ContentHash::of(b"x"), vec![0.0, 1.0]).unwrap();
        b.insert(ContentHash::of(b"y"), vec![0.0, 1.0]).unwrap();
        a.merge(b).unwrap();
        assert_eq!(a.len(), 2);
        assert_eq!(a.get(&ContentHash::of(b"x")), Some(&[1.0, 0.0][..]));
        assert!(a.merge(VectorCache::empty("other", 2)).is_err());
        assert!(a.merge(VectorCache::empty("m", 3)).is_err());
    }

    #[test]
    fn cancel_stops_between_batches_and_keeps_written_work() {
        let dir = tempfile::tempdir().unwrap();
        let e = LexicalEmbedder::new(8);
        let id = e.model_id().to_string();
        let texts: Vec<String> = (0..BATCH * 3).map(|i| format!("text number {i}")).collect();
        let its: Vec<(ContentHash, &str)> =
            texts.iter().map(|t| (ContentHash::of(t.as_bytes()), t.as_str())).collect();
        let cancel = CancelToken::new();
        let c2 = cancel.clone();
        let obs = move |p: Progress| {
            if p.done >= BATCH as u64 {
                c2.cancel();
            }
        };
        let mut w = VectorCacheWriter::open(dir.path(), &id, 8).unwrap();
        let r = embed_cached(&e, &its, &VectorCache::empty(&id, 8), Some(&mut w), &obs, &cancel);
        assert!(matches!(r, Err(EmbedError::Cancelled)));
        drop(w);
        assert_eq!(VectorCache::load(dir.path(), &id, 8).unwrap().len(), BATCH);
    }

    #[test]
    fn model_mismatch_is_refused() {
        let e = LexicalEmbedder::new(8);
        let cache = VectorCache::empty("some-other-model", 8);
        let r = embed_cached(&e, &items(&["x"]), &cache, None, &Silent, &CancelToken::new());
        assert!(matches!(r, Err(EmbedError::Cache(CacheError::ModelMismatch { .. }))));
    }

    #[test]
    fn file_names_are_safe_and_distinct() {
        let a = file_name("minilm/../x");
        assert!(!a.contains('/'));
        assert_ne!(file_name("a b"), file_name("a_b"));
    }
}
