//! Vector cache invariants (proptest): a file cut at any byte loads as a
//! prefix of what was written; a flipped byte is either an error or a
//! torn tail, never a panic or a wrong vector; the writer repairs a torn
//! tail and appends after it.

use std::path::Path;

use dreamwork::ContentHash;
use dreamwork::embed::{VectorCache, VectorCacheWriter};
use dreamwork::fuzzing::vector_cache::{decode, file_name};
use proptest::prelude::*;

const DIM: usize = 4;
const MODEL: &str = "prop-model";

fn entries(n: usize, seed: u32) -> Vec<(ContentHash, Vec<f32>)> {
    (0..n)
        .map(|i| {
            let h = ContentHash::of(format!("{seed}-{i}").as_bytes());
            (h, (0..DIM).map(|j| (i * DIM + j) as f32 * 0.25 + seed as f32).collect())
        })
        .collect()
}

/// Opens a writer on a file whose last writer was just dropped. Another
/// test of this binary may be starting a process at that moment, and the
/// child shares this process's open files (the dropped writer's locked one
/// too) until its `exec` closes them; `open` waits that out, as
/// `Store::open` does (`LOCK_PATIENCE`, 500 ms).
fn reopen(dir: &Path) -> VectorCacheWriter {
    VectorCacheWriter::open(dir, MODEL, DIM).expect("writer opens")
}

fn write_file(dir: &Path, es: &[(ContentHash, Vec<f32>)], batch: usize) -> Vec<u8> {
    let mut w = VectorCacheWriter::open(dir, MODEL, DIM).unwrap();
    for chunk in es.chunks(batch.max(1)) {
        let refs: Vec<(ContentHash, &[f32])> = chunk.iter().map(|(h, v)| (*h, v.as_slice())).collect();
        w.append(&refs).unwrap();
    }
    drop(w);
    std::fs::read(dir.join(file_name(MODEL))).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_cut_loads_a_prefix(n in 0usize..20, batch in 1usize..6, seed in 0u32..1000, cut in any::<prop::sample::Index>()) {
        let dir = tempfile::tempdir().unwrap();
        let es = entries(n, seed);
        let bytes = write_file(dir.path(), &es, batch);
        let at = cut.index(bytes.len() + 1);
        let d = decode(&bytes[..at], MODEL, DIM).unwrap();
        prop_assert!(d.entries.len() <= es.len());
        for (got, want) in d.entries.iter().zip(&es) {
            prop_assert_eq!(got, want);
        }
        // The writer cuts the torn tail and appends after the prefix.
        std::fs::write(dir.path().join(file_name(MODEL)), &bytes[..at]).unwrap();
        let kept = d.entries.len();
        let more = entries(3, seed + 5000);
        let mut w = reopen(dir.path());
        let refs: Vec<(ContentHash, &[f32])> = more.iter().map(|(h, v)| (*h, v.as_slice())).collect();
        w.append(&refs).unwrap();
        drop(w);
        let c = VectorCache::load(dir.path(), MODEL, DIM).unwrap();
        prop_assert_eq!(c.len(), kept + 3);
        for (h, v) in es.iter().take(kept).chain(&more) {
            prop_assert_eq!(c.get(h), Some(v.as_slice()));
        }
    }

    #[test]
    fn a_flipped_byte_is_detected_or_torn(n in 1usize..12, seed in 0u32..1000, at in any::<prop::sample::Index>(), bit in 0u8..8) {
        let dir = tempfile::tempdir().unwrap();
        let es = entries(n, seed);
        let mut bytes = write_file(dir.path(), &es, 3);
        let i = at.index(bytes.len());
        bytes[i] ^= 1 << bit;
        match decode(&bytes, MODEL, DIM) {
            Err(_) => {}
            Ok(d) => {
                // Only a damaged last frame may be dropped; nothing wrong is returned.
                prop_assert!(d.entries.len() + 1 >= es.len());
                for (got, want) in d.entries.iter().zip(&es) {
                    prop_assert_eq!(got, want);
                }
            }
        }
    }
}
