//! `sessions fetch`: reads the events of Managed Agents sessions, page by
//! page, and stores each as a transcript through the Managed Agents
//! importer ([`crate::session::managed_agents`]), known by its session id,
//! so that a dream reads it and the `dreams` resolver can cite it.

use serde_json::json;

use super::HostedError;
use super::api::Hosted;
use crate::session::{SessionId, SessionStore, managed_agents};

/// What fetching one session did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// The hosted session id.
    pub session_id: String,
    /// Events read.
    pub events: usize,
    /// Turns of the transcript (0: no transcript event, nothing stored).
    pub turns: usize,
    /// The stored session, when there were turns.
    pub stored: Option<SessionId>,
    /// Whether it was new to the store (an unchanged session is stored once).
    pub new: bool,
}

/// Fetches each of `ids` (in the order given) into `sessions`; stops at the
/// first failure, keeping what was stored before it.
pub fn fetch_sessions(
    sessions: &SessionStore,
    hosted: &Hosted,
    ids: &[String],
) -> Result<Vec<Fetched>, HostedError> {
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let events = hosted.session_events(id)?;
        let count = events.len();
        let page = json!({"session_id": id, "data": events});
        let bytes = serde_json::to_vec(&page).expect("JSON values serialise");
        let parsed = managed_agents::parse(&bytes, &format!("session {id}"))?;
        let mut fetched =
            Fetched { session_id: id.clone(), events: count, turns: 0, stored: None, new: false };
        if let Some(session) = parsed.into_iter().next() {
            fetched.turns = session.turns.len();
            fetched.new = sessions.put(&session)?;
            fetched.stored = Some(session.id);
        }
        out.push(fetched);
    }
    Ok(out)
}
