//! The user vector cache a dream reads and fills: a second dream over the
//! same store embeds nothing, the input store's bytes never change, the
//! output is the same bytes whether vectors were cached or computed, a
//! damaged cache is reported and worked around, and concurrent dreams share
//! the cache safely; the same for the judge's word vectors.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::common::{tree, write_store};
use assert_cmd::Command;
use dreamwork::dream::disk::{DiskDream, DiskRequest, dream_store};
use dreamwork::embed::{
    CacheDir, CacheKind, EmbedError, VectorCache, VectorCacheWriter, WordCacheWriter, WordVectors,
};
use dreamwork::resolve::{Asking, LocalResolver};
use dreamwork::{CancelToken, ContentHash, Dream, DreamOptions, Embedder, LexicalEmbedder};
use dreamwork_testkit::corpus::{Corpus, Spec, generate};

fn corpus(seed: u64) -> Corpus {
    generate(Spec { seed, facts: 80, sessions: 4, session_scale: 1 })
}

/// A lexical dream of `store` into `out` through the library.
fn dream(store: &Path, out: &Path, cache: Option<&Path>) -> DiskDream {
    dream_with(&LexicalEmbedder::default(), store, out, cache)
}

/// A dream of `store` into `out` with `embedder`, through the library.
fn dream_with(embedder: &dyn Embedder, store: &Path, out: &Path, cache: Option<&Path>) -> DiskDream {
    let request = DiskRequest::new(store, out).with_vector_cache(cache.map(CacheDir::new));
    dream_store(
        &Dream::new(DreamOptions::default()),
        request,
        embedder,
        &mut Asking::new(&LocalResolver),
        &dreamwork::Silent,
        &CancelToken::new(),
    )
    .expect("the dream runs")
}

fn cache_file(cache: &Path) -> PathBuf {
    CacheDir::new(cache).file(CacheKind::Vectors, LexicalEmbedder::default().model_id())
}

fn dreamwork(cache: &Path) -> Command {
    let mut cmd = Command::cargo_bin("dreamwork").expect("the binary is built");
    cmd.env("DREAMWORK_CACHE_DIR", cache);
    cmd
}

/// The count in "N texts embedded" of a dream's summary.
fn embedded_in(printed: &str) -> usize {
    printed
        .split(" texts embedded")
        .next()
        .and_then(|head| head.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no embedding count in {printed}"))
}

#[test]
fn second_dream_embeds_nothing_and_the_store_stays_byte_identical() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let store = tmp.path().join("store");
    write_store(&store, &corpus(3));
    let before = tree(&store);
    let cache = tmp.path().join("cache");

    let first = dream(&store, &tmp.path().join("one"), Some(&cache));
    assert!(first.embedded > 0);
    assert!(first.warnings.is_empty(), "{:?}", first.warnings);
    assert_eq!(tree(&store), before, "the input store's files changed");
    assert!(cache_file(&cache).is_file(), "the dream filled the user cache");

    let second = dream(&store, &tmp.path().join("two"), Some(&cache));
    assert_eq!(second.embedded, 0, "the second dream embedded texts");
    assert_eq!(second.cached, first.embedded + first.cached);
    assert_eq!(tree(&store), before, "the input store's files changed");

    // Cached or computed, OUT is the same bytes (report included).
    let reference = tree(&tmp.path().join("one"));
    assert_eq!(reference, tree(&tmp.path().join("two")), "cached vectors changed OUT");
    let uncached = dream(&store, &tmp.path().join("three"), None);
    assert_eq!(uncached.embedded, first.embedded);
    assert_eq!(reference, tree(&tmp.path().join("three")), "the user cache changed OUT");
}

#[test]
fn the_cli_dreams_twice_and_embeds_nothing_the_second_time() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let store = tmp.path().join("store");
    write_store(&store, &corpus(5));
    let before = tree(&store);
    let cache = tmp.path().join("cache");
    let run = |out: &str, extra: &[&str]| {
        let done = dreamwork(&cache)
            .arg("dream")
            .arg(&store)
            .arg("--out")
            .arg(tmp.path().join(out))
            .args(["--embedder", "lexical"])
            .args(extra)
            .assert()
            .success();
        String::from_utf8_lossy(&done.get_output().stdout).into_owned()
    };
    let cold = run("one", &[]);
    assert!(embedded_in(&cold) > 0, "{cold}");
    let file = cache_file(&cache);
    let filled = std::fs::read(&file).expect("the user cache was written");
    let warm = run("two", &[]);
    assert_eq!(embedded_in(&warm), 0, "{warm}");
    assert_eq!(std::fs::read(&file).expect("reads"), filled, "nothing new to add");
    let off = run("three", &["--no-cache"]);
    assert_eq!(embedded_in(&off), embedded_in(&cold), "{off}");
    assert_eq!(tree(&store), before, "the input store's files changed");
    assert_eq!(tree(&tmp.path().join("one")), tree(&tmp.path().join("two")));
    assert_eq!(tree(&tmp.path().join("one")), tree(&tmp.path().join("three")));

    // --cache-dir names another cache directory.
    let elsewhere = tmp.path().join("elsewhere");
    let moved = run("four", &["--cache-dir", elsewhere.to_str().expect("utf-8 path")]);
    assert_eq!(embedded_in(&moved), embedded_in(&cold), "{moved}");
    assert!(cache_file(&elsewhere).is_file());

    let stats = dreamwork(&cache).args(["cache", "stats"]).assert().success();
    let stats = String::from_utf8_lossy(&stats.get_output().stdout).into_owned();
    assert!(stats.contains(&file.display().to_string()), "{stats}");
    assert!(stats.contains(LexicalEmbedder::default().model_id()), "{stats}");
    dreamwork(&cache).args(["cache", "clear"]).assert().success();
    assert!(!file.exists(), "cache clear left {}", file.display());
    let again = run("five", &[]);
    assert_eq!(embedded_in(&again), embedded_in(&cold), "{again}");
}

#[test]
fn a_damaged_user_cache_is_reported_and_never_gives_a_wrong_vector() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let store = tmp.path().join("store");
    write_store(&store, &corpus(8));
    let cache = tmp.path().join("cache");
    let first = dream(&store, &tmp.path().join("one"), Some(&cache));
    let reference = tree(&tmp.path().join("one"));
    let file = cache_file(&cache);
    let good = std::fs::read(&file).expect("reads");

    // A flipped bit inside the first vector, with frames after it.
    let e = LexicalEmbedder::default();
    let header_len = 24 + e.model_id().len();
    let mut damaged = good.clone();
    damaged[header_len + 8 + 32 + 5] ^= 0x10;
    std::fs::write(&file, &damaged).expect("writes");
    let done = dream(&store, &tmp.path().join("two"), Some(&cache));
    assert_eq!(done.embedded, first.embedded, "nothing was taken from the damaged cache");
    let warning = done.warnings.join("\n");
    assert!(warning.contains(&file.display().to_string()), "{warning}");
    assert!(warning.contains("corrupt"), "{warning}");
    assert_eq!(reference, tree(&tmp.path().join("two")), "a damaged cache changed OUT");
    assert_eq!(std::fs::read(&file).expect("reads"), damaged, "the damaged file is left for inspection");

    // The CLI says so on stderr and succeeds.
    let done = dreamwork(&cache)
        .arg("dream")
        .arg(&store)
        .arg("--out")
        .arg(tmp.path().join("three"))
        .args(["--embedder", "lexical"])
        .assert()
        .success();
    let stderr = String::from_utf8_lossy(&done.get_output().stderr).into_owned();
    assert!(stderr.contains("warning") && stderr.contains(&file.display().to_string()), "{stderr}");

    // Not a cache file at all: the same.
    std::fs::write(&file, b"PK\x03\x04 some other file").expect("writes");
    let done = dream(&store, &tmp.path().join("four"), Some(&cache));
    assert_eq!(done.embedded, first.embedded);
    assert!(done.warnings.join("\n").contains("not a vector cache"), "{:?}", done.warnings);
    assert_eq!(reference, tree(&tmp.path().join("four")));

    // A torn tail (a dream killed mid-append) loses only its last frame.
    let mut torn = good.clone();
    torn.truncate(good.len() - 7);
    std::fs::write(&file, &torn).expect("writes");
    let done = dream(&store, &tmp.path().join("five"), Some(&cache));
    assert!(done.warnings.is_empty(), "{:?}", done.warnings);
    assert_eq!(done.embedded, 1, "only the torn vector is embedded again");
    assert_eq!(reference, tree(&tmp.path().join("five")));
    assert_eq!(std::fs::read(&file).expect("reads").len(), good.len(), "the tail was cut and refilled");

    // A cache that cannot be written (a file where its folder should be).
    let blocked = tmp.path().join("blocked");
    std::fs::write(&blocked, b"").expect("writes");
    let done = dream(&store, &tmp.path().join("six"), Some(&blocked));
    assert_eq!(done.embedded, first.embedded);
    assert!(done.warnings.join("\n").contains(&blocked.display().to_string()), "{:?}", done.warnings);
    assert_eq!(reference, tree(&tmp.path().join("six")));
}

#[test]
fn concurrent_writers_share_one_cache_file() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("vectors");
    let e = LexicalEmbedder::new(16);
    let id = e.model_id().to_owned();
    // Four writers, overlapping halves of 400 texts, in batches of 7.
    let texts: Vec<String> = (0..400).map(|i| format!("text number {i}")).collect();
    std::thread::scope(|scope| {
        for w in 0..4 {
            let (dir, id, texts, e) = (&dir, &id, &texts, &e);
            scope.spawn(move || {
                let (mut writer, _) = VectorCacheWriter::open_shared(dir, id, 16).expect("opens");
                let mine: Vec<&str> = texts.iter().skip(w * 50).take(200).map(String::as_str).collect();
                for batch in mine.chunks(7) {
                    let vectors = e.embed(batch).expect("embeds");
                    let entries: Vec<(ContentHash, &[f32])> = batch
                        .iter()
                        .zip(&vectors)
                        .map(|(t, v)| (ContentHash::of(t.as_bytes()), v.as_slice()))
                        .collect();
                    writer.append(&entries).expect("appends");
                }
            });
        }
    });
    let cache = VectorCache::load(&dir, &id, 16).expect("the shared file is valid");
    let written = 3 * 50 + 200;
    assert_eq!(cache.len(), written);
    for t in texts.iter().take(written) {
        let expected = e.embed(&[t.as_str()]).expect("embeds");
        assert_eq!(cache.get(&ContentHash::of(t.as_bytes())), Some(expected[0].as_slice()), "{t}");
    }
    let len =
        std::fs::metadata(dir.join(dreamwork::fuzzing::vector_cache::file_name(&id))).expect("exists").len();
    let (header, frame) = ((24 + id.len()) as u64, (8 + 32 + 4 * 16) as u64);
    assert_eq!(len, header + written as u64 * frame, "no vector was written twice");
}

#[test]
fn two_dreams_at_once_fill_one_cache() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let cache = tmp.path().join("cache");
    let stores: Vec<PathBuf> = [11, 12]
        .iter()
        .map(|seed| {
            let store = tmp.path().join(format!("store-{seed}"));
            write_store(&store, &corpus(*seed));
            store
        })
        .collect();
    let spawn = |store: &Path, out: &str| {
        std::process::Command::new(assert_cmd::cargo::cargo_bin("dreamwork"))
            .env("DREAMWORK_CACHE_DIR", &cache)
            .arg("dream")
            .arg(store)
            .arg("--out")
            .arg(tmp.path().join(out))
            .args(["--embedder", "lexical"])
            .output()
            .expect("the dream starts")
    };
    let outputs = std::thread::scope(|scope| {
        let runs: Vec<_> = [(&stores[0], "a1"), (&stores[1], "b1"), (&stores[0], "a2")]
            .into_iter()
            .map(|(store, out)| scope.spawn(move || spawn(store, out)))
            .collect();
        runs.into_iter().map(|r| r.join().expect("no panic")).collect::<Vec<_>>()
    });
    for o in &outputs {
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert!(o.stderr.is_empty(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    assert_eq!(tree(&tmp.path().join("a1")), tree(&tmp.path().join("a2")));
    let e = LexicalEmbedder::default();
    VectorCache::load(&cache.join("vectors"), e.model_id(), e.dimension()).expect("the cache is valid");
    for (store, out) in [(&stores[0], "a3"), (&stores[1], "b3")] {
        let again = spawn(store, out);
        assert!(again.status.success(), "{}", String::from_utf8_lossy(&again.stderr));
        let printed = String::from_utf8_lossy(&again.stdout);
        assert_eq!(embedded_in(&printed), 0, "{printed}");
    }
    assert_eq!(tree(&tmp.path().join("a1")), tree(&tmp.path().join("a3")));
    assert_eq!(tree(&tmp.path().join("b1")), tree(&tmp.path().join("b3")));
}

/// A model-free embedder that gives word vectors under the model id of the
/// built-in judge (so the dream's judge asks for them): lexical vectors of
/// the text and of each word. Counts the texts whose word vectors it computes.
struct Wordy {
    lexical: LexicalEmbedder,
    model_id: String,
    word_texts: AtomicUsize,
}

impl Wordy {
    fn new() -> Self {
        let judge = dreamwork::judge::Judge::from_json(
            "minilm.json",
            include_str!("../../src/judge/models/minilm.json"),
        )
        .expect("the built-in judge parses");
        Self { lexical: LexicalEmbedder::new(32), model_id: judge.model_id, word_texts: AtomicUsize::new(0) }
    }
}

impl Embedder for Wordy {
    fn model_id(&self) -> &str {
        &self.model_id
    }
    fn dimension(&self) -> usize {
        self.lexical.dimension()
    }
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        self.lexical.embed(texts)
    }
    fn word_vectors(&self, texts: &[&str]) -> Result<Option<Vec<WordVectors>>, EmbedError> {
        self.word_texts.fetch_add(texts.len(), Ordering::Relaxed);
        let mut out = Vec::new();
        for text in texts {
            let words: Vec<String> = text.split_whitespace().map(str::to_lowercase).collect();
            let refs: Vec<&str> = words.iter().map(String::as_str).collect();
            let data = self.lexical.embed(&refs)?.concat();
            let sentence = self.lexical.embed(&[text])?.concat();
            out.push(WordVectors { words, dimension: self.dimension(), data, sentence });
        }
        Ok(Some(out))
    }
}

fn word_file(cache: &Path, e: &Wordy) -> PathBuf {
    CacheDir::new(cache).file(CacheKind::Words, e.model_id())
}

#[test]
fn second_dream_computes_no_word_vectors_and_out_is_the_same() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let store = tmp.path().join("store");
    write_store(&store, &corpus(3));
    let before = tree(&store);
    let cache = tmp.path().join("cache");
    let e = Wordy::new();

    let first = dream_with(&e, &store, &tmp.path().join("one"), Some(&cache));
    assert!(first.words_computed > 0, "the judge asked for no word vectors");
    assert_eq!(first.words_cached, 0);
    assert_eq!(e.word_texts.load(Ordering::Relaxed), first.words_computed);
    assert!(first.warnings.is_empty(), "{:?}", first.warnings);
    assert!(word_file(&cache, &e).is_file(), "the dream filled the word cache");

    let second = dream_with(&e, &store, &tmp.path().join("two"), Some(&cache));
    assert_eq!(second.words_computed, 0, "the second dream computed word vectors");
    assert_eq!(second.words_cached, first.words_computed);
    assert_eq!(e.word_texts.load(Ordering::Relaxed), first.words_computed, "the embedder was asked again");
    assert_eq!(tree(&store), before, "the input store's files changed");

    let reference = tree(&tmp.path().join("one"));
    assert_eq!(reference, tree(&tmp.path().join("two")), "cached word vectors changed OUT");
    let uncached = dream_with(&e, &store, &tmp.path().join("three"), None);
    assert_eq!(uncached.words_computed, first.words_computed);
    assert_eq!(reference, tree(&tmp.path().join("three")), "the word cache changed OUT");

    // A lexical dream needs no word vectors and creates no word cache.
    let lexical = tmp.path().join("lexical-cache");
    let done = dream(&store, &tmp.path().join("four"), Some(&lexical));
    assert_eq!((done.words_computed, done.words_cached), (0, 0));
    assert!(!CacheDir::new(&lexical).dir(CacheKind::Words).exists());
}

#[test]
fn a_damaged_word_cache_is_reported_and_never_gives_a_wrong_vector() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let store = tmp.path().join("store");
    write_store(&store, &corpus(8));
    let cache = tmp.path().join("cache");
    let e = Wordy::new();
    let first = dream_with(&e, &store, &tmp.path().join("one"), Some(&cache));
    assert!(first.words_computed > 1);
    let reference = tree(&tmp.path().join("one"));
    let file = word_file(&cache, &e);
    let good = std::fs::read(&file).expect("reads");

    // A flipped bit inside the first frame's vectors, with frames after it.
    let header_len = 24 + e.model_id().len();
    let mut damaged = good.clone();
    let first_len =
        u32::from_le_bytes(good[header_len..header_len + 4].try_into().expect("4 bytes")) as usize;
    damaged[header_len + 8 + first_len - 3] ^= 0x10;
    std::fs::write(&file, &damaged).expect("writes");
    let done = dream_with(&e, &store, &tmp.path().join("two"), Some(&cache));
    assert_eq!(done.words_computed, first.words_computed, "nothing was taken from the damaged cache");
    assert_eq!(done.embedded, 0, "the pooled cache is still used");
    let warning = done.warnings.join("\n");
    assert!(warning.contains(&file.display().to_string()), "{warning}");
    assert!(warning.contains(&format!("corrupt at byte offset {header_len}")), "{warning}");
    assert_eq!(reference, tree(&tmp.path().join("two")), "a damaged word cache changed OUT");
    assert_eq!(std::fs::read(&file).expect("reads"), damaged, "the damaged file is left for inspection");

    // Not a word cache at all (a pooled cache file): the same.
    std::fs::write(&file, dreamwork::fuzzing::vector_cache::header(e.model_id(), e.dimension()))
        .expect("writes");
    let done = dream_with(&e, &store, &tmp.path().join("three"), Some(&cache));
    assert_eq!(done.words_computed, first.words_computed);
    assert!(done.warnings.join("\n").contains("not a vector cache"), "{:?}", done.warnings);
    assert_eq!(reference, tree(&tmp.path().join("three")));

    // A torn tail (a dream killed mid-append) loses only its last frame.
    std::fs::write(&file, &good[..good.len() - 7]).expect("writes");
    let done = dream_with(&e, &store, &tmp.path().join("four"), Some(&cache));
    assert!(done.warnings.is_empty(), "{:?}", done.warnings);
    assert_eq!(done.words_computed, 1, "only the torn text's word vectors are computed again");
    assert_eq!(reference, tree(&tmp.path().join("four")));
    assert_eq!(std::fs::read(&file).expect("reads"), good, "the tail was cut and refilled");
}

#[test]
fn concurrent_word_cache_writers_share_one_file() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("words");
    let e = Wordy::new();
    let id = e.model_id().to_owned();
    let texts: Vec<String> =
        (0..300).map(|i| format!("text number {i} says {}", "more ".repeat(i % 7))).collect();
    std::thread::scope(|scope| {
        for w in 0..4 {
            let (dir, id, texts, e) = (&dir, &id, &texts, &e);
            scope.spawn(move || {
                let (mut writer, _) = WordCacheWriter::open_shared(dir, id, 32).expect("opens");
                let mine: Vec<&str> = texts.iter().skip(w * 40).take(150).map(String::as_str).collect();
                for batch in mine.chunks(9) {
                    let vectors = e.word_vectors(batch).expect("computes").expect("some");
                    let entries: Vec<(ContentHash, &WordVectors)> =
                        batch.iter().zip(&vectors).map(|(t, v)| (ContentHash::of(t.as_bytes()), v)).collect();
                    writer.append(&entries).expect("appends");
                }
            });
        }
    });
    let written = 3 * 40 + 150;
    let (_, cache) = WordCacheWriter::open_shared(&dir, &id, 32).expect("the shared file is valid");
    assert_eq!(cache.len(), written);
    for t in texts.iter().take(written) {
        let expected = e.word_vectors(&[t.as_str()]).expect("computes").expect("some");
        assert_eq!(cache.get(&ContentHash::of(t.as_bytes())).as_ref(), expected.first(), "{t}");
    }
    let files = CacheDir::new(tmp.path()).files(CacheKind::Words).expect("lists");
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].entries, written as u64, "no text was written twice");
}
