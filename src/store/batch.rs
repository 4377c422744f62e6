//! Batches: many changes committed as one version with one fsync.

use super::log::{Op, OpRef};
use super::{Store, StoreError, recovery};
use crate::memory::{ContentHash, Memory, MemoryPath, Timestamp, check_content};

/// The record `put` writes: keeps `created_at` and metadata of `old`.
pub(super) fn derive_put(old: Option<&Memory>, path: &MemoryPath, content: &str, at: Timestamp) -> Memory {
    let mut memory = Memory::new(path.clone(), content, at);
    if let Some(old) = old {
        memory.created_at = old.created_at;
        memory.metadata = old.metadata.clone();
    }
    memory
}

/// Changes gathered for one commit; see [`Store::batch`]. The last change
/// given for a path wins.
pub struct Batch<'s> {
    pub(super) store: &'s mut Store,
    /// `None` is a deletion (with its time).
    pub(super) pending: std::collections::BTreeMap<MemoryPath, Pending>,
}

impl std::fmt::Debug for Batch<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batch").field("store", &self.store.dir).field("changes", &self.pending.len()).finish()
    }
}

pub(super) enum Pending {
    Put(Memory),
    Delete(Timestamp),
}

impl Batch<'_> {
    /// Adds a [`Store::put`] of `content` at `path`, now.
    pub fn put(&mut self, path: &MemoryPath, content: &str) -> Result<(), StoreError> {
        self.put_at(path, content, Timestamp::now())
    }

    /// Adds a [`Store::put_at`].
    pub fn put_at(&mut self, path: &MemoryPath, content: &str, at: Timestamp) -> Result<(), StoreError> {
        check_content(path, content)?;
        let old = match self.pending.get(path) {
            Some(Pending::Put(m)) => Some(m),
            Some(Pending::Delete(_)) => None,
            None => self.store.get(path),
        };
        let memory = derive_put(old, path, content, at);
        self.pending.insert(path.clone(), Pending::Put(memory));
        Ok(())
    }

    /// Adds a [`Store::put_memory`].
    pub fn put_memory(&mut self, mut memory: Memory) -> Result<(), StoreError> {
        check_content(&memory.path, &memory.content)?;
        memory.hash = ContentHash::of(memory.content.as_bytes());
        self.pending.insert(memory.path.clone(), Pending::Put(memory));
        Ok(())
    }

    /// Adds a deletion of `path`, now.
    pub fn delete(&mut self, path: &MemoryPath) {
        self.delete_at(path, Timestamp::now());
    }

    /// Adds a deletion of `path` at `at`.
    pub fn delete_at(&mut self, path: &MemoryPath, at: Timestamp) {
        self.pending.insert(path.clone(), Pending::Delete(at));
    }

    /// Number of paths changed so far.
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    /// Whether nothing was added.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// Writes every change as one version with one fsync, all or nothing,
    /// and returns it. Deleting a path that does not exist is dropped; a
    /// batch with nothing left writes nothing and returns the current
    /// version.
    pub fn commit(self) -> Result<u64, StoreError> {
        let store = self.store;
        let lock = store.begin_write()?;
        let ops: Vec<Op> = self
            .pending
            .into_iter()
            .filter_map(|(path, change)| match change {
                Pending::Put(memory) => Some(Op::Put(memory)),
                Pending::Delete(at) => {
                    store.memories.contains_key(path.as_str()).then_some(Op::Delete { path, at })
                }
            })
            .collect();
        if ops.is_empty() {
            return Ok(store.version);
        }
        let refs: Vec<OpRef<'_>> = ops
            .iter()
            .map(|op| match op {
                Op::Put(m) => OpRef::Put(m),
                Op::Delete { path, at } => OpRef::Delete { path, at: *at },
            })
            .collect();
        let version = store.write_ops(&refs)?;
        drop(refs);
        recovery::apply(&mut store.memories, ops);
        store.version = version;
        store.end_write(lock)?;
        Ok(version)
    }
}
