//! The memory-tool command decoder (`dreamwork memory-tool`'s input lines):
//! any bytes decode to a command or an error text, never a panic; a decoded
//! command survives a JSON round trip; and executing it against a store
//! (kept between runs, small) never panics, and a line that is no command
//! gets an error result.

#![no_main]

use std::sync::{Mutex, OnceLock};

use dreamwork::agent::Command;
use dreamwork::agent::jsonl::{answer_line, decode_line};
use dreamwork::store::{Durability, Store, StoreOptions};
use libfuzzer_sys::fuzz_target;

/// Commands that change the store are kept from growing it without bound.
const MAX_MEMORIES: usize = 64;

fn store() -> &'static Mutex<(tempfile::TempDir, Store)> {
    static STORE: OnceLock<Mutex<(tempfile::TempDir, Store)>> = OnceLock::new();
    STORE.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = StoreOptions::new().durability(Durability::Batched).create(dir.path()).expect("create");
        Mutex::new((dir, store))
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(line) = std::str::from_utf8(data) else { return };
    let request = decode_line(line);
    if let Ok(command) = &request.command {
        let json = serde_json::to_string(command).expect("commands encode");
        let again: Command = serde_json::from_str(&json).expect("an encoded command decodes");
        assert_eq!(&again, command);
    }
    let mut guard = store().lock().expect("not poisoned");
    let (_, store) = &mut *guard;
    let result = answer_line(store, line);
    if request.command.is_err() {
        assert!(result.is_error);
    }
    if store.len() > MAX_MEMORIES {
        let paths: Vec<_> = store.iter().map(|m| m.path.clone()).collect();
        let mut batch = store.batch();
        for path in &paths {
            batch.delete(path);
        }
        batch.commit().expect("clearing the store");
    }
});
