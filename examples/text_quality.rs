//! Certain or ask, measured on public labelled pairs nobody on this project
//! wrote: how the dream's stage 2 (`dream::near::Judging::pair`, the rules
//! then the judge, the same function it runs on every candidate) decides
//! SICK and MRPC pairs.
//!
//! ```text
//! cargo run --release --example text_quality [DATA_DIR] [--embedder minilm|lexical] [--all]
//! ```
//!
//! `DATA_DIR` (default `$DREAMWORK_DATA_DIR`, else `../shared/data`) holds
//! `sick/sick-train-trial.tsv` and `mrpc/msr_paraphrase_train.txt`.
//! Vectors are cached under `target/text-quality/` and
//! `target/judge-train/`, so a second run embeds nothing.
//!
//! For each pair, as if the two sentences were two memories of one store:
//! - *merged*: the wording proves the same fact, or the judge finds the
//!   same meaning (settled on the device);
//! - *different*: proved distinct by the wording, or judged different
//!   facts (both kept, not asked);
//! - *asked*: a candidate (cosine at least the embedder's candidate floor,
//!   or two shared rare words, as lexical blocking would propose; a data
//!   set's sentences count as one store for rarity) that is neither — a
//!   question, or a value change (settled by an update cue or by recency
//!   when the memories' times differ, else asked);
//! - *apart*: not a candidate.
//!
//! With an embedder that has a judge (MiniLM), only the fold the judge never
//! saw in training is reported (`--all` reports every pair, most of them
//! training data). SICK: "same meaning" = entailment both ways; every other
//! pair (contradiction, neutral, one text wider) must never be merged.

use std::path::{Path, PathBuf};

use std::collections::BTreeMap;

use dreamwork::dream::Thresholds;
use dreamwork::dream::count_tokens;
use dreamwork::embed::{
    Embedder, LexicalEmbedder, VectorCache, VectorCacheWriter, WordVectors, cosine, embed_cached,
};
use dreamwork::fuzzing::dream_text::{Judging, blocking_keys};
use dreamwork::index::CandidatePair;
use dreamwork::judge::{Judge, fold};
use dreamwork::text::{Document, Lexicon};
use dreamwork::{CancelToken, ContentHash, Silent};

/// A labelled pair: its row in the tally ([`ROWS`]), the two texts.
struct Pair {
    row: usize,
    a: String,
    b: String,
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

fn sick(dir: &Path) -> Result<Vec<Pair>, String> {
    let path = dir.join("sick/sick-train-trial.tsv");
    let mut out = Vec::new();
    for (n, line) in read(&path)?.lines().enumerate().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.len() < 7 {
            return Err(format!("{}:{}: expected 8 columns", path.display(), n + 1));
        }
        let row = if cols[5] == "A_entails_B" && cols[6] == "B_entails_A" {
            0
        } else if cols[5].contains("contradicts") || cols[6].contains("contradicts") {
            1
        } else if cols[5] == "A_neutral_B" && cols[6] == "B_neutral_A" {
            2
        } else {
            3
        };
        out.push(Pair { row, a: cols[1].to_owned(), b: cols[2].to_owned() });
    }
    Ok(out)
}

fn mrpc(dir: &Path) -> Result<Vec<Pair>, String> {
    let path = dir.join("mrpc/msr_paraphrase_train.txt");
    let mut out = Vec::new();
    for (n, line) in read(&path)?.lines().enumerate().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.len() < 5 {
            return Err(format!("{}:{}: expected 5 columns", path.display(), n + 1));
        }
        let row = if cols[0] == "1" { 0 } else { 4 };
        out.push(Pair { row, a: cols[3].to_owned(), b: cols[4].to_owned() });
    }
    Ok(out)
}

fn similarities(e: &dyn Embedder, texts: &[&str]) -> Result<Vec<Vec<f32>>, String> {
    let items: Vec<(ContentHash, &str)> = texts.iter().map(|t| (ContentHash::of(t.as_bytes()), *t)).collect();
    let dir = PathBuf::from("target/text-quality");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let cache = VectorCache::load(&dir, e.model_id(), e.dimension()).map_err(|e| e.to_string())?;
    let mut writer = VectorCacheWriter::open(&dir, e.model_id(), e.dimension()).map_err(|e| e.to_string())?;
    embed_cached(e, &items, &cache, Some(&mut writer), &Silent, &CancelToken::new())
        .map_err(|e| e.to_string())
}

/// Word vectors of `texts` through the cache file `train_judge` keeps.
fn word_vectors(e: &dyn Embedder, texts: &[&str]) -> Result<Option<Vec<WordVectors>>, String> {
    let dir = PathBuf::from("target/judge-train");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let path = dir.join(format!("words-{}.postcard", e.model_id()));
    let mut cache: BTreeMap<String, WordVectors> = match std::fs::read(&path) {
        Ok(bytes) => postcard::from_bytes(&bytes).map_err(|e| format!("{}: {e}", path.display()))?,
        Err(_) => BTreeMap::new(),
    };
    let mut missing: Vec<&str> = texts.iter().copied().filter(|t| !cache.contains_key(*t)).collect();
    missing.sort_unstable();
    missing.dedup();
    if !missing.is_empty() {
        let Some(fresh) = e.word_vectors(&missing).map_err(|e| e.to_string())? else { return Ok(None) };
        cache.extend(missing.iter().map(|t| (*t).to_owned()).zip(fresh));
        let bytes = postcard::to_allocvec(&cache).map_err(|e| e.to_string())?;
        std::fs::write(&path, bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(Some(texts.iter().filter_map(|t| cache.get(*t).cloned()).collect()))
}

/// Rows of a tally: what the labels say of a pair.
const ROWS: [&str; 5] = ["same meaning", "contradiction", "neutral", "one text wider", "not paraphrase"];
const MERGED: usize = 0;
const DIFFERENT: usize = 1;
const ASKED: usize = 2;
const APART: usize = 3;

#[derive(Default)]
struct Tally {
    counts: [[usize; 4]; 5],
    naive: u64,
    sent: u64,
}

fn tally(e: &dyn Embedder, pairs: &[Pair], t: &Thresholds, judge: Option<&Judge>) -> Result<Tally, String> {
    let lexicon = Lexicon::default();
    let texts: Vec<&str> = pairs.iter().flat_map(|p| [p.a.as_str(), p.b.as_str()]).collect();
    let vectors = similarities(e, &texts)?;
    let documents: Vec<Document> = texts.iter().map(|t| Document::parse(t, &lexicon)).collect();
    let keys = blocking_keys(&documents, &lexicon);
    let mut judging = Judging::new(&documents, &vectors, judge, t, &lexicon);
    let candidates: Vec<CandidatePair> = (0..pairs.len())
        .map(|i| CandidatePair {
            a: 2 * i,
            b: 2 * i + 1,
            similarity: cosine(&vectors[2 * i], &vectors[2 * i + 1]),
        })
        .collect();
    let needed = judging.needs_words(&candidates);
    if !needed.is_empty() {
        let needed_texts: Vec<&str> = needed.iter().map(|&d| texts[d]).collect();
        if let Some(words) = word_vectors(e, &needed_texts)? {
            for (&d, w) in needed.iter().zip(words) {
                judging.words[d] = Some(w);
            }
        }
    }
    let mut out = Tally::default();
    for (i, (p, c)) in pairs.iter().zip(&candidates).enumerate() {
        let tokens =
            count_tokens(&p.a).map_err(|e| e.to_string())? + count_tokens(&p.b).map_err(|e| e.to_string())?;
        out.naive += tokens;
        let column = if c.similarity < t.min_similarity && !keys[2 * i].pairs_with(&keys[2 * i + 1]) {
            APART
        } else {
            let judged = judging.pair(c.a, c.b, c.similarity);
            if judged.merges() {
                MERGED
            } else if judged.distinct() {
                DIFFERENT
            } else {
                ASKED
            }
        };
        if column == ASKED {
            out.sent += tokens;
        }
        out.counts[p.row][column] += 1;
    }
    Ok(out)
}

fn print(name: &str, t: &Tally) {
    for (row, c) in ROWS.iter().zip(&t.counts) {
        let n: usize = c.iter().sum();
        if n == 0 {
            continue;
        }
        let pct = |x: usize| 100.0 * x as f64 / n.max(1) as f64;
        println!(
            "  {name:<24} {row:<15} {n:>5} pairs: merged {:>4} ({:5.2} %), different {:>4} ({:5.1} %), asked {:>4} ({:5.1} %), apart {:>4} ({:5.1} %)",
            c[MERGED],
            pct(c[MERGED]),
            c[DIFFERENT],
            pct(c[DIFFERENT]),
            c[ASKED],
            pct(c[ASKED]),
            c[APART],
            pct(c[APART])
        );
    }
    let same = t.counts[0];
    let n: usize = same.iter().sum();
    println!(
        "  {name:<24} same meaning merged or asked {:.3}; merged on the device {:.3}; tokens naive {} vs sent {} ({:.2}x of naive)",
        (same[MERGED] + same[ASKED]) as f64 / n.max(1) as f64,
        same[MERGED] as f64 / n.max(1) as f64,
        t.naive,
        t.sent,
        t.sent as f64 / t.naive.max(1) as f64
    );
}

fn main() -> std::process::ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let all = args.iter().any(|a| a == "--all");
    args.retain(|a| a != "--all");
    let embedder = match args.iter().position(|a| a == "--embedder") {
        Some(i) if i + 1 < args.len() => {
            let e = args.remove(i + 1);
            args.remove(i);
            e
        }
        _ => "minilm".to_owned(),
    };
    let dir = args
        .first()
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("DREAMWORK_DATA_DIR").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("../shared/data"));
    let run = || -> Result<(), String> {
        let e: Box<dyn Embedder> = match embedder.as_str() {
            "lexical" => Box::new(LexicalEmbedder::default()),
            #[cfg(feature = "minilm")]
            "minilm" => Box::new(
                dreamwork::embed::MiniLmEmbedder::load(&Default::default()).map_err(|e| e.to_string())?,
            ),
            other => return Err(format!("unknown embedder {other:?} (minilm or lexical)")),
        };
        let t = Thresholds::for_model(e.model_id())
            .ok_or_else(|| format!("no calibration for {}", e.model_id()))?;
        let judge = Judge::for_model(e.model_id());
        let keep = |p: &Pair| match &judge {
            Some(j) if !all => fold(&p.a, &p.b, j.training.folds) == j.training.test_fold,
            _ => true,
        };
        let sick: Vec<Pair> = sick(&dir)?.into_iter().filter(keep).collect();
        let mrpc: Vec<Pair> = mrpc(&dir)?.into_iter().filter(keep).collect();
        let which = match &judge {
            Some(j) if !all => {
                format!("the judge's untouched fold {} of {}", j.training.test_fold, j.training.folds)
            }
            Some(_) => "every pair (most of them the judge's training data)".to_owned(),
            None => "every pair (no judge for this embedder: the rules alone)".to_owned(),
        };
        println!(
            "embedder {} (candidate floor {}, topic floor {}); {which}",
            e.model_id(),
            t.min_similarity,
            t.topic_floor
        );
        print("SICK train+trial", &tally(e.as_ref(), &sick, &t, judge.as_ref())?);
        print("MRPC train", &tally(e.as_ref(), &mrpc, &t, judge.as_ref())?);
        Ok(())
    };
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("text_quality: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
