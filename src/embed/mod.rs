//! Embeddings: text in, L2-normalised vectors out, behind the [`Embedder`]
//! trait, with a cache keyed by (content hash, model id).
//!
//! - `lexical`: the built-in, model-free embedder.
//! - `minilm` (feature `minilm`): all-MiniLM-L6-v2 on ONNX Runtime.
//! - [`locate`]: where the model and the runtime are looked for.
//! - [`fetch`] (feature `minilm`): `dreamwork model fetch`, the installer.
//! - `cache`: the on-disk vector cache ([`VectorCache`], [`VectorCacheWriter`]) and [`embed_cached`], which embeds
//!   only what the cache lacks.
//! - `cache_dir`: the user-level cache directory ([`CacheDir`]), where a
//!   dream keeps the vectors it computes for the next one.
//! - `word_cache`: the on-disk cache of each text's word vectors
//!   ([`WordVectors`]), kept beside the pooled one in the user cache.
//! - `memories`: a store's memories through its cache (`STORE/vectors`).
//! - `choice`: picking a backend by name.
//! - [`Thresholds`]: the similarity settings that come with an embedder.

pub(crate) mod cache;
mod cache_dir;
mod cache_format;
mod cache_writer;
mod choice;
#[cfg(feature = "minilm")]
pub mod fetch;
mod lexical;
pub mod locate;
mod memories;
#[cfg(feature = "minilm")]
mod minilm;
mod thresholds;
pub(crate) mod word_cache;

pub use cache::{CacheError, VectorCache, VectorCacheWriter, embed_cached};
pub use cache_dir::{CacheDir, CacheKind};
pub use choice::{EmbedderChoice, MiniLmOptions, load_embedder};
pub use lexical::LexicalEmbedder;
pub use memories::{embed_memories, vectors_dir};
#[cfg(feature = "minilm")]
pub use minilm::MiniLmEmbedder;
pub use thresholds::Thresholds;
pub use word_cache::{WordCache, WordCacheWriter};

/// Why embedding failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EmbedError {
    /// The model or the ONNX Runtime could not be found or loaded.
    #[error("{0}")]
    ModelUnavailable(String),
    /// The backend failed while embedding.
    #[error("embedding failed: {0}")]
    Backend(String),
    /// An I/O error on the named file.
    #[error("{path}: {source}")]
    Io {
        /// The file that failed.
        path: std::path::PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// The job was cancelled.
    #[error("cancelled")]
    Cancelled,
    /// The vector cache could not be read or written.
    #[error(transparent)]
    Cache(#[from] CacheError),
}

/// Turns texts into vectors. Implementations are deterministic: the same
/// text always gives the same vector, whatever the batch it came in.
pub trait Embedder: Send + Sync {
    /// A stable id of the model and its settings (part of the cache key).
    fn model_id(&self) -> &str;
    /// Length of every vector returned.
    fn dimension(&self) -> usize;
    /// Embeds a batch; one L2-normalised vector per text, in order.
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError>;
    /// Each text's contextual word vectors, in order, if the model gives
    /// them (the lexical embedder does not: `None`). No default: a wrapper
    /// around another embedder must pass this on, or the dream's judge,
    /// which needs them, silently goes unused.
    fn word_vectors(&self, texts: &[&str]) -> Result<Option<Vec<WordVectors>>, EmbedError>;
}

/// A text's contextual vectors, one per word (the model's sub-word tokens
/// of the word averaged, then L2-normalised), punctuation left out: what a
/// soft word alignment between two texts needs.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct WordVectors {
    /// The words, lower-cased, in text order.
    pub words: Vec<String>,
    /// Length of each vector.
    pub dimension: usize,
    /// The vectors, `words.len() × dimension`, row by row.
    pub data: Vec<f32>,
    /// The mean of every token vector of the text, L2-normalised: the
    /// sentence vector of the same run (the embedder's pooled vector up to
    /// rounding).
    pub sentence: Vec<f32>,
}

impl WordVectors {
    /// Number of words.
    pub fn len(&self) -> usize {
        self.words.len()
    }

    /// Whether the text has no word.
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// The vector of word `i`.
    pub fn vector(&self, i: usize) -> &[f32] {
        &self.data[i * self.dimension..(i + 1) * self.dimension]
    }
}

/// Cosine similarity of two L2-normalised vectors (their dot product).
///
/// Summed in [`LANES`] fixed lanes, each adding its own products in order,
/// then across lanes in a fixed tree: the result is the same bits on every
/// machine and thread count. On x86-64 CPUs with AVX the lanes live in four
/// 256-bit registers (plain multiply then add, no fused multiply-add, so the
/// bits match the portable code). Extra elements of the longer vector are
/// ignored.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx") {
        // SAFETY: `avx::cosine` needs AVX, which the CPU was just found to have.
        return unsafe { avx::cosine(a, b) };
    }
    cosine_portable(a, b)
}

/// Independent sums in [`cosine`]: enough to keep several vector registers
/// busy instead of waiting on one chain of additions.
pub const LANES: usize = 32;

/// [`cosine`] without machine-specific code.
fn cosine_portable(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a_chunks, a_tail) = a[..n].as_chunks::<LANES>();
    let (b_chunks, b_tail) = b[..n].as_chunks::<LANES>();
    let mut lanes = [0.0f32; LANES];
    for (x, y) in a_chunks.iter().zip(b_chunks) {
        for i in 0..LANES {
            lanes[i] += x[i] * y[i];
        }
    }
    finish_cosine(lanes, a_tail, b_tail)
}

/// Adds the lanes in halves (a fixed tree) and the products of the tails.
fn finish_cosine(mut lanes: [f32; LANES], a_tail: &[f32], b_tail: &[f32]) -> f32 {
    let mut tail = 0.0f32;
    for (x, y) in a_tail.iter().zip(b_tail) {
        tail += x * y;
    }
    let mut width = LANES;
    while width > 1 {
        width /= 2;
        for i in 0..width {
            lanes[i] += lanes[i + width];
        }
    }
    lanes[0] + tail
}

#[cfg(target_arch = "x86_64")]
mod avx {
    use std::arch::x86_64::{
        __m256, _mm256_add_ps, _mm256_loadu_ps, _mm256_mul_ps, _mm256_setzero_ps, _mm256_storeu_ps,
    };

    use super::{LANES, finish_cosine};

    /// 256-bit registers holding the [`LANES`] lanes.
    const REGISTERS: usize = LANES / 8;

    /// [`super::cosine`] with the lanes in AVX registers.
    #[target_feature(enable = "avx")]
    pub(super) fn cosine(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len().min(b.len());
        let (a_chunks, a_tail) = a[..n].as_chunks::<LANES>();
        let (b_chunks, b_tail) = b[..n].as_chunks::<LANES>();
        let mut sums: [__m256; REGISTERS] = [_mm256_setzero_ps(); REGISTERS];
        for (x, y) in a_chunks.iter().zip(b_chunks) {
            for (r, sum) in sums.iter_mut().enumerate() {
                // SAFETY: `x` and `y` hold LANES floats and r * 8 + 8 <= LANES.
                let (vx, vy) = unsafe {
                    (_mm256_loadu_ps(x.as_ptr().add(r * 8)), _mm256_loadu_ps(y.as_ptr().add(r * 8)))
                };
                *sum = _mm256_add_ps(*sum, _mm256_mul_ps(vx, vy));
            }
        }
        let mut lanes = [0.0f32; LANES];
        for (r, sum) in sums.iter().enumerate() {
            // SAFETY: `lanes` has room for 8 floats at r * 8.
            unsafe { _mm256_storeu_ps(lanes.as_mut_ptr().add(r * 8), *sum) };
        }
        finish_cosine(lanes, a_tail, b_tail)
    }
}

/// Scales `v` to unit length (a zero vector stays zero).
pub fn normalize(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vector(len: usize, seed: u64) -> Vec<f32> {
        let mut state = seed;
        (0..len)
            .map(|_| {
                state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5
            })
            .collect()
    }

    #[test]
    fn machine_specific_cosine_gives_the_portable_bits() {
        for len in [0, 1, 7, 31, 32, 33, 64, 100, 384, 1000] {
            let (a, b) = (vector(len, len as u64), vector(len + 3, 99));
            assert_eq!(cosine(&a, &b).to_bits(), cosine_portable(&a, &b).to_bits(), "length {len}");
            assert_eq!(cosine(&a, &b).to_bits(), cosine(&b, &a).to_bits(), "length {len}");
        }
    }

    #[test]
    fn cosine_of_unit_vectors() {
        let mut a = vector(384, 5);
        normalize(&mut a);
        assert!((cosine(&a, &a) - 1.0).abs() < 1e-5);
        let minus: Vec<f32> = a.iter().map(|x| -x).collect();
        assert!((cosine(&a, &minus) + 1.0).abs() < 1e-5);
    }
}
