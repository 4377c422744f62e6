//! Dreaming a store on disk: read STORE (read-only, under its shared lock),
//! write OUT as a new store, and review the result (diff, accept, discard).
//!
//! OUT holds the output memories (one commit), the sessions the dream read
//! (`OUT/sessions/`), the vectors it used (`OUT/vectors/`, so a dream over
//! OUT, or over STORE once OUT is accepted, embeds nothing again), and the
//! report: `OUT/dream/report.json` and `OUT/dream/report.md`, and the
//! questions (`OUT/dream/questions.jsonl`, one JSON question per line, as
//! sent, i.e. redacted): every question the dream left open, in the report's
//! order (`unresolved[].cluster` is each one's `id`); in a dry run instead
//! exactly the questions a real run would send. A link to a hosted memory
//! store (`STORE/hosted.json`, see `dreamwork pull`) is copied as it is,
//! so OUT pushes its changes where STORE came from. Nothing in OUT depends on
//! the clock, the machine or the thread count.
//!
//! Vectors come from STORE's cache (`STORE/vectors`, filled by `dreamwork
//! embed`) and from the user cache ([`DiskRequest::vector_cache`], e.g.
//! `~/.cache/dreamwork/vectors`); only texts found in neither are embedded,
//! and each vector embedded is appended to the user cache, so the next dream
//! over the same store embeds nothing. The judge's word vectors
//! ([`Embedder::word_vectors`]) are kept the same way in the user cache's
//! `words/` folder ([`WordCacheWriter`](crate::embed::WordCacheWriter)), not in OUT (they are large, and
//! only the judge reads them). Where a vector came from never changes a
//! byte of OUT: an embedder gives the same bits for a text whatever its
//! batch, the caches keep those bits exactly, and the report holds no
//! counts of either.
//!
//! Promises:
//! - STORE's files are only read: the dream reads STORE's memories,
//!   sessions and vector cache under its shared lock (so it sees one
//!   consistent version) and then releases it, so an agent can go on writing
//!   memories while a long dream runs; it never writes STORE's vector cache.
//! - The user cache never fails a dream: a file that cannot be read (damaged,
//!   foreign, unreadable) or written is named in [`DiskDream::warnings`] and
//!   the dream embeds without it (nothing read from it, nothing added to it).
//!   Dreams running at once share it safely
//!   ([`VectorCacheWriter::open_shared`], [`WordCacheWriter::open_shared`](crate::embed::WordCacheWriter::open_shared)).
//! - OUT appears whole or not at all: everything is written into a sibling
//!   directory `.OUT.dreaming`, fsynced, then renamed to OUT. A failed or
//!   cancelled dream leaves no OUT behind.
//! - [`accept`] swaps OUT in for STORE and keeps the old store next to it as
//!   `STORE.bak-N`; it refuses when STORE changed since the dream (its store
//!   hash differs from the report's), so no write made meanwhile is lost.
//!   The swap is two renames; between them STORE's path is briefly absent,
//!   and a crash there leaves both directories intact to rename back.
//! - [`discard`] removes only a directory that is a dream output (a store
//!   holding `dream/report.json`).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::{Dream, DreamError, DreamInput, DreamOutput};
use crate::embed::{CacheDir, CacheKind, EmbedError, Embedder, VectorCache, VectorCacheWriter, vectors_dir};
use crate::memory::{ContentHash, MemoryPath};
use crate::progress::{CancelToken, Observer};
use crate::report::Report;
use crate::resolve::Asking;
use crate::session::Session;
use crate::store::{HOSTED_LINK_FILE, Store};

mod caching;

use caching::{CachingEmbedder, Words};

/// Directory inside OUT holding the report.
pub const REPORT_DIR: &str = "dream";
/// The machine-readable report, inside [`REPORT_DIR`].
pub const REPORT_JSON: &str = "report.json";
/// The report for people, inside [`REPORT_DIR`].
pub const REPORT_MD: &str = "report.md";
/// The open questions (or, in a dry run, those that would be sent), inside [`REPORT_DIR`].
pub const QUESTIONS_JSONL: &str = "questions.jsonl";

/// How long the parts of a dream took (for the printed summary only; never
/// written to OUT).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Timings {
    /// Opening STORE and reading its memories and sessions.
    pub read: Duration,
    /// The pipeline, embedding included.
    pub dream: Duration,
    /// Writing OUT.
    pub write: Duration,
}

/// What a dream on disk did.
#[derive(Debug, Clone)]
pub struct DiskDream {
    /// The report, as written to OUT.
    pub report: Report,
    /// Where the report was written.
    pub report_dir: PathBuf,
    /// Texts embedded during the dream.
    pub embedded: usize,
    /// Texts whose vector came from a cache (STORE's, the replayed
    /// output's, or the user cache).
    pub cached: usize,
    /// Texts whose word vectors (for the judge) were computed during the dream.
    pub words_computed: usize,
    /// Texts whose word vectors came from the user cache.
    pub words_cached: usize,
    /// Problems with the user cache that the dream worked around (each
    /// names the file), for the caller to show; never written to OUT.
    pub warnings: Vec<String>,
    /// Wall times.
    pub timings: Timings,
}

/// What to dream over and where to write it: [`DiskRequest::new`] and
/// `with_…` methods.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DiskRequest {
    /// The input store (only read).
    pub store: PathBuf,
    /// The output directory; must not exist yet.
    pub out: PathBuf,
    /// Sessions read alongside those kept in STORE (e.g. parsed from
    /// `--sessions` files; never imported into STORE).
    pub extra_sessions: Vec<Session>,
    /// An earlier output of the same dream to re-run as it was made (what
    /// `review` does to rewrite OUT with its answers): the sessions are read
    /// from there (`OUT/sessions`, every session that dream read) instead of
    /// from STORE, and vectors from its cache instead of STORE's, so the
    /// re-run sees the same input and embeds nothing again.
    pub replay_of: Option<PathBuf>,
    /// The user-level cache: vectors are read from its `vectors/` folder
    /// too, and every vector the dream computes is appended there. `None`
    /// reads and writes no cache outside STORE and OUT.
    pub vector_cache: Option<CacheDir>,
}

impl DiskRequest {
    /// Dreams over `store` into `out`, with no other sessions, no replay and
    /// no user cache.
    pub fn new(store: impl Into<PathBuf>, out: impl Into<PathBuf>) -> Self {
        Self {
            store: store.into(),
            out: out.into(),
            extra_sessions: Vec::new(),
            replay_of: None,
            vector_cache: None,
        }
    }

    /// Reads these sessions alongside those kept in STORE.
    pub fn with_extra_sessions(mut self, extra_sessions: Vec<Session>) -> Self {
        self.extra_sessions = extra_sessions;
        self
    }

    /// Re-runs the earlier output at this path as it was made.
    pub fn with_replay_of(mut self, replay_of: impl Into<Option<PathBuf>>) -> Self {
        self.replay_of = replay_of.into();
        self
    }

    /// Reads vectors from, and adds them to, this user cache.
    pub fn with_vector_cache(mut self, vector_cache: impl Into<Option<CacheDir>>) -> Self {
        self.vector_cache = vector_cache.into();
        self
    }
}

/// Dreams over `request.store` and writes the result to `request.out`.
pub fn dream_store(
    dream: &Dream,
    request: DiskRequest,
    embedder: &dyn Embedder,
    asking: &mut Asking<'_>,
    observer: &dyn Observer,
    cancel: &CancelToken,
) -> Result<DiskDream, DreamError> {
    let DiskRequest { store, out, extra_sessions, replay_of, vector_cache } = request;
    let (store, out) = (store.as_path(), out.as_path());
    if out.exists() {
        return Err(DreamError::OutputExists(out.to_owned()));
    }
    let started = Instant::now();
    // Everything the dream needs from STORE is read under its shared lock,
    // which is then released: writers may go on while the dream runs
    // (`accept` refuses if they did).
    let (memories, mut sessions, mut cache, link) = {
        let input = Store::open_read_only(store)?;
        let memories: Vec<_> = input.iter().cloned().collect();
        let link = read_link(store)?;
        let earlier = replay_of.as_deref().map(Store::open_read_only).transpose()?;
        let source = earlier.as_ref().unwrap_or(&input);
        let kept = source.sessions()?;
        let mut sessions = Vec::new();
        for id in kept.ids()? {
            sessions.push(kept.get(&id)?);
        }
        let cache = VectorCache::load(&source.vectors_dir(), embedder.model_id(), embedder.dimension())
            .map_err(EmbedError::from)?;
        (memories, sessions, cache, link)
    };
    sessions.extend(extra_sessions);
    let mut warnings = Vec::new();
    let user = match &vector_cache {
        Some(dir) => {
            let folder = dir.dir(CacheKind::Vectors);
            match VectorCacheWriter::open_shared(&folder, embedder.model_id(), embedder.dimension()) {
                Ok((writer, vectors)) => {
                    cache.merge(vectors).map_err(EmbedError::from)?;
                    Some(writer)
                }
                Err(e) => {
                    warnings.push(format!("{e}; vectors are computed without the user cache"));
                    None
                }
            }
        }
        None => None,
    };
    let read = started.elapsed();

    let staging = staging_dir(out)?;
    let result = (|| {
        fs::create_dir_all(&staging).map_err(io(&staging))?;
        let writer =
            VectorCacheWriter::open(&vectors_dir(&staging), embedder.model_id(), embedder.dimension())
                .map_err(EmbedError::from)?;
        let caching = CachingEmbedder {
            inner: embedder,
            cache,
            writer: Mutex::new(writer),
            written: Mutex::default(),
            counts: Mutex::default(),
            user: Mutex::new(user),
            words_dir: vector_cache.as_ref().map(|dir| dir.dir(CacheKind::Words)),
            words: Mutex::new(Words::Unread),
            word_counts: Mutex::default(),
            warnings: Mutex::new(warnings),
        };
        let t = Instant::now();
        let output =
            dream.run_asking(DreamInput { memories, sessions }, &caching, asking, observer, cancel)?;
        caching.complete_for(&output, dream.options().batch_size, cancel)?;
        let dream_time = t.elapsed();
        let (embedded, cached) = caching.counts.lock().map(|c| *c).unwrap_or_default();
        let words = caching.word_counts.lock().map(|c| *c).unwrap_or_default();
        let warnings = caching.warnings.lock().map(|mut w| std::mem::take(&mut *w)).unwrap_or_default();
        drop(caching);
        let t = Instant::now();
        write_output(&staging, &output)?;
        if let Some(bytes) = &link {
            write_synced(&staging.join(HOSTED_LINK_FILE), bytes)?;
            sync_dir(&staging)?;
        }
        Ok((output, (embedded, cached), words, warnings, dream_time, t))
    })();
    let (output, (embedded, cached), (words_computed, words_cached), warnings, dream_time, t) = match result {
        Ok(r) => r,
        Err(e) => {
            let _ = fs::remove_dir_all(&staging);
            return Err(e);
        }
    };
    fs::rename(&staging, out).map_err(io(out))?;
    sync_parent(out)?;
    let write = t.elapsed();
    Ok(DiskDream {
        report: output.report,
        report_dir: out.join(REPORT_DIR),
        embedded,
        cached,
        words_computed,
        words_cached,
        warnings,
        timings: Timings { read, dream: dream_time, write },
    })
}

/// `.NAME.dreaming` next to `out`; a leftover from an interrupted dream is removed.
fn staging_dir(out: &Path) -> Result<PathBuf, DreamError> {
    let name = out.file_name().ok_or_else(|| DreamError::OutputExists(out.to_owned()))?;
    let staging = out.with_file_name(format!(".{}.dreaming", name.to_string_lossy()));
    if staging.exists() {
        fs::remove_dir_all(&staging).map_err(io(&staging))?;
    }
    Ok(staging)
}

fn write_output(dir: &Path, output: &DreamOutput) -> Result<(), DreamError> {
    let mut store = Store::create(dir)?;
    let mut batch = store.batch();
    for m in &output.memories {
        batch.put_memory(m.clone())?;
    }
    batch.commit()?;
    let sessions = store.sessions()?;
    for s in &output.sessions {
        sessions.put(s)?;
    }
    drop(store);
    let report_dir = dir.join(REPORT_DIR);
    fs::create_dir_all(&report_dir).map_err(io(&report_dir))?;
    write_synced(&report_dir.join(REPORT_JSON), output.report.to_json().as_bytes())?;
    write_synced(&report_dir.join(REPORT_MD), output.report_markdown().as_bytes())?;
    let questions: String = output.questions.iter().map(|q| q.to_line() + "\n").collect();
    write_synced(&report_dir.join(QUESTIONS_JSONL), questions.as_bytes())?;
    sync_dir(&report_dir)?;
    sync_dir(dir)
}

/// STORE's link to a hosted memory store, if it has one: OUT inherits it,
/// so that OUT (or STORE, once OUT is accepted) pushes its changes there.
fn read_link(store: &Path) -> Result<Option<Vec<u8>>, DreamError> {
    let path = store.join(HOSTED_LINK_FILE);
    match fs::read(&path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(DreamError::Io { path, source }),
    }
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), DreamError> {
    use std::io::Write;
    let mut f = fs::File::create(path).map_err(io(path))?;
    f.write_all(bytes).map_err(io(path))?;
    f.sync_all().map_err(io(path))
}

fn sync_dir(dir: &Path) -> Result<(), DreamError> {
    fs::File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))
}

fn sync_parent(path: &Path) -> Result<(), DreamError> {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => sync_dir(p),
        _ => sync_dir(Path::new(".")),
    }
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> DreamError + '_ {
    move |source| DreamError::Io { path: path.to_owned(), source }
}

/// Whether `dir` is a dream output: a store holding `dream/report.json`.
pub fn is_dream_output(dir: &Path) -> bool {
    dir.join(crate::store::LOG_FILE).is_file() && dir.join(REPORT_DIR).join(REPORT_JSON).is_file()
}

/// Reads the report of the dream output in `out`.
pub fn read_report(out: &Path) -> Result<Report, DreamError> {
    let path = out.join(REPORT_DIR).join(REPORT_JSON);
    let text = fs::read_to_string(&path).map_err(io(&path))?;
    Report::from_json(&text).map_err(|e| DreamError::BadReport { path, message: e.to_string() })
}

/// One line of a diff between two stores.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DiffLine {
    /// Only in the new store.
    Added(MemoryPath),
    /// Only in the old store.
    Removed(MemoryPath),
    /// In both, with different content.
    Changed(MemoryPath),
}

/// The differences between the live memories of two stores, by path.
pub fn diff_stores(old: &Path, new: &Path) -> Result<Vec<DiffLine>, DreamError> {
    let a = Store::open_read_only(old)?;
    let b = Store::open_read_only(new)?;
    let left: BTreeMap<&MemoryPath, ContentHash> = a.iter().map(|m| (&m.path, m.hash)).collect();
    let right: BTreeMap<&MemoryPath, ContentHash> = b.iter().map(|m| (&m.path, m.hash)).collect();
    let paths: BTreeSet<&&MemoryPath> = left.keys().chain(right.keys()).collect();
    Ok(paths
        .into_iter()
        .filter_map(|p| match (left.get(*p), right.get(*p)) {
            (Some(_), None) => Some(DiffLine::Removed((*p).clone())),
            (None, Some(_)) => Some(DiffLine::Added((*p).clone())),
            (Some(x), Some(y)) if x != y => Some(DiffLine::Changed((*p).clone())),
            _ => None,
        })
        .collect())
}

/// Replaces the store in `store` with the dream output in `out`; returns
/// where the old store was kept (`STORE.bak-N`, the first free N).
pub fn accept(store: &Path, out: &Path) -> Result<PathBuf, DreamError> {
    if !is_dream_output(out) {
        return Err(DreamError::NotADreamOutput(out.to_owned()));
    }
    let report = read_report(out)?;
    let backup = {
        // Exclusive locks: no reader or writer of either store meanwhile.
        let current = Store::open(store)?;
        let produced = Store::open(out)?;
        let hash = current.store_hash().to_hex();
        if hash != report.input.store_hash {
            return Err(DreamError::StoreChanged {
                store: store.to_owned(),
                dreamed: report.input.store_hash,
                now: hash,
            });
        }
        drop(produced);
        drop(current);
        let name = store.file_name().ok_or_else(|| DreamError::NotADreamOutput(store.to_owned()))?;
        let mut n = 1;
        loop {
            let candidate = store.with_file_name(format!("{}.bak-{n}", name.to_string_lossy()));
            if !candidate.exists() {
                break candidate;
            }
            n += 1;
        }
    };
    fs::rename(store, &backup).map_err(io(store))?;
    if let Err(source) = fs::rename(out, store) {
        // Put the old store back where it was.
        let _ = fs::rename(&backup, store);
        return Err(DreamError::Io { path: out.to_owned(), source });
    }
    sync_parent(store)?;
    Ok(backup)
}

/// Removes the dream output in `out`, refusing any directory that is not
/// one (or that another process has open).
pub fn discard(out: &Path) -> Result<(), DreamError> {
    if !is_dream_output(out) {
        return Err(DreamError::NotADreamOutput(out.to_owned()));
    }
    drop(Store::open(out)?);
    fs::remove_dir_all(out).map_err(io(out))?;
    sync_parent(out)
}
