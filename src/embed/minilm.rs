//! The production embedder: all-MiniLM-L6-v2 (int8 ONNX) run by fastembed
//! on an ONNX Runtime library loaded dynamically from a path we choose
//! (`ort::init_from`; no environment variable is set).
//!
//! Texts are tokenised to at most [`MAX_TOKENS`] tokens (the model's
//! training length; longer texts are truncated), mean-pooled over the
//! attention mask and L2-normalised, giving 384-d vectors.
//!
//! Each text is run on its own (batch of one) so that padding never changes
//! a vector: the same text gives the same bits whatever it was batched
//! with, which the vector cache and the dream's reproducibility rely on.
//! Throughput comes from a small pool of sessions run in parallel instead.
//!
//! The model id is `minilm-l6-v2-int8-<12 hex of the model's SHA-256>-mean-256`,
//! so replacing the model file changes every cache key.
//!
//! ONNX Runtime is loaded once per process: the first successful load fixes
//! the library, and a later embedder given another `ort_lib` path still
//! runs on the first one.

use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex};

use fastembed::{
    InitOptionsUserDefined, OutputKey, Pooling, TextEmbedding, TokenizerFiles, UserDefinedEmbeddingModel,
};
use rayon::prelude::*;
use sha2::{Digest, Sha256};

use super::locate::locate;
use super::{EmbedError, Embedder, MiniLmOptions, WordVectors, normalize};

/// Longest input, in tokens; the rest of a longer text is ignored.
pub const MAX_TOKENS: usize = 256;

/// all-MiniLM-L6-v2 on ONNX Runtime (see the module doc).
pub struct MiniLmEmbedder {
    pool: SessionPool,
    model_id: String,
    dimension: usize,
    model_dir: PathBuf,
    ort_lib: PathBuf,
}

impl std::fmt::Debug for MiniLmEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MiniLmEmbedder")
            .field("model_id", &self.model_id)
            .field("dimension", &self.dimension)
            .field("model_dir", &self.model_dir)
            .field("ort_lib", &self.ort_lib)
            .field("sessions", &self.pool.size)
            .finish()
    }
}

fn read(path: &Path) -> Result<Vec<u8>, EmbedError> {
    std::fs::read(path).map_err(|source| EmbedError::Io { path: path.to_path_buf(), source })
}

impl MiniLmEmbedder {
    /// Finds the model and runtime by the documented search order and loads
    /// them. A missing model gives [`EmbedError::ModelUnavailable`] with a
    /// one-line message saying to run `dreamwork model fetch`.
    pub fn load(options: &MiniLmOptions) -> Result<Self, EmbedError> {
        let located = locate(&options.locate);
        let Some((model_dir, ort_lib)) = located.paths() else {
            return Err(EmbedError::ModelUnavailable(located.missing_message()));
        };
        let sessions = options
            .sessions
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
            .max(1);
        Self::from_paths(model_dir, ort_lib, sessions)
    }

    /// Loads the model in `model_dir` on the runtime library `ort_lib`, with
    /// `sessions` sessions run in parallel.
    pub fn from_paths(model_dir: &Path, ort_lib: &Path, sessions: usize) -> Result<Self, EmbedError> {
        let onnx = read(&model_dir.join("model.onnx"))?;
        let config = read(&model_dir.join("config.json"))?;
        let tokenizer_files = TokenizerFiles {
            tokenizer_file: read(&model_dir.join("tokenizer.json"))?,
            config_file: config.clone(),
            special_tokens_map_file: read(&model_dir.join("special_tokens_map.json"))?,
            tokenizer_config_file: read(&model_dir.join("tokenizer_config.json"))?,
        };
        let dimension = hidden_size(&config).ok_or_else(|| {
            EmbedError::ModelUnavailable(format!(
                "{}: no numeric `hidden_size`",
                model_dir.join("config.json").display()
            ))
        })?;
        let digest = Sha256::digest(&onnx);
        let hex: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
        let model_id = format!("minilm-l6-v2-int8-{hex}-mean-{MAX_TOKENS}");

        let unavailable = |what: &str, e: &dyn std::fmt::Display| {
            EmbedError::ModelUnavailable(format!("{what} {}: {e}", ort_lib.display()))
        };
        let builder =
            ort::init_from(ort_lib).map_err(|e| unavailable("cannot load ONNX Runtime from", &e))?;
        let environment = builder
            .with_name("dreamwork")
            .build()
            .map_err(|e| unavailable("cannot start ONNX Runtime from", &e))?;

        let model = UserDefinedEmbeddingModel::new(onnx, tokenizer_files).with_pooling(Pooling::Mean);
        let threads_each = (std::thread::available_parallelism().map_or(1, |n| n.get()) / sessions).max(1);
        let count = sessions;
        let sessions = (0..count)
            .map(|_| {
                let options = InitOptionsUserDefined::new()
                    .with_environment(environment.clone())
                    .with_max_length(MAX_TOKENS)
                    .with_intra_threads(threads_each);
                TextEmbedding::try_new_from_user_defined(model.clone(), options).map_err(|e| {
                    EmbedError::ModelUnavailable(format!("cannot load model {}: {e}", model_dir.display()))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            pool: SessionPool { size: count, free: Mutex::new(sessions), returned: Condvar::new() },
            model_id,
            dimension,
            model_dir: model_dir.to_path_buf(),
            ort_lib: ort_lib.to_path_buf(),
        })
    }

    /// The model directory in use.
    pub fn model_dir(&self) -> &Path {
        &self.model_dir
    }

    /// The runtime library in use.
    pub fn ort_lib(&self) -> &Path {
        &self.ort_lib
    }

    fn embed_some(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let mut session = self.pool.take()?;
        let result = self.embed_on(&mut session, texts);
        self.pool.give_back(session);
        result
    }

    fn embed_on(&self, model: &mut TextEmbedding, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let mut out = Vec::with_capacity(texts.len());
        for text in texts {
            let mut vectors =
                model.embed([*text], Some(1)).map_err(|e| EmbedError::Backend(e.to_string()))?;
            let mut v = vectors.pop().ok_or_else(|| EmbedError::Backend("no vector returned".into()))?;
            if v.len() != self.dimension {
                return Err(EmbedError::Backend(format!(
                    "model returned {} dimensions, config says {}",
                    v.len(),
                    self.dimension
                )));
            }
            normalize(&mut v);
            out.push(v);
        }
        Ok(out)
    }
}

impl MiniLmEmbedder {
    fn word_vectors_some(&self, texts: &[&str]) -> Result<Vec<WordVectors>, EmbedError> {
        let mut session = self.pool.take()?;
        let result = texts.iter().map(|t| self.word_vectors_on(&mut session, t)).collect();
        self.pool.give_back(session);
        result
    }

    /// The model's last hidden layer for `text`, tokens averaged per word.
    fn word_vectors_on(&self, model: &mut TextEmbedding, text: &str) -> Result<WordVectors, EmbedError> {
        let backend = |e: &dyn std::fmt::Display| EmbedError::Backend(e.to_string());
        let encoding = model.tokenizer.encode(text, true).map_err(|e| backend(&e))?;
        let output = model.transform([text], Some(1)).map_err(|e| backend(&e))?;
        let batches = output.into_raw();
        let batch = batches.first().ok_or_else(|| EmbedError::Backend("no output returned".into()))?;
        let precedence: &[OutputKey] = &[OutputKey::ByName("last_hidden_state"), OutputKey::OnlyOne];
        let tensor = batch.select_output(&precedence).map_err(|e| backend(&e))?;
        let shape = tensor.shape().to_vec();
        let word_ids = encoding.get_word_ids();
        if shape.len() != 3 || shape[0] != 1 || shape[2] != self.dimension || shape[1] != word_ids.len() {
            return Err(EmbedError::Backend(format!(
                "token output of shape {shape:?} for {} tokens of {} dimensions",
                word_ids.len(),
                self.dimension
            )));
        }
        let flat: Vec<f32> = tensor.iter().copied().collect();
        let offsets = encoding.get_offsets();
        let dim = self.dimension;
        let mut sentence = vec![0f32; dim];
        for row in flat.chunks_exact(dim) {
            for (x, y) in sentence.iter_mut().zip(row) {
                *x += y;
            }
        }
        normalize(&mut sentence);
        let mut out = WordVectors { words: Vec::new(), dimension: dim, data: Vec::new(), sentence };
        let mut t = 0;
        while t < word_ids.len() {
            let Some(id) = word_ids[t] else {
                t += 1;
                continue;
            };
            let start = t;
            while t < word_ids.len() && word_ids[t] == Some(id) {
                t += 1;
            }
            let word = text.get(offsets[start].0..offsets[t - 1].1).unwrap_or_default().to_lowercase();
            if !word.chars().any(char::is_alphanumeric) {
                continue;
            }
            let mut v = vec![0f32; dim];
            for row in flat[start * dim..t * dim].chunks_exact(dim) {
                for (x, y) in v.iter_mut().zip(row) {
                    *x += y;
                }
            }
            normalize(&mut v);
            out.words.push(word);
            out.data.extend(v);
        }
        Ok(out)
    }
}

/// Sessions not in use; a caller takes any free one, waiting if none is.
struct SessionPool {
    size: usize,
    free: Mutex<Vec<TextEmbedding>>,
    returned: Condvar,
}

impl SessionPool {
    fn take(&self) -> Result<TextEmbedding, EmbedError> {
        let poisoned = |_| EmbedError::Backend("a session panicked".into());
        let mut free = self.free.lock().map_err(poisoned)?;
        loop {
            if let Some(s) = free.pop() {
                return Ok(s);
            }
            free = self.returned.wait(free).map_err(poisoned)?;
        }
    }

    fn give_back(&self, session: TextEmbedding) {
        if let Ok(mut free) = self.free.lock() {
            free.push(session);
            self.returned.notify_one();
        }
    }
}

fn hidden_size(config: &[u8]) -> Option<usize> {
    let value: serde_json::Value = serde_json::from_slice(config).ok()?;
    value.get("hidden_size")?.as_u64().and_then(|n| usize::try_from(n).ok())
}

impl Embedder for MiniLmEmbedder {
    fn model_id(&self) -> &str {
        &self.model_id
    }

    fn dimension(&self) -> usize {
        self.dimension
    }

    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let per = texts.len().div_ceil(self.pool.size).max(1);
        let parts: Vec<Vec<Vec<f32>>> =
            texts.par_chunks(per).map(|chunk| self.embed_some(chunk)).collect::<Result<_, _>>()?;
        Ok(parts.into_iter().flatten().collect())
    }

    fn word_vectors(&self, texts: &[&str]) -> Result<Option<Vec<WordVectors>>, EmbedError> {
        if texts.is_empty() {
            return Ok(Some(Vec::new()));
        }
        let per = texts.len().div_ceil(self.pool.size).max(1);
        let parts: Vec<Vec<WordVectors>> =
            texts.par_chunks(per).map(|chunk| self.word_vectors_some(chunk)).collect::<Result<_, _>>()?;
        Ok(Some(parts.into_iter().flatten().collect()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_size_is_read_from_config() {
        assert_eq!(hidden_size(br#"{"hidden_size": 384}"#), Some(384));
        assert_eq!(hidden_size(br#"{"hidden": 384}"#), None);
        assert_eq!(hidden_size(b"not json"), None);
    }
}
