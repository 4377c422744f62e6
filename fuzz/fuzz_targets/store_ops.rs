//! Fuzzed sequences of store operations, with simulated crashes, applied to
//! a real store and to a `BTreeMap` model and compared after every step.
//!
//! A crash truncates the log at an arbitrary byte between the start of the
//! last few commits and its end (what a crash during those appends can
//! leave) and reopens: the store must hold exactly the model's state after
//! the last commit that fits.

#![no_main]

use std::collections::BTreeMap;
use std::fs::OpenOptions;

use arbitrary::Arbitrary;
use dreamwork::store::{Durability, LOG_FILE, Store, StoreOptions};
use dreamwork::{MemoryPath, Timestamp};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Arbitrary)]
enum Op {
    Put { path: u8, content: String },
    Delete { path: u8 },
    Batch { changes: Vec<(u8, Option<String>)> },
    Compact,
    Reopen,
    Crash { back: u8, cut: u16 },
}

type Model = BTreeMap<String, String>;

fn path(i: u8) -> MemoryPath {
    let names = ["/a", "/a/b", "/b", "/b/c/d.md", "/ü", "/z"];
    MemoryPath::new(names[usize::from(i) % names.len()]).expect("valid path")
}

fn state(store: &Store) -> Model {
    store.iter().map(|m| (m.path.to_string(), m.content.clone())).collect()
}

fuzz_target!(|ops: Vec<Op>| {
    // A RAM-backed directory where there is one: fsyncs are then cheap and
    // the fuzzer runs many more sequences.
    let shm = std::path::Path::new("/dev/shm");
    let dir = if shm.is_dir() { tempfile::tempdir_in(shm) } else { tempfile::tempdir() }.expect("tempdir");
    let options = StoreOptions::new().durability(Durability::Batched).snapshot_after_log_bytes(Some(4096));
    let mut store = options.create(dir.path()).expect("create");
    // (version, log length, state) after every commit since the last reopen.
    let mut model = Model::new();
    let mut commits = vec![(0u64, store.stats().log_bytes, Model::new())];
    for (clock, op) in ops.into_iter().take(64).enumerate() {
        let at = Timestamp(clock as i64);
        let before = store.version();
        match op {
            Op::Put { path: i, content } => {
                let content: String = content.chars().take(256).collect();
                store.put_at(&path(i), &content, at).expect("put");
                model.insert(path(i).to_string(), content);
            }
            Op::Delete { path: i } => {
                store.delete_at(&path(i), at).expect("delete");
                model.remove(path(i).as_str());
            }
            Op::Batch { changes } => {
                let mut batch = store.batch();
                for (i, change) in changes.into_iter().take(16) {
                    match change {
                        Some(content) => {
                            let content: String = content.chars().take(256).collect();
                            batch.put_at(&path(i), &content, at).expect("batch put");
                            model.insert(path(i).to_string(), content);
                        }
                        None => {
                            batch.delete_at(&path(i), at);
                            model.remove(path(i).as_str());
                        }
                    }
                }
                batch.commit().expect("commit");
            }
            Op::Compact => {
                store.compact().expect("compact");
                commits = vec![(store.version(), store.stats().log_bytes, model.clone())];
            }
            Op::Reopen => {
                drop(store);
                store = options.open(dir.path()).expect("reopen");
                commits = vec![(store.version(), store.stats().log_bytes, model.clone())];
            }
            Op::Crash { back, cut } => {
                drop(store);
                let first = commits.len().saturating_sub(1 + usize::from(back % 4));
                let (start, end) = (commits[first].1, commits[commits.len() - 1].1);
                let len = start + u64::from(cut) % (end - start + 1);
                let log = OpenOptions::new().write(true).open(dir.path().join(LOG_FILE)).expect("log");
                log.set_len(len).expect("truncate");
                drop(log);
                let (version, _, survived) =
                    commits.iter().rev().find(|(_, end, _)| *end <= len).cloned().expect("a prefix fits");
                store = options.open(dir.path()).expect("reopen after crash");
                assert_eq!(store.version(), version);
                model = survived;
                commits = vec![(store.version(), store.stats().log_bytes, model.clone())];
            }
        }
        if store.version() != before {
            commits.push((store.version(), store.stats().log_bytes, model.clone()));
        }
        assert_eq!(state(&store), model);
    }
    drop(store);
    assert!(Store::verify(dir.path()).expect("verify").is_ok());
});
