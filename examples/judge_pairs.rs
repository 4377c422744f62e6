//! Shows what the rules and the judge say of pairs of texts: one pair per
//! line of standard input, the two texts separated by a tab.
//!
//! ```text
//! printf 'A man plays a guitar.\tA guitar is played by a man.\n' | cargo run --release --example judge_pairs
//! ```
//!
//! Prints, per pair: the rules' relation, the vetoes each way, P(A states
//! all of B), P(B states all of A), P(different), P(conflict) and the verdict.
//! Needs the MiniLM model (`dreamwork model fetch`).

use std::io::BufRead;

use dreamwork::embed::{Embedder, MiniLmEmbedder, cosine};
use dreamwork::judge::{Judge, both_ways};
use dreamwork::text::{Document, Lexicon, compare};

fn main() -> std::process::ExitCode {
    let run = || -> Result<(), String> {
        let embedder = MiniLmEmbedder::load(&Default::default()).map_err(|e| e.to_string())?;
        let judge = Judge::for_model(embedder.model_id()).ok_or("no judge for this embedder")?;
        let lexicon = Lexicon::default();
        for (n, line) in std::io::stdin().lock().lines().enumerate() {
            let line = line.map_err(|e| format!("stdin: {e}"))?;
            let Some((a, b)) = line.split_once('\t') else {
                return Err(format!("line {}: expected two texts separated by a tab", n + 1));
            };
            let words =
                embedder.word_vectors(&[a, b]).map_err(|e| e.to_string())?.ok_or("no word vectors")?;
            let (da, db) = (Document::parse(a, &lexicon), Document::parse(b, &lexicon));
            let relation = compare(&da, &db, &lexicon);
            let cos = cosine(&words[0].sentence, &words[1].sentence);
            let (ab, ba) = both_ways((&da, &words[0]), (&db, &words[1]), cos, &relation, &lexicon);
            let [a_b, b_a, different, conflict] = judge.probabilities(&ab, &ba);
            let verdict = judge.decide(&ab, &ba);
            println!(
                "{a} | {b}\n  {relation:?}; cosine {cos:.3}; vetoes a>b {:?} b>a {:?}\n  \
                 P(a states b) {a_b:.3}  P(b states a) {b_a:.3}  P(different) {different:.3}  \
                 P(conflict) {conflict:.3}  -> {} {:.3}",
                ab.vetoes, ba.vetoes, verdict.verdict, verdict.probability
            );
        }
        Ok(())
    };
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("judge_pairs: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
