//! Opening a store: load the snapshot, replay the log after it, and find the
//! torn tail an interrupted append may have left; and the full, read-only
//! integrity check behind [`Store::verify`](super::Store::verify).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use super::error::StoreError;
use super::log::{self, Commit, LOG_HEADER_LEN, LogReader, Op, TornTail};
use super::snapshot::{self, Snapshot};
use super::{LOG_FILE, SNAPSHOT_FILE};
use crate::memory::{ContentHash, MAX_CONTENT_BYTES, Memory};

/// Live state by path.
pub(crate) type Live = BTreeMap<String, Memory>;

/// The state of a store as found on disk.
pub(crate) struct Loaded {
    pub(crate) memories: Live,
    pub(crate) version: u64,
    /// End of the last complete commit.
    pub(crate) log_len: u64,
    /// The torn tail after `log_len`, if any.
    pub(crate) torn: Option<TornTail>,
    /// Log offset the snapshot covers (the header length if there is none).
    pub(crate) snapshot_offset: u64,
    /// Size of the snapshot file (0 if there is none).
    pub(crate) snapshot_bytes: u64,
}

/// Opens the log, checks its header, and returns it with its length.
pub(crate) fn open_log(dir: &Path) -> Result<(File, u64), StoreError> {
    let path = dir.join(LOG_FILE);
    let mut file = match File::open(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(StoreError::NotFound(dir.to_owned()));
        }
        Err(e) => return Err(StoreError::Io { path, source: e }),
    };
    let len = file.metadata().map_err(StoreError::io(&path))?.len();
    let mut header = Vec::with_capacity(LOG_HEADER_LEN as usize);
    (&mut file).take(LOG_HEADER_LEN).read_to_end(&mut header).map_err(StoreError::io(&path))?;
    log::check_header(&header, &path)?;
    Ok((file, len))
}

/// Reads the snapshot, if there is one.
fn read_snapshot(dir: &Path) -> Result<Option<(Snapshot, u64)>, StoreError> {
    let path = dir.join(SNAPSHOT_FILE);
    match std::fs::read(&path) {
        Ok(bytes) => Ok(Some((snapshot::decode(&bytes, &path)?, bytes.len() as u64))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(StoreError::Io { path, source: e }),
    }
}

/// Applies one commit's ops to `live`.
pub(crate) fn apply(live: &mut Live, ops: Vec<Op>) {
    for op in ops {
        match op {
            Op::Put(memory) => {
                live.insert(memory.path.as_str().to_owned(), memory);
            }
            Op::Delete { path, .. } => {
                live.remove(path.as_str());
            }
        }
    }
}

/// Loads the live state: snapshot, then the log after it. Never writes.
pub(crate) fn load(dir: &Path) -> Result<Loaded, StoreError> {
    let (mut file, len) = open_log(dir)?;
    let log_path = dir.join(LOG_FILE);
    let (mut memories, version, offset, snapshot_bytes) = match read_snapshot(dir)? {
        Some((snap, bytes)) => {
            if snap.log_offset < LOG_HEADER_LEN || snap.log_offset > len {
                return Err(StoreError::corrupt(
                    dir.join(SNAPSHOT_FILE),
                    0,
                    format!("snapshot covers {} bytes of a {len}-byte log", snap.log_offset),
                ));
            }
            let live: Live = snap.memories.into_iter().map(|m| (m.path.as_str().to_owned(), m)).collect();
            (live, snap.version, snap.log_offset, bytes)
        }
        None => (Live::new(), 0, LOG_HEADER_LEN, 0),
    };
    file.seek(SeekFrom::Start(offset)).map_err(StoreError::io(&log_path))?;
    let mut reader =
        LogReader::new(BufReader::with_capacity(1 << 20, file), &log_path, offset, len, version + 1);
    let mut last = version;
    while let Some(commit) = reader.next_commit()? {
        last = commit.version;
        apply(&mut memories, commit.ops);
    }
    Ok(Loaded {
        memories,
        version: last,
        log_len: reader.offset(),
        torn: reader.torn_tail().cloned(),
        snapshot_offset: offset,
        snapshot_bytes,
    })
}

/// Calls `each` with every complete commit of the log up to `len` bytes,
/// from the first on, until it returns `false`.
pub(crate) fn scan(dir: &Path, len: u64, mut each: impl FnMut(Commit) -> bool) -> Result<(), StoreError> {
    let (file, _) = open_log(dir)?;
    let log_path = dir.join(LOG_FILE);
    let mut reader =
        LogReader::new(BufReader::with_capacity(1 << 16, file), &log_path, LOG_HEADER_LEN, len, 1);
    while let Some(commit) = reader.next_commit()? {
        if !each(commit) {
            break;
        }
    }
    Ok(())
}

/// What a full integrity check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// Last complete version in the log.
    pub version: u64,
    /// Live memories at that version.
    pub memories: u64,
    /// Size of the log file in bytes.
    pub log_bytes: u64,
    /// The version the snapshot holds, if there is a valid one.
    pub snapshot_version: Option<u64>,
    /// An unfinished write at the end of the log (dropped by the next
    /// writable open).
    pub torn_tail: Option<TornTail>,
    /// Every integrity failure found, each naming its file and offset.
    pub problems: Vec<String>,
}

impl VerifyReport {
    /// Whether the store is fully intact: no problem and no torn tail.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty() && self.torn_tail.is_none()
    }
}

/// Checks a memory read from `file` at `offset`; adds what is wrong to `problems`.
fn check_memory(memory: &Memory, what: &str, problems: &mut Vec<String>) {
    if ContentHash::of(memory.content.as_bytes()) != memory.hash {
        problems.push(format!("{what}: {} has a content hash that does not match its content", memory.path));
    }
    if memory.content.len() > MAX_CONTENT_BYTES {
        problems.push(format!(
            "{what}: {} has {} bytes of content, over the {MAX_CONTENT_BYTES}-byte limit",
            memory.path,
            memory.content.len()
        ));
    }
}

/// Reads every byte of the store's files and checks every checksum, every
/// record and the snapshot against a replay of the log. Never writes.
pub(crate) fn verify(dir: &Path) -> Result<VerifyReport, StoreError> {
    let log_path = dir.join(LOG_FILE);
    let snap_path = dir.join(SNAPSHOT_FILE);
    let mut problems = Vec::new();
    let snapshot = match read_snapshot(dir) {
        Ok(s) => s.map(|(s, _)| s),
        Err(e @ StoreError::Io { .. }) => return Err(e),
        Err(e) => {
            problems.push(e.to_string());
            None
        }
    };
    let (file, len) = match open_log(dir) {
        Ok(x) => x,
        Err(e @ (StoreError::Io { .. } | StoreError::NotFound(_))) => return Err(e),
        Err(e) => {
            problems.push(e.to_string());
            return Ok(VerifyReport {
                version: 0,
                memories: 0,
                log_bytes: 0,
                snapshot_version: None,
                torn_tail: None,
                problems,
            });
        }
    };
    let mut reader =
        LogReader::new(BufReader::with_capacity(1 << 20, file), &log_path, LOG_HEADER_LEN, len, 1);
    let mut live = Live::new();
    let mut version = 0;
    let mut snapshot_checked = snapshot.as_ref().is_some_and(|s| s.log_offset == LOG_HEADER_LEN);
    if let Some(s) = snapshot.as_ref().filter(|_| snapshot_checked) {
        check_snapshot(s, &live, version, &snap_path, &mut problems);
    }
    loop {
        match reader.next_commit() {
            Ok(Some(commit)) => {
                let what = format!(
                    "{} at offset {} (version {})",
                    log_path.display(),
                    commit.offset,
                    commit.version
                );
                for op in &commit.ops {
                    match op {
                        Op::Put(m) => check_memory(m, &what, &mut problems),
                        Op::Delete { path, .. } if !live.contains_key(path.as_str()) => {
                            problems.push(format!("{what}: deletes {path}, which does not exist"));
                        }
                        Op::Delete { .. } => {}
                    }
                }
                version = commit.version;
                apply(&mut live, commit.ops);
                if let Some(s) = snapshot.as_ref().filter(|s| s.log_offset == reader.offset()) {
                    snapshot_checked = true;
                    check_snapshot(s, &live, version, &snap_path, &mut problems);
                }
            }
            Ok(None) => break,
            Err(e) => {
                problems.push(e.to_string());
                break;
            }
        }
    }
    if let Some(s) = &snapshot
        && !snapshot_checked
    {
        problems.push(format!(
            "{}: snapshot covers {} bytes of the log, which is not the end of a complete version",
            snap_path.display(),
            s.log_offset
        ));
    }
    Ok(VerifyReport {
        version,
        memories: live.len() as u64,
        log_bytes: len,
        snapshot_version: snapshot.as_ref().map(|s| s.version),
        torn_tail: reader.torn_tail().cloned(),
        problems,
    })
}

/// Compares a snapshot with the state replayed from the log at its offset.
fn check_snapshot(snap: &Snapshot, live: &Live, version: u64, file: &Path, problems: &mut Vec<String>) {
    let what = file.display().to_string();
    for m in &snap.memories {
        check_memory(m, &what, problems);
    }
    if snap.version != version {
        problems.push(format!(
            "{what}: snapshot says version {}, the log has version {version} at offset {}",
            snap.version, snap.log_offset
        ));
    }
    if snap.memories.len() != live.len() || snap.memories.iter().zip(live.values()).any(|(a, b)| a != b) {
        problems.push(format!(
            "{what}: snapshot differs from the log replayed to offset {} (version {version})",
            snap.log_offset
        ));
    }
}

/// Name under which [`Store::repair`](super::Store::repair) keeps the log bytes it cut off.
pub const DAMAGED_LOG_FILE: &str = "memories.log.damaged";
/// Name under which [`Store::repair`](super::Store::repair) keeps a snapshot it set aside.
pub const DAMAGED_SNAPSHOT_FILE: &str = "memories.snap.damaged";

/// What [`Store::repair`](super::Store::repair) did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RepairReport {
    /// Where a damaged or inconsistent snapshot was moved, if one was.
    pub snapshot_moved_to: Option<std::path::PathBuf>,
    /// Offset at which the log was cut (the end of the last good commit).
    pub log_cut_at: Option<u64>,
    /// Where the bytes cut from the log were saved, and how many.
    pub log_saved_to: Option<(std::path::PathBuf, u64)>,
}

impl RepairReport {
    /// Whether repair changed nothing (the store was intact).
    pub fn is_noop(&self) -> bool {
        self.snapshot_moved_to.is_none() && self.log_cut_at.is_none()
    }
}

/// Refuses to overwrite an earlier repair's leftovers.
fn free_name(dir: &Path, name: &str) -> Result<std::path::PathBuf, StoreError> {
    let path = dir.join(name);
    if path.try_exists().map_err(StoreError::io(&path))? {
        return Err(StoreError::BadFile {
            file: path,
            reason: "left by an earlier repair; move it away first".into(),
        });
    }
    Ok(path)
}

/// Sets damage aside so that the store opens again; the caller holds the
/// writer lock. Nothing is deleted: a snapshot that is unreadable or does
/// not match the log is renamed, and the log bytes after the last good
/// commit are copied to [`DAMAGED_LOG_FILE`] before the log is cut there.
pub(crate) fn repair(dir: &Path) -> Result<RepairReport, StoreError> {
    let log_path = dir.join(LOG_FILE);
    let snap_path = dir.join(SNAPSHOT_FILE);
    // A log with a foreign header or format is never touched.
    let (file, len) = open_log(dir)?;
    let mut report = RepairReport::default();
    let snapshot = match read_snapshot(dir) {
        Ok(snapshot) => snapshot.map(|(s, _)| s),
        Err(e @ StoreError::Io { .. }) => return Err(e),
        Err(_) => {
            let to = free_name(dir, DAMAGED_SNAPSHOT_FILE)?;
            std::fs::rename(&snap_path, &to).map_err(StoreError::io(&snap_path))?;
            report.snapshot_moved_to = Some(to);
            None
        }
    };
    // Replay the whole log, noting whether the snapshot sits on a commit
    // boundary with the same state, and where the first damage is.
    let mut reader =
        LogReader::new(BufReader::with_capacity(1 << 20, file), &log_path, LOG_HEADER_LEN, len, 1);
    let mut live = Live::new();
    let mut snapshot_matches =
        snapshot.as_ref().map(|s| s.log_offset == LOG_HEADER_LEN && s.version == 0 && s.memories.is_empty());
    let damaged = loop {
        match reader.next_commit() {
            Ok(Some(commit)) => {
                apply(&mut live, commit.ops);
                if let Some(s) = snapshot.as_ref().filter(|s| s.log_offset == reader.offset()) {
                    snapshot_matches = Some(
                        s.version == commit.version
                            && s.memories.len() == live.len()
                            && s.memories.iter().zip(live.values()).all(|(a, b)| a == b),
                    );
                }
            }
            Ok(None) => break reader.torn_tail().is_some(),
            Err(_) => break true,
        }
    };
    let mut cut = damaged.then_some(reader.offset());
    if let Some(s) = &snapshot {
        let beyond_damage = cut.is_some_and(|c| s.log_offset > c);
        if beyond_damage && s.log_offset <= len {
            // The damage is in history the snapshot already covers: keep the
            // snapshot and cut only after it, where an open reads.
            let (file, _) = open_log(dir)?;
            let mut file = file;
            file.seek(SeekFrom::Start(s.log_offset)).map_err(StoreError::io(&log_path))?;
            let mut tail = LogReader::new(
                BufReader::with_capacity(1 << 20, file),
                &log_path,
                s.log_offset,
                len,
                s.version + 1,
            );
            cut = loop {
                match tail.next_commit() {
                    Ok(Some(_)) => {}
                    Ok(None) if tail.torn_tail().is_none() => break None,
                    _ => break Some(tail.offset()),
                }
            };
        } else if snapshot_matches != Some(true) {
            let to = free_name(dir, DAMAGED_SNAPSHOT_FILE)?;
            std::fs::rename(&snap_path, &to).map_err(StoreError::io(&snap_path))?;
            report.snapshot_moved_to = Some(to);
        }
    }
    if let Some(cut) = cut {
        let saved = free_name(dir, DAMAGED_LOG_FILE)?;
        let mut from = File::open(&log_path).map_err(StoreError::io(&log_path))?;
        from.seek(SeekFrom::Start(cut)).map_err(StoreError::io(&log_path))?;
        let mut to = File::create_new(&saved).map_err(StoreError::io(&saved))?;
        let copied = std::io::copy(&mut from, &mut to).map_err(StoreError::io(&saved))?;
        to.sync_all().map_err(StoreError::io(&saved))?;
        snapshot::sync_dir(dir)?;
        let log =
            std::fs::OpenOptions::new().write(true).open(&log_path).map_err(StoreError::io(&log_path))?;
        log.set_len(cut).map_err(StoreError::io(&log_path))?;
        log.sync_all().map_err(StoreError::io(&log_path))?;
        report.log_cut_at = Some(cut);
        report.log_saved_to = Some((saved, copied));
    }
    if report.snapshot_moved_to.is_some() {
        snapshot::sync_dir(dir)?;
    }
    Ok(report)
}
