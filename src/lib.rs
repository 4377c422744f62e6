//! dreamwork keeps an AI agent's long-term memory on the device and
//! "dreams" over it: it reads the memory store and past session transcripts
//! and writes a new, cleaner store while the input stays untouched.
//!
//! The types a runtime needs are at the crate root: a [`Store`] (or a
//! [`SharedStore`]) of [`Memory`]s at [`MemoryPath`]s, a [`Searcher`] to
//! find them by meaning, a [`DreamRun`] that dreams over a store and its
//! [`Session`]s, the [`Embedder`]s and the [`Resolver`]s that settle what
//! rules cannot. The modules hold the rest, one concern each: [`store`]
//! (the crash-safe, checksummed store and its format), [`session`]
//! (transcript importers and content-addressed sessions), [`embed`] (the
//! MiniLM and lexical backends, the vector cache, the model's installer),
//! [`index`] (exact and HNSW nearest neighbours), [`dream`] (the pipeline
//! and its on-disk driver), [`resolve`] (the question/answer contract and
//! its backends), [`report`] (the dream's `report.json`), [`review`]
//! (settling open questions by hand), [`agent`] (the memory-tool commands
//! and the MCP server), [`folder`] (dreaming over a Claude Code memory
//! folder), [`judge`] and [`text`] (the learned pair judge and the wording
//! rules the dream applies), [`hosted`] (pull, push and session events of
//! Claude Managed Agents' hosted memory stores; with the `remote` feature).
//!
//! Open a store, put, search, dream, accept:
//!
//! ```
//! use dreamwork::{DreamRun, LexicalEmbedder, MemoryPath, Searcher, Store};
//!
//! let dir = tempfile::tempdir()?;
//! let (path, out) = (dir.path().join("store"), dir.path().join("dreamed"));
//! let mut store = Store::create(&path)?;
//! store.put(&MemoryPath::new("/infra/staging-db.md")?, "The staging database listens on port 5433.")?;
//! store.put(&MemoryPath::new("/notes/staging-db.md")?, "The staging database listens on port 5433.")?;
//! store.put(&MemoryPath::new("/infra/prod-db.md")?, "The production database listens on port 5432.")?;
//! let hits = Searcher::new(Box::new(LexicalEmbedder::default())).search(&store, "staging database port", 1)?;
//! assert!(hits[0].path.as_str().ends_with("staging-db.md"));
//! let dream = DreamRun::default().run_on(&store, &out)?; // the handle stays open: it locks per write
//! assert_eq!(dream.report.output.memories, 2); // the copy is merged, the look-alike kept
//! dreamwork::dream::disk::accept(&path, &out)?; // the old store is kept beside it as a backup
//! assert_eq!(Store::open_read_only(&path)?.len(), 2);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

pub mod agent;
pub mod dream;
pub mod embed;
pub mod folder;
#[doc(hidden)]
pub mod fuzzing;
#[cfg(feature = "remote")]
pub mod hosted;
mod id;
pub mod index;
pub mod judge;
mod memory;
mod progress;
pub mod report;
pub mod resolve;
pub mod review;
pub mod session;
pub mod store;
pub mod text;

pub use agent::{AgentStore, Hit, SearchError, Searcher};
pub use dream::disk::DiskDream;
pub use dream::{Dream, DreamError, DreamInput, DreamOptions, DreamOutput, DreamRun, ExcerptBudget};
#[cfg(feature = "minilm")]
pub use embed::MiniLmEmbedder;
pub use embed::{
    EmbedError, Embedder, EmbedderChoice, LexicalEmbedder, MiniLmOptions, Thresholds, VectorCache,
    VectorCacheWriter, load_embedder,
};
pub use index::{CandidatePair, Index, IndexKind, Neighbour};
pub use memory::{
    ContentHash, MAX_CONTENT_BYTES, MAX_PATH_BYTES, MAX_PATH_SEGMENTS, Memory, MemoryError, MemoryPath,
    Metadata, Source, Timestamp,
};
pub use progress::{CancelToken, Cancelled, Observer, Progress, Silent};
pub use report::Report;
pub use resolve::{Answer, Asking, ExecResolver, Journal, LocalResolver, Question, Resolver};
pub use session::{Excerpt, Session, SessionId};
pub use session::{FormatChoice, SessionError, SessionFormat, SessionStore};
pub use store::{
    Batch, Durability, Revision, SharedStore, Stats, Store, StoreError, StoreOptions, VerifyReport,
};
