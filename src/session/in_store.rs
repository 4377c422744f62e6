//! A store's session transcripts (`STORE/sessions/`), reached through the
//! open [`Store`] so that they are covered by its mode: a store opened for
//! writing gives a writable session store, a read-only store a read-only one.

use super::{SessionError, SessionStore};
use crate::store::{SESSIONS_DIR, Store};

impl Store {
    /// The session transcripts kept in this store (`STORE/sessions/`).
    /// Writable only when the store was opened for writing.
    pub fn sessions(&self) -> Result<SessionStore, SessionError> {
        let dir = self.dir().join(SESSIONS_DIR);
        if self.is_read_only() { Ok(SessionStore::open_read_only(dir)) } else { SessionStore::open(dir) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::{Role, Session, SessionFormat, Turn};
    use crate::store::Store;

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
    }
}
