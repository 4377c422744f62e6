//! The word-vector cache: each text's contextual word vectors
//! ([`WordVectors`], what a dream's judge reads) kept on disk by (content
//! hash, model id), in the user cache directory's `words/` folder
//! ([`CacheKind::Words`](super::CacheKind::Words)), so a second dream
//! computes none it computed before.
//!
//! # Layout
//!
//! One append-only file per model id ([`file_name`]):
//!
//! ```text
//! header:  b"DWWORDVS" | version u32 = 1 | dimension u32 | id_len u32 | model id (UTF-8) | crc32 u32
//! frame*:  payload_len u32 | crc32(payload) u32 | payload
//! payload: content hash [32] | word count u32 | (word_len u32 | word (UTF-8))*
//!          | sentence: dimension × f32 | words: word count × dimension × f32
//! ```
//!
//! The header is laid out as the pooled cache's ([`super::cache`]) under its
//! own magic; integers and floats are little-endian; `crc32` is
//! CRC-32/ISO-HDLC. The floats are the embedder's, exactly (no
//! quantisation): vectors read back are the bits computed, so whether a
//! dream found them here or computed them never changes its output. That
//! costs `4 × dimension` bytes per word (1.5 kB with MiniLM, about 25 kB for
//! a 15-word memory).
//!
//! # Promises
//!
//! - A torn tail is ignored on read and cut off by the next writer: a frame
//!   cut short (its length reaches past the end of the file), a last frame
//!   whose checksum fails, or a tail of zero bytes (a crash after the file
//!   grew but before its data reached the disk). A damaged length field that
//!   points past the end of the file cannot be told from a torn append: the
//!   frames after it are cut off too — cached work lost, never a wrong vector.
//! - A frame whose checksum or structure fails, with data after it, is
//!   corruption: an error naming the file and the frame's byte offset. A
//!   file with another magic, version, dimension or model id is refused.
//! - Every frame is checked when the file is read, so a damaged file never
//!   yields a wrong vector.
//! - Writers ([`WordCacheWriter`]) share the file as the pooled cache's
//!   shared writers do: an exclusive lock only around each append, under
//!   which a writer first reads what the others appended (so nothing is
//!   written twice) and cuts a torn tail a crashed writer left.
//! - A loaded cache ([`WordCache`]) keeps the file's checked bytes and an
//!   index, and decodes a text's vectors only when asked for them.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};

use super::WordVectors;
use super::cache::{
    CacheError, DecodeError, check_header_of, file_stem, header_of, io, open_locked, parse_header_of,
    to_cache_error, u32_at,
};
use crate::memory::ContentHash;

/// Magic bytes at the start of every word cache file.
pub const MAGIC: &[u8; 8] = b"DWWORDVS";
/// The extension of every word cache file.
pub const EXTENSION: &str = "dwwords";

/// Bytes before a frame's payload: its length and its checksum.
const FRAME_HEADER: usize = 8;
/// Bytes of a payload before its words: the content hash and the word count.
const PAYLOAD_HEAD: usize = 36;

/// The file name used for `model_id` (as the pooled cache's, with
/// [`EXTENSION`]).
pub fn file_name(model_id: &str) -> String {
    format!("{}.{EXTENSION}", file_stem(model_id))
}

/// The exact header bytes for a model id and dimension.
pub fn header(model_id: &str, dimension: usize) -> Vec<u8> {
    header_of(MAGIC, model_id, dimension)
}

/// The model id, dimension and length of a header at the start of `bytes`,
/// if it is a whole, valid word cache header of this format version.
pub fn parse_header(bytes: &[u8]) -> Option<(String, usize, usize)> {
    parse_header_of(MAGIC, bytes)
}

/// The valid frames of a word cache file's bytes (see [`decode`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DecodedWordFrames {
    /// Each frame's content hash and where its payload lies in the bytes,
    /// in file order (the first of duplicate hashes wins on load).
    pub frames: Vec<(ContentHash, Range<usize>)>,
    /// Length of the valid prefix; bytes after it are a torn tail.
    pub valid_len: u64,
}

/// Decodes a word cache file's bytes for `model_id` and `dimension`: where
/// the valid frames are and where they end. A torn tail is not an error; a
/// damaged frame with data after it is (at that frame's offset), and so is
/// a header that does not match. Never panics, whatever the bytes.
pub fn decode(bytes: &[u8], model_id: &str, dimension: usize) -> Result<DecodedWordFrames, DecodeError> {
    let at = check_header_of(MAGIC, bytes, model_id, dimension)?;
    if at < header(model_id, dimension).len() {
        return Ok(DecodedWordFrames { frames: Vec::new(), valid_len: at as u64 });
    }
    let mut decoded = decode_frames(&bytes[at..], at as u64, dimension)?;
    for (_, range) in &mut decoded.frames {
        *range = range.start + at..range.end + at;
    }
    Ok(decoded)
}

/// The vectors of a payload [`decode`] accepted (`None` if it is not one).
pub fn vectors_of(payload: &[u8], dimension: usize) -> Option<WordVectors> {
    parse(payload, dimension).ok().map(|record| record.vectors(dimension))
}

/// Decodes the frames in `bytes`, which start at byte offset `base` of the
/// file: ranges are into `bytes`, `valid_len` and error offsets the file's.
fn decode_frames(bytes: &[u8], base: u64, dimension: usize) -> Result<DecodedWordFrames, DecodeError> {
    let mut out = DecodedWordFrames { frames: Vec::new(), valid_len: base };
    let mut at = 0;
    while at < bytes.len() {
        let rest = &bytes[at..];
        let (Some(len), Some(crc)) = (u32_at(rest, 0), u32_at(rest, 4)) else {
            break; // incomplete frame header: torn tail
        };
        let Some(end) = (at + FRAME_HEADER).checked_add(len as usize).filter(|&end| end <= bytes.len())
        else {
            break; // payload cut short: torn tail
        };
        let payload = &bytes[at + FRAME_HEADER..end];
        let problem = if crc32fast::hash(payload) != crc {
            Some("frame checksum mismatch".to_string())
        } else {
            parse(payload, dimension).err()
        };
        if let Some(reason) = problem {
            if end == bytes.len() || rest.iter().all(|&b| b == 0) {
                break; // a damaged last frame, or zeros: a torn append
            }
            return Err(DecodeError { offset: base + at as u64, foreign: false, reason });
        }
        out.frames.push((hash_of(payload), at + FRAME_HEADER..end));
        at = end;
        out.valid_len = base + at as u64;
    }
    Ok(out)
}

/// The content hash a checked payload starts with.
fn hash_of(payload: &[u8]) -> ContentHash {
    let mut hash = [0u8; 32];
    if let Some(head) = payload.get(..32) {
        hash.copy_from_slice(head);
    }
    ContentHash(hash)
}

/// A payload's fields, borrowed.
struct Record<'a> {
    words: Vec<&'a str>,
    /// The sentence vector, then the word vectors, as little-endian f32s.
    floats: &'a [u8],
}

impl Record<'_> {
    fn vectors(self, dimension: usize) -> WordVectors {
        let mut floats = self.floats.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]));
        let sentence = floats.by_ref().take(dimension).collect();
        let data = floats.collect();
        WordVectors { words: self.words.into_iter().map(str::to_owned).collect(), dimension, data, sentence }
    }
}

/// Checks a payload's structure (what its checksum cannot: that it was
/// written for this dimension) and borrows its fields.
fn parse(payload: &[u8], dimension: usize) -> Result<Record<'_>, String> {
    let count = u32_at(payload, 32).ok_or("record shorter than its content hash and word count")? as usize;
    let mut at = PAYLOAD_HEAD;
    let mut words = Vec::with_capacity(count.min(payload.len() / 4));
    for i in 0..count {
        let len = u32_at(payload, at).ok_or_else(|| format!("word {i} of {count} is missing"))? as usize;
        at += 4;
        let bytes = at
            .checked_add(len)
            .and_then(|end| payload.get(at..end))
            .ok_or_else(|| format!("word {i} of {count} is cut short"))?;
        words.push(std::str::from_utf8(bytes).map_err(|_| format!("word {i} is not UTF-8"))?);
        at += len;
    }
    let floats = &payload[at..];
    let expected = (count + 1).checked_mul(dimension).and_then(|n| n.checked_mul(4));
    if expected != Some(floats.len()) {
        return Err(format!("{} bytes of vectors for {count} words of dimension {dimension}", floats.len()));
    }
    Ok(Record { words, floats })
}

/// Appends the frame of `vectors` to `out`; `false` (nothing appended) if
/// the record is too long for its length field, which no real text is.
fn encode_frame(out: &mut Vec<u8>, hash: &ContentHash, vectors: &WordVectors) -> bool {
    let words: usize = vectors.words.iter().map(|w| 4 + w.len()).sum();
    let floats = 4 * (vectors.sentence.len() + vectors.data.len());
    let Ok(len) = u32::try_from(PAYLOAD_HEAD + words + floats) else {
        return false;
    };
    let Ok(count) = u32::try_from(vectors.words.len()) else {
        return false;
    };
    let start = out.len();
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&hash.0);
    out.extend_from_slice(&count.to_le_bytes());
    for word in &vectors.words {
        // Each word is shorter than the whole payload, whose length fits.
        out.extend_from_slice(&(word.len() as u32).to_le_bytes());
        out.extend_from_slice(word.as_bytes());
    }
    for x in vectors.sentence.iter().chain(&vectors.data) {
        out.extend_from_slice(&x.to_le_bytes());
    }
    let crc = crc32fast::hash(&out[start + FRAME_HEADER..]);
    out[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
    true
}

/// Whether `vectors` has the shape a cache of `dimension` holds.
fn check_shape(vectors: &WordVectors, dimension: usize) -> Result<(), CacheError> {
    let found = if vectors.dimension != dimension {
        vectors.dimension
    } else if vectors.sentence.len() != dimension {
        vectors.sentence.len()
    } else if vectors.data.len() != vectors.words.len() * dimension {
        vectors.data.len() / vectors.words.len().max(1)
    } else {
        return Ok(());
    };
    Err(CacheError::Dimension { expected: dimension, found })
}

/// Complete frames of the word cache file `file` of `len` bytes whose
/// header is `header_len` long, found by following the frames' lengths (a
/// torn tail not counted; damage not detected). For `dreamwork cache stats`.
pub fn frame_count(file: &mut (impl Read + Seek), header_len: usize, len: u64) -> std::io::Result<u64> {
    let (mut at, mut count) = (header_len as u64, 0);
    let mut head = [0u8; FRAME_HEADER];
    while at + FRAME_HEADER as u64 <= len {
        file.seek(SeekFrom::Start(at))?;
        file.read_exact(&mut head)?;
        let end =
            at + FRAME_HEADER as u64 + u64::from(u32::from_le_bytes([head[0], head[1], head[2], head[3]]));
        if end > len {
            break;
        }
        (at, count) = (end, count + 1);
    }
    Ok(count)
}

/// The word vectors of one model, as read from a cache file: its checked
/// bytes and where each text's frame is.
#[derive(Debug, Clone)]
pub struct WordCache {
    model_id: String,
    dimension: usize,
    bytes: Vec<u8>,
    index: BTreeMap<ContentHash, Range<usize>>,
}

impl WordCache {
    /// An empty cache for `model_id` (no file behind it).
    pub fn empty(model_id: &str, dimension: usize) -> Self {
        Self { model_id: model_id.to_owned(), dimension, bytes: Vec::new(), index: BTreeMap::new() }
    }

    fn from_decoded(model_id: &str, dimension: usize, bytes: Vec<u8>, decoded: DecodedWordFrames) -> Self {
        let mut index = BTreeMap::new();
        for (hash, range) in decoded.frames {
            index.entry(hash).or_insert(range);
        }
        Self { model_id: model_id.to_owned(), dimension, bytes, index }
    }

    /// The model id whose vectors these are.
    pub fn model_id(&self) -> &str {
        &self.model_id
    }

    /// The length of every vector.
    pub fn dimension(&self) -> usize {
        self.dimension
    }

    /// The word vectors cached for `hash`.
    pub fn get(&self, hash: &ContentHash) -> Option<WordVectors> {
        let payload = self.bytes.get(self.index.get(hash)?.clone())?;
        vectors_of(payload, self.dimension)
    }

    /// Number of texts cached.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Whether no text is cached.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }
}

/// Appends word vectors of one model to a cache file shared with other
/// writers (other dreams): the lock is taken only around each append (see
/// the module doc).
#[derive(Debug)]
pub struct WordCacheWriter {
    file: File,
    path: PathBuf,
    model_id: String,
    dimension: usize,
    known: BTreeSet<ContentHash>,
    /// The end of the frames read or written so far.
    end: u64,
}

impl WordCacheWriter {
    /// Opens (creating if needed) the word cache file of `model_id` in
    /// `dir` and returns what it holds (one read of the file serves both),
    /// under the lock, waiting for another writer's append to finish. A torn
    /// header or tail is cut off; a damaged or foreign file is an error (and
    /// left as it is).
    pub fn open_shared(
        dir: &Path,
        model_id: &str,
        dimension: usize,
    ) -> Result<(Self, WordCache), CacheError> {
        let (file, path) = open_locked(dir, model_id, &file_name(model_id), &header(model_id, dimension))?;
        let mut writer =
            Self { file, path, model_id: model_id.to_owned(), dimension, known: BTreeSet::new(), end: 0 };
        let read = writer.read_locked();
        let unlocked = writer.file.unlock().map_err(io(&writer.path));
        let cache = read?;
        unlocked?;
        Ok((writer, cache))
    }

    /// [`open_shared`](Self::open_shared)'s reading, under the lock.
    fn read_locked(&mut self) -> Result<WordCache, CacheError> {
        let path = self.path.clone();
        let mut bytes = Vec::new();
        self.file.seek(SeekFrom::Start(0)).map_err(io(&path))?;
        self.file.read_to_end(&mut bytes).map_err(io(&path))?;
        let decoded = decode(&bytes, &self.model_id, self.dimension).map_err(|e| to_cache_error(&path, e))?;
        let head = header(&self.model_id, self.dimension);
        if decoded.valid_len < head.len() as u64 {
            self.file.set_len(0).map_err(io(&path))?;
            self.file.seek(SeekFrom::Start(0)).map_err(io(&path))?;
            self.file.write_all(&head).map_err(io(&path))?;
            self.file.sync_data().map_err(io(&path))?;
            self.end = head.len() as u64;
            return Ok(WordCache::empty(&self.model_id, self.dimension));
        }
        if decoded.valid_len < bytes.len() as u64 {
            self.file.set_len(decoded.valid_len).map_err(io(&path))?;
            self.file.sync_data().map_err(io(&path))?;
            bytes.truncate(decoded.valid_len as usize);
        }
        self.end = decoded.valid_len;
        self.known.extend(decoded.frames.iter().map(|(h, _)| *h));
        Ok(WordCache::from_decoded(&self.model_id, self.dimension, bytes, decoded))
    }

    /// Under the lock: reads the frames others appended since `self.end`
    /// and cuts off a torn tail.
    fn catch_up(&mut self) -> Result<(), CacheError> {
        let path = self.path.clone();
        let len = self.file.metadata().map_err(io(&path))?.len();
        if len < self.end {
            return Err(CacheError::Corrupt {
                path,
                offset: len,
                reason: format!("file shrank from {} to {len} bytes while open", self.end),
            });
        }
        if len == self.end {
            return Ok(());
        }
        let mut bytes = Vec::new();
        self.file.seek(SeekFrom::Start(self.end)).map_err(io(&path))?;
        self.file.read_to_end(&mut bytes).map_err(io(&path))?;
        let decoded =
            decode_frames(&bytes, self.end, self.dimension).map_err(|e| to_cache_error(&path, e))?;
        if decoded.valid_len < len {
            // A writer died mid-append; nobody else writes while we hold the lock.
            self.file.set_len(decoded.valid_len).map_err(io(&path))?;
        }
        self.known.extend(decoded.frames.into_iter().map(|(h, _)| h));
        self.end = decoded.valid_len;
        Ok(())
    }

    /// The file written to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends the entries whose hash the file does not hold yet (neither
    /// from this writer nor from another), then `fsync`s. Returns how many
    /// were written.
    pub fn append(&mut self, entries: &[(ContentHash, &WordVectors)]) -> Result<usize, CacheError> {
        let mut buf = Vec::new();
        let mut frames: Vec<(ContentHash, Range<usize>)> = Vec::new();
        for (hash, vectors) in entries {
            check_shape(vectors, self.dimension)?;
            if self.known.contains(hash) || frames.iter().any(|(h, _)| h == hash) {
                continue;
            }
            let start = buf.len();
            if encode_frame(&mut buf, hash, vectors) {
                frames.push((*hash, start..buf.len()));
            }
        }
        if frames.is_empty() {
            return Ok(0);
        }
        self.file.lock().map_err(io(&self.path))?;
        let written = self.append_locked(&buf, &frames);
        let unlocked = self.file.unlock().map_err(io(&self.path));
        let n = written?;
        unlocked?;
        Ok(n)
    }

    /// [`append`](Self::append) under the lock: catch up with the other
    /// writers, then write the frames of `buf` they did not write meanwhile.
    fn append_locked(
        &mut self,
        buf: &[u8],
        frames: &[(ContentHash, Range<usize>)],
    ) -> Result<usize, CacheError> {
        self.catch_up()?;
        let mut fresh = Vec::with_capacity(buf.len());
        let mut added = Vec::new();
        for (hash, range) in frames {
            if !self.known.contains(hash) {
                fresh.extend_from_slice(&buf[range.clone()]);
                added.push(*hash);
            }
        }
        if fresh.is_empty() {
            return Ok(0);
        }
        self.file.seek(SeekFrom::Start(self.end)).map_err(io(&self.path))?;
        self.file.write_all(&fresh).map_err(io(&self.path))?;
        self.file.sync_data().map_err(io(&self.path))?;
        self.end += fresh.len() as u64;
        let n = added.len();
        self.known.extend(added);
        Ok(n)
    }
}

#[cfg(test)]
#[path = "word_cache_tests.rs"]
mod tests;
