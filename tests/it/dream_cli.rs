//! The dream commands as a user runs them: `dream`, `diff`, `accept`,
//! `discard`; the input store's bytes untouched; byte-identical output for
//! any thread count, insertion order and listing order; journal replay.

use std::path::{Path, PathBuf};

use crate::common::{tree, write_store};
use assert_cmd::Command;
use dreamwork::MemoryPath;
use dreamwork::store::Store;
use dreamwork_testkit::corpus::{Corpus, Spec, generate};

/// The CLI, with its user cache in the tests' scratch directory (shared by
/// the tests of this file, which so also dream with a warm cache).
fn dreamwork() -> Command {
    let mut cmd = Command::cargo_bin("dreamwork").expect("the binary is built");
    cmd.env("DREAMWORK_CACHE_DIR", Path::new(env!("CARGO_TARGET_TMPDIR")).join("dream_cli-cache"));
    cmd
}

/// Runs a lexical dream that must succeed; returns what it printed.
fn dream(store: &Path, out: &Path, extra: &[&str]) -> String {
    let done = dreamwork()
        .arg("dream")
        .arg(store)
        .arg("--out")
        .arg(out)
        .args(["--embedder", "lexical"])
        .args(extra)
        .assert()
        .success();
    String::from_utf8_lossy(&done.get_output().stdout).into_owned()
}

fn corpus() -> Corpus {
    generate(Spec { seed: 21, facts: 120, sessions: 6, session_scale: 1 })
}

#[test]
fn dream_leaves_input_untouched_and_output_is_byte_identical() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let corpus = corpus();
    let store = tmp.path().join("store");
    write_store(&store, &corpus);
    let before = tree(&store);
    let one = tmp.path().join("one");
    dream(&store, &one, &["--threads", "1"]);
    assert_eq!(tree(&store), before, "the input store's files changed");
    let many = tmp.path().join("many");
    dream(&store, &many, &["--threads", "4"]);
    let reference = tree(&one);
    assert_eq!(reference, tree(&many), "thread count changed the output");
    for needed in ["memories.log", "dream/report.json", "dream/report.md"] {
        assert!(reference.contains_key(Path::new(needed)), "{needed} missing from OUT");
    }
    assert!(reference.keys().any(|p| p.starts_with("vectors")), "no vectors in OUT");
    assert_eq!(reference.keys().filter(|p| p.starts_with("sessions")).count(), corpus.sessions.len());

    // Another store with the same memories and sessions, written in the
    // opposite order, dreams to the same bytes.
    let reversed = tmp.path().join("reversed");
    let opposite = Corpus {
        memories: corpus.memories.iter().rev().cloned().collect(),
        sessions: corpus.sessions.iter().rev().cloned().collect(),
        ..corpus
    };
    write_store(&reversed, &opposite);
    assert_ne!(tree(&reversed), before, "the two input stores differ on disk");
    let again = tmp.path().join("again");
    dream(&reversed, &again, &[]);
    assert_eq!(reference, tree(&again), "insertion order changed the output");

    // The output opens as a store and its hash is the report's.
    let out = Store::open_read_only(&one).expect("output opens");
    let report = dreamwork::dream::disk::read_report(&one).expect("report reads");
    assert_eq!(out.store_hash().to_hex(), report.output.store_hash);
    assert_eq!(Store::open_read_only(&store).expect("opens").store_hash().to_hex(), report.input.store_hash);
}

#[test]
fn sessions_from_files_in_any_listing_order() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let corpus = generate(Spec { seed: 4, facts: 40, sessions: 2, session_scale: 1 });
    let store = tmp.path().join("store");
    write_store(&store, &Corpus { sessions: vec![], ..corpus });
    let team = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/team/sessions");
    // The same transcripts (a text transcript is known by its file name, so
    // the names stay) in directories that a listing visits in reverse order.
    let renamed = tmp.path().join("renamed");
    let mut names: Vec<PathBuf> =
        std::fs::read_dir(&team).expect("lists").map(|e| e.expect("entry").path()).collect();
    names.sort();
    for (i, p) in names.iter().rev().enumerate() {
        let name = p.file_name().expect("name").to_string_lossy().to_string();
        let dir = renamed.join(format!("{i}"));
        std::fs::create_dir_all(&dir).expect("dir");
        std::fs::copy(p, dir.join(name)).expect("copied");
    }
    let a = tmp.path().join("a");
    let b = tmp.path().join("b");
    dream(&store, &a, &["--sessions", team.to_str().expect("utf-8 path")]);
    dream(&store, &b, &["--sessions", renamed.to_str().expect("utf-8 path")]);
    assert_eq!(tree(&a), tree(&b));
    let report = dreamwork::dream::disk::read_report(&a).expect("report");
    assert_eq!(report.input.sessions, names.len(), "one session per transcript file");
    assert!(!report.patterns.is_empty(), "the team transcripts hold recurring mistakes");
}

#[test]
fn accept_swaps_and_keeps_a_backup_discard_removes_only_outputs() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let corpus = corpus();
    let store = tmp.path().join("store");
    write_store(&store, &corpus);
    let out = tmp.path().join("out");
    dream(&store, &out, &[]);
    let old = tree(&store);
    let new = tree(&out);

    let diff =
        dreamwork().args(["diff"]).arg(&store).arg(&out).assert().success().get_output().stdout.clone();
    let diff = String::from_utf8_lossy(&diff);
    assert!(diff.lines().any(|l| l.starts_with("- /") && l.contains("\tinto /")), "{diff}");
    dreamwork().arg("discard").arg(&store).assert().failure();
    dreamwork().arg("discard").arg(tmp.path()).assert().failure();
    dream_fails_on_existing(&store, &out);

    dreamwork().arg("accept").arg(&store).arg(&out).assert().success();
    assert_eq!(tree(&store), new, "STORE now holds the dream");
    assert_eq!(tree(&tmp.path().join("store.bak-1")), old, "the old store is kept");
    assert!(!out.exists());

    // A dream over a store that then changes cannot be accepted.
    let out2 = tmp.path().join("out2");
    dream(&store, &out2, &[]);
    let mut s = Store::open(&store).expect("opens for writing");
    s.put(&MemoryPath::new("/late.md").expect("path"), "written after the dream").expect("written");
    drop(s);
    let before = tree(&store);
    dreamwork().arg("accept").arg(&store).arg(&out2).assert().failure();
    assert_eq!(tree(&store), before);
    assert!(out2.exists());
    dreamwork().arg("discard").arg(&out2).assert().success();
    assert!(!out2.exists());
}

fn dream_fails_on_existing(store: &Path, out: &Path) {
    let assert =
        dreamwork().arg("dream").arg(store).arg("--out").arg(out).args(["--embedder", "lexical"]).assert();
    let stderr = String::from_utf8_lossy(&assert.failure().get_output().stderr).to_string();
    assert!(stderr.contains("already exists"), "{stderr}");
}

#[test]
fn journal_makes_reruns_identical() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let corpus = generate(Spec { seed: 99, facts: 200, sessions: 4, session_scale: 1 });
    let store = tmp.path().join("store");
    write_store(&store, &corpus);
    let journal = tmp.path().join("journal.jsonl");
    let j = journal.to_str().expect("utf-8 path");
    let a = tmp.path().join("a");
    let b = tmp.path().join("b");
    dream(&store, &a, &["--journal", j]);
    let lines = std::fs::read_to_string(&journal).expect("journal written").lines().count();
    assert!(lines > 0);
    dream(&store, &b, &["--journal", j]);
    assert_eq!(std::fs::read_to_string(&journal).expect("journal").lines().count(), lines);
    assert_eq!(tree(&a), tree(&b));

    // A corrupt journal line is an error naming the file and the line.
    let mut text = std::fs::read_to_string(&journal).expect("journal");
    text.push_str("not json\n");
    std::fs::write(&journal, text).expect("written");
    let assert = dreamwork()
        .arg("dream")
        .arg(&store)
        .arg("--out")
        .arg(tmp.path().join("c"))
        .args(["--embedder", "lexical", "--journal", j])
        .assert();
    let stderr = String::from_utf8_lossy(&assert.failure().get_output().stderr).to_string();
    assert!(stderr.contains(&format!("journal.jsonl:{}", lines + 1)), "{stderr}");
    assert!(!tmp.path().join("c").exists(), "a failed dream leaves no output");
}

#[test]
fn bundled_team_example_dreams_as_the_readme_shows() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let team = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/team");
    // The Markdown directory and the JSONL (which adds the team's
    // timestamps) hold the same memories.
    let from_dir = tmp.path().join("from-dir");
    let store = tmp.path().join("team");
    for (dir, src) in [(&from_dir, team.join("memories")), (&store, team.join("memories.jsonl"))] {
        dreamwork().arg("init").arg(dir).assert().success();
        dreamwork().arg("import").arg(dir).arg(&src).assert().success();
    }
    let hash = |d: &Path| Store::open_read_only(d).expect("opens").store_hash();
    assert_eq!(hash(&from_dir), hash(&store), "examples/team/memories and memories.jsonl differ");

    let out = tmp.path().join("team-dream");
    let sessions = team.join("sessions");
    let assert = dreamwork()
        .arg("dream")
        .arg(&store)
        .arg("--out")
        .arg(&out)
        .arg("--sessions")
        .arg(&sessions)
        .args(["--embedder", "lexical"])
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).to_string();
    assert!(stdout.contains("report: "), "{stdout}");
    let report = dreamwork::dream::disk::read_report(&out).expect("report");
    use dreamwork::report::{Action, PatternKind};
    // Certain or ask: only the exact copy of the style guide merges; "staging db
    // port: 5433" and "The staging database listens on port 5433." differ in
    // wording the device cannot prove harmless, so they are asked about.
    assert_eq!(report.count(Action::Merged), 1, "the copied style guide");
    let dropped_into =
        |p: &str| report.dropped.iter().find(|d| d.path.as_str() == p).and_then(|d| d.into.clone());
    let into = |p: &str| dropped_into(p).map(|q| q.as_str().to_owned());
    assert_eq!(into("/api/timeouts.md").as_deref(), Some("/notes/api-timeout.md"), "timeout: by recency");
    assert_eq!(
        into("/ci/runner.md").as_deref(),
        Some("/notes/ci.md"),
        "CI runner: a session states the switch"
    );
    assert_eq!(
        into("/services/search.md").as_deref(),
        Some("/services/search-upgrade.md"),
        "a stated upgrade"
    );
    let ci = report.memories.iter().find(|e| e.path.as_str() == "/notes/ci.md").expect("Jenkins kept");
    assert_eq!(ci.action, Action::Superseded, "a session says the CI switched to Jenkins");
    assert!(!ci.evidence.is_empty(), "the switch is cited");
    // Asked: the staging notes, the billing owner and the deploy day (one
    // cluster: their stated changes look alike), the design room, and the
    // checkout / search look-alikes.
    let clusters: Vec<_> =
        report.unresolved.iter().filter(|u| u.kind == dreamwork::resolve::QuestionKind::Cluster).collect();
    assert_eq!(clusters.len(), 4, "{:#?}", report.unresolved);
    let asked = |a: &str, b: &str| {
        report
            .unresolved
            .iter()
            .any(|u| u.sources.iter().any(|s| s.as_str() == a) && u.sources.iter().any(|s| s.as_str() == b))
    };
    assert!(asked("/notes/staging-db.md", "/infra/staging-db.md"));
    assert!(asked("/notes/billing-owner.md", "/team/billing-owner.md"));
    assert!(asked("/notes/deploy-day.md", "/process/deploys.md"));
    assert!(asked("/notes/design-reviews.md", "/team/design-reviews.md"), "Oslo or Bergen room");
    // The `npm` failures fixed with `pnpm` are settled; "small pull requests",
    // in two people's words, is asked.
    let kinds: Vec<PatternKind> = report.patterns.iter().map(|p| p.kind).collect();
    assert!(kinds.contains(&PatternKind::RecurringMistake), "{kinds:?}");
    assert!(
        report
            .unresolved
            .iter()
            .any(|u| u.kind == dreamwork::resolve::QuestionKind::Pattern
                && u.why.contains("shared preference")),
        "{:#?}",
        report.unresolved
    );
    let kept = |p: &str| report.memories.iter().any(|e| e.path.as_str() == p);
    assert!(kept("/infra/production-db.md") && kept("/services/checkout.md"), "look-alikes stay");
}

/// Ctrl-C during a dream: the job stops at its next batch, exits 130 with a
/// message, leaves no OUT and does not touch the input store.
#[cfg(unix)]
#[test]
fn ctrl_c_stops_a_dream_and_leaves_no_output() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let corpus = generate(Spec { seed: 5, facts: 4000, sessions: 20, session_scale: 1 });
    let store = tmp.path().join("store");
    let mut writer = Store::create(&store).expect("store created");
    let mut batch = writer.batch();
    for m in &corpus.memories {
        batch.put_memory(m.clone()).expect("memory added");
    }
    batch.commit().expect("batch written");
    drop(writer);
    let before = tree(&store);
    let out = tmp.path().join("out");
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("dreamwork"))
        .arg("dream")
        .arg(&store)
        .arg("--out")
        .arg(&out)
        .args(["--embedder", "lexical"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("dream starts");
    // Long enough for the handler to be installed, far shorter than the
    // dream (several seconds for this store even in a release build).
    std::thread::sleep(std::time::Duration::from_millis(400));
    let sent = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(sent.success());
    let done = child.wait_with_output().expect("dream ends");
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert_eq!(done.status.code(), Some(130), "stderr: {stderr}");
    assert!(stderr.contains("interrupted"), "stderr: {stderr}");
    assert!(stderr.contains("cancelled"), "stderr: {stderr}");
    assert!(!out.exists(), "a cancelled dream left {}", out.display());
    assert_eq!(tree(&store), before, "the input store's files changed");
}

/// OUT's vector cache holds a vector for every output memory, the new
/// pattern memories included: a dream over OUT embeds nothing again.
#[test]
fn output_vector_cache_covers_every_output_memory() {
    use dreamwork::{Embedder, LexicalEmbedder, VectorCache};
    let tmp = tempfile::tempdir().expect("temp dir");
    let store = tmp.path().join("store");
    write_store(&store, &corpus());
    let out = tmp.path().join("out");
    dream(&store, &out, &[]);
    let e = LexicalEmbedder::default();
    let cache = VectorCache::load(&out.join("vectors"), e.model_id(), e.dimension()).expect("cache loads");
    let output = Store::open_read_only(&out).expect("OUT opens");
    assert!(output.iter().any(|m| m.path.as_str().starts_with("/patterns/")), "the corpus yields patterns");
    for m in output.iter() {
        assert!(cache.get(&m.hash).is_some(), "no cached vector for {}", m.path);
    }
    // A dream over OUT embeds no memory again. It may embed session turns
    // that no question of the first dream needed as evidence (its questions
    // differ: the first dream's answers are in OUT).
    let printed = dream(&out, &tmp.path().join("again"), &[]);
    let embedded: usize = printed
        .split(" texts embedded")
        .next()
        .and_then(|head| head.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no embedding count in {printed}"));
    let turns: usize = corpus().sessions.iter().map(|s| s.turns.len()).sum();
    assert!(embedded <= turns, "{embedded} texts embedded, more than the {turns} session turns: {printed}");
}

/// The dream releases STORE once it has read it: an agent can write a memory
/// while the dream runs (here: from inside a progress callback), and the
/// dream's output, made from the earlier state, then cannot be accepted.
#[test]
fn store_stays_writable_while_a_dream_runs() {
    use dreamwork::dream::disk::{DiskRequest, dream_store};
    use dreamwork::resolve::{Asking, LocalResolver};
    use dreamwork::{CancelToken, Progress};
    use dreamwork::{Dream, DreamOptions, LexicalEmbedder};

    let tmp = tempfile::tempdir().expect("temp dir");
    let store = tmp.path().join("store");
    write_store(&store, &corpus());
    let out = tmp.path().join("out");
    let wrote = std::sync::Mutex::new(None);
    let observer = |p: Progress| {
        let mut wrote = wrote.lock().expect("not poisoned");
        if p.stage == "embed" && wrote.is_none() {
            let written = Store::open(&store).and_then(|mut s| {
                s.put(&MemoryPath::new("/during-the-dream.md").expect("path"), "written while dreaming")
            });
            *wrote = Some(written.map_err(|e| e.to_string()));
        }
    };
    let request = DiskRequest::new(store.clone(), out.clone());
    let dream = Dream::new(DreamOptions::default());
    dream_store(
        &dream,
        request,
        &LexicalEmbedder::default(),
        &mut Asking::new(&LocalResolver),
        &observer,
        &CancelToken::new(),
    )
    .expect("the dream runs");
    let wrote = wrote.into_inner().expect("not poisoned").expect("the embed stage reported progress");
    assert!(wrote.is_ok(), "a writer was shut out during the dream: {wrote:?}");
    let output = Store::open_read_only(&out).expect("OUT opens");
    assert!(output.get(&MemoryPath::new("/during-the-dream.md").expect("path")).is_none());
    drop(output);
    let refused = dreamwork().arg("accept").arg(&store).arg(&out).assert().failure();
    let stderr = String::from_utf8_lossy(&refused.get_output().stderr).into_owned();
    assert!(stderr.contains("changed"), "{stderr}");
}
