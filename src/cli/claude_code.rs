//! `dreamwork claude-code`: where Claude Code keeps a project's memory.

use std::path::PathBuf;

use clap::Subcommand;
use dreamwork::folder::claude_code;

use super::CliResult;

/// Claude Code's memory folders.
#[derive(Debug, Subcommand)]
pub(crate) enum ClaudeCodeCommand {
    /// Print the memory folder of a project: CLAUDE_CONFIG_DIR (else
    /// ~/.claude) /projects/SLUG/memory, SLUG being the project's absolute
    /// path with every character outside [A-Za-z0-9] replaced by '-'.
    Path {
        /// The project directory (default: the current directory).
        project: Option<PathBuf>,
    },
}

pub(crate) fn run(cmd: ClaudeCodeCommand) -> CliResult {
    match cmd {
        ClaudeCodeCommand::Path { project } => {
            let project = project.unwrap_or_else(|| PathBuf::from("."));
            println!("{}", claude_code::memory_dir(&project)?.display());
            Ok(())
        }
    }
}
