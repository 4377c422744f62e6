//! Fuzzes the whole dream on small arbitrary stores: never a panic, and
//! every input memory is carried by exactly one output memory.
#![no_main]

use std::collections::BTreeMap;

use arbitrary::Arbitrary;
use dreamwork::dream::{Dream, DreamInput, DreamOptions, Thresholds};
use dreamwork::embed::{Embedder, LexicalEmbedder};
use dreamwork::resolve::LocalResolver;
use dreamwork::{CancelToken, Memory, MemoryPath, Silent, Timestamp};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Arbitrary)]
struct Entry {
    slot: u8,
    text: String,
    at: u16,
}

fuzz_target!(|entries: Vec<Entry>| {
    let mut memories: BTreeMap<String, Memory> = BTreeMap::new();
    for e in entries.into_iter().take(12) {
        let path = format!("/m/{}.md", e.slot % 16);
        let Ok(p) = MemoryPath::new(&path) else { continue };
        if e.text.len() > 2000 {
            continue;
        }
        memories.insert(path, Memory::new(p, e.text, Timestamp(i64::from(e.at))));
    }
    let input: Vec<Memory> = memories.into_values().collect();
    // A small lexical embedder (fast), with the default one's calibration.
    let thresholds = Thresholds::for_model(LexicalEmbedder::default().model_id());
    let out = Dream::new(DreamOptions::default().with_thresholds(thresholds))
        .run(
            DreamInput { memories: input.clone(), sessions: vec![] },
            &LexicalEmbedder::new(64),
            &LocalResolver,
            &Silent,
            &CancelToken::new(),
        )
        .expect("a dream over valid memories succeeds");
    let mut carried = BTreeMap::new();
    for entry in &out.report.memories {
        for s in &entry.sources {
            assert!(carried.insert(s.clone(), entry.path.clone()).is_none(), "{s} carried twice");
        }
    }
    for m in &input {
        assert!(carried.contains_key(&m.path), "{} carried by nothing", m.path);
    }
});
