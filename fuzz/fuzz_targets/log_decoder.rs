//! Feeds arbitrary bytes to the log decoder, half of the time behind a
//! valid header so that frames are reached. It must never panic, and what it
//! accepts must be consistent: consecutive versions, strictly sorted ops,
//! offsets inside the input, a torn tail only at the end.

#![no_main]

use std::path::Path;

use dreamwork::store::log;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let bytes = match data.split_first() {
        Some((flag, rest)) if flag % 2 == 0 => [&log::header()[..], rest].concat(),
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
