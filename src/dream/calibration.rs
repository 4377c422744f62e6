//! The settings that depend on the embedder, keyed by its model id
//! (`calibration.toml`, built into the crate): cosines of different models
//! are not on one scale, so a threshold is looked up for the exact model
//! that produced the vectors, never guessed from a name.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;

use crate::embed::{EmbedderChoice, Thresholds};

/// The calibration file, as built in.
pub const CALIBRATION_TOML: &str = include_str!("calibration.toml");

impl EmbedderChoice {
    /// The backend that produces the model id `model_id`, if the
    /// calibration file knows it (how `review` reloads a report's embedder).
    pub fn for_model(model_id: &str) -> Option<EmbedderChoice> {
        calibrated(model_id).map(|c| c.embedder)
    }
}

impl Thresholds {
    /// The calibrated settings for the embedder `model_id`, if the
    /// calibration file knows it.
    pub fn for_model(model_id: &str) -> Option<Thresholds> {
        calibrated(model_id).map(|c| c.thresholds)
    }
}

/// One entry of the calibration file.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Calibration {
    /// The backend that produces the model id.
    pub embedder: EmbedderChoice,
    /// Its settings.
    pub thresholds: Thresholds,
}

#[derive(Deserialize)]
struct Entry {
    embedder: String,
    #[serde(flatten)]
    thresholds: Thresholds,
}

/// The calibration of the embedder `model_id`, if the file has one.
pub fn calibrated(model_id: &str) -> Option<Calibration> {
    static TABLE: OnceLock<BTreeMap<String, Calibration>> = OnceLock::new();
    TABLE.get_or_init(|| parse(CALIBRATION_TOML).unwrap_or_default()).get(model_id).copied()
}

/// Parses a calibration file: a table per model id.
pub fn parse(text: &str) -> Result<BTreeMap<String, Calibration>, String> {
    let entries: BTreeMap<String, Entry> = toml::from_str(text).map_err(|e| e.to_string())?;
    entries
        .into_iter()
        .map(|(id, e)| {
            let embedder = e.embedder.parse().map_err(|m| format!("[\"{id}\"]: {m}"))?;
            Ok((id, Calibration { embedder, thresholds: e.thresholds }))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embed::{Embedder, LexicalEmbedder};

    #[test]
    fn the_built_in_file_parses_and_knows_both_shipped_embedders() {
        let table = parse(CALIBRATION_TOML).expect("the built-in calibration parses");
        assert_eq!(table.len(), 2);
        let lexical = calibrated(LexicalEmbedder::default().model_id()).expect("lexical is calibrated");
        assert_eq!(lexical.embedder, EmbedderChoice::Lexical);
        let judge =
            crate::judge::Judge::from_json("minilm.json", include_str!("../judge/models/minilm.json"))
                .expect("the built-in judge parses");
        let minilm = calibrated(&judge.model_id).expect("the judge's MiniLM is calibrated");
        assert_eq!(minilm.embedder, EmbedderChoice::MiniLm);
        for c in table.values() {
            let t = c.thresholds;
            assert!(0.0 < t.min_similarity && t.min_similarity < t.topic_floor && t.topic_floor < 1.0);
            assert!(0.0 < t.pattern_join && t.pattern_join <= t.pattern_link && t.pattern_link < 1.0);
        }
    }

    #[test]
    fn an_unknown_model_has_no_thresholds() {
        assert_eq!(Thresholds::for_model("lexical-v1-16"), None);
        assert_eq!(Thresholds::for_model(""), None);
    }

    #[test]
    fn a_bad_entry_is_an_error_naming_it() {
        let bad = "[\"m\"]\nembedder = \"word2vec\"\ncandidate_k = 1\nmin_similarity = 0.1\n\
                   topic_floor = 0.2\npattern_link = 0.3\npattern_join = 0.2\n";
        let e = parse(bad).unwrap_err();
        assert!(e.contains("[\"m\"]") && e.contains("word2vec"), "{e}");
        assert!(parse("[\"m\"]\nembedder = \"lexical\"\n").is_err());
    }
}
