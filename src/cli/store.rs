//! The store commands: `init`, `put`, `get`, `ls`, `rm`, `history`,
//! `import`, `export`, `verify`, `stats`, `compact`. Each is a translation
//! of its arguments into [`dreamwork::store`] calls.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use clap::{Subcommand, ValueEnum};

use dreamwork::MemoryPath;
use dreamwork::store::{ExportFormat, ImportOptions, Store, StoreError};

use super::CliResult;
use super::progress::Bars;

/// The store commands.
#[derive(Debug, Subcommand)]
pub(crate) enum StoreCommand {
    /// Create an empty store in STORE (a directory).
    Init {
        /// The store directory.
        store: PathBuf,
    },
    /// Write a memory; its content comes from --file, else from stdin.
    Put {
        /// The store directory.
        store: PathBuf,
        /// The memory path, e.g. /preferences/indentation.md.
        path: String,
        /// Read the content from this file.
        #[arg(long)]
        file: Option<PathBuf>,
    },
    /// Print a memory's content.
    Get {
        /// The store directory.
        store: PathBuf,
        /// The memory path.
        path: String,
        /// Print it as it was at this version.
        #[arg(long)]
        version: Option<u64>,
    },
    /// List memory paths, one per line, sorted.
    Ls {
        /// The store directory.
        store: PathBuf,
        /// Only paths starting with this prefix.
        prefix: Option<String>,
    },
    /// Delete a memory.
    Rm {
        /// The store directory.
        store: PathBuf,
        /// The memory path.
        path: String,
    },
    /// Print every version of a memory: version, time, change, hash, size.
    History {
        /// The store directory.
        store: PathBuf,
        /// The memory path.
        path: String,
    },
    /// Import a directory of text files or a .jsonl file of memory objects,
    /// as one version, all or nothing.
    Import {
        /// The store directory.
        store: PathBuf,
        /// A directory (path = relative file path) or a JSONL file.
        src: PathBuf,
        /// Skip bad lines or files (listed on stderr) instead of aborting.
        #[arg(long)]
        skip_bad_lines: bool,
    },
    /// Export the live memories to a directory or a JSONL file.
    Export {
        /// The store directory.
        store: PathBuf,
        /// The target directory (missing or empty) or JSONL file.
        dest: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = FormatArg::Dir)]
        format: FormatArg,
    },
    /// Check every checksum and record; exit status 1 if anything is wrong.
    Verify {
        /// The store directory.
        store: PathBuf,
    },
    /// Print counts, sizes and the store hash.
    Stats {
        /// The store directory.
        store: PathBuf,
    },
    /// Write a snapshot so that the next open is fast (history is kept).
    Compact {
        /// The store directory.
        store: PathBuf,
    },
    /// Set damage aside (nothing is deleted) so that a damaged store opens
    /// again, keeping every commit before the damage.
    Repair {
        /// The store directory.
        store: PathBuf,
    },
}

/// `--format` values of `export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum FormatArg {
    /// One file per memory.
    Dir,
    /// One JSON object per line.
    Jsonl,
}

/// Runs one store command; a damaged store's error names the way out.
pub(crate) fn run(cmd: StoreCommand) -> CliResult {
    run_command(cmd).map_err(|e| -> Box<dyn std::error::Error> {
        match e.downcast::<StoreError>() {
            Ok(e) if matches!(*e, StoreError::Corrupt { .. }) => {
                format!("{e} (`dreamwork repair` sets the damage aside)").into()
            }
            Ok(e) => e,
            Err(e) => e,
        }
    })
}

fn run_command(cmd: StoreCommand) -> CliResult {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    match cmd {
        StoreCommand::Init { store } => {
            Store::create(&store)?;
            writeln!(out, "created store {}", store.display())?;
        }
        StoreCommand::Put { store, path, file } => {
            let path = MemoryPath::new(&path)?;
            let content = read_content(file.as_deref())?;
            let version = Store::open(&store)?.put(&path, &content)?;
            writeln!(out, "{path}: version {version}")?;
        }
        StoreCommand::Get { store, path, version } => {
            let path = MemoryPath::new(&path)?;
            let store_ = Store::open_read_only(&store)?;
            let memory = match version {
                Some(v) => store_.get_at(&path, v)?,
                None => store_.get(&path).cloned(),
            };
            let Some(memory) = memory else {
                let at = version.map(|v| format!(" at version {v}")).unwrap_or_default();
                return Err(format!("{}: no memory at {path}{at}", store.display()).into());
            };
            out.write_all(memory.content.as_bytes())?;
        }
        StoreCommand::Ls { store, prefix } => {
            let store = Store::open_read_only(&store)?;
            for memory in store.list(prefix.as_deref().unwrap_or("")) {
                writeln!(out, "{}", memory.path)?;
            }
        }
        StoreCommand::Rm { store, path } => {
            let path = MemoryPath::new(&path)?;
            match Store::open(&store)?.delete(&path)? {
                Some(version) => writeln!(out, "{path}: deleted, version {version}")?,
                None => return Err(format!("{}: no memory at {path}", store.display()).into()),
            }
        }
        StoreCommand::History { store, path } => {
            let path = MemoryPath::new(&path)?;
            let revisions = Store::open_read_only(&store)?.history(&path)?;
            if revisions.is_empty() {
                return Err(format!("{}: {path} has no history", store.display()).into());
            }
            for r in revisions {
                match &r.memory {
                    Some(m) => writeln!(
                        out,
                        "{}\t{}\tput\t{}\t{} bytes",
                        r.version,
                        r.at.to_rfc3339(),
                        &m.hash.to_hex()[..16],
                        m.content.len()
                    )?,
                    None => writeln!(out, "{}\t{}\tdelete", r.version, r.at.to_rfc3339())?,
                }
            }
        }
        StoreCommand::Import { store, src, skip_bad_lines } => {
            let mut store = Store::open(&store)?;
            let bars = Bars::new();
            let options = ImportOptions::default()
                .with_skip_bad_lines(skip_bad_lines)
                .with_cancel(super::interrupt().clone());
            let result = store.import(&src, &options, &bars);
            bars.finish();
            let report = result?;
            for s in &report.skipped {
                match s.line {
                    Some(line) => {
                        eprintln!("dreamwork: skipped {}, line {line}: {}", s.file.display(), s.reason)
                    }
                    None => eprintln!("dreamwork: skipped {}", s.reason),
                }
            }
            writeln!(
                out,
                "imported {} memories ({} skipped), version {}",
                report.imported,
                report.skipped.len(),
                report.version
            )?;
        }
        StoreCommand::Export { store, dest, format } => {
            let store = Store::open_read_only(&store)?;
            let format = match format {
                FormatArg::Dir => ExportFormat::Dir,
                FormatArg::Jsonl => ExportFormat::Jsonl,
            };
            let bars = Bars::new();
            let result = store.export(&dest, format, &bars);
            bars.finish();
            writeln!(out, "exported {} memories to {}", result?, dest.display())?;
        }
        StoreCommand::Verify { store } => {
            let report = Store::verify(&store)?;
            for problem in &report.problems {
                writeln!(out, "problem: {problem}")?;
            }
            if let Some(torn) = &report.torn_tail {
                writeln!(
                    out,
                    "torn tail: {} at offset {}: {} (an interrupted write; the next write drops it)",
                    store.join(dreamwork::store::LOG_FILE).display(),
                    torn.offset,
                    torn.reason
                )?;
            }
            if !report.is_ok() {
                out.flush()?;
                let count = report.problems.len() + usize::from(report.torn_tail.is_some());
                let first = report.problems.first().cloned().unwrap_or_else(|| "torn tail in the log".into());
                return Err(
                    format!("{}: verify found {count} problem(s); first: {first}", store.display()).into()
                );
            }
            writeln!(
                out,
                "ok: version {}, {} memories, {} log bytes",
                report.version, report.memories, report.log_bytes
            )?;
        }
        StoreCommand::Stats { store } => {
            let stats = Store::open_read_only(&store)?.stats();
            writeln!(out, "memories: {}", stats.memories)?;
            writeln!(out, "content_bytes: {}", stats.content_bytes)?;
            writeln!(out, "version: {}", stats.version)?;
            writeln!(out, "log_bytes: {}", stats.log_bytes)?;
            writeln!(out, "snapshot_bytes: {}", stats.snapshot_bytes)?;
            writeln!(out, "log_bytes_since_snapshot: {}", stats.log_bytes_since_snapshot)?;
            writeln!(out, "store_hash: {}", stats.store_hash)?;
        }
        StoreCommand::Compact { store } => {
            let mut store_ = Store::open(&store)?;
            store_.compact()?;
            writeln!(out, "snapshot written at version {}", store_.version())?;
        }
        StoreCommand::Repair { store } => {
            let report = Store::repair(&store)?;
            if let Some(to) = &report.snapshot_moved_to {
                writeln!(out, "snapshot set aside as {}", to.display())?;
            }
            if let (Some(cut), Some((saved, bytes))) = (report.log_cut_at, &report.log_saved_to) {
                writeln!(
                    out,
                    "log cut at offset {cut}; the {bytes} bytes after it saved as {}",
                    saved.display()
                )?;
            }
            if report.is_noop() {
                writeln!(out, "nothing to repair")?;
            }
        }
    }
    out.flush()?;
    Ok(())
}

/// The content for `put`: the file's text, else stdin's.
fn read_content(file: Option<&Path>) -> Result<String, Box<dyn std::error::Error>> {
    match file {
        Some(f) => {
            let bytes = std::fs::read(f).map_err(|e| format!("{}: {e}", f.display()))?;
            String::from_utf8(bytes).map_err(|_| format!("{}: content is not UTF-8 text", f.display()).into())
        }
        None => {
            let mut bytes = Vec::new();
            std::io::stdin().read_to_end(&mut bytes).map_err(|e| format!("stdin: {e}"))?;
            String::from_utf8(bytes).map_err(|_| "stdin: content is not UTF-8 text".into())
        }
    }
}
