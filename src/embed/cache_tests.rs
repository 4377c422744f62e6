use super::*;
use crate::embed::LexicalEmbedder;
use crate::embed::cache_format::{FRAME_HEADER, encode_frame, frame_len};
use crate::progress::Silent;
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting {
    inner: LexicalEmbedder,
    calls: AtomicUsize,
}

impl Embedder for Counting {
    fn model_id(&self) -> &str {
        self.inner.model_id()
    }
    fn dimension(&self) -> usize {
        self.inner.dimension()
    }
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        self.calls.fetch_add(texts.len(), Ordering::Relaxed);
        self.inner.embed(texts)
    }
    fn word_vectors(&self, texts: &[&str]) -> Result<Option<Vec<crate::embed::WordVectors>>, EmbedError> {
        self.inner.word_vectors(texts)
    }
}

fn counting() -> Counting {
    Counting { inner: LexicalEmbedder::new(16), calls: AtomicUsize::new(0) }
}

fn items(texts: &[&'static str]) -> Vec<(ContentHash, &'static str)> {
    texts.iter().map(|t| (ContentHash::of(t.as_bytes()), *t)).collect()
}

#[test]
fn second_run_embeds_nothing_and_results_match() {
    let dir = tempfile::tempdir().unwrap();
    let e = counting();
    let its = items(&["alpha beta", "gamma", "alpha beta", "delta epsilon"]);
    let empty = VectorCache::load(dir.path(), e.model_id(), 16).unwrap();
    let mut w = VectorCacheWriter::open(dir.path(), e.model_id(), 16).unwrap();
    let first = embed_cached(&e, &its, &empty, Some(&mut w), &Silent, &CancelToken::new()).unwrap();
    assert_eq!(e.calls.load(Ordering::Relaxed), 3);
    drop(w);
    let loaded = VectorCache::load(dir.path(), e.model_id(), 16).unwrap();
    assert_eq!(loaded.len(), 3);
    let second = embed_cached(&e, &its, &loaded, None, &Silent, &CancelToken::new()).unwrap();
    assert_eq!(e.calls.load(Ordering::Relaxed), 3);
    assert_eq!(first, second);
    assert_eq!(first[0], first[2]);
}

#[test]
fn read_one_directory_write_another() {
    let input = tempfile::tempdir().unwrap();
    let output = tempfile::tempdir().unwrap();
    let e = counting();
    let id = e.model_id().to_string();
    let mut w = VectorCacheWriter::open(input.path(), &id, 16).unwrap();
    embed_cached(
        &e,
        &items(&["one"]),
        &VectorCache::empty(&id, 16),
        Some(&mut w),
        &Silent,
        &CancelToken::new(),
    )
    .unwrap();
    drop(w);
    let before = std::fs::read(input.path().join(file_name(&id))).unwrap();

    let cache = VectorCache::load(input.path(), &id, 16).unwrap();
    let mut out = VectorCacheWriter::open(&output.path().join("vectors"), &id, 16).unwrap();
    embed_cached(&e, &items(&["one", "two"]), &cache, Some(&mut out), &Silent, &CancelToken::new()).unwrap();
    drop(out);
    assert_eq!(std::fs::read(input.path().join(file_name(&id))).unwrap(), before);
    let copied = VectorCache::load(&output.path().join("vectors"), &id, 16).unwrap();
    assert_eq!(copied.len(), 2, "hits and misses both reach the output cache");
}

#[test]
fn torn_tail_is_ignored_then_cut_and_middle_damage_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let e = LexicalEmbedder::new(8);
    let id = e.model_id().to_string();
    let mut w = VectorCacheWriter::open(dir.path(), &id, 8).unwrap();
    let vs = e.embed(&["a", "b", "c"]).unwrap();
    let hs: Vec<ContentHash> = ["a", "b", "c"].iter().map(|t| ContentHash::of(t.as_bytes())).collect();
    let entries: Vec<(ContentHash, &[f32])> =
        hs.iter().copied().zip(vs.iter().map(|v| v.as_slice())).collect();
    assert_eq!(w.append(&entries).unwrap(), 3);
    assert_eq!(w.append(&entries).unwrap(), 0);
    drop(w);
    let path = dir.path().join(file_name(&id));
    let full = std::fs::read(&path).unwrap();
    let hlen = header(&id, 8).len();
    let flen = frame_len(8);
    assert_eq!(full.len(), hlen + 3 * flen);

    for cut in hlen..full.len() {
        let d = decode(&full[..cut], &id, 8).unwrap();
        assert_eq!(d.entries.len(), (cut - hlen) / flen, "cut at {cut}");
    }
    // A flipped bit in the last frame is a torn tail.
    let mut last = full.clone();
    let n = last.len();
    last[n - 1] ^= 1;
    assert_eq!(decode(&last, &id, 8).unwrap().entries.len(), 2);
    std::fs::write(&path, &last).unwrap();
    assert_eq!(VectorCache::load(dir.path(), &id, 8).unwrap().len(), 2);
    assert_eq!(std::fs::read(&path).unwrap(), last, "load never writes");
    let w = VectorCacheWriter::open(dir.path(), &id, 8).unwrap();
    drop(w);
    assert_eq!(std::fs::metadata(&path).unwrap().len() as usize, hlen + 2 * flen);

    // A flipped bit in the first frame, with frames after it, is corruption.
    let mut mid = full.clone();
    mid[hlen + FRAME_HEADER + 3] ^= 0x40;
    std::fs::write(&path, &mid).unwrap();
    let err = VectorCache::load(dir.path(), &id, 8).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, CacheError::Corrupt { offset, .. } if offset == hlen as u64), "{msg}");
    assert!(msg.contains(&path.display().to_string()), "{msg}");
}

#[test]
fn foreign_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let id = "lexical-v1-8";
    let path = dir.path().join(file_name(id));
    std::fs::write(&path, b"PK\x03\x04 definitely not a cache file at all").unwrap();
    assert!(matches!(VectorCache::load(dir.path(), id, 8), Err(CacheError::Foreign { .. })));
    std::fs::write(&path, header(id, 16)).unwrap();
    let err = VectorCache::load(dir.path(), id, 8).unwrap_err();
    assert!(err.to_string().contains("dimension 16"), "{err}");
    std::fs::write(&path, header("other", 8)).unwrap();
    assert!(matches!(VectorCache::load(dir.path(), id, 8), Err(CacheError::Foreign { .. })));
    // A header torn at creation is an empty cache.
    std::fs::write(&path, &header(id, 8)[..10]).unwrap();
    assert!(VectorCache::load(dir.path(), id, 8).unwrap().is_empty());
}

#[test]
fn second_writer_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let _w = VectorCacheWriter::open(dir.path(), "m", 4).unwrap();
    let started = std::time::Instant::now();
    assert!(matches!(VectorCacheWriter::try_open(dir.path(), "m", 4), Err(CacheError::Locked { .. })));
    assert!(started.elapsed() < crate::store::LOCK_PATIENCE, "try_open does not wait");
    assert!(matches!(VectorCacheWriter::open(dir.path(), "m", 4), Err(CacheError::Locked { .. })));
    assert!(started.elapsed() >= crate::store::LOCK_PATIENCE, "open waits before refusing");
}

#[test]
fn open_waits_for_a_writer_that_lets_go() {
    let dir = tempfile::tempdir().unwrap();
    let first = VectorCacheWriter::open(dir.path(), "m", 4).unwrap();
    let release = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(50));
        drop(first);
    });
    VectorCacheWriter::open(dir.path(), "m", 4).expect("opens once the first writer is dropped");
    release.join().unwrap();
}

#[test]
fn shared_writers_cut_a_crashed_writers_torn_tail_and_skip_what_others_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let e = LexicalEmbedder::new(8);
    let id = e.model_id().to_string();
    let texts = ["a", "b", "c"];
    let vs = e.embed(&texts).unwrap();
    let entry = |i: usize| (ContentHash::of(texts[i].as_bytes()), vs[i].as_slice());
    let (mut one, empty) = VectorCacheWriter::open_shared(dir.path(), &id, 8).unwrap();
    assert!(empty.is_empty());
    let (mut two, _) = VectorCacheWriter::open_shared(dir.path(), &id, 8).unwrap();
    assert_eq!(one.append(&[entry(0)]).unwrap(), 1);
    // Half a frame, as a writer killed mid-append leaves.
    let path = dir.path().join(file_name(&id));
    let mut half = Vec::new();
    encode_frame(&mut half, &entry(2).0, entry(2).1);
    std::fs::OpenOptions::new().append(true).open(&path).unwrap().write_all(&half[..20]).unwrap();
    assert_eq!(two.append(&[entry(0), entry(1)]).unwrap(), 1, "a was written by the other writer");
    let (_, cache) = VectorCacheWriter::open_shared(dir.path(), &id, 8).unwrap();
    assert_eq!(cache.len(), 2);
    assert_eq!(cache.get(&entry(1).0), Some(entry(1).1));
    let hlen = header(&id, 8).len();
    assert_eq!(std::fs::metadata(&path).unwrap().len() as usize, hlen + 2 * frame_len(8));
}

#[test]
fn merged_caches_keep_the_first_vector_and_refuse_other_models() {
    let mut a = VectorCache::empty("m", 2);
    a.insert(ContentHash::of(b"x"), vec![1.0, 0.0]).unwrap();
    let mut b = VectorCache::empty("m", 2);
    b.insert(ContentHash::of(b"x"), vec![0.0, 1.0]).unwrap();
    b.insert(ContentHash::of(b"y"), vec![0.0, 1.0]).unwrap();
    a.merge(b).unwrap();
    assert_eq!(a.len(), 2);
    assert_eq!(a.get(&ContentHash::of(b"x")), Some(&[1.0, 0.0][..]));
    assert!(a.merge(VectorCache::empty("other", 2)).is_err());
    assert!(a.merge(VectorCache::empty("m", 3)).is_err());
}

#[test]
fn cancel_stops_between_batches_and_keeps_written_work() {
    let dir = tempfile::tempdir().unwrap();
    let e = LexicalEmbedder::new(8);
    let id = e.model_id().to_string();
    let texts: Vec<String> = (0..BATCH * 3).map(|i| format!("text number {i}")).collect();
    let its: Vec<(ContentHash, &str)> =
        texts.iter().map(|t| (ContentHash::of(t.as_bytes()), t.as_str())).collect();
    let cancel = CancelToken::new();
    let c2 = cancel.clone();
    let obs = move |p: Progress| {
        if p.done >= BATCH as u64 {
            c2.cancel();
        }
    };
    let mut w = VectorCacheWriter::open(dir.path(), &id, 8).unwrap();
    let r = embed_cached(&e, &its, &VectorCache::empty(&id, 8), Some(&mut w), &obs, &cancel);
    assert!(matches!(r, Err(EmbedError::Cancelled)));
    drop(w);
    assert_eq!(VectorCache::load(dir.path(), &id, 8).unwrap().len(), BATCH);
}

#[test]
fn model_mismatch_is_refused() {
    let e = LexicalEmbedder::new(8);
    let cache = VectorCache::empty("some-other-model", 8);
    let r = embed_cached(&e, &items(&["x"]), &cache, None, &Silent, &CancelToken::new());
    assert!(matches!(r, Err(EmbedError::Cache(CacheError::ModelMismatch { .. }))));
}

#[test]
fn file_names_are_safe_and_distinct() {
    let a = file_name("minilm/../x");
    assert!(!a.contains('/'));
    assert_ne!(file_name("a b"), file_name("a_b"));
}
