//! Command-line parsing and dispatch. Each area owns its subcommands in its
//! own file; this file only assembles them and turns errors into a one-line
//! message and exit status 1.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod dream;
mod embed;
pub(crate) mod progress;
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
    #[command(flatten)]
    Dream(dream::DreamCommand),
}

/// An error as the CLI reports it: one line on stderr, exit status 1.
pub(crate) type CliResult = Result<(), Box<dyn std::error::Error>>;

/// Parses arguments, runs the command, and maps errors to exit status 1.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Store(cmd) => store::run(cmd),
        Command::Sessions(cmd) => sessions::run(cmd),
        Command::Embed(cmd) => embed::run(cmd),
        Command::Model(cmd) => embed::run_model(cmd),
        Command::Dream(cmd) => dream::run(cmd),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("dreamwork: {e}");
            ExitCode::FAILURE
        }
    }
}
