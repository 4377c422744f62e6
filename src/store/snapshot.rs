//! Snapshots: the whole live state at one version, written atomically
//! (temporary file, fsync, rename, directory fsync) and checked on read.

use std::fs::{self, File};
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::error::StoreError;
use crate::memory::Memory;

/// The magic bytes that open a snapshot file.
pub const SNAPSHOT_MAGIC: [u8; 8] = *b"DRMWSNAP";
/// The snapshot format version this build writes and reads.
pub const SNAPSHOT_FORMAT: u32 = 1;
/// Length of the snapshot header: magic, format, body length, body CRC,
/// header CRC.
pub const SNAPSHOT_HEADER_LEN: usize = 28;

/// The live state of a store at one version.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Snapshot {
    /// The version the state belongs to.
    pub version: u64,
    /// Length of the log when the snapshot was taken: commits after this
    /// offset are newer than the snapshot.
    pub log_offset: u64,
    /// Every live memory, in strict path order.
    pub memories: Vec<Memory>,
}

#[derive(Serialize)]
struct SnapshotRef<'a> {
    version: u64,
    log_offset: u64,
    memories: Vec<&'a Memory>,
}

/// Encodes a snapshot file's bytes.
pub(crate) fn encode<'a>(
    version: u64,
    log_offset: u64,
    memories: impl Iterator<Item = &'a Memory>,
) -> Vec<u8> {
    let body = SnapshotRef { version, log_offset, memories: memories.collect() };
    let out = vec![0u8; SNAPSHOT_HEADER_LEN];
    let mut out = postcard::to_extend(&body, out).expect("postcard encoding into a Vec cannot fail");
    let body_len = (out.len() - SNAPSHOT_HEADER_LEN) as u64;
    let body_crc = crc32fast::hash(&out[SNAPSHOT_HEADER_LEN..]);
    out[..8].copy_from_slice(&SNAPSHOT_MAGIC);
    out[8..12].copy_from_slice(&SNAPSHOT_FORMAT.to_le_bytes());
    out[12..20].copy_from_slice(&body_len.to_le_bytes());
    out[20..24].copy_from_slice(&body_crc.to_le_bytes());
    let header_crc = crc32fast::hash(&out[..24]);
    out[24..28].copy_from_slice(&header_crc.to_le_bytes());
    out
}

/// Decodes and checks a snapshot file's bytes; `file` names it in errors.
pub fn decode(bytes: &[u8], file: &Path) -> Result<Snapshot, StoreError> {
    if bytes.len() < 8 || bytes[..8] != SNAPSHOT_MAGIC {
        return Err(StoreError::BadMagic { file: file.to_owned(), kind: "snapshot" });
    }
    if bytes.len() < SNAPSHOT_HEADER_LEN {
        return Err(StoreError::corrupt(file, 0, "snapshot header is truncated"));
    }
    let u32_at = |i: usize| u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    if crc32fast::hash(&bytes[..24]) != u32_at(24) {
        return Err(StoreError::corrupt(file, 0, "snapshot header checksum mismatch"));
    }
    let found = u32_at(8);
    if found != SNAPSHOT_FORMAT {
        return Err(StoreError::UnsupportedVersion {
            file: file.to_owned(),
            found,
            expected: SNAPSHOT_FORMAT,
        });
    }
    let mut len_bytes = [0u8; 8];
    len_bytes.copy_from_slice(&bytes[12..20]);
    let body_len = u64::from_le_bytes(len_bytes);
    let body = &bytes[SNAPSHOT_HEADER_LEN..];
    if body.len() as u64 != body_len {
        return Err(StoreError::corrupt(
            file,
            SNAPSHOT_HEADER_LEN as u64,
            format!("snapshot body is {} bytes, its header says {body_len}", body.len()),
        ));
    }
    if crc32fast::hash(body) != u32_at(20) {
        return Err(StoreError::corrupt(file, SNAPSHOT_HEADER_LEN as u64, "snapshot checksum mismatch"));
    }
    let snapshot = match postcard::take_from_bytes::<Snapshot>(body) {
        Ok((snapshot, [])) => snapshot,
        Ok((_, rest)) => {
            return Err(StoreError::corrupt(
                file,
                (bytes.len() - rest.len()) as u64,
                "unexpected bytes after the snapshot body",
            ));
        }
        Err(e) => {
            return Err(StoreError::corrupt(
                file,
                SNAPSHOT_HEADER_LEN as u64,
                format!("undecodable snapshot: {e}"),
            ));
        }
    };
    if let Some(w) = snapshot.memories.windows(2).find(|w| w[0].path >= w[1].path) {
        return Err(StoreError::corrupt(
            file,
            SNAPSHOT_HEADER_LEN as u64,
            format!("memories are not in strict path order at {}", w[1].path),
        ));
    }
    Ok(snapshot)
}

/// Replaces `dir/name` with `bytes` atomically: write `name.tmp`, fsync it,
/// rename it over `name`, fsync the directory.
pub(crate) fn write_atomically(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), StoreError> {
    let tmp = dir.join(format!("{name}.tmp"));
    let target = dir.join(name);
    let mut file = File::create(&tmp).map_err(StoreError::io(&tmp))?;
    file.write_all(bytes).map_err(StoreError::io(&tmp))?;
    file.sync_all().map_err(StoreError::io(&tmp))?;
    drop(file);
    fs::rename(&tmp, &target).map_err(StoreError::io(&target))?;
    sync_dir(dir)
}

/// Makes a directory's entries (a rename, a new file) durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    #[cfg(unix)]
    {
        File::open(dir).and_then(|d| d.sync_all()).map_err(StoreError::io(dir))?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::{ContentHash, MemoryPath, Source, Timestamp};
    use proptest::prelude::*;

    fn memory() -> impl Strategy<Value = Memory> {
        (
            "(/[a-zé0-9 ._-]{1,6}){1,4}",
            "\\PC{0,40}",
            any::<i64>(),
            any::<i64>(),
            prop::collection::btree_map("[a-z]{0,4}", "\\PC{0,8}", 0..3),
            prop::collection::vec(any::<[u8; 32]>(), 0..3),
        )
            .prop_filter_map("valid path", |(path, content, c, u, metadata, hashes)| {
                let path = MemoryPath::new(&path).ok()?;
                let mut m = Memory::new(path.clone(), content, Timestamp(c));
                m.updated_at = Timestamp(u);
                m.metadata = metadata;
                m.sources = hashes
                    .into_iter()
                    .map(|h| Source::Memory { path: path.clone(), hash: ContentHash(h) })
                    .collect();
                Some(m)
            })
    }

    proptest! {
        #[test]
        fn snapshots_round_trip(memories in prop::collection::vec(memory(), 0..20), version in any::<u64>(), offset in any::<u64>()) {
            let mut memories = memories;
            memories.sort_by(|a, b| a.path.cmp(&b.path));
            memories.dedup_by(|a, b| a.path == b.path);
            let bytes = encode(version, offset, memories.iter());
            let snap = decode(&bytes, Path::new("s")).expect("a fresh snapshot decodes");
            prop_assert_eq!(snap, Snapshot { version, log_offset: offset, memories });
        }
    }

    #[test]
    fn truncated_or_padded_snapshots_are_refused() {
        let m = Memory::new(MemoryPath::new("/a").unwrap(), "x", Timestamp(1));
        let bytes = encode(1, 16, [&m].into_iter());
        for len in 0..bytes.len() {
            assert!(decode(&bytes[..len], Path::new("s")).is_err(), "prefix of {len} bytes accepted");
        }
        let mut padded = bytes.clone();
        padded.push(0);
        assert!(decode(&padded, Path::new("s")).is_err());
    }
}
