//! The record log: file header, frame encoding and a streaming, validating
//! frame reader.
//!
//! The reader never trusts a length before checking it against the bytes
//! that remain, never panics on any input, and tells a torn tail (the
//! remains of an interrupted append, which recovery may drop) from
//! corruption in the middle of the file (which is an error).

use std::io::{self, Read};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::error::StoreError;
use crate::memory::{Memory, MemoryPath, Timestamp};

/// The magic bytes that open a log file.
pub const LOG_MAGIC: [u8; 8] = *b"DRMWLOG\0";
/// The log format version this build writes and reads.
pub const LOG_FORMAT: u32 = 1;
/// Length of the log file header: magic, format version, header checksum.
pub const LOG_HEADER_LEN: u64 = 16;
/// Length of a frame header: payload length, payload CRC, header CRC.
pub const FRAME_HEADER_LEN: u64 = 12;
/// Largest payload a frame may declare; longer declarations are corruption.
pub const MAX_FRAME_PAYLOAD: u32 = 256 << 20;
/// The writer starts a new frame once a frame's ops reach about this size,
/// so that a large batch never needs one huge allocation to replay.
const FRAME_TARGET_BYTES: usize = 4 << 20;

/// One change recorded in the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    /// The memory at `memory.path` now is `memory`.
    Put(Memory),
    /// The memory at `path` was deleted at `at`.
    Delete {
        /// The deleted path.
        path: MemoryPath,
        /// When it was deleted.
        at: Timestamp,
    },
}

impl Op {
    /// The path the op changes.
    pub fn path(&self) -> &MemoryPath {
        match self {
            Op::Put(m) => &m.path,
            Op::Delete { path, .. } => path,
        }
    }
}

/// Borrowed twin of [`Op`] for encoding; serde encodes both identically.
#[derive(Serialize)]
pub(crate) enum OpRef<'a> {
    Put(&'a Memory),
    Delete { path: &'a MemoryPath, at: Timestamp },
}

#[derive(Serialize)]
struct FrameRef<'a> {
    version: u64,
    last: bool,
    ops: &'a [OpRef<'a>],
}

#[derive(Deserialize)]
struct FrameBody {
    version: u64,
    last: bool,
    ops: Vec<Op>,
}

/// One committed version as read back from the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commit {
    /// Its version number.
    pub version: u64,
    /// Byte offset of its first frame in the log file.
    pub offset: u64,
    /// Its changes, at most one per path, in path order.
    pub ops: Vec<Op>,
}

/// Where a scan stopped early because the tail of the log is not a complete
/// commit: what an interrupted append leaves behind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TornTail {
    /// Offset of the first byte that is not part of a complete commit; the
    /// log is valid up to here.
    pub offset: u64,
    /// Why the bytes from `offset` on were not accepted.
    pub reason: String,
}

/// The 16-byte header that opens every log file.
pub fn header() -> [u8; LOG_HEADER_LEN as usize] {
    let mut h = [0u8; LOG_HEADER_LEN as usize];
    h[..8].copy_from_slice(&LOG_MAGIC);
    h[8..12].copy_from_slice(&LOG_FORMAT.to_le_bytes());
    let crc = crc32fast::hash(&h[..12]);
    h[12..].copy_from_slice(&crc.to_le_bytes());
    h
}

/// Checks a log header read from `file`.
pub(crate) fn check_header(bytes: &[u8], file: &Path) -> Result<(), StoreError> {
    if bytes.len() < 8 || bytes[..8] != LOG_MAGIC {
        return Err(StoreError::BadMagic { file: file.to_owned(), kind: "log" });
    }
    if bytes.len() < LOG_HEADER_LEN as usize {
        return Err(StoreError::corrupt(file, 0, "log header is truncated"));
    }
    let stored = u32::from_le_bytes([bytes[12], bytes[13], bytes[14], bytes[15]]);
    if crc32fast::hash(&bytes[..12]) != stored {
        return Err(StoreError::corrupt(file, 0, "log header checksum mismatch"));
    }
    let found = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
    if found != LOG_FORMAT {
        return Err(StoreError::UnsupportedVersion { file: file.to_owned(), found, expected: LOG_FORMAT });
    }
    Ok(())
}

/// Decodes a whole log file held in memory: checks the header, then reads
/// every complete commit. Returns them with the torn tail, if any; errors for
/// a bad header or corruption before the tail. `file` names it in errors.
pub fn decode(bytes: &[u8], file: &Path) -> Result<(Vec<Commit>, Option<TornTail>), StoreError> {
    check_header(bytes, file)?;
    let body = &bytes[LOG_HEADER_LEN as usize..];
    let mut reader = LogReader::new(body, file, LOG_HEADER_LEN, bytes.len() as u64, 1);
    let mut commits = Vec::new();
    while let Some(commit) = reader.next_commit()? {
        commits.push(commit);
    }
    Ok((commits, reader.torn_tail().cloned()))
}

/// Rough encoded size of an op, used only to split large commits into frames.
fn estimated_size(op: &OpRef<'_>) -> usize {
    match op {
        OpRef::Put(m) => {
            let meta: usize = m.metadata.iter().map(|(k, v)| k.len() + v.len() + 4).sum();
            m.path.as_str().len() + m.content.len() + meta + 64 * (1 + m.sources.len())
        }
        OpRef::Delete { path, .. } => path.as_str().len() + 16,
    }
}

/// Appends the frames of commit `version` holding `ops` to `out`.
///
/// Fails only if a single op is larger than [`MAX_FRAME_PAYLOAD`].
#[cfg(test)]
pub(crate) fn encode_commit(version: u64, ops: &[OpRef<'_>], out: &mut Vec<u8>) -> Result<(), StoreError> {
    let mut scratch = Vec::new();
    encode_frames(version, ops, &mut scratch, |frame| {
        out.extend_from_slice(frame);
        Ok(())
    })
    .map(|_| ())
}

/// Encodes commit `version` holding `ops` frame by frame into `scratch`,
/// handing each finished frame to `emit`, so that a large commit never sits
/// in memory twice. Returns the bytes emitted.
///
/// Fails if a single op is larger than [`MAX_FRAME_PAYLOAD`] (before
/// anything of that frame is emitted) or if `emit` fails.
pub(crate) fn encode_frames(
    version: u64,
    ops: &[OpRef<'_>],
    scratch: &mut Vec<u8>,
    mut emit: impl FnMut(&[u8]) -> Result<(), StoreError>,
) -> Result<u64, StoreError> {
    let mut start = 0;
    let mut emitted = 0u64;
    loop {
        let mut end = start;
        let mut size = 0;
        while end < ops.len() && (end == start || size + estimated_size(&ops[end]) <= FRAME_TARGET_BYTES) {
            size += estimated_size(&ops[end]);
            end += 1;
        }
        let last = end == ops.len();
        let frame = FrameRef { version, last, ops: &ops[start..end] };
        scratch.clear();
        scratch.extend_from_slice(&[0u8; FRAME_HEADER_LEN as usize]);
        let mut out = postcard::to_extend(&frame, std::mem::take(scratch))
            .expect("postcard encoding into a Vec cannot fail for plain data");
        let payload_len = out.len() - FRAME_HEADER_LEN as usize;
        let len = match u32::try_from(payload_len) {
            Ok(len) if len <= MAX_FRAME_PAYLOAD => len,
            _ => {
                *scratch = out;
                let path = ops[start..end].first().map(|op| match op {
                    OpRef::Put(m) => m.path.to_string(),
                    OpRef::Delete { path, .. } => path.to_string(),
                });
                return Err(StoreError::BadFile {
                    file: PathBuf::from(path.unwrap_or_default()),
                    reason: format!(
                        "the record is {payload_len} bytes encoded; at most {MAX_FRAME_PAYLOAD} are allowed"
                    ),
                });
            }
        };
        let payload_crc = crc32fast::hash(&out[FRAME_HEADER_LEN as usize..]);
        out[..4].copy_from_slice(&len.to_le_bytes());
        out[4..8].copy_from_slice(&payload_crc.to_le_bytes());
        let header_crc = crc32fast::hash(&out[..8]);
        out[8..12].copy_from_slice(&header_crc.to_le_bytes());
        let emitted_now = emit(&out);
        emitted += out.len() as u64;
        *scratch = out;
        emitted_now?;
        if last {
            return Ok(emitted);
        }
        start = end;
    }
}

/// Reads commits one after another from a log positioned after its header
/// (or at a commit boundary), validating every frame.
pub struct LogReader<R> {
    reader: R,
    file: PathBuf,
    offset: u64,
    len: u64,
    next_version: u64,
    buf: Vec<u8>,
    torn: Option<TornTail>,
}

/// How one frame read ended.
enum FrameRead {
    /// A valid frame and the offset just past it.
    Frame(FrameBody, u64),
    /// Clean end of the file.
    End,
    /// A torn tail starting at the frame's offset.
    Torn(String),
}

impl<R: Read> LogReader<R> {
    /// A reader over `reader`, which is at byte `offset` of `file`, a file of
    /// `len` bytes; the first commit read must carry version `next_version`.
    pub fn new(reader: R, file: &Path, offset: u64, len: u64, next_version: u64) -> Self {
        Self { reader, file: file.to_owned(), offset, len, next_version, buf: Vec::new(), torn: None }
    }

    /// Offset just past the last complete commit read.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The torn tail found, once [`next_commit`](Self::next_commit) returned `None`.
    pub fn torn_tail(&self) -> Option<&TornTail> {
        self.torn.as_ref()
    }

    /// The next complete commit; `Ok(None)` at the end of the log or at a
    /// torn tail (see [`torn_tail`](Self::torn_tail)); an error for
    /// corruption before the tail.
    pub fn next_commit(&mut self) -> Result<Option<Commit>, StoreError> {
        if self.torn.is_some() {
            return Ok(None);
        }
        let start = self.offset;
        let mut pos = start;
        let mut ops: Vec<Op> = Vec::new();
        loop {
            match self.read_frame(pos)? {
                FrameRead::End if pos == start => return Ok(None),
                FrameRead::End => {
                    self.torn = Some(TornTail {
                        offset: start,
                        reason: format!("version {} ends without its final frame", self.next_version),
                    });
                    return Ok(None);
                }
                FrameRead::Torn(reason) => {
                    self.torn = Some(TornTail { offset: start, reason });
                    return Ok(None);
                }
                FrameRead::Frame(frame, after) => {
                    if frame.version != self.next_version {
                        return Err(StoreError::corrupt(
                            &self.file,
                            pos,
                            format!("frame has version {}, expected {}", frame.version, self.next_version),
                        ));
                    }
                    for op in frame.ops {
                        if let Some(prev) = ops.last()
                            && prev.path() >= op.path()
                        {
                            return Err(StoreError::corrupt(
                                &self.file,
                                pos,
                                format!("ops of version {} are not in strict path order", frame.version),
                            ));
                        }
                        ops.push(op);
                    }
                    pos = after;
                    if frame.last {
                        self.offset = pos;
                        self.next_version += 1;
                        return Ok(Some(Commit { version: frame.version, offset: start, ops }));
                    }
                }
            }
        }
    }
}

impl<R: Read> LogReader<R> {
    /// Reads the frame at `pos` (the reader is positioned there).
    fn read_frame(&mut self, pos: u64) -> Result<FrameRead, StoreError> {
        let remaining = self.len.saturating_sub(pos);
        if remaining == 0 {
            return Ok(FrameRead::End);
        }
        if remaining < FRAME_HEADER_LEN {
            return Ok(FrameRead::Torn(format!("{remaining} stray bytes, shorter than a frame header")));
        }
        let mut header = [0u8; FRAME_HEADER_LEN as usize];
        self.read_exact(&mut header)?;
        let field = |i: usize| u32::from_le_bytes([header[i], header[i + 1], header[i + 2], header[i + 3]]);
        let (len, payload_crc, header_crc) = (field(0), field(4), field(8));
        if crc32fast::hash(&header[..8]) != header_crc {
            if header == [0u8; FRAME_HEADER_LEN as usize]
                && self.rest_is_zero(remaining - FRAME_HEADER_LEN)?
            {
                return Ok(FrameRead::Torn("zero-filled tail".into()));
            }
            return Err(StoreError::corrupt(&self.file, pos, "frame header checksum mismatch"));
        }
        if len > MAX_FRAME_PAYLOAD {
            return Err(StoreError::corrupt(&self.file, pos, format!("frame declares {len} bytes")));
        }
        let frame_len = FRAME_HEADER_LEN + u64::from(len);
        if frame_len > remaining {
            return Ok(FrameRead::Torn(format!(
                "frame declares {len} bytes but only {} remain",
                remaining - FRAME_HEADER_LEN
            )));
        }
        self.buf.clear();
        self.buf.resize(len as usize, 0);
        let mut buf = std::mem::take(&mut self.buf);
        let read = self.read_exact(&mut buf);
        self.buf = buf;
        read?;
        if crc32fast::hash(&self.buf) != payload_crc {
            if frame_len == remaining {
                return Ok(FrameRead::Torn("the last frame fails its checksum".into()));
            }
            return Err(StoreError::corrupt(&self.file, pos, "frame checksum mismatch"));
        }
        let frame = match postcard::take_from_bytes::<FrameBody>(&self.buf) {
            Ok((frame, [])) => frame,
            Ok((_, rest)) => {
                return Err(StoreError::corrupt(
                    &self.file,
                    pos,
                    format!("{} unexpected bytes after the frame's records", rest.len()),
                ));
            }
            Err(e) => {
                return Err(StoreError::corrupt(&self.file, pos, format!("undecodable frame: {e}")));
            }
        };
        Ok(FrameRead::Frame(frame, pos + frame_len))
    }

    fn read_exact(&mut self, buf: &mut [u8]) -> Result<(), StoreError> {
        self.reader.read_exact(buf).map_err(|e| {
            if e.kind() == io::ErrorKind::UnexpectedEof {
                StoreError::corrupt(&self.file, self.offset, "file shrank while being read")
            } else {
                StoreError::Io { path: self.file.clone(), source: e }
            }
        })
    }

    /// Whether the next `n` bytes are all zero (reads them).
    fn rest_is_zero(&mut self, mut n: u64) -> Result<bool, StoreError> {
        let mut chunk = [0u8; 8192];
        while n > 0 {
            let take = n.min(chunk.len() as u64) as usize;
            self.read_exact(&mut chunk[..take])?;
            if chunk[..take].iter().any(|&b| b != 0) {
                return Ok(false);
            }
            n -= take as u64;
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn memory(path: &str, content: &str) -> Memory {
        Memory::new(MemoryPath::new(path).expect("valid path"), content, Timestamp(7))
    }

    fn read_all(bytes: &[u8]) -> (Result<Vec<Commit>, StoreError>, Option<TornTail>) {
        let mut reader = LogReader::new(bytes, Path::new("log"), 0, bytes.len() as u64, 1);
        let mut commits = Vec::new();
        loop {
            match reader.next_commit() {
                Ok(Some(c)) => commits.push(c),
                Ok(None) => return (Ok(commits), reader.torn_tail().cloned()),
                Err(e) => return (Err(e), None),
            }
        }
    }

    #[test]
    fn commits_round_trip() {
        let (a, b) = (memory("/a", "x"), memory("/b", "y"));
        let mut bytes = Vec::new();
        encode_commit(1, &[OpRef::Put(&a), OpRef::Put(&b)], &mut bytes).unwrap();
        let first_len = bytes.len() as u64;
        let path = MemoryPath::new("/a").unwrap();
        encode_commit(2, &[OpRef::Delete { path: &path, at: Timestamp(9) }], &mut bytes).unwrap();
        let (commits, torn) = read_all(&bytes);
        let commits = commits.unwrap();
        assert_eq!(torn, None);
        assert_eq!(commits.len(), 2);
        assert_eq!(commits[0].ops, vec![Op::Put(a), Op::Put(b)]);
        assert_eq!(commits[1].ops, vec![Op::Delete { path, at: Timestamp(9) }]);
        assert_eq!((commits[0].offset, commits[1].offset), (0, first_len));
    }

    #[test]
    fn out_of_sequence_versions_are_corruption() {
        let a = memory("/a", "x");
        let mut bytes = Vec::new();
        encode_commit(1, &[OpRef::Put(&a)], &mut bytes).unwrap();
        encode_commit(3, &[OpRef::Put(&a)], &mut bytes).unwrap();
        encode_commit(4, &[OpRef::Put(&a)], &mut bytes).unwrap();
        let (result, _) = read_all(&bytes);
        assert!(matches!(result, Err(StoreError::Corrupt { reason, .. }) if reason.contains("expected 2")));
    }

    #[test]
    fn unsorted_ops_are_corruption() {
        let (a, b) = (memory("/a", "x"), memory("/b", "y"));
        let mut bytes = Vec::new();
        encode_commit(1, &[OpRef::Put(&b), OpRef::Put(&a)], &mut bytes).unwrap();
        let (result, _) = read_all(&bytes);
        assert!(matches!(result, Err(StoreError::Corrupt { reason, .. }) if reason.contains("path order")));
    }

    #[test]
    fn header_checks() {
        let h = header();
        assert!(check_header(&h, Path::new("log")).is_ok());
        assert!(matches!(check_header(b"DRMW", Path::new("log")), Err(StoreError::BadMagic { .. })));
        assert!(matches!(check_header(&h[..12], Path::new("log")), Err(StoreError::Corrupt { .. })));
    }
}
