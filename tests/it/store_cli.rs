//! Every store command's exit status, output and one-line error messages.

use std::fs;
use std::path::Path;

use assert_cmd::Command;

fn dreamwork() -> Command {
    Command::cargo_bin("dreamwork").expect("binary is built")
}

/// Runs `args`, expects exit status 1 and a single stderr line containing `needle`.
fn fails_with(args: &[&str], stdin: &str, needle: &str) {
    let out = dreamwork().args(args).write_stdin(stdin).assert().code(1);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert_eq!(stderr.lines().count(), 1, "{args:?}: stderr is not one line: {stderr:?}");
    assert!(stderr.starts_with("dreamwork: ") && stderr.contains(needle), "{args:?}: {stderr:?}");
}

fn stdout(args: &[&str], stdin: &str) -> String {
    let out = dreamwork().args(args).write_stdin(stdin).assert().success();
    String::from_utf8_lossy(&out.get_output().stdout).to_string()
}

fn s(p: &Path) -> &str {
    p.to_str().expect("temp paths are UTF-8")
}

#[test]
fn the_store_commands_work_end_to_end() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = dir.path().join("mem");
    let st = s(&store);
    stdout(&["init", st], "");
    fails_with(&["init", st], "", "a store already exists");

    stdout(&["put", st, "/prefs/indent.md"], "two spaces\n");
    let file = dir.path().join("c.txt");
    fs::write(&file, "use tabs").expect("write");
    stdout(&["put", st, "/prefs/indent.md", "--file", s(&file)], "");
    stdout(&["put", st, "/zeta"], "last");
    assert_eq!(stdout(&["get", st, "/prefs/indent.md"], ""), "use tabs");
    assert_eq!(stdout(&["get", st, "/prefs/indent.md", "--version", "1"], ""), "two spaces\n");
    assert_eq!(stdout(&["ls", st], ""), "/prefs/indent.md\n/zeta\n");
    assert_eq!(stdout(&["ls", st, "/prefs/"], ""), "/prefs/indent.md\n");
    assert_eq!(stdout(&["ls", st, "/nothing"], ""), "");

    let history = stdout(&["history", st, "/prefs/indent.md"], "");
    let lines: Vec<&str> = history.lines().collect();
    assert_eq!(lines.len(), 2);
    assert!(lines[0].starts_with("1\t") && lines[0].contains("\tput\t") && lines[0].contains("11 bytes"));
    stdout(&["rm", st, "/zeta"], "");
    assert!(stdout(&["history", st, "/zeta"], "").lines().last().is_some_and(|l| l.ends_with("\tdelete")));

    let stats = stdout(&["stats", st], "");
    assert!(
        stats.contains("memories: 1\n") && stats.contains("version: 4\n") && stats.contains("store_hash: ")
    );
    assert!(stdout(&["verify", st], "").starts_with("ok: version 4"));
    stdout(&["compact", st], "");
    assert!(stdout(&["stats", st], "").contains("log_bytes_since_snapshot: 0\n"));

    let jsonl = dir.path().join("out.jsonl");
    assert!(stdout(&["export", st, s(&jsonl), "--format", "jsonl"], "").starts_with("exported 1 memories"));
    let exported = dir.path().join("files");
    stdout(&["export", st, s(&exported)], "");
    assert_eq!(fs::read_to_string(exported.join("prefs/indent.md")).expect("read"), "use tabs");

    let copy = dir.path().join("copy");
    stdout(&["init", s(&copy)], "");
    assert!(stdout(&["import", s(&copy), s(&jsonl)], "").starts_with("imported 1 memories"));
    let hash =
        |st: &str| stdout(&["stats", st], "").lines().find(|l| l.starts_with("store_hash")).map(String::from);
    assert_eq!(hash(st), hash(s(&copy)));
    let copy2 = dir.path().join("copy2");
    stdout(&["init", s(&copy2)], "");
    stdout(&["import", s(&copy2), s(&exported)], "");
    assert_eq!(hash(st), hash(s(&copy2)));
}

#[test]
fn bad_input_fails_with_one_line_naming_the_fault() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = dir.path().join("mem");
    let st = s(&store);
    fails_with(&["ls", st], "", "no store here");
    fails_with(&["put", st, "/a"], "x", "no store here");
    fails_with(&["verify", st], "", "no store here");
    fails_with(&["stats", st], "", "no store here");
    fails_with(&["repair", st], "", "no store here");
    fails_with(&["compact", st], "", "no store here");
    fails_with(&["history", st, "/a"], "", "no store here");
    fails_with(&["export", st, s(&dir.path().join("e"))], "", "no store here");
    fails_with(&["import", st, s(&dir.path().join("e"))], "", "no store here");
    stdout(&["init", st], "");
    fails_with(&["put", st, "a/b"], "x", "must start with '/'");
    fails_with(&["put", st, "/a//b"], "x", "empty segment");
    fails_with(&["put", st, "/a/../b"], "x", "'.' or '..'");
    fails_with(&["put", st, "/a\u{1}b"], "x", "forbidden character U+0001");
    fails_with(&["put", st, &format!("/{}", "x".repeat(1100))], "x", "at most 1024");
    fails_with(&["put", st, &"/s".repeat(21)], "x", "21 segments");
    fails_with(&["put", st, "/big"], &"x".repeat(102_401), "at most 102400");
    fails_with(&["put", st, "/a", "--file", "/definitely/missing"], "", "/definitely/missing");
    fails_with(&["get", st, "/missing"], "", "no memory at /missing");
    fails_with(&["get", st, "/missing", "--version", "9"], "", "version 9 does not exist");
    fails_with(&["rm", st, "/missing"], "", "no memory at /missing");
    fails_with(&["history", st, "/missing"], "", "/missing has no history");

    let bad = dir.path().join("bad.jsonl");
    fs::write(&bad, "{\"path\":\"/ok\",\"content\":\"fine\"}\n{\"path\":\"/x\"}\n").expect("write");
    fails_with(&["import", st, s(&bad)], "", "bad.jsonl, line 2: invalid memory object");
    assert_eq!(stdout(&["ls", st], ""), "");
    let out = dreamwork().args(["import", st, s(&bad), "--skip-bad-lines"]).assert().success();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(stderr.contains("skipped") && stderr.contains("line 2"), "{stderr}");
    assert_eq!(stdout(&["ls", st], ""), "/ok\n");
    fails_with(&["import", st, "/definitely/missing.jsonl"], "", "/definitely/missing.jsonl");

    let not_empty = dir.path().join("full");
    fs::create_dir_all(&not_empty).expect("mkdir");
    fs::write(not_empty.join("x"), "x").expect("write");
    fails_with(&["export", st, s(&not_empty)], "", "not empty");
}
