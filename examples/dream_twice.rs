//! The nightly dream from cron, twice: a store of the seeded corpus (about
//! 10k memories and 100 transcripts by default) dreamed by the release CLI
//! with a fresh user vector cache, then dreamed again with no `dreamwork
//! embed` in between. Prints both wall times and their ratio, and the user
//! cache's files; the second run reads every vector (pooled, and the
//! judge's word vectors) from the user cache the first one filled.
//!
//! ```sh
//! cargo build --release --bin dreamwork
//! cargo run --release --example dream_twice [-- FACTS SESSIONS EMBEDDER]
//! ```
//!
//! Defaults: 6200 facts (~10k memories), 100 sessions, `minilm` (its model
//! must be installed: `dreamwork model fetch`). The MiniLM model is found as
//! the CLI finds it; only the vector cache is a fresh temporary directory.

use std::error::Error;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use dreamwork::embed::locate::{LocateOptions, locate};
use dreamwork::store::Store;
use dreamwork_testkit::corpus::{Spec, generate};

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let facts: usize = args.first().map_or(Ok(6200), |a| a.parse())?;
    let sessions: usize = args.get(1).map_or(Ok(100), |a| a.parse())?;
    let embedder = args.get(2).map_or("minilm", String::as_str);

    let exe = std::env::current_exe()?;
    let bin =
        exe.parent().and_then(Path::parent).map(|dir| dir.join("dreamwork")).filter(|p| p.is_file()).ok_or(
            "no dreamwork binary next to this example: run `cargo build --release --bin dreamwork` first",
        )?;

    let tmp = tempfile::tempdir()?;
    let store = tmp.path().join("store");
    let corpus = generate(Spec { seed: 7, facts, sessions, session_scale: 1 });
    {
        let mut s = Store::create(&store)?;
        let mut batch = s.batch();
        for m in &corpus.memories {
            batch.put_memory(m.clone())?;
        }
        batch.commit()?;
        let kept = s.sessions()?;
        for session in &corpus.sessions {
            kept.put(session)?;
        }
    }
    println!(
        "store: {} memories, {} sessions; embedder {embedder}; binary {}",
        corpus.memories.len(),
        corpus.sessions.len(),
        bin.display()
    );

    let mut model: Vec<String> = vec!["--embedder".into(), embedder.into()];
    if embedder == "minilm" {
        let located = locate(&LocateOptions::default());
        let (dir, lib) = located.paths().ok_or_else(|| located.missing_message())?;
        model.extend(["--model-dir".into(), path_arg(dir)?, "--ort-lib".into(), path_arg(lib)?]);
    }
    model.extend(["--cache-dir".into(), path_arg(&tmp.path().join("cache"))?]);

    let first = dream(&bin, &store, &tmp.path().join("night-1"), &model)?;
    let cache = dreamwork::embed::CacheDir::new(tmp.path().join("cache"));
    for kind in dreamwork::embed::CacheKind::ALL {
        for file in cache.files(kind)? {
            println!("user cache {}: {} entries, {} bytes", file.path.display(), file.entries, file.bytes);
        }
    }
    let second = dream(&bin, &store, &tmp.path().join("night-2"), &model)?;
    println!(
        "first {:.2} s, second {:.2} s, second / first = {:.3}",
        first.as_secs_f64(),
        second.as_secs_f64(),
        second.as_secs_f64() / first.as_secs_f64()
    );
    Ok(())
}

/// Runs one dream, prints its summary line, returns its wall time.
fn dream(bin: &Path, store: &Path, out: &Path, model: &[String]) -> Result<Duration, Box<dyn Error>> {
    let started = Instant::now();
    let done = Command::new(bin).arg("dream").arg(store).arg("--out").arg(out).args(model).output()?;
    let took = started.elapsed();
    let stdout = String::from_utf8_lossy(&done.stdout);
    if !done.status.success() {
        return Err(format!("dream failed: {}", String::from_utf8_lossy(&done.stderr)).into());
    }
    println!("{}", stdout.lines().next().unwrap_or_default());
    Ok(took)
}

fn path_arg(p: &Path) -> Result<String, Box<dyn Error>> {
    p.to_str().map(str::to_owned).ok_or_else(|| format!("{} is not UTF-8", PathBuf::from(p).display()).into())
}
