//! Other parts' files inside a store directory — session transcripts in
//! `sessions/`, the embedding cache in `vectors/`, the hosted link in
//! `hosted.json` — reached through an open [`Store`] so that they follow
//! its mode: a store opened for writing gives writable parts, a read-only
//! store read-only ones. They are not covered by the store's lock (held per
//! write of the log only): each has its own rules (sessions are written
//! content-addressed by temporary file and rename, the vector cache is
//! append-only with a lock per file). The
//! accessors that return another part's type live with that part
//! ([`Store::sessions`] in `session`), so the store imports no layer above it.

use std::path::PathBuf;

use super::Store;

/// Name of the session transcripts' directory inside a store.
pub const SESSIONS_DIR: &str = "sessions";
/// Name of the embedding cache's directory inside a store.
pub const VECTORS_DIR: &str = "vectors";
/// Name of the file linking a store to a hosted memory store (written by
/// `dreamwork pull` and `push`; a dream copies it into its output).
pub const HOSTED_LINK_FILE: &str = "hosted.json";

impl Store {
    /// The directory of this store's embedding cache (`STORE/vectors/`).
    pub fn vectors_dir(&self) -> PathBuf {
        self.dir().join(VECTORS_DIR)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_live_in_the_store() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::create(dir.path()).expect("create");
        assert_eq!(store.vectors_dir(), dir.path().join("vectors"));
    }
}
