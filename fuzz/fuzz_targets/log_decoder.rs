//! Feeds arbitrary bytes to the log decoder: raw, behind a valid header, or
//! cut into payloads wrapped in frames with valid checksums so that the
//! record decoder is reached. It must never panic, and what it
//! accepts must be consistent: consecutive versions, strictly sorted ops,
//! offsets inside the input, a torn tail only at the end.

#![no_main]

use std::path::Path;

use dreamwork::fuzzing::log;
use libfuzzer_sys::fuzz_target;

/// A log whose frames carry the payloads found in `data`: each payload is
/// preceded by its length byte; the final payload may be cut short.
fn framed(mut data: &[u8]) -> Vec<u8> {
    let mut out = log::header().to_vec();
    while let Some((&len, rest)) = data.split_first() {
        let (payload, next) = rest.split_at(usize::from(len).min(rest.len()));
        let len = payload.len() as u32;
        let crc = crc32fast::hash(payload);
        let mut header = [0u8; 12];
        header[..4].copy_from_slice(&len.to_le_bytes());
        header[4..8].copy_from_slice(&crc.to_le_bytes());
        let header_crc = crc32fast::hash(&header[..8]);
        header[8..].copy_from_slice(&header_crc.to_le_bytes());
        out.extend_from_slice(&header);
        out.extend_from_slice(payload);
        data = next;
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let bytes = match data.split_first() {
        Some((flag, rest)) if flag % 3 == 0 => [&log::header()[..], rest].concat(),
        Some((flag, rest)) if flag % 3 == 1 => framed(rest),
        _ => data.to_vec(),
    };
    if let Ok((commits, torn)) = log::decode(&bytes, Path::new("fuzz.log")) {
        let mut previous_offset = 0;
        for (i, commit) in commits.iter().enumerate() {
            assert_eq!(commit.version, i as u64 + 1);
            assert!(commit.offset >= previous_offset && commit.offset < bytes.len() as u64);
            previous_offset = commit.offset;
            assert!(commit.ops.windows(2).all(|w| w[0].path() < w[1].path()));
        }
        if let Some(torn) = torn {
            assert!(torn.offset >= previous_offset && torn.offset < bytes.len() as u64);
        }
    }
});
