//! Certain or ask, measured on public labelled pairs nobody on this project
//! wrote: how the dream's pair judgement (`dream::near::judge`, the same
//! function stage 2 runs on every candidate) decides SICK and MRPC pairs.
//!
//! ```text
//! cargo run --release --example text_quality [DATA_DIR] [--embedder minilm|lexical] [--sweep]
//! ```
//!
//! `DATA_DIR` (default `$DREAMWORK_DATA_DIR`, else `../shared/data`) holds
//! `sick/sick-train-trial.tsv` and `mrpc/msr_paraphrase_train.txt`.
//! Vectors are cached under `target/text-quality/`, so a second run embeds
//! nothing.
//!
//! For each pair, as if the two sentences were two memories of one store:
//! - *merged*: the wording proves the same fact (settled on the device);
//! - *asked*: a candidate (cosine at least the embedder's candidate floor,
//!   or two shared rare words, as lexical blocking would propose; a data
//!   set's sentences count as one store for rarity) that is neither merged
//!   nor proved distinct — a
//!   question, or a value change (settled by an update cue or by recency
//!   when the memories' times differ, else asked);
//! - *apart*: not a candidate, or proved distinct.
//!
//! SICK: "same meaning" = entailment both ways; every other pair
//! (contradiction or neutral in either direction) must never be merged.
//! MRPC: rows are split by parity; `--sweep` prints the outcome for other
//! topic floors on the even rows (where a threshold may be chosen), the
//! odd rows are the report.

use std::path::{Path, PathBuf};

use dreamwork::dream::Thresholds;
use dreamwork::dream::near::{blocking_keys, judge, subject_words};
use dreamwork::dream::plan::count_tokens;
use dreamwork::embed::{Embedder, LexicalEmbedder, VectorCache, VectorCacheWriter, cosine, embed_cached};
use dreamwork::memory::ContentHash;
use dreamwork::progress::{CancelToken, Silent};
use dreamwork::text::{Document, Lexicon, Relation};

/// A labelled pair: does it mean the same, the two texts.
struct Pair {
    same: bool,
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
        let same = cols[5] == "A_entails_B" && cols[6] == "B_entails_A";
        out.push(Pair { same, a: cols[1].to_owned(), b: cols[2].to_owned() });
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
        out.push(Pair { same: cols[0] == "1", a: cols[3].to_owned(), b: cols[4].to_owned() });
    }
    Ok(out)
}

fn similarities(e: &dyn Embedder, pairs: &[Pair]) -> Result<Vec<f32>, String> {
    let texts: Vec<&str> = pairs.iter().flat_map(|p| [p.a.as_str(), p.b.as_str()]).collect();
    let items: Vec<(ContentHash, &str)> = texts.iter().map(|t| (ContentHash::of(t.as_bytes()), *t)).collect();
    let dir = PathBuf::from("target/text-quality");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let cache = VectorCache::load(&dir, e.model_id(), e.dimension()).map_err(|e| e.to_string())?;
    let mut writer = VectorCacheWriter::open(&dir, e.model_id(), e.dimension()).map_err(|e| e.to_string())?;
    let v = embed_cached(e, &items, &cache, Some(&mut writer), &Silent, &CancelToken::new())
        .map_err(|e| e.to_string())?;
    Ok((0..pairs.len()).map(|i| cosine(&v[2 * i], &v[2 * i + 1])).collect())
}

#[derive(Default)]
struct Tally {
    same: [usize; 4],
    different: [usize; 4],
    naive: u64,
    sent: u64,
}

const MERGED: usize = 0;
const ASKED: usize = 1;
const VALUE: usize = 2;
const APART: usize = 3;

/// For each pair: (blocking would propose it, it shares a subject word),
/// as stage 2 sees them when the data set's sentences form one store.
fn related(pairs: &[Pair], lexicon: &Lexicon) -> Vec<(bool, bool)> {
    let docs: Vec<Document> =
        pairs.iter().flat_map(|p| [Document::parse(&p.a, lexicon), Document::parse(&p.b, lexicon)]).collect();
    let keys = blocking_keys(&docs, lexicon);
    let subjects = subject_words(&docs);
    (0..pairs.len())
        .map(|i| {
            let shared = subjects[2 * i].intersection(&subjects[2 * i + 1]).next().is_some();
            (keys[2 * i].pairs_with(&keys[2 * i + 1]), shared)
        })
        .collect()
}

fn tally(pairs: &[Pair], sims: &[f32], t: &Thresholds, lexicon: &Lexicon) -> Result<Tally, String> {
    let mut out = Tally::default();
    let related = related(pairs, lexicon);
    for ((p, &sim), &(blocked, shared)) in pairs.iter().zip(sims).zip(&related) {
        let (a, b) = (Document::parse(&p.a, lexicon), Document::parse(&p.b, lexicon));
        let tokens =
            count_tokens(&p.a).map_err(|e| e.to_string())? + count_tokens(&p.b).map_err(|e| e.to_string())?;
        out.naive += tokens;
        let column = if sim < t.min_similarity && !blocked {
            APART
        } else {
            match judge(&a, &b, sim, shared, t, lexicon) {
                r if r.merges() => MERGED,
                Relation::ValueChange { .. } => VALUE,
                Relation::Open(_) => ASKED,
                _ => APART,
            }
        };
        if column == ASKED || column == VALUE {
            out.sent += tokens;
        }
        if p.same { out.same[column] += 1 } else { out.different[column] += 1 }
    }
    Ok(out)
}

fn print(name: &str, t: &Tally) {
    let row = |label: &str, c: &[usize; 4]| {
        let n: usize = c.iter().sum();
        let pct = |x: usize| 100.0 * x as f64 / n.max(1) as f64;
        println!(
            "  {name:<22} {label:<15} {n:>5} pairs: merged {:>4} ({:5.2} %), asked {:>4} + value change {:>3} ({:5.1} %), apart {:>4} ({:5.1} %)",
            c[MERGED],
            pct(c[MERGED]),
            c[ASKED],
            c[VALUE],
            pct(c[ASKED] + c[VALUE]),
            c[APART],
            pct(c[APART])
        );
    };
    row("same meaning", &t.same);
    row("different", &t.different);
    let same: usize = t.same.iter().sum();
    println!(
        "  {name:<22} same meaning merged or asked {:.3}; settled on the device {:.3}; tokens naive {} vs sent {} ({:.1}x)",
        (t.same[MERGED] + t.same[ASKED] + t.same[VALUE]) as f64 / same.max(1) as f64,
        t.same[MERGED] as f64 / same.max(1) as f64,
        t.naive,
        t.sent,
        t.naive as f64 / t.sent.max(1) as f64
    );
}

fn main() -> std::process::ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let sweep = args.iter().any(|a| a == "--sweep");
    args.retain(|a| a != "--sweep");
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
        let t = Thresholds::for_model(e.model_id());
        let lexicon = Lexicon::default();
        let sick = sick(&dir)?;
        let mrpc = mrpc(&dir)?;
        println!(
            "embedder {} (candidate floor {}, topic floor {})",
            e.model_id(),
            t.min_similarity,
            t.topic_floor
        );
        let sick_sims = similarities(e.as_ref(), &sick)?;
        let mrpc_sims = similarities(e.as_ref(), &mrpc)?;
        let (even, odd): (Vec<usize>, Vec<usize>) = (0..mrpc.len()).partition(|i| i % 2 == 0);
        let pick = |idx: &[usize]| -> (Vec<Pair>, Vec<f32>) {
            idx.iter()
                .map(|&i| {
                    (Pair { same: mrpc[i].same, a: mrpc[i].a.clone(), b: mrpc[i].b.clone() }, mrpc_sims[i])
                })
                .unzip()
        };
        let (mrpc_even, even_sims) = pick(&even);
        let (mrpc_odd, odd_sims) = pick(&odd);
        if sweep {
            for floor in [0.5f32, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 1.01] {
                let tf = Thresholds { topic_floor: floor, ..t };
                println!("topic floor {floor}:");
                print("SICK train+trial", &tally(&sick, &sick_sims, &tf, &lexicon)?);
                print("MRPC train, even rows", &tally(&mrpc_even, &even_sims, &tf, &lexicon)?);
            }
            return Ok(());
        }
        print("SICK train+trial", &tally(&sick, &sick_sims, &t, &lexicon)?);
        print("MRPC train, odd rows", &tally(&mrpc_odd, &odd_sims, &t, &lexicon)?);
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
