//! Placeholder: replaced by the sessions commands.

use clap::Subcommand;

use super::CliResult;

#[derive(Debug, Subcommand)]
pub(crate) enum SessionsCommand {}

pub(crate) fn run(cmd: SessionsCommand) -> CliResult {
    match cmd {}
}
