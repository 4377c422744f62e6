//! Importer for Claude Code transcripts
//! (`~/.claude/projects/<project>/<session>.jsonl`).
//!
//! Each line is a JSON object with a `type`. Lines of type `user` and
//! `assistant` carry a `message` whose `content` is a string or a list of
//! blocks; every other type (`summary`, `file-history-snapshot`, `system`,
//! ...) is skipped. The rules, chosen to follow what Claude Code writes:
//!
//! - `text` blocks become the turn's text (several blocks are joined as
//!   paragraphs); `thinking` and `redacted_thinking` blocks are dropped;
//!   images and documents are skipped.
//! - `tool_use` blocks become [`ToolCall`]s whose input is compact JSON.
//! - Claude Code writes tool results as `user` lines. Their `tool_result`
//!   blocks become a turn of role [`Role::Tool`] carrying the
//!   [`ToolResult`]s (with `is_error`; content a string or text blocks). If
//!   the same line also holds user text, that text follows as its own
//!   [`Role::User`] turn, so a person's words are never attributed to a tool.
//! - Claude Code writes one line per content block of an assistant message;
//!   consecutive `assistant` lines with the same `message.id` are merged into
//!   one turn.
//! - `user` lines flagged `isMeta` or `isCompactSummary` (injected by the
//!   harness, not typed by the person) become [`Role::System`] turns.
//! - `isSidechain` lines (a sub-agent's transcript) are kept and marked
//!   [`Turn::sidechain`]; their `agentId`, when present, is the turn author.
//! - `sessionId`, `cwd` and `timestamp` are read where present. A file may
//!   hold lines of several sessions (Claude Code copies history on resume):
//!   one [`Session`] is returned per `sessionId`, in order of first
//!   appearance; a line without one belongs to the session before it.
//!   Sessions without any turn are not returned.
//! - A line whose `uuid` was already taken into its session is a repeat
//!   (Claude Code can write a line again) and is skipped. Turns keep the
//!   file's order; branches left behind when a message was edited are kept
//!   (`parentUuid` is not followed).
//!
//! Any line that is not a JSON object, lacks a `type`, or has a `user` or
//! `assistant` line of the wrong shape is an error naming the line.

use std::collections::BTreeSet;

use serde_json::Value;

use super::error::{Location, SessionError};
use super::json::{self, Object};
use super::{Role, Session, SessionFormat, ToolCall, ToolResult, Turn};

/// Parses a Claude Code JSONL transcript.
pub fn parse(bytes: &[u8], file: &str) -> Result<Vec<Session>, SessionError> {
    let mut sessions: Vec<Builder> = Vec::new();
    for (number, line) in json::lines(json::strip_bom(bytes)) {
        let at = Location::Line(number);
        let obj = json::object_line(file, number, line)?;
        let Some(kind) = json::opt_str(&obj, "type", file, &at)? else {
            return Err(SessionError::malformed(file, at, "line has no \"type\" field"));
        };
        if kind != "user" && kind != "assistant" {
            continue;
        }
        let session_id = json::opt_str(&obj, "sessionId", file, &at)?;
        let index = match session_id {
            Some(id) => match sessions.iter().position(|b| b.external_id.as_deref() == Some(id)) {
                Some(i) => i,
                None => {
                    sessions.push(Builder::new(Some(id.to_owned())));
                    sessions.len() - 1
                }
            },
            None => {
                if sessions.is_empty() {
                    sessions.push(Builder::new(None));
                }
                sessions.len() - 1
            }
        };
        let builder = &mut sessions[index];
        if let Some(uuid) = json::opt_str(&obj, "uuid", file, &at)?
            && !builder.seen.insert(uuid.to_owned())
        {
            continue;
        }
        if builder.cwd.is_none() {
            builder.cwd = json::opt_str(&obj, "cwd", file, &at)?.filter(|c| !c.is_empty()).map(str::to_owned);
        }
        builder.line(kind == "assistant", &obj, file, &at)?;
    }
    Ok(sessions.into_iter().filter(|b| !b.turns.is_empty()).map(Builder::finish).collect())
}

/// One session being assembled.
struct Builder {
    external_id: Option<String>,
    cwd: Option<String>,
    turns: Vec<Turn>,
    /// `message.id` of the last turn, when it was an assistant turn.
    last_message_id: Option<String>,
    /// `uuid`s of the lines taken so far.
    seen: BTreeSet<String>,
}

impl Builder {
    fn new(external_id: Option<String>) -> Self {
        Self { external_id, cwd: None, turns: Vec::new(), last_message_id: None, seen: BTreeSet::new() }
    }

    fn finish(self) -> Session {
        Session::new(SessionFormat::ClaudeCode, self.external_id, self.cwd, self.turns)
    }

    /// Adds the turns of one `user` or `assistant` line.
    fn line(&mut self, assistant: bool, obj: &Object, file: &str, at: &Location) -> Result<(), SessionError> {
        let timestamp = json::opt_timestamp(obj, "timestamp", file, at)?;
        let sidechain = json::opt_bool(obj, "isSidechain", file, at)?;
        let author =
            if sidechain { json::opt_str(obj, "agentId", file, at)?.map(str::to_owned) } else { None };
        let message = match obj.get("message") {
            Some(Value::Object(m)) => m,
            Some(other) => {
                let found = json::kind(other);
                return Err(SessionError::malformed(
                    file,
                    at.clone(),
                    format!("field \"message\" must be an object, found {found}"),
                ));
            }
            None => return Err(SessionError::malformed(file, at.clone(), "line has no \"message\" field")),
        };
        let content = Content::read(message, file, at)?;
        let template = Turn {
            role: Role::User,
            author,
            text: String::new(),
            tool_calls: Vec::new(),
            tool_results: Vec::new(),
            timestamp,
            sidechain,
        };

        if assistant {
            let message_id = json::opt_str(message, "id", file, at)?;
            let continues = message_id.is_some()
                && self.last_message_id.as_deref() == message_id
                && self.turns.last().is_some_and(|t| t.sidechain == sidechain);
            if continues && let Some(last) = self.turns.last_mut() {
                json::push_paragraph(&mut last.text, &content.text);
                last.tool_calls.extend(content.tool_calls);
            } else {
                self.turns.push(Turn {
                    role: Role::Assistant,
                    text: content.text,
                    tool_calls: content.tool_calls,
                    ..template
                });
            }
            self.last_message_id = message_id.map(str::to_owned);
            return Ok(());
        }

        self.last_message_id = None;
        let meta =
            json::opt_bool(obj, "isMeta", file, at)? || json::opt_bool(obj, "isCompactSummary", file, at)?;
        let role = if meta { Role::System } else { Role::User };
        if !content.tool_results.is_empty() {
            self.turns.push(Turn {
                role: Role::Tool,
                tool_results: content.tool_results,
                ..template.clone()
            });
            if !content.text.is_empty() {
                self.turns.push(Turn { role, text: content.text, ..template });
            }
        } else {
            // A user line with only images still marks a turn of the person.
            self.turns.push(Turn { role, text: content.text, tool_calls: content.tool_calls, ..template });
        }
        Ok(())
    }
}

/// What a message's `content` holds, sorted by kind.
struct Content {
    text: String,
    tool_calls: Vec<ToolCall>,
    tool_results: Vec<ToolResult>,
}

impl Content {
    fn read(message: &Object, file: &str, at: &Location) -> Result<Self, SessionError> {
        let mut content = Content { text: String::new(), tool_calls: Vec::new(), tool_results: Vec::new() };
        match message.get("content") {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) => content.text = s.clone(),
            Some(Value::Array(blocks)) => {
                for (i, block) in blocks.iter().enumerate() {
                    content.block(block, i, file, at)?;
                }
            }
            Some(other) => {
                let found = json::kind(other);
                return Err(SessionError::malformed(
                    file,
                    at.clone(),
                    format!("message.content must be a string or a list of blocks, found {found}"),
                ));
            }
        }
        Ok(content)
    }

    fn block(&mut self, block: &Value, index: usize, file: &str, at: &Location) -> Result<(), SessionError> {
        let bad = |what: String| {
            SessionError::malformed(file, at.clone(), format!("content block {index}: {what}"))
        };
        let Value::Object(block) = block else {
            return Err(bad(format!("expected an object, found {}", json::kind(block))));
        };
        let kind = match block.get("type") {
            Some(Value::String(k)) => k.as_str(),
            _ => return Err(bad("block has no \"type\"".to_owned())),
        };
        match kind {
            "text" => match block.get("text") {
                Some(Value::String(t)) => json::push_paragraph(&mut self.text, t),
                _ => return Err(bad("text block has no \"text\" string".to_owned())),
            },
            "tool_use" | "server_tool_use" => {
                let name = match block.get("name") {
                    Some(Value::String(n)) => n.clone(),
                    _ => return Err(bad("tool_use block has no \"name\" string".to_owned())),
                };
                let id = block.get("id").and_then(Value::as_str).map(str::to_owned);
                let input = block.get("input").map(json::compact).unwrap_or_else(|| "{}".to_owned());
                self.tool_calls.push(ToolCall { id, name, input });
            }
            "tool_result" => {
                let call_id = block.get("tool_use_id").and_then(Value::as_str).map(str::to_owned);
                let is_error = match block.get("is_error") {
                    None | Some(Value::Null) => false,
                    Some(Value::Bool(b)) => *b,
                    Some(other) => {
                        return Err(bad(format!("is_error must be a boolean, found {}", json::kind(other))));
                    }
                };
                let content = result_text(block.get("content")).map_err(bad)?;
                self.tool_results.push(ToolResult { call_id, content, is_error });
            }
            // Thinking is the model's scratch space, not what it said;
            // images and documents have no text to keep.
            _ => {}
        }
        Ok(())
    }
}

/// The text of a `tool_result` content: a string, or the text blocks of a
/// list (other blocks, such as images, are skipped).
pub(crate) fn result_text(content: Option<&Value>) -> Result<String, String> {
    match content {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Array(parts)) => {
            let mut text = String::new();
            for part in parts {
                match part {
                    Value::String(s) => json::push_paragraph(&mut text, s),
                    Value::Object(p) if p.get("type").and_then(Value::as_str) == Some("text") => {
                        if let Some(t) = p.get("text").and_then(Value::as_str) {
                            json::push_paragraph(&mut text, t);
                        }
                    }
                    Value::Object(_) => {}
                    other => return Err(format!("tool result content part is {}", json::kind(other))),
                }
            }
            Ok(text)
        }
        Some(other) => {
            Err(format!("tool result content must be a string or a list, found {}", json::kind(other)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(input: &str) -> Session {
        let mut sessions = parse(input.as_bytes(), "t.jsonl").unwrap();
        assert_eq!(sessions.len(), 1);
        sessions.remove(0)
    }

    #[test]
    fn reads_string_and_block_content() {
        let s = one(concat!(
            r#"{"type":"summary","summary":"x","leafUuid":"u"}"#,
            "\n",
            r#"{"type":"user","sessionId":"s1","cwd":"/w","timestamp":"2026-05-06T10:00:00Z","message":{"role":"user","content":"hi"}}"#,
            "\n",
            r#"{"type":"assistant","sessionId":"s1","message":{"id":"m1","role":"assistant","content":[{"type":"thinking","thinking":"hmm"},{"type":"text","text":"hello"}]}}"#,
            "\n",
            r#"{"type":"assistant","sessionId":"s1","message":{"id":"m1","role":"assistant","content":[{"type":"tool_use","id":"t1","name":"Bash","input":{"command":"ls","b":1}}]}}"#,
            "\n",
            r#"{"type":"user","sessionId":"s1","message":{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","is_error":true,"content":[{"type":"text","text":"no such dir"}]}]}}"#,
        ));
        assert_eq!(s.external_id.as_deref(), Some("s1"));
        assert_eq!(s.cwd.as_deref(), Some("/w"));
        assert_eq!(s.turns.len(), 3);
        assert_eq!(s.turns[0].role, Role::User);
        assert_eq!(s.turns[0].text, "hi");
        assert!(s.turns[0].timestamp.is_some());
        assert_eq!(s.turns[1].role, Role::Assistant);
        assert_eq!(s.turns[1].text, "hello");
        assert_eq!(s.turns[1].tool_calls[0].input, r#"{"b":1,"command":"ls"}"#);
        assert_eq!(s.turns[2].role, Role::Tool);
        assert_eq!(
            s.turns[2].tool_results,
            vec![ToolResult { call_id: Some("t1".into()), content: "no such dir".into(), is_error: true }]
        );
    }

    #[test]
    fn separates_sessions_and_drops_empty_ones() {
        let input = concat!(
            r#"{"type":"user","sessionId":"a","message":{"content":"one"}}"#,
            "\n",
            r#"{"type":"user","sessionId":"b","message":{"content":"two"}}"#,
            "\n",
            r#"{"type":"user","message":{"content":"three"}}"#,
            "\n",
            r#"{"type":"file-history-snapshot","messageId":"x","snapshot":{}}"#,
        );
        let sessions = parse(input.as_bytes(), "t.jsonl").unwrap();
        let ids: Vec<_> = sessions.iter().map(|s| s.external_id.clone().unwrap()).collect();
        assert_eq!(ids, ["a", "b"]);
        assert_eq!(sessions[1].turns.len(), 2);
        let only_summary = r#"{"type":"summary","summary":"x"}"#;
        assert!(parse(only_summary.as_bytes(), "t.jsonl").unwrap().is_empty());
    }

    #[test]
    fn repeated_lines_are_taken_once() {
        let line = r#"{"type":"user","uuid":"u1","sessionId":"a","message":{"content":"once"}}"#;
        let other = r#"{"type":"user","uuid":"u1","sessionId":"b","message":{"content":"once"}}"#;
        let input = format!("{line}\n{line}\n{other}\n");
        let sessions = parse(input.as_bytes(), "t.jsonl").unwrap();
        assert_eq!(sessions[0].turns.len(), 1);
        assert_eq!(sessions[1].turns.len(), 1, "uuids are tracked per session");
    }

    #[test]
    fn mixed_user_line_splits_tool_results_from_text() {
        let s = one(
            r#"{"type":"user","message":{"content":[{"type":"tool_result","tool_use_id":"t","content":"ok"},{"type":"text","text":"stop, use pnpm"}]}}"#,
        );
        assert_eq!(s.turns.iter().map(|t| t.role).collect::<Vec<_>>(), [Role::Tool, Role::User]);
        assert_eq!(s.turns[1].text, "stop, use pnpm");
    }

    #[test]
    fn sidechain_and_meta_are_marked() {
        let s = one(concat!(
            r#"{"type":"user","isMeta":true,"message":{"content":"Caveat: local command"}}"#,
            "\n",
            r#"{"type":"assistant","isSidechain":true,"agentId":"a1b2","message":{"content":[{"type":"text","text":"sub"}]}}"#,
        ));
        assert_eq!(s.turns[0].role, Role::System);
        assert!(s.turns[1].sidechain);
        assert_eq!(s.turns[1].author.as_deref(), Some("a1b2"));
    }

    #[test]
    fn malformed_lines_are_named() {
        let cases = [
            ("{\"type\":\"user\",\"message\":{\"content\":\"a\"}}\n{oops\n", "t.jsonl: line 2: invalid JSON"),
            ("\n\n{\"message\":{}}", "t.jsonl: line 3: line has no \"type\" field"),
            ("{\"type\":\"user\"}", "t.jsonl: line 1: line has no \"message\" field"),
            ("{\"type\":\"user\",\"message\":{\"content\":5}}", "t.jsonl: line 1: message.content must be"),
            (
                "{\"type\":\"assistant\",\"message\":{\"content\":[{\"text\":\"x\"}]}}",
                "line 1: content block 0",
            ),
            (
                "{\"type\":\"user\",\"timestamp\":\"noon\",\"message\":{}}",
                "line 1: field \"timestamp\" is not",
            ),
        ];
        for (input, expected) in cases {
            let err = parse(input.as_bytes(), "t.jsonl").unwrap_err().to_string();
            assert!(err.contains(expected), "{err:?} should contain {expected:?}");
        }
    }
}
