//! The nearest memories of one memory, by exact search over their vectors.

use super::Index;
use crate::memory::{Memory, MemoryPath};

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
    use crate::embed::{Embedder, LexicalEmbedder, VectorCache, embed_memories};
    use crate::memory::Memory;
    use crate::memory::Timestamp;
    use crate::progress::CancelToken;
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
