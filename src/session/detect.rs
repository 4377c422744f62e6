//! `--format auto`: picks exactly one transcript format from a file's
//! content, with its extension as a hint.
//!
//! The rules, in order (the first that applies decides):
//!
//! 1. An empty file fits no format.
//! 2. Content that is one JSON document: an object with `messages` or an
//!    array whose first object has a `role` is OpenAI chat; an object with
//!    `data` or an array whose first object has a dotted `type`
//!    (`user.message`, `agent.tool_use`...) is Managed Agents events; a single
//!    object is read as a one-line JSONL file (rule 3). Any other JSON
//!    document fits no format.
//! 3. Content whose first line is a JSON object (JSONL): the first line
//!    whose `type` is recognisable decides. A dotted type from the `user`,
//!    `agent`, `session`, `span` or `system` domain means Managed Agents
//!    events; a Claude Code line type (`user`, `assistant`, `summary`,
//!    `system`, `file-history-snapshot`...) or any line with a `sessionId`
//!    means Claude Code; a line without a `type` holding `messages` (a
//!    conversation) or `role` (a message) means OpenAI chat. Lines that do
//!    not parse are left to the importer, which reports them by line number.
//! 4. Content that starts like JSON (`{` or `[`) but does not parse is
//!    reported as a JSON syntax error (line and column), unless the file is
//!    named `.md`, `.markdown` or `.txt`, which goes on to rule 5.
//! 5. Text with at least one speaker line (see [`text`]) is a
//!    text transcript. Anything else fits no format.
//!
//! The formats cannot overlap: rules 2–4 only accept JSON, and JSON never
//! begins a line with a speaker label.

use std::path::Path;

use serde_json::Value;

use super::error::{Location, SessionError};
use super::json::{self, Object};
use super::{SessionFormat, text};

/// Line types Claude Code writes (only `user` and `assistant` are imported).
const CLAUDE_CODE_TYPES: [&str; 8] = [
    "user",
    "assistant",
    "summary",
    "system",
    "file-history-snapshot",
    "queue-operation",
    "progress",
    "attachment",
];

/// Event domains of Managed Agents.
const EVENT_DOMAINS: [&str; 5] = ["user", "agent", "session", "span", "system"];

/// Decides the format of `bytes`, read from `file` (whose extension, if
/// any, is a hint for content that fits nothing else).
pub fn detect(bytes: &[u8], file: &str) -> Result<SessionFormat, SessionError> {
    let bytes = json::strip_bom(bytes);
    let unknown =
        |reason: &str| SessionError::UnknownFormat { file: file.to_owned(), reason: reason.to_owned() };
    let Some(first) = bytes.iter().find(|b| !b.is_ascii_whitespace()) else {
        return Err(unknown("the file is empty"));
    };
    let ext = Path::new(file).extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    let textual = matches!(ext.as_deref(), Some("md" | "markdown" | "txt"));
    if matches!(first, b'{' | b'[') {
        match serde_json::from_slice::<Value>(bytes) {
            Ok(Value::Array(items)) => {
                return match items.iter().find_map(Value::as_object) {
                    Some(item) if item.contains_key("role") => Ok(SessionFormat::OpenAi),
                    Some(item) if event_type(item) => Ok(SessionFormat::ManagedAgents),
                    Some(_) => {
                        Err(unknown("a JSON list whose items are neither chat messages nor session events"))
                    }
                    None => Err(unknown("a JSON list without any object")),
                };
            }
            Ok(Value::Object(doc)) => {
                if doc.contains_key("messages") {
                    return Ok(SessionFormat::OpenAi);
                }
                if matches!(doc.get("data"), Some(Value::Array(_))) {
                    return Ok(SessionFormat::ManagedAgents);
                }
                if let Some(format) = line_format(&doc) {
                    return Ok(format);
                }
                return Err(unknown(
                    "a JSON object with neither \"messages\", \"data\" nor a known \"type\"",
                ));
            }
            Ok(_) => return Err(unknown("a JSON value that is neither a list nor an object")),
            Err(syntax) => {
                let object = |line: &[u8]| match serde_json::from_slice::<Value>(line) {
                    Ok(Value::Object(obj)) => Some(obj),
                    _ => None,
                };
                // JSONL starts with a whole object on its first line; a
                // document spread over lines does not.
                if json::lines(bytes).next().and_then(|(_, line)| object(line)).is_some() {
                    let found =
                        json::lines(bytes).find_map(|(_, line)| object(line).as_ref().and_then(line_format));
                    return found.ok_or_else(|| unknown("JSON lines without a recognised \"type\""));
                }
                if !textual {
                    let at = Location::LineColumn(syntax.line(), syntax.column());
                    return Err(SessionError::malformed(file, at, json::syntax_message(&syntax)));
                }
            }
        }
    }
    if text::has_speaker_line(bytes) {
        return Ok(SessionFormat::Text);
    }
    Err(unknown(text::SPEAKER_HINT))
}

/// The format a single JSONL object points to, if it is recognisable.
fn line_format(obj: &Object) -> Option<SessionFormat> {
    if event_type(obj) {
        return Some(SessionFormat::ManagedAgents);
    }
    let kind = obj.get("type").and_then(Value::as_str);
    if kind.is_some_and(|k| CLAUDE_CODE_TYPES.contains(&k)) || obj.contains_key("sessionId") {
        return Some(SessionFormat::ClaudeCode);
    }
    if kind.is_none() && (obj.contains_key("messages") || obj.contains_key("role")) {
        return Some(SessionFormat::OpenAi);
    }
    None
}

/// Whether `obj` has a Managed Agents event type (`domain.action`).
fn event_type(obj: &Object) -> bool {
    let Some(kind) = obj.get("type").and_then(Value::as_str) else { return false };
    kind.split_once('.').is_some_and(|(domain, action)| EVENT_DOMAINS.contains(&domain) && !action.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_each_format() {
        let cases: [(&str, &[u8], SessionFormat); 11] = [
            ("t.jsonl", b"{\"messages\":[]}\n{\"messages\":[]}\n", SessionFormat::OpenAi),
            ("m.jsonl", b"{\"role\":\"user\",\"content\":\"x\"}\n{\"role\":\"user\"}", SessionFormat::OpenAi),
            (
                "a.jsonl",
                b"{\"type\":\"summary\",\"summary\":\"s\"}\n{\"type\":\"user\"}\n",
                SessionFormat::ClaudeCode,
            ),
            (
                "a.jsonl",
                b"{\"parentUuid\":null,\"sessionId\":\"x\",\"type\":\"new-kind\"}",
                SessionFormat::ClaudeCode,
            ),
            ("a.json", b"[{\"type\":\"user.message\",\"content\":[]}]", SessionFormat::ManagedAgents),
            ("a.json", b"{\"data\":[],\"next_page\":null}", SessionFormat::ManagedAgents),
            (
                "a.jsonl",
                b"{\"type\":\"session.status_idle\"}\n{\"type\":\"agent.message\"}",
                SessionFormat::ManagedAgents,
            ),
            ("a.json", b"{\"messages\":[]}", SessionFormat::OpenAi),
            ("a.json", b"\xEF\xBB\xBF [{\"role\":\"user\",\"content\":\"x\"}]", SessionFormat::OpenAi),
            ("a.md", b"# Notes\n\n**User:** hi\n", SessionFormat::Text),
            ("a.md", b"[link](x) first\nUser: hi\n", SessionFormat::Text),
        ];
        for (file, bytes, expected) in cases {
            assert_eq!(detect(bytes, file).unwrap(), expected, "{}", String::from_utf8_lossy(bytes));
        }
    }

    #[test]
    fn a_bad_line_does_not_hide_the_format() {
        let input = b"{\"type\":\"user\",\"message\":{\"content\":\"a\"}}\n{broken\n";
        assert_eq!(detect(input, "a.jsonl").unwrap(), SessionFormat::ClaudeCode);
    }

    #[test]
    fn refuses_what_fits_nothing() {
        let cases: [(&str, &[u8], &str); 7] = [
            ("e.txt", b"  \n", "the file is empty"),
            ("n.txt", b"plain notes", "no speaker lines"),
            ("o.json", b"{\"hello\":1}", "neither \"messages\""),
            ("l.json", b"[1,2]", "without any object"),
            ("j.jsonl", b"{\"a\":1}\n{\"b\":2}", "without a recognised"),
            ("b.json", b"{\n\"messages\": [\n}", "line 3, column 1"),
            ("c.json", b"{\n  \"messages\": [\n    {\"role\": \"user\"}\n    {}\n", "line 4, column 5"),
        ];
        for (file, bytes, expected) in cases {
            let err = detect(bytes, file).unwrap_err().to_string();
            assert!(err.starts_with(file), "{err}");
            assert!(err.contains(expected), "{err:?} should contain {expected:?}");
        }
    }
}
