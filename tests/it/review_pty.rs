//! `dreamwork review` as a person uses it: driven through a pseudo-terminal
//! (keys typed, the 80×24 screen read back through a terminal emulator)
//! over a dream with five open clusters — keep one, keep all, undo, skip,
//! quit, resume, edit in `$EDITOR` — then: nothing answered is open, the
//! journal holds each answer, `verify` passes on OUT, STORE is untouched,
//! and `dream --journal` reproduces OUT byte for byte. Also: no terminal
//! means exit 1, and `--answers FILE` applies answers without prompting.
//! Pattern questions too: each shown with its occurrences and the proposed
//! memory, written (`y`), edited (`e`) or rejected (`n`), journaled, and
//! nothing left open after a review that answered them all.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::tree;
use assert_cmd::Command;
use portable_pty::{CommandBuilder, PtySize, native_pty_system};

const MEMORIES: &str = r#"{"path":"/infra/billing-db.md","content":"The billing service stores invoices in Postgres.","created_at":"2026-01-05T10:00:00Z","updated_at":"2026-01-05T10:00:00Z"}
{"path":"/notes/billing-db.md","content":"The billing service stores invoices in MySQL.","created_at":"2026-02-10T10:00:00Z","updated_at":"2026-02-10T10:00:00Z"}
{"path":"/team/ci.md","content":"The shop CI runs on Buildkite.","created_at":"2026-01-06T10:00:00Z","updated_at":"2026-01-06T10:00:00Z"}
{"path":"/notes/ci.md","content":"The shop CI runs on Jenkins.","created_at":"2026-02-11T10:00:00Z","updated_at":"2026-02-11T10:00:00Z"}
{"path":"/web/frontend.md","content":"The customer frontend is written in React.","created_at":"2026-01-07T10:00:00Z","updated_at":"2026-01-07T10:00:00Z"}
{"path":"/notes/frontend.md","content":"The customer frontend is written in Svelte.","created_at":"2026-02-12T10:00:00Z","updated_at":"2026-02-12T10:00:00Z"}
{"path":"/ops/alerts.md","content":"Error alerts for the payments team go to Opsgenie.","created_at":"2026-01-08T10:00:00Z","updated_at":"2026-01-08T10:00:00Z"}
{"path":"/notes/alerts.md","content":"Error alerts for the payments team go to PagerDuty.","created_at":"2026-02-13T10:00:00Z","updated_at":"2026-02-13T10:00:00Z"}
{"path":"/ops/logs.md","content":"Application logs are shipped to Loki.","created_at":"2026-01-09T10:00:00Z","updated_at":"2026-01-09T10:00:00Z"}
{"path":"/notes/logs.md","content":"Application logs are shipped to Elasticsearch.","created_at":"2026-02-14T10:00:00Z","updated_at":"2026-02-14T10:00:00Z"}
{"path":"/prefs/indent.md","content":"Use four spaces for indentation in Python code.","created_at":"2026-01-09T10:00:00Z","updated_at":"2026-01-09T10:00:00Z"}
"#;

const SESSION: &str = "User (ana): the invoice export job failed again, which database does billing use for invoices, Postgres or MySQL?
Assistant: I am not sure; the notes disagree about where the billing service stores invoices.
User (ana): also the customer frontend build broke, is it React or Svelte now?
Assistant: Let me check the frontend package.json.
";

/// The text the scripted editor writes.
const EDITED: &str = "The shop CI runs on Jenkins; Buildkite was retired in February.";

fn dreamwork() -> Command {
    Command::cargo_bin("dreamwork").expect("the binary is built")
}

fn bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("dreamwork")
}

fn ok(cmd: &mut Command) -> String {
    let out = cmd.output().expect("runs");
    assert!(out.status.success(), "{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A store with the memories and session above, dreamed into `OUT` (five
/// clusters left open by the local rules).
fn setup(dir: &Path) -> (PathBuf, PathBuf) {
    let (store, out) = (dir.join("store"), dir.join("out"));
    std::fs::write(dir.join("memories.jsonl"), MEMORIES).unwrap();
    std::fs::write(dir.join("session.md"), SESSION).unwrap();
    ok(dreamwork().arg("init").arg(&store));
    ok(dreamwork().arg("import").arg(&store).arg(dir.join("memories.jsonl")));
    ok(dreamwork().args(["sessions", "import"]).arg(&store).arg(dir.join("session.md")));
    let printed =
        ok(dreamwork().arg("dream").arg(&store).arg("--out").arg(&out).args(["--embedder", "lexical"]));
    assert!(printed.contains("clusters left for review: 5"), "{printed}");
    (store, out)
}

fn report(out: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(out.join("dream/report.json")).unwrap()).unwrap()
}

fn open_ids(out: &Path) -> Vec<String> {
    report(out)["unresolved"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["cluster"].as_str().unwrap().to_owned())
        .collect()
}

fn nz(n: u16) -> std::num::NonZero<u16> {
    std::num::NonZero::new(n).expect("not zero")
}

/// `dreamwork ARGS` running in an 80×24 pseudo-terminal.
struct Screen {
    parser: Arc<Mutex<vt100::Parser>>,
    /// Everything printed, for a transcript.
    transcript: Arc<Mutex<vt100::Parser>>,
    writer: Box<dyn Write + Send>,
    child: Box<dyn portable_pty::Child + Send + Sync>,
    /// Kept open while the child runs (closing it hangs up the terminal).
    _master: Box<dyn portable_pty::MasterPty + Send>,
}

impl Screen {
    fn spawn(args: &[&std::ffi::OsStr], editor: &Path) -> Screen {
        let pty = native_pty_system();
        let pair =
            pty.openpty(PtySize { rows: 24, cols: 80, pixel_width: 0, pixel_height: 0 }).expect("a pty");
        let mut cmd = CommandBuilder::new(bin());
        cmd.args(args);
        cmd.env("EDITOR", editor);
        cmd.env("TERM", "xterm");
        let child = pair.slave.spawn_command(cmd).expect("spawned in the pty");
        drop(pair.slave);
        let parser = Arc::new(Mutex::new(vt100::Parser::new(nz(24), nz(80), 0)));
        let transcript = Arc::new(Mutex::new(vt100::Parser::new(nz(400), nz(80), 0)));
        let mut reader = pair.master.try_clone_reader().expect("pty reader");
        let (p, t) = (parser.clone(), transcript.clone());
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                p.lock().unwrap().process(&buf[..n]);
                t.lock().unwrap().process(&buf[..n]);
            }
        });
        let writer = pair.master.take_writer().expect("pty writer");
        Screen { parser, transcript, writer, child, _master: pair.master }
    }

    fn contents(&self) -> String {
        self.parser.lock().unwrap().screen().contents()
    }

    /// Waits until the screen shows `text` (panics with the screen after 20 s).
    fn wait_for(&self, text: &str) {
        let start = Instant::now();
        while !self.contents().contains(text) {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "timed out waiting for {text:?}; screen:\n{}",
                self.contents()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until the transcript (not only the screen) shows `text`.
    fn wait_printed(&self, text: &str) {
        let start = Instant::now();
        while self.count(text) == 0 {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "timed out waiting for {text:?}:\n{}",
                self.transcript()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// How many times the transcript shows `text`.
    fn count(&self, text: &str) -> usize {
        self.transcript.lock().unwrap().screen().contents().matches(text).count()
    }

    /// Types `key` once the prompt has appeared `prompts` times in all.
    fn key(&mut self, prompts: usize, key: &str) {
        let start = Instant::now();
        while self.count("answer> ") < prompts {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "no prompt #{prompts}; screen:\n{}",
                self.contents()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        self.writer.write_all(key.as_bytes()).unwrap();
        self.writer.flush().unwrap();
    }

    /// The whole session with reverse-video words in [brackets].
    fn transcript(&self) -> String {
        let parser = self.transcript.lock().unwrap();
        let screen = parser.screen();
        let (rows, cols) = screen.size();
        let mut out = String::new();
        for r in 0..rows.get() {
            let mut line = String::new();
            let mut inverse = false;
            for c in 0..cols.get() {
                let Some(cell) = screen.cell(r, c) else { continue };
                if cell.inverse() != inverse {
                    line.push(if cell.inverse() { '[' } else { ']' });
                    inverse = cell.inverse();
                }
                line.push_str(if cell.has_contents() { cell.contents() } else { " " });
            }
            if inverse {
                line.push(']');
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out.trim_end().to_owned()
    }

    fn finish(mut self) -> (bool, String) {
        let status = self.child.wait().expect("the review exits");
        // Let the reader catch the last bytes.
        std::thread::sleep(Duration::from_millis(200));
        (status.success(), self.transcript())
    }
}

#[test]
fn review_through_a_terminal_with_quit_and_resume() {
    let dir = tempfile::tempdir().unwrap();
    let (store, out) = setup(dir.path());
    let before_store = tree(&store);
    let first = open_ids(&out);
    assert_eq!(first.len(), 5);
    let ci = &report(&out)["unresolved"][2]["sources"];
    assert_eq!(
        *ci,
        serde_json::json!(["/notes/ci.md", "/team/ci.md"]),
        "the third open cluster is the CI one"
    );
    let editor = dir.path().join("editor.sh");
    std::fs::write(&editor, format!("#!/bin/sh\nprintf '%s\\n' '{EDITED}' > \"$1\"\n")).unwrap();
    std::fs::set_permissions(&editor, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let args = ["review".as_ref(), store.as_os_str(), out.as_os_str()];

    // First sitting: keep one, keep all, undo it, keep all again, skip, quit.
    let mut s = Screen::spawn(&args, &editor);
    s.wait_for("cluster 1 of 5");
    s.key(1, "?");
    s.wait_for("keep all members as separate memories");
    s.key(2, "2");
    s.wait_for("cluster 2 of 5");
    s.key(3, "k");
    s.wait_for("cluster 3 of 5");
    s.key(4, "u");
    s.wait_for("is open again");
    s.key(5, "k");
    s.key(6, "s");
    s.wait_for("cluster 4 of 5");
    s.key(7, "q");
    let (success, transcript) = s.finish();
    assert!(success, "{transcript}");
    println!("--- first sitting ---\n{transcript}");
    assert!(transcript.contains("✓ reviewed"), "{transcript}");
    assert!(transcript.contains("rewritten with 2 answers applied"), "{transcript}");
    let after_quit = open_ids(&out);
    assert_eq!(after_quit, first[2..].to_vec(), "the two answered clusters are settled, the rest open");
    let journal = std::fs::read_to_string(out.join("dream/journal.jsonl")).unwrap();
    assert_eq!(journal.lines().filter(|l| l.contains("\"resolver\":\"review\"")).count(), 2, "{journal}");

    // Second sitting resumes with what is open: edit, keep one, skip; the review ends.
    let mut s = Screen::spawn(&args, &editor);
    s.wait_for("cluster 1 of 3");
    s.key(1, "e");
    s.wait_for("cluster 2 of 3");
    s.key(2, "1");
    s.wait_for("cluster 3 of 3");
    s.key(3, "s");
    let (success, transcript) = s.finish();
    assert!(success, "{transcript}");
    println!("--- second sitting ---\n{transcript}");

    // Nothing answered is open; the cluster skipped last is.
    assert_eq!(open_ids(&out), vec![first[4].clone()]);
    let journal = std::fs::read_to_string(out.join("dream/journal.jsonl")).unwrap();
    let ids: Vec<String> = journal
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|e| e["resolver"] == "review")
        .map(|e| e["answer"]["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, first[..4].to_vec(), "{journal}");
    // The edited text replaced the CI cluster (edited from its newest member).
    let edited = ok(dreamwork().arg("get").arg(&out).arg("/notes/ci.md"));
    assert_eq!(edited.trim_end(), EDITED);
    let r = report(&out);
    let ci = r["memories"].as_array().unwrap().iter().find(|m| m["path"] == "/notes/ci.md").unwrap();
    assert_eq!(ci["sources"], serde_json::json!(["/notes/ci.md", "/team/ci.md"]));

    // OUT is a sound store; STORE is untouched; a dream with the journal gives the same bytes.
    ok(dreamwork().arg("verify").arg(&out));
    assert_eq!(tree(&store), before_store);
    let again = dir.path().join("again");
    ok(dreamwork()
        .arg("dream")
        .arg(&store)
        .arg("--out")
        .arg(&again)
        .args(["--embedder", "lexical", "--journal"])
        .arg(out.join("dream/journal.jsonl")));
    let mut reviewed = tree(&out);
    reviewed.remove(Path::new("dream/journal.jsonl"));
    assert_eq!(tree(&again), reviewed);
}

#[test]
fn without_a_terminal_review_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let (store, out) = setup(dir.path());
    let before = tree(&out);
    let done = dreamwork().arg("review").arg(&store).arg(&out).output().unwrap();
    assert_eq!(done.status.code(), Some(1));
    let err = String::from_utf8_lossy(&done.stderr);
    assert!(err.contains("review needs a terminal") && err.contains("--answers"), "{err}");
    assert_eq!(tree(&out), before, "nothing written");
}

#[test]
fn a_file_of_answers_applies_without_prompting() {
    let dir = tempfile::tempdir().unwrap();
    let (store, out) = setup(dir.path());
    let first = open_ids(&out);
    let r = report(&out);
    let billing = &r["unresolved"][0];
    assert_eq!(billing["sources"], serde_json::json!(["/infra/billing-db.md", "/notes/billing-db.md"]));
    let answer = serde_json::json!({
        "id": first[0],
        "outputs": [{"path": "/notes/billing-db.md", "content": "The billing service stores invoices in MySQL.",
                     "sources": ["/infra/billing-db.md", "/notes/billing-db.md"], "action": "superseded"}],
        "reason": "billing moved to MySQL in February",
    });
    let file = dir.path().join("answers.jsonl");
    std::fs::write(&file, format!("{answer}\n")).unwrap();
    let journal = dir.path().join("journal.jsonl");
    let printed = ok(dreamwork()
        .arg("review")
        .arg(&store)
        .arg(&out)
        .arg("--answers")
        .arg(&file)
        .arg("--journal")
        .arg(&journal));
    assert!(printed.contains("rewritten with 1 answer applied"), "{printed}");
    assert_eq!(open_ids(&out), first[1..].to_vec());
    let dropped = &report(&out)["dropped"];
    assert_eq!(dropped[0]["path"], "/infra/billing-db.md");
    assert_eq!(dropped[0]["into"], "/notes/billing-db.md");
    ok(dreamwork().arg("verify").arg(&out));

    // An answer for a cluster that is not open is refused, naming the line; nothing changes.
    let before = tree(&out);
    std::fs::write(&file, format!("\n{answer}\n")).unwrap();
    let done = dreamwork().arg("review").arg(&store).arg(&out).arg("--answers").arg(&file).output().unwrap();
    assert_eq!(done.status.code(), Some(1));
    let err = String::from_utf8_lossy(&done.stderr);
    assert!(err.contains("answers.jsonl:2") && err.contains(first[0].as_str()), "{err}");
    assert_eq!(tree(&out), before);
}

#[test]
fn answers_journaled_before_a_crash_are_applied_on_resume() {
    let dir = tempfile::tempdir().unwrap();
    let (store, out) = setup(dir.path());
    let first = open_ids(&out);
    let untouched = dir.path().join("untouched");
    assert!(std::process::Command::new("cp").arg("-a").arg(&out).arg(&untouched).status().unwrap().success());
    let answer = serde_json::json!({
        "id": first[1],
        "outputs": [{"path": "/notes/alerts.md", "content": "Error alerts for the payments team go to PagerDuty.",
                     "sources": ["/notes/alerts.md", "/ops/alerts.md"], "action": "superseded"}],
        "reason": "PagerDuty replaced Opsgenie",
    });
    let file = dir.path().join("answers.jsonl");
    std::fs::write(&file, format!("{answer}\n")).unwrap();
    ok(dreamwork().arg("review").arg(&store).arg(&out).arg("--answers").arg(&file));
    let reviewed = tree(&out);
    // As if the review had stopped after journaling, before rewriting OUT.
    let journal = std::fs::read(out.join("dream/journal.jsonl")).unwrap();
    std::fs::remove_dir_all(&out).unwrap();
    std::fs::rename(&untouched, &out).unwrap();
    std::fs::write(out.join("dream/journal.jsonl"), journal).unwrap();
    assert_eq!(open_ids(&out), first);
    std::fs::write(&file, "").unwrap();
    let printed = ok(dreamwork().arg("review").arg(&store).arg(&out).arg("--answers").arg(&file));
    assert!(printed.contains("rewritten with 1 answer applied"), "{printed}");
    assert_eq!(open_ids(&out), [&first[..1], &first[2..]].concat());
    assert_eq!(tree(&out), reviewed);
}

/// Six sessions by six people: two pairs state one rule each in other
/// words (no mocks of the repository; no force push of a shared branch),
/// one pair remarks on the same thing without stating a rule.
const PATTERN_SESSIONS: &[(&str, &str)] = &[
    (
        "ana.md",
        "User (ana): Add a test for the refund path.\nAssistant: I added a test that mocks the repository.\nUser (ana): no mocks for the repository tests please, we test against the real database here.\nAssistant: I switched the test to the real database.\n",
    ),
    (
        "ben.md",
        "User (ben): Cover the invoice export with tests.\nAssistant: I wrote tests with a mocked repository.\nUser (ben): please don't mock the repository in tests, use the real database.\nAssistant: Done, the tests use the real database now.\n",
    ),
    (
        "carl.md",
        "User (carl): Tidy up the history of this branch.\nAssistant: I rebased the branch and I am about to force push it.\nUser (carl): don't force push the shared branch, others have it checked out.\nAssistant: Understood, I pushed a new branch instead.\n",
    ),
    (
        "dina.md",
        "User (dina): Fix the typo in the changelog.\nAssistant: Fixed; I amended the commit and will force push the shared branch.\nUser (dina): never force push the shared branch please.\nAssistant: I will add a new commit instead.\n",
    ),
    (
        "eve.md",
        "User (eve): Rename the billing module.\nAssistant: Renamed and committed.\nUser (eve): the staging box is slow again today, it is overloaded.\nAssistant: Noted.\n",
    ),
    (
        "fay.md",
        "User (fay): Update the README.\nAssistant: Updated the README.\nUser (fay): staging is slow again today, the box is overloaded.\nAssistant: Noted.\n",
    ),
];

/// The rule the scripted editor writes for the force-push pattern.
const RULE: &str = "# Never force-push a shared branch; push a new commit or a new branch.";

#[test]
fn pattern_questions_are_reviewed_and_journaled() {
    let dir = tempfile::tempdir().unwrap();
    let (store, out) = (dir.path().join("store"), dir.path().join("out"));
    let memory = r#"{"path":"/prefs/indent.md","content":"Use four spaces for indentation in Python code.","created_at":"2026-01-09T10:00:00Z","updated_at":"2026-01-09T10:00:00Z"}"#;
    std::fs::write(dir.path().join("memories.jsonl"), format!("{memory}\n")).unwrap();
    let sessions = dir.path().join("sessions");
    std::fs::create_dir(&sessions).unwrap();
    for (name, text) in PATTERN_SESSIONS {
        std::fs::write(sessions.join(name), text).unwrap();
    }
    ok(dreamwork().arg("init").arg(&store));
    ok(dreamwork().arg("import").arg(&store).arg(dir.path().join("memories.jsonl")));
    ok(dreamwork().args(["sessions", "import"]).arg(&store).arg(&sessions));
    ok(dreamwork().arg("dream").arg(&store).arg("--out").arg(&out).args(["--embedder", "lexical"]));
    let first = open_ids(&out);
    assert_eq!(first.len(), 3, "three pattern questions, one per pair: {:#?}", report(&out)["unresolved"]);
    let questions = std::fs::read_to_string(out.join("dream/questions.jsonl")).unwrap();
    let about = |id: &str, word: &str| questions.lines().any(|l| l.contains(id) && l.contains(word));
    assert!(
        about(&first[0], "staging") && about(&first[1], "mock") && about(&first[2], "force push"),
        "{questions}"
    );
    let editor = dir.path().join("editor.sh");
    std::fs::write(&editor, format!("#!/bin/sh\nprintf '%s\\n' '{RULE}' > \"$1\"\n")).unwrap();
    std::fs::set_permissions(&editor, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let args = ["review".as_ref(), store.as_os_str(), out.as_os_str()];

    // Not a pattern; written as proposed; edited, then written.
    let mut s = Screen::spawn(&args, &editor);
    s.wait_printed("pattern 1 of 3");
    s.wait_printed("proposed /patterns/");
    s.wait_printed("y write · n no pattern");
    s.key(1, "k");
    s.wait_printed("a pattern has no members to keep");
    s.key(2, "n");
    s.wait_printed("pattern 2 of 3");
    s.key(3, "y");
    s.wait_printed("pattern 3 of 3");
    s.key(4, "e");
    let (success, transcript) = s.finish();
    assert!(success, "{transcript}");
    println!("--- patterns ---\n{transcript}");
    assert!(transcript.contains("reviewed: not a pattern"), "{transcript}");
    assert!(transcript.contains("rewritten with 3 answers applied"), "{transcript}");

    // Nothing is left open; the journal holds the three answers.
    assert_eq!(open_ids(&out), Vec::<String>::new());
    let journal = std::fs::read_to_string(out.join("dream/journal.jsonl")).unwrap();
    let ids: Vec<String> = journal
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|e| e["resolver"] == "review")
        .map(|e| e["answer"]["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, first, "{journal}");
    // Two pattern memories: the proposed one, and the edited one.
    let r = report(&out);
    let patterns: Vec<&str> =
        r["patterns"].as_array().unwrap().iter().map(|p| p["path"].as_str().unwrap()).collect();
    assert_eq!(patterns.len(), 2, "{patterns:?}");
    let texts: Vec<String> =
        patterns.iter().map(|p| ok(dreamwork().arg("get").arg(&out).arg(p)).trim_end().to_owned()).collect();
    assert!(texts.iter().any(|t| t == RULE), "{texts:#?}");
    assert!(
        texts.iter().any(|t| t.contains("real database") && t.contains("- session ana.md (ana)")),
        "{texts:#?}"
    );
    ok(dreamwork().arg("verify").arg(&out));
    // A dream with the journal gives the same bytes.
    let again = dir.path().join("again");
    ok(dreamwork()
        .arg("dream")
        .arg(&store)
        .arg("--out")
        .arg(&again)
        .args(["--embedder", "lexical", "--journal"])
        .arg(out.join("dream/journal.jsonl")));
    let mut reviewed = tree(&out);
    reviewed.remove(Path::new("dream/journal.jsonl"));
    assert_eq!(tree(&again), reviewed);
}
