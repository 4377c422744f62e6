//! `dreamwork pull`, `push` and `sessions fetch` end to end against the
//! loopback stand-in: every page read, a second pull that reads only what
//! changed, each kind of change pushed under its precondition, a write an
//! agent made between pull and push never overwritten, `--dry-run` sending
//! nothing, `--new-store`, retries, malformed answers named, and the API
//! key in no output, file or request but its header.

#![cfg(feature = "remote")]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use crate::common::tree;
use crate::support::standin::{Fault, KEY, Recorded, StandIn};
use assert_cmd::Command;
use dreamwork::MemoryPath;
use dreamwork::fuzzing::content_sha256;
use dreamwork::store::Store;
use serde_json::{Value, json};

/// Proxy settings a user's environment may hold: the stand-in is on loopback.
const PROXY_VARS: &[&str] =
    &["ALL_PROXY", "all_proxy", "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"];

struct Setup {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    store: PathBuf,
    standin: StandIn,
    hosted: String,
}

/// A stand-in with pages of 20 and a hosted store of `n` memories.
fn setup(n: usize) -> Setup {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().to_owned();
    let standin = StandIn::start();
    standin.page_size(20);
    let hosted = standin.add_store("team memory");
    for i in 0..n {
        standin.agent_write(
            &hosted,
            &format!("/notes/{i:04}.md"),
            &format!("Fact number {i} about the deploy."),
        );
    }
    Setup { store: dir.join("store"), _tmp: tmp, dir, standin, hosted }
}

fn run(s: &Setup, args: &[&str]) -> Output {
    let mut cmd = Command::cargo_bin("dreamwork").expect("the binary is built");
    for var in PROXY_VARS {
        cmd.env_remove(var);
    }
    cmd.args(args)
        .env("ANTHROPIC_API_KEY", KEY)
        .env("ANTHROPIC_BASE_URL", &s.standin.url)
        .timeout(Duration::from_secs(300))
        .output()
        .expect("dreamwork runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn ok(output: &Output) -> String {
    assert!(output.status.success(), "stdout:\n{}\nstderr:\n{}", text(&output.stdout), text(&output.stderr));
    text(&output.stdout)
}

fn failed(output: &Output) -> String {
    assert_eq!(
        output.status.code(),
        Some(1),
        "stdout:\n{}\nstderr:\n{}",
        text(&output.stdout),
        text(&output.stderr)
    );
    text(&output.stderr)
}

fn pull(s: &Setup) -> String {
    ok(&run(s, &["pull", &s.hosted, s.store.to_str().unwrap()]))
}

fn push(s: &Setup) -> Output {
    run(s, &["push", s.store.to_str().unwrap(), &s.hosted])
}

/// The store's memories: path -> content.
fn local(store: &Path) -> BTreeMap<String, String> {
    let store = Store::open_read_only(store).expect("store opens");
    store.iter().map(|m| (m.path.to_string(), m.content.clone())).collect()
}

fn edit(store: &Path, f: impl FnOnce(&mut Store)) {
    let mut store = Store::open(store).expect("store opens");
    f(&mut store);
}

fn path(p: &str) -> MemoryPath {
    MemoryPath::new(p).expect("a valid path")
}

/// Requests received after the first `skip`.
fn since(s: &Setup, skip: usize) -> Vec<Recorded> {
    s.standin.requests().into_iter().skip(skip).collect()
}

fn routes(requests: &[Recorded]) -> Vec<String> {
    requests.iter().map(|r| format!("{} {}?{}", r.method, r.path, r.query)).collect()
}

#[test]
fn pull_reads_every_page_then_only_what_changed() {
    let s = setup(45);
    let out = pull(&s);
    assert!(out.contains("45 listed, 45 new"), "{out}");
    assert_eq!(local(&s.store), s.standin.memories(&s.hosted));
    let first = s.standin.requests();
    assert_eq!(first.len(), 3, "45 memories, pages of 20 with contents: {:?}", routes(&first));
    assert!(
        first.iter().all(|r| r.query.contains("view=full")
            && r.header("anthropic-beta") == Some("agent-memory-2026-07-22"))
    );
    assert!(first[1].query.contains("page=page_20") && first[2].query.contains("page=page_40"));
    // The server's times, so a dream knows which memory is newer.
    let st = Store::open_read_only(&s.store).unwrap();
    let m = st.get(&path("/notes/0007.md")).unwrap();
    assert_eq!(Some(m.updated_at), dreamwork::Timestamp::parse_rfc3339("2026-08-01T00:00:00Z"));
    drop(st);
    let link: Value = serde_json::from_slice(&std::fs::read(s.store.join("hosted.json")).unwrap()).unwrap();
    assert_eq!(link["memory_store_id"], s.hosted.as_str());
    assert_eq!(link["memories"].as_array().unwrap().len(), 45);

    // Nothing changed: the listing only.
    assert!(pull(&s).contains("0 new, 0 updated, 0 renamed, 0 deleted (0 read one by one)"));
    let n = s.standin.requests().len();
    assert_eq!(n, 6, "{:?}", routes(&s.standin.requests()));

    // An agent edits one, moves one, deletes one, creates one.
    s.standin.agent_write(&s.hosted, "/notes/0001.md", "Fact one, corrected.");
    s.standin.agent_rename(&s.hosted, "/notes/0002.md", "/archive/0002.md");
    s.standin.agent_delete(&s.hosted, "/notes/0003.md");
    s.standin.agent_write(&s.hosted, "/notes/new.md", "A new fact.");
    let out = pull(&s);
    assert!(out.contains("1 new, 1 updated, 1 renamed, 1 deleted (2 read one by one)"), "{out}");
    assert_eq!(local(&s.store), s.standin.memories(&s.hosted));
    let reads: Vec<String> =
        routes(&since(&s, n)).into_iter().filter(|r| r.contains("/memories/mem_")).collect();
    assert_eq!(reads.len(), 2, "only the edited and the created memory are read: {reads:?}");
}

#[test]
fn a_pull_follows_moves_that_free_and_reuse_paths() {
    let s = setup(3);
    pull(&s);
    // /notes/0000 moves away and /notes/0001 takes its place; 0002 edited in place.
    s.standin.agent_rename(&s.hosted, "/notes/0000.md", "/old/0000.md");
    s.standin.agent_rename(&s.hosted, "/notes/0001.md", "/notes/0000.md");
    s.standin.agent_write(&s.hosted, "/notes/0002.md", "Fact two, edited.");
    let out = pull(&s);
    assert!(out.contains("0 new, 1 updated, 2 renamed, 0 deleted (1 read one by one)"), "{out}");
    assert_eq!(local(&s.store), s.standin.memories(&s.hosted));
    // The bases follow the ids: nothing to push, and a local edit of the
    // moved memory goes to the right one.
    assert!(ok(&push(&s)).contains("in 0 requests"));
    edit(&s.store, |st| {
        st.put(&path("/notes/0000.md"), "Fact one, at its new path, edited here.").unwrap();
    });
    ok(&push(&s));
    let ids = s.standin.memory_ids(&s.hosted);
    let server = s.standin.memories(&s.hosted);
    assert_eq!(server["/notes/0000.md"], "Fact one, at its new path, edited here.");
    assert_eq!(server["/old/0000.md"], "Fact number 0 about the deploy.");
    assert_eq!(ids.len(), 3);
}

#[test]
fn push_sends_each_kind_of_change_under_its_precondition() {
    let s = setup(6);
    pull(&s);
    let before = s.standin.memories(&s.hosted);
    let ids = s.standin.memory_ids(&s.hosted);
    edit(&s.store, |st| {
        st.put(&path("/notes/0000.md"), "Fact zero, rewritten by a dream.").unwrap();
        let moved = st.get(&path("/notes/0001.md")).unwrap().content.clone();
        st.delete(&path("/notes/0001.md")).unwrap();
        st.put(&path("/topics/deploy/0001.md"), &moved).unwrap();
        st.delete(&path("/notes/0002.md")).unwrap();
        st.put(&path("/notes/merged.md"), "Facts 3 and 4, merged.").unwrap();
    });
    let n = s.standin.requests().len();
    let out = ok(&push(&s));
    assert!(out.contains("1 created, 1 modified, 1 renamed, 1 deleted; 0 conflicts in 4 requests"), "{out}");
    assert_eq!(s.standin.memories(&s.hosted), local(&s.store));
    assert_eq!(
        s.standin.memory_ids(&s.hosted)["/topics/deploy/0001.md"],
        ids["/notes/0001.md"],
        "a rename keeps the id"
    );

    let sent = since(&s, n);
    assert_eq!(sent.len(), 4, "{:?}", routes(&sent));
    let delete = sent.iter().find(|r| r.method == "DELETE").unwrap();
    assert_eq!(delete.path, format!("/v1/memory_stores/{}/memories/{}", s.hosted, ids["/notes/0002.md"]));
    assert!(
        delete
            .query
            .contains(&format!("expected_content_sha256={}", content_sha256(&before["/notes/0002.md"])))
    );
    for update in sent.iter().filter(|r| r.method == "POST" && r.path.contains("/memories/mem_")) {
        let body: Value = serde_json::from_str(&update.body).unwrap();
        assert_eq!(body["precondition"]["type"], "content_sha256");
        let old =
            if body["path"].is_string() { &before["/notes/0001.md"] } else { &before["/notes/0000.md"] };
        assert_eq!(body["precondition"]["content_sha256"], content_sha256(old));
    }

    // Pushed: nothing left to send, and a pull finds nothing to take.
    let n = s.standin.requests().len();
    assert!(ok(&push(&s)).contains("0 conflicts in 0 requests"));
    assert_eq!(s.standin.requests().len(), n);
    assert!(pull(&s).contains("0 new, 0 updated, 0 renamed, 0 deleted"));
}

#[test]
fn a_write_between_pull_and_push_is_never_overwritten() {
    let s = setup(5);
    pull(&s);
    edit(&s.store, |st| {
        st.put(&path("/notes/0000.md"), "Dreamed version of fact zero.").unwrap();
        st.delete(&path("/notes/0001.md")).unwrap();
        st.put(&path("/notes/0002.md"), "Dreamed version of fact two.").unwrap();
    });
    // Meanwhile agents edit 0000 and 0001 on the server.
    s.standin.agent_write(&s.hosted, "/notes/0000.md", "An agent's newer fact zero.");
    s.standin.agent_write(&s.hosted, "/notes/0001.md", "An agent's newer fact one.");
    let n = s.standin.requests().len();
    let output = push(&s);
    let err = failed(&output);
    assert!(err.contains("conflict: /notes/0000.md (mem_"), "{err}");
    assert!(
        err.contains("/notes/0000.md") && err.contains("changed on the server since the last pull"),
        "{err}"
    );
    assert!(err.contains("conflict: /notes/0001.md (mem_"), "{err}");
    assert!(err.contains("2 conflicts left as the server has them"), "{err}");
    assert!(text(&output.stdout).contains("1 modified, 0 renamed, 0 deleted; 2 conflicts"));
    // The server keeps the agents' writes; the other change went through.
    let server = s.standin.memories(&s.hosted);
    assert_eq!(server["/notes/0000.md"], "An agent's newer fact zero.");
    assert_eq!(server["/notes/0001.md"], "An agent's newer fact one.");
    assert_eq!(server["/notes/0002.md"], "Dreamed version of fact two.");
    // The store keeps its versions.
    let here = local(&s.store);
    assert_eq!(here["/notes/0000.md"], "Dreamed version of fact zero.");
    assert!(!here.contains_key("/notes/0001.md"));
    // A stale precondition is not retried: one request per change.
    assert_eq!(since(&s, n).len(), 3, "{:?}", routes(&since(&s, n)));

    // Pushing again refuses again; a plain pull keeps the local versions.
    failed(&push(&s));
    let err = failed(&run(&s, &["pull", &s.hosted, s.store.to_str().unwrap()]));
    assert!(err.contains("conflict: /notes/0000.md") && err.contains("both edited"), "{err}");
    assert_eq!(local(&s.store)["/notes/0000.md"], "Dreamed version of fact zero.");
    // Settled by taking the server's side: the store matches the server,
    // and the dreamed version is still in its history.
    ok(&run(&s, &["pull", &s.hosted, s.store.to_str().unwrap(), "--prefer", "server"]));
    assert_eq!(local(&s.store), s.standin.memories(&s.hosted));
    let history = ok(&run(&s, &["history", s.store.to_str().unwrap(), "/notes/0000.md"]));
    assert!(history.lines().count() >= 3, "{history}");
    assert!(ok(&push(&s)).contains("in 0 requests"));
}

#[test]
fn prefer_local_makes_the_next_push_win() {
    let s = setup(3);
    pull(&s);
    edit(&s.store, |st| {
        st.put(&path("/notes/0000.md"), "Ours.").unwrap();
    });
    s.standin.agent_write(&s.hosted, "/notes/0000.md", "Theirs.");
    failed(&push(&s));
    let out = run(&s, &["pull", &s.hosted, s.store.to_str().unwrap(), "--prefer", "local"]);
    ok(&out);
    assert!(text(&out.stderr).contains("settled: /notes/0000.md"));
    assert!(text(&out.stderr).contains("the next push sends it over the server's version"));
    ok(&push(&s));
    assert_eq!(s.standin.memories(&s.hosted)["/notes/0000.md"], "Ours.");
}

#[test]
fn dry_run_prints_the_plan_and_sends_nothing() {
    let s = setup(4);
    pull(&s);
    edit(&s.store, |st| {
        st.put(&path("/notes/0000.md"), "Changed.").unwrap();
        st.delete(&path("/notes/0001.md")).unwrap();
        st.put(&path("/notes/extra.md"), "Added.").unwrap();
    });
    let n = s.standin.requests().len();
    // It needs no key: nothing is sent.
    let mut cmd = Command::cargo_bin("dreamwork").unwrap();
    let output = cmd
        .args(["push", s.store.to_str().unwrap(), &s.hosted, "--dry-run"])
        .env_remove("ANTHROPIC_API_KEY")
        .env("ANTHROPIC_BASE_URL", &s.standin.url)
        .output()
        .unwrap();
    let out = ok(&output);
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("delete  /notes/0001.md (mem_"), "{out}");
    assert!(lines[1].starts_with("modify  /notes/0000.md (mem_"), "{out}");
    assert_eq!(lines[2], "create  /notes/extra.md");
    assert!(lines[3].contains("would send 3 changes") && lines[3].contains("nothing sent"), "{out}");
    assert_eq!(s.standin.requests().len(), n);
    // A store linked elsewhere, or never pulled, is refused before anything is sent.
    let err = failed(&run(&s, &["push", s.store.to_str().unwrap(), "memstore_other", "--dry-run"]));
    assert!(err.contains(&format!("is linked to memory store {}, not memstore_other", s.hosted)), "{err}");
    let fresh = s.dir.join("fresh");
    ok(&run(&s, &["init", fresh.to_str().unwrap()]));
    let err = failed(&run(&s, &["push", fresh.to_str().unwrap(), &s.hosted]));
    assert!(err.contains("was never pulled"), "{err}");
    assert_eq!(s.standin.requests().len(), n);
}

#[test]
fn new_store_holds_every_memory_and_prints_its_id() {
    let s = setup(0);
    ok(&run(&s, &["init", s.store.to_str().unwrap()]));
    edit(&s.store, |st| {
        for i in 0..25 {
            st.put(&path(&format!("/dream/{i:02}.md")), &format!("Consolidated fact {i}.")).unwrap();
        }
    });
    let output = run(&s, &["push", s.store.to_str().unwrap(), "--new-store", "nightly dream 2026-08-20"]);
    let id = ok(&output).trim().to_owned();
    assert!(id.starts_with("memstore_"), "{id}");
    assert!(text(&output.stderr).contains("with 25 memories"));
    assert_eq!(s.standin.store_name(&id).as_deref(), Some("nightly dream 2026-08-20"));
    assert_eq!(s.standin.memories(&id), local(&s.store));
    // The store is linked to it now: a change pushes there.
    edit(&s.store, |st| {
        st.put(&path("/dream/00.md"), "Corrected.").unwrap();
    });
    ok(&run(&s, &["push", s.store.to_str().unwrap(), &id]));
    assert_eq!(s.standin.memories(&id)["/dream/00.md"], "Corrected.");
}

fn events(n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| {
            let (kind, text) =
                if i % 2 == 0 { ("user.message", "please deploy") } else { ("agent.message", "deployed") };
            json!({"id": format!("sevt_{i}"), "type": kind, "processed_at": "2026-08-01T00:00:00Z",
                   "content": [{"type": "text", "text": format!("{text} #{i}")}]})
        })
        .chain([
            json!({"id": "sevt_idle", "type": "session.status_idle", "processed_at": "2026-08-01T00:00:01Z"}),
        ])
        .collect()
}

#[test]
fn sessions_fetch_reads_every_page_into_transcripts() {
    let s = setup(1);
    pull(&s);
    s.standin.page_size(100);
    s.standin.add_session("sesn_0001", events(250));
    s.standin.add_session("sesn_0002", vec![json!({"id": "e", "type": "session.status_idle"})]);
    let n = s.standin.requests().len();
    let out = ok(&run(&s, &["sessions", "fetch", s.store.to_str().unwrap(), "sesn_0001", "sesn_0002"]));
    assert!(out.contains("sesn_0001\t251 events\t250 turns\t"), "{out}");
    assert!(out.contains("sesn_0002\t1 event\tno transcript events"), "{out}");
    assert!(out.contains("fetched 2 sessions (1 new)"), "{out}");
    let sent = since(&s, n);
    assert_eq!(sent.len(), 4, "three pages, then one: {:?}", routes(&sent));
    assert!(sent.iter().all(|r| r.header("anthropic-beta") == Some("managed-agents-2026-04-01")));
    let ls = ok(&run(&s, &["sessions", "ls", s.store.to_str().unwrap()]));
    assert!(ls.contains("managed-agents") && ls.contains("sesn_0001"), "{ls}");
    // Again: stored once.
    assert!(ok(&run(&s, &["sessions", "fetch", s.store.to_str().unwrap(), "sesn_0001"])).contains("(0 new)"));
    let err = failed(&run(&s, &["sessions", "fetch", s.store.to_str().unwrap(), "sesn_nope"]));
    assert!(err.contains("reading the events of session sesn_nope: not found"), "{err}");
}

#[test]
fn retries_rate_limits_and_server_errors() {
    let s = setup(30);
    s.standin
        .fault("GET /v1/memory_stores/*/memories", Fault::Status(429, vec![("retry-after-ms", "20".into())]));
    s.standin.fault("GET /v1/memory_stores/*/memories", Fault::Status(500, vec![]));
    pull(&s);
    assert_eq!(local(&s.store).len(), 30);
    edit(&s.store, |st| {
        st.put(&path("/notes/0000.md"), "Changed.").unwrap();
    });
    s.standin.fault(
        "POST /v1/memory_stores/*/memories/*",
        Fault::Status(503, vec![("retry-after-ms", "10".into())]),
    );
    ok(&push(&s));
    assert_eq!(s.standin.memories(&s.hosted)["/notes/0000.md"], "Changed.");
}

#[test]
fn malformed_answers_and_refusals_are_named() {
    let s = setup(3);
    let store = s.store.to_str().unwrap();
    let list = "GET /v1/memory_stores/*/memories";
    let cases: Vec<(Fault, &str)> = vec![
        (Fault::Malformed, "unexpected response body: EOF while parsing"),
        (Fault::Body(r#"{"data": "all"}"#.into()), "invalid type: string \"all\""),
        (
            Fault::Body(
                json!({"data": [{"type": "memory", "id": "mem_1", "path": "/a", "content": "x",
                                          "content_sha256": content_sha256("y")}]})
                .to_string(),
            ),
            "memory mem_1 (/a): content_sha256 does not match its content",
        ),
    ];
    for (fault, expected) in cases {
        s.standin.fault(list, fault);
        let err = failed(&run(&s, &["pull", &s.hosted, store]));
        assert!(
            err.contains(&format!(
                "GET {}/v1/memory_stores/{}/memories: unexpected response body",
                s.standin.url, s.hosted
            )),
            "{err}"
        );
        assert!(err.contains(expected), "{err}");
        assert!(!s.store.join("hosted.json").exists(), "nothing is recorded from a bad answer");
    }
    let err = failed(&run(&s, &["pull", "memstore_missing", store]));
    assert!(err.contains("listing the memories of memory store memstore_missing: not found"), "{err}");
    let err = failed(&run(&s, &["pull", "../etc", store]));
    assert!(err.contains("memory store id \"../etc\" is not an id"), "{err}");
    let mut cmd = Command::cargo_bin("dreamwork").unwrap();
    let output = cmd
        .args(["pull", &s.hosted, store])
        .env("ANTHROPIC_API_KEY", "sk-ant-api03-WRONGkey")
        .env("ANTHROPIC_BASE_URL", &s.standin.url)
        .output()
        .unwrap();
    let err = failed(&output);
    assert!(
        err.contains("the API key was refused (check ANTHROPIC_API_KEY)") && !err.contains("WRONGkey"),
        "{err}"
    );
    // A page token that comes back: an error, not an endless loop.
    s.standin.fault_always(list, Fault::Body(r#"{"data": [], "next_page": "page_x"}"#.into()));
    let err = failed(&run(&s, &["pull", &s.hosted, store]));
    assert!(err.contains("came back twice"), "{err}");
}

#[test]
fn the_api_key_is_in_no_output_file_or_request_but_its_header() {
    let s = setup(5);
    let mut outputs = vec![run(&s, &["pull", &s.hosted, s.store.to_str().unwrap()])];
    edit(&s.store, |st| {
        st.put(&path("/notes/0000.md"), "Changed.").unwrap();
    });
    s.standin.agent_write(&s.hosted, "/notes/0000.md", "Changed by an agent.");
    s.standin.add_session("sesn_0001", events(3));
    outputs.push(push(&s));
    outputs.push(run(&s, &["sessions", "fetch", s.store.to_str().unwrap(), "sesn_0001"]));
    outputs.push(run(&s, &["push", s.store.to_str().unwrap(), "--new-store", "copy"]));
    s.standin.fault("GET /v1/memory_stores/*/memories", Fault::Status(500, vec![]));
    s.standin.fault("GET /v1/memory_stores/*/memories", Fault::Status(500, vec![]));
    s.standin.fault("GET /v1/memory_stores/*/memories", Fault::Status(500, vec![]));
    outputs.push(run(&s, &["pull", &s.hosted, s.store.to_str().unwrap()]));
    for output in &outputs {
        assert!(!text(&output.stdout).contains(KEY) && !text(&output.stderr).contains(KEY));
    }
    for (file, bytes) in tree(&s.dir) {
        assert!(!String::from_utf8_lossy(&bytes).contains(KEY), "{} holds the key", file.display());
    }
    for r in s.standin.requests() {
        assert!(!r.body.contains(KEY) && !r.query.contains(KEY) && !r.path.contains(KEY));
        for (name, value) in &r.headers {
            assert!(name == "x-api-key" || !value.contains(KEY), "{name} carries the key");
        }
    }
}

/// The nightly flow: pull, fetch the sessions, dream, accept, push — with
/// an agent writing in between; then the same at 2,000 memories, timed.
#[test]
fn nightly_pull_dream_accept_push() {
    let s = setup(0);
    for i in 0..40 {
        s.standin.agent_write(
            &s.hosted,
            &format!("/team/fact-{i:02}.md"),
            &format!("Fact {i}: the service {i} runs on port {}.", 8000 + i),
        );
    }
    // Exact copies a dream merges.
    for i in 0..5 {
        s.standin.agent_write(
            &s.hosted,
            &format!("/copies/fact-{i:02}.md"),
            &format!("Fact {i}: the service {i} runs on port {}.", 8000 + i),
        );
    }
    s.standin.add_session("sesn_0001", events(6));
    let store = s.store.to_str().unwrap();
    pull(&s);
    ok(&run(&s, &["sessions", "fetch", store, "sesn_0001"]));
    let out = s.dir.join("out");
    ok(&run(&s, &["dream", store, "--out", out.to_str().unwrap(), "--embedder", "lexical"]));
    assert!(out.join("hosted.json").is_file(), "the dream output is linked where its store came from");
    // An agent edits a copy the dream merged away, between pull and push.
    let merged =
        local(&s.store).into_keys().find(|p| !local(&out).contains_key(p)).expect("the dream merged a copy");
    s.standin.agent_write(&s.hosted, &merged, "Edited by an agent tonight.");
    ok(&run(&s, &["accept", store, out.to_str().unwrap()]));
    let err = failed(&push(&s));
    assert!(err.contains(&format!("conflict: {merged}")), "{err}");
    let server = s.standin.memories(&s.hosted);
    assert_eq!(server[&merged], "Edited by an agent tonight.");
    for (p, content) in local(&s.store) {
        assert_eq!(server.get(&p), Some(&content), "{p} pushed");
    }
}

/// Pull, dream, accept and push 2,000 memories (pages of 20, a 429 and a
/// 500 on the way, agents writing to ten memories the dream removes);
/// prints requests and times.
#[test]
fn two_thousand_memories_pull_dream_push() {
    let s = setup(1950);
    // Fifty exact copies under another folder, for the dream to merge.
    for i in 0..50 {
        s.standin.agent_write(
            &s.hosted,
            &format!("/copies/{i:04}.md"),
            &format!("Fact number {} about the deploy.", i * 39),
        );
    }
    let store = s.store.to_str().unwrap();
    s.standin
        .fault("GET /v1/memory_stores/*/memories", Fault::Status(429, vec![("retry-after", "1".into())]));
    s.standin.fault("GET /v1/memory_stores/*/memories", Fault::Status(500, vec![]));
    let t = Instant::now();
    pull(&s);
    let (pull_time, pull_requests) = (t.elapsed(), s.standin.requests().len());
    assert_eq!(local(&s.store), s.standin.memories(&s.hosted));

    let out = s.dir.join("out");
    let t = Instant::now();
    ok(&run(&s, &["dream", store, "--out", out.to_str().unwrap(), "--embedder", "lexical"]));
    let dream_time = t.elapsed();
    let before = local(&s.store);
    let dreamed = local(&out);
    let removed: Vec<&String> = before.keys().filter(|p| !dreamed.contains_key(*p)).collect();
    assert!(removed.len() >= 50, "the copies are merged: {removed:?}");
    ok(&run(&s, &["accept", store, out.to_str().unwrap()]));
    let plan = ok(&run(&s, &["push", store, &s.hosted, "--dry-run"]));
    let changes = plan.lines().count() - 1;
    // Agents write to ten of the removed memories meanwhile.
    let written: Vec<&&String> = removed.iter().step_by(removed.len() / 10).take(10).collect();
    for p in &written {
        s.standin.agent_write(&s.hosted, p, "Rewritten by an agent during the night.");
    }
    let n = s.standin.requests().len();
    let t = Instant::now();
    let err = failed(&push(&s));
    let (push_time, push_requests) = (t.elapsed(), s.standin.requests().len() - n);
    assert_eq!(err.matches("dreamwork: conflict: ").count(), 10, "{err}");
    assert_eq!(push_requests, changes, "one request per changed memory");
    let server = s.standin.memories(&s.hosted);
    for p in &written {
        assert_eq!(server[**p], "Rewritten by an agent during the night.");
    }
    for (p, content) in local(&s.store) {
        assert_eq!(server.get(&p), Some(&content), "{p} is on the server");
    }
    assert_eq!(server.len(), local(&s.store).len() + 10);
    eprintln!(
        "2,000 memories: pull {pull_requests} requests in {pull_time:.2?}; dream {dream_time:.2?}; \
         push of {changes} changes ({} removed by the dream) {push_requests} requests in {push_time:.2?}",
        removed.len()
    );
}
