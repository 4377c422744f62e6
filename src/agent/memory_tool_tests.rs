use super::*;

fn store_with(files: &[(&str, &str)]) -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = Store::create(dir.path().join("store")).expect("create");
    for (path, text) in files {
        store.put(&MemoryPath::new(path).expect("valid"), text).expect("put");
    }
    (dir, store)
}

fn run(store: &mut Store, json: &str) -> Result<String, String> {
    let command: Command = serde_json::from_str(json).expect("test commands decode");
    execute(store, &command).map_err(|e| e.to_string())
}

fn content(store: &Store, path: &str) -> Option<String> {
    store.get(&MemoryPath::new(path).expect("valid")).map(|m| m.content.clone())
}

#[test]
fn resolve_maps_memories_to_store_paths_and_refuses_the_rest() {
    let path = |p: &str| Target::Path(MemoryPath::new(p).expect("valid"));
    assert_eq!(resolve("/memories").unwrap(), Target::Root);
    assert_eq!(resolve("/memories/").unwrap(), Target::Root);
    assert_eq!(resolve("/memories/a/b.md").unwrap(), path("/a/b.md"));
    assert_eq!(resolve("/memories/a/").unwrap(), path("/a"));
    for (bad, says) in [
        ("/etc/passwd", "Path must start with /memories, got: /etc/passwd"),
        ("/memoriesX/a", "Path must start with /memories, got: /memoriesX/a"),
        ("memories/a", "Path must start with /memories, got: memories/a"),
        ("/memories/../etc", "Path /memories/../etc would escape /memories directory"),
        ("/memories/a/../b", "has a '..' segment"),
        ("/memories//a", "Invalid path /memories//a"),
        ("/memories/./a", "Invalid path"),
        ("/memories/a\u{0}b", "Invalid path"),
    ] {
        let err = resolve(bad).unwrap_err().to_string();
        assert!(err.contains(says), "{bad}: {err}");
    }
}

#[test]
fn view_numbers_lines_and_honours_view_range() {
    let (_d, mut store) = store_with(&[("/notes.md", "one\ntwo\nthree\nfour")]);
    let whole = run(&mut store, r#"{"command":"view","path":"/memories/notes.md"}"#).unwrap();
    assert_eq!(
        whole,
        "Here's the content of /memories/notes.md with line numbers:\n     1\tone\n     2\ttwo\n     3\tthree\n     4\tfour"
    );
    let part =
        run(&mut store, r#"{"command":"view","path":"/memories/notes.md","view_range":[2,3]}"#).unwrap();
    assert!(part.ends_with("     2\ttwo\n     3\tthree"), "{part}");
    let to_end =
        run(&mut store, r#"{"command":"view","path":"/memories/notes.md","view_range":[3,-1]}"#).unwrap();
    assert!(to_end.ends_with("     3\tthree\n     4\tfour"), "{to_end}");
    let past =
        run(&mut store, r#"{"command":"view","path":"/memories/notes.md","view_range":[9,12]}"#).unwrap();
    assert_eq!(past, "Here's the content of /memories/notes.md with line numbers:\n");
}

#[test]
fn view_lists_two_levels_with_sizes_and_skips_hidden_items() {
    let (_d, mut store) = store_with(&[
        ("/a/deep/deeper/x.md", "12345"),
        ("/a/one.md", &"x".repeat(2048)),
        ("/b.md", ""),
        ("/.secret", "hidden"),
        ("/node_modules/pkg", "skip"),
        ("/a/.hidden/y", "skip"),
    ]);
    let listing = run(&mut store, r#"{"command":"view","path":"/memories"}"#).unwrap();
    let expected = [
        "Here're the files and directories up to 2 levels deep in /memories, excluding hidden items and node_modules:",
        "2.0K\t/memories",
        "2.0K\t/memories/a/",
        "5B\t/memories/a/deep/",
        "2K\t/memories/a/one.md",
        "0B\t/memories/b.md",
    ];
    assert_eq!(listing, expected.join("\n"));
    let sub = run(&mut store, r#"{"command":"view","path":"/memories/a/"}"#).unwrap();
    assert!(sub.contains("\n5B\t/memories/a/deep/\n5B\t/memories/a/deep/deeper/\n"), "{sub}");
    let missing = run(&mut store, r#"{"command":"view","path":"/memories/nope"}"#).unwrap_err();
    assert_eq!(missing, "The path /memories/nope does not exist. Please provide a valid path.");
}

#[test]
fn view_of_an_empty_store_lists_the_root() {
    let (_d, mut store) = store_with(&[]);
    let listing = run(&mut store, r#"{"command":"view","path":"/memories"}"#).unwrap();
    assert!(listing.ends_with("node_modules:\n0B\t/memories"), "{listing}");
}

#[test]
fn sizes_are_formatted_as_the_sdk_does() {
    let cases = [(0, "0B"), (1, "1B"), (1023, "1023B"), (1024, "1K"), (1536, "1.5K"), (5 << 20, "5M")];
    for (bytes, text) in cases {
        assert_eq!(format_size(bytes), text);
    }
}

#[test]
fn create_writes_a_version_and_never_overwrites() {
    let (_d, mut store) = store_with(&[("/a/b.md", "x")]);
    let ok =
        run(&mut store, r#"{"command":"create","path":"/memories/new.md","file_text":"hello\n"}"#).unwrap();
    assert_eq!(ok, "File created successfully at: /memories/new.md");
    assert_eq!(content(&store, "/new.md").as_deref(), Some("hello\n"));
    assert_eq!(store.version(), 2);
    for (path, says) in [
        ("/memories/new.md", "File /memories/new.md already exists"),
        ("/memories/a", "File /memories/a already exists"),
        ("/memories", "File /memories already exists"),
        ("/memories/a/b.md/c", "Cannot create /memories/a/b.md/c: /memories/a/b.md is a file"),
    ] {
        let json = format!(r#"{{"command":"create","path":"{path}","file_text":"y"}}"#);
        assert_eq!(run(&mut store, &json).unwrap_err(), says);
    }
    assert_eq!(content(&store, "/new.md").as_deref(), Some("hello\n"));
    let too_big =
        serde_json::json!({"command": "create", "path": "/memories/big", "file_text": "x".repeat(200_000)});
    assert!(run(&mut store, &too_big.to_string()).is_err());
    assert_eq!(store.version(), 2);
}

#[test]
fn str_replace_needs_exactly_one_match() {
    let (_d, mut store) = store_with(&[("/f.md", "l1\nl2\nport 5432\nl4\nl5\nl6"), ("/twice", "ab\nab")]);
    let ok = run(
        &mut store,
        r#"{"command":"str_replace","path":"/memories/f.md","old_str":"5432","new_str":"5433"}"#,
    )
    .unwrap();
    assert_eq!(
        ok,
        "The memory file has been edited. Here is the snippet showing the change (with line numbers):\n     1\tl1\n     2\tl2\n     3\tport 5433\n     4\tl4\n     5\tl5"
    );
    assert_eq!(content(&store, "/f.md").as_deref(), Some("l1\nl2\nport 5433\nl4\nl5\nl6"));
    let version = store.version();
    let absent = run(
        &mut store,
        r#"{"command":"str_replace","path":"/memories/f.md","old_str":"nope","new_str":"x"}"#,
    );
    assert_eq!(
        absent.unwrap_err(),
        "No replacement was performed, old_str `nope` did not appear verbatim in /memories/f.md."
    );
    let twice =
        run(&mut store, r#"{"command":"str_replace","path":"/memories/twice","old_str":"ab","new_str":"x"}"#);
    assert_eq!(
        twice.unwrap_err(),
        "No replacement was performed. Multiple occurrences of old_str `ab` in lines: 1, 2. Please ensure it is unique"
    );
    let dir = run(&mut store, r#"{"command":"str_replace","path":"/memories","old_str":"a","new_str":"b"}"#);
    assert_eq!(dir.unwrap_err(), "The path /memories is not a file.");
    let missing =
        run(&mut store, r#"{"command":"str_replace","path":"/memories/zz","old_str":"a","new_str":"b"}"#);
    assert_eq!(missing.unwrap_err(), "The path /memories/zz does not exist. Please provide a valid path.");
    assert_eq!(store.version(), version, "refused commands write nothing");
    assert_eq!(content(&store, "/twice").as_deref(), Some("ab\nab"));
}

#[test]
fn overlapping_occurrences_are_counted_like_the_sdk() {
    assert_eq!(occurrences("aaa", "aa").collect::<Vec<_>>(), [0, 1]);
    assert_eq!(occurrences("é é", "").collect::<Vec<_>>(), [0, 2, 3, 5]);
    assert_eq!(occurrences("abc", "x").count(), 0);
}

#[test]
fn insert_puts_a_line_within_range() {
    let (_d, mut store) = store_with(&[("/todo", "one\nthree")]);
    let ok = run(
        &mut store,
        r#"{"command":"insert","path":"/memories/todo","insert_line":1,"insert_text":"two\n"}"#,
    )
    .unwrap();
    assert_eq!(ok, "The file /memories/todo has been edited.");
    assert_eq!(content(&store, "/todo").as_deref(), Some("one\ntwo\nthree\n"));
    run(&mut store, r#"{"command":"insert","path":"/memories/todo","insert_line":0,"insert_text":"zero"}"#)
        .unwrap();
    assert_eq!(content(&store, "/todo").as_deref(), Some("zero\none\ntwo\nthree\n"));
    for line in [-1, 5] {
        let json = format!(
            r#"{{"command":"insert","path":"/memories/todo","insert_line":{line},"insert_text":"x"}}"#
        );
        assert_eq!(
            run(&mut store, &json).unwrap_err(),
            format!("Invalid `insert_line` parameter: {line}. It should be within the range [0, 4].")
        );
    }
    let missing =
        run(&mut store, r#"{"command":"insert","path":"/memories/no","insert_line":0,"insert_text":"x"}"#);
    assert_eq!(missing.unwrap_err(), "The path /memories/no does not exist. Please provide a valid path.");
}

#[test]
fn split_lines_follows_python() {
    assert_eq!(split_lines("a\r\nb\rc\n\nd\u{2028}e"), ["a", "b", "c", "", "d", "e"]);
    assert_eq!(split_lines("a\n"), ["a"]);
    assert!(split_lines("").is_empty());
}

#[test]
fn delete_removes_files_and_directories_in_one_version() {
    let (_d, mut store) = store_with(&[("/a/x", "1"), ("/a/y/z", "2"), ("/ab", "3"), ("/b", "4")]);
    assert_eq!(
        run(&mut store, r#"{"command":"delete","path":"/memories/b"}"#).unwrap(),
        "Successfully deleted /memories/b"
    );
    let version = store.version();
    assert_eq!(
        run(&mut store, r#"{"command":"delete","path":"/memories/a"}"#).unwrap(),
        "Successfully deleted /memories/a"
    );
    assert_eq!(store.version(), version + 1);
    assert_eq!(store.iter().map(|m| m.path.to_string()).collect::<Vec<_>>(), ["/ab"]);
    assert_eq!(
        run(&mut store, r#"{"command":"delete","path":"/memories/a"}"#).unwrap_err(),
        "The path /memories/a does not exist"
    );
    for root in ["/memories", "/memories/"] {
        let json = format!(r#"{{"command":"delete","path":"{root}"}}"#);
        assert_eq!(run(&mut store, &json).unwrap_err(), "Cannot delete the /memories directory itself");
    }
    assert_eq!(store.len(), 1);
}

#[test]
fn rename_moves_files_and_directories_and_keeps_records() {
    let (_d, mut store) = store_with(&[("/a/x", "1"), ("/a/y/z", "2"), ("/c", "3")]);
    let created = store.get(&MemoryPath::new("/a/x").unwrap()).unwrap().created_at;
    let ok = run(&mut store, r#"{"command":"rename","old_path":"/memories/a","new_path":"/memories/d/e"}"#)
        .unwrap();
    assert_eq!(ok, "Successfully renamed /memories/a to /memories/d/e");
    assert_eq!(store.iter().map(|m| m.path.to_string()).collect::<Vec<_>>(), ["/c", "/d/e/x", "/d/e/y/z"]);
    assert_eq!(store.get(&MemoryPath::new("/d/e/x").unwrap()).unwrap().created_at, created);
    let version = store.version();
    for (json, says) in [
        (
            r#"{"command":"rename","old_path":"/memories/c","new_path":"/memories/d"}"#,
            "The destination /memories/d already exists",
        ),
        (
            r#"{"command":"rename","old_path":"/memories/zz","new_path":"/memories/q"}"#,
            "The path /memories/zz does not exist",
        ),
        (
            r#"{"command":"rename","old_path":"/memories/d","new_path":"/memories/d/e/x"}"#,
            "The destination /memories/d/e/x already exists",
        ),
        (
            r#"{"command":"rename","old_path":"/memories/d","new_path":"/memories/d/new"}"#,
            "Cannot move /memories/d into itself (/memories/d/new)",
        ),
        (
            r#"{"command":"rename","old_path":"/memories/d","new_path":"/memories/c/x"}"#,
            "Cannot rename to /memories/c/x: /memories/c is a file",
        ),
        (
            r#"{"command":"rename","old_path":"/memories","new_path":"/memories/q"}"#,
            "Cannot rename the /memories directory itself",
        ),
        (
            r#"{"command":"rename","old_path":"/memories/c","new_path":"/tmp/c"}"#,
            "Path must start with /memories, got: /tmp/c",
        ),
    ] {
        assert_eq!(run(&mut store, json).unwrap_err(), says, "{json}");
    }
    assert_eq!(store.version(), version);
    run(&mut store, r#"{"command":"rename","old_path":"/memories/c","new_path":"/memories/c2"}"#).unwrap();
    assert_eq!(content(&store, "/c2").as_deref(), Some("3"));
    assert!(content(&store, "/c").is_none());
}

#[test]
fn commands_decode_from_the_tool_input() {
    let command: Command = serde_json::from_str(r#"{"command":"view","path":"/memories","extra":true}"#)
        .expect("unknown fields ignored");
    assert_eq!(command, Command::View { path: "/memories".into(), view_range: None });
    assert_eq!(command.name(), "view");
    assert!(serde_json::from_str::<Command>(r#"{"command":"explode","path":"/memories"}"#).is_err());
    assert!(serde_json::from_str::<Command>(r#"{"command":"create","path":"/memories/x"}"#).is_err());
}

#[test]
fn shared_stores_run_the_same_commands() {
    let (dir, store) = store_with(&[("/a", "x")]);
    drop(store);
    let mut shared = SharedStore::open(dir.path().join("store")).unwrap();
    let command =
        Command::StrReplace { path: "/memories/a".into(), old_str: "x".into(), new_str: "y".into() };
    execute(&mut shared, &command).unwrap();
    let reopened = Store::open_read_only(dir.path().join("store")).unwrap();
    assert_eq!(content(&reopened, "/a").as_deref(), Some("y"));
}
