//! Embedding quality on public labelled data, for both embedders.
//!
//! ```text
//! cargo run --release --example quality [DATA_DIR]
//! ```
//!
//! `DATA_DIR` (default `$DREAMWORK_DATA_DIR`, else `../shared/data`) holds
//! `stsb/sts-test.tsv` and `mrpc/msr_paraphrase_train.txt` (see that
//! folder's README for sources and licences). Reports:
//!
//! - STS-B test: Spearman correlation of cosine with the gold score.
//! - MRPC: F1 and accuracy of "cosine ≥ t means paraphrase". Only the train
//!   split is available, so it is split by row: even rows choose the
//!   threshold t (best F1 there), odd rows are scored with it — the
//!   threshold never sees the rows it is reported on.
//!
//! MiniLM is skipped with a note when its model is not installed
//! (`dreamwork model fetch`). How the dream's merge rule decides these
//! pairs is `examples/text_quality.rs`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use dreamwork::embed::{Embedder, LexicalEmbedder, VectorCache, cosine, embed_cached};
use dreamwork::{CancelToken, ContentHash, Silent};

type Pairs = Vec<(f64, String, String)>;

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

fn stsb(dir: &Path) -> Result<Pairs, String> {
    let path = dir.join("stsb/sts-test.tsv");
    let mut out = Vec::new();
    for (n, line) in read(&path)?.lines().enumerate() {
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.len() < 7 {
            return Err(format!("{}:{}: expected 7 columns", path.display(), n + 1));
        }
        let score: f64 = cols[4].parse().map_err(|_| format!("{}:{}: bad score", path.display(), n + 1))?;
        out.push((score, cols[5].to_string(), cols[6].to_string()));
    }
    Ok(out)
}

fn mrpc(dir: &Path) -> Result<Pairs, String> {
    let path = dir.join("mrpc/msr_paraphrase_train.txt");
    let mut out = Vec::new();
    for (n, line) in read(&path)?.lines().enumerate().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.len() < 5 {
            return Err(format!("{}:{}: expected 5 columns", path.display(), n + 1));
        }
        let label: f64 = cols[0].parse().map_err(|_| format!("{}:{}: bad label", path.display(), n + 1))?;
        out.push((label, cols[3].to_string(), cols[4].to_string()));
    }
    Ok(out)
}

/// Average ranks (ties share their mean rank).
fn ranks(xs: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..xs.len()).collect();
    idx.sort_by(|&a, &b| xs[a].total_cmp(&xs[b]));
    let mut r = vec![0.0; xs.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && xs[idx[j + 1]] == xs[idx[i]] {
            j += 1;
        }
        let mean = (i + j) as f64 / 2.0 + 1.0;
        for &k in &idx[i..=j] {
            r[k] = mean;
        }
        i = j + 1;
    }
    r
}

fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let cov: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = a.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = b.iter().map(|y| (y - mb).powi(2)).sum();
    cov / (va.sqrt() * vb.sqrt())
}

fn spearman(a: &[f64], b: &[f64]) -> f64 {
    pearson(&ranks(a), &ranks(b))
}

/// (F1, accuracy) of `sim >= t` against labels.
fn f1_acc(rows: &[(f64, f64)], t: f64) -> (f64, f64) {
    let (mut tp, mut fp, mut fneg, mut correct) = (0.0, 0.0, 0.0, 0.0);
    for &(label, sim) in rows {
        let pred = sim >= t;
        let gold = label > 0.5;
        match (pred, gold) {
            (true, true) => tp += 1.0,
            (true, false) => fp += 1.0,
            (false, true) => fneg += 1.0,
            (false, false) => {}
        }
        if pred == gold {
            correct += 1.0;
        }
    }
    let f1 = if tp == 0.0 { 0.0 } else { 2.0 * tp / (2.0 * tp + fp + fneg) };
    (f1, correct / rows.len() as f64)
}

fn best_threshold(rows: &[(f64, f64)]) -> f64 {
    let mut cands: Vec<f64> = rows.iter().map(|r| r.1).collect();
    cands.sort_by(f64::total_cmp);
    cands.dedup();
    cands
        .into_iter()
        .map(|t| (f1_acc(rows, t).0, t))
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map_or(0.5, |(_, t)| t)
}

/// Cosine of every pair; also returns sentences embedded per second.
fn similarities(e: &dyn Embedder, pairs: &Pairs) -> Result<(Vec<f64>, f64), String> {
    let texts: Vec<&str> = pairs.iter().flat_map(|(_, a, b)| [a.as_str(), b.as_str()]).collect();
    let items: Vec<(ContentHash, &str)> = texts.iter().map(|t| (ContentHash::of(t.as_bytes()), *t)).collect();
    let cache = VectorCache::empty(e.model_id(), e.dimension());
    let start = Instant::now();
    let v = embed_cached(e, &items, &cache, None, &Silent, &CancelToken::new()).map_err(|e| e.to_string())?;
    let rate = texts.len() as f64 / start.elapsed().as_secs_f64();
    Ok(((0..pairs.len()).map(|i| f64::from(cosine(&v[2 * i], &v[2 * i + 1]))).collect(), rate))
}

fn report(name: &str, e: &dyn Embedder, sts: &Pairs, mr: &Pairs) -> Result<(), String> {
    let (sims, rate) = similarities(e, sts)?;
    let gold: Vec<f64> = sts.iter().map(|p| p.0).collect();
    let rho = spearman(&gold, &sims);
    let (msims, _) = similarities(e, mr)?;
    let rows: Vec<(f64, f64)> = mr.iter().zip(&msims).map(|(p, s)| (p.0, *s)).collect();
    let calib: Vec<(f64, f64)> = rows.iter().step_by(2).copied().collect();
    let eval: Vec<(f64, f64)> = rows.iter().skip(1).step_by(2).copied().collect();
    let t = best_threshold(&calib);
    let (f1, acc) = f1_acc(&eval, t);
    println!(
        "{name:8} {:>44}  STS-B test Spearman {rho:.4}  MRPC F1 {f1:.4} acc {acc:.4} (t = {t:.4} from even rows, scored on {} odd rows)  {rate:.0} sentences/s",
        e.model_id(),
        eval.len()
    );
    Ok(())
}

fn main() -> std::process::ExitCode {
    let dir = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("DREAMWORK_DATA_DIR").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("../shared/data"));
    let run = || -> Result<(), String> {
        let sts = stsb(&dir)?;
        let mr = mrpc(&dir)?;
        println!("STS-B test: {} pairs; MRPC train: {} pairs", sts.len(), mr.len());
        report("lexical", &LexicalEmbedder::default(), &sts, &mr)?;
        #[cfg(feature = "minilm")]
        match dreamwork::embed::MiniLmEmbedder::load(&Default::default()) {
            Ok(m) => report("minilm", &m, &sts, &mr)?,
            Err(e) => println!("minilm   skipped: {e}"),
        }
        Ok(())
    };
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("quality: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
