//! Agent access: what lets an agent use a store without custom code.
//!
//! - `memory_tool`: the commands ([`Command`], run on a store by
//!   [`execute`]) of Claude's client-side memory tool (`view`, `create`,
//!   `str_replace`, `insert`, `delete`, `rename` under `/memories`), with
//!   the official SDK helpers' semantics and texts.
//! - `search`: the memories nearest in meaning to a query.
//! - [`mcp`] (feature `mcp`): an MCP server offering both as tools; a thin
//!   translation onto [`AgentStore`].
//! - [`jsonl`]: the memory-tool commands as JSON lines (`dreamwork
//!   memory-tool`).
//!
//! [`AgentStore`] is what a long-lived agent process holds: a
//! [`SharedStore`] (the store's lock is taken per operation, so other
//! processes can write and dream meanwhile) and a [`Searcher`] that keeps
//! its index between queries. The tool descriptions an agent reads live as
//! Markdown beside this file (`tools/*.md`).

pub mod jsonl;
#[cfg(feature = "mcp")]
pub mod mcp;
mod memory_tool;
mod search;

use std::path::Path;

pub use memory_tool::{Command, ROOT, StoreAccess, ToolError, execute};
pub use search::{Hit, SearchError, Searcher};

use crate::embed::Embedder;
use crate::store::{SharedStore, StoreError, StoreOptions};

/// The instructions an MCP host passes to the model with the tools.
pub const INSTRUCTIONS: &str = include_str!("tools/instructions.md");

/// A store as a long-lived agent process holds it; see the [module
/// doc](self).
#[derive(Debug)]
pub struct AgentStore {
    store: SharedStore,
    searcher: Searcher,
}

impl AgentStore {
    /// Opens the store in `dir` (it must exist); `embedder` serves search.
    pub fn open(dir: impl AsRef<Path>, embedder: Box<dyn Embedder>) -> Result<Self, StoreError> {
        Self::open_with(&StoreOptions::new(), dir, embedder)
    }

    /// [`open`](Self::open) with store options (durability, snapshots).
    pub fn open_with(
        options: &StoreOptions,
        dir: impl AsRef<Path>,
        embedder: Box<dyn Embedder>,
    ) -> Result<Self, StoreError> {
        Ok(Self { store: SharedStore::open_with(options, dir)?, searcher: Searcher::new(embedder) })
    }

    /// Executes one memory-tool command: the result text, or the error
    /// text the model should read.
    pub fn execute(&mut self, command: &Command) -> Result<String, ToolError> {
        memory_tool::execute(&mut self.store, command)
    }

    /// The `k` memories nearest in meaning to `query`, best first.
    pub fn search(&mut self, query: &str, k: usize) -> Result<Vec<Hit>, SearchError> {
        self.searcher.search_shared(&mut self.store, query, k)
    }

    /// The store, for anything else.
    pub fn store(&mut self) -> &mut SharedStore {
        &mut self.store
    }

    /// The embedder search uses, to reuse: a dream over this store can
    /// embed with it ([`DreamRun::embedder`](crate::dream::DreamRun::embedder))
    /// rather than load the model a second time.
    pub fn embedder(&self) -> &dyn Embedder {
        self.searcher.embedder()
    }
}

/// Search hits as the agent reads them: one line per hit, similarity,
/// tool path (`/memories/…`), first line.
pub fn format_hits(query: &str, hits: &[Hit]) -> String {
    if hits.is_empty() {
        return format!("No memories match {query:?}: the store is empty.");
    }
    let mut out =
        format!("{} memories nearest to {query:?}, best first (similarity, path, first line):", hits.len());
    for hit in hits {
        out.push_str(&format!("\n{:.4}\t{}{}\t{}", hit.score, memory_tool::ROOT, hit.path, hit.first_line));
    }
    out
}
