//! A read-only open never writes: every byte, every file name and every
//! modification time in the store directory stay the same through reads,
//! history, point-in-time reads, export, stats and verify, torn tail or not.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use dreamwork::store::{ExportFormat, LOG_FILE, Store};
use dreamwork::{MemoryPath, Silent, Timestamp};

type Listing = BTreeMap<PathBuf, (Vec<u8>, SystemTime)>;

fn listing(dir: &Path) -> Listing {
    let mut out = Listing::new();
    for entry in fs::read_dir(dir).expect("read_dir") {
        let path = entry.expect("entry").path();
        let meta = fs::metadata(&path).expect("metadata");
        let bytes = if meta.is_file() { fs::read(&path).expect("read") } else { Vec::new() };
        out.insert(path, (bytes, meta.modified().expect("mtime")));
    }
    out
}

#[test]
fn reading_changes_no_byte_of_the_store() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store_dir = dir.path().join("store");
    let mut store = Store::create(&store_dir).expect("create");
    let path = MemoryPath::new("/a").expect("path");
    for i in 0..5 {
        store.put_at(&path, &format!("v{i}"), Timestamp(i)).expect("put");
    }
    store.compact().expect("compact");
    store.put_at(&path, "last", Timestamp(9)).expect("put");
    drop(store);
    // Leave a torn tail, as a crash would.
    let log = store_dir.join(LOG_FILE);
    let mut bytes = fs::read(&log).expect("read");
    bytes.extend_from_slice(&[7, 0, 0, 0, 1, 2]);
    fs::write(&log, &bytes).expect("write");

    let before = listing(&store_dir);
    let store = Store::open_read_only(&store_dir).expect("open");
    let digest = store.disk_digest().expect("digest");
    assert!(store.torn_tail().is_some());
    assert_eq!(store.get(&path).map(|m| m.content.as_str()), Some("last"));
    assert_eq!(store.history(&path).expect("history").len(), 6);
    assert_eq!(store.get_at(&path, 2).expect("get_at").map(|m| m.content), Some("v1".into()));
    assert_eq!(store.memories_at(1).expect("memories_at").len(), 1);
    let _ = store.stats();
    store.export(&dir.path().join("out.jsonl"), ExportFormat::Jsonl, &Silent).expect("export");
    let second = Store::open_read_only(&store_dir).expect("readers share");
    assert_eq!(second.disk_digest().expect("digest"), digest);
    drop((store, second));
    let report = Store::verify(&store_dir).expect("verify");
    assert!(report.torn_tail.is_some() && report.problems.is_empty());
    assert_eq!(listing(&store_dir), before);
}
