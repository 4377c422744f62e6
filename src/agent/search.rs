//! Search by meaning: the `k` memories nearest to a query text.
//!
//! A [`Searcher`] keeps, between queries, the store's vectors (read from
//! the vector cache, `STORE/vectors`, and embedding only what it lacks) and
//! an exact [`Index`] over them. The index is rebuilt only when the store's
//! memories changed (a path, or a content hash, differs from those indexed:
//! a comparison, no hashing), so a query on an unchanged store costs one
//! embedding and one scan.
//!
//! The index is always exact: a scan of 10k 384-d vectors takes well under
//! a millisecond, while an hnsw graph would have to be rebuilt (serially,
//! for determinism) after every change. Results are ordered by descending
//! cosine similarity, ties by path.

use std::path::PathBuf;

use crate::embed::{EmbedError, Embedder, VectorCache, VectorCacheWriter, embed_cached};
use crate::index::{HnswParams, Index, IndexKind};
use crate::memory::{ContentHash, MemoryPath};
use crate::progress::{CancelToken, Silent};
use crate::store::{SharedStore, Store, StoreError};

/// Longest first line a [`Hit`] carries, in characters (longer ones end
/// with `…`).
pub const FIRST_LINE_CHARS: usize = 160;

/// One memory found.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// Its store path.
    pub path: MemoryPath,
    /// Cosine similarity to the query (1 = same direction).
    pub score: f32,
    /// Its first non-blank line, trimmed, at most 160 characters.
    pub first_line: String,
}

/// Why a search failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SearchError {
    /// Reading the store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Embedding, or the vector cache, failed.
    #[error(transparent)]
    Embed(#[from] EmbedError),
}

/// Answers queries over one store, keeping its vectors and index between
/// queries; see the [module doc](crate::agent).
pub struct Searcher {
    embedder: Box<dyn Embedder>,
    /// Vectors known so far (the store's cache plus what was embedded).
    cache: VectorCache,
    /// The cache directory `cache` was loaded from.
    cache_dir: Option<PathBuf>,
    built: Option<Built>,
}

impl std::fmt::Debug for Searcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Searcher")
            .field("model", &self.embedder.model_id())
            .field("vectors", &self.cache.len())
            .field("indexed", &self.built.as_ref().map(|b| b.entries.len()))
            .finish()
    }
}

/// The index over one state of the store.
struct Built {
    /// Path, content hash and first line of each indexed memory, in index
    /// (path) order.
    entries: Vec<(MemoryPath, ContentHash, String)>,
    index: Index,
}

impl Built {
    /// Whether `store` holds exactly the memories indexed.
    fn matches(&self, store: &Store) -> bool {
        self.entries.len() == store.len()
            && self
                .entries
                .iter()
                .zip(store.iter())
                .all(|((path, hash, _), m)| *hash == m.hash && *path == m.path)
    }
}

/// What the index needs from a store, taken under its lock.
struct Snapshot {
    cache_dir: PathBuf,
    /// Path, content hash, first line, and the content if its vector is
    /// not known yet.
    memories: Vec<(MemoryPath, ContentHash, String, Option<String>)>,
}

impl Searcher {
    /// A searcher that embeds with `embedder`.
    pub fn new(embedder: Box<dyn Embedder>) -> Self {
        let cache = VectorCache::empty(embedder.model_id(), embedder.dimension());
        Self { embedder, cache, cache_dir: None, built: None }
    }

    /// The embedder's model id.
    pub fn model_id(&self) -> &str {
        self.embedder.model_id()
    }

    /// The embedder, to reuse (a dream can embed with it rather than load
    /// the model a second time).
    pub fn embedder(&self) -> &dyn Embedder {
        self.embedder.as_ref()
    }

    /// The `k` memories of `store` nearest to `query`, best first. Vectors
    /// missing from the store's cache are embedded, and saved to it when
    /// `store` was opened for writing.
    pub fn search(&mut self, store: &Store, query: &str, k: usize) -> Result<Vec<Hit>, SearchError> {
        if let Some(snapshot) = self.snapshot_if_stale(store) {
            self.rebuild(snapshot, !store.is_read_only())?;
        }
        self.query(query, k)
    }

    /// [`search`](Self::search) on a [`SharedStore`]: the store's shared lock
    /// is held only to see whether it changed (and to copy what changed);
    /// embedding and the index build run without it, so writers are not
    /// held up. Missing vectors are saved to the store's cache (append-only,
    /// with its own lock; see the store's concurrency model).
    pub fn search_shared(
        &mut self,
        store: &mut SharedStore,
        query: &str,
        k: usize,
    ) -> Result<Vec<Hit>, SearchError> {
        if let Some(snapshot) = store.read(|s| self.snapshot_if_stale(s))? {
            self.rebuild(snapshot, true)?;
        }
        self.query(query, k)
    }

    fn snapshot_if_stale(&self, store: &Store) -> Option<Snapshot> {
        if self.built.as_ref().is_some_and(|b| b.matches(store)) {
            return None;
        }
        let cache_dir = store.vectors_dir();
        // A cache for another directory is reloaded first, so every vector may be missing.
        let known = |hash| self.cache_dir.as_ref() == Some(&cache_dir) && self.cache.get(hash).is_some();
        let memories = store
            .iter()
            .map(|m| {
                let content = (!known(&m.hash)).then(|| m.content.clone());
                (m.path.clone(), m.hash, first_line(&m.content), content)
            })
            .collect();
        Some(Snapshot { cache_dir, memories })
    }

    fn rebuild(&mut self, snapshot: Snapshot, save: bool) -> Result<(), SearchError> {
        let model = self.embedder.model_id().to_owned();
        let dimension = self.embedder.dimension();
        if self.cache_dir.as_ref() != Some(&snapshot.cache_dir) {
            self.cache =
                VectorCache::load(&snapshot.cache_dir, &model, dimension).map_err(EmbedError::from)?;
            self.cache_dir = Some(snapshot.cache_dir.clone());
        }
        let mut seen = std::collections::BTreeSet::new();
        let misses: Vec<(ContentHash, &str)> = snapshot
            .memories
            .iter()
            .filter_map(|(_, hash, _, content)| Some((*hash, content.as_deref()?)))
            .filter(|(hash, _)| self.cache.get(hash).is_none() && seen.insert(*hash))
            .collect();
        if !misses.is_empty() {
            let mut writer = match save {
                // Another process appending to the cache right now: embed
                // without saving rather than wait.
                true => match VectorCacheWriter::try_open(&snapshot.cache_dir, &model, dimension) {
                    Ok(writer) => Some(writer),
                    Err(crate::embed::CacheError::Locked { .. }) => None,
                    Err(e) => return Err(EmbedError::from(e).into()),
                },
                false => None,
            };
            let fresh = embed_cached(
                self.embedder.as_ref(),
                &misses,
                &self.cache,
                writer.as_mut(),
                &Silent,
                &CancelToken::new(),
            )?;
            for ((hash, _), vector) in misses.iter().zip(fresh) {
                self.cache.insert(*hash, vector).map_err(EmbedError::from)?;
            }
        }
        let mut vectors = Vec::with_capacity(snapshot.memories.len());
        let mut entries = Vec::with_capacity(snapshot.memories.len());
        for (path, hash, line, _) in snapshot.memories {
            let vector = self
                .cache
                .get(&hash)
                .ok_or_else(|| EmbedError::Backend(format!("no vector for {path} after embedding")))?;
            vectors.push(vector.to_vec());
            entries.push((path, hash, line));
        }
        let index = Index::build_with(vectors, IndexKind::Exact, HnswParams::default());
        self.built = Some(Built { entries, index });
        Ok(())
    }

    fn query(&self, query: &str, k: usize) -> Result<Vec<Hit>, SearchError> {
        let Some(built) = &self.built else { return Ok(Vec::new()) };
        if k == 0 || built.entries.is_empty() {
            return Ok(Vec::new());
        }
        let vector = self
            .embedder
            .embed(&[query])?
            .pop()
            .ok_or_else(|| EmbedError::Backend("the embedder returned no vector for the query".into()))?;
        let hits = built
            .index
            .neighbours(&vector, k)
            .into_iter()
            .filter_map(|n| {
                built.entries.get(n.id).map(|(path, _, line)| Hit {
                    path: path.clone(),
                    score: n.similarity,
                    first_line: line.clone(),
                })
            })
            .collect();
        Ok(hits)
    }
}

/// The first non-blank line of `content`, trimmed and shortened to
/// [`FIRST_LINE_CHARS`].
pub fn first_line(content: &str) -> String {
    let line = content.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("");
    if line.chars().count() <= FIRST_LINE_CHARS {
        return line.to_owned();
    }
    let mut short: String = line.chars().take(FIRST_LINE_CHARS - 1).collect();
    short.push('…');
    short
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embed::LexicalEmbedder;

    fn p(s: &str) -> MemoryPath {
        MemoryPath::new(s).expect("valid")
    }

    /// Counts the texts embedded.
    struct Counting(LexicalEmbedder, std::sync::Arc<std::sync::atomic::AtomicUsize>);

    impl Embedder for Counting {
        fn model_id(&self) -> &str {
            self.0.model_id()
        }
        fn dimension(&self) -> usize {
            self.0.dimension()
        }
        fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
            self.1.fetch_add(texts.len(), std::sync::atomic::Ordering::SeqCst);
            self.0.embed(texts)
        }
        fn word_vectors(&self, texts: &[&str]) -> Result<Option<Vec<crate::embed::WordVectors>>, EmbedError> {
            self.0.word_vectors(texts)
        }
    }

    #[test]
    fn finds_the_nearest_and_reuses_the_index_until_the_store_changes() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::create(dir.path()).unwrap();
        store.put(&p("/infra/db.md"), "\n  The staging database listens on port 5433.\nMore.").unwrap();
        store.put(&p("/team/lunch.md"), "Lunch is at noon on Fridays.").unwrap();
        store.put(&p("/ci/runner.md"), "CI runs on the self-hosted runner.").unwrap();
        let embedded = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut searcher = Searcher::new(Box::new(Counting(LexicalEmbedder::default(), embedded.clone())));
        let hits = searcher.search(&store, "which port does the staging database use", 2).unwrap();
        assert_eq!(hits.len(), 2);
        assert_eq!(hits[0].path, p("/infra/db.md"));
        assert_eq!(hits[0].first_line, "The staging database listens on port 5433.");
        assert!(hits[0].score > hits[1].score);
        // Three memories and the query.
        assert_eq!(embedded.load(std::sync::atomic::Ordering::SeqCst), 4);
        searcher.search(&store, "lunch", 1).unwrap();
        assert_eq!(embedded.load(std::sync::atomic::Ordering::SeqCst), 5, "unchanged store: only the query");
        store.put(&p("/team/lunch.md"), "Lunch moved to one o'clock.").unwrap();
        let hits = searcher.search(&store, "when is lunch", 1).unwrap();
        assert_eq!(hits[0].path, p("/team/lunch.md"));
        assert_eq!(
            embedded.load(std::sync::atomic::Ordering::SeqCst),
            7,
            "only the changed memory and the query"
        );
        // The writable store's cache got the vectors.
        let e = LexicalEmbedder::default();
        assert_eq!(VectorCache::load(&store.vectors_dir(), e.model_id(), e.dimension()).unwrap().len(), 4);
        assert!(searcher.search(&store, "x", 0).unwrap().is_empty());
    }

    #[test]
    fn a_read_only_store_gets_no_vectors_written() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::create(dir.path()).unwrap();
        store.put(&p("/a"), "alpha").unwrap();
        drop(store);
        let store = Store::open_read_only(dir.path()).unwrap();
        let mut searcher = Searcher::new(Box::new(LexicalEmbedder::default()));
        assert_eq!(searcher.search(&store, "alpha", 5).unwrap().len(), 1);
        assert!(!store.vectors_dir().exists());
    }

    #[test]
    fn first_lines_are_trimmed_and_short() {
        assert_eq!(first_line("\n\n  # Title  \nbody"), "# Title");
        assert_eq!(first_line(""), "");
        let long = first_line(&"é".repeat(500));
        assert_eq!(long.chars().count(), FIRST_LINE_CHARS);
        assert!(long.ends_with('…'));
    }
}
