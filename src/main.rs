//! The `dreamwork` command-line tool: a thin translation of arguments into
//! library calls (see `cli/`).

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
