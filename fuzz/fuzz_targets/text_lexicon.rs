//! Fuzzes the lexicon parser (`Lexicon::from_toml`): arbitrary text, and
//! the default lexicon with arbitrary bytes spliced in, never panic; a
//! lexicon that loads compares texts without panicking.
#![no_main]

use dreamwork::fuzzing::LEXICON_TOML as DEFAULT_TOML;
use dreamwork::text::{Document, Lexicon, compare};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (String, u16, String)| {
    let (text, at, splice) = input;
    let _ = Lexicon::from_toml(&text);
    let mut cut = (at as usize).min(DEFAULT_TOML.len());
    while !DEFAULT_TOML.is_char_boundary(cut) {
        cut -= 1;
    }
    let spliced = format!("{}{splice}{}", &DEFAULT_TOML[..cut], &DEFAULT_TOML[cut..]);
    if let Ok(lexicon) = Lexicon::from_toml(&spliced) {
        let (a, b) = (Document::parse(&text, &lexicon), Document::parse(&splice, &lexicon));
        let _ = compare(&a, &b, &lexicon);
    }
});
