//! Feeds arbitrary bytes to the snapshot decoder, half of the time with a
//! valid header and checksums wrapped around them so that the body decoder
//! is reached. It must never panic; an accepted snapshot is in strict path
//! order.

#![no_main]

use std::path::Path;

use dreamwork::fuzzing::snapshot;
use libfuzzer_sys::fuzz_target;

/// A snapshot file with `body` as its postcard body and valid checksums.
fn wrap(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(snapshot::SNAPSHOT_HEADER_LEN + body.len());
    out.extend_from_slice(&snapshot::SNAPSHOT_MAGIC);
    out.extend_from_slice(&snapshot::SNAPSHOT_FORMAT.to_le_bytes());
    out.extend_from_slice(&(body.len() as u64).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(body).to_le_bytes());
    let header_crc = crc32fast::hash(&out);
    out.extend_from_slice(&header_crc.to_le_bytes());
    out.extend_from_slice(body);
    out
}

fuzz_target!(|data: &[u8]| {
    let bytes = match data.split_first() {
        Some((flag, rest)) if flag % 2 == 0 => wrap(rest),
        _ => data.to_vec(),
    };
    if let Ok(snap) = snapshot::decode(&bytes, Path::new("fuzz.snap")) {
        assert!(snap.memories.windows(2).all(|w| w[0].path < w[1].path));
    }
});
