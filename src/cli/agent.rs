//! The agent commands: `search`, `memory-tool` and `mcp`. Each translates
//! its arguments into [`dreamwork::agent`] calls on a
//! [`SharedStore`](dreamwork::store::SharedStore), which takes the store's
//! lock per operation, so other processes can write while they run.

use std::path::PathBuf;

use clap::Subcommand;

use dreamwork::agent::{Searcher, jsonl};
use dreamwork::store::SharedStore;

use super::CliResult;
use super::embed::ModelArgs;

/// The agent commands.
#[derive(Debug, Subcommand)]
pub(crate) enum AgentCommand {
    /// Print the K memories nearest in meaning to QUERY: path, tab,
    /// cosine, tab, first line. Vectors missing from STORE's cache are
    /// embedded and saved to it.
    Search {
        /// The store directory.
        store: PathBuf,
        /// What to look for, in words.
        query: String,
        /// How many to print.
        #[arg(short, default_value_t = 10)]
        k: usize,
        #[command(flatten)]
        model: ModelArgs,
    },
    /// Execute Claude memory-tool commands: one command JSON (a tool_use
    /// input, or the whole tool_use block) per line on stdin, one
    /// tool_result JSON per line on stdout.
    MemoryTool {
        /// The store directory.
        store: PathBuf,
    },
    /// Serve STORE over MCP on stdin/stdout: the memory-tool commands as
    /// tools memory_view, memory_create, memory_str_replace, memory_insert,
    /// memory_delete, memory_rename, plus memory_search.
    #[cfg(feature = "mcp")]
    Mcp {
        /// The store directory.
        store: PathBuf,
        #[command(flatten)]
        model: ModelArgs,
    },
}

pub(crate) fn run(cmd: AgentCommand) -> CliResult {
    match cmd {
        AgentCommand::Search { store, query, k, model } => {
            let mut store = SharedStore::open(&store)?;
            let mut searcher = Searcher::new(model.load()?);
            for hit in searcher.search_shared(&mut store, &query, k)? {
                println!("{}\t{:.4}\t{}", hit.path, hit.score, hit.first_line);
            }
            Ok(())
        }
        AgentCommand::MemoryTool { store } => {
            let mut store = SharedStore::open(&store)?;
            let stdin = std::io::stdin();
            jsonl::serve_lines(&mut store, stdin.lock(), std::io::stdout().lock())?;
            Ok(())
        }
        #[cfg(feature = "mcp")]
        AgentCommand::Mcp { store, model } => {
            let agent = dreamwork::AgentStore::open(&store, model.load()?)?;
            dreamwork::agent::mcp::MemoryServer::new(agent).serve_stdio()?;
            Ok(())
        }
    }
}
