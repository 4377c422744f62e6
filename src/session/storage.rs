//! Content-addressed session storage: one file per session in a directory
//! (a store keeps it at `STORE/sessions/`), named `<id>.session` where
//! `<id>` is the 64-digit hex of the [`SessionId`].
//!
//! # File format (version 1)
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 8 | magic bytes `DRMWSESS` |
//! | 8 | 4 | format version, u32 little-endian (`1`) |
//! | 12 | 8 | body length in bytes, u64 little-endian |
//! | 20 | 4 | CRC-32 (IEEE) of the body, u32 little-endian |
//! | 24 | n | body: the [`Session`] encoded with postcard |
//!
//! # Promises
//!
//! - Files are created readable and writable by their owner only
//!   (transcripts are private).
//! - A file is written to a temporary file in the same directory, flushed
//!   to disk, renamed over its final name, and the directory is flushed: a
//!   crash leaves either no file or the whole file, never a torn one.
//! - Putting a session that is already stored is a no-op (its file is left
//!   untouched), so re-importing a transcript changes nothing. A stored file
//!   found damaged is replaced by the good copy being put; a file of a newer
//!   format version is left alone. A session whose fields were changed after
//!   it was built (so that it no longer hashes to its id) is refused.
//! - [`SessionStore::put`] flushes the directory after each new file;
//!   [`SessionStore::import_paths`] flushes it once per import, before it
//!   returns (also when it returns an error).
//! - Reading verifies the header, the checksum, that the body decodes with
//!   nothing left over, that the content hashes to the id it claims, and
//!   that this id is the file's name. Any failure is a
//!   [`SessionError::Corrupt`] naming the file; a newer format version is a
//!   [`SessionError::UnsupportedVersion`]. Reading never writes.
//! - Listings are sorted by id, whatever the directory order. Files in the
//!   directory that are not named like session files (such as the
//!   `.tmp-*` file of a write interrupted by a crash) are ignored.

use std::io::Write;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::error::SessionError;
use super::{FormatChoice, Role, Session, SessionFormat, SessionId, TranscriptFile};
use crate::id::Timestamp;
use crate::progress::{CancelToken, Observer, Progress};

/// Magic bytes at the start of every session file.
pub const MAGIC: [u8; 8] = *b"DRMWSESS";
/// The file format version this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;
/// Size of the fixed header before the body.
pub const HEADER_LEN: usize = 24;
/// File name extension of session files.
pub const EXTENSION: &str = "session";
/// How many transcript files an import parses in parallel before storing
/// their sessions.
const PARSE_BATCH: usize = 32;

/// Encodes a session as a complete session file (header and body).
pub fn encode(session: &Session) -> Vec<u8> {
    let body = postcard::to_stdvec(session).expect("serialising plain data to a Vec cannot fail");
    let mut bytes = Vec::with_capacity(HEADER_LEN + body.len());
    bytes.extend_from_slice(&MAGIC);
    bytes.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    bytes.extend_from_slice(&(body.len() as u64).to_le_bytes());
    bytes.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
    bytes.extend_from_slice(&body);
    bytes
}

/// Decodes and verifies a session file's bytes; `path` names it in errors.
pub fn decode(bytes: &[u8], path: &Path) -> Result<Session, SessionError> {
    let corrupt = |reason: String| SessionError::Corrupt { path: path.to_path_buf(), reason };
    if bytes.len() < HEADER_LEN {
        return Err(corrupt(format!(
            "file is {} bytes, shorter than the {HEADER_LEN}-byte header",
            bytes.len()
        )));
    }
    let (header, body) = bytes.split_at(HEADER_LEN);
    if header[..8] != MAGIC {
        return Err(corrupt("not a dreamwork session file (bad magic bytes)".to_owned()));
    }
    let word = |range: std::ops::Range<usize>| {
        let mut buf = [0u8; 8];
        buf[..range.len()].copy_from_slice(&header[range]);
        u64::from_le_bytes(buf)
    };
    let version = word(8..12) as u32;
    if version != FORMAT_VERSION {
        return Err(SessionError::UnsupportedVersion {
            path: path.to_path_buf(),
            found: version,
            supported: FORMAT_VERSION,
        });
    }
    let length = word(12..20);
    if length != body.len() as u64 {
        return Err(corrupt(format!(
            "header gives a {length}-byte body, the file holds {} bytes",
            body.len()
        )));
    }
    let stored = word(20..24) as u32;
    let computed = crc32fast::hash(body);
    if stored != computed {
        return Err(corrupt(format!("checksum mismatch (stored {stored:08x}, computed {computed:08x})")));
    }
    let (session, rest) = postcard::take_from_bytes::<Session>(body)
        .map_err(|e| corrupt(format!("body does not decode: {e}")))?;
    if !rest.is_empty() {
        return Err(corrupt(format!("{} bytes left over after the session", rest.len())));
    }
    let actual = content_id(&session);
    if actual != session.id {
        return Err(corrupt(format!("content hashes to {actual}, not to its stored id {}", session.id)));
    }
    Ok(session)
}

/// The id `session`'s content hashes to.
fn content_id(session: &Session) -> SessionId {
    Session::new(session.format, session.external_id.clone(), session.cwd.clone(), session.turns.clone()).id
}

/// What `ls` shows of a stored session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionSummary {
    /// The session's id.
    pub id: SessionId,
    /// The format it was imported from.
    pub format: SessionFormat,
    /// Its id in the source format, if any.
    pub external_id: Option<String>,
    /// Its working directory, if known.
    pub cwd: Option<String>,
    /// How many turns it has.
    pub turns: usize,
    /// How many turns are user turns.
    pub user_turns: usize,
    /// When its first timestamped turn happened.
    pub started_at: Option<Timestamp>,
    /// How many tool calls the agent made.
    pub tool_calls: usize,
    /// How many tool results were errors.
    pub tool_errors: usize,
}

impl SessionSummary {
    /// Summarises `session`.
    pub fn of(session: &Session) -> Self {
        let turns = &session.turns;
        Self {
            id: session.id,
            format: session.format,
            external_id: session.external_id.clone(),
            cwd: session.cwd.clone(),
            turns: turns.len(),
            user_turns: turns.iter().filter(|t| t.role == Role::User).count(),
            started_at: session.started_at(),
            tool_calls: turns.iter().map(|t| t.tool_calls.len()).sum(),
            tool_errors: turns.iter().flat_map(|t| &t.tool_results).filter(|r| r.is_error).count(),
        }
    }
}

/// What an import did.
#[derive(Debug, Default)]
pub struct ImportSummary {
    /// Transcript files imported.
    pub files: usize,
    /// Sessions found in them.
    pub sessions: usize,
    /// Sessions that were not stored before.
    pub new: usize,
    /// Files found in directories that fit no transcript format (see
    /// [`import_transcript`](super::import_transcript)), in path order.
    pub skipped: Vec<PathBuf>,
    /// Files skipped under [`OnError::Skip`], with why, in path order.
    pub failures: Vec<(PathBuf, SessionError)>,
}

/// A directory of session files (see the module doc for the format).
#[derive(Debug, Clone)]
pub struct SessionStore {
    dir: PathBuf,
    writable: bool,
}

impl SessionStore {
    /// Opens `dir` for reading and writing, creating it if needed.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self, SessionError> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir).map_err(|e| SessionError::io(&dir, e))?;
        Ok(Self { dir, writable: true })
    }

    /// Opens `dir` for reading only; nothing is ever written, and a missing
    /// directory reads as a store without sessions.
    pub fn open_read_only(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into(), writable: false }
    }

    /// The directory holding the session files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file a session with `id` is stored in.
    pub fn path_of(&self, id: &SessionId) -> PathBuf {
        self.dir.join(format!("{id}.{EXTENSION}"))
    }

    /// Stores `session`; returns whether it was newly stored (`false` when
    /// an intact copy was already there).
    pub fn put(&self, session: &Session) -> Result<bool, SessionError> {
        let new = self.write(session)?;
        if new {
            sync_dir(&self.dir)?;
        }
        Ok(new)
    }

    /// Writes `session`'s file unless an intact copy is there, without
    /// flushing the directory: the caller does, before acknowledging.
    fn write(&self, session: &Session) -> Result<bool, SessionError> {
        if !self.writable {
            return Err(SessionError::ReadOnly(self.dir.clone()));
        }
        let path = self.path_of(&session.id);
        let actual = content_id(session);
        if actual != session.id {
            return Err(SessionError::IdMismatch { claimed: session.id, actual });
        }
        match self.get(&session.id) {
            Ok(_) | Err(SessionError::UnsupportedVersion { .. }) => return Ok(false),
            Err(SessionError::NotFound(_) | SessionError::Corrupt { .. }) => {}
            Err(other) => return Err(other),
        }
        let mut temp = tempfile::Builder::new()
            .prefix(".tmp-")
            .tempfile_in(&self.dir)
            .map_err(|e| SessionError::io(&self.dir, e))?;
        temp.write_all(&encode(session)).map_err(|e| SessionError::io(temp.path(), e))?;
        temp.as_file().sync_all().map_err(|e| SessionError::io(temp.path(), e))?;
        temp.persist(&path).map_err(|e| SessionError::io(&path, e.error))?;
        Ok(true)
    }

    /// Every stored session id, sorted.
    pub fn ids(&self) -> Result<Vec<SessionId>, SessionError> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !self.writable => return Ok(Vec::new()),
            Err(e) => return Err(SessionError::io(&self.dir, e)),
        };
        let mut ids = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| SessionError::io(&self.dir, e))?;
            let name = entry.file_name();
            let Some(hex) = name.to_str().and_then(|n| n.strip_suffix(&format!(".{EXTENSION}"))) else {
                continue;
            };
            if hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
                ids.extend(SessionId::from_hex(hex));
            }
        }
        ids.sort();
        Ok(ids)
    }

    /// Whether a file for `id` exists (its content is not checked).
    pub fn contains(&self, id: &SessionId) -> bool {
        self.path_of(id).is_file()
    }

    /// Reads and verifies the session `id`.
    pub fn get(&self, id: &SessionId) -> Result<Session, SessionError> {
        let path = self.path_of(id);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(SessionError::NotFound(id.to_string()));
            }
            Err(e) => return Err(SessionError::io(&path, e)),
        };
        let session = decode(&bytes, &path)?;
        if session.id != *id {
            return Err(SessionError::Corrupt {
                reason: format!("file holds session {}, not the one its name gives", session.id),
                path,
            });
        }
        Ok(session)
    }

    /// The one stored session whose id starts with the hexadecimal `prefix`
    /// (1 to 64 digits, any letter case).
    pub fn resolve(&self, prefix: &str) -> Result<SessionId, SessionError> {
        let prefix = prefix.to_ascii_lowercase();
        if prefix.is_empty() || prefix.len() > 64 || !prefix.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(SessionError::BadId(prefix));
        }
        let matching: Vec<SessionId> =
            self.ids()?.into_iter().filter(|id| id.to_string().starts_with(&prefix)).collect();
        match matching.as_slice() {
            [one] => Ok(*one),
            [] => Err(SessionError::NotFound(prefix)),
            many => Err(SessionError::AmbiguousPrefix { prefix, count: many.len() }),
        }
    }

    /// Reads and verifies every stored session without stopping at the
    /// first damaged one: returns how many are intact, and each damaged file
    /// with why, sorted by id. An I/O error listing the directory is still an
    /// error.
    pub fn verify(&self) -> Result<(usize, Vec<SessionError>), SessionError> {
        let mut intact = 0;
        let mut damaged = Vec::new();
        for id in self.ids()? {
            match self.get(&id) {
                Ok(_) => intact += 1,
                Err(e) => damaged.push(e),
            }
        }
        Ok((intact, damaged))
    }

    /// A summary of every stored session, sorted by id. Every file is read
    /// and verified; the first damaged one is an error (see
    /// [`verify`](Self::verify) to list them all).
    pub fn summaries(&self) -> Result<Vec<SessionSummary>, SessionError> {
        self.ids()?.iter().map(|id| self.get(id).map(|s| SessionSummary::of(&s))).collect()
    }

    /// Imports every transcript under `paths` (see
    /// [`transcript_files`](super::transcript_files) and
    /// [`import_transcript`](super::import_transcript)) into this store,
    /// reporting progress as stage `"import"` (files done /
    /// files in all) and stopping between batches of files when `cancel` is
    /// set. Files are parsed on all cores (rayon), a batch at a time.
    ///
    /// With [`OnError::Stop`] the first file that fails stops the import
    /// with its error; with [`OnError::Skip`] it is recorded in
    /// [`ImportSummary::failures`] and the import goes on. Either way the
    /// sessions stored before stay, and are durable when this returns
    /// (storing is idempotent, so running the import again after fixing a
    /// file finishes the job).
    pub fn import_paths(
        &self,
        paths: &[PathBuf],
        format: FormatChoice,
        on_error: OnError,
        observer: &dyn Observer,
        cancel: &CancelToken,
    ) -> Result<ImportSummary, SessionError> {
        let files = super::transcript_files(paths, format)?;
        let mut summary = ImportSummary::default();
        let outcome = self.import_files(&files, format, on_error, observer, cancel, &mut summary);
        // One directory flush for the whole batch, also after a failure, so
        // that what was stored before it is durable too.
        let synced = if summary.new > 0 { sync_dir(&self.dir) } else { Ok(()) };
        outcome.and(synced).map(|()| summary)
    }

    fn import_files(
        &self,
        files: &[TranscriptFile],
        format: FormatChoice,
        on_error: OnError,
        observer: &dyn Observer,
        cancel: &CancelToken,
        summary: &mut ImportSummary,
    ) -> Result<(), SessionError> {
        let total = files.len() as u64;
        let mut done = 0u64;
        // Files are parsed in parallel a batch at a time, then stored one by
        // one in path order, so that results, counts and the first error
        // reported never depend on the thread count.
        for batch in files.chunks(PARSE_BATCH) {
            if cancel.is_cancelled() {
                return Err(SessionError::Cancelled);
            }
            let parsed: Vec<_> =
                batch.par_iter().map(|file| super::import_transcript(file, format)).collect();
            for (file, outcome) in batch.iter().zip(parsed) {
                observer.progress(Progress { stage: "import", done, total });
                done += 1;
                let sessions = match outcome {
                    Ok(Some(sessions)) => sessions,
                    Ok(None) => {
                        summary.skipped.push(file.path.clone());
                        continue;
                    }
                    Err(e) if on_error == OnError::Skip => {
                        summary.failures.push((file.path.clone(), e));
                        continue;
                    }
                    Err(e) => return Err(e),
                };
                summary.files += 1;
                for session in &sessions {
                    summary.sessions += 1;
                    if self.write(session)? {
                        summary.new += 1;
                    }
                }
            }
        }
        observer.progress(Progress { stage: "import", done: total, total });
        Ok(())
    }
}

/// What an import does with a transcript file that cannot be imported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum OnError {
    /// Stop at the first bad file and return its error.
    #[default]
    Stop,
    /// Record the error in [`ImportSummary::failures`] and go on.
    Skip,
}

/// Flushes a directory so that a rename inside it is durable.
fn sync_dir(dir: &Path) -> Result<(), SessionError> {
    // Only Unix can open and flush a directory; elsewhere the rename is
    // as durable as the platform makes it.
    #[cfg(unix)]
    std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(|e| SessionError::io(dir, e))?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::{ToolCall, ToolResult, Turn};

    fn sample(text: &str) -> Session {
        let turn = |role, text: &str| Turn {
            role,
            author: Some("ana".into()),
            text: text.into(),
            tool_calls: vec![ToolCall { id: Some("c".into()), name: "bash".into(), input: "{}".into() }],
            tool_results: vec![ToolResult { call_id: None, content: "é".into(), is_error: true }],
            timestamp: Some(Timestamp(1_700_000_000_000)),
            sidechain: false,
        };
        Session::new(
            SessionFormat::ClaudeCode,
            Some("ext".into()),
            Some("/w".into()),
            vec![turn(Role::User, text), turn(Role::Tool, "")],
        )
    }

    #[test]
    fn encode_decode_round_trip() {
        let s = sample("hello");
        assert_eq!(decode(&encode(&s), Path::new("x")).unwrap(), s);
    }

    #[test]
    fn every_single_byte_flip_is_detected() {
        let bytes = encode(&sample("hello"));
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 0x20;
            let err = decode(&bad, Path::new("f.session")).unwrap_err();
            assert!(
                matches!(err, SessionError::Corrupt { .. } | SessionError::UnsupportedVersion { .. }),
                "byte {i}: {err}"
            );
        }
        for len in 0..bytes.len() {
            assert!(decode(&bytes[..len], Path::new("f")).is_err(), "truncated to {len}");
        }
    }

    #[test]
    fn a_forged_id_is_refused() {
        let mut s = sample("hello");
        s.id = sample("other").id;
        let err = decode(&encode(&s), Path::new("f.session")).unwrap_err().to_string();
        assert!(err.starts_with("f.session: corrupt session file: content hashes to"), "{err}");
    }

    #[test]
    fn newer_versions_are_named() {
        let mut bytes = encode(&sample("x"));
        bytes[8] = 9;
        let err = decode(&bytes, Path::new("f")).unwrap_err().to_string();
        assert_eq!(err, "f: session file format version 9 is not supported (this build reads version 1)");
    }

    #[test]
    fn put_get_ids_and_prefixes() {
        let dir = tempfile::tempdir().unwrap();
        let store = SessionStore::open(dir.path().join("sessions")).unwrap();
        let (a, b) = (sample("a"), sample("b"));
        assert!(store.put(&a).unwrap());
        assert!(!store.put(&a).unwrap());
        assert!(store.put(&b).unwrap());
        let mut expected = vec![a.id, b.id];
        expected.sort();
        assert_eq!(store.ids().unwrap(), expected);
        assert_eq!(store.get(&a.id).unwrap(), a);
        assert_eq!(store.resolve(&a.id.to_string()[..12].to_uppercase()).unwrap(), a.id);
        assert!(matches!(store.resolve("zz"), Err(SessionError::BadId(_))));
        assert!(matches!(store.resolve(""), Err(SessionError::BadId(_))));
        let summaries = store.summaries().unwrap();
        assert_eq!(summaries.len(), 2);
        assert_eq!(summaries[0].tool_errors, 2);
        assert_eq!(summaries[0].user_turns, 1);
    }

    #[test]
    fn damaged_files_are_reported_and_repaired_by_put() {
        let dir = tempfile::tempdir().unwrap();
        let store = SessionStore::open(dir.path()).unwrap();
        let s = sample("a");
        store.put(&s).unwrap();
        let path = store.path_of(&s.id);
        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        let err = store.get(&s.id).unwrap_err().to_string();
        assert!(err.contains(&path.display().to_string()) && err.contains("checksum mismatch"), "{err}");
        assert!(store.put(&s).unwrap());
        assert_eq!(store.get(&s.id).unwrap(), s);
    }

    #[test]
    fn verify_lists_every_damaged_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = SessionStore::open(dir.path()).unwrap();
        let sessions = [sample("a"), sample("b"), sample("c")];
        for s in &sessions {
            store.put(s).unwrap();
        }
        assert_eq!(store.verify().unwrap().0, 3);
        std::fs::write(store.path_of(&sessions[0].id), b"junk").unwrap();
        std::fs::write(store.path_of(&sessions[2].id), b"").unwrap();
        let (intact, damaged) = store.verify().unwrap();
        assert_eq!(intact, 1);
        assert_eq!(damaged.len(), 2);
        assert!(damaged.iter().all(|e| matches!(e, SessionError::Corrupt { .. })));
    }

    #[test]
    fn a_file_under_another_name_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = SessionStore::open(dir.path()).unwrap();
        let (a, b) = (sample("a"), sample("b"));
        store.put(&a).unwrap();
        std::fs::copy(store.path_of(&a.id), store.path_of(&b.id)).unwrap();
        let err = store.get(&b.id).unwrap_err().to_string();
        assert!(err.contains("not the one its name gives"), "{err}");
    }

    #[test]
    fn a_session_changed_after_building_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = SessionStore::open(dir.path()).unwrap();
        let mut s = sample("a");
        s.turns[0].text.push('!');
        assert!(matches!(store.put(&s), Err(SessionError::IdMismatch { .. })));
        assert!(store.ids().unwrap().is_empty());
    }

    #[cfg(unix)]
    #[test]
    fn files_are_private_to_their_owner() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let store = SessionStore::open(dir.path()).unwrap();
        let s = sample("a");
        store.put(&s).unwrap();
        let mode = std::fs::metadata(store.path_of(&s.id)).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "mode {mode:o}");
    }

    #[test]
    fn read_only_never_writes() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("sessions");
        let store = SessionStore::open_read_only(&missing);
        assert_eq!(store.ids().unwrap(), vec![]);
        assert!(matches!(store.put(&sample("a")), Err(SessionError::ReadOnly(_))));
        assert!(!missing.exists());
    }
}
