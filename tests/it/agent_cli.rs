//! `dreamwork memory-tool` and `dreamwork search` as a user runs them,
//! and the locking model of a long-lived process: while `memory-tool`
//! runs, other processes write the store and its next read sees them.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command as StdCommand, Stdio};

use assert_cmd::Command;

fn dreamwork() -> Command {
    Command::cargo_bin("dreamwork").expect("binary is built")
}

fn s(p: &Path) -> &str {
    p.to_str().expect("temp paths are UTF-8")
}

fn init(dir: &Path) -> String {
    let store = dir.join("store");
    dreamwork().args(["init", s(&store)]).assert().success();
    s(&store).to_owned()
}

fn results(stdout: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each output line is JSON"))
        .collect()
}

#[test]
fn memory_tool_answers_each_line_with_a_tool_result() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = init(dir.path());
    let input = [
        r#"{"command":"create","path":"/memories/prefs/indent.md","file_text":"Use tabs.\n"}"#,
        r#"{"type":"tool_use","id":"toolu_01","name":"memory","input":{"command":"str_replace","path":"/memories/prefs/indent.md","old_str":"tabs","new_str":"two spaces"}}"#,
        r#"{"command":"view","path":"/memories/prefs/indent.md"}"#,
        r#"{"command":"view","path":"/memories/../etc/passwd"}"#,
        r#"{"command":"str_replace","path":"/memories/prefs/indent.md","old_str":"tabs","new_str":"x"}"#,
        "this is not JSON",
        r#"{"command":"delete","path":"/memories/prefs"}"#,
    ]
    .join("\n");
    let out = dreamwork().args(["memory-tool", &store]).write_stdin(input).assert().success();
    let got = results(&out.get_output().stdout);
    assert_eq!(got.len(), 7);
    let contents: Vec<&str> = got.iter().map(|r| r["content"].as_str().expect("content")).collect();
    let errors: Vec<bool> = got.iter().map(|r| r["is_error"].as_bool().expect("is_error")).collect();
    assert_eq!(errors, [false, false, false, true, true, true, false]);
    assert_eq!(contents[0], "File created successfully at: /memories/prefs/indent.md");
    assert_eq!(got[1]["tool_use_id"], "toolu_01");
    assert!(contents[2].ends_with("     1\tUse two spaces.\n     2\t"), "{}", contents[2]);
    assert_eq!(contents[3], "Path /memories/../etc/passwd would escape /memories directory");
    assert!(contents[4].starts_with("No replacement was performed"), "{}", contents[4]);
    assert!(contents[5].starts_with("invalid memory-tool command"), "{}", contents[5]);
    // Every write was a version: create, replace, delete.
    let history = dreamwork().args(["history", &store, "/prefs/indent.md"]).assert().success();
    assert_eq!(String::from_utf8_lossy(&history.get_output().stdout).lines().count(), 3);
}

#[test]
fn search_prints_the_nearest_memories_with_score_and_first_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = init(dir.path());
    for (path, text) in [
        ("/infra/staging-db.md", "The staging database listens on port 5433.\nSecond line."),
        ("/team/lunch.md", "Team lunch is at noon on Fridays."),
        ("/ci/runner.md", "CI runs on the self-hosted runner."),
    ] {
        dreamwork().args(["put", &store, path]).write_stdin(text).assert().success();
    }
    let search = |k: &str| {
        let out = dreamwork()
            .args([
                "search",
                &store,
                "which port does the staging database use",
                "-k",
                k,
                "--embedder",
                "lexical",
            ])
            .assert()
            .success();
        String::from_utf8_lossy(&out.get_output().stdout).into_owned()
    };
    let first = search("2");
    let lines: Vec<Vec<&str>> = first.lines().map(|l| l.split('\t').collect()).collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0][0], "/infra/staging-db.md");
    assert_eq!(lines[0][2], "The staging database listens on port 5433.");
    let scores: Vec<f32> = lines.iter().map(|l| l[1].parse().expect("score")).collect();
    assert!(scores[0] > scores[1], "{first}");
    // The vectors were cached; the second run gives the same bytes.
    assert!(dir.path().join("store/vectors").exists());
    assert_eq!(search("2"), first);
    let missing = dreamwork()
        .args(["search", s(&dir.path().join("nope")), "x", "--embedder", "lexical"])
        .assert()
        .code(1);
    assert!(String::from_utf8_lossy(&missing.get_output().stderr).contains("no store here"));
}

/// A `dreamwork memory-tool` process kept running, fed one line at a time.
struct Running {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Running {
    fn start(store: &str) -> Self {
        let mut child = StdCommand::new(assert_cmd::cargo::cargo_bin("dreamwork"))
            .args(["memory-tool", store])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start memory-tool");
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        Self { child, stdin, stdout }
    }

    fn call(&mut self, line: &str) -> serde_json::Value {
        writeln!(self.stdin, "{line}").expect("write a command");
        self.stdin.flush().expect("flush");
        let mut answer = String::new();
        self.stdout.read_line(&mut answer).expect("read a result");
        serde_json::from_str(&answer).expect("a JSON result")
    }

    fn finish(self) {
        drop(self.stdin);
        let mut child = self.child;
        assert!(child.wait().expect("memory-tool exits").success());
    }
}

#[test]
fn a_running_memory_tool_lets_other_processes_write_and_sees_their_writes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = init(dir.path());
    let mut tool = Running::start(&store);
    let created = tool.call(r#"{"command":"create","path":"/memories/a.md","file_text":"from the tool"}"#);
    assert_eq!(created["is_error"], false);
    // While the tool process runs, another process writes (it would fail
    // with "locked" if the tool held the lock) ...
    dreamwork().args(["put", &store, "/b.md"]).write_stdin("from another process").assert().success();
    // ... and the tool's next read sees it.
    let seen = tool.call(r#"{"command":"view","path":"/memories/b.md"}"#);
    assert!(seen["content"].as_str().expect("content").contains("from another process"), "{seen}");
    // A change made elsewhere is what str_replace edits.
    dreamwork().args(["put", &store, "/a.md"]).write_stdin("changed elsewhere").assert().success();
    let edited = tool
        .call(r#"{"command":"str_replace","path":"/memories/a.md","old_str":"elsewhere","new_str":"twice"}"#);
    assert_eq!(edited["is_error"], false, "{edited}");
    // A dream reads the store while the tool runs.
    let out = dir.path().join("dream-out");
    dreamwork().args(["dream", &store, "--out", s(&out), "--embedder", "lexical"]).assert().success();
    let after = tool.call(r#"{"command":"view","path":"/memories"}"#);
    assert!(after["content"].as_str().expect("content").contains("/memories/b.md"), "{after}");
    tool.finish();
    let get = dreamwork().args(["get", &store, "/a.md"]).assert().success();
    assert_eq!(String::from_utf8_lossy(&get.get_output().stdout).trim_end(), "changed twice");
    dreamwork().args(["verify", &store]).assert().success();
}
