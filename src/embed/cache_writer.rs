//! Appending to a vector cache file, alone or shared with other writers.

use std::collections::BTreeSet;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::cache::{CacheError, VectorCache};
use super::cache_format::*;
use crate::memory::ContentHash;
use crate::store::LOCK_PATIENCE;
use crate::store::lock::patiently;

/// Appends vectors of one model to a cache directory (which may differ from
/// the directory read from).
///
/// Two ways to share the file with other writers:
/// - [`VectorCacheWriter::open`] holds an exclusive lock on the file for the
///   writer's lifetime: a second writer waits briefly, then is refused (a
///   store's cache); [`VectorCacheWriter::try_open`] is refused at once.
/// - [`VectorCacheWriter::open_shared`] takes the lock only around each
///   append (the user cache, written by every dream that runs): under the
///   lock it first reads the frames other writers appended since its last
///   look (so it does not write them again), cuts off a torn tail a crashed
///   writer left, then appends. Frames of two writers never interleave, so
///   concurrent dreams leave a valid file. Do not mix the two ways on one file.
#[derive(Debug)]
pub struct VectorCacheWriter {
    file: File,
    path: PathBuf,
    model_id: String,
    dimension: usize,
    known: BTreeSet<ContentHash>,
    /// For a shared writer, the end of the frames read or written so far.
    shared_end: Option<u64>,
}

pub(super) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> CacheError + '_ {
    move |source| CacheError::Io { path: path.to_path_buf(), source }
}

impl VectorCacheWriter {
    /// Opens (creating if needed) the cache file of `model_id` in `dir`,
    /// checks it, and cuts off a torn tail. Another writer holding it is
    /// waited for briefly, as the store waits for its lock
    /// ([`LOCK_PATIENCE`]), before [`CacheError::Locked`].
    pub fn open(dir: &Path, model_id: &str, dimension: usize) -> Result<Self, CacheError> {
        Self::open_within(dir, model_id, dimension, LOCK_PATIENCE)
    }

    /// Like [`open`](Self::open), but fails with [`CacheError::Locked`] at
    /// once if another writer holds the file (for a caller that would
    /// rather go on without saving than wait).
    pub fn try_open(dir: &Path, model_id: &str, dimension: usize) -> Result<Self, CacheError> {
        Self::open_within(dir, model_id, dimension, Duration::ZERO)
    }

    fn open_within(
        dir: &Path,
        model_id: &str,
        dimension: usize,
        patience: Duration,
    ) -> Result<Self, CacheError> {
        check_model_id(model_id)?;
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let path = dir.join(file_name(model_id));
        if !path.exists() {
            create_with_header(dir, &path, &header(model_id, dimension))?;
        }
        let mut file = OpenOptions::new().read(true).write(true).open(&path).map_err(io(&path))?;
        match patiently(patience, || file.try_lock()) {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => return Err(CacheError::Locked { path }),
            Err(TryLockError::Error(e)) => return Err(CacheError::Io { path, source: e }),
        }
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(io(&path))?;
        let decoded = decode(&bytes, model_id, dimension).map_err(|e| to_cache_error(&path, e))?;
        let header_len = header(model_id, dimension).len() as u64;
        if decoded.valid_len < header_len {
            // Torn header: rewrite it whole.
            file.set_len(0).map_err(io(&path))?;
            file.seek(SeekFrom::Start(0)).map_err(io(&path))?;
            file.write_all(&header(model_id, dimension)).map_err(io(&path))?;
            file.sync_data().map_err(io(&path))?;
        } else if decoded.valid_len < bytes.len() as u64 {
            file.set_len(decoded.valid_len).map_err(io(&path))?;
            file.sync_data().map_err(io(&path))?;
        }
        file.seek(SeekFrom::End(0)).map_err(io(&path))?;
        let known = decoded.entries.into_iter().map(|(h, _)| h).collect();
        Ok(Self { file, path, model_id: model_id.to_string(), dimension, known, shared_end: None })
    }

    /// Opens (creating if needed) the cache file of `model_id` in `dir` for
    /// appending beside other shared writers, and returns the vectors it
    /// holds (one read of the file serves both). The lock is held only
    /// while the file is read here and around each [`append`](Self::append),
    /// waiting for another writer's append to finish. A torn tail is cut
    /// off; a damaged or foreign file is an error (and left as it is).
    pub fn open_shared(
        dir: &Path,
        model_id: &str,
        dimension: usize,
    ) -> Result<(Self, VectorCache), CacheError> {
        let (file, path) = open_locked(dir, model_id, &file_name(model_id), &header(model_id, dimension))?;
        let mut writer = Self {
            file,
            path,
            model_id: model_id.to_string(),
            dimension,
            known: BTreeSet::new(),
            shared_end: None,
        };
        let read = writer.read_locked();
        let unlocked = writer.file.unlock().map_err(io(&writer.path));
        let cache = read?;
        unlocked?;
        Ok((writer, cache))
    }

    /// [`open_shared`](Self::open_shared)'s reading, under the lock: checks
    /// the whole file, repairs a torn header or tail, learns what it holds.
    fn read_locked(&mut self) -> Result<VectorCache, CacheError> {
        let (path, model_id, dimension) = (self.path.clone(), self.model_id.clone(), self.dimension);
        let mut bytes = Vec::new();
        self.file.seek(SeekFrom::Start(0)).map_err(io(&path))?;
        self.file.read_to_end(&mut bytes).map_err(io(&path))?;
        let decoded = decode(&bytes, &model_id, dimension).map_err(|e| to_cache_error(&path, e))?;
        let head = header(&model_id, dimension);
        let end = if decoded.valid_len < head.len() as u64 {
            self.file.set_len(0).map_err(io(&path))?;
            self.file.seek(SeekFrom::Start(0)).map_err(io(&path))?;
            self.file.write_all(&head).map_err(io(&path))?;
            self.file.sync_data().map_err(io(&path))?;
            head.len() as u64
        } else {
            if decoded.valid_len < bytes.len() as u64 {
                self.file.set_len(decoded.valid_len).map_err(io(&path))?;
                self.file.sync_data().map_err(io(&path))?;
            }
            decoded.valid_len
        };
        let mut cache = VectorCache::empty(&model_id, dimension);
        for (hash, vector) in decoded.entries {
            self.known.insert(hash);
            cache.vectors.entry(hash).or_insert(vector);
        }
        self.shared_end = Some(end);
        Ok(cache)
    }

    /// For a shared writer, under the lock: reads the frames appended by
    /// others since `end`, cuts off a torn tail, and returns the new end.
    fn catch_up(&mut self, end: u64) -> Result<u64, CacheError> {
        let path = self.path.clone();
        let len = self.file.metadata().map_err(io(&path))?.len();
        if len < end {
            return Err(CacheError::Corrupt {
                path,
                offset: len,
                reason: format!("file shrank from {end} to {len} bytes while open"),
            });
        }
        if len == end {
            return Ok(end);
        }
        let mut bytes = Vec::new();
        self.file.seek(SeekFrom::Start(end)).map_err(io(&path))?;
        self.file.read_to_end(&mut bytes).map_err(io(&path))?;
        let decoded = decode_frames(&bytes, end, self.dimension).map_err(|e| to_cache_error(&path, e))?;
        if decoded.valid_len < len {
            // A writer died mid-append; nobody else writes while we hold the lock.
            self.file.set_len(decoded.valid_len).map_err(io(&path))?;
        }
        self.known.extend(decoded.entries.into_iter().map(|(h, _)| h));
        Ok(decoded.valid_len)
    }

    /// The file written to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The model id whose vectors this file holds.
    pub fn model_id(&self) -> &str {
        &self.model_id
    }

    /// Whether the file already holds a vector for `hash`.
    pub fn contains(&self, hash: &ContentHash) -> bool {
        self.known.contains(hash)
    }

    /// Appends the entries whose hash the file does not hold yet, then
    /// `fsync`s. Returns how many were written.
    pub fn append(&mut self, entries: &[(ContentHash, &[f32])]) -> Result<usize, CacheError> {
        let mut buf = Vec::new();
        let mut added = Vec::new();
        for (hash, vector) in entries {
            if vector.len() != self.dimension {
                return Err(CacheError::Dimension { expected: self.dimension, found: vector.len() });
            }
            if self.known.contains(hash) || added.contains(hash) {
                continue;
            }
            encode_frame(&mut buf, hash, vector);
            added.push(*hash);
        }
        if buf.is_empty() {
            return Ok(0);
        }
        let Some(end) = self.shared_end else {
            self.file.write_all(&buf).map_err(io(&self.path))?;
            self.file.sync_data().map_err(io(&self.path))?;
            let n = added.len();
            self.known.extend(added);
            return Ok(n);
        };
        self.file.lock().map_err(io(&self.path))?;
        let written = self.append_locked(end, &buf, &added);
        let unlocked = self.file.unlock().map_err(io(&self.path));
        let n = written?;
        unlocked?;
        self.known.extend(added);
        Ok(n)
    }

    /// A shared writer's append, under the lock: catch up with the other
    /// writers, then write `buf` (the frames of `added`) less what they
    /// wrote meanwhile.
    fn append_locked(&mut self, end: u64, buf: &[u8], added: &[ContentHash]) -> Result<usize, CacheError> {
        let end = self.catch_up(end)?;
        let flen = frame_len(self.dimension);
        let mut fresh = Vec::with_capacity(buf.len());
        let mut n = 0;
        for (hash, frame) in added.iter().zip(buf.chunks_exact(flen)) {
            if !self.known.contains(hash) {
                fresh.extend_from_slice(frame);
                n += 1;
            }
        }
        self.shared_end = Some(end);
        if fresh.is_empty() {
            return Ok(0);
        }
        self.file.seek(SeekFrom::Start(end)).map_err(io(&self.path))?;
        self.file.write_all(&fresh).map_err(io(&self.path))?;
        self.file.sync_data().map_err(io(&self.path))?;
        self.shared_end = Some(end + fresh.len() as u64);
        Ok(n)
    }
}

/// Creates `path` in `dir` holding just `header`, atomically; keeps the
/// file a concurrent writer created first.
/// Opens the cache file `name` of `model_id` in `dir` for reading and
/// appending, creating it (with `header`) if it is missing, and takes its
/// lock: how every shared cache writer starts.
pub(super) fn open_locked(
    dir: &Path,
    model_id: &str,
    name: &str,
    header: &[u8],
) -> Result<(File, PathBuf), CacheError> {
    check_model_id(model_id)?;
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let path = dir.join(name);
    if !path.exists() {
        create_with_header(dir, &path, header)?;
    }
    let file = OpenOptions::new().read(true).write(true).open(&path).map_err(io(&path))?;
    file.lock().map_err(io(&path))?;
    Ok((file, path))
}

pub(super) fn create_with_header(dir: &Path, path: &Path, header: &[u8]) -> Result<(), CacheError> {
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io(dir))?;
    tmp.write_all(header).map_err(io(tmp.path()))?;
    tmp.as_file().sync_all().map_err(io(path))?;
    // persist_noclobber: if a concurrent writer created it first, keep theirs.
    match tmp.persist_noclobber(path) {
        Ok(_) => {}
        Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(CacheError::Io { path: path.to_path_buf(), source: e.error }),
    }
    if let Ok(d) = File::open(dir) {
        // Best effort: makes the new name durable on Linux; not possible everywhere.
        let _ = d.sync_all();
    }
    Ok(())
}
