//! Reading the past: every version of a path, a path or the whole store as
//! of a version. Each reads the log from the start.

use super::log::Op;
use super::recovery::{self, Live};
use super::{Revision, Store, StoreError};
use crate::memory::{Memory, MemoryPath, Timestamp};

impl Store {
    /// Every version of `path`, oldest first, deletions included. Reads the
    /// whole log.
    pub fn history(&self, path: &MemoryPath) -> Result<Vec<Revision>, StoreError> {
        let mut revisions = Vec::new();
        recovery::scan(&self.dir, self.log_len, |commit| {
            if let Ok(i) = commit.ops.binary_search_by(|op| op.path().cmp(path)) {
                revisions.push(revision(commit.version, commit.ops.into_iter().nth(i)));
            }
            true
        })?;
        Ok(revisions)
    }

    /// The memory at `path` as it was at `version` (after that version's
    /// commit).
    pub fn get_at(&self, path: &MemoryPath, version: u64) -> Result<Option<Memory>, StoreError> {
        if version > self.version {
            return Err(StoreError::NoSuchVersion { asked: version, current: self.version });
        }
        if version == self.version {
            return Ok(self.get(path).cloned());
        }
        let mut found = None;
        recovery::scan(&self.dir, self.log_len, |commit| {
            if commit.version > version {
                return false;
            }
            if let Ok(i) = commit.ops.binary_search_by(|op| op.path().cmp(path)) {
                found = revision(commit.version, commit.ops.into_iter().nth(i)).memory;
            }
            true
        })?;
        Ok(found)
    }

    /// Every live memory as of `version`, in path order.
    pub fn memories_at(&self, version: u64) -> Result<Vec<Memory>, StoreError> {
        if version > self.version {
            return Err(StoreError::NoSuchVersion { asked: version, current: self.version });
        }
        let mut live = Live::new();
        recovery::scan(&self.dir, self.log_len, |commit| {
            if commit.version > version {
                return false;
            }
            recovery::apply(&mut live, commit.ops);
            true
        })?;
        Ok(live.into_values().collect())
    }
}

/// The revision an op makes.
fn revision(version: u64, op: Option<Op>) -> Revision {
    match op {
        Some(Op::Put(memory)) => Revision { version, at: memory.updated_at, memory: Some(memory) },
        Some(Op::Delete { at, .. }) => Revision { version, at, memory: None },
        None => Revision { version, at: Timestamp::default(), memory: None },
    }
}
