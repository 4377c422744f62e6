//! `dreamwork dream … --resolver anthropic|dreams` end to end against the
//! loopback stand-in: what leaves the machine (redacted questions, the key
//! only in its header), the report's usage, journal re-runs that send
//! nothing and reproduce OUT byte for byte, and the injected faults.

#![cfg(feature = "remote")]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::common::{tree, write_store};
use crate::support::standin::{DreamEnd, DreamScript, Fault, KEY, Recorded, StandIn, wire_questions};
use assert_cmd::Command;
use dreamwork::session::{Session, SessionFormat};
use dreamwork_testkit::corpus::{Corpus, Spec, generate};
use serde_json::{Value, json};

/// Secrets planted in memories and session turns; none may leave.
const PLANTED: &[&str] = &[
    "sk-ant-api03-PLANTEDmemorysecret0123456789abcdefABCDEF",
    "ghp_PLANTEDsessionTOKEN0123456789abcdefABCD",
    "AKIAPLANTED012345678",
];

/// Proxy settings a user's environment may hold: the stand-in is on loopback.
const PROXY_VARS: &[&str] =
    &["ALL_PROXY", "all_proxy", "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"];

fn dreamwork() -> Command {
    let mut cmd = Command::cargo_bin("dreamwork").expect("the binary is built");
    for var in PROXY_VARS {
        cmd.env_remove(var);
    }
    cmd
}

/// The corpus with secrets planted in a third of the memories and of the
/// session turns; sessions become Managed Agents sessions with hosted ids.
fn corpus() -> Corpus {
    let mut corpus = generate(Spec { seed: 21, facts: 120, sessions: 6, session_scale: 1 });
    for (i, m) in corpus.memories.iter_mut().enumerate() {
        if i % 3 == 0 {
            m.content.push_str(&format!(" (deploy with ANTHROPIC_API_KEY={})", PLANTED[0]));
        }
    }
    corpus.sessions = corpus
        .sessions
        .iter()
        .enumerate()
        .map(|(n, s)| {
            let mut turns = s.turns.clone();
            for (i, t) in turns.iter_mut().enumerate() {
                if i % 3 == 0 {
                    t.text.push_str(&format!(" token {} and key {}", PLANTED[1], PLANTED[2]));
                }
            }
            Session::new(SessionFormat::ManagedAgents, Some(format!("sesn_{n:04}")), s.cwd.clone(), turns)
        })
        .collect();
    corpus
}

/// The answer a careful resolver would give to any question: a cluster's
/// members become one output at the newest member, superseding the rest;
/// a pattern stays open.
fn oracle(q: &Value) -> Value {
    let members = q["members"].as_array().cloned().unwrap_or_default();
    if q["kind"] == "pattern" || members.is_empty() {
        return json!({"id": q["id"], "unresolved": true, "reason": "stand-in: not judged"});
    }
    let newest =
        members.iter().max_by_key(|m| m["updated_at"].as_str().unwrap_or("").to_owned()).expect("members");
    let sources: Vec<&Value> = members.iter().map(|m| &m["path"]).collect();
    json!({"id": q["id"], "outputs": [{"path": newest["path"], "content": newest["content"],
           "sources": sources, "action": if members.len() == 1 { "kept" } else { "superseded" }}],
           "reason": "stand-in: the newest member is current"})
}

struct Setup {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    store: PathBuf,
}

fn setup() -> Setup {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().to_owned();
    let store = dir.join("store");
    write_store(&store, &corpus());
    Setup { _tmp: tmp, dir, store }
}

/// `dreamwork dream` against the stand-in; returns the finished command.
fn run(s: &Setup, standin: &StandIn, out: &str, args: &[&str]) -> std::process::Output {
    dreamwork()
        .arg("dream")
        .arg(&s.store)
        .arg("--out")
        .arg(s.dir.join(out))
        .args(["--embedder", "lexical"])
        .args(args)
        .env("ANTHROPIC_API_KEY", KEY)
        .env("ANTHROPIC_BASE_URL", &standin.url)
        .timeout(Duration::from_secs(120))
        .output()
        .expect("dreamwork runs")
}

fn ok(output: &std::process::Output) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "stdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

fn report(s: &Setup, out: &str) -> Value {
    let bytes = std::fs::read(s.dir.join(out).join("dream/report.json")).expect("report written");
    serde_json::from_slice(&bytes).expect("report is JSON")
}

/// Nothing planted and no key in any body, path or header but `x-api-key`.
fn assert_nothing_leaked(requests: &[Recorded]) {
    assert!(!requests.is_empty());
    for r in requests {
        for secret in PLANTED.iter().chain([&KEY]) {
            assert!(!r.body.contains(secret), "{} {} sent {secret}", r.method, r.path);
            assert!(!r.path.contains(secret) && !r.query.contains(secret));
        }
        for (name, value) in &r.headers {
            assert!(name == "x-api-key" || !value.contains(KEY), "{name} carries the key");
        }
    }
}

/// Every file under OUT and the stdout/stderr of a run hold no secret.
fn assert_out_clean(s: &Setup, out: &str, output: &std::process::Output) {
    for (path, bytes) in tree(&s.dir.join(out)) {
        assert!(!String::from_utf8_lossy(&bytes).contains(KEY), "{} holds the API key", path.display());
    }
    assert!(!String::from_utf8_lossy(&output.stdout).contains(KEY));
    assert!(!String::from_utf8_lossy(&output.stderr).contains(KEY));
}

fn messages(standin: &StandIn) -> Vec<Recorded> {
    standin.requests().into_iter().filter(|r| r.route() == "POST /v1/messages").collect()
}

/// Questions in the Messages bodies (one JSON object per line).
fn questions_sent(requests: &[Recorded]) -> Vec<Value> {
    requests
        .iter()
        .filter_map(|r| serde_json::from_str::<Value>(&r.body).ok())
        .flat_map(|b| {
            let text = b["messages"][0]["content"][0]["text"].as_str().unwrap_or("").to_owned();
            wire_questions(&text)
        })
        .collect()
}

fn answering_standin() -> StandIn {
    let standin = StandIn::start();
    standin.answer_with(|qs| qs.iter().map(oracle).collect());
    standin
}

#[test]
fn anthropic_resolves_end_to_end_sending_only_redacted_questions() {
    let s = setup();
    let standin = answering_standin();
    let output = run(&s, &standin, "out", &["--resolver", "anthropic"]);
    let stdout = ok(&output);
    let sent = messages(&standin);
    assert!(sent.len() >= 2, "several requests: {}", sent.len());
    assert_nothing_leaked(&standin.requests());
    assert_out_clean(&s, "out", &output);
    let questions = questions_sent(&sent);
    assert!(questions.len() >= 3, "{} questions", questions.len());
    let redacted = questions.iter().filter(|q| q.to_string().contains("[REDACTED")).count();
    assert!(redacted > 0, "some question carried a planted secret, redacted");
    for r in &sent {
        let body: Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(body["model"], "claude-sonnet-4-6");
        assert_eq!(body["tool_choice"]["name"], "resolve_clusters");
        assert_eq!(body["system"][0]["cache_control"]["type"], "ephemeral");
    }
    let report = report(&s, "out");
    let reasons: Vec<&str> =
        report["memories"].as_array().unwrap().iter().filter_map(|m| m["reason"].as_str()).collect();
    assert!(reasons.iter().any(|r| r.contains("stand-in: the newest member is current")), "answers applied");
    let usage = &report["tokens"]["usage"];
    assert!(
        usage["input_tokens"].as_u64().unwrap() > 0 && usage["cache_read_input_tokens"].as_u64().unwrap() > 0
    );
    assert!(stdout.contains("server usage"), "{stdout}");
    assert_eq!(report["resolver"], serde_json::json!({"name": "anthropic", "model": "claude-sonnet-4-6"}));
    assert!(stdout.contains("answered by anthropic (claude-sonnet-4-6)"), "{stdout}");
}

#[test]
fn a_journal_rerun_sends_nothing_and_reproduces_out() {
    let s = setup();
    let journal = s.dir.join("journal.jsonl");
    let j = journal.to_str().unwrap();
    let standin = answering_standin();
    ok(&run(&s, &standin, "out1", &["--resolver", "anthropic", "--journal", j]));
    let first = standin.requests().len();
    assert!(first > 0);
    assert!(!std::fs::read_to_string(&journal).unwrap().contains(KEY));
    let stdout = ok(&run(&s, &standin, "out2", &["--resolver", "anthropic", "--journal", j]));
    assert_eq!(standin.requests().len(), first, "the re-run sent nothing:\n{stdout}");
    assert_eq!(tree(&s.dir.join("out1")), tree(&s.dir.join("out2")));
    // A journal of `local` answers never blocks a remote run.
    let local = s.dir.join("local.jsonl");
    ok(&run(&s, &standin, "out3", &["--journal", local.to_str().unwrap()]));
    ok(&run(&s, &standin, "out4", &["--resolver", "anthropic", "--journal", local.to_str().unwrap()]));
    assert!(standin.requests().len() > first);
}

#[test]
fn retried_faults_change_no_output_byte() {
    let s = setup();
    let clean = answering_standin();
    ok(&run(&s, &clean, "clean", &["--resolver", "anthropic"]));
    let requests = messages(&clean).len();
    // At most two faults per run: whichever request meets both, its third
    // attempt succeeds (requests run in parallel, so which one is chance).
    let faults: [(&str, [Fault; 2]); 2] = [
        (
            "rate-limited",
            [
                Fault::Status(429, vec![("retry-after", "1".into())]),
                Fault::Status(529, vec![("retry-after-ms", "10".into())]),
            ],
        ),
        ("failing", [Fault::Status(500, vec![]), Fault::Delay(Duration::from_secs(3))]),
    ];
    for (out, [first, second]) in faults {
        let faulty = answering_standin();
        faulty.fault("POST /v1/messages", first);
        faulty.fault("POST /v1/messages", second);
        ok(&run(&s, &faulty, out, &["--resolver", "anthropic", "--request-timeout", "1"]));
        assert_eq!(messages(&faulty).len(), requests + 2, "{out}: each fault cost one retry");
        assert_eq!(tree(&s.dir.join("clean")), tree(&s.dir.join(out)), "{out}");
    }
}

/// The report's open questions: id → `open` (the typed reason).
fn open_reasons(report: &Value) -> BTreeMap<String, Value> {
    report["unresolved"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| (u["cluster"].as_str().unwrap().to_owned(), u["open"].clone()))
        .collect()
}

#[test]
fn a_malformed_reply_or_exhausted_retries_leave_their_questions_open() {
    let s = setup();
    for (out, fault, rule, words) in [
        ("malformed", Fault::Malformed, "malformed", "the reply is not a Messages response".to_owned()),
        (
            "overloaded",
            Fault::Status(529, vec![("retry-after-ms", "5".into())]),
            "backend",
            "/v1/messages: HTTP 529 overloaded_error".to_owned(),
        ),
    ] {
        let standin = answering_standin();
        standin.fault_always("POST /v1/messages", fault);
        let stdout = ok(&run(&s, &standin, out, &["--resolver", "anthropic"]));
        let open = open_reasons(&report(&s, out));
        let sent = messages(&standin);
        // Short ids on the wire: every question sent stays open.
        let asked = questions_sent(&sent)
            .iter()
            .map(|q| q["id"].to_string())
            .collect::<std::collections::BTreeSet<_>>();
        assert!(!asked.is_empty() && open.len() >= asked.len());
        for (id, o) in &open {
            assert_eq!(o["rule"], rule, "{out}: {id} stays open\n{stdout}");
            assert!(o["message"].as_str().unwrap().contains(&words), "{out}: {o}");
        }
        // Each request was tried three times when retryable, once when not.
        let bodies: std::collections::BTreeSet<&str> = sent.iter().map(|r| r.body.as_str()).collect();
        let tries = if rule == "backend" { 3 } else { 1 };
        assert_eq!(sent.len(), bodies.len() * tries, "{out}");
    }
}

#[test]
fn answers_for_unasked_clusters_or_non_members_are_not_applied() {
    let s = setup();
    let standin = StandIn::start();
    standin.answer_with(|qs| {
        let mut answers: Vec<Value> = qs.iter().map(oracle).collect();
        // The first cluster of each request names a path that is no member.
        if let Some(a) = answers.iter_mut().find(|a| a["outputs"].is_array()) {
            a["outputs"][0]["sources"].as_array_mut().unwrap().push(json!("/not/a/member.md"));
        }
        answers.push(json!({"id": "c-000000000000", "outputs": [{"path": "/x.md", "content": "x", "sources": ["/x.md"], "action": "kept"}], "reason": "unasked"}));
        answers
    });
    ok(&run(&s, &standin, "out", &["--resolver", "anthropic"]));
    let report = report(&s, "out");
    let open = open_reasons(&report);
    let not_member: Vec<&Value> = open.values().filter(|o| o["rule"] == "not_a_member").collect();
    assert!(!not_member.is_empty(), "{open:?}");
    assert!(not_member.iter().all(|o| o["path"] == "/not/a/member.md"));
    assert!(!open.contains_key("c-000000000000"));
    assert!(!report.to_string().contains("\"/x.md\""), "the unasked answer left no trace in the report");
    let listed = dreamwork().arg("ls").arg(s.dir.join("out")).output().unwrap();
    assert!(listed.status.success());
    assert!(!String::from_utf8_lossy(&listed.stdout).lines().any(|l| l == "/x.md"), "nor in OUT");
}

#[test]
fn a_missing_key_fails_before_sending() {
    let s = setup();
    let standin = answering_standin();
    let output = dreamwork()
        .arg("dream")
        .arg(&s.store)
        .arg("--out")
        .arg(s.dir.join("out"))
        .args(["--embedder", "lexical", "--resolver", "anthropic"])
        .env_remove("ANTHROPIC_API_KEY")
        .env("ANTHROPIC_BASE_URL", &standin.url)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("ANTHROPIC_API_KEY is not set"));
    assert!(standin.requests().is_empty());
    assert!(!s.dir.join("out").exists());
}

/// A dream writer answering every question memory with the oracle.
fn answering_dream(running_polls: u32, end: DreamEnd) -> DreamScript {
    DreamScript {
        running_polls,
        end,
        writer: Box::new(|memories| {
            let mut parts: Vec<&(String, String)> =
                memories.iter().filter(|(p, _)| p.starts_with("/questions/")).collect();
            parts.sort();
            let text: String = parts.iter().map(|(_, c)| c.as_str()).collect();
            wire_questions(&text)
                .iter()
                .map(|q| (format!("/answers/{}.json", q["id"].as_str().unwrap_or("")), oracle(q).to_string()))
                .collect()
        }),
    }
}

#[test]
fn dreams_resolve_end_to_end_and_leave_nothing_behind() {
    let s = setup();
    let standin = StandIn::start();
    standin.dream_with(answering_dream(0, DreamEnd::Completed));
    let output = run(&s, &standin, "out", &["--resolver", "dreams", "--model", "claude-opus-4-7"]);
    ok(&output);
    let requests = standin.requests();
    assert_nothing_leaked(&requests);
    assert_out_clean(&s, "out", &output);
    assert!(standin.stores().is_empty(), "temporary stores deleted");
    // One hosted dream per round of questions.
    let dreams = standin.dreams();
    assert!(!dreams.is_empty());
    for d in &dreams {
        assert_eq!(d["status"], "completed");
        assert!(d["archived_at"].is_string(), "the dream was archived");
        assert_eq!(d["model"]["id"], "claude-opus-4-7");
        let ids = d["inputs"][1]["session_ids"].as_array().unwrap();
        assert!(!ids.is_empty() && ids.iter().all(|i| i.as_str().unwrap().starts_with("sesn_")));
    }
    let memories: Vec<&Recorded> =
        requests.iter().filter(|r| r.route().ends_with("/memories") && r.method == "POST").collect();
    assert!(!memories.is_empty());
    assert!(memories.iter().any(|r| r.body.contains("[REDACTED")), "evidence travels redacted in the store");
    let report = report(&s, "out");
    let reasons = report["memories"].to_string();
    assert!(reasons.contains("stand-in: the newest member is current"));
    assert_eq!(report["tokens"]["usage"]["input_tokens"], 1200 * dreams.len() as u64);
    assert_eq!(report["resolver"], serde_json::json!({"name": "dreams", "model": "claude-opus-4-7"}));
}

#[test]
fn dreams_rerun_from_the_journal_sends_nothing() {
    let s = setup();
    let journal = s.dir.join("journal.jsonl");
    let j = journal.to_str().unwrap();
    let standin = StandIn::start();
    standin.dream_with(answering_dream(1, DreamEnd::Completed));
    ok(&run(&s, &standin, "out1", &["--resolver", "dreams", "--journal", j]));
    let first = standin.requests().len();
    ok(&run(&s, &standin, "out2", &["--resolver", "dreams", "--journal", j]));
    assert_eq!(standin.requests().len(), first);
    assert_eq!(tree(&s.dir.join("out1")), tree(&s.dir.join("out2")));
}

fn assert_cleaned_up(standin: &StandIn) {
    assert!(standin.stores().is_empty(), "temporary stores deleted: {:?}", standin.stores());
    for d in standin.dreams() {
        assert!(d["archived_at"].is_string(), "dream archived: {d}");
    }
}

#[test]
fn a_failed_or_canceled_dream_leaves_questions_open_and_cleans_up() {
    for (end, words) in [
        (DreamEnd::Failed, "failed (model_error: injected: the dream failed)"),
        (DreamEnd::Canceled, "was canceled"),
    ] {
        let s = setup();
        let standin = StandIn::start();
        standin.dream_with(answering_dream(0, end));
        ok(&run(&s, &standin, "out", &["--resolver", "dreams"]));
        assert_cleaned_up(&standin);
        let open = open_reasons(&report(&s, "out"));
        assert!(!open.is_empty());
        let from_dream = open.values().filter(|o| o["rule"] == "backend").count();
        assert!(from_dream > 0, "{open:?}");
        for o in open.values().filter(|o| o["rule"] == "backend") {
            assert!(o["message"].as_str().unwrap().contains(words), "{o}");
        }
    }
}

#[test]
fn a_store_that_cannot_be_deleted_is_reported_not_fatal() {
    let s = setup();
    let standin = StandIn::start();
    standin.dream_with(answering_dream(0, DreamEnd::Completed));
    standin.refuse_deletes();
    let output = run(&s, &standin, "out", &["--resolver", "dreams"]);
    ok(&output);
    let stderr = String::from_utf8_lossy(&output.stderr);
    for store in standin.stores() {
        assert!(stderr.contains(&format!("DELETE /v1/memory_stores/{store}")), "{stderr}");
    }
    assert_eq!(
        standin.stores().len(),
        2 * standin.dreams().len(),
        "each dream's input and output stores remain"
    );
    assert!(report(&s, "out")["memories"].to_string().contains("stand-in: the newest member is current"));
}

#[test]
fn dreams_without_hosted_sessions_point_to_anthropic() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let mut c = corpus();
    c.sessions = generate(Spec { seed: 21, facts: 120, sessions: 6, session_scale: 1 }).sessions;
    write_store(&store, &c);
    let standin = StandIn::start();
    let output = dreamwork()
        .arg("dream")
        .arg(&store)
        .arg("--out")
        .arg(tmp.path().join("out"))
        .args(["--embedder", "lexical", "--resolver", "dreams"])
        .env("ANTHROPIC_API_KEY", KEY)
        .env("ANTHROPIC_BASE_URL", &standin.url)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--resolver anthropic"), "{stderr}");
    assert!(standin.requests().is_empty());
    assert!(!tmp.path().join("out").exists());
}

#[cfg(unix)]
#[test]
fn ctrl_c_cancels_the_dream_and_deletes_its_stores() {
    let s = setup();
    let standin = StandIn::start();
    standin.dream_with(answering_dream(0, DreamEnd::Forever));
    let bin = assert_cmd::cargo::cargo_bin("dreamwork");
    let mut child = std::process::Command::new(bin);
    for var in PROXY_VARS {
        child.env_remove(var);
    }
    let mut child = child
        .arg("dream")
        .arg(&s.store)
        .arg("--out")
        .arg(s.dir.join("out"))
        .args(["--embedder", "lexical", "--resolver", "dreams"])
        .env("ANTHROPIC_API_KEY", KEY)
        .env("ANTHROPIC_BASE_URL", &standin.url)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !standin.requests().iter().any(|r| r.method == "GET" && r.path.starts_with("/v1/dreams/")) {
        assert!(std::time::Instant::now() < deadline, "the dream was never polled");
        std::thread::sleep(Duration::from_millis(20));
    }
    let pid = child.id().to_string();
    assert!(std::process::Command::new("kill").args(["-INT", &pid]).status().unwrap().success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    assert!(!s.dir.join("out").exists());
    assert_cleaned_up(&standin);
    assert_eq!(standin.dreams()[0]["status"], "canceled");
}

#[test]
fn a_dry_run_needs_no_key_and_sends_nothing() {
    let s = setup();
    let standin = answering_standin();
    for (out, resolver) in [("dry-anthropic", "anthropic"), ("dry-dreams", "dreams")] {
        let output = dreamwork()
            .arg("dream")
            .arg(&s.store)
            .arg("--out")
            .arg(s.dir.join(out))
            .args(["--embedder", "lexical", "--resolver", resolver, "--dry-run"])
            .env_remove("ANTHROPIC_API_KEY")
            .env("ANTHROPIC_BASE_URL", &standin.url)
            .output()
            .unwrap();
        let stdout = ok(&output);
        assert!(stdout.contains(&format!("would be sent to {resolver}; nothing was sent")), "{stdout}");
        let questions = std::fs::read_to_string(s.dir.join(out).join("dream/questions.jsonl")).unwrap();
        assert!(questions.lines().count() > 0);
    }
    assert!(standin.requests().is_empty());
}

#[test]
fn caps_limit_what_is_sent() {
    let s = setup();
    let standin = answering_standin();
    ok(&run(&s, &standin, "out", &["--resolver", "anthropic", "--max-questions", "2"]));
    assert_eq!(questions_sent(&messages(&standin)).len(), 2);
    let open = open_reasons(&report(&s, "out"));
    assert!(open.values().any(|o| o["rule"] == "over_cap" && o["cap"] == "--max-questions 2"), "{open:?}");
}
