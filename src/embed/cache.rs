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
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::{EmbedError, Embedder};
use crate::memory::ContentHash;
use crate::progress::{CancelToken, Observer, Progress};

pub use super::cache_format::{
    BATCH, DecodeError, EXTENSION, MAX_MODEL_ID_BYTES, decode, file_name, frame_count, header, parse_header,
};
pub(super) use super::cache_format::{
    check_header_of, check_model_id, file_stem, header_of, parse_header_of, to_cache_error, u32_at,
};
pub use super::cache_writer::VectorCacheWriter;
pub(super) use super::cache_writer::{io, open_locked};

/// Why the cache could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
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
    /// The model id is empty or longer than 1024 bytes (`MAX_MODEL_ID_BYTES`).
    #[error("invalid model id {0:?}")]
    ModelId(String),
}

/// Vectors of one model, loaded from a cache directory (read-only).
#[derive(Debug, Clone)]
pub struct VectorCache {
    model_id: String,
    dimension: usize,
    pub(super) vectors: BTreeMap<ContentHash, Vec<f32>>,
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

/// Vectors for `items` in input order, embedding only the hashes that
/// `cache` lacks.
///
/// Misses are embedded in batches of 256 (`BATCH`) spread over all cores;
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
#[path = "cache_tests.rs"]
mod tests;
