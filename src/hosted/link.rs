//! The link between a store and a hosted memory store: `STORE/hosted.json`
//! ([`HOSTED_LINK_FILE`]), the hosted store's id and, per memory as it was
//! last pulled or pushed, its hosted id, path and `content_sha256` — the
//! common base that tells a local change from a change on the server.
//!
//! ```json
//! {"format": "dreamwork hosted link", "version": 1,
//!  "memory_store_id": "memstore_…",
//!  "memories": [{"id": "mem_…", "path": "/a.md", "content_sha256": "…"}]}
//! ```
//!
//! Memories are written in path order. The file holds no content and no
//! secret. It is replaced atomically (temporary file, fsync, rename,
//! directory fsync), always *after* what it describes is durable (the
//! store's commit on a pull, the server's answer on a push), so a crash
//! leaves a base that is old, never one that is ahead: an old base makes
//! the next push repeat a request the server answers idempotently, while
//! one ahead could make a stale local memory look like a change. A dream
//! copies the file into its output, so an accepted dream stays linked.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::HostedError;
use super::api::valid_id;
use crate::store::HOSTED_LINK_FILE;

const FORMAT: &str = "dreamwork hosted link";
const VERSION: u32 = 1;

/// A memory as both sides last agreed on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Base {
    /// Its path then.
    pub path: String,
    /// Its `content_sha256` then.
    pub content_sha256: String,
}

/// The link of a store to a hosted memory store (see the module doc).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// The hosted store's id.
    pub memory_store_id: String,
    /// The base of each memory, by hosted id.
    pub memories: BTreeMap<String, Base>,
}

#[derive(Serialize, Deserialize)]
struct File {
    format: String,
    version: u32,
    memory_store_id: String,
    memories: Vec<Entry>,
}

#[derive(Serialize, Deserialize)]
struct Entry {
    id: String,
    path: String,
    content_sha256: String,
}

impl Link {
    /// A link to `memory_store_id` with no memory in common yet.
    pub fn new(memory_store_id: impl Into<String>) -> Self {
        Self { memory_store_id: memory_store_id.into(), memories: BTreeMap::new() }
    }

    /// The file of the link of the store in `store_dir`.
    pub fn file(store_dir: &Path) -> PathBuf {
        store_dir.join(HOSTED_LINK_FILE)
    }

    /// The link of the store in `store_dir`, `None` if it has none.
    pub fn load(store_dir: &Path) -> Result<Option<Link>, HostedError> {
        let path = Self::file(store_dir);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(HostedError::Io { path, source }),
        };
        Self::decode(&bytes).map(Some).map_err(|message| HostedError::BadLink { path, message })
    }

    /// Decodes the file's bytes, checking ids, hashes and that no id or
    /// path appears twice.
    pub fn decode(bytes: &[u8]) -> Result<Link, String> {
        let file: File = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        if file.format != FORMAT {
            return Err(format!("not a dreamwork link file (format {:?})", file.format));
        }
        if file.version != VERSION {
            return Err(format!(
                "link format version {} is not supported (this build reads {VERSION})",
                file.version
            ));
        }
        if !valid_id(&file.memory_store_id) {
            return Err(format!("memory store id {:?} is not an id", file.memory_store_id));
        }
        let mut memories = BTreeMap::new();
        let mut paths = BTreeSet::new();
        for (i, e) in file.memories.into_iter().enumerate() {
            let sha_ok = e.content_sha256.len() == 64
                && e.content_sha256.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
            if !valid_id(&e.id) || !sha_ok || !e.path.starts_with('/') {
                return Err(format!("memories[{i}]: a bad id, path or content_sha256"));
            }
            if !paths.insert(e.path.clone()) {
                return Err(format!("memories[{i}]: path {} appears twice", e.path));
            }
            let base = Base { path: e.path, content_sha256: e.content_sha256 };
            if memories.insert(e.id.clone(), base).is_some() {
                return Err(format!("memories[{i}]: id {} appears twice", e.id));
            }
        }
        Ok(Link { memory_store_id: file.memory_store_id, memories })
    }

    /// The file's bytes (memories in path order).
    pub fn encode(&self) -> Vec<u8> {
        let mut memories: Vec<Entry> = self
            .memories
            .iter()
            .map(|(id, b)| Entry {
                id: id.clone(),
                path: b.path.clone(),
                content_sha256: b.content_sha256.clone(),
            })
            .collect();
        memories.sort_by(|a, b| (&a.path, &a.id).cmp(&(&b.path, &b.id)));
        let file = File {
            format: FORMAT.into(),
            version: VERSION,
            memory_store_id: self.memory_store_id.clone(),
            memories,
        };
        let mut bytes = serde_json::to_vec_pretty(&file).expect("plain data serialises to JSON");
        bytes.push(b'\n');
        bytes
    }

    /// Replaces the link file of the store in `store_dir` atomically.
    pub fn save(&self, store_dir: &Path) -> Result<(), HostedError> {
        let path = Self::file(store_dir);
        let io = |p: &Path| {
            let p = p.to_owned();
            move |source| HostedError::Io { path: p, source }
        };
        let mut temp =
            tempfile::Builder::new().prefix(".hosted-").tempfile_in(store_dir).map_err(io(store_dir))?;
        temp.write_all(&self.encode()).map_err(io(&path))?;
        temp.as_file().sync_all().map_err(io(&path))?;
        temp.persist(&path).map_err(|e| HostedError::Io { path: path.clone(), source: e.error })?;
        std::fs::File::open(store_dir).and_then(|d| d.sync_all()).map_err(io(store_dir))
    }

    /// The hosted ids by base path.
    pub fn id_at(&self) -> BTreeMap<&str, &str> {
        self.memories.iter().map(|(id, b)| (b.path.as_str(), id.as_str())).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sha(c: char) -> String {
        std::iter::repeat_n(c, 64).collect()
    }

    #[test]
    fn round_trips_in_path_order_and_atomically() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Link::load(dir.path()).unwrap(), None);
        let mut link = Link::new("memstore_1");
        link.memories.insert("mem_2".into(), Base { path: "/a.md".into(), content_sha256: sha('a') });
        link.memories.insert("mem_1".into(), Base { path: "/b.md".into(), content_sha256: sha('b') });
        link.save(dir.path()).unwrap();
        assert_eq!(Link::load(dir.path()).unwrap(), Some(link.clone()));
        let text = std::fs::read_to_string(Link::file(dir.path())).unwrap();
        assert!(text.find("/a.md").unwrap() < text.find("/b.md").unwrap());
        assert_eq!(link.id_at().get("/b.md"), Some(&"mem_1"));
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from(HOSTED_LINK_FILE)], "no temporary file left");
    }

    #[test]
    fn a_bad_file_is_named_not_trusted() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(Link::file(dir.path()), b"{\"format\": 1").unwrap();
        let err = Link::load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("hosted.json"), "{err}");
        let twice = format!(
            r#"{{"format": "{FORMAT}", "version": 1, "memory_store_id": "memstore_1", "memories": [
                {{"id": "mem_1", "path": "/a", "content_sha256": "{0}"}},
                {{"id": "mem_2", "path": "/a", "content_sha256": "{0}"}}]}}"#,
            sha('0')
        );
        assert!(Link::decode(twice.as_bytes()).unwrap_err().contains("appears twice"));
        let future =
            format!(r#"{{"format": "{FORMAT}", "version": 2, "memory_store_id": "m", "memories": []}}"#);
        assert!(Link::decode(future.as_bytes()).unwrap_err().contains("version 2"));
    }
}
