//! Fuzzes the decoders of the hosted sync: arbitrary bytes as a memory,
//! a page of memories, a created store, a page of session events, or a
//! link file decode or fail, never panic; what decodes keeps the promises
//! the sync relies on (ids safe in a URL, a 64-digit hash that matches the
//! content when there is one, no id or path twice), and a link round-trips.
#![no_main]

use std::collections::BTreeSet;

use dreamwork::fuzzing::content_sha256;
use dreamwork::fuzzing::hosted::{
    decode_created_store, decode_event_page, decode_memory, decode_memory_page, valid_id,
};
use dreamwork::hosted::{HostedMemory, Link};
use libfuzzer_sys::fuzz_target;

fn check(m: &HostedMemory) {
    assert!(valid_id(&m.id));
    assert_eq!(m.content_sha256.len(), 64);
    if let Some(content) = &m.content {
        assert_eq!(content_sha256(content), m.content_sha256);
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = decode_memory(data) {
        check(&m);
    }
    if let Ok(page) = decode_memory_page(data) {
        let mut ids = BTreeSet::new();
        let mut paths = BTreeSet::new();
        for m in &page.memories {
            check(m);
            assert!(ids.insert(&m.id) && paths.insert(&m.path));
        }
        assert!(page.next_page.as_deref() != Some(""));
    }
    if let Ok(id) = decode_created_store(data) {
        assert!(valid_id(&id));
    }
    if let Ok(page) = decode_event_page(data) {
        assert!(page.events.iter().all(|e| e.get("type").is_some_and(|t| t.is_string())));
    }
    if let Ok(link) = Link::decode(data) {
        assert_eq!(Link::decode(&link.encode()).as_ref(), Ok(&link));
    }
});
