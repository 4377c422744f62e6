//! Importers on realistic fixtures of each format, detection, and errors on
//! malformed input.

use std::path::{Path, PathBuf};

use dreamwork::session::{
    self, FormatChoice, Role, Session, SessionError, SessionFormat, SessionSummary, import_file, import_paths,
};
use dreamwork::{Progress, Silent};

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sessions").join(rel)
}

const CLAUDE_DIR: &str = "claude-code/-home-ana-shop";
const CLAUDE_FILE: &str = "claude-code/-home-ana-shop/4f1c2a9e-7b3d-4e8a-9c21-5d6f7a8b9c0d.jsonl";

fn only(rel: &str) -> Session {
    let mut sessions = import_file(&fixture(rel), FormatChoice::Auto).unwrap();
    assert_eq!(sessions.len(), 1, "{rel}");
    sessions.remove(0)
}

fn roles(s: &Session) -> Vec<Role> {
    s.turns.iter().map(|t| t.role).collect()
}

#[test]
fn claude_code_session() {
    use Role::*;
    let s = only(CLAUDE_FILE);
    assert_eq!(s.format, SessionFormat::ClaudeCode);
    assert_eq!(s.external_id.as_deref(), Some("4f1c2a9e-7b3d-4e8a-9c21-5d6f7a8b9c0d"));
    assert_eq!(s.cwd.as_deref(), Some("/home/ana/shop"));
    assert_eq!(
        roles(&s),
        [
            User, Assistant, Tool, User, Assistant, Tool, Assistant, User, Assistant, Tool, Assistant, Tool,
            Assistant, Tool, Assistant, System
        ]
    );
    // The three lines of message msg_01A (thinking, text, tool use) are one turn.
    assert_eq!(s.turns[1].text, "I'll run the checkout tests first.");
    assert_eq!(s.turns[1].tool_calls[0].name, "Bash");
    assert_eq!(
        s.turns[1].tool_calls[0].input,
        r#"{"command":"npm test -- checkout","description":"Run checkout tests"}"#
    );
    assert!(s.turns.iter().all(|t| !t.text.contains("Start by running")), "thinking must be dropped");
    assert!(s.turns[2].tool_results[0].is_error);
    assert_eq!(s.turns[2].tool_results[0].call_id.as_deref(), Some("toolu_01Run"));
    assert_eq!(s.turns[3].text, "No — we use pnpm here, never npm. 🙏");
    assert!(s.turns[5].tool_results[0].content.contains("1’234.50 CHF"));
    let sidechain: Vec<usize> = (0..s.turns.len()).filter(|&i| s.turns[i].sidechain).collect();
    assert_eq!(sidechain, [7, 8, 9, 10]);
    assert!(s.turns[7..11].iter().all(|t| t.author.as_deref() == Some("a7f3c1")));
    assert!(s.turns[14].text.ends_with("数字格式已修复。"));
    assert_eq!(s.started_at().map(|t| t.to_rfc3339()).as_deref(), Some("2026-05-04T09:12:03.120Z"));
    let summary = SessionSummary::of(&s);
    assert_eq!((summary.tool_calls, summary.tool_errors, summary.user_turns), (5, 2, 3));
}

#[test]
fn a_directory_is_walked_in_sorted_order() {
    let events = std::sync::Mutex::new(Vec::new());
    let observer = |p: Progress| events.lock().unwrap().push((p.done, p.total));
    let sessions = import_paths(&[fixture(CLAUDE_DIR)], FormatChoice::Auto, &observer).unwrap();
    // Path order: a session's own directory (its sub-agents) sorts before
    // its file; the sub-agent's meta.json fits no format and is skipped;
    // tool-results/ is not entered.
    let ids: Vec<_> =
        sessions.iter().map(|s| (s.external_id.as_deref().unwrap(), s.turns[0].sidechain)).collect();
    assert_eq!(
        ids,
        [
            ("4f1c2a9e-7b3d-4e8a-9c21-5d6f7a8b9c0d", false),
            ("9b8e7d6c-5a4b-4c3d-8e2f-1a0b9c8d7e6f", true),
            ("9b8e7d6c-5a4b-4c3d-8e2f-1a0b9c8d7e6f", false)
        ]
    );
    assert!(sessions[1].turns.iter().all(|t| t.sidechain && t.author.as_deref() == Some("b41d2e")));
    assert_eq!(events.into_inner().unwrap(), [(0, 4), (1, 4), (2, 4), (3, 4), (4, 4)]);
}

#[test]
fn named_files_must_be_transcripts_but_walked_ones_may_not_be() {
    let meta = fixture(&format!(
        "{CLAUDE_DIR}/9b8e7d6c-5a4b-4c3d-8e2f-1a0b9c8d7e6f/subagents/agent-b41d2e.meta.json"
    ));
    let err = import_paths(&[meta], FormatChoice::Auto, &Silent).unwrap_err().to_string();
    assert!(err.contains("agent-b41d2e.meta.json: not a recognised session transcript"), "{err}");
    let walked =
        session::transcript_files(&[fixture(CLAUDE_DIR)], FormatChoice::Fixed(SessionFormat::ClaudeCode));
    let names: Vec<String> =
        walked.unwrap().iter().map(|f| f.path.file_name().unwrap().to_string_lossy().into_owned()).collect();
    assert_eq!(
        names,
        [
            "4f1c2a9e-7b3d-4e8a-9c21-5d6f7a8b9c0d.jsonl",
            "agent-b41d2e.jsonl",
            "9b8e7d6c-5a4b-4c3d-8e2f-1a0b9c8d7e6f.jsonl"
        ]
    );
}

#[test]
fn managed_agents_event_array() {
    use Role::*;
    let s = only("managed-agents/deploy-events.json");
    assert_eq!(s.format, SessionFormat::ManagedAgents);
    assert_eq!(roles(&s), [User, Assistant, Tool, Assistant, Tool, Assistant, Tool, Assistant]);
    assert_eq!(s.turns[1].text, "Checking the current deployment first.");
    assert_eq!(s.turns[3].tool_calls[0].name, "dbtools/run_migration");
    let failed = &s.turns[4].tool_results[0];
    assert!(failed.is_error);
    assert_eq!(failed.call_id.as_deref(), Some("sevt_09"));
    assert_eq!(s.turns[6].tool_results[0].call_id.as_deref(), Some("sevt_12"));
    assert_eq!(s.turns[6].tool_results[0].content, "approved by Léa");
    assert_eq!(s.turns[7].text, "Billing is deployed to staging ✅");
}

#[test]
fn managed_agents_page_and_jsonl_give_the_same_session() {
    use Role::*;
    let page = only("managed-agents/rotate-page.json");
    let lines = only("managed-agents/rotate-events.jsonl");
    assert_eq!(page, lines);
    assert_eq!(roles(&page), [User, Assistant, Tool, Assistant, Assistant, Tool]);
    assert_eq!(page.turns[0].text, "Rotate the API key for the reporting job.");
    let denied = &page.turns[2].tool_results[0];
    assert!(denied.is_error);
    assert_eq!(denied.content, "tool use denied: Use the rotate-key workflow, not vault directly.");
    assert!(!page.turns[3].sidechain && page.turns[4].sidechain && page.turns[5].sidechain);
}

#[test]
fn openai_chat() {
    use Role::*;
    let s = only("openai/support-chat.json");
    assert_eq!(s.format, SessionFormat::OpenAi);
    assert_eq!(s.external_id.as_deref(), Some("chatcmpl-support-0415"));
    assert_eq!(roles(&s), [System, User, Assistant, Tool, Assistant, Tool, Assistant, User]);
    assert_eq!(s.turns[1].author.as_deref(), Some("kari"));
    assert_eq!(s.turns[2].tool_calls[0].input, r#"{"city":"Tromsø","day":"saturday"}"#);
    assert_eq!(s.turns[5].tool_results[0].content, "10:00-16:00");
    assert_eq!(s.turns[6].author.as_deref(), Some("fjord-support"));
}

#[test]
fn openai_jsonl_of_conversations() {
    let sessions = import_file(&fixture("openai/finetune-conversations.jsonl"), FormatChoice::Auto).unwrap();
    let ids: Vec<_> = sessions.iter().filter_map(|s| s.external_id.as_deref()).collect();
    assert_eq!(ids, ["ft-0001", "ft-0002"]);
    assert_eq!(sessions[1].turns[1].tool_calls[0].input, r#"{"push":true,"tag":"v2.4.1"}"#);
    assert_eq!(sessions[1].turns[2].tool_results[0].content, "fatal: tag 'v2.4.1' already exists");
}

#[test]
fn text_transcripts() {
    use Role::*;
    let md = only("text/pairing.md");
    assert_eq!(md.format, SessionFormat::Text);
    assert_eq!(roles(&md), [User, Assistant, Tool, Assistant, User]);
    assert!(md.turns[2].tool_results[0].content.contains("exit code: 1"));
    assert_eq!(md.turns[4].text, "Danke! Also: the staging port is 5433, production is 5432.");
    let authors: Vec<_> = md.turns.iter().map(|t| t.author.as_deref()).collect();
    assert_eq!(authors, [Some("ana"), None, None, None, Some("jonas")]);
    let txt = only("text/support.txt");
    assert_eq!(roles(&txt), [User, Assistant, User, Assistant, User]);
    assert!(txt.turns[3].text.contains("url = https://github.com/fjord/theme.git"));
}

#[test]
fn detection_agrees_with_the_named_format() {
    let cases = [
        (CLAUDE_FILE, SessionFormat::ClaudeCode),
        ("managed-agents/deploy-events.json", SessionFormat::ManagedAgents),
        ("managed-agents/rotate-page.json", SessionFormat::ManagedAgents),
        ("managed-agents/rotate-events.jsonl", SessionFormat::ManagedAgents),
        ("openai/support-chat.json", SessionFormat::OpenAi),
        ("openai/finetune-conversations.jsonl", SessionFormat::OpenAi),
        ("text/pairing.md", SessionFormat::Text),
        ("text/support.txt", SessionFormat::Text),
    ];
    for (rel, format) in cases {
        let bytes = std::fs::read(fixture(rel)).unwrap();
        assert_eq!(session::detect::detect(&bytes, rel).unwrap(), format, "{rel}");
        let fixed = import_file(&fixture(rel), FormatChoice::Fixed(format)).unwrap();
        assert_eq!(fixed, import_file(&fixture(rel), FormatChoice::Auto).unwrap(), "{rel}");
    }
}

#[test]
fn malformed_inputs_name_the_file_and_place() {
    let cases = [
        ("claude-code-torn.jsonl", "claude-code-torn.jsonl: line 5: invalid JSON: EOF while parsing"),
        ("claude-code-bad-content.jsonl", "claude-code-bad-content.jsonl: line 4: message.content must be"),
        ("events-bad.jsonl", "events-bad.jsonl: line 3: expected a JSON object, found an array"),
        ("chat-syntax.json", "chat-syntax.json: line 4, column 5: invalid JSON: expected `,` or `]`"),
        ("chat-unknown-role.json", "chat-unknown-role.json: messages[1]: unknown role \"moderator\""),
        ("notes.txt", "notes.txt: not a recognised session transcript (no speaker lines"),
        ("unknown.json", "unknown.json: not a recognised session transcript (a JSON object with neither"),
        ("empty.jsonl", "empty.jsonl: not a recognised session transcript (the file is empty)"),
    ];
    for (name, expected) in cases {
        let err = import_file(&fixture(&format!("malformed/{name}")), FormatChoice::Auto).unwrap_err();
        let text = err.to_string();
        assert!(text.contains(expected), "{text:?} should contain {expected:?}");
        assert!(text.contains("tests/fixtures/sessions/malformed/"), "{text}");
    }
}

#[test]
fn a_missing_file_is_an_io_error_naming_it() {
    let err = import_file(Path::new("/nonexistent/x.jsonl"), FormatChoice::Auto).unwrap_err();
    assert!(matches!(err, SessionError::Io { .. }));
    assert!(err.to_string().starts_with("/nonexistent/x.jsonl: "), "{err}");
    let err = import_paths(&[PathBuf::from("/nonexistent")], FormatChoice::Auto, &Silent).unwrap_err();
    assert!(err.to_string().starts_with("/nonexistent: "), "{err}");
}

#[test]
fn file_listing_skips_hidden_and_foreign_files() {
    let dir = tempfile::tempdir().unwrap();
    let write = |rel: &str| {
        let path = dir.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, "User: hi\n").unwrap();
    };
    for rel in
        ["b/z.md", "a.jsonl", ".hidden/x.md", "b/.secret.md", "c/pic.png", "C.TXT", "s/tool-results/t.txt"]
    {
        write(rel);
    }
    let inputs = [dir.path().to_path_buf(), dir.path().join("a.jsonl"), dir.path().join("c/pic.png")];
    let files = session::transcript_files(&inputs, FormatChoice::Auto).unwrap();
    let names: Vec<_> =
        files.iter().map(|f| (f.path.strip_prefix(dir.path()).unwrap().to_path_buf(), f.named)).collect();
    assert_eq!(
        names,
        [
            (PathBuf::from("C.TXT"), false),
            ("a.jsonl".into(), true),
            ("b/z.md".into(), false),
            ("c/pic.png".into(), true)
        ]
    );
    let text_only =
        session::transcript_files(&[dir.path().to_path_buf()], FormatChoice::Fixed(SessionFormat::Text));
    assert_eq!(text_only.unwrap().len(), 2);
}
