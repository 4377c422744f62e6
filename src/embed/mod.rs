//! Embeddings: text in, L2-normalised vectors out, behind the [`Embedder`]
//! trait, with a cache keyed by (content hash, model id).
//!
//! - [`lexical`]: the built-in, model-free embedder.
//! - [`minilm`] (feature `minilm`): all-MiniLM-L6-v2 on ONNX Runtime.
//! - [`locate`]: where the model and the runtime are looked for.
//! - [`fetch`] (feature `minilm`): `dreamwork model fetch`, the installer.
//! - [`cache`]: the on-disk vector cache and [`embed_cached`], which embeds
//!   only what the cache lacks.
//! - [`memories`]: a store's memories through its cache (`STORE/vectors`).
//! - [`choice`]: picking a backend by name.

pub mod cache;
pub mod choice;
#[cfg(feature = "minilm")]
pub mod fetch;
pub mod lexical;
pub mod locate;
pub mod memories;
#[cfg(feature = "minilm")]
pub mod minilm;

pub use cache::{CacheError, VectorCache, VectorCacheWriter, embed_cached};
pub use choice::{EmbedderChoice, load_embedder};
pub use lexical::LexicalEmbedder;
pub use memories::{embed_memories, similar_memories, vectors_dir};
#[cfg(feature = "minilm")]
pub use minilm::{MiniLmEmbedder, MiniLmOptions};

/// Why embedding failed.
#[derive(Debug, thiserror::Error)]
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
}

/// Cosine similarity of two L2-normalised vectors (their dot product).
///
/// Summed in eight fixed lanes (so the compiler can vectorise it) and then
/// across lanes in a fixed order: the result is the same bits on every
/// machine and thread count. Extra elements of the longer vector are ignored.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut lanes = [0.0f32; 8];
    let mut ca = a.chunks_exact(8);
    let mut cb = b.chunks_exact(8);
    for (x, y) in (&mut ca).zip(&mut cb) {
        for i in 0..8 {
            lanes[i] += x[i] * y[i];
        }
    }
    let mut tail = 0.0f32;
    for (x, y) in ca.remainder().iter().zip(cb.remainder()) {
        tail += x * y;
    }
    ((lanes[0] + lanes[4]) + (lanes[1] + lanes[5])) + ((lanes[2] + lanes[6]) + (lanes[3] + lanes[7])) + tail
}

/// Scales `v` to unit length (a zero vector stays zero).
pub fn normalize(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}
