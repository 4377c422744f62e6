//! The Rust side of the Python binding's overhead figures: the calls
//! `python/src/core.rs` makes for `Store.put`, `Store.get`, `Store.search`
//! and `dreamwork.dream`, made here directly on the same workload, timed
//! the same way. `python/bench/overhead.py` writes the workload, runs this
//! and then the same calls from Python, and prints both with their ratio.
//!
//! ```sh
//! cargo build --release --example binding_overhead --no-default-features --features minilm,remote
//! python python/bench/overhead.py --rust target/release/examples/binding_overhead
//! ```
//!
//! Arguments: `WORKLOAD.jsonl QUERIES.txt WORKDIR`; prints one JSON object
//! (seconds per call).

use std::error::Error;
use std::path::{Path, PathBuf};
use std::time::Instant;

use dreamwork::dream::disk::{self, DiskRequest};
use dreamwork::resolve::{Asking, LocalResolver};
use dreamwork::{
    CancelToken, Dream, DreamOptions, LexicalEmbedder, MemoryPath, Searcher, SharedStore, Silent, Store,
    StoreError,
};

/// Repetitions, as in overhead.py.
const GET_ROUNDS: usize = 20;
const SEARCH_ROUNDS: usize = 10;
const DREAM_ROUNDS: usize = 3;
const PUTS: usize = 200;

fn put(shared: &mut SharedStore, path: &str, content: &str) -> Result<u64, Box<dyn Error>> {
    let path = MemoryPath::new(path)?;
    Ok(shared.write(|s| s.put(&path, content))?)
}

fn get(shared: &mut SharedStore, path: &str) -> Result<Option<String>, Box<dyn Error>> {
    let path = MemoryPath::new(path)?;
    Ok(shared.read(|s| s.get(&path).map(|m| m.content.clone()))?)
}

fn open_new(dir: &Path) -> Result<SharedStore, StoreError> {
    drop(Store::create(dir)?);
    SharedStore::open(dir)
}

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [workload, queries, work] = args.as_slice() else {
        return Err("usage: binding_overhead WORKLOAD.jsonl QUERIES.txt WORKDIR".into());
    };
    let work = PathBuf::from(work);
    let memories: Vec<(String, String)> = std::fs::read_to_string(workload)?
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| -> Result<(String, String), Box<dyn Error>> {
            let v: serde_json::Value = serde_json::from_str(l)?;
            let field = |k: &str| v[k].as_str().map(str::to_owned).ok_or(format!("no {k} in {l}"));
            Ok((field("path")?, field("content")?))
        })
        .collect::<Result<_, _>>()?;
    let queries: Vec<String> = std::fs::read_to_string(queries)?.lines().map(str::to_owned).collect();
    let Some(first_query) = queries.first() else { return Err("no queries".into()) };
    if memories.is_empty() {
        return Err("no memories in the workload".into());
    }

    // put: fresh paths into a fresh store, one durable write each; the
    // fastest (an fsync's time varies tenfold on this disk).
    let mut scratch = open_new(&work.join("rust-put"))?;
    let mut puts = Vec::with_capacity(PUTS);
    for (path, content) in memories.iter().take(PUTS) {
        let t = Instant::now();
        put(&mut scratch, path, content)?;
        puts.push(t.elapsed().as_secs_f64());
    }
    let put_best = puts.iter().copied().fold(f64::INFINITY, f64::min);

    let store_dir = work.join("rust-store");
    let mut shared = open_new(&store_dir)?;
    for (path, content) in &memories {
        put(&mut shared, path, content)?;
    }

    // get: every path, GET_ROUNDS passes; the best pass's mean (the
    // machine is shared: the fastest pass is the one least disturbed).
    let mut bytes = 0;
    let mut get_best = f64::INFINITY;
    for _ in 0..GET_ROUNDS {
        let t = Instant::now();
        for (path, _) in &memories {
            bytes += get(&mut shared, path)?.map_or(0, |c| c.len());
        }
        get_best = get_best.min(t.elapsed().as_secs_f64() / memories.len() as f64);
    }
    std::hint::black_box(bytes);

    // search: the lexical embedder, k = 10, after one warm-up query that
    // builds the index; SEARCH_ROUNDS passes over the queries, the best one's mean.
    let mut searcher = Searcher::new(Box::new(LexicalEmbedder::default()));
    searcher.search_shared(&mut shared, first_query, 10)?;
    let mut search_best = f64::INFINITY;
    for _ in 0..SEARCH_ROUNDS {
        let t = Instant::now();
        for q in &queries {
            let hits: Vec<(String, f32)> = searcher
                .search_shared(&mut shared, q, 10)?
                .into_iter()
                .map(|h| (h.path.to_string(), h.score))
                .collect();
            std::hint::black_box(hits);
        }
        search_best = search_best.min(t.elapsed().as_secs_f64() / queries.len() as f64);
    }

    // dream: lexical, local resolver, no user cache; the report read back (best of DREAM_ROUNDS).
    let mut dreams = Vec::new();
    for round in 0..DREAM_ROUNDS {
        let out = work.join(format!("rust-dream-{round}"));
        let t = Instant::now();
        let request = DiskRequest::new(store_dir.clone(), out.clone());
        let mut asking = Asking::new(&LocalResolver);
        let done = disk::dream_store(
            &Dream::new(DreamOptions::default()),
            request,
            &LexicalEmbedder::default(),
            &mut asking,
            &Silent,
            &CancelToken::new(),
        )?;
        let report = std::fs::read_to_string(done.report_dir.join(disk::REPORT_JSON))?;
        dreams.push(t.elapsed().as_secs_f64());
        std::hint::black_box(report);
    }
    let dream_best = dreams.iter().copied().fold(f64::INFINITY, f64::min);

    println!(
        "{}",
        serde_json::json!({
            "put": put_best, "get": get_best, "search": search_best, "dream": dream_best,
            "memories": memories.len(), "queries": queries.len(),
        })
    );
    Ok(())
}
