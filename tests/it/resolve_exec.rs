//! The `exec` resolver end to end through the CLI, with the scripted program
//! `tests/fixtures/resolvers/answer.py`: answers applied (in any order),
//! journal replays that send nothing and reproduce OUT byte for byte, and
//! every fault (exit, garbage, silence, a bad answer, an unknown id, a
//! broken rule) leaving questions open with its reason in the report; caps
//! and dry runs that send no more than allowed.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::common::{tree, write_store};
use assert_cmd::Command;
use dreamwork::report::Report;
use dreamwork::resolve::{OpenReason, Question, QuestionKind};
use dreamwork::store::Store;
use dreamwork_testkit::corpus::{Spec, generate};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/resolvers/answer.py");

struct Setup {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    store: PathBuf,
}

fn setup() -> Setup {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().to_owned();
    let store = dir.join("store");
    write_store(&store, &generate(Spec { seed: 99, facts: 120, sessions: 5, session_scale: 1 }));
    Setup { _tmp: tmp, dir, store }
}

/// Runs `dreamwork dream STORE --out DIR/out --embedder lexical ARGS…`; returns stdout.
fn dream(s: &Setup, out: &str, args: &[&str]) -> String {
    let done = Command::cargo_bin("dreamwork")
        .expect("the binary is built")
        .arg("dream")
        .arg(&s.store)
        .arg("--out")
        .arg(s.dir.join(out))
        .args(["--embedder", "lexical"])
        .args(args)
        .assert()
        .success();
    String::from_utf8_lossy(&done.get_output().stdout).into_owned()
}

fn exec(mode: &str) -> String {
    format!("python3 {SCRIPT} {mode}")
}

fn report(s: &Setup, out: &str) -> Report {
    let text = std::fs::read_to_string(s.dir.join(out).join("dream/report.json")).expect("report reads");
    Report::from_json(&text).expect("report parses")
}

fn questions(s: &Setup, out: &str) -> Vec<Question> {
    std::fs::read_to_string(s.dir.join(out).join("dream/questions.jsonl"))
        .expect("questions.jsonl reads")
        .lines()
        .map(|l| serde_json::from_str(l).expect("a question per line"))
        .collect()
}

/// The question lines a program received (table lines not counted).
fn lines(path: &Path) -> usize {
    std::fs::read_to_string(path)
        .map(|t| t.lines().filter(|l| l.starts_with("{\"cluster\"") || l.starts_with("{\"pattern\"")).count())
        .unwrap_or(0)
}

#[test]
fn answers_are_applied_in_any_order_and_replayed_byte_for_byte() {
    let s = setup();
    let local = report(&s, {
        dream(&s, "local", &[]);
        "local"
    });
    let asked = local.unresolved.len();
    assert!(asked >= 3, "the corpus leaves questions for a model: {asked}");

    let journal = s.dir.join("journal.jsonl");
    let log = s.dir.join("sent.jsonl");
    let j = journal.to_str().expect("utf-8 path");
    let cmd = format!("{} --log {}", exec("newest"), log.display());
    let printed = dream(&s, "one", &["--resolver", "exec", "--resolver-cmd", &cmd, "--journal", j]);
    assert!(printed.contains("resolver exec:"), "{printed}");
    let one = report(&s, "one");
    assert!(
        one.unresolved.len() < asked,
        "the program settled questions: {} of {asked} open",
        one.unresolved.len()
    );
    // Every question asked was sent (the second round asks between what the
    // first round's answers left standing, so it may ask fewer than `local`).
    let sent = lines(&log);
    assert!(
        sent > 0 && printed.contains(&format!("{sent} sent")),
        "every question asked was sent ({sent}): {printed}"
    );
    // The program read the wire form: each memory and excerpt once, before
    // the first question naming it.
    let mut table: BTreeSet<String> = BTreeSet::new();
    let mut texts: BTreeSet<(String, String, String)> = BTreeSet::new();
    for line in std::fs::read_to_string(&log).expect("log reads").lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("a JSON object per line");
        if let Some(id) = v["m"].as_str().or(v["e"].as_str()) {
            assert!(table.insert(id.to_owned()), "{id} sent twice");
            if v["m"].is_string() {
                let key = (v["path"].to_string(), v["at"].to_string(), v["text"].to_string());
                assert!(texts.insert(key), "a memory sent twice: {line}");
            }
        } else {
            let cited = v["members"]
                .as_array()
                .into_iter()
                .flatten()
                .chain(v["excerpts"].as_array().into_iter().flatten());
            for id in cited {
                assert!(table.contains(id.as_str().unwrap_or_default()), "{id} named before it was sent");
            }
        }
    }

    // Answered in reverse order: the same bytes, but for the resolver the
    // report names (another command line is another model).
    dream(&s, "reversed", &["--resolver", "exec", "--resolver-cmd", &exec("reverse")]);
    let without_resolver = |name: &str| {
        let mut all = tree(&s.dir.join(name));
        let mut r = report(&s, name);
        assert_eq!(r.resolver.name.as_str(), "exec");
        assert!(r.resolver.model.starts_with("cmd-"), "{}", r.resolver.model);
        let md = String::from_utf8(all[Path::new("dream/report.md")].clone()).expect("utf-8");
        all.insert(PathBuf::from("dream/report.md"), md.replace(&r.resolver.model, "").into_bytes());
        r.resolver.model.clear();
        all.insert(PathBuf::from("dream/report.json"), r.to_json().into_bytes());
        all
    };
    let (one, reversed) = (without_resolver("one"), without_resolver("reversed"));
    for (path, bytes) in &one {
        assert!(reversed.get(path) == Some(bytes), "{} differs", path.display());
    }
    assert_eq!(one.len(), reversed.len());

    // With the journal nothing is sent and OUT is identical.
    let printed = dream(&s, "again", &["--resolver", "exec", "--resolver-cmd", &cmd, "--journal", j]);
    assert!(printed.contains(&format!("{sent} answered by the journal, 0 sent")), "{printed}");
    assert_eq!(lines(&log), sent);
    // Another program is another model: not answered from this journal.
    let other = format!("{} --log {}", exec("newest"), s.dir.join("other.jsonl").display());
    dream(&s, "other", &["--resolver", "exec", "--resolver-cmd", &other, "--journal", j]);
    assert_eq!(lines(&s.dir.join("other.jsonl")), sent);
    assert_eq!(tree(&s.dir.join("one")), tree(&s.dir.join("again")));
    Command::cargo_bin("dreamwork").expect("binary").arg("verify").arg(s.dir.join("one")).assert().success();

    // The local resolver's answers never block exec: with a journal written
    // by local, exec is still asked.
    let local_journal = s.dir.join("local.jsonl");
    let lj = local_journal.to_str().expect("utf-8 path");
    dream(&s, "local-j", &["--journal", lj]);
    let log2 = s.dir.join("sent2.jsonl");
    let cmd2 = format!("{} --log {}", exec("newest"), log2.display());
    dream(&s, "after-local", &["--resolver", "exec", "--resolver-cmd", &cmd2, "--journal", lj]);
    assert_eq!(lines(&log2), sent);
    let report_json = Path::new("dream/report.json");
    assert_eq!(without_resolver("one")[report_json], without_resolver("after-local")[report_json]);
}

/// The open reasons of a run with `mode`.
fn faults(s: &Setup, out: &str, mode: &str, extra: &[&str]) -> Vec<OpenReason> {
    let mut args = vec!["--resolver", "exec"];
    let cmd = exec(mode);
    args.extend(["--resolver-cmd", cmd.as_str()]);
    args.extend(extra);
    dream(s, out, &args);
    let r = report(s, out);
    let q = questions(s, out);
    assert_eq!(
        q.iter().map(|q| q.id.clone()).collect::<Vec<_>>(),
        r.unresolved.iter().map(|u| u.cluster.clone()).collect::<Vec<_>>()
    );
    r.unresolved.into_iter().map(|u| u.open).collect()
}

fn message(r: &OpenReason) -> String {
    r.to_string()
}

#[test]
fn faults_leave_the_remaining_questions_open_with_a_clear_message() {
    let s = setup();
    let open = faults(&s, "exit", "exit-after 1", &[]);
    let exited: Vec<&OpenReason> = open.iter().filter(|r| matches!(r, OpenReason::Backend { .. })).collect();
    assert!(!exited.is_empty(), "{open:?}");
    assert!(
        exited.iter().all(|r| {
            let m = message(r);
            m.contains("exec failed") && (m.contains("exit status: 3") || m.contains("earlier fault"))
        }),
        "{exited:?}"
    );
    assert!(exited.iter().any(|r| message(r).contains("scripted failure after 1 answers")), "{exited:?}");

    let open = faults(&s, "garbage", "garbage-after 1", &[]);
    assert!(
        open.iter()
            .any(|r| matches!(r, OpenReason::Malformed { message } if message.contains("is not an answer"))),
        "{open:?}"
    );

    let open = faults(&s, "hang", "hang-after 1", &["--resolver-timeout", "1"]);
    assert!(open.iter().any(|r| message(r).contains("no answer within 1s")), "{open:?}");

    let open = faults(&s, "bad", "bad-first", &[]);
    let malformed: Vec<&OpenReason> =
        open.iter().filter(|r| matches!(r, OpenReason::Malformed { .. })).collect();
    assert_eq!(malformed.len(), 1, "only the bad answer is refused: {open:?}");
    assert!(message(malformed[0]).contains("\"deleted\""), "{malformed:?}");

    let open = faults(&s, "unknown", "unknown-id", &[]);
    assert!(
        !open.is_empty()
            && open.iter().all(|r| message(r).contains("c-ffffffffffff, which was not asked")
                || message(r).contains("earlier fault")),
        "{open:?}"
    );

    // The script declines the pattern questions ("not a cluster").
    let open = faults(&s, "twice", "twice-member", &[]);
    let clusters: Vec<&OpenReason> =
        open.iter().filter(|r| !matches!(r, OpenReason::Declined { .. })).collect();
    assert!(
        !clusters.is_empty() && clusters.iter().all(|r| matches!(r, OpenReason::MemberTwice { .. })),
        "{open:?}"
    );
}

#[test]
fn caps_and_dry_runs_send_no_more_than_allowed() {
    let s = setup();
    let log = s.dir.join("capped.jsonl");
    let cmd = format!("{} --log {}", exec("newest"), log.display());
    dream(&s, "capped", &["--resolver", "exec", "--resolver-cmd", &cmd, "--max-questions", "2"]);
    assert_eq!(lines(&log), 2);
    let r = report(&s, "capped");
    assert!(r.unresolved.iter().any(|u| u.open == OpenReason::OverCap { cap: "--max-questions 2".into() }));

    let log = s.dir.join("tokens.jsonl");
    let cmd = format!("{} --log {}", exec("newest"), log.display());
    dream(&s, "tokens", &["--resolver", "exec", "--resolver-cmd", &cmd, "--max-tokens", "1"]);
    assert_eq!(lines(&log), 0, "no question fits in one token");

    let log = s.dir.join("dry.jsonl");
    let cmd = format!("{} --log {}", exec("newest"), log.display());
    let printed = dream(&s, "dry", &["--resolver", "exec", "--resolver-cmd", &cmd, "--dry-run"]);
    assert_eq!(lines(&log), 0, "a dry run sends nothing");
    let q = questions(&s, "dry");
    assert!(!q.is_empty());
    assert!(printed.contains(&format!("dry run: {} questions (", q.len())), "{printed}");
    assert!(report(&s, "dry").unresolved.iter().all(|u| u.open == OpenReason::DryRun));
}

#[test]
fn planted_secrets_never_leave_and_answers_keep_them() {
    use dreamwork::session::{Role, Session, SessionFormat, Turn};
    use dreamwork::{Memory, MemoryPath, Timestamp};
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().to_owned();
    let store_dir = dir.join("store");
    // Built at run time, so no scanner takes this file for a leak.
    let github = format!("ghp_{}", "R".repeat(36));
    let aws = format!("AKIA{}", "7".repeat(16));
    let password = "pg-pass-8431";
    let mut store = Store::create(&store_dir).expect("store");
    let p = |s: &str| MemoryPath::new(s).expect("path");
    let mut a = Memory::new(
        p("/infra/staging.md"),
        format!("The staging deploy uses token {github} and port 5433."),
        Timestamp(1_000),
    );
    a.updated_at = Timestamp(1_000);
    let b = Memory::new(
        p("/notes/staging.md"),
        format!("The staging deploy uses token {github} and port 5434."),
        Timestamp(2_000),
    );
    let c = Memory::new(
        p("/infra/db.md"),
        format!("Staging DB: postgres://app:{password}@db:5432/app, key {aws}, port 5434."),
        Timestamp(3_000),
    );
    for m in [a, b, c] {
        store.put_memory(m).expect("memory");
    }
    let turn = |text: String, at| Turn {
        role: Role::User,
        author: None,
        text,
        tool_calls: vec![],
        tool_results: vec![],
        timestamp: Some(Timestamp(at)),
        sidechain: false,
    };
    let session = Session::new(
        SessionFormat::Text,
        Some("chat-1".into()),
        None,
        vec![turn(
            format!(
                "we moved the staging deploy port to 5434; token is still {github}, DB password={password}"
            ),
            5_000,
        )],
    );
    store.sessions().expect("sessions").put(&session).expect("session");
    drop(store);
    let s = Setup { _tmp: tmp, dir: dir.clone(), store: store_dir };
    let log = dir.join("sent.jsonl");
    let cmd = format!("{} --log {}", exec("append"), log.display());
    dream(&s, "out", &["--resolver", "exec", "--resolver-cmd", &cmd]);
    let sent = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(!sent.is_empty(), "a question was sent");
    assert!(sent.contains("[REDACTED:github-token:"), "{sent}");
    for secret in [github.as_str(), aws.as_str(), password] {
        assert!(!sent.contains(secret), "{secret} left the machine: {sent}");
    }
    for name in ["questions.jsonl", "report.json", "report.md"] {
        let text = std::fs::read_to_string(dir.join("out/dream").join(name)).expect("reads");
        assert!(!text.contains(github.as_str()) || name == "report.md", "{name} holds a secret");
    }
    // The rewritten memory keeps its secret (restored from its sources).
    let out = Store::open_read_only(dir.join("out")).expect("OUT opens");
    let confirmed: Vec<String> =
        out.iter().filter(|m| m.content.ends_with("(confirmed)")).map(|m| m.content.clone()).collect();
    assert!(!confirmed.is_empty(), "the answer was applied");
    assert!(confirmed.iter().all(|c| !c.contains("REDACTED")), "{confirmed:?}");
    assert!(
        confirmed.iter().any(|c| c.contains(github.as_str()) || c.contains(aws.as_str())),
        "{confirmed:?}"
    );
}

/// The 30-line resolver of `examples/exec_resolver.py`, which the exec
/// protocol's documentation shows, answers a real dream through the wire
/// form: its answers (member ids, no content; a pattern's draft by its
/// path) are applied, and all it leaves open is what it declines to guess:
/// patterns that a memory may already state.
#[test]
fn the_example_resolver_answers_from_the_wire_form() {
    let s = setup();
    dream(&s, "local", &[]);
    let asked = report(&s, "local").unresolved.len();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/exec_resolver.py");
    let cmd = format!("python3 {script}");
    let printed = dream(&s, "example", &["--resolver", "exec", "--resolver-cmd", &cmd]);
    let r = report(&s, "example");
    assert!(r.unresolved.len() < asked, "{} of {asked} still open: {printed}", r.unresolved.len());
    let drafted = questions(&s, "local").iter().filter(|q| q.kind == QuestionKind::Pattern).count();
    assert!(drafted > 0, "the store's sessions ask about patterns");
    assert!(r.patterns.len() >= drafted, "{} patterns for {drafted} pattern questions", r.patterns.len());
    let open = questions(&s, "example");
    assert!(
        open.iter().all(|q| q.kind == QuestionKind::Pattern && !q.members.is_empty()),
        "left open: {:#?}",
        open.iter().map(|q| (&q.kind, &q.why)).collect::<Vec<_>>()
    );
    assert!(
        r.unresolved
            .iter()
            .all(|u| !matches!(u.open, OpenReason::Malformed { .. } | OpenReason::Backend { .. })),
        "{:?}",
        r.unresolved
    );
    assert!(
        std::fs::read_to_string(script).expect("the example reads").lines().count() <= 30,
        "the example resolver stays a 30-line script"
    );
}
