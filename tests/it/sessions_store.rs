//! Session storage: round trips, idempotent re-import, read-only reads,
//! corruption detection, as properties and on the fixtures.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use proptest::prelude::*;

use dreamwork::fuzzing::session_file as storage;
use dreamwork::session::SessionStore;
use dreamwork::session::{
    FormatChoice, OnError, Role, Session, SessionError, SessionFormat, ToolCall, ToolResult, Turn,
};
use dreamwork::{CancelToken, Silent, Timestamp};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sessions")
}

/// The valid fixture directories (everything but `malformed/`).
fn good_inputs() -> Vec<PathBuf> {
    ["claude-code", "managed-agents", "openai", "text"].iter().map(|d| fixtures().join(d)).collect()
}

/// Every file under `dir` with its bytes and modification time.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (Vec<u8>, std::time::SystemTime)> {
    let mut files = BTreeMap::new();
    for entry in walkdir::WalkDir::new(dir) {
        let entry = entry.unwrap();
        if entry.file_type().is_file() {
            let meta = entry.metadata().unwrap();
            files.insert(
                entry.path().to_path_buf(),
                (std::fs::read(entry.path()).unwrap(), meta.modified().unwrap()),
            );
        }
    }
    files
}

#[test]
fn reimporting_is_a_no_op_and_order_does_not_matter() {
    let dir = tempfile::tempdir().unwrap();
    let store = SessionStore::open(dir.path().join("sessions")).unwrap();
    let cancel = CancelToken::new();
    let first =
        store.import_paths(&good_inputs(), FormatChoice::Auto, OnError::Stop, &Silent, &cancel).unwrap();
    assert_eq!(
        (first.files, first.sessions, first.new),
        (10, 11, 10),
        "the page and the JSONL hold one session"
    );
    assert_eq!(first.skipped.len(), 1, "the sub-agent's meta.json is not a transcript");
    let before = snapshot(store.dir());
    let mut reversed = good_inputs();
    reversed.reverse();
    let again = store.import_paths(&reversed, FormatChoice::Auto, OnError::Stop, &Silent, &cancel).unwrap();
    assert_eq!((again.sessions, again.new), (11, 0));
    assert_eq!(snapshot(store.dir()), before, "a re-import must not touch any file");

    let other = tempfile::tempdir().unwrap();
    let other_store = SessionStore::open(other.path()).unwrap();
    other_store.import_paths(&reversed, FormatChoice::Auto, OnError::Stop, &Silent, &cancel).unwrap();
    assert_eq!(other_store.ids().unwrap(), store.ids().unwrap());
}

#[test]
fn thread_count_changes_nothing() {
    let run = |threads: usize| {
        let dir = tempfile::tempdir().unwrap();
        let store = SessionStore::open(dir.path()).unwrap();
        let mut inputs = good_inputs();
        inputs.push(fixtures().join("malformed"));
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        let summary = pool
            .install(|| {
                store.import_paths(&inputs, FormatChoice::Auto, OnError::Skip, &Silent, &CancelToken::new())
            })
            .unwrap();
        let failures: Vec<String> = summary.failures.iter().map(|(_, e)| e.to_string()).collect();
        let counts = (summary.files, summary.sessions, summary.new, summary.skipped.clone(), failures);
        let stop = pool.install(|| {
            store.import_paths(&inputs, FormatChoice::Auto, OnError::Stop, &Silent, &CancelToken::new())
        });
        (counts, snapshot_bytes(dir.path()), stop.unwrap_err().to_string())
    };
    let one = run(1);
    assert_eq!(one, run(4));
    assert!(one.2.contains("chat-syntax.json"), "the first bad file in path order: {}", one.2);
}

/// Every file under `dir` (relative path) with its bytes.
fn snapshot_bytes(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    snapshot(dir)
        .into_iter()
        .map(|(p, (bytes, _))| (p.strip_prefix(dir).unwrap().to_path_buf(), bytes))
        .collect()
}

#[test]
fn reading_never_writes() {
    let dir = tempfile::tempdir().unwrap();
    let store = SessionStore::open(dir.path()).unwrap();
    store
        .import_paths(&good_inputs(), FormatChoice::Auto, OnError::Stop, &Silent, &CancelToken::new())
        .unwrap();
    let before = snapshot(dir.path());
    let reader = SessionStore::open_read_only(dir.path());
    let ids = reader.ids().unwrap();
    for id in &ids {
        reader.get(id).unwrap();
    }
    reader.resolve(&ids[0].to_string()[..10]).unwrap();
    assert_eq!(reader.summaries().unwrap().len(), 10);
    assert_eq!(snapshot(dir.path()), before);
}

#[test]
fn cancel_stops_between_files() {
    let dir = tempfile::tempdir().unwrap();
    let store = SessionStore::open(dir.path()).unwrap();
    let cancel = CancelToken::new();
    cancel.cancel();
    let result = store.import_paths(&good_inputs(), FormatChoice::Auto, OnError::Stop, &Silent, &cancel);
    assert!(matches!(result, Err(SessionError::Cancelled)));
    assert!(store.ids().unwrap().is_empty());
}

#[test]
fn a_bad_file_stops_the_import_with_its_name() {
    let dir = tempfile::tempdir().unwrap();
    let store = SessionStore::open(dir.path()).unwrap();
    let err = store
        .import_paths(
            &[fixtures().join("malformed/claude-code-torn.jsonl")],
            FormatChoice::Auto,
            OnError::Stop,
            &Silent,
            &CancelToken::new(),
        )
        .unwrap_err()
        .to_string();
    assert!(err.contains("claude-code-torn.jsonl: line 5"), "{err}");
}

#[test]
fn skipping_bad_files_imports_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let store = SessionStore::open(dir.path()).unwrap();
    let inputs = [fixtures().join("malformed"), fixtures().join("text")];
    let summary =
        store.import_paths(&inputs, FormatChoice::Auto, OnError::Skip, &Silent, &CancelToken::new()).unwrap();
    assert_eq!((summary.files, summary.sessions, summary.new), (2, 2, 2));
    let skipped: Vec<_> = summary.skipped.iter().map(|p| p.file_name().unwrap().to_owned()).collect();
    assert_eq!(skipped, ["empty.jsonl", "notes.txt", "unknown.json"]);
    let failed: Vec<String> = summary
        .failures
        .iter()
        .map(|(path, e)| {
            assert!(e.to_string().starts_with(&path.display().to_string()), "{e}");
            path.file_name().unwrap().to_string_lossy().into_owned()
        })
        .collect();
    assert_eq!(
        failed,
        [
            "chat-syntax.json",
            "chat-unknown-role.json",
            "claude-code-bad-content.jsonl",
            "claude-code-torn.jsonl",
            "events-bad.jsonl"
        ]
    );
}

#[test]
fn corruption_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = SessionStore::open(dir.path()).unwrap();
    store
        .import_paths(
            &[fixtures().join("openai")],
            FormatChoice::Auto,
            OnError::Stop,
            &Silent,
            &CancelToken::new(),
        )
        .unwrap();
    let id = store.ids().unwrap()[0];
    let path = store.path_of(&id);
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let err = store.get(&id).unwrap_err();
    assert!(matches!(err, SessionError::Corrupt { .. }));
    assert!(
        err.to_string().starts_with(&format!("{}: corrupt session file: header gives", path.display())),
        "{err}"
    );
    std::fs::write(&path, b"hello").unwrap();
    assert!(store.summaries().unwrap_err().to_string().contains("shorter than the 24-byte header"));
    std::fs::write(&path, [b"NOTMAGIC".as_slice(), &bytes[8..]].concat()).unwrap();
    assert!(store.get(&id).unwrap_err().to_string().contains("bad magic bytes"));
}

fn turn_strategy() -> impl Strategy<Value = Turn> {
    let role = prop_oneof![Just(Role::User), Just(Role::Assistant), Just(Role::System), Just(Role::Tool)];
    let call = (proptest::option::of("[a-z0-9_]{1,8}"), "[A-Za-z]{1,8}", "\\PC{0,20}")
        .prop_map(|(id, name, input)| ToolCall { id, name, input });
    let result = (proptest::option::of("[a-z0-9_]{1,8}"), "\\PC{0,30}", any::<bool>())
        .prop_map(|(call_id, content, is_error)| ToolResult { call_id, content, is_error });
    (
        role,
        proptest::option::of("\\PC{1,8}"),
        "\\PC{0,60}",
        proptest::collection::vec(call, 0..3),
        proptest::collection::vec(result, 0..3),
        proptest::option::of(any::<i64>()),
        any::<bool>(),
    )
        .prop_map(|(role, author, text, tool_calls, tool_results, at, sidechain)| Turn {
            role,
            author,
            text,
            tool_calls,
            tool_results,
            timestamp: at.map(Timestamp),
            sidechain,
        })
}

fn session_strategy() -> impl Strategy<Value = Session> {
    (
        proptest::sample::select(SessionFormat::ALL.to_vec()),
        proptest::option::of("\\PC{0,20}"),
        proptest::option::of("/[a-z/]{0,20}"),
        proptest::collection::vec(turn_strategy(), 0..8),
    )
        .prop_map(|(format, external_id, cwd, turns)| Session::new(format, external_id, cwd, turns))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn put_then_get_round_trips(sessions in proptest::collection::vec(session_strategy(), 1..5)) {
        let dir = tempfile::tempdir().unwrap();
        let store = SessionStore::open(dir.path()).unwrap();
        for s in &sessions {
            store.put(s).unwrap();
            prop_assert!(!store.put(s).unwrap());
        }
        for s in &sessions {
            prop_assert_eq!(&store.get(&s.id).unwrap(), s);
        }
        let mut ids: Vec<_> = sessions.iter().map(|s| s.id).collect();
        ids.sort();
        ids.dedup();
        prop_assert_eq!(store.ids().unwrap(), ids);
    }

    #[test]
    fn any_damage_is_detected(s in session_strategy(), at in any::<proptest::sample::Index>(), bit in 0u8..8) {
        let mut bytes = storage::encode(&s);
        let i = at.index(bytes.len());
        bytes[i] ^= 1 << bit;
        prop_assert!(storage::decode(&bytes, Path::new("f")).is_err());
        bytes[i] ^= 1 << bit;
        prop_assert!(storage::decode(&bytes[..i], Path::new("f")).is_err());
        prop_assert_eq!(storage::decode(&bytes, Path::new("f")).unwrap(), s);
    }

    #[test]
    fn arbitrary_bytes_give_sessions_or_named_errors(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        prop_assert!(storage::decode(&bytes, Path::new("f")).unwrap_err().to_string().starts_with("f: "));
        let mut outcomes: Vec<_> = SessionFormat::ALL
            .iter()
            .map(|&format| dreamwork::session::parse(&bytes, format, "f"))
            .collect();
        outcomes.push(dreamwork::session::parse_as(&bytes, FormatChoice::Auto, "f"));
        for outcome in outcomes {
            match outcome {
                Ok(sessions) => prop_assert!(sessions.iter().all(|s| !s.turns.is_empty())),
                Err(e) => prop_assert!(e.to_string().starts_with("f: "), "{}", e),
            }
        }
    }

    #[test]
    fn jsonl_like_input_gives_sessions_or_line_errors(lines in proptest::collection::vec(
        prop_oneof![
            Just(r#"{"type":"user","message":{"content":"hi"}}"#.to_owned()),
            Just(r#"{"type":"assistant","message":{"id":"m","content":[{"type":"text","text":"ok"}]}}"#.to_owned()),
            Just(r#"{"type":"summary"}"#.to_owned()),
            "\\PC{0,30}",
        ],
        1..10,
    )) {
        let input = lines.join("\n");
        match dreamwork::session::parse(input.as_bytes(), SessionFormat::ClaudeCode, "f.jsonl") {
            Ok(sessions) => prop_assert!(sessions.len() <= 1),
            Err(e) => prop_assert!(e.to_string().starts_with("f.jsonl: line "), "{}", e),
        }
    }
}
