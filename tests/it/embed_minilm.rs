//! Tests of the MiniLM embedder. They need the model (`dreamwork model
//! fetch`), so they are ignored unless asked for (`--include-ignored`, as
//! `bash scripts/test.sh` does); asked for without the model, they fail.
#![cfg(all(feature = "minilm", feature = "cli"))]

use assert_cmd::Command;
use dreamwork::embed::{Embedder, VectorCache, VectorCacheWriter, cosine, embed_cached};
use dreamwork::{CancelToken, ContentHash, Silent};

#[test]
#[ignore = "needs the MiniLM model: run `dreamwork model fetch` (scripts/test.sh does)"]
fn paraphrase_beats_unrelated_and_vectors_are_unit() {
    let m = crate::common::minilm();
    let v = m
        .embed(&[
            "The staging database listens on port 5433.",
            "Port 5433 is where the staging DB accepts connections.",
            "Alice prefers tabs over spaces in Go code.",
        ])
        .unwrap();
    assert_eq!(m.dimension(), 384);
    assert!(v.iter().all(|x| x.len() == 384));
    assert!((cosine(&v[0], &v[0]) - 1.0).abs() < 1e-4);
    assert!(cosine(&v[0], &v[1]) > 0.7, "{}", cosine(&v[0], &v[1]));
    assert!(cosine(&v[0], &v[2]) < 0.3, "{}", cosine(&v[0], &v[2]));
    assert!(m.model_id().starts_with("minilm-l6-v2-int8-8199be6f699a"), "{}", m.model_id());
}

#[test]
#[ignore = "needs the MiniLM model: run `dreamwork model fetch` (scripts/test.sh does)"]
fn a_text_gives_the_same_bits_in_any_batch() {
    let m = crate::common::minilm();
    let alone = m.embed(&["deploys happen on fridays"]).unwrap();
    let long = "a much longer text that forces padding in a batch ".repeat(10);
    let batched = m.embed(&[long.as_str(), "x", "deploys happen on fridays", "y"]).unwrap();
    assert_eq!(alone[0], batched[2]);
}

#[test]
#[ignore = "needs the MiniLM model: run `dreamwork model fetch` (scripts/test.sh does)"]
fn cache_round_trip_with_minilm() {
    let m = crate::common::minilm();
    let dir = tempfile::tempdir().unwrap();
    let texts = ["one memory", "another memory", "one memory"];
    let items: Vec<(ContentHash, &str)> = texts.iter().map(|t| (ContentHash::of(t.as_bytes()), *t)).collect();
    let mut w = VectorCacheWriter::open(dir.path(), m.model_id(), m.dimension()).unwrap();
    let first = embed_cached(
        m,
        &items,
        &VectorCache::empty(m.model_id(), 384),
        Some(&mut w),
        &Silent,
        &CancelToken::new(),
    )
    .unwrap();
    drop(w);
    let cache = VectorCache::load(dir.path(), m.model_id(), 384).unwrap();
    assert_eq!(cache.len(), 2);
    let second = embed_cached(m, &items, &cache, None, &Silent, &CancelToken::new()).unwrap();
    assert_eq!(first, second);
}

#[test]
#[ignore = "needs the MiniLM model: run `dreamwork model fetch` (scripts/test.sh does)"]
fn cli_similar_uses_minilm_by_default() {
    crate::common::minilm();
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("s");
    let bin = || Command::cargo_bin("dreamwork").unwrap();
    bin().arg("init").arg(&store).assert().success();
    for (p, text) in [
        ("/infra/db.md", "The staging database listens on port 5433"),
        ("/infra/db-port.md", "Port 5433 is where the staging DB accepts connections"),
        ("/prefs/tabs.md", "Alice prefers tabs over spaces in Go code"),
    ] {
        bin().arg("put").arg(&store).arg(p).write_stdin(text).assert().success();
    }
    let out = bin().arg("similar").arg(&store).arg("/infra/db.md").arg("-k").arg("1").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("/infra/db-port.md\t0."), "{text}");
}
