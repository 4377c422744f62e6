//! Other parts' files inside a store directory — session transcripts in
//! `sessions/`, the embedding cache in `vectors/`, the hosted link in
//! `hosted.json` — reached through an
//! open [`Store`] so that they are covered by its lock: a store opened for
//! writing gives writable parts, a read-only store read-only ones.

use std::path::PathBuf;

use super::Store;
use crate::session::{SessionError, SessionStore};

/// Name of the session transcripts' directory inside a store.
pub const SESSIONS_DIR: &str = "sessions";
/// Name of the file linking a store to a hosted memory store (written by
/// `dreamwork pull` and `push`; a dream copies it into its output).
pub const HOSTED_LINK_FILE: &str = "hosted.json";

impl Store {
    /// The session transcripts kept in this store (`STORE/sessions/`).
    /// Writable only when the store was opened for writing.
    pub fn sessions(&self) -> Result<SessionStore, SessionError> {
        let dir = self.dir().join(SESSIONS_DIR);
        if self.is_read_only() { Ok(SessionStore::open_read_only(dir)) } else { SessionStore::open(dir) }
    }

    /// The directory of this store's embedding cache (`STORE/vectors/`).
    pub fn vectors_dir(&self) -> PathBuf {
        crate::embed::vectors_dir(self.dir())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::{Role, Session, SessionFormat, Turn};

    fn session() -> Session {
        let turn = Turn {
            role: Role::User,
            author: None,
            text: "hello".into(),
            tool_calls: vec![],
            tool_results: vec![],
            timestamp: None,
            sidechain: false,
        };
        Session::new(SessionFormat::Text, None, None, vec![turn])
    }

    #[test]
    fn sessions_follow_the_store_mode() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::create(dir.path()).expect("create");
        assert!(store.sessions().expect("sessions").put(&session()).expect("put"));
        drop(store);
        let reader = Store::open_read_only(dir.path()).expect("open");
        let sessions = reader.sessions().expect("sessions");
        assert_eq!(sessions.ids().expect("ids"), vec![session().id]);
        assert!(matches!(sessions.put(&session()), Err(SessionError::ReadOnly(_))));
        assert_eq!(reader.vectors_dir(), dir.path().join("vectors"));
    }
}
