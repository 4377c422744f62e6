//! Placeholder: replaced by the embedding commands.

use clap::Subcommand;

use super::CliResult;

#[derive(Debug, Subcommand)]
pub(crate) enum EmbedCommand {}

#[derive(Debug, Subcommand)]
pub(crate) enum ModelCommand {}

pub(crate) fn run(cmd: EmbedCommand) -> CliResult {
    match cmd {}
}

pub(crate) fn run_model(cmd: ModelCommand) -> CliResult {
    match cmd {}
}
