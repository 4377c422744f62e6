//! Placeholder: replaced by the dream commands.

use clap::Subcommand;

use super::CliResult;

#[derive(Debug, Subcommand)]
pub(crate) enum DreamCommand {}

pub(crate) fn run(cmd: DreamCommand) -> CliResult {
    match cmd {}
}
