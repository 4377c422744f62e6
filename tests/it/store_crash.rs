//! Crash safety: a crash at any byte of a write loses at most that write.
//! The log is truncated at every byte offset of the tail of N commits; each
//! reopen must yield exactly the model's state after the last complete
//! commit, repair the tail (writable open) or leave the bytes alone
//! (read-only open).

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use dreamwork::store::{LOG_FILE, SNAPSHOT_FILE, Store};
use dreamwork::{Memory, MemoryPath, Timestamp};

type Model = BTreeMap<String, String>;

fn p(s: &str) -> MemoryPath {
    MemoryPath::new(s).expect("valid test path")
}

fn state(store: &Store) -> Model {
    store.iter().map(|m| (m.path.to_string(), m.content.clone())).collect()
}

/// Writes commits to a fresh store, returning the state and log length after
/// each commit (index 0: empty store) and the snapshot's log offset, if any.
fn build(dir: &Path, commits: usize, compact_after: Option<usize>) -> Vec<(Model, u64)> {
    let mut store = Store::create(dir).expect("create");
    let mut model = Model::new();
    let mut states = vec![(model.clone(), store.stats().log_bytes)];
    for i in 0..commits {
        let at = Timestamp(1_000 + i as i64);
        match i % 4 {
            0 | 1 => {
                let path = format!("/notes/{}", i % 5);
                let content = format!("content {i} {}", "é".repeat(i));
                store.put_at(&p(&path), &content, at).expect("put");
                model.insert(path, content);
            }
            2 => {
                let mut batch = store.batch();
                for j in 0..3 {
                    let path = format!("/batch/{i}/{j}");
                    let mut memory = Memory::new(p(&path), format!("b{j}"), at);
                    memory.metadata.insert("k".into(), format!("v{i}"));
                    batch.put_memory(memory).expect("batch put");
                    model.insert(path, format!("b{j}"));
                }
                batch.commit().expect("commit");
            }
            _ => {
                let victim = model.keys().next().cloned().expect("model is not empty here");
                store.delete_at(&p(&victim), at).expect("delete");
                model.remove(&victim);
            }
        }
        states.push((model.clone(), store.stats().log_bytes));
        if compact_after == Some(i) {
            store.compact().expect("compact");
        }
    }
    states
}

/// The state of the longest prefix of commits that fits in `len` bytes.
fn expected(states: &[(Model, u64)], len: u64) -> (usize, &Model) {
    let (version, (model, _)) =
        states.iter().enumerate().rev().find(|(_, (_, end))| *end <= len).expect("the header always fits");
    (version, model)
}

fn copy_store(from: &Path, to: &Path) {
    for name in [LOG_FILE, SNAPSHOT_FILE] {
        if from.join(name).exists() {
            fs::copy(from.join(name), to.join(name)).expect("copy");
        }
    }
}

fn truncate_everywhere(commits: usize, tail: usize, compact_after: Option<usize>) {
    let origin = tempfile::tempdir().expect("tempdir");
    let states = build(origin.path(), commits, compact_after);
    let full = fs::read(origin.path().join(LOG_FILE)).expect("read log");
    assert_eq!(states.last().map(|s| s.1), Some(full.len() as u64));
    let first = states[commits - tail].1 as usize;
    for cut in first..=full.len() {
        let dir = tempfile::tempdir().expect("tempdir");
        copy_store(origin.path(), dir.path());
        fs::write(dir.path().join(LOG_FILE), &full[..cut]).expect("write truncated log");
        let (version, model) = expected(&states, cut as u64);

        let reader = Store::open_read_only(dir.path()).unwrap_or_else(|e| panic!("cut {cut}: {e}"));
        assert_eq!((reader.version(), &state(&reader)), (version as u64, model), "read-only, cut at {cut}");
        assert_eq!(reader.torn_tail().is_some(), cut as u64 != states[version].1, "cut at {cut}");
        drop(reader);
        assert_eq!(fs::read(dir.path().join(LOG_FILE)).expect("read").len(), cut, "read-only open wrote");

        let mut store = Store::open(dir.path()).unwrap_or_else(|e| panic!("cut {cut}: {e}"));
        assert_eq!((store.version(), &state(&store)), (version as u64, model), "writable, cut at {cut}");
        assert_eq!(store.stats().log_bytes, states[version].1, "tail not repaired at {cut}");
        // The repaired store accepts writes and reopens cleanly.
        store.put(&p("/after"), "crash").expect("put after repair");
        drop(store);
        let store = Store::open_read_only(dir.path()).expect("reopen");
        assert_eq!(store.version(), version as u64 + 1);
        assert!(store.torn_tail().is_none());
        assert!(Store::verify(dir.path()).expect("verify").is_ok(), "cut at {cut}");
    }
}

#[test]
fn truncation_at_every_byte_of_the_tail_keeps_the_acknowledged_prefix() {
    truncate_everywhere(24, 8, None);
}

#[test]
fn truncation_after_a_snapshot_replays_from_the_snapshot() {
    truncate_everywhere(24, 6, Some(17));
}

#[test]
fn zero_filled_tail_is_a_torn_write() {
    let dir = tempfile::tempdir().expect("tempdir");
    let states = build(dir.path(), 5, None);
    let log = dir.path().join(LOG_FILE);
    let mut bytes = fs::read(&log).expect("read");
    bytes.extend_from_slice(&[0u8; 4096]);
    fs::write(&log, &bytes).expect("write");
    let store = Store::open(dir.path()).expect("open");
    assert_eq!(state(&store), states[5].0);
    assert_eq!(store.stats().log_bytes, states[5].1);
    assert_eq!(fs::metadata(&log).expect("stat").len(), states[5].1);
}

#[test]
fn a_commit_spanning_several_frames_is_all_or_nothing() {
    let origin = tempfile::tempdir().expect("tempdir");
    let mut store = Store::create(origin.path()).expect("create");
    store.put(&p("/before"), "kept").expect("put");
    let start = store.stats().log_bytes;
    let content = "y".repeat(100_000);
    let mut batch = store.batch();
    for i in 0..60 {
        batch.put(&p(&format!("/big/{i:03}")), &content).expect("put");
    }
    batch.commit().expect("commit");
    drop(store);
    let full = fs::read(origin.path().join(LOG_FILE)).expect("read");
    // Walk the frame headers: every frame boundary, and a byte either side.
    let mut boundaries = vec![start as usize];
    let mut at = start as usize;
    while at < full.len() {
        let len = u32::from_le_bytes([full[at], full[at + 1], full[at + 2], full[at + 3]]) as usize;
        at += 12 + len;
        boundaries.push(at);
    }
    assert!(boundaries.len() >= 3, "the batch should span several frames: {boundaries:?}");
    assert_eq!(at, full.len());
    let cuts: Vec<usize> = boundaries
        .iter()
        .flat_map(|&b| [b.saturating_sub(1), b, b + 1])
        .filter(|&c| c >= start as usize && c <= full.len())
        .collect();
    for cut in cuts {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::write(dir.path().join(LOG_FILE), &full[..cut]).expect("write");
        let store = Store::open(dir.path()).expect("open");
        let complete = cut == full.len();
        assert_eq!(store.len(), if complete { 61 } else { 1 }, "cut at {cut}");
        assert_eq!(store.version(), if complete { 2 } else { 1 }, "cut at {cut}");
    }
}
