//! Embedding a store's memories through its vector cache, and the nearest
//! memories of one memory. Store-agnostic: callers pass the memories (in
//! path order) and the directories to read and write vectors.

use std::path::{Path, PathBuf};

use super::{EmbedError, Embedder, VectorCache, VectorCacheWriter, embed_cached};
use crate::index::Index;
use crate::memory::{ContentHash, Memory, MemoryPath};
use crate::progress::{CancelToken, Observer};

/// The vector cache directory of the store in `store_dir`: `STORE/vectors`.
pub fn vectors_dir(store_dir: &Path) -> PathBuf {
    store_dir.join("vectors")
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

/// The `k` memories most similar to the one at `target`, best first (ties
/// by path), excluding `target` itself; `memories` must be in path order.
/// `None` if no memory has that path.
pub fn similar_memories(
    memories: &[&Memory],
    vectors: Vec<Vec<f32>>,
    target: &MemoryPath,
    k: usize,
) -> Option<Vec<(MemoryPath, f32)>> {
    let at = memories.iter().position(|m| &m.path == target)?;
    let query = vectors.get(at)?.clone();
    let index = Index::build(vectors);
    let found = index
        .neighbours(&query, k + 1)
        .into_iter()
        .filter(|n| n.id != at)
        .take(k)
        .filter_map(|n| memories.get(n.id).map(|m| (m.path.clone(), n.similarity)))
        .collect();
    Some(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embed::LexicalEmbedder;
    use crate::memory::Timestamp;
    use crate::progress::Silent;

    fn mem(path: &str, text: &str) -> Memory {
        Memory::new(MemoryPath::new(path).unwrap(), text, Timestamp(0))
    }

    #[test]
    fn nearest_memories_exclude_the_target() {
        let ms = [
            mem("/a.md", "the staging database listens on port 5433"),
            mem("/b.md", "Alice likes tabs"),
            mem("/c.md", "staging database port 5433"),
        ];
        let refs: Vec<&Memory> = ms.iter().collect();
        let dir = tempfile::tempdir().unwrap();
        let e = LexicalEmbedder::default();
        let v =
            embed_memories(&e, &refs, dir.path(), Some(dir.path()), &Silent, &CancelToken::new()).unwrap();
        let got = similar_memories(&refs, v, &ms[0].path, 5).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].0.as_str(), "/c.md");
        assert!(similar_memories(&refs, Vec::new(), &MemoryPath::new("/zz.md").unwrap(), 1).is_none());
        assert_eq!(VectorCache::load(dir.path(), e.model_id(), e.dimension()).unwrap().len(), 3);
    }
}
