//! `push`: sends what changed in a store since the last pull.
//!
//! The plan compares the store with the [`Link`]'s bases: a based path
//! whose content differs is *modified*; a based path that is gone while a
//! path the link does not know holds the same content is *renamed*; a
//! based path gone otherwise is *deleted*; any other unknown path is
//! *created*. Changes go out in that order — deletes, renames, modifies,
//! creates, each in path order — so paths are freed before they are
//! reused; one request per change.
//!
//! Every update carries the base's `content_sha256` as its precondition
//! and every delete it as `expected_content_sha256`. When the server says
//! the memory changed (409) or is gone (404 on an update), or that a path
//! is taken by a memory with other content, the change is a [`Conflict`]:
//! the server keeps its version, the store keeps its own, the base stays
//! (so the next push refuses again until a pull settles it) and the push
//! goes on with the other changes. Any other failure stops the push; what
//! was sent until then is recorded in the link first.

use std::collections::BTreeMap;

use super::api::{Hosted, HostedMemory, ListView, Update, is_path_conflict, is_precondition_failed};
use super::link::{Base, Link};
use super::{Conflict, HostedError};
use crate::memory::{MemoryPath, check_content, content_sha256};
use crate::progress::{Observer, Progress};
use crate::store::Store;

/// One change a push sends.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PushChange {
    /// A memory the server does not have.
    Create {
        /// Its path.
        path: String,
    },
    /// New content for a memory.
    Modify {
        /// Its hosted id.
        id: String,
        /// Its path.
        path: String,
        /// The `content_sha256` the server must still have.
        expected: String,
    },
    /// A memory moved (same content).
    Rename {
        /// Its hosted id.
        id: String,
        /// Where it was.
        from: String,
        /// Where it is now.
        to: String,
        /// The `content_sha256` the server must still have.
        expected: String,
    },
    /// A memory removed here.
    Delete {
        /// Its hosted id.
        id: String,
        /// Its path.
        path: String,
        /// The `content_sha256` the server must still have.
        expected: String,
    },
}

impl std::fmt::Display for PushChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PushChange::Create { path } => write!(f, "create  {path}"),
            PushChange::Modify { id, path, .. } => write!(f, "modify  {path} ({id})"),
            PushChange::Rename { id, from, to, .. } => write!(f, "rename  {from} -> {to} ({id})"),
            PushChange::Delete { id, path, .. } => write!(f, "delete  {path} ({id})"),
        }
    }
}

/// What a push would send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushPlan {
    /// The hosted store.
    pub memory_store_id: String,
    /// The changes, in the order they are sent.
    pub changes: Vec<PushChange>,
    /// Based memories with nothing to send.
    pub unchanged: usize,
}

impl PushPlan {
    /// Counts: (create, modify, rename, delete).
    pub fn counts(&self) -> (usize, usize, usize, usize) {
        let mut c = (0, 0, 0, 0);
        for change in &self.changes {
            match change {
                PushChange::Create { .. } => c.0 += 1,
                PushChange::Modify { .. } => c.1 += 1,
                PushChange::Rename { .. } => c.2 += 1,
                PushChange::Delete { .. } => c.3 += 1,
            }
        }
        c
    }
}

/// What a push did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PushReport {
    /// Changes the server took, as planned.
    pub sent: Vec<PushChange>,
    /// Changes found already done on the server (a deleted memory already
    /// gone, a created one already there with the same content).
    pub already: Vec<PushChange>,
    /// Changes the server refused because it changed meanwhile; nothing was
    /// overwritten, the store keeps its version.
    pub conflicts: Vec<Conflict>,
    /// Requests sent.
    pub requests: usize,
}

/// What [`push_new`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewStore {
    /// The new hosted store's id.
    pub memory_store_id: String,
    /// Memories created in it.
    pub created: usize,
    /// Whether the store is now linked to it (it was linked to none).
    pub linked: bool,
}

/// The changes of `store` since `link`'s bases (see the module doc).
/// Fails, before anything is sent, when a memory breaks a hosted rule.
pub fn plan_push(store: &Store, link: &Link) -> Result<PushPlan, HostedError> {
    let mut local: BTreeMap<&str, String> = BTreeMap::new();
    for m in store.iter() {
        check_content(&m.path, &m.content)
            .map_err(|e| HostedError::Invalid { path: m.path.to_string(), message: e.to_string() })?;
        local.insert(m.path.as_str(), content_sha256(&m.content));
    }
    let based = link.id_at();
    // Unknown paths by content, for renames (path order within a content).
    let mut unknown: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (path, sha) in &local {
        if !based.contains_key(path) {
            unknown.entry(sha.as_str()).or_default().push(path);
        }
    }
    for paths in unknown.values_mut() {
        paths.reverse();
    }
    let (mut deletes, mut renames, mut modifies) = (Vec::new(), Vec::new(), Vec::new());
    let mut unchanged = 0;
    for (path, id) in &based {
        let base = &link.memories[*id];
        let (id, expected) = (id.to_string(), base.content_sha256.clone());
        match local.get(path) {
            Some(sha) if *sha == base.content_sha256 => unchanged += 1,
            Some(_) => modifies.push(PushChange::Modify { id, path: path.to_string(), expected }),
            None => match unknown.get_mut(base.content_sha256.as_str()).and_then(Vec::pop) {
                Some(to) => renames.push(PushChange::Rename {
                    id,
                    from: path.to_string(),
                    to: to.to_owned(),
                    expected,
                }),
                None => deletes.push(PushChange::Delete { id, path: path.to_string(), expected }),
            },
        }
    }
    let mut creates: Vec<&str> = unknown.into_values().flatten().collect();
    creates.sort();
    renames.sort_by(|a, b| change_path(a).cmp(change_path(b)));
    let mut changes = deletes;
    changes.extend(renames);
    changes.extend(modifies);
    changes.extend(creates.into_iter().map(|p| PushChange::Create { path: p.to_owned() }));
    Ok(PushPlan { memory_store_id: link.memory_store_id.clone(), changes, unchanged })
}

fn change_path(c: &PushChange) -> &str {
    match c {
        PushChange::Create { path } | PushChange::Modify { path, .. } | PushChange::Delete { path, .. } => {
            path
        }
        PushChange::Rename { to, .. } => to,
    }
}

/// Sends `plan` (made from `store` and `link`), updating `link` as the
/// server answers. The caller saves the link afterwards, also on error.
pub fn push(
    store: &Store,
    hosted: &Hosted,
    link: &mut Link,
    plan: &PushPlan,
    observer: &dyn Observer,
) -> Result<PushReport, HostedError> {
    let mut run = Run { store, hosted, link, report: PushReport::default(), on_server: None };
    let total = plan.changes.len();
    let mut retry: Vec<&PushChange> = Vec::new();
    let mut renamed = false;
    for (n, change) in plan.changes.iter().enumerate() {
        observer.progress(Progress { stage: "push", done: n as u64, total: total as u64 });
        let outcome = run.send(change).map_err(|e| partial(&run.report, total, e))?;
        match outcome {
            // A rename onto a path another rename frees: once more at the end.
            PushOutcome::PathTaken if matches!(change, PushChange::Rename { .. }) => retry.push(change),
            PushOutcome::PathTaken => run.conflict(change, "its path was taken on the server meanwhile"),
            PushOutcome::Sent => {
                renamed |= matches!(change, PushChange::Rename { .. });
            }
        }
    }
    for change in retry {
        let outcome = if renamed {
            run.send(change).map_err(|e| partial(&run.report, total, e))?
        } else {
            PushOutcome::PathTaken
        };
        if outcome == PushOutcome::PathTaken {
            run.conflict(change, "its new path is taken on the server");
        }
    }
    observer.progress(Progress { stage: "push", done: total as u64, total: total as u64 });
    let mut report = run.report;
    report.conflicts.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(report)
}

fn partial(report: &PushReport, total: usize, e: HostedError) -> HostedError {
    let done = report.sent.len() + report.already.len() + report.conflicts.len();
    HostedError::Partial {
        done: format!("push stopped after {done} of {total} changes"),
        source: Box::new(e),
    }
}

#[derive(Debug, PartialEq, Eq)]
enum PushOutcome {
    Sent,
    PathTaken,
}

struct Run<'a> {
    store: &'a Store,
    hosted: &'a Hosted,
    link: &'a mut Link,
    report: PushReport,
    /// The server's memories by path, listed once at the first path conflict.
    on_server: Option<BTreeMap<String, HostedMemory>>,
}

impl Run<'_> {
    fn content(&self, path: &str) -> Result<&str, HostedError> {
        let missing = || HostedError::Invalid {
            path: path.to_owned(),
            message: "left the store during the push".into(),
        };
        let path = MemoryPath::new(path).map_err(|_| missing())?;
        self.store.get(&path).map(|m| m.content.as_str()).ok_or_else(missing)
    }

    fn record(&mut self, m: &HostedMemory) {
        let base = Base { path: m.path.clone(), content_sha256: m.content_sha256.clone() };
        self.link.memories.insert(m.id.clone(), base);
    }

    fn conflict(&mut self, change: &PushChange, reason: &str) {
        let (path, id) = match change {
            PushChange::Create { path } => (path.clone(), None),
            PushChange::Modify { id, path, .. } | PushChange::Delete { id, path, .. } => {
                (path.clone(), Some(id.clone()))
            }
            PushChange::Rename { id, from, to, .. } => (format!("{from} -> {to}"), Some(id.clone())),
        };
        let kept = match change {
            PushChange::Delete { .. } => "not deleted; it stays deleted here",
            _ => "the server's version was kept, and so was this store's",
        };
        self.report.conflicts.push(Conflict { path, id, reason: format!("{reason}: {kept}") });
    }

    fn send(&mut self, change: &PushChange) -> Result<PushOutcome, HostedError> {
        let store_id = self.link.memory_store_id.clone();
        self.report.requests += 1;
        let result = match change {
            PushChange::Create { path } => {
                self.hosted.create_memory(&store_id, path, self.content(path)?).map(Some)
            }
            PushChange::Modify { id, path, expected } => {
                let update = Update { content: Some(self.content(path)?), path: None, expected };
                self.hosted.update_memory(&store_id, id, &update).map(Some)
            }
            PushChange::Rename { id, to, expected, .. } => {
                let update = Update { content: None, path: Some(to), expected };
                self.hosted.update_memory(&store_id, id, &update).map(Some)
            }
            PushChange::Delete { id, expected, .. } => {
                self.hosted.delete_memory(&store_id, id, expected).map(|()| None)
            }
        };
        let error = match result {
            Ok(answer) => {
                match answer {
                    Some(m) => self.record(&m),
                    None => {
                        if let PushChange::Delete { id, .. } = change {
                            self.link.memories.remove(id);
                        }
                    }
                }
                self.report.sent.push(change.clone());
                return Ok(PushOutcome::Sent);
            }
            Err(HostedError::Api { what, source }) => (what, source),
            Err(other) => return Err(other),
        };
        let (what, source) = error;
        if is_precondition_failed(&source) {
            self.conflict(change, "changed on the server since the last pull");
            return Ok(PushOutcome::Sent);
        }
        if source.status() == Some(404) {
            if let PushChange::Delete { id, .. } = change {
                self.link.memories.remove(id);
                self.report.already.push(change.clone());
            } else {
                self.conflict(change, "deleted on the server since the last pull");
            }
            return Ok(PushOutcome::Sent);
        }
        if !is_path_conflict(&source) {
            return Err(HostedError::Api { what, source });
        }
        let PushChange::Create { path } = change else { return Ok(PushOutcome::PathTaken) };
        // Created by an earlier push whose answer was lost, or by an agent?
        let sha = content_sha256(self.content(path)?);
        let found = self.server_memory(path)?;
        match found {
            Some(m) if m.content_sha256 == sha => {
                self.record(&m);
                self.report.already.push(change.clone());
            }
            _ => self.conflict(change, "created on the server meanwhile with other content"),
        }
        Ok(PushOutcome::Sent)
    }

    fn server_memory(&mut self, path: &str) -> Result<Option<HostedMemory>, HostedError> {
        if self.on_server.is_none() {
            let listed =
                self.hosted.list_memories(&self.link.memory_store_id, ListView::Basic, &mut |_| {})?;
            self.report.requests += listed.len().div_ceil(super::api::BASIC_PAGE).max(1);
            self.on_server = Some(listed.into_iter().map(|m| (m.path.clone(), m)).collect());
        }
        Ok(self.on_server.as_ref().and_then(|m| m.get(path)).cloned())
    }
}

/// The link of the store in `store_dir`, checked to be to `memory_store_id`.
pub fn linked(store_dir: &std::path::Path, memory_store_id: &str) -> Result<Link, HostedError> {
    match Link::load(store_dir)? {
        None => Err(HostedError::NotLinked { store: store_dir.to_owned() }),
        Some(link) if link.memory_store_id != memory_store_id => Err(HostedError::LinkedElsewhere {
            store: store_dir.to_owned(),
            linked: link.memory_store_id,
            asked: memory_store_id.to_owned(),
        }),
        Some(link) => Ok(link),
    }
}

/// Plans and sends the changes of the store in `store_dir` (held under its
/// write lock meanwhile) to `memory_store_id`, and saves the link — also
/// when the push stops part-way.
pub fn push_store(
    store_dir: &std::path::Path,
    hosted: &Hosted,
    memory_store_id: &str,
    observer: &dyn Observer,
) -> Result<PushReport, HostedError> {
    let store = Store::open(store_dir)?;
    let mut link = linked(store_dir, memory_store_id)?;
    let plan = plan_push(&store, &link)?;
    if plan.changes.is_empty() {
        return Ok(PushReport::default());
    }
    let result = push(&store, hosted, &mut link, &plan, observer);
    let saved = link.save(store_dir);
    let report = result?;
    saved?;
    Ok(report)
}

/// Creates a hosted store named `name` holding every memory of `store`
/// (in path order) and prints nothing; links `store` to it when `store`
/// had no link. A failure after the store was created names it.
pub fn push_new(
    store: &Store,
    hosted: &Hosted,
    name: &str,
    observer: &dyn Observer,
) -> Result<NewStore, HostedError> {
    if name.is_empty() || name.chars().count() > 255 || name.chars().any(char::is_control) {
        return Err(HostedError::Invalid {
            path: format!("{name:?}"),
            message: "a memory store name has 1-255 characters, none a control character".into(),
        });
    }
    for m in store.iter() {
        check_content(&m.path, &m.content)
            .map_err(|e| HostedError::Invalid { path: m.path.to_string(), message: e.to_string() })?;
    }
    let dir = store.dir();
    let existing = Link::load(dir)?;
    let id = hosted.create_store(name, "Created by dreamwork from a store on the device.")?;
    let mut link = Link::new(id.clone());
    let total = store.len() as u64;
    for (n, m) in store.iter().enumerate() {
        observer.progress(Progress { stage: "push", done: n as u64, total });
        match hosted.create_memory(&id, m.path.as_str(), &m.content) {
            Ok(created) => {
                link.memories
                    .insert(created.id, Base { path: created.path, content_sha256: created.content_sha256 });
            }
            Err(e) => {
                let done = format!("memory store {id} was created, but only {n} of {total} memories in it");
                return Err(HostedError::Partial { done, source: Box::new(e) });
            }
        }
    }
    observer.progress(Progress { stage: "push", done: total, total });
    let linked = existing.is_none();
    if linked {
        link.save(dir)?;
    }
    Ok(NewStore { memory_store_id: id, created: link.memories.len(), linked })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(memories: &[(&str, &str)]) -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::create(dir.path().join("s")).unwrap();
        for (p, c) in memories {
            store.put(&MemoryPath::new(p).unwrap(), c).unwrap();
        }
        (dir, store)
    }

    fn link(bases: &[(&str, &str, &str)]) -> Link {
        let mut link = Link::new("memstore_1");
        for (id, path, content) in bases {
            link.memories.insert(
                id.to_string(),
                Base { path: path.to_string(), content_sha256: content_sha256(content) },
            );
        }
        link
    }

    #[test]
    fn plans_each_kind_of_change_in_order() {
        let (_d, store) =
            store(&[("/keep.md", "k"), ("/edit.md", "new"), ("/moved/to.md", "m"), ("/fresh.md", "f")]);
        let link = link(&[
            ("mem_1", "/keep.md", "k"),
            ("mem_2", "/edit.md", "old"),
            ("mem_3", "/move-from.md", "m"),
            ("mem_4", "/gone.md", "g"),
        ]);
        let plan = plan_push(&store, &link).unwrap();
        let lines: Vec<String> = plan.changes.iter().map(ToString::to_string).collect();
        assert_eq!(
            lines,
            [
                "delete  /gone.md (mem_4)",
                "rename  /move-from.md -> /moved/to.md (mem_3)",
                "modify  /edit.md (mem_2)",
                "create  /fresh.md",
            ]
        );
        assert_eq!(plan.unchanged, 1);
        assert_eq!(plan.counts(), (1, 1, 1, 1));
        let PushChange::Delete { expected, .. } = &plan.changes[0] else { panic!() };
        assert_eq!(*expected, content_sha256("g"));
    }

    #[test]
    fn same_content_pairs_renames_by_path_order() {
        let (_d, store) = store(&[("/x/1.md", "same"), ("/x/2.md", "same")]);
        let link = link(&[("mem_1", "/a.md", "same")]);
        let lines: Vec<String> =
            plan_push(&store, &link).unwrap().changes.iter().map(ToString::to_string).collect();
        assert_eq!(lines, ["rename  /a.md -> /x/1.md (mem_1)", "create  /x/2.md"]);
    }
}
