//! The vector cache decoder on arbitrary bytes: never panics; what it
//! accepts re-encodes to the same valid prefix; a valid file with its tail
//! cut anywhere decodes to a prefix of its entries.
#![no_main]

use dreamwork::fuzzing::vector_cache::{decode, header};
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
        assert!(d.valid_len as usize <= file.len());
        assert!(d.valid_len as usize >= hlen);
        let again = decode(&file[..d.valid_len as usize], MODEL, DIM).expect("a valid prefix decodes");
        assert_eq!(again.entries.len(), d.entries.len());
        for cut in [hlen, (hlen + d.valid_len as usize) / 2] {
            let part = decode(&file[..cut], MODEL, DIM).expect("a cut valid file decodes");
            assert!(part.entries.len() <= d.entries.len());
        }
    }
});
