//! The word cache decoder on arbitrary bytes: never panics; every frame it
//! accepts gives word vectors of the cache's shape; what it accepts decodes
//! again the same when cut to its valid prefix; a valid file with its tail
//! cut anywhere decodes to a prefix of its frames.
#![no_main]

use dreamwork::fuzzing::word_cache::{decode, header, vectors_of};
use libfuzzer_sys::fuzz_target;

const MODEL: &str = "fuzz-model";
const DIM: usize = 3;

fuzz_target!(|data: &[u8]| {
    // Raw bytes, and the same bytes behind a valid header (to reach frames).
    let _ = decode(data, MODEL, DIM);
    let mut file = header(MODEL, DIM);
    let hlen = file.len();
    file.extend_from_slice(data);
    if let Ok(d) = decode(&file, MODEL, DIM) {
        let valid = d.valid_len as usize;
        assert!(valid <= file.len() && valid >= hlen);
        for (_, range) in &d.frames {
            assert!(range.end <= valid);
            let v = vectors_of(&file[range.clone()], DIM).expect("an accepted frame decodes");
            assert_eq!(v.dimension, DIM);
            assert_eq!(v.sentence.len(), DIM);
            assert_eq!(v.data.len(), v.words.len() * DIM);
        }
        let again = decode(&file[..valid], MODEL, DIM).expect("a valid prefix decodes");
        assert_eq!(again, d);
        for cut in [hlen, (hlen + valid) / 2] {
            let part = decode(&file[..cut], MODEL, DIM).expect("a cut valid file decodes");
            assert!(part.frames.len() <= d.frames.len());
            assert_eq!(part.frames[..], d.frames[..part.frames.len()]);
        }
    }
});
