//! The memory store: a directory holding an append-only, checksummed record
//! log and a snapshot of the live state, with one writer and many readers
//! across processes.
//!
//! # Promises
//!
//! - A write that returned `Ok` under [`Durability::Immediate`] (the
//!   default) has been fsynced and survives a crash or power loss.
//! - A crash at any byte of a write loses at most that write: reopening for
//!   writing finds the torn tail and truncates it; a read-only open ignores
//!   it and writes nothing.
//! - Corruption in the middle of a file, a foreign file, wrong magic bytes or
//!   an unknown format version are reported as errors naming the file and
//!   the offset; nothing panics and nothing is loaded half-way.
//! - Every commit is a new, immutable version; [`Store::history`] and
//!   [`Store::get_at`] read old versions back from the log.
//! - One writer at a time (an exclusive advisory lock on `store.lock`);
//!   readers share the lock and exclude writers while they are open, so a
//!   reader sees bytes that do not change under it.
//!
//! # Concurrency: who holds the lock, and for how long
//!
//! - No handle holds a lock for its lifetime. A [`Store`] takes the lock
//!   for its open (shared when read-only; exclusive when writable, to repair
//!   a torn tail) and then for each write: [`Store::put`], [`Store::delete`],
//!   a [`Batch::commit`] and [`Store::compact`] each take the exclusive lock,
//!   catch up with the commits other handles and processes made since the
//!   handle's last operation (replaying only the appended ones, or
//!   reloading if the log was replaced), commit, and let go. Two writers
//!   therefore exclude each other per write and neither loses the other's
//!   commits; a dream in the same process can read the store while a
//!   writable handle is alive. A handle's reads show the store as of its
//!   open or its last write ([`Store::refresh`] catches up). A batch's
//!   puts keep the creation time and metadata the handle saw when they
//!   were added.
//! - A [`SharedStore`] is for a process that keeps a store for long (an
//!   agent runtime, `dreamwork mcp`, `dreamwork memory-tool`):
//!   [`SharedStore::read`] takes the shared lock and catches up before
//!   reading, and [`SharedStore::write`] holds the exclusive lock for the
//!   whole closure (several commits with no other writer in between). So
//!   while a server runs, `dreamwork put` from another process gets the
//!   lock (waiting at most [`LOCK_PATIENCE`] for an operation in flight),
//!   the server's next read sees that write, and a dream can read the store.
//! - Every lock attempt waits up to [`LOCK_PATIENCE`] for a holder, then
//!   fails with [`StoreError::Locked`].
//! - Readers never see a torn write: a commit is appended under the
//!   exclusive lock, so a reader (under the shared lock) sees whole commits
//!   only; and a commit is framed and checksummed, so even a reader of a
//!   store copied without its lock file ignores an unfinished tail.
//! - Other parts' files have their own rules: the vector cache
//!   (`vectors/`) is append-only with a lock per file, and its readers skip
//!   an unfinished tail, so search may add vectors to it without the
//!   store's write lock.
//!
//! # On-disk format
//!
//! The store owns the names below, at the top of its directory, and ignores
//! every other file and subdirectory (other parts keep `sessions/`,
//! `vectors/`, `dream/` there). `memories.log.tmp` and `memories.snap.tmp`
//! exist only while `create` or a snapshot is being written.
//!
//! - `store.lock` — empty; holds the advisory lock.
//! - `memories.log` — the record log. It starts with a 16-byte header: the
//!   magic bytes `DRMWLOG\0`, the format version (`u32`, little-endian,
//!   currently 1) and the CRC-32 of those 12 bytes. Then come frames. A
//!   frame is a 12-byte header — payload length (`u32` LE, at most
//!   256 MiB), CRC-32 of the payload, CRC-32 of these first 8 header bytes —
//!   followed by the payload: a postcard-encoded `{ version: u64, last:
//!   bool, ops: [Op] }`. An `Op` is `Put(Memory)` (the whole record: path,
//!   content, blake3 hash, timestamps, metadata, sources) or `Delete { path,
//!   at }`. A commit (one version) is one or more consecutive frames with the
//!   same version, the final one marked `last`; versions count up from 1
//!   without gaps, and a commit's ops are in strict path order (one op per
//!   path). The log is never rewritten: it is the history.
//! - `memories.log.damaged`, `memories.snap.damaged` — only after
//!   [`Store::repair`]: what it set aside.
//! - `memories.snap` — optional snapshot of the live state: a 28-byte header
//!   (magic `DRMWSNAP`, format version `u32` = 1, body length `u64`, body
//!   CRC-32, header CRC-32) and a postcard body `{ version, log_offset,
//!   memories: [Memory] }` in strict path order. `log_offset` is the length
//!   of the log the snapshot covers, always the end of a commit. It is
//!   replaced atomically (`memories.snap.tmp`, fsync, rename, directory
//!   fsync), and only after the log it covers has been fsynced.
//!
//! Opening reads the snapshot and replays the commits after `log_offset`,
//! so reopening costs the live state plus the log written since the last
//! snapshot. A writable open takes a snapshot when that tail exceeds the
//! configured size ([`StoreOptions::snapshot_after_log_bytes`]).
//!
//! # Torn tails and corruption
//!
//! Reading stops at the first frame that is not a complete, checksummed
//! part of a commit. When those bytes are at the end of the file (a frame
//! header cut short, a frame longer than what remains, a last frame whose
//! checksum fails, a commit without its `last` frame, or zeros up to the
//! end) they are what an interrupted append leaves: a *torn tail*, dropped
//! by the next writable open. Anywhere else a failed check is corruption
//! and an error. A bit flip inside the payload of the very last frame
//! cannot be told from a torn write, so it is treated as one; `verify`
//! reports both. [`Store::repair`] sets real damage aside (nothing is
//! deleted) so that a damaged store opens again.
//!
//! # Memory use
//!
//! The live memories are held in memory (in path order, so `get` and `list`
//! never touch the disk); history is read from the log on demand.
//!
//! # Limits
//!
//! Paths and contents follow [`MemoryPath`] and [`Memory`]: content is at most
//! [`MAX_CONTENT_BYTES`](crate::MAX_CONTENT_BYTES) (100 kB); one
//! encoded record at most 256 MiB (metadata included).

mod batch;
mod error;
mod export;
mod follow;
mod history;
mod import;
pub(crate) mod lock;
pub(crate) mod log;
mod options;
mod parts;
mod recovery;
mod shared;
pub(crate) mod snapshot;

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

pub use batch::Batch;
pub use error::StoreError;
pub use export::ExportFormat;
pub use import::{ImportOptions, ImportReport, SkippedInput, import_jsonl_reader};
pub use lock::{LOCK_FILE, LOCK_PATIENCE};
pub use options::{Durability, StoreOptions};
pub use parts::{HOSTED_LINK_FILE, SESSIONS_DIR, VECTORS_DIR};
pub use recovery::{DAMAGED_LOG_FILE, DAMAGED_SNAPSHOT_FILE, RepairReport, VerifyReport};
pub use shared::SharedStore;

use crate::memory::{ContentHash, Memory, MemoryPath, Timestamp, check_content};
use batch::derive_put;
use lock::Lock;
use log::{Op, OpRef, TornTail};
use recovery::Live;

/// Name of the record log at the top of a store directory.
pub const LOG_FILE: &str = "memories.log";
/// Name of the snapshot at the top of a store directory.
pub const SNAPSHOT_FILE: &str = "memories.snap";

/// Default size of log written since the last snapshot beyond which a
/// writable open takes a new snapshot.
pub const DEFAULT_SNAPSHOT_AFTER_LOG_BYTES: u64 = 16 << 20;

/// The writing half of a store opened for writing.
#[derive(Debug)]
struct Writer {
    file: File,
    /// A write failed and could not be rolled back.
    poisoned: bool,
    /// Commits were written but not yet fsynced (batched durability).
    unsynced: bool,
    /// Reused encoding buffer.
    scratch: Vec<u8>,
}

/// A store directory opened for writing or for reading. The live memories
/// are held in memory, in path order; history is read from the log on
/// demand. No lock is held between operations: each write takes the
/// exclusive lock for itself (see the concurrency model in [`crate::store`]).
pub struct Store {
    dir: PathBuf,
    memories: Live,
    version: u64,
    /// End of the last complete commit in the log.
    log_len: u64,
    snapshot_offset: u64,
    snapshot_bytes: u64,
    /// A torn tail ignored by a read-only open.
    torn_tail: Option<TornTail>,
    writer: Option<Writer>,
    options: StoreOptions,
    /// The log as it was when the handle last matched it; `None` forces a
    /// reload (after a write that failed half-way).
    seen: Option<follow::LogStamp>,
    /// A [`SharedStore::write`] holds the exclusive lock around this
    /// handle's writes, which must then not take it again.
    holding: bool,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The memories themselves are left out: a store may hold 100k of them.
        f.debug_struct("Store")
            .field("dir", &self.dir)
            .field("version", &self.version)
            .field("memories", &self.memories.len())
            .field("read_only", &self.writer.is_none())
            .finish_non_exhaustive()
    }
}

/// One version of one path, as [`Store::history`] returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revision {
    /// The version that made the change.
    pub version: u64,
    /// When: the memory's `updated_at`, or the deletion time.
    pub at: Timestamp,
    /// The memory as written, or `None` for a deletion.
    pub memory: Option<Memory>,
}

/// Counts and sizes, as `dreamwork stats` prints them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stats {
    /// Live memories.
    pub memories: u64,
    /// Total bytes of live content.
    pub content_bytes: u64,
    /// Last committed version.
    pub version: u64,
    /// Bytes of the log holding complete commits.
    pub log_bytes: u64,
    /// Bytes of the snapshot file (0 if none).
    pub snapshot_bytes: u64,
    /// Log bytes written since the last snapshot (replayed on open).
    pub log_bytes_since_snapshot: u64,
    /// See [`Store::store_hash`].
    pub store_hash: ContentHash,
}

impl Store {
    /// Creates a new store in `dir` with default options; see
    /// [`StoreOptions::create`].
    pub fn create(dir: impl AsRef<Path>) -> Result<Store, StoreError> {
        StoreOptions::new().create(dir)
    }

    /// Opens the store in `dir` for writing with default options; a second
    /// writer gets [`StoreError::Locked`] ("store is locked by another
    /// process").
    pub fn open(dir: impl AsRef<Path>) -> Result<Store, StoreError> {
        StoreOptions::new().open(dir)
    }

    /// Opens the store in `dir` for reading; never writes a byte (a torn
    /// tail is ignored, not repaired).
    pub fn open_read_only(dir: impl AsRef<Path>) -> Result<Store, StoreError> {
        StoreOptions::new().open_read_only(dir)
    }

    /// The store's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether the store was opened read-only.
    pub fn is_read_only(&self) -> bool {
        self.writer.is_none()
    }

    /// The torn tail a read-only open found and ignored, if any.
    pub fn torn_tail(&self) -> Option<&TornTail> {
        self.torn_tail.as_ref()
    }

    /// The live memory at `path`.
    pub fn get(&self, path: &MemoryPath) -> Option<&Memory> {
        self.memories.get(path.as_str())
    }

    /// Every live memory, in path order.
    pub fn iter(&self) -> impl Iterator<Item = &Memory> {
        self.memories.values()
    }

    /// Live memories whose path starts with `prefix` (a plain string prefix),
    /// in path order.
    pub fn list<'s>(&'s self, prefix: &str) -> impl Iterator<Item = &'s Memory> + use<'s> {
        let owned = prefix.to_owned();
        self.memories
            .range::<str, _>((std::ops::Bound::Included(prefix), std::ops::Bound::Unbounded))
            .take_while(move |(path, _)| path.starts_with(owned.as_str()))
            .map(|(_, m)| m)
    }

    /// Number of live memories.
    pub fn len(&self) -> usize {
        self.memories.len()
    }

    /// Whether there is no live memory.
    pub fn is_empty(&self) -> bool {
        self.memories.is_empty()
    }

    /// The last committed version (0 for a new store).
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Writes `content` at `path` now. An existing memory keeps its
    /// `created_at` and metadata; its sources are cleared (hand-written
    /// content has no provenance). Returns the new version.
    pub fn put(&mut self, path: &MemoryPath, content: &str) -> Result<u64, StoreError> {
        self.put_at(path, content, Timestamp::now())
    }

    /// [`put`](Self::put) with an explicit time.
    pub fn put_at(&mut self, path: &MemoryPath, content: &str, at: Timestamp) -> Result<u64, StoreError> {
        check_content(path, content)?;
        let lock = self.begin_write()?;
        let memory = derive_put(self.get(path), path, content, at);
        let version = self.commit_put(memory)?;
        self.end_write(lock)?;
        Ok(version)
    }

    /// Writes a full record as given (timestamps, metadata, sources); its
    /// content hash is recomputed. Returns the new version.
    pub fn put_memory(&mut self, mut memory: Memory) -> Result<u64, StoreError> {
        check_content(&memory.path, &memory.content)?;
        memory.hash = ContentHash::of(memory.content.as_bytes());
        let lock = self.begin_write()?;
        let version = self.commit_put(memory)?;
        self.end_write(lock)?;
        Ok(version)
    }

    fn commit_put(&mut self, memory: Memory) -> Result<u64, StoreError> {
        let version = self.write_ops(&[OpRef::Put(&memory)])?;
        self.memories.insert(memory.path.as_str().to_owned(), memory);
        self.version = version;
        Ok(version)
    }

    /// Deletes the memory at `path` now; returns the new version, or `None`
    /// (and writes nothing) if there was no such memory.
    pub fn delete(&mut self, path: &MemoryPath) -> Result<Option<u64>, StoreError> {
        self.delete_at(path, Timestamp::now())
    }

    /// [`delete`](Self::delete) with an explicit time.
    pub fn delete_at(&mut self, path: &MemoryPath, at: Timestamp) -> Result<Option<u64>, StoreError> {
        let lock = self.begin_write()?;
        if self.get(path).is_none() {
            return Ok(None);
        }
        let op = Op::Delete { path: path.clone(), at };
        let version = self.commit_ops(&[OpRef::Delete { path, at }], vec![op])?;
        self.end_write(lock)?;
        Ok(Some(version))
    }

    /// Starts a batch: many changes committed as one version with one fsync,
    /// all or nothing. A batch dropped without [`Batch::commit`] is discarded.
    pub fn batch(&mut self) -> Batch<'_> {
        Batch { store: self, pending: std::collections::BTreeMap::new() }
    }

    /// Writes a snapshot of the live state (temporary file, fsync, rename,
    /// directory fsync) so the next open replays nothing. The log, and so
    /// the history, is kept.
    pub fn compact(&mut self) -> Result<(), StoreError> {
        let lock = self.begin_write()?;
        self.sync()?;
        let bytes = snapshot::encode(self.version, self.log_len, self.memories.values());
        snapshot::write_atomically(&self.dir, SNAPSHOT_FILE, &bytes)?;
        self.snapshot_offset = self.log_len;
        self.snapshot_bytes = bytes.len() as u64;
        self.end_write(lock)
    }

    /// Catches up with the commits other handles and processes made since
    /// this handle's last operation (under the shared lock, for the call
    /// only). A handle's reads otherwise show the store as of its open or
    /// its last write.
    pub fn refresh(&mut self) -> Result<(), StoreError> {
        if !self.holding {
            let _lock = Lock::shared(&self.dir)?;
            self.catch_up()?;
        }
        Ok(())
    }

    /// Fsyncs commits written under [`Durability::Batched`]; a no-op when
    /// everything is already durable.
    pub fn sync(&mut self) -> Result<(), StoreError> {
        let log_path = self.dir.join(LOG_FILE);
        let writer = self.writable()?;
        if writer.unsynced {
            if let Err(e) = writer.file.sync_data() {
                writer.poisoned = true;
                return Err(StoreError::Io { path: log_path, source: e });
            }
            writer.unsynced = false;
        }
        Ok(())
    }

    /// The store hash of the live memories: a digest of their (path,
    /// content) pairs, independent of history, timestamps, metadata and
    /// order — blake3 over the tag `dreamwork store hash v1` and then, per
    /// memory in path order, the path's length (`u64` LE), the path and the
    /// content's blake3 hash. A dream report's hashes are the same digest.
    pub fn store_hash(&self) -> ContentHash {
        crate::memory::store_hash(self.memories.values())
    }

    /// A blake3 digest of the bytes of the store's own files (log and
    /// snapshot, torn tail included), to prove that a reader left them as
    /// they were: take it before and after and compare. Other files and
    /// subdirectories are not included.
    pub fn disk_digest(&self) -> Result<ContentHash, StoreError> {
        let mut hasher = blake3::Hasher::new();
        for name in [LOG_FILE, SNAPSHOT_FILE] {
            let path = self.dir.join(name);
            hasher.update(name.as_bytes());
            match File::open(&path) {
                Ok(mut file) => {
                    hasher.update(b"\x01");
                    std::io::copy(&mut file, &mut hasher).map_err(StoreError::io(&path))?;
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    hasher.update(b"\x00");
                }
                Err(e) => return Err(StoreError::Io { path, source: e }),
            }
        }
        Ok(ContentHash(*hasher.finalize().as_bytes()))
    }

    /// Counts and sizes.
    pub fn stats(&self) -> Stats {
        Stats {
            memories: self.memories.len() as u64,
            content_bytes: self.memories.values().map(|m| m.content.len() as u64).sum(),
            version: self.version,
            log_bytes: self.log_len,
            snapshot_bytes: self.snapshot_bytes,
            log_bytes_since_snapshot: self.log_len - self.snapshot_offset.min(self.log_len),
            store_hash: self.store_hash(),
        }
    }

    /// Full integrity check of the store in `dir`: every checksum, every
    /// record, the snapshot against the log. Takes a shared lock and never
    /// writes. Damage is listed in the report; errors are for a missing,
    /// locked or unreadable store.
    pub fn verify(dir: impl AsRef<Path>) -> Result<VerifyReport, StoreError> {
        let dir = dir.as_ref();
        if !dir.join(LOG_FILE).exists() {
            return Err(StoreError::NotFound(dir.to_owned()));
        }
        let _lock = Lock::shared(dir)?;
        recovery::verify(dir)
    }

    /// Sets damage aside so that a store that no longer opens opens again,
    /// deleting nothing: an unreadable snapshot, or one that does not match
    /// the log, is renamed to [`DAMAGED_SNAPSHOT_FILE`]; the log bytes after
    /// the last good commit are copied to [`DAMAGED_LOG_FILE`] and cut off.
    /// A log with a foreign header or an unknown format version is refused.
    /// Takes the writer lock.
    pub fn repair(dir: impl AsRef<Path>) -> Result<RepairReport, StoreError> {
        let dir = dir.as_ref();
        if !dir.join(LOG_FILE).exists() {
            return Err(StoreError::NotFound(dir.to_owned()));
        }
        let _lock = Lock::exclusive(dir)?;
        recovery::repair(dir)
    }

    /// Starts one write: takes the exclusive lock (unless a
    /// [`SharedStore::write`] holds it already), catches up with the commits
    /// made by others since this handle's last operation, and points the
    /// writer at the log as it is now (cutting off a torn tail another
    /// writer left). The lock is held until the returned guard drops.
    fn begin_write(&mut self) -> Result<Option<Lock>, StoreError> {
        self.writable()?;
        if self.holding {
            return Ok(None);
        }
        let lock = Lock::exclusive(&self.dir)?;
        let log_path = self.dir.join(LOG_FILE);
        if self.catch_up()? {
            // Another store was put in place: write to its log from now on
            // (what this handle wrote to the old one is made durable first).
            self.sync()?;
            let file = OpenOptions::new()
                .read(true)
                .append(true)
                .open(&log_path)
                .map_err(StoreError::io(&log_path))?;
            self.writable()?.file = file;
        }
        if self.torn_tail.take().is_some() {
            // As a writable open does: the unfinished write is dropped.
            let log_len = self.log_len;
            let writer = self.writable()?;
            writer.file.set_len(log_len).map_err(StoreError::io(&log_path))?;
            writer.file.sync_all().map_err(StoreError::io(&log_path))?;
        }
        Ok(Some(lock))
    }

    /// Ends a write begun by [`begin_write`](Self::begin_write) that
    /// succeeded: notes the log as it is now, so the next write does not
    /// read back this handle's own commits, and releases the lock.
    fn end_write(&mut self, lock: Option<Lock>) -> Result<(), StoreError> {
        if lock.is_some() {
            self.seen = Some(follow::LogStamp::of(&self.dir)?);
        }
        Ok(())
    }

    fn writable(&mut self) -> Result<&mut Writer, StoreError> {
        match &mut self.writer {
            None => Err(StoreError::ReadOnly(self.dir.clone())),
            Some(w) if w.poisoned => Err(StoreError::Poisoned(self.dir.clone())),
            Some(w) => Ok(w),
        }
    }

    /// Writes and applies one commit: `refs` are encoded, `ops` applied.
    fn commit_ops(&mut self, refs: &[OpRef<'_>], ops: Vec<Op>) -> Result<u64, StoreError> {
        let version = self.write_ops(refs)?;
        recovery::apply(&mut self.memories, ops);
        self.version = version;
        Ok(version)
    }

    /// Appends the frames of the next version to the log (fsyncing them
    /// under immediate durability); the caller applies the ops.
    fn write_ops(&mut self, refs: &[OpRef<'_>]) -> Result<u64, StoreError> {
        let version = self.version + 1;
        let durability = self.options.durability;
        let log_len = self.log_len;
        let log_path = self.dir.join(LOG_FILE);
        let writer = self.writable()?;
        let mut buf = std::mem::take(&mut writer.scratch);
        let file = &mut writer.file;
        let written = log::encode_frames(version, refs, &mut buf, |frame| {
            file.write_all(frame).map_err(StoreError::io(&log_path))
        });
        // Keep the buffer only while it is of a reasonable size.
        if buf.capacity() <= 1 << 20 {
            writer.scratch = buf;
        }
        let result = written.and_then(|len| match durability {
            Durability::Immediate => writer.file.sync_data().map(|()| len).map_err(StoreError::io(&log_path)),
            Durability::Batched => Ok(len),
        });
        match result {
            Ok(len) => {
                writer.unsynced |= durability == Durability::Batched;
                self.log_len += len;
                Ok(version)
            }
            Err(e) => {
                // Roll the log back to the last commit (frames of this one
                // may have been written); if that fails too, refuse further
                // writes until a reopen drops the unfinished commit.
                if writer.file.set_len(log_len).and_then(|()| writer.file.sync_data()).is_err() {
                    writer.poisoned = true;
                }
                Err(e)
            }
        }
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        if let Some(writer) = &mut self.writer
            && writer.unsynced
            && !writer.poisoned
        {
            // Best effort: a failure here cannot be reported, and batched
            // durability documents that unsynced commits may be lost.
            let _ = writer.file.sync_data();
        }
    }
}

#[cfg(test)]
mod tests;
