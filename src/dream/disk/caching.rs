//! The on-disk dream's embedder: in front of the vector and word caches.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Mutex;

use crate::dream::{DreamError, DreamOutput};
use crate::embed::{
    EmbedError, Embedder, VectorCache, VectorCacheWriter, WordCache, WordCacheWriter, WordVectors,
};
use crate::memory::ContentHash;
use crate::progress::CancelToken;

/// An embedder in front of the vector caches read (STORE's and the user
/// cache) and those written (OUT's and the user cache): a text's vector is
/// looked up by the blake3 of the text, computed on a miss, and every vector
/// handed out is appended to OUT's cache in the order asked (so the file's
/// bytes are deterministic); every vector computed goes to the user cache.
/// Word vectors are looked up in, and added to, the user cache only.
pub(super) struct CachingEmbedder<'a> {
    pub(super) inner: &'a dyn Embedder,
    pub(super) cache: VectorCache,
    pub(super) writer: Mutex<VectorCacheWriter>,
    /// The texts already in OUT's cache.
    pub(super) written: Mutex<BTreeSet<ContentHash>>,
    /// (embedded, cached) so far.
    pub(super) counts: Mutex<(usize, usize)>,
    /// The user cache's writer, until an append to it fails.
    pub(super) user: Mutex<Option<VectorCacheWriter>>,
    /// The user cache's folder of word vectors (`None`: no user cache).
    pub(super) words_dir: Option<PathBuf>,
    /// The user cache's word vectors.
    pub(super) words: Mutex<Words>,
    /// Texts whose word vectors were (computed, cached) so far.
    pub(super) word_counts: Mutex<(usize, usize)>,
    /// What went wrong with the user cache.
    pub(super) warnings: Mutex<Vec<String>>,
}

/// The user cache's word vectors, as a dream sees them.
pub(super) enum Words {
    /// Not looked at yet: a dream whose embedder gives no word vectors, or
    /// that needs none, never opens (or creates) the file.
    Unread,
    /// What the file held when first read, and its writer.
    Read {
        cache: WordCache,
        /// `None` until the first append if the file did not exist.
        writer: Option<WordCacheWriter>,
    },
    /// No user cache, or its file could not be read or written: word vectors
    /// are computed without it.
    Off,
}

impl Embedder for CachingEmbedder<'_> {
    fn model_id(&self) -> &str {
        self.inner.model_id()
    }

    /// From the user cache's word vectors where it holds them; the others
    /// are computed (each distinct text once) and added to it.
    fn word_vectors(&self, texts: &[&str]) -> Result<Option<Vec<WordVectors>>, EmbedError> {
        let hashes: Vec<ContentHash> = texts.iter().map(|t| ContentHash::of(t.as_bytes())).collect();
        let mut words = self.words.lock().map_err(|_| poisoned())?;
        if matches!(*words, Words::Unread) {
            *words = self.read_words()?;
        }
        let mut out: Vec<Option<WordVectors>> = match &*words {
            Words::Read { cache, .. } => hashes.iter().map(|h| cache.get(h)).collect(),
            _ => vec![None; texts.len()],
        };
        let mut seen = BTreeSet::new();
        let misses: Vec<(ContentHash, &str)> = hashes
            .iter()
            .zip(texts)
            .zip(&out)
            .filter(|((h, _), got)| got.is_none() && seen.insert(**h))
            .map(|((h, t), _)| (*h, *t))
            .collect();
        let fresh: BTreeMap<ContentHash, WordVectors> = if misses.is_empty() {
            BTreeMap::new()
        } else {
            let miss_texts: Vec<&str> = misses.iter().map(|(_, t)| *t).collect();
            let Some(computed) = self.inner.word_vectors(&miss_texts)? else {
                return Ok(None);
            };
            if computed.len() != misses.len() {
                return Err(EmbedError::Backend(format!(
                    "embedder returned word vectors of {} texts for {}",
                    computed.len(),
                    misses.len()
                )));
            }
            self.keep_words(&mut words, &misses, &computed)?;
            misses.iter().map(|(h, _)| *h).zip(computed).collect()
        };
        if let Ok(mut c) = self.word_counts.lock() {
            c.0 += fresh.len();
            c.1 += texts.len() - misses.len();
        }
        for (slot, h) in out.iter_mut().zip(&hashes) {
            if slot.is_none() {
                *slot = fresh.get(h).cloned();
            }
        }
        out.into_iter()
            .zip(&hashes)
            .map(|(w, h)| w.ok_or_else(|| EmbedError::Backend(format!("no word vectors for text {h}"))))
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    fn dimension(&self) -> usize {
        self.inner.dimension()
    }

    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let hashes: Vec<ContentHash> = texts.iter().map(|t| ContentHash::of(t.as_bytes())).collect();
        let mut misses: Vec<&str> = Vec::new();
        let mut seen = BTreeSet::new();
        for (h, t) in hashes.iter().zip(texts) {
            if self.cache.get(h).is_none() && seen.insert(*h) {
                misses.push(t);
            }
        }
        let fresh: BTreeMap<ContentHash, Vec<f32>> = if misses.is_empty() {
            BTreeMap::new()
        } else {
            let vectors = self.inner.embed(&misses)?;
            if vectors.len() != misses.len() {
                return Err(EmbedError::Backend(format!(
                    "embedder returned {} vectors for {} texts",
                    vectors.len(),
                    misses.len()
                )));
            }
            misses.iter().map(|t| ContentHash::of(t.as_bytes())).zip(vectors).collect()
        };
        let out: Vec<Vec<f32>> = hashes
            .iter()
            .map(|h| {
                self.cache
                    .get(h)
                    .map(<[f32]>::to_vec)
                    .or_else(|| fresh.get(h).cloned())
                    .ok_or_else(|| EmbedError::Backend(format!("no vector for text {h}")))
            })
            .collect::<Result<_, _>>()?;
        self.keep(&misses, &fresh)?;
        let mut writer = self.writer.lock().map_err(|_| poisoned())?;
        let mut written = self.written.lock().map_err(|_| poisoned())?;
        let entries: Vec<(ContentHash, &[f32])> = hashes
            .iter()
            .zip(&out)
            .filter(|(h, _)| written.insert(**h))
            .map(|(h, v)| (*h, v.as_slice()))
            .collect();
        writer.append(&entries)?;
        if let Ok(mut c) = self.counts.lock() {
            c.0 += fresh.len();
            c.1 += texts.len() - misses.len();
        }
        Ok(out)
    }
}

impl CachingEmbedder<'_> {
    /// Appends the vectors just computed (for `misses`, in their order) to
    /// the user cache; a failure there is a warning, and the cache is not
    /// written again in this dream.
    fn keep(&self, misses: &[&str], fresh: &BTreeMap<ContentHash, Vec<f32>>) -> Result<(), EmbedError> {
        let mut user = self.user.lock().map_err(|_| poisoned())?;
        let Some(writer) = user.as_mut() else {
            return Ok(());
        };
        let entries: Vec<(ContentHash, &[f32])> = misses
            .iter()
            .map(|t| ContentHash::of(t.as_bytes()))
            .filter_map(|h| fresh.get(&h).map(|v| (h, v.as_slice())))
            .collect();
        if let Err(e) = writer.append(&entries) {
            let note = format!("{e}; vectors computed from here on are not added to the user cache");
            self.warnings.lock().map_err(|_| poisoned())?.push(note);
            *user = None;
        }
        Ok(())
    }

    /// The user cache's word vectors at the first request for them: its file
    /// if there is one (a damaged one is a warning, and then not used at
    /// all); none if there is none yet (it is created at the first append).
    fn read_words(&self) -> Result<Words, EmbedError> {
        let Some(dir) = &self.words_dir else {
            return Ok(Words::Off);
        };
        let (model, dimension) = (self.inner.model_id(), self.inner.dimension());
        if !dir.join(crate::embed::word_cache::file_name(model)).exists() {
            return Ok(Words::Read { cache: WordCache::empty(model, dimension), writer: None });
        }
        match WordCacheWriter::open_shared(dir, model, dimension) {
            Ok((writer, cache)) => Ok(Words::Read { cache, writer: Some(writer) }),
            Err(e) => {
                let note = format!("{e}; word vectors are computed without the user cache");
                self.warnings.lock().map_err(|_| poisoned())?.push(note);
                Ok(Words::Off)
            }
        }
    }

    /// Appends the word vectors just computed (for `misses`, in their order)
    /// to the user cache, opening its file at the first append; a failure
    /// is a warning, and the cache is not used again in this dream.
    fn keep_words(
        &self,
        words: &mut Words,
        misses: &[(ContentHash, &str)],
        computed: &[WordVectors],
    ) -> Result<(), EmbedError> {
        let (Some(dir), Words::Read { writer, .. }) = (&self.words_dir, &mut *words) else {
            return Ok(());
        };
        let entries: Vec<(ContentHash, &WordVectors)> =
            misses.iter().map(|(h, _)| *h).zip(computed).collect();
        let appended = match writer {
            Some(w) => w.append(&entries),
            None => WordCacheWriter::open_shared(dir, self.inner.model_id(), self.inner.dimension())
                .and_then(|(mut w, _)| {
                    let n = w.append(&entries)?;
                    *writer = Some(w);
                    Ok(n)
                }),
        };
        if let Err(e) = appended {
            let note = format!("{e}; word vectors computed from here on are not added to the user cache");
            self.warnings.lock().map_err(|_| poisoned())?.push(note);
            *words = Words::Off;
        }
        Ok(())
    }

    /// Puts the vector of every output memory the dream did not embed (the
    /// pattern memories) into OUT's cache, so that a dream over OUT embeds
    /// nothing again.
    pub(super) fn complete_for(
        &self,
        output: &DreamOutput,
        batch: usize,
        cancel: &CancelToken,
    ) -> Result<(), DreamError> {
        let missing: Vec<&str> = {
            let written = self.written.lock().map_err(|_| poisoned())?;
            output
                .memories
                .iter()
                .filter(|m| !written.contains(&m.hash))
                .map(|m| m.content.as_str())
                .collect()
        };
        for chunk in missing.chunks(batch.max(1)) {
            if cancel.is_cancelled() {
                return Err(DreamError::Cancelled);
            }
            self.embed(chunk)?;
        }
        Ok(())
    }
}

/// The error of a lock on OUT's cache writer that a panicking thread left poisoned.
pub(super) fn poisoned() -> EmbedError {
    EmbedError::Backend("vector cache writer poisoned".into())
}
