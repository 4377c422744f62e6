//! Placeholder: replaced by the store commands.

use clap::Subcommand;

use super::CliResult;

#[derive(Debug, Subcommand)]
pub(crate) enum StoreCommand {}

pub(crate) fn run(cmd: StoreCommand) -> CliResult {
    match cmd {}
}
