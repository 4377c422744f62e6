//! One writer across processes, many readers: the CLI, run as a separate
//! process, is refused while this test holds the store.

use assert_cmd::Command;
use dreamwork::memory::MemoryPath;
use dreamwork::store::Store;

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
fn a_second_writer_is_refused_while_a_writer_holds_the_store() {
    let _serial = serial();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = Store::create(dir.path()).expect("create");
    store.put(&MemoryPath::new("/a").expect("path"), "x").expect("put");
    let out = dreamwork().arg("put").arg(dir.path()).arg("/b").write_stdin("y").assert().code(1);
    let stderr = one_line_stderr(out.get_output());
    assert!(stderr.contains("store is locked by another process"), "{stderr}");
    // Readers are refused too while a writer is at work.
    let out = dreamwork().arg("ls").arg(dir.path()).assert().code(1);
    assert!(one_line_stderr(out.get_output()).contains("store is locked by another process"));
    drop(store);
    dreamwork().arg("put").arg(dir.path()).arg("/b").write_stdin("y").assert().success();
}

#[test]
fn readers_share_and_exclude_writers() {
    let _serial = serial();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = Store::create(dir.path()).expect("create");
    store.put(&MemoryPath::new("/a").expect("path"), "x").expect("put");
    drop(store);
    let reader = Store::open_read_only(dir.path()).expect("reader");
    dreamwork().arg("ls").arg(dir.path()).assert().success().stdout("/a\n");
    dreamwork().arg("verify").arg(dir.path()).assert().success();
    let out = dreamwork().arg("rm").arg(dir.path()).arg("/a").assert().code(1);
    assert!(one_line_stderr(out.get_output()).contains("store is locked by another process"));
    drop(reader);
    dreamwork().arg("rm").arg(dir.path()).arg("/a").assert().success();
}
