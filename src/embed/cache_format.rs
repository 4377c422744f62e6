//! The vector cache's file format (see [`cache`](super::cache) for the
//! layout): header and frame encoding, and decoding with its checks.

use std::path::Path;

use super::cache::CacheError;
use crate::memory::ContentHash;

/// Magic bytes at the start of every cache file.
pub const MAGIC: &[u8; 8] = b"DWVECTOR";
/// The format version written and accepted.
pub const VERSION: u32 = 1;
/// Longest model id accepted, in bytes.
pub const MAX_MODEL_ID_BYTES: usize = 1024;
/// Misses embedded per batch (cancellation and progress are checked
/// between batches; each batch is written to disk before the next starts).
pub const BATCH: usize = 256;

pub(super) const FRAME_HEADER: usize = 8;

/// Where a decode stopped being valid (see [`decode`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DecodeError {
    /// Byte offset of the bad header field or frame.
    pub offset: u64,
    /// Whether the header itself did not match (foreign file) rather than
    /// a frame being damaged.
    pub foreign: bool,
    /// What is wrong.
    pub reason: String,
}

/// The valid content of a cache file's bytes.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DecodedVectors {
    /// Entries in file order (the first of duplicate hashes wins on load).
    pub entries: Vec<(ContentHash, Vec<f32>)>,
    /// Length of the valid prefix; bytes after it are a torn tail.
    pub valid_len: u64,
}

/// The file name used for `model_id`: its safe characters, then 16 hex
/// digits of its blake3 hash (so distinct ids never share a file).
pub fn file_name(model_id: &str) -> String {
    format!("{}.{EXTENSION}", file_stem(model_id))
}

/// A cache file's name without its extension: the model id's safe
/// characters, then 16 hex digits of its blake3 hash.
pub(super) fn file_stem(model_id: &str) -> String {
    let safe: String = model_id
        .chars()
        .take(64)
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_' { c } else { '_' })
        .collect();
    let hash = blake3::hash(model_id.as_bytes()).to_hex();
    format!("{safe}-{}", &hash[..16])
}

/// The extension of every cache file.
pub const EXTENSION: &str = "dwvec";

/// The model id, dimension and length of a header at the start of `bytes`,
/// if it is a whole, valid header of this format version.
pub fn parse_header(bytes: &[u8]) -> Option<(String, usize, usize)> {
    parse_header_of(MAGIC, bytes)
}

/// [`parse_header`] for a file format that shares this header layout under
/// another magic (see [`super::word_cache`]).
pub(super) fn parse_header_of(magic: &[u8; 8], bytes: &[u8]) -> Option<(String, usize, usize)> {
    if bytes.get(..8) != Some(magic.as_slice()) || u32_at(bytes, 8) != Some(VERSION) {
        return None;
    }
    let dimension = u32_at(bytes, 12)? as usize;
    let id_len = u32_at(bytes, 16)? as usize;
    if id_len > MAX_MODEL_ID_BYTES {
        return None;
    }
    let id = std::str::from_utf8(bytes.get(20..20 + id_len)?).ok()?;
    let expected = header_of(magic, id, dimension);
    (bytes.get(..expected.len()) == Some(expected.as_slice()))
        .then(|| (id.to_string(), dimension, expected.len()))
}

/// Complete frames in a file of `file_len` bytes whose header is
/// `header_len` long (a torn tail not counted; damage not detected).
pub fn frame_count(file_len: u64, header_len: usize, dimension: usize) -> u64 {
    file_len.saturating_sub(header_len as u64) / frame_len(dimension) as u64
}

/// The exact header bytes for a model id and dimension.
pub fn header(model_id: &str, dimension: usize) -> Vec<u8> {
    header_of(MAGIC, model_id, dimension)
}

/// [`header`] under another magic.
pub(super) fn header_of(magic: &[u8; 8], model_id: &str, dimension: usize) -> Vec<u8> {
    let mut h = Vec::with_capacity(24 + model_id.len());
    h.extend_from_slice(magic);
    h.extend_from_slice(&VERSION.to_le_bytes());
    h.extend_from_slice(&(dimension as u32).to_le_bytes());
    h.extend_from_slice(&(model_id.len() as u32).to_le_bytes());
    h.extend_from_slice(model_id.as_bytes());
    let crc = crc32fast::hash(&h);
    h.extend_from_slice(&crc.to_le_bytes());
    h
}

pub(super) fn frame_len(dimension: usize) -> usize {
    FRAME_HEADER + 32 + 4 * dimension
}

pub(super) fn encode_frame(out: &mut Vec<u8>, hash: &ContentHash, vector: &[f32]) {
    let payload_len = 32 + 4 * vector.len();
    let start = out.len();
    out.extend_from_slice(&(payload_len as u32).to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&hash.0);
    for x in vector {
        out.extend_from_slice(&x.to_le_bytes());
    }
    let crc = crc32fast::hash(&out[start + FRAME_HEADER..]);
    out[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
}

pub(super) fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    bytes.get(at..at + 4).and_then(|b| b.try_into().ok()).map(u32::from_le_bytes)
}

pub(super) fn check_header(bytes: &[u8], model_id: &str, dimension: usize) -> Result<usize, DecodeError> {
    check_header_of(MAGIC, bytes, model_id, dimension)
}

/// Checks the header at the start of `bytes` against the one `magic`,
/// `model_id` and `dimension` give; returns its length, or the length of
/// `bytes` if they are a prefix of it (a header torn at creation).
pub(super) fn check_header_of(
    magic: &[u8; 8],
    bytes: &[u8],
    model_id: &str,
    dimension: usize,
) -> Result<usize, DecodeError> {
    let foreign =
        |offset: usize, reason: String| DecodeError { offset: offset as u64, foreign: true, reason };
    let expected = header_of(magic, model_id, dimension);
    if bytes.len() < expected.len() && expected.starts_with(bytes) {
        // A header torn while the file was being created: an empty cache.
        return Ok(bytes.len());
    }
    if bytes.get(..8) != Some(magic.as_slice()) {
        return Err(foreign(0, "wrong magic bytes".into()));
    }
    match u32_at(bytes, 8) {
        Some(VERSION) => {}
        Some(v) => return Err(foreign(8, format!("format version {v}, expected {VERSION}"))),
        None => return Err(foreign(8, "truncated header".into())),
    }
    match u32_at(bytes, 12) {
        Some(d) if d as usize == dimension => {}
        Some(d) => return Err(foreign(12, format!("dimension {d}, expected {dimension}"))),
        None => return Err(foreign(12, "truncated header".into())),
    }
    let id_len = u32_at(bytes, 16).ok_or_else(|| foreign(16, "truncated header".into()))? as usize;
    let id = bytes.get(20..20 + id_len.min(MAX_MODEL_ID_BYTES + 1));
    if id != Some(model_id.as_bytes()) {
        let found = id.map(String::from_utf8_lossy).unwrap_or_default();
        return Err(foreign(20, format!("model id {found:?}, expected {model_id:?}")));
    }
    if bytes.get(..expected.len()) != Some(expected.as_slice()) {
        return Err(DecodeError {
            offset: (expected.len() - 4) as u64,
            foreign: false,
            reason: "header checksum mismatch".into(),
        });
    }
    Ok(expected.len())
}

/// Decodes a cache file's bytes for `model_id` and `dimension`: the valid
/// entries and where they end. A torn tail is not an error; a damaged frame
/// with data after it is (at that frame's offset), and so is a header that
/// does not match. Never panics, whatever the bytes.
pub fn decode(bytes: &[u8], model_id: &str, dimension: usize) -> Result<DecodedVectors, DecodeError> {
    let at = check_header(bytes, model_id, dimension)?;
    if at < header(model_id, dimension).len() {
        return Ok(DecodedVectors { entries: Vec::new(), valid_len: at as u64 });
    }
    decode_frames(&bytes[at..], at as u64, dimension)
}

/// Decodes the frames in `bytes`, which start at byte offset `base` of the
/// file (offsets in the result and in errors are the file's).
pub(super) fn decode_frames(
    bytes: &[u8],
    base: u64,
    dimension: usize,
) -> Result<DecodedVectors, DecodeError> {
    let mut at = 0;
    let mut out = DecodedVectors { entries: Vec::new(), valid_len: base };
    let flen = frame_len(dimension);
    while at < bytes.len() {
        let Some(frame) = bytes.get(at..at + flen) else {
            break; // incomplete last frame: torn tail
        };
        let is_last = at + flen == bytes.len();
        let corrupt = |reason: String| DecodeError { offset: base + at as u64, foreign: false, reason };
        let payload_len = u32_at(frame, 0).unwrap_or(0) as usize;
        let crc = u32_at(frame, 4).unwrap_or(0);
        let payload = &frame[FRAME_HEADER..];
        let problem = if payload_len != payload.len() {
            Some(format!("frame length {payload_len}, expected {}", payload.len()))
        } else if crc32fast::hash(payload) != crc {
            Some("frame checksum mismatch".to_string())
        } else {
            None
        };
        if let Some(reason) = problem {
            if is_last {
                break; // a damaged last frame is a torn append
            }
            return Err(corrupt(reason));
        }
        let mut hash = [0u8; 32];
        hash.copy_from_slice(&payload[..32]);
        let vector =
            payload[32..].chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
        out.entries.push((ContentHash(hash), vector));
        at += flen;
        out.valid_len = base + at as u64;
    }
    Ok(out)
}

pub(super) fn check_model_id(model_id: &str) -> Result<(), CacheError> {
    if model_id.is_empty() || model_id.len() > MAX_MODEL_ID_BYTES {
        return Err(CacheError::ModelId(model_id.to_string()));
    }
    Ok(())
}

pub(super) fn to_cache_error(path: &Path, e: DecodeError) -> CacheError {
    if e.foreign {
        CacheError::Foreign {
            path: path.to_path_buf(),
            reason: format!("{} (byte offset {})", e.reason, e.offset),
        }
    } else {
        CacheError::Corrupt { path: path.to_path_buf(), offset: e.offset, reason: e.reason }
    }
}
