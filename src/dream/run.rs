//! A dream on disk as a builder: only where to read and where to write are
//! required. Every part has a default — the lexical embedder, the local
//! resolver (which leaves what rules cannot settle for review), no
//! journal, no caps, a silent observer, a fresh cancel token, no sessions
//! beyond the store's, no user vector cache — so a caller names only what
//! it changes. It drives [`dream_store`](super::disk::dream_store).

use std::path::Path;

use super::disk::{DiskDream, DiskRequest, dream_store};
use super::{Dream, DreamError, DreamOptions};
use crate::embed::{CacheDir, Embedder, LexicalEmbedder};
use crate::progress::{CancelToken, Observer, Silent};
use crate::resolve::{Asking, Journal, Limits, LocalResolver, Resolver};
use crate::session::Session;
use crate::store::Store;

/// A dream over a store on disk, its parts optional: by default the
/// lexical embedder, the local resolver (which leaves what rules cannot
/// settle for review), no journal, no caps, a silent observer, a fresh
/// cancel token, no sessions beyond the store's and no user vector cache.
/// The options and caps it runs with are saved in the report
/// ([`SavedOptions`](crate::report::SavedOptions)), so `dreamwork review`
/// re-runs it as it was made.
///
/// ```
/// use dreamwork::{DreamRun, MemoryPath, Store};
/// let dir = tempfile::tempdir()?;
/// let mut store = Store::create(dir.path().join("store"))?;
/// store.put(&MemoryPath::new("/a.md")?, "Deploys are on Tuesdays.")?;
/// store.put(&MemoryPath::new("/b.md")?, "Deploys are on Tuesdays.")?;
/// let dream = DreamRun::default().run_on(&store, dir.path().join("out"))?;
/// assert_eq!(dream.report.output.memories, 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "a dream run does nothing until `run` or `run_on`"]
pub struct DreamRun<'a> {
    options: DreamOptions,
    embedder: Option<&'a dyn Embedder>,
    resolver: Option<&'a dyn Resolver>,
    journal: Option<&'a mut Journal>,
    limits: Limits,
    observer: Option<&'a dyn Observer>,
    cancel: Option<CancelToken>,
    sessions: Vec<Session>,
    vector_cache: Option<CacheDir>,
}

impl Default for DreamRun<'_> {
    fn default() -> Self {
        Self::new(DreamOptions::default())
    }
}

impl std::fmt::Debug for DreamRun<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DreamRun")
            .field("options", &self.options)
            .field("embedder", &self.embedder.map(|e| e.model_id().to_owned()))
            .field("resolver", &self.resolver.map(|r| r.name()))
            .field("journal", &self.journal.is_some())
            .field("limits", &self.limits)
            .field("sessions", &self.sessions.len())
            .field("vector_cache", &self.vector_cache)
            .finish_non_exhaustive()
    }
}

impl<'a> DreamRun<'a> {
    /// A dream with `options` and every part at its default.
    pub fn new(options: DreamOptions) -> Self {
        Self {
            options,
            embedder: None,
            resolver: None,
            journal: None,
            limits: Limits::default(),
            observer: None,
            cancel: None,
            sessions: Vec::new(),
            vector_cache: None,
        }
    }

    /// Embeds with `embedder` (e.g. an [`AgentStore`](crate::AgentStore)'s,
    /// so the model is not loaded twice) instead of the lexical embedder.
    pub fn embedder(mut self, embedder: &'a dyn Embedder) -> Self {
        self.embedder = Some(embedder);
        self
    }

    /// Asks `resolver` what rules cannot settle, instead of the local one.
    pub fn resolver(mut self, resolver: &'a dyn Resolver) -> Self {
        self.resolver = Some(resolver);
        self
    }

    /// Replays and records answers in `journal`, so a re-run is identical.
    pub fn journal(mut self, journal: &'a mut Journal) -> Self {
        self.journal = Some(journal);
        self
    }

    /// Caps what the dream may send to the resolver.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Reports progress to `observer`.
    pub fn observer(mut self, observer: &'a dyn Observer) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Stops when `cancel` is cancelled (from another thread, say).
    pub fn cancel(mut self, cancel: CancelToken) -> Self {
        self.cancel = Some(cancel);
        self
    }

    /// Reads `sessions` alongside those kept in the store (never imported
    /// into it).
    pub fn sessions(mut self, sessions: Vec<Session>) -> Self {
        self.sessions = sessions;
        self
    }

    /// Reads vectors from, and adds those it computes to, the user cache
    /// `cache` as well as the store's own.
    pub fn vector_cache(mut self, cache: CacheDir) -> Self {
        self.vector_cache = Some(cache);
        self
    }

    /// Dreams over the store in `store` (only read) and writes the result
    /// to `out`, which must not exist yet.
    pub fn run(self, store: impl AsRef<Path>, out: impl AsRef<Path>) -> Result<DiskDream, DreamError> {
        let lexical = LexicalEmbedder::default();
        let embedder = self.embedder.unwrap_or(&lexical);
        let local = LocalResolver;
        let mut asking = Asking::new(self.resolver.unwrap_or(&local)).limits(self.limits);
        if let Some(journal) = self.journal {
            asking = asking.journal(journal);
        }
        let observer = self.observer.unwrap_or(&Silent);
        let cancel = self.cancel.unwrap_or_default();
        let request = DiskRequest {
            store: store.as_ref().to_owned(),
            out: out.as_ref().to_owned(),
            extra_sessions: self.sessions,
            replay_of: None,
            vector_cache: self.vector_cache,
        };
        dream_store(&Dream::new(self.options), request, embedder, &mut asking, observer, &cancel)
    }

    /// [`run`](Self::run) over the store behind an open handle (which may
    /// stay open, writable or not: it holds no lock between its writes).
    pub fn run_on(self, store: &Store, out: impl AsRef<Path>) -> Result<DiskDream, DreamError> {
        self.run(store.dir(), out)
    }
}
