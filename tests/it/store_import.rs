//! Import and export: all or nothing with line numbers, skipping on demand,
//! 10k files streamed with progress, and round trips through both formats.

use std::fs;
use std::sync::Mutex;

use dreamwork::store::{ExportFormat, ImportOptions, Store, StoreError};
use dreamwork::{ContentHash, Memory, MemoryPath, Progress, Silent, Source, Timestamp};

fn p(s: &str) -> MemoryPath {
    MemoryPath::new(s).expect("valid test path")
}

const GOOD: &str = r#"{"path":"/a.md","content":"alpha","created_at":"2026-01-01T00:00:00Z","updated_at":"2026-02-01T00:00:00Z","metadata":{"k":"v"}}"#;

#[test]
fn a_bad_jsonl_line_aborts_the_whole_import_with_its_line_number() {
    let dir = tempfile::tempdir().expect("tempdir");
    let src = dir.path().join("in.jsonl");
    let lines =
        [GOOD, r#"{"path":"/b","content":"beta"}"#, r#"{"path":"/c/../d","content":"x"}"#, "not json"];
    fs::write(&src, lines.join("\n")).expect("write");
    let store_dir = dir.path().join("store");
    let mut store = Store::create(&store_dir).expect("create");
    let before = fs::read(store_dir.join("memories.log")).expect("read");
    let err = store.import(&src, &ImportOptions::default(), &Silent).expect_err("bad line");
    assert!(matches!(err, StoreError::BadLine { line: 3, .. }), "{err}");
    let text = err.to_string();
    assert!(text.contains("in.jsonl, line 3") && text.contains("'.' or '..'"), "{text}");
    assert_eq!((store.len(), store.version()), (0, 0));
    assert_eq!(fs::read(store_dir.join("memories.log")).expect("read"), before, "nothing may be written");

    let options = ImportOptions::default().with_skip_bad_lines(true);
    let report = store.import(&src, &options, &Silent).expect("import with skipping");
    assert_eq!(report.imported, 2);
    assert_eq!(report.skipped.iter().map(|s| s.line).collect::<Vec<_>>(), [Some(3), Some(4)]);
    assert_eq!(report.version, 1);
    let a = store.get(&p("/a.md")).expect("imported");
    assert_eq!(a.created_at, Timestamp::parse_rfc3339("2026-01-01T00:00:00Z").expect("time"));
    assert_eq!(a.updated_at, Timestamp::parse_rfc3339("2026-02-01T00:00:00Z").expect("time"));
    assert_eq!(a.metadata.get("k").map(String::as_str), Some("v"));
}

#[test]
fn importing_ten_thousand_files_streams_with_progress() {
    let dir = tempfile::tempdir().expect("tempdir");
    let src = dir.path().join("files");
    for i in 0..10_000 {
        let sub = src.join(format!("d{:02}", i % 50));
        if i < 50 {
            fs::create_dir_all(&sub).expect("mkdir");
        }
        fs::write(sub.join(format!("note-{i:05}.md")), format!("note {i}")).expect("write");
    }
    let mut store = Store::create(dir.path().join("store")).expect("create");
    let events = Mutex::new(Vec::new());
    let observer = |e: Progress| events.lock().expect("not poisoned").push(e);
    let report = store.import(&src, &ImportOptions::default(), &observer).expect("import");
    assert_eq!((report.imported, store.len(), store.version()), (10_000, 10_000, 1));
    let events = events.into_inner().expect("not poisoned");
    assert!(events.len() >= 10, "progress must be reported while streaming, got {}", events.len());
    assert!(events.windows(2).all(|w| w[0].done <= w[1].done && w[0].total == 10_000));
    assert_eq!(events.last().map(|e| e.done), Some(10_000));
    let m = store.get(&p("/d07/note-00007.md")).expect("imported");
    assert_eq!(m.content, "note 7");
    let mtime = fs::metadata(src.join("d07/note-00007.md")).and_then(|m| m.modified()).expect("mtime");
    assert_eq!(m.updated_at, Timestamp::from_system_time(mtime));
}

#[test]
fn a_bad_file_aborts_a_directory_import() {
    let dir = tempfile::tempdir().expect("tempdir");
    let src = dir.path().join("files");
    fs::create_dir_all(&src).expect("mkdir");
    fs::write(src.join("good.md"), "fine").expect("write");
    fs::write(src.join("binary.bin"), [0xff, 0xfe, 0x00]).expect("write");
    let mut store = Store::create(dir.path().join("store")).expect("create");
    let err = store.import(&src, &ImportOptions::default(), &Silent).expect_err("binary file");
    assert!(err.to_string().contains("binary.bin") && err.to_string().contains("UTF-8"), "{err}");
    assert!(store.is_empty());
    let options = ImportOptions::default().with_skip_bad_lines(true);
    assert_eq!(store.import(&src, &options, &Silent).expect("skip").imported, 1);
}

fn rich_store(dir: &std::path::Path) -> Store {
    let mut store = Store::create(dir).expect("create");
    let mut batch = store.batch();
    for i in 0..20 {
        let mut m = Memory::new(
            p(&format!("/topic{}/n{i}.md", i % 3)),
            format!("fact {i}\nline \"two\" ✓"),
            Timestamp(i),
        );
        m.updated_at = Timestamp(1_000 + i);
        m.metadata.insert("origin".into(), format!("o{i}"));
        if i % 2 == 0 {
            m.sources.push(Source::Memory { path: p("/old"), hash: ContentHash::of(b"old") });
        }
        batch.put_memory(m).expect("put");
    }
    batch.commit().expect("commit");
    store
}

#[test]
fn jsonl_export_round_trips_every_field() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = rich_store(&dir.path().join("a"));
    let file = dir.path().join("out.jsonl");
    assert_eq!(store.export(&file, ExportFormat::Jsonl, &Silent).expect("export"), 20);
    let text = fs::read_to_string(&file).expect("read");
    assert!(text.lines().all(|l| l.contains("\"content_sha256\":\"") && l.contains("\"content_hash\":\"")));
    let mut copy = Store::create(dir.path().join("b")).expect("create");
    copy.import(&file, &ImportOptions::default(), &Silent).expect("import");
    assert_eq!(copy.iter().collect::<Vec<_>>(), store.iter().collect::<Vec<_>>());
    assert_eq!(copy.store_hash(), store.store_hash());
}

#[test]
fn directory_export_round_trips_paths_contents_and_times() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = rich_store(&dir.path().join("a"));
    let out = dir.path().join("mounted");
    store.export(&out, ExportFormat::Dir, &Silent).expect("export");
    assert_eq!(fs::read_to_string(out.join("topic1/n4.md")).expect("read"), "fact 4\nline \"two\" ✓");
    let mut copy = Store::create(dir.path().join("b")).expect("create");
    copy.import(&out, &ImportOptions::default(), &Silent).expect("import");
    assert_eq!(copy.store_hash(), store.store_hash());
    for m in store.iter() {
        assert_eq!(copy.get(&m.path).map(|c| c.updated_at), Some(m.updated_at));
    }
    // A non-empty target is refused.
    let err = store.export(&out, ExportFormat::Dir, &Silent).expect_err("not empty");
    assert!(err.to_string().contains("not empty"), "{err}");
}

#[test]
fn directory_export_refuses_a_path_that_is_also_a_directory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = Store::create(dir.path().join("s")).expect("create");
    store.put(&p("/a"), "file").expect("put");
    store.put(&p("/a/b"), "nested").expect("put");
    let err = store.export(&dir.path().join("out"), ExportFormat::Dir, &Silent).expect_err("conflict");
    assert!(err.to_string().contains("/a is a memory too"), "{err}");
}

#[test]
fn a_cancelled_import_writes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let src = dir.path().join("in.jsonl");
    let line = r#"{"path":"/a","content":"x"}"#;
    fs::write(&src, vec![line; 3000].join("\n")).expect("write");
    let mut store = Store::create(dir.path().join("store")).expect("create");
    let cancel = dreamwork::CancelToken::new();
    cancel.cancel();
    let options = ImportOptions::default().with_cancel(cancel);
    assert!(matches!(store.import(&src, &options, &Silent), Err(StoreError::Cancelled)));
    assert_eq!((store.len(), store.version()), (0, 0));
}
