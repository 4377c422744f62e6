//! Hosted memory stores (Claude Managed Agents): bring one into a store
//! ([`pull`]), dream over it on the device, and send the changes back
//! ([`push`]) without overwriting what an agent wrote meanwhile; read the
//! events of hosted sessions as transcripts ([`fetch_sessions`]).
//!
//! The store keeps a [`Link`] (`STORE/hosted.json`): per memory, its hosted
//! id, path and `content_sha256` as both sides last agreed. It is the base
//! of a three-way comparison: a memory whose local content differs from the
//! base changed here, one whose server version differs changed there.
//!
//! Promises:
//! - nothing on the server is overwritten or deleted unless it still is as
//!   pulled: every update carries a `content_sha256` precondition and every
//!   delete an `expected_content_sha256`. A memory an agent changed
//!   meanwhile is left as the server has it, named as a [`Conflict`], and
//!   the local version stays;
//! - a pull never overwrites a local change: a memory changed on both sides
//!   is a conflict, kept as it is here, unless the caller says which side
//!   wins ([`ConflictWinner`]); what a pull replaces stays in the store's history;
//! - a pull commits the store (one version) before it saves the link, and a
//!   push saves the link after the server answered, so a crash leaves a
//!   base that is behind, never ahead; the requests a stale base makes
//!   again are answered idempotently (an update whose content and path are
//!   already there succeeds, a deleted memory is gone, a created one is
//!   found and adopted);
//! - paths and contents are checked against the hosted rules before
//!   anything is sent; server memories whose path the store cannot hold are
//!   skipped and named, never half-imported;
//! - the API key only travels in its header ([`crate::resolve::http`]);
//!   neither the link nor any report holds it.

pub(crate) mod api;
mod link;
mod pull;
mod push;
mod sessions;

use std::path::PathBuf;

pub use api::{
    BASIC_PAGE, EVENTS_PAGE, EventPage, FULL_PAGE, Hosted, HostedMemory, ListView, MEMORY_BETA, MemoryPage,
    SESSIONS_BETA, Update,
};
pub use link::{Base, Link};
pub use pull::{ConflictWinner, PullReport, pull, pull_into};
pub use push::{NewStore, PushChange, PushPlan, PushReport, linked, plan_push, push, push_new, push_store};
pub use sessions::{Fetched, fetch_sessions};

use crate::resolve::http::HttpError;
use crate::session::SessionError;
use crate::store::StoreError;

/// A memory left as it is on one side because both sides changed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// Its path here (or on the server, for one that only exists there).
    pub path: String,
    /// Its hosted id, when it has one.
    pub id: Option<String>,
    /// What happened, in a few words.
    pub reason: String,
}

impl std::fmt::Display for Conflict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.id {
            Some(id) => write!(f, "{} ({id}): {}", self.path, self.reason),
            None => write!(f, "{}: {}", self.path, self.reason),
        }
    }
}

/// Why a pull, a push or a fetch failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HostedError {
    /// A request failed (after its retries).
    #[error("{what}: {}{source}", hint(source))]
    Api {
        /// What was being done (`listing the memories of memory store memstore_…`).
        what: String,
        /// The HTTP error.
        source: Box<HttpError>,
    },
    /// A 2xx answer whose body is not what the API documents.
    #[error("{endpoint}: unexpected response body: {message}")]
    BadAnswer {
        /// Method and URL.
        endpoint: String,
        /// What is wrong with it.
        message: String,
    },
    /// An id that cannot be a hosted id (it would not be safe in a URL).
    #[error("{what} id {id:?} is not an id (ASCII letters, digits, '_' and '-')")]
    BadId {
        /// `memory store`, `memory`, `session`.
        what: &'static str,
        /// The id given.
        id: String,
    },
    /// The store is linked to another hosted store.
    #[error("{store} is linked to memory store {linked}, not {asked}; pull {asked} into another store")]
    LinkedElsewhere {
        /// The store directory.
        store: PathBuf,
        /// The hosted store it is linked to.
        linked: String,
        /// The hosted store asked for.
        asked: String,
    },
    /// A push to a store that was never pulled.
    #[error("{store} was never pulled from a hosted memory store: pull it first, or push --new-store NAME")]
    NotLinked {
        /// The store directory.
        store: PathBuf,
    },
    /// The link file cannot be read.
    #[error("{path}: damaged hosted link: {message} (pull into a new store to start afresh)")]
    BadLink {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// A local memory breaks a hosted rule.
    #[error("{path}: {message}; nothing was sent")]
    Invalid {
        /// The memory.
        path: String,
        /// The rule broken.
        message: String,
    },
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Storing a session failed.
    #[error(transparent)]
    Session(#[from] SessionError),
    /// A push failed part-way; what was sent is recorded in the link.
    #[error("{done}: {source}")]
    Partial {
        /// What was done before (`sent 12 of 40 changes`).
        done: String,
        /// What stopped it.
        source: Box<HostedError>,
    },
}

/// What a status means for a hosted store, before the error itself.
fn hint(e: &HttpError) -> &'static str {
    match e.status() {
        Some(401) => "the API key was refused (check ANTHROPIC_API_KEY): ",
        Some(403) => "this API key may not use it (permission denied): ",
        Some(404) => "not found (check the id, and that the key's workspace holds it): ",
        _ => "",
    }
}
