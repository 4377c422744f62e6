//! `dreamwork sessions import|ls|show|verify` as a user runs them.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sessions")
}

/// A new, empty store.
fn store() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    dreamwork::store::Store::create(dir.path()).unwrap();
    dir
}

fn dreamwork() -> Command {
    Command::cargo_bin("dreamwork").unwrap()
}

fn stdout_of(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn import_ls_show() {
    let store = store();
    let import = || {
        let mut cmd = dreamwork();
        cmd.arg("sessions").arg("import").arg(store.path()).arg(fixtures().join("claude-code"));
        cmd.arg(fixtures().join("openai/support-chat.json"));
        cmd
    };
    let first = "imported 4 sessions (4 new) from 4 files; skipped 1 non-transcript file\n";
    assert_eq!(stdout_of(&mut import()), first);
    let again = "imported 4 sessions (0 new) from 4 files; skipped 1 non-transcript file\n";
    assert_eq!(stdout_of(&mut import()), again);

    let ls = stdout_of(dreamwork().args(["sessions", "ls"]).arg(store.path()));
    let lines: Vec<&str> = ls.lines().collect();
    assert_eq!(lines.len(), 4, "{ls}");
    // Oldest first: the Claude Code session of May 4th, then May 6th and
    // its sub-agent, then the undated chat.
    assert!(lines[0].contains(
        "\tclaude-code\t2026-05-04T09:12:03.120Z\t16 turns\t5 tool calls\t2 tool errors\t4f1c2a9e"
    ));
    assert!(lines[1].contains("2026-05-06T14:01:00.000Z"));
    assert!(lines[2].contains("2026-05-06T14:01:20.000Z\t4 turns\t1 tool call\t0 tool errors\t9b8e7d6c"));
    assert!(lines[3].contains("\topenai\t-\t8 turns\t2 tool calls\t0 tool errors\tchatcmpl-support-0415"));

    let prefix = &lines[0][..8];
    let show = stdout_of(dreamwork().args(["sessions", "show"]).arg(store.path()).arg(prefix));
    assert!(show.starts_with(&format!("session  {}", &lines[0][..64])), "{show}");
    assert!(show.contains("cwd      /home/ana/shop\n"));
    assert!(show.contains("\n[2] tool 2026-05-04T09:12:11.004Z\n    <- error [toolu_01Run]\n       npm ERR! code ERR_PNPM_LOCKFILE\n"));
    assert!(show.contains("[7] user (a7f3c1) 2026-05-04T09:13:02.500Z [sidechain]\n"));
    assert!(show.contains("    -> Bash [toolu_02Run] {\"command\":\"pnpm test checkout\""));
}

#[test]
fn explicit_format_and_bad_format_name() {
    let store = store();
    let out = stdout_of(
        dreamwork()
            .args(["sessions", "import", "--format", "text"])
            .arg(store.path())
            .arg(fixtures().join("text/pairing.md")),
    );
    assert_eq!(out, "imported 1 session (1 new) from 1 file\n");
    let out = dreamwork()
        .args(["sessions", "import", "--format", "yaml"])
        .arg(store.path())
        .arg(fixtures().join("text"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown format \"yaml\""));
}

#[test]
fn errors_are_one_line_with_exit_status_1() {
    let store = store();
    let not_a_store = tempfile::tempdir().unwrap();
    let cases: Vec<(Vec<std::ffi::OsString>, String)> = vec![
        (
            vec!["import".into(), not_a_store.path().into(), fixtures().join("text").into()],
            format!(
                "dreamwork: {}: no store here (run `dreamwork init` first)",
                not_a_store.path().display()
            ),
        ),
        (
            vec![
                "import".into(),
                store.path().into(),
                fixtures().join("malformed/claude-code-torn.jsonl").into(),
            ],
            "claude-code-torn.jsonl: line 5: invalid JSON".to_owned(),
        ),
        (
            vec!["import".into(), store.path().into(), fixtures().join("malformed/notes.txt").into()],
            "notes.txt: not a recognised session transcript".to_owned(),
        ),
        (
            vec!["show".into(), store.path().into(), "abc".into()],
            "dreamwork: no session abc in the store".to_owned(),
        ),
        (vec!["show".into(), store.path().into(), "xyz".into()], "\"xyz\" is not a session id".to_owned()),
        (
            vec!["ls".into(), not_a_store.path().into()],
            "no store here (run `dreamwork init` first)".to_owned(),
        ),
    ];
    for (args, expected) in cases {
        let out = dreamwork().arg("sessions").args(&args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains(&expected), "{stderr:?} should contain {expected:?}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
    }
}

#[test]
fn keep_going_reports_each_bad_file_and_exits_1() {
    let store = store();
    let out = dreamwork()
        .args(["sessions", "import", "--keep-going"])
        .arg(store.path())
        .arg(fixtures().join("malformed"))
        .arg(fixtures().join("openai"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = "imported 3 sessions (3 new) from 2 files; skipped 3 non-transcript files\n";
    assert_eq!(String::from_utf8_lossy(&out.stdout), stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 6, "{stderr}");
    assert!(
        lines[3].starts_with("dreamwork: skipped ") && lines[3].contains("claude-code-torn.jsonl: line 5")
    );
    assert_eq!(lines[5], "dreamwork: 5 files could not be imported");
}

#[test]
fn ls_on_a_store_without_sessions_prints_nothing_and_creates_nothing() {
    let store = store();
    let out = stdout_of(dreamwork().args(["sessions", "ls"]).arg(store.path()));
    assert_eq!(out, "");
    assert!(!store.path().join("sessions").exists());
}

#[test]
fn verify_reports_damaged_files() {
    let store = store();
    stdout_of(dreamwork().args(["sessions", "import"]).arg(store.path()).arg(fixtures().join("text")));
    let ok = stdout_of(dreamwork().args(["sessions", "verify"]).arg(store.path()));
    assert_eq!(ok, "2 sessions intact, 0 damaged\n");
    let mut files: Vec<_> =
        std::fs::read_dir(store.path().join("sessions")).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    let mut bytes = std::fs::read(&files[1]).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&files[1], bytes).unwrap();
    let out = dreamwork().args(["sessions", "verify"]).arg(store.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "1 session intact, 1 damaged\n");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with(&format!(
            "dreamwork: {}: corrupt session file: checksum mismatch",
            files[1].display()
        ))
    );
    assert!(stderr.ends_with("dreamwork: 1 session file damaged\n"), "{stderr}");
}
