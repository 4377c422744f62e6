//! The similarity settings of one embedder: cosines of different models
//! are not on one scale, so each embedder comes with its own (looked up by
//! model id in the dream's calibration file, or given by the caller).

use serde::{Deserialize, Serialize};

/// Similarity settings of one embedder.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Thresholds {
    /// Neighbours looked at per memory.
    pub candidate_k: usize,
    /// Lowest cosine similarity for a candidate pair.
    pub min_similarity: f32,
    /// A candidate the wording cannot settle and that shares little
    /// wording is about different topics below this cosine (see
    /// `dream::near::rules`); at or above it, it is a question.
    pub topic_floor: f32,
    /// Two directives of sessions this alike may be one pattern (stage 4).
    pub pattern_link: f32,
    /// Two groups of directives join when their members' mean similarity
    /// is this high.
    pub pattern_join: f32,
}
