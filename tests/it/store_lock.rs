//! One writer across processes, many readers, per operation: the CLI, run
//! as a separate process, is refused while this test is writing or reading
//! the store, and gets in between its operations.

use assert_cmd::Command;
use dreamwork::MemoryPath;
use dreamwork::store::{SharedStore, Store, StoreError};

/// The tests of this file run one at a time: a child process spawned by one
/// test briefly inherits every descriptor of this process (until its `exec`),
/// the other test's lock file included, which would make that test's "lock
/// released" check flaky.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn dreamwork() -> Command {
    Command::cargo_bin("dreamwork").expect("binary is built")
}

fn one_line_stderr(output: &std::process::Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    assert_eq!(stderr.lines().count(), 1, "stderr is not one line: {stderr:?}");
    stderr
}

#[test]
fn writers_exclude_each_other_per_write_and_lose_no_update() {
    let _serial = serial();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = Store::create(dir.path()).expect("create");
    store.put(&MemoryPath::new("/a").expect("path"), "x").expect("put");
    // A handle holds no lock between writes: another process writes meanwhile.
    dreamwork().arg("put").arg(dir.path()).arg("/b").write_stdin("y").assert().success();
    // This handle's next write catches up first, so nothing is lost.
    store.put(&MemoryPath::new("/c").expect("path"), "z").expect("put");
    assert_eq!(store.iter().map(|m| m.path.as_str()).collect::<Vec<_>>(), ["/a", "/b", "/c"]);
    dreamwork().arg("ls").arg(dir.path()).assert().success().stdout("/a\n/b\n/c\n");
    // While a write is in progress, another process's writer and readers are refused.
    let shared = SharedStore::open(dir.path()).expect("shared");
    shared
        .write(|_| -> Result<(), StoreError> {
            let out = dreamwork().arg("put").arg(dir.path()).arg("/d").write_stdin("w").assert().code(1);
            let stderr = one_line_stderr(out.get_output());
            assert!(stderr.contains("store is locked by another process"), "{stderr}");
            let out = dreamwork().arg("ls").arg(dir.path()).assert().code(1);
            assert!(one_line_stderr(out.get_output()).contains("store is locked by another process"));
            Ok(())
        })
        .expect("write");
    dreamwork().arg("put").arg(dir.path()).arg("/d").write_stdin("w").assert().success();
    drop(store);
}

#[test]
fn readers_share_and_exclude_writers() {
    let _serial = serial();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = Store::create(dir.path()).expect("create");
    store.put(&MemoryPath::new("/a").expect("path"), "x").expect("put");
    drop(store);
    let shared = SharedStore::open(dir.path()).expect("shared");
    shared
        .read(|_| {
            dreamwork().arg("ls").arg(dir.path()).assert().success().stdout("/a\n");
            dreamwork().arg("verify").arg(dir.path()).assert().success();
            let out = dreamwork().arg("rm").arg(dir.path()).arg("/a").assert().code(1);
            assert!(one_line_stderr(out.get_output()).contains("store is locked by another process"));
        })
        .expect("read");
    // An open read-only handle holds no lock.
    let _reader = Store::open_read_only(dir.path()).expect("reader");
    dreamwork().arg("rm").arg(dir.path()).arg("/a").assert().success();
}
