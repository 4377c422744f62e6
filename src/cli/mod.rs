//! Command-line parsing and dispatch. Each area owns its subcommands in its
//! own file; this file only assembles them and turns errors into a one-line
//! message and exit status 1.

use std::process::ExitCode;
use std::sync::OnceLock;

use clap::{Parser, Subcommand};
use dreamwork::CancelToken;

mod agent;
mod claude_code;
mod dream;
mod embed;
#[cfg(feature = "remote")]
mod hosted;
pub(crate) mod progress;
#[cfg(feature = "remote")]
mod remote;
mod review;
mod sessions;
mod store;

/// Keep an AI agent's long-term memory on the device and dream over it.
#[derive(Debug, Parser)]
#[command(name = "dreamwork", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    #[command(flatten)]
    Store(store::StoreCommand),
    /// Import and inspect session transcripts.
    #[command(subcommand)]
    Sessions(sessions::SessionsCommand),
    #[command(flatten)]
    Embed(embed::EmbedCommand),
    /// Install or locate the MiniLM model and ONNX Runtime.
    #[command(subcommand)]
    Model(embed::ModelCommand),
    /// Inspect or clear the user vector cache that dreams fill.
    #[command(subcommand)]
    Cache(embed::CacheCommand),
    #[command(flatten)]
    Dream(dream::DreamCommand),
    #[command(flatten)]
    Agent(agent::AgentCommand),
    #[cfg(feature = "remote")]
    #[command(flatten)]
    Hosted(hosted::HostedCommand),
    /// Find Claude Code's memory folders (dream them in place with `dream`).
    #[command(subcommand, name = "claude-code")]
    ClaudeCode(claude_code::ClaudeCodeCommand),
    /// Settle the clusters a dream left open, one key each, in the terminal
    /// (or from a file of answers); then rewrite OUT with the answers.
    Review(review::ReviewArgs),
}

impl Command {
    /// Whether the command is a long job that checks [`interrupt`] between
    /// batches; any other is stopped by Ctrl-C the usual way (at once).
    fn checks_interrupt(&self) -> bool {
        #[cfg(feature = "remote")]
        if matches!(self, Command::Hosted(_) | Command::Sessions(sessions::SessionsCommand::Fetch { .. })) {
            return true;
        }
        matches!(
            self,
            Command::Store(store::StoreCommand::Import { .. })
                | Command::Sessions(sessions::SessionsCommand::Import { .. })
                | Command::Embed(_)
                | Command::Dream(dream::DreamCommand::Dream { .. })
                | Command::Review(_)
        )
    }
}

/// An error as the CLI reports it: one line on stderr, exit status 1.
pub(crate) type CliResult = Result<(), Box<dyn std::error::Error>>;

/// Exit status after an interrupt (128 + SIGINT, as shells report it).
const EXIT_INTERRUPTED: u8 = 130;

/// The token Ctrl-C cancels. Long jobs (import, embed, dream) check it
/// between batches, stop, and leave nothing half-written behind.
pub(crate) fn interrupt() -> &'static CancelToken {
    static TOKEN: OnceLock<CancelToken> = OnceLock::new();
    TOKEN.get_or_init(CancelToken::new)
}

/// Installs the Ctrl-C handler: the first interrupt cancels [`interrupt`];
/// a second one exits at once (which the store survives as it would a crash).
fn install_interrupt_handler() {
    let token = interrupt().clone();
    let installed = ctrlc::set_handler(move || {
        if token.is_cancelled() {
            std::process::exit(i32::from(EXIT_INTERRUPTED));
        }
        token.cancel();
        eprintln!(
            "\ndreamwork: interrupted; stopping after the current batch (Ctrl-C again to quit at once)"
        );
    });
    if let Err(e) = installed {
        // Without a handler Ctrl-C still stops the process, only less tidily.
        eprintln!("dreamwork: warning: cannot handle Ctrl-C: {e}");
    }
}

/// Parses arguments, runs the command, and maps errors to exit status 1
/// (130 when the job stopped because of Ctrl-C).
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.command.checks_interrupt() {
        install_interrupt_handler();
    }
    let result = match cli.command {
        Command::Store(cmd) => store::run(cmd),
        Command::Sessions(cmd) => sessions::run(cmd),
        Command::Embed(cmd) => embed::run(cmd),
        Command::Model(cmd) => embed::run_model(cmd),
        Command::Cache(cmd) => embed::run_cache(cmd),
        Command::Dream(cmd) => dream::run(cmd),
        Command::Agent(cmd) => agent::run(cmd),
        #[cfg(feature = "remote")]
        Command::Hosted(cmd) => hosted::run(cmd),
        Command::Review(args) => review::run(args),
        Command::ClaudeCode(cmd) => claude_code::run(cmd),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if interrupt().is_cancelled() => {
            eprintln!("dreamwork: {e}");
            ExitCode::from(EXIT_INTERRUPTED)
        }
        Err(e) => {
            eprintln!("dreamwork: {e}");
            ExitCode::FAILURE
        }
    }
}
