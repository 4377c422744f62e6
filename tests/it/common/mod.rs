//! Helpers shared by the integration tests' modules (and, through
//! `#[path]`, the generator by benches and examples).

pub mod corpus;
pub mod oracle;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use dreamwork::store::Store;

/// Creates a store at `dir` holding `corpus`, memories and sessions in the
/// corpus's order.
pub fn write_store(dir: &Path, corpus: &corpus::Corpus) {
    let mut store = Store::create(dir).expect("store created");
    for m in corpus.memories.iter().cloned() {
        store.put_memory(m).expect("memory written");
    }
    let sessions = store.sessions().expect("sessions dir");
    for s in &corpus.sessions {
        sessions.put(s).expect("session written");
    }
}

/// Every file under `dir` (relative path → bytes), in path order.
pub fn tree(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let rel = e.path().strip_prefix(dir).expect("under dir").to_owned();
            (rel, std::fs::read(e.path()).expect("file reads"))
        })
        .collect()
}

/// The MiniLM embedder, or `None` (with a note) when the model is not
/// installed; with `DREAMWORK_REQUIRE_MODEL=1` a missing model fails the test.
#[cfg(feature = "minilm")]
pub fn minilm() -> Option<dreamwork::embed::MiniLmEmbedder> {
    use dreamwork::embed::{MiniLmEmbedder, MiniLmOptions};
    match MiniLmEmbedder::load(&MiniLmOptions::default()) {
        Ok(m) => Some(m),
        Err(e) if std::env::var("DREAMWORK_REQUIRE_MODEL").as_deref() == Ok("1") => {
            panic!("DREAMWORK_REQUIRE_MODEL=1 but the model is unavailable: {e}")
        }
        Err(e) => {
            eprintln!("note: skipping the MiniLM run: {e}");
            None
        }
    }
}
