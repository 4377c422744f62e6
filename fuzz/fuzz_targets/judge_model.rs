//! Fuzzes the judge's model-file decoder (`Judge::from_json`): arbitrary
//! text, and the built-in model with arbitrary bytes spliced in, never
//! panic; a model that loads walks its trees to an end on any input.
#![no_main]

use dreamwork::judge::{Judge, features};
use libfuzzer_sys::fuzz_target;

const BUILT_IN: &str = include_str!("../../src/judge/models/minilm.json");

fuzz_target!(|input: (String, u32, String, Vec<f64>)| {
    let (text, at, splice, values) = input;
    let _ = Judge::from_json("fuzz.json", &text);
    let mut cut = (at as usize).min(BUILT_IN.len());
    while !BUILT_IN.is_char_boundary(cut) {
        cut -= 1;
    }
    let spliced = format!("{}{splice}{}", &BUILT_IN[..cut], &BUILT_IN[cut..]);
    if let Ok(judge) = Judge::from_json("fuzz.json", &spliced) {
        let mut x = [0.0; features::COUNT];
        for (slot, v) in x.iter_mut().zip(values) {
            *slot = v;
        }
        let p = judge.entails.probability(&x);
        assert!(p.is_nan() || (0.0..=1.0).contains(&p));
    }
});
