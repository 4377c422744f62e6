use super::*;

fn p(s: &str) -> MemoryPath {
    MemoryPath::new(s).expect("test paths are valid")
}

#[test]
fn put_get_delete_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::create(dir.path()).unwrap();
    assert_eq!(store.put_at(&p("/a"), "one", Timestamp(10)).unwrap(), 1);
    assert_eq!(store.put_at(&p("/a"), "two", Timestamp(20)).unwrap(), 2);
    assert_eq!(store.put_at(&p("/b"), "bee", Timestamp(30)).unwrap(), 3);
    assert_eq!(store.delete_at(&p("/b"), Timestamp(40)).unwrap(), Some(4));
    assert_eq!(store.delete(&p("/b")).unwrap(), None);
    let a = store.get(&p("/a")).unwrap();
    assert_eq!((a.content.as_str(), a.created_at, a.updated_at), ("two", Timestamp(10), Timestamp(20)));
    drop(store);
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.version(), 4);
    assert_eq!(store.iter().map(|m| m.content.as_str()).collect::<Vec<_>>(), ["two"]);
    let history = store.history(&p("/b")).unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!((history[1].version, history[1].at, history[1].memory.is_none()), (4, Timestamp(40), true));
    assert_eq!(store.get_at(&p("/a"), 1).unwrap().map(|m| m.content), Some("one".into()));
    assert_eq!(store.get_at(&p("/b"), 2).unwrap(), None);
    assert_eq!(store.get_at(&p("/b"), 3).unwrap().map(|m| m.content), Some("bee".into()));
    assert!(matches!(store.get_at(&p("/a"), 5), Err(StoreError::NoSuchVersion { asked: 5, current: 4 })));
    assert_eq!(store.memories_at(3).unwrap().len(), 2);
}

#[test]
fn put_keeps_created_at_and_metadata_and_clears_sources() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::create(dir.path()).unwrap();
    let mut m = Memory::new(p("/m"), "x", Timestamp(5));
    m.metadata.insert("k".into(), "v".into());
    m.sources.push(crate::memory::Source::Memory { path: p("/old"), hash: ContentHash::of(b"o") });
    store.put_memory(m).unwrap();
    store.put_at(&p("/m"), "y", Timestamp(9)).unwrap();
    let m = store.get(&p("/m")).unwrap();
    assert_eq!((m.created_at, m.updated_at), (Timestamp(5), Timestamp(9)));
    assert_eq!(m.metadata.get("k").map(String::as_str), Some("v"));
    assert!(m.sources.is_empty());
    assert_eq!(m.hash, ContentHash::of(b"y"));
}

#[test]
fn batch_is_one_version_and_last_change_wins() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::create(dir.path()).unwrap();
    store.put(&p("/keep"), "k").unwrap();
    let mut batch = store.batch();
    batch.put_at(&p("/a"), "1", Timestamp(1)).unwrap();
    batch.put_at(&p("/a"), "2", Timestamp(2)).unwrap();
    batch.put_at(&p("/gone"), "g", Timestamp(1)).unwrap();
    batch.delete(&p("/gone"));
    batch.delete(&p("/never"));
    assert_eq!(batch.commit().unwrap(), 2);
    assert_eq!(store.len(), 2);
    assert_eq!(store.get(&p("/a")).map(|m| m.content.as_str()), Some("2"));
    // An empty batch writes nothing.
    assert_eq!(store.batch().commit().unwrap(), 2);
    let mut dropped = store.batch();
    dropped.put(&p("/z"), "z").unwrap();
    drop(dropped);
    assert!(store.get(&p("/z")).is_none());
}

#[test]
fn list_uses_plain_prefixes() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::create(dir.path()).unwrap();
    for path in ["/a/x", "/a/y", "/ab", "/b"] {
        store.put(&p(path), path).unwrap();
    }
    let list = |prefix| store.list(prefix).map(|m| m.path.to_string()).collect::<Vec<_>>();
    assert_eq!(list("/a/"), ["/a/x", "/a/y"]);
    assert_eq!(list("/a"), ["/a/x", "/a/y", "/ab"]);
    assert_eq!(list(""), ["/a/x", "/a/y", "/ab", "/b"]);
    assert!(list("/c").is_empty());
    // The iterator does not borrow the prefix.
    let listed = store.list(&String::from("/a/"));
    assert_eq!(listed.count(), 2);
}

#[test]
fn compact_keeps_history_and_state() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::create(dir.path()).unwrap();
    store.put_at(&p("/a"), "1", Timestamp(1)).unwrap();
    store.put_at(&p("/a"), "2", Timestamp(2)).unwrap();
    store.compact().unwrap();
    store.put_at(&p("/b"), "3", Timestamp(3)).unwrap();
    let hash = store.store_hash();
    drop(store);
    let store = Store::open_read_only(dir.path()).unwrap();
    assert_eq!((store.version(), store.len(), store.store_hash()), (3, 2, hash));
    assert_eq!(store.history(&p("/a")).unwrap().len(), 2);
    assert!(Store::verify(dir.path()).unwrap().is_ok());
}

#[test]
fn automatic_snapshot_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let options = StoreOptions::new().snapshot_after_log_bytes(Some(1));
    let mut store = options.create(dir.path()).unwrap();
    store.put(&p("/a"), "1").unwrap();
    drop(store);
    let store = options.open(dir.path()).unwrap();
    assert_eq!(store.stats().log_bytes_since_snapshot, 0);
    assert!(store.stats().snapshot_bytes > 0);
}

#[test]
fn store_hash_ignores_history_and_order() {
    let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut s1 = Store::create(d1.path()).unwrap();
    let mut s2 = Store::create(d2.path()).unwrap();
    s1.put(&p("/a"), "x").unwrap();
    s1.put(&p("/b"), "y").unwrap();
    s2.put(&p("/b"), "old").unwrap();
    s2.put(&p("/c"), "gone").unwrap();
    s2.delete(&p("/c")).unwrap();
    s2.put(&p("/b"), "y").unwrap();
    assert_ne!(s1.store_hash(), s2.store_hash());
    s2.put(&p("/a"), "x").unwrap();
    assert_eq!(s1.store_hash(), s2.store_hash());
}

#[test]
fn read_only_refuses_writes_and_create_refuses_existing() {
    let dir = tempfile::tempdir().unwrap();
    drop(Store::create(dir.path()).unwrap());
    assert!(matches!(Store::create(dir.path()), Err(StoreError::AlreadyExists(_))));
    let mut store = Store::open_read_only(dir.path()).unwrap();
    assert!(matches!(store.put(&p("/a"), "x"), Err(StoreError::ReadOnly(_))));
    assert!(matches!(store.compact(), Err(StoreError::ReadOnly(_))));
    // Readers share, and hold no lock once open: a writer opens beside them.
    let _second = Store::open_read_only(dir.path()).unwrap();
    drop(Store::open(dir.path()).unwrap());
}

#[test]
fn writers_lock_per_write_and_lose_no_update() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = Store::create(dir.path()).unwrap();
    let mut b = Store::open(dir.path()).unwrap();
    let reader = Store::open_read_only(dir.path()).unwrap();
    assert_eq!(a.put(&p("/a"), "1").unwrap(), 1);
    // Each write first catches up with the other handle's commits.
    assert_eq!(b.put(&p("/b"), "2").unwrap(), 2);
    assert_eq!(b.len(), 2);
    assert_eq!(a.delete(&p("/b")).unwrap(), Some(3));
    let mut batch = b.batch();
    batch.put(&p("/c"), "3").unwrap();
    assert_eq!(batch.commit().unwrap(), 4);
    assert_eq!(b.iter().map(|m| m.path.as_str()).collect::<Vec<_>>(), ["/a", "/c"]);
    // Reads show a handle's last operation until it refreshes.
    assert_eq!(a.len(), 1);
    a.refresh().unwrap();
    assert_eq!(a.len(), 2);
    assert_eq!(reader.len(), 0);
    // A writer holding the lock (another process, say) excludes the write.
    let held = lock::Lock::exclusive(dir.path()).unwrap();
    assert!(matches!(a.put(&p("/d"), "4"), Err(StoreError::Locked(_))));
    drop(held);
    assert_eq!(a.put(&p("/d"), "4").unwrap(), 5);
    drop((a, b));
    let reopened = Store::open_read_only(dir.path()).unwrap();
    assert_eq!(reopened.version(), 5);
    assert_eq!(reopened.iter().map(|m| m.path.as_str()).collect::<Vec<_>>(), ["/a", "/c", "/d"]);
    assert!(Store::verify(dir.path()).unwrap().is_ok());
}

#[test]
fn open_of_a_directory_without_a_store_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(Store::open(dir.path()), Err(StoreError::NotFound(_))));
    assert!(matches!(Store::open_read_only(dir.path()), Err(StoreError::NotFound(_))));
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn large_batches_span_several_frames() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::create(dir.path()).unwrap();
    let content = "x".repeat(90_000);
    let mut batch = store.batch();
    for i in 0..120 {
        batch.put(&p(&format!("/m{i:03}")), &content).unwrap();
    }
    batch.commit().unwrap();
    drop(store);
    let store = Store::open(dir.path()).unwrap();
    assert_eq!((store.len(), store.version()), (120, 1));
    assert_eq!(store.history(&p("/m007")).unwrap().len(), 1);
}

#[test]
fn disk_digest_changes_only_with_the_store_files() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::create(dir.path()).unwrap();
    store.put(&p("/a"), "x").unwrap();
    let before = store.disk_digest().unwrap();
    std::fs::create_dir(dir.path().join("vectors")).unwrap();
    std::fs::write(dir.path().join("vectors").join("cache"), b"other part").unwrap();
    assert_eq!(store.disk_digest().unwrap(), before);
    store.put(&p("/a"), "y").unwrap();
    assert_ne!(store.disk_digest().unwrap(), before);
    let after_put = store.disk_digest().unwrap();
    store.compact().unwrap();
    assert_ne!(store.disk_digest().unwrap(), after_put);
}

#[test]
fn batched_durability_syncs_on_demand() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = StoreOptions::new().durability(Durability::Batched).create(dir.path()).unwrap();
    store.put(&p("/a"), "x").unwrap();
    store.sync().unwrap();
    drop(store);
    assert_eq!(Store::open_read_only(dir.path()).unwrap().len(), 1);
}
