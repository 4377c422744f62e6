//! `pull`: brings a hosted memory store's changes into a store.
//!
//! The first pull lists the hosted store with its contents (`view=full`,
//! pages of 20). Later pulls list it without contents (`view=basic`, pages
//! of 100: path and `content_sha256` are enough to see what changed) and
//! read only the memories that changed and whose content is not already in
//! the store.
//!
//! Each hosted memory is compared with its [`Base`] and with the store:
//!
//! | server since the base | store since the base | pull |
//! |---|---|---|
//! | unchanged | anything | nothing (a local change waits for `push`) |
//! | changed, moved or new | unchanged (or absent, for a new one) | takes the server's version |
//! | changed | changed the same way | records the agreement |
//! | changed | changed otherwise | conflict |
//! | deleted | unchanged or deleted | deletes it here |
//! | deleted | changed | conflict |
//!
//! A conflict keeps the local version and the old base (so a push still
//! refuses to overwrite the server's version) unless a [`ConflictWinner`] is given:
//! [`ConflictWinner::Server`] takes the server's version (the local one stays in the
//! store's history), [`ConflictWinner::Local`] keeps the local one and moves the base
//! to the server's version, so that the next push makes the server equal to
//! the store.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::api::{Hosted, HostedMemory, ListView};
use super::link::{Base, Link};
use super::{Conflict, HostedError};
use crate::memory::{MAX_CONTENT_BYTES, Memory, MemoryPath, Timestamp, content_sha256};
use crate::progress::{Observer, Progress};
use crate::store::{LOG_FILE, Store};

/// Which side wins a conflict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConflictWinner {
    /// The store's version (the next push sends it).
    Local,
    /// The server's version.
    Server,
}

/// What a pull did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PullReport {
    /// The hosted store.
    pub memory_store_id: String,
    /// Hosted memories listed.
    pub listed: usize,
    /// Memories read one by one (the listing had no content).
    pub fetched: usize,
    /// Paths written that the store did not have.
    pub created: Vec<String>,
    /// Paths whose content was replaced by the server's.
    pub updated: Vec<String>,
    /// Memories moved (from, to), as on the server.
    pub renamed: Vec<(String, String)>,
    /// Paths deleted because the server deleted them.
    pub deleted: Vec<String>,
    /// Memories changed on both sides, and how they were left.
    pub conflicts: Vec<Conflict>,
    /// Hosted memories the store cannot hold (path, why), left out.
    pub skipped: Vec<(String, String)>,
    /// The store version the pull committed (`None`: nothing changed).
    pub version: Option<u64>,
}

/// What to do with one hosted memory.
enum Action {
    /// Nothing changes.
    Nothing,
    /// The base becomes the server's version; the store is left alone.
    Record,
    /// The store takes the server's version (removing `from` if it moved).
    Take { from: Option<String> },
    /// Both changed: decided by the [`ConflictWinner`], or left.
    Conflict { reason: &'static str, from: Option<String> },
    /// The store cannot hold it.
    Skip(String),
}

/// Pulls into the store in `dir`, creating it when `dir` holds no store.
pub fn pull_into(
    dir: &Path,
    hosted: &Hosted,
    memory_store_id: &str,
    prefer: Option<ConflictWinner>,
    observer: &dyn Observer,
) -> Result<PullReport, HostedError> {
    let mut store = if dir.join(LOG_FILE).exists() { Store::open(dir)? } else { Store::create(dir)? };
    pull(&mut store, hosted, memory_store_id, prefer, observer)
}

/// Brings the changes of hosted store `memory_store_id` into `store` (see
/// the module doc) as one commit, then saves the link.
pub fn pull(
    store: &mut Store,
    hosted: &Hosted,
    memory_store_id: &str,
    prefer: Option<ConflictWinner>,
    observer: &dyn Observer,
) -> Result<PullReport, HostedError> {
    let dir = store.dir().to_owned();
    let mut link = match Link::load(&dir)? {
        Some(link) if link.memory_store_id != memory_store_id => {
            return Err(HostedError::LinkedElsewhere {
                store: dir,
                linked: link.memory_store_id,
                asked: memory_store_id.to_owned(),
            });
        }
        Some(link) => link,
        None => Link::new(memory_store_id),
    };
    let view = if link.memories.is_empty() { ListView::Full } else { ListView::Basic };
    let mut listed = hosted.list_memories(memory_store_id, view, &mut |n| {
        observer.progress(Progress { stage: "list", done: n as u64, total: 0 })
    })?;
    listed.sort_by(|a, b| a.path.cmp(&b.path));
    let mut report = PullReport {
        memory_store_id: memory_store_id.to_owned(),
        listed: listed.len(),
        ..PullReport::default()
    };

    // The store as it is: path -> sha, and sha -> content (to spare reads).
    let mut local: BTreeMap<String, String> = BTreeMap::new();
    let mut by_sha: BTreeMap<String, String> = BTreeMap::new();
    for m in store.iter() {
        let sha = content_sha256(&m.content);
        local.insert(m.path.as_str().to_owned(), sha.clone());
        by_sha.entry(sha).or_insert_with(|| m.content.clone());
    }

    let mut actions: Vec<(HostedMemory, Action)> = listed
        .into_iter()
        .map(|s| {
            let action = decide(&s, link.memories.get(&s.id), &local);
            (s, action)
        })
        .collect();
    let on_server: BTreeSet<String> = actions.iter().map(|(s, _)| s.id.clone()).collect();
    // Memories the server deleted: (id, base, untouched here).
    let gone: Vec<(String, Base, bool)> = link
        .memories
        .iter()
        .filter(|(id, _)| !on_server.contains(*id))
        .map(|(id, b)| {
            let untouched = local.get(&b.path).is_none_or(|sha| *sha == b.content_sha256);
            (id.clone(), b.clone(), untouched)
        })
        .collect();

    // Paths this pull empties (the server moved or deleted what they hold,
    // untouched here): another hosted memory may move in.
    let mut vacated: BTreeSet<String> = BTreeSet::new();
    for (_, action) in &actions {
        if let Action::Take { from: Some(from) } = action {
            vacated.insert(from.clone());
        }
    }
    vacated.extend(gone.iter().filter(|(_, _, untouched)| *untouched).map(|(_, b, _)| b.path.clone()));
    for (s, action) in &mut actions {
        let own = link.memories.get(&s.id).is_some_and(|b| b.path == s.path);
        if own {
            continue;
        }
        let differs = local.get(&s.path).is_some_and(|sha| *sha != s.content_sha256);
        match action {
            // Its path is being emptied: it moves in.
            Action::Record | Action::Conflict { from: None, .. } if vacated.contains(&s.path) => {
                *action = Action::Take { from: None };
            }
            Action::Take { from } if differs && !vacated.contains(&s.path) => {
                *action =
                    Action::Conflict { reason: "its path holds another memory here", from: from.take() };
            }
            _ => {}
        }
    }

    // Contents to read: what the store takes and does not hold already.
    let takes = |a: &Action| {
        matches!(a, Action::Take { .. })
            || (matches!(a, Action::Conflict { .. }) && prefer == Some(ConflictWinner::Server))
    };
    let wanted: Vec<usize> = actions
        .iter()
        .enumerate()
        .filter(|(_, (s, a))| takes(a) && s.content.is_none() && !by_sha.contains_key(&s.content_sha256))
        .map(|(i, _)| i)
        .collect();
    let total = wanted.len() as u64;
    for (n, i) in wanted.into_iter().enumerate() {
        observer.progress(Progress { stage: "fetch", done: n as u64, total });
        let listed = &actions[i].0;
        match hosted.memory(memory_store_id, &listed.id)? {
            Some(full) if full.path == listed.path && full.content_sha256 == listed.content_sha256 => {
                actions[i].0 = full;
            }
            // Changed again (or deleted) since the listing: the next pull takes it.
            _ => actions[i].1 = Action::Nothing,
        }
        report.fetched += 1;
    }
    observer.progress(Progress { stage: "fetch", done: total, total });

    let mut plan = Plan {
        store,
        local: &local,
        vacated: &vacated,
        by_sha: &by_sha,
        now: Timestamp::now(),
        removes: Vec::new(),
        puts: Vec::new(),
    };
    let mut fresh: BTreeSet<String> = BTreeSet::new();
    for (s, action) in actions {
        let base = Base { path: s.path.clone(), content_sha256: s.content_sha256.clone() };
        match action {
            Action::Nothing => {}
            Action::Skip(why) => report.skipped.push((s.path.clone(), why)),
            Action::Record => {
                fresh.insert(s.id.clone());
                link.memories.insert(s.id.clone(), base);
            }
            Action::Take { from } => {
                plan.take(&s, from, &mut report)?;
                fresh.insert(s.id.clone());
                link.memories.insert(s.id.clone(), base);
            }
            Action::Conflict { reason, from } => {
                let here = from.clone().unwrap_or_else(|| s.path.clone());
                let (path, settled) = match prefer {
                    None => (here, "kept as it is here; push will not overwrite the server's version"),
                    Some(ConflictWinner::Local) => {
                        (here, "kept as it is here; the next push sends it over the server's version")
                    }
                    Some(ConflictWinner::Server) => (
                        s.path.clone(),
                        "replaced by the server's version (the local one stays in the store's history)",
                    ),
                };
                let reason = format!("changed here and on the server ({reason}): {settled}");
                report.conflicts.push(Conflict { path, id: Some(s.id.clone()), reason });
                if prefer == Some(ConflictWinner::Server) {
                    plan.take(&s, from, &mut report)?;
                }
                if prefer.is_some() {
                    fresh.insert(s.id.clone());
                    link.memories.insert(s.id.clone(), base);
                }
            }
        }
    }
    for (id, base, untouched) in gone {
        if untouched || prefer.is_some() {
            link.memories.remove(&id);
        }
        if (untouched || prefer == Some(ConflictWinner::Server)) && local.contains_key(&base.path) {
            plan.removes.push(base.path.clone());
            report.deleted.push(base.path.clone());
        }
        if !untouched {
            let settled = match prefer {
                None => "kept here; push will not bring it back",
                Some(ConflictWinner::Local) => "kept here; the next push creates it again",
                Some(ConflictWinner::Server) => "deleted here too (it stays in the store's history)",
            };
            let reason = format!("deleted on the server, changed here: {settled}");
            report.conflicts.push(Conflict { path: base.path, id: Some(id), reason });
        }
    }
    // A base kept from before (a conflict left open) gives way to a memory
    // recorded now at the same path: bases never share a path.
    let mut holders: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (id, b) in &link.memories {
        holders.entry(b.path.clone()).or_default().push(id.clone());
    }
    for ids in holders.into_values().filter(|ids| ids.len() > 1) {
        for id in ids.iter().filter(|id| !fresh.contains(*id)) {
            link.memories.remove(id);
        }
    }

    let Plan { removes, puts, .. } = plan;
    let mut batch = store.batch();
    for path in &removes {
        // A path also written below is overwritten, not deleted.
        if let Ok(path) = MemoryPath::new(path) {
            batch.delete(&path);
        }
    }
    for memory in puts {
        batch.put_memory(memory)?;
    }
    report.version = if batch.is_empty() { None } else { Some(batch.commit()?) };
    link.save(&dir)?;
    report.created.sort();
    report.updated.sort();
    report.renamed.sort();
    report.deleted.sort();
    report.conflicts.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(report)
}

/// The store's changes a pull collects before committing them at once.
struct Plan<'a> {
    /// The store before the pull.
    store: &'a Store,
    /// Its memories: path -> sha.
    local: &'a BTreeMap<String, String>,
    /// Paths the pull empties.
    vacated: &'a BTreeSet<String>,
    /// Contents the store holds, by sha.
    by_sha: &'a BTreeMap<String, String>,
    /// When the pull runs: the time of a memory the server gives none.
    now: Timestamp,
    removes: Vec<String>,
    puts: Vec<Memory>,
}

impl Plan<'_> {
    /// Writes `s` into the store (and removes where it was, if it moved).
    fn take(
        &mut self,
        s: &HostedMemory,
        from: Option<String>,
        report: &mut PullReport,
    ) -> Result<(), HostedError> {
        let path = MemoryPath::new(&s.path)
            .map_err(|e| HostedError::Invalid { path: s.path.clone(), message: e.to_string() })?;
        let present = self.local.contains_key(&s.path) && !self.vacated.contains(&s.path);
        match from {
            Some(from) => {
                if self.local.contains_key(&from) {
                    self.removes.push(from.clone());
                }
                report.renamed.push((from, s.path.clone()));
            }
            None if present => report.updated.push(s.path.clone()),
            None => report.created.push(s.path.clone()),
        }
        if !present || self.local.get(&s.path) != Some(&s.content_sha256) {
            let content = s.content.clone().or_else(|| self.by_sha.get(&s.content_sha256).cloned());
            let Some(content) = content else {
                return Err(HostedError::Invalid {
                    path: s.path.clone(),
                    message: "the server's content was not read (a bug: please report it)".into(),
                });
            };
            // The server's times, so a dream sees which memory is newer;
            // the metadata of the memory replaced here is kept.
            let updated = s.updated_at.unwrap_or(self.now);
            let mut memory = Memory::new(path.clone(), content, updated);
            memory.created_at = s.created_at.unwrap_or(updated);
            if let Some(old) = self.store.get(&path) {
                memory.metadata = old.metadata.clone();
            }
            self.puts.push(memory);
        }
        Ok(())
    }
}

/// Decides what to do with hosted memory `s` given its base and the store.
fn decide(s: &HostedMemory, base: Option<&Base>, local: &BTreeMap<String, String>) -> Action {
    match MemoryPath::new(&s.path) {
        Ok(p) if p.as_str() == s.path => {}
        Ok(_) => return Action::Skip("its path is not in Unicode normal form C".into()),
        Err(e) => return Action::Skip(e.to_string()),
    }
    if let Some(content) = &s.content
        && content.len() > MAX_CONTENT_BYTES
    {
        return Action::Skip(format!(
            "its content is {} bytes, more than {MAX_CONTENT_BYTES}",
            content.len()
        ));
    }
    let here = local.get(&s.path);
    let Some(base) = base else {
        return match here {
            None => Action::Take { from: None },
            Some(sha) if *sha == s.content_sha256 => Action::Record,
            Some(_) => Action::Conflict {
                reason: "created on the server where this store has another memory",
                from: None,
            },
        };
    };
    if base.path == s.path && base.content_sha256 == s.content_sha256 {
        return Action::Nothing;
    }
    let moved = (base.path != s.path).then(|| base.path.clone());
    let untouched = local.get(&base.path).is_some_and(|sha| *sha == base.content_sha256);
    if untouched {
        return Action::Take { from: moved };
    }
    if here.is_some_and(|sha| *sha == s.content_sha256) {
        return Action::Record;
    }
    let reason = if local.contains_key(&base.path) { "both edited" } else { "deleted or moved here" };
    Action::Conflict { reason, from: moved }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(path: &str, content: &str) -> HostedMemory {
        HostedMemory {
            id: "mem_1".into(),
            path: path.into(),
            content_sha256: content_sha256(content),
            content: Some(content.into()),
            created_at: None,
            updated_at: None,
        }
    }

    fn base(path: &str, content: &str) -> Base {
        Base { path: path.into(), content_sha256: content_sha256(content) }
    }

    fn name(a: &Action) -> String {
        match a {
            Action::Nothing => "nothing".into(),
            Action::Record => "record".into(),
            Action::Take { from: None } => "take".into(),
            Action::Take { from: Some(f) } => format!("take from {f}"),
            Action::Conflict { reason, .. } => format!("conflict: {reason}"),
            Action::Skip(why) => format!("skip: {why}"),
        }
    }

    #[test]
    fn decides_as_the_table_says() {
        let here = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs.iter().map(|(p, c)| (p.to_string(), content_sha256(c))).collect()
        };
        let d =
            |s: HostedMemory, b: Option<Base>, l: BTreeMap<String, String>| name(&decide(&s, b.as_ref(), &l));
        // Server unchanged: whatever the store did waits for push.
        assert_eq!(d(server("/a", "x"), Some(base("/a", "x")), here(&[("/a", "mine")])), "nothing");
        // Server changed, store untouched: take it (moved or not).
        assert_eq!(d(server("/a", "y"), Some(base("/a", "x")), here(&[("/a", "x")])), "take");
        assert_eq!(d(server("/b", "x"), Some(base("/a", "x")), here(&[("/a", "x")])), "take from /a");
        // Both changed the same way: agreement.
        assert_eq!(d(server("/a", "y"), Some(base("/a", "x")), here(&[("/a", "y")])), "record");
        // Both changed otherwise.
        assert_eq!(
            d(server("/a", "y"), Some(base("/a", "x")), here(&[("/a", "z")])),
            "conflict: both edited"
        );
        assert_eq!(d(server("/a", "y"), Some(base("/a", "x")), here(&[])), "conflict: deleted or moved here");
        // New on the server.
        assert_eq!(d(server("/a", "y"), None, here(&[])), "take");
        assert_eq!(d(server("/a", "y"), None, here(&[("/a", "y")])), "record");
        assert!(
            d(server("/a", "y"), None, here(&[("/a", "z")])).starts_with("conflict: created on the server")
        );
        // Paths the store cannot hold.
        let deep = format!("/{}", vec!["d"; 21].join("/"));
        assert!(d(server(&deep, "x"), None, here(&[])).starts_with("skip: path"));
        assert!(d(server("/e\u{301}", "x"), None, here(&[])).contains("normal form C"));
    }
}
