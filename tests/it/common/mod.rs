//! Helpers shared by the integration tests' modules.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use dreamwork::store::Store;
use dreamwork_testkit::corpus::Corpus;

/// Creates a store at `dir` holding `corpus`, memories and sessions in the
/// corpus's order.
pub fn write_store(dir: &Path, corpus: &Corpus) {
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

/// The MiniLM embedder, loaded once for the whole binary: ONNX Runtime
/// starts one environment per process, so a second
/// `MiniLmEmbedder::load` in the same process fails. A missing model fails
/// the test that asked for it; such tests are `#[ignore]`d with the reason
/// "needs the MiniLM model", and `bash scripts/test.sh` fetches the model
/// and runs them (`--include-ignored`).
#[cfg(feature = "minilm")]
pub fn minilm() -> &'static dreamwork::embed::MiniLmEmbedder {
    use dreamwork::embed::{MiniLmEmbedder, MiniLmOptions};
    static MODEL: std::sync::OnceLock<Result<MiniLmEmbedder, String>> = std::sync::OnceLock::new();
    match MODEL.get_or_init(|| MiniLmEmbedder::load(&MiniLmOptions::default()).map_err(|e| e.to_string())) {
        Ok(m) => m,
        Err(e) => panic!("the MiniLM model is unavailable (run `dreamwork model fetch`): {e}"),
    }
}
