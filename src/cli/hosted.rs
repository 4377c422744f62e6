//! `dreamwork pull`, `push` and `sessions fetch`: a translation of their
//! arguments into [`dreamwork::hosted`] calls. The key and endpoint come
//! from `ANTHROPIC_API_KEY` and `ANTHROPIC_BASE_URL`, never from arguments.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Subcommand, ValueEnum};

use dreamwork::hosted::{self, Conflict, ConflictWinner, Hosted};
use dreamwork::resolve::http::{Client, ClientConfig};
use dreamwork::store::Store;

use super::CliResult;
use super::progress::Bars;

/// The hosted memory-store commands.
#[derive(Debug, Subcommand)]
pub(crate) enum HostedCommand {
    /// Bring a hosted memory store (Claude Managed Agents) into STORE,
    /// creating STORE if needed; again later, only what changed. A memory
    /// changed both here and on the server is a conflict: kept as it is
    /// here (exit status 1) unless --prefer says which side wins.
    Pull {
        /// The hosted memory store id (memstore_…).
        memory_store_id: String,
        /// The store directory.
        store: PathBuf,
        /// Settle conflicts: `server` takes the server's version (the local
        /// one stays in the store's history); `local` keeps this store's,
        /// and the next push sends it over the server's.
        #[arg(long, value_enum)]
        prefer: Option<Prefer>,
        /// Seconds one request may take before it is retried.
        #[arg(long, default_value_t = 120, value_name = "SECS")]
        request_timeout: u64,
    },
    /// Send what changed in STORE since the last pull to the hosted store:
    /// created, modified, renamed and deleted memories, each only if the
    /// server still has what was pulled. A memory an agent changed
    /// meanwhile is left as the server has it and named (exit status 1);
    /// this store keeps its version.
    Push {
        /// The store directory.
        store: PathBuf,
        /// The hosted memory store id STORE was pulled from.
        #[arg(required_unless_present = "new_store", conflicts_with = "new_store")]
        memory_store_id: Option<String>,
        /// Print the changes that would be sent; send nothing.
        #[arg(long)]
        dry_run: bool,
        /// Create a new hosted store named NAME with every memory of STORE
        /// and print its id (STORE is linked to it if it was linked to none).
        #[arg(long, value_name = "NAME", conflicts_with = "dry_run")]
        new_store: Option<String>,
        /// Seconds one request may take before it is retried.
        #[arg(long, default_value_t = 120, value_name = "SECS")]
        request_timeout: u64,
    },
}

/// Which side wins a conflict.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum Prefer {
    /// This store's version.
    Local,
    /// The server's version.
    Server,
}

fn endpoints(request_timeout: u64) -> Result<Hosted, Box<dyn std::error::Error>> {
    let mut config = ClientConfig::from_env()?;
    config.timeout = Duration::from_secs(request_timeout.max(1));
    Ok(Hosted::new(Client::new(config, super::interrupt().clone())))
}

/// `n thing` or `n things`.
fn count(n: usize, thing: &str) -> String {
    if n == 1 { format!("1 {thing}") } else { format!("{n} {thing}s") }
}

fn conflicts_error(conflicts: &[Conflict], what: &str) -> CliResult {
    for c in conflicts {
        eprintln!("dreamwork: conflict: {c}");
    }
    match conflicts.len() {
        0 => Ok(()),
        n => Err(format!("{} {what}", count(n, "conflict")).into()),
    }
}

pub(crate) fn run(cmd: HostedCommand) -> CliResult {
    match cmd {
        HostedCommand::Pull { memory_store_id, store, prefer, request_timeout } => {
            let hosted = endpoints(request_timeout)?;
            let prefer = prefer.map(|p| match p {
                Prefer::Local => ConflictWinner::Local,
                Prefer::Server => ConflictWinner::Server,
            });
            let bars = Bars::new();
            let result = hosted::pull_into(&store, &hosted, &memory_store_id, prefer, &bars);
            bars.finish();
            let r = result?;
            for (path, why) in &r.skipped {
                eprintln!("dreamwork: skipped {path}: {why}");
            }
            println!(
                "pulled {memory_store_id} into {}: {} listed, {} new, {} updated, {} renamed, {} deleted ({} read one by one)",
                store.display(),
                r.listed,
                r.created.len(),
                r.updated.len(),
                r.renamed.len(),
                r.deleted.len(),
                r.fetched
            );
            if prefer.is_some() {
                for c in &r.conflicts {
                    eprintln!("dreamwork: settled: {c}");
                }
                return Ok(());
            }
            conflicts_error(
                &r.conflicts,
                "left as they are here; pull --prefer local or --prefer server settles them",
            )
        }
        HostedCommand::Push { store, memory_store_id, dry_run, new_store, request_timeout } => {
            if let Some(name) = new_store {
                let hosted = endpoints(request_timeout)?;
                let source = Store::open(&store)?;
                let bars = Bars::new();
                let result = hosted::push_new(&source, &hosted, &name, &bars);
                bars.finish();
                drop(source);
                let done = result?;
                let linked = if done.linked {
                    format!("; {} is linked to it", store.display())
                } else {
                    String::new()
                };
                let memories = if done.created == 1 {
                    "1 memory".to_owned()
                } else {
                    format!("{} memories", done.created)
                };
                eprintln!("created memory store {name:?} with {memories}{linked}");
                println!("{}", done.memory_store_id);
                return Ok(());
            }
            let Some(id) = memory_store_id else {
                return Err("push needs MEMORY_STORE_ID or --new-store NAME".into());
            };
            if dry_run {
                return print_plan(&store, &id);
            }
            let hosted = endpoints(request_timeout)?;
            let bars = Bars::new();
            let result = hosted::push_store(&store, &hosted, &id, &bars);
            bars.finish();
            let r = result?;
            let (mut c, mut m, mut n, mut d) = (0, 0, 0, 0);
            for change in r.sent.iter().chain(&r.already) {
                match change {
                    hosted::PushChange::Create { .. } => c += 1,
                    hosted::PushChange::Modify { .. } => m += 1,
                    hosted::PushChange::Rename { .. } => n += 1,
                    hosted::PushChange::Delete { .. } => d += 1,
                    _ => {}
                }
            }
            println!(
                "pushed {} to {id}: {c} created, {m} modified, {n} renamed, {d} deleted; {} in {}",
                store.display(),
                count(r.conflicts.len(), "conflict"),
                count(r.requests, "request")
            );
            conflicts_error(
                &r.conflicts,
                "left as the server has them (this store keeps its versions); pull to see them, then \
                 pull --prefer local or --prefer server to settle",
            )
        }
    }
}

fn print_plan(store: &Path, id: &str) -> CliResult {
    let source = Store::open_read_only(store)?;
    let link = hosted::linked(store, id)?;
    let plan = hosted::plan_push(&source, &link)?;
    let mut out = String::new();
    for change in &plan.changes {
        out.push_str(&format!("{change}\n"));
    }
    let (c, m, r, d) = plan.counts();
    out.push_str(&format!(
        "dry run: would send {} to {id} ({c} create, {m} modify, {r} rename, {d} delete); {} unchanged; nothing sent\n",
        count(plan.changes.len(), "change"),
        plan.unchanged
    ));
    print!("{out}");
    Ok(())
}

/// `sessions fetch`: the events of hosted sessions, stored as transcripts.
pub(crate) fn fetch(store: &Path, ids: &[String], request_timeout: u64) -> CliResult {
    let hosted = endpoints(request_timeout)?;
    let store = Store::open(store)?;
    let sessions = store.sessions()?;
    let fetched = hosted::fetch_sessions(&sessions, &hosted, ids)?;
    let mut new = 0;
    for f in &fetched {
        match &f.stored {
            Some(id) => {
                println!("{}\t{}\t{}\t{}", f.session_id, count(f.events, "event"), count(f.turns, "turn"), id)
            }
            None => println!(
                "{}\t{}\tno transcript events: nothing stored",
                f.session_id,
                count(f.events, "event")
            ),
        }
        new += usize::from(f.new);
    }
    println!("fetched {} ({new} new)", count(fetched.len(), "session"));
    Ok(())
}
