//! Embedding a store's memories through its vector cache. Store-agnostic: callers pass the memories (in
//! path order) and the directories to read and write vectors.

use std::path::{Path, PathBuf};

use super::{EmbedError, Embedder, VectorCache, VectorCacheWriter, embed_cached};
use crate::memory::{ContentHash, Memory};
use crate::progress::{CancelToken, Observer};

/// The vector cache directory of the store in `store_dir`: `STORE/vectors`.
pub fn vectors_dir(store_dir: &Path) -> PathBuf {
    store_dir.join(crate::store::VECTORS_DIR)
}

/// Vectors of `memories` (in their order), read from the cache in
/// `read_dir`; misses are embedded and, if `write_dir` is given, every
/// vector that cache lacks is appended there (`read_dir` and `write_dir`
/// may be the same directory; `read_dir` is never written unless it is).
pub fn embed_memories(
    embedder: &dyn Embedder,
    memories: &[&Memory],
    read_dir: &Path,
    write_dir: Option<&Path>,
    observer: &dyn Observer,
    cancel: &CancelToken,
) -> Result<Vec<Vec<f32>>, EmbedError> {
    let cache = VectorCache::load(read_dir, embedder.model_id(), embedder.dimension())?;
    let mut writer = match write_dir {
        Some(dir) => Some(VectorCacheWriter::open(dir, embedder.model_id(), embedder.dimension())?),
        None => None,
    };
    let items: Vec<(ContentHash, &str)> = memories.iter().map(|m| (m.hash, m.content.as_str())).collect();
    embed_cached(embedder, &items, &cache, writer.as_mut(), observer, cancel)
}
