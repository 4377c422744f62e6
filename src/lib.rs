//! dreamwork keeps an AI agent's long-term memory on the device and
//! "dreams" over it: it reads the memory store and past session transcripts
//! and writes a new, cleaner store while the input stays untouched.

#![warn(missing_docs)]

pub mod dream;
pub mod embed;
pub mod index;
pub mod memory;
pub mod progress;
pub mod report;
pub mod resolve;
pub mod session;
pub mod store;

pub use dream::{Dream, DreamError, DreamInput, DreamOptions, DreamOutput};
pub use embed::{EmbedError, Embedder, EmbedderChoice, LexicalEmbedder, VectorCache, VectorCacheWriter};
pub use index::{CandidatePair, Index, Neighbour};
pub use memory::{ContentHash, Memory, MemoryError, MemoryPath, Source, Timestamp};
pub use progress::{CancelToken, Observer, Progress};
pub use report::Report;
pub use resolve::{Journal, LocalResolver, Resolver};
pub use session::{Excerpt, Session, SessionId};
pub use session::{FormatChoice, SessionError, SessionFormat, SessionStore};
pub use store::{Batch, Durability, Revision, Stats, Store, StoreError, StoreOptions, VerifyReport};
