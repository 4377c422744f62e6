//! The judge: whether two memories say the same thing, different things,
//! or the same thing with another value — with a calibrated probability
//! behind each verdict, so that "certain" is a measured error rate.
//!
//! The wording rules ([`text::compare`](crate::text::compare())) come first
//! and settle what they prove. A pair they leave open goes to the judge:
//! three boosted-tree models over [`features()`] (a soft word alignment of
//! the embedder's contextual word vectors plus the exact signals of the
//! text analysis), learned from public labelled pairs only (SICK, MRPC,
//! STS-B, QQP; never the project's own corpus) by
//! `cargo run --release --example train_judge`, which writes the model file
//! for the embedder (`src/judge/models/`). Its thresholds were chosen on
//! out-of-fold scores for the error rates the file records. An embedder without a
//! model file (the lexical one) gets no judge: the rules alone decide.
//!
//! A merge is never settled when an exact signal forbids it
//! ([`features::Vetoes`]: negation, values, environment words, word order),
//! nor for texts longer than [`MAX_WORDS`] words (the public pairs are
//! sentences; a longer document is outside what the judge was measured on).

pub mod boost;
pub mod features;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::embed::WordVectors;
use crate::text::{Document, Lexicon, Relation};
pub use boost::{Booster, ModelError};
pub use features::{PairFeatures, Vetoes, features};

/// Both directions' features of a pair: (`a` over `b`, `b` over `a`).
pub fn both_ways(
    a: (&Document, &WordVectors),
    b: (&Document, &WordVectors),
    cos: f32,
    relation: &Relation,
    lexicon: &Lexicon,
) -> (PairFeatures, PairFeatures) {
    let ab = features(a.0, b.0, a.1, b.1, cos, relation, lexicon);
    let flipped = relation.clone().flipped();
    let ba = features(b.0, a.0, b.1, a.1, cos, &flipped, lexicon);
    (ab, ba)
}

/// Longest text (in words, each side) the judge settles; longer pairs are
/// left to the rules and to questions.
pub const MAX_WORDS: usize = 64;

/// What the judge says of a pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum PairVerdict {
    /// One states everything the other states (the same meaning, or one
    /// wider): merge, keeping the one that states everything.
    Same,
    /// Different facts: keep both, not asked.
    Different,
    /// The same subject with another value or a negation: settled only with
    /// evidence of which is newer, else asked.
    Conflict,
    /// Not certain either way: asked.
    Unsure,
}

impl std::fmt::Display for PairVerdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PairVerdict::Same => "same",
            PairVerdict::Different => "different",
            PairVerdict::Conflict => "conflict",
            PairVerdict::Unsure => "unsure",
        })
    }
}

/// A verdict and the model's probability for it (for [`PairVerdict::Unsure`],
/// the probability of the likeliest verdict).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Judgement {
    /// The verdict.
    pub verdict: PairVerdict,
    /// Its calibrated probability.
    pub probability: f64,
}

/// The probabilities below which a verdict is not given.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Cutoffs {
    /// Least P(one states everything the other states) to merge them
    /// (keeping the one that does).
    pub same: f64,
    /// Least P(different) to keep both without asking.
    pub different: f64,
    /// Least P(conflict) to call a pair a conflict.
    pub conflict: f64,
}

/// Where a model's training data came from: a file and its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrainingFile {
    /// The file, relative to the data directory.
    pub file: String,
    /// Its SHA-256, hex.
    pub sha256: String,
    /// Pairs taken from it.
    pub pairs: usize,
}

/// A trained judge for one embedder (the contents of a model file).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Judge {
    /// The file format.
    pub format: String,
    /// The embedder model id this judge was trained on.
    pub model_id: String,
    /// The feature names, in order (must equal [`features::NAMES`]).
    pub features: Vec<String>,
    /// P(the first text states everything the second states), over the
    /// features of that direction.
    pub entails: Booster,
    /// P(different facts, neither stating the other).
    pub different: Booster,
    /// P(contradiction).
    pub conflict: Booster,
    /// The verdict cutoffs.
    pub cutoffs: Cutoffs,
    /// The command that reproduces this file.
    pub command: String,
    /// The training data, with hashes.
    pub sources: Vec<TrainingFile>,
    /// How the data was split and the trees grown.
    pub training: Training,
}

/// How a judge was trained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Training {
    /// Folds (by a hash of the pair's text) each data set is cut into.
    pub folds: usize,
    /// Folds the trees were fitted on. Calibration and cutoffs come from
    /// out-of-fold scores of the same folds: each fold scored by trees
    /// fitted on the others.
    pub fit_folds: Vec<usize>,
    /// The fold left untouched for reporting.
    pub test_fold: usize,
    /// Tree settings.
    pub params: boost::Params,
    /// The error rates the cutoffs were chosen for, on out-of-fold scores.
    pub targets: Targets,
}

/// Error rates the cutoffs are chosen for, on out-of-fold scores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Targets {
    /// Most share of a labelled set's pairs that may merge wrongly (neither
    /// states the other, or the narrower one would be kept), by set name.
    pub false_same: BTreeMap<String, f64>,
    /// Most share of same-meaning pairs that may be called different.
    pub false_different: f64,
}

/// The fold (of `folds`) a labelled pair of texts falls in: a hash of the
/// two texts, so splits are the same on every machine and run.
pub fn fold(a: &str, b: &str, folds: usize) -> usize {
    let h = blake3::hash(format!("{a}\t{b}").as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&h.as_bytes()[..8]);
    (u64::from_le_bytes(first) % folds.max(1) as u64) as usize
}

/// The format string of a model file.
pub const FORMAT: &str = "dreamwork-judge/2";

/// Why a model file cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JudgeError {
    /// Not JSON of the expected shape.
    #[error("judge model {name}: {message}")]
    Parse {
        /// The file.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// A tree is malformed.
    #[error("judge model {name}: {model} model: {source}")]
    Model {
        /// The file.
        name: String,
        /// Which of the three models.
        model: &'static str,
        /// What is wrong.
        source: ModelError,
    },
}

/// The model files built into the crate: (file name, contents).
const BUILT_IN: &[(&str, &str)] = &[("minilm.json", include_str!("models/minilm.json"))];

impl Judge {
    /// Parses and checks a model file's text (`name` names it in errors).
    pub fn from_json(name: &str, text: &str) -> Result<Self, JudgeError> {
        let parse = |message: String| JudgeError::Parse { name: name.to_owned(), message };
        let judge: Judge = serde_json::from_str(text).map_err(|e| parse(e.to_string()))?;
        if judge.format != FORMAT {
            return Err(parse(format!("format {:?}, expected {FORMAT:?}", judge.format)));
        }
        if judge.features != features::NAMES {
            return Err(parse("trained on another feature list than this version computes".into()));
        }
        for (model, booster) in
            [("entails", &judge.entails), ("different", &judge.different), ("conflict", &judge.conflict)]
        {
            booster.check(features::COUNT).map_err(|source| JudgeError::Model {
                name: name.to_owned(),
                model,
                source,
            })?;
        }
        Ok(judge)
    }

    /// The built-in judge trained for the embedder `model_id`, if any.
    pub fn for_model(model_id: &str) -> Option<Judge> {
        BUILT_IN
            .iter()
            .filter_map(|(name, text)| Judge::from_json(name, text).ok())
            .find(|j| j.model_id == model_id)
    }

    /// P(`a` states everything `b` states), from the features of `a` over `b`.
    pub fn entails(&self, ab: &PairFeatures) -> f64 {
        self.entails.probability(&ab.values)
    }

    /// Whether `a` may absorb `b` (no veto, and P(`a` states everything `b`
    /// states) at least the cutoff), with that probability.
    pub fn covers(&self, ab: &PairFeatures) -> Option<f64> {
        let p = self.entails(ab);
        (!ab.vetoes.any() && p >= self.cutoffs.same).then_some(p)
    }

    /// The probabilities of a pair from both directions' features: `a`
    /// states all of `b`, `b` states all of `a`, different facts, contradiction.
    pub fn probabilities(&self, ab: &PairFeatures, ba: &PairFeatures) -> [f64; 4] {
        let mean = |m: &Booster| (m.probability(&ab.values) + m.probability(&ba.values)) / 2.0;
        [self.entails(ab), self.entails(ba), mean(&self.different), mean(&self.conflict)]
    }

    /// The verdict on a pair, from both directions' features (see the module doc).
    pub fn decide(&self, ab: &PairFeatures, ba: &PairFeatures) -> Judgement {
        let [a_b, b_a, different, conflict] = self.probabilities(ab, ba);
        let vetoes = ab.vetoes;
        let c = &self.cutoffs;
        let judged = |verdict, probability| Judgement { verdict, probability };
        let allowed = |f: &PairFeatures, p: f64| if f.vetoes.any() { 0.0 } else { p };
        let mergeable = allowed(ab, a_b).max(allowed(ba, b_a));
        if mergeable >= c.same {
            return judged(PairVerdict::Same, mergeable);
        }
        let same = a_b.max(b_a);
        if ab.may_differ() && different >= c.different {
            return judged(PairVerdict::Different, different);
        }
        if conflict >= c.conflict || vetoes.negation {
            return judged(PairVerdict::Conflict, conflict);
        }
        judged(PairVerdict::Unsure, same.max(different).max(conflict))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_models_load_and_name_their_embedder() {
        for (name, text) in BUILT_IN {
            let judge = Judge::from_json(name, text).unwrap();
            assert!(judge.model_id.starts_with("minilm-"), "{}", judge.model_id);
            assert!(!judge.sources.is_empty());
            assert!(judge.cutoffs.same > 0.5 && judge.cutoffs.same <= 1.0);
        }
        assert!(Judge::for_model("lexical-whatever").is_none());
    }

    #[test]
    fn bad_files_name_the_problem() {
        let err = Judge::from_json("x.json", "{").unwrap_err().to_string();
        assert!(err.contains("x.json"), "{err}");
        let (_, text) = BUILT_IN[0];
        let wrong = text.replacen(FORMAT, "dreamwork-judge/0", 1);
        assert!(Judge::from_json("x.json", &wrong).unwrap_err().to_string().contains("format"));
    }
}
