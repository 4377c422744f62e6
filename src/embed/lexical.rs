//! A built-in deterministic embedder that needs no model: hashed word
//! unigrams and bigrams plus character trigrams, folded into a fixed number
//! of dimensions with signed feature hashing, then L2-normalised.
//!
//! It captures shared wording, not meaning: a baseline, a test double, and
//! the fully offline choice.

use super::{EmbedError, Embedder, normalize};

/// Hashed n-gram embedder (see the module doc).
#[derive(Debug, Clone)]
pub struct LexicalEmbedder {
    dimension: usize,
    model_id: String,
}

impl Default for LexicalEmbedder {
    fn default() -> Self {
        Self::new(512)
    }
}

impl LexicalEmbedder {
    /// An embedder producing `dimension`-long vectors (at least 1).
    pub fn new(dimension: usize) -> Self {
        let dimension = dimension.max(1);
        Self { dimension, model_id: format!("lexical-v1-{dimension}") }
    }

    /// Embeds one text.
    pub fn embed_one(&self, text: &str) -> Vec<f32> {
        let mut v = vec![0.0f32; self.dimension];
        let lower = text.to_lowercase();
        let words: Vec<&str> =
            lower.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect();
        for w in &words {
            self.add(&mut v, b"w", w.as_bytes(), 1.0);
            let chars: Vec<char> = format!(" {w} ").chars().collect();
            for tri in chars.windows(3) {
                let s: String = tri.iter().collect();
                self.add(&mut v, b"c", s.as_bytes(), 0.35);
            }
        }
        for pair in words.windows(2) {
            let s = format!("{} {}", pair[0], pair[1]);
            self.add(&mut v, b"b", s.as_bytes(), 0.7);
        }
        normalize(&mut v);
        v
    }

    fn add(&self, v: &mut [f32], kind: &[u8], feature: &[u8], weight: f32) {
        let mut hasher = blake3::Hasher::new();
        hasher.update(kind);
        hasher.update(feature);
        let h = hasher.finalize();
        let bytes = h.as_bytes();
        let idx = u64::from_le_bytes([
            bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
        ]);
        let slot = (idx % self.dimension as u64) as usize;
        let sign = if bytes[8] & 1 == 0 { 1.0 } else { -1.0 };
        v[slot] += sign * weight;
    }
}

impl Embedder for LexicalEmbedder {
    fn model_id(&self) -> &str {
        &self.model_id
    }

    fn dimension(&self) -> usize {
        self.dimension
    }

    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        Ok(texts.iter().map(|t| self.embed_one(t)).collect())
    }

    /// Hashed n-grams have no word vectors: the rules alone judge.
    fn word_vectors(&self, _texts: &[&str]) -> Result<Option<Vec<super::WordVectors>>, EmbedError> {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embed::cosine;

    #[test]
    fn similar_wording_scores_higher_than_unrelated() {
        let e = LexicalEmbedder::default();
        let a = e.embed_one("The staging database listens on port 5433");
        let b = e.embed_one("staging database port is 5433");
        let c = e.embed_one("Alice prefers tabs over spaces in Go code");
        assert!(cosine(&a, &b) > cosine(&a, &c) + 0.2);
        assert!((cosine(&a, &a) - 1.0).abs() < 1e-5);
    }

    #[test]
    fn deterministic_and_batch_independent() {
        let e = LexicalEmbedder::default();
        let one = e.embed(&["hello world"]).unwrap();
        let two = e.embed(&["other", "hello world"]).unwrap();
        assert_eq!(one[0], two[1]);
    }

    #[test]
    fn empty_text_is_zero_vector() {
        let e = LexicalEmbedder::new(8);
        assert_eq!(e.embed_one(""), vec![0.0; 8]);
    }
}
