//! Importer for Claude Managed Agents session events (as listed by
//! `GET /v1/sessions/{id}/events` or saved from the event stream).
//!
//! Accepted containers: a JSON array of events, a list page
//! `{"data": [...], ...}`, or JSONL with one event per line. Events are
//! read in the order given. Event types (`{domain}.{action}`):
//!
//! | event | becomes |
//! |---|---|
//! | `user.message` | a [`Role::User`] turn (text blocks; images, documents skipped) |
//! | `system.message` | a [`Role::System`] turn |
//! | `agent.message` | text of an [`Role::Assistant`] turn |
//! | `agent.tool_use`, `agent.mcp_tool_use`, `agent.custom_tool_use` | a [`ToolCall`] of an assistant turn (call id = the event `id`) |
//! | `agent.tool_result`, `agent.mcp_tool_result`, `user.custom_tool_result` | a [`ToolResult`] of a [`Role::Tool`] turn, with `is_error` |
//! | `user.tool_confirmation` with `result: "deny"` | an error [`ToolResult`] (`tool use denied`, plus the `deny_message`) |
//! | anything else (`agent.thinking`, `session.*`, `span.*`, `user.interrupt`, unknown types) | skipped |
//!
//! Consecutive agent messages and tool uses form one assistant turn, and
//! consecutive results one tool turn, as a model turn would. Events with a
//! `session_thread_id` come from a sub-agent thread and are marked
//! [`Turn::sidechain`]. Timestamps come from `processed_at` (or
//! `created_at`); the session's external id from a `session_id` field of
//! the events or of the list page, where present.

use serde_json::Value;

use super::claude_code::result_text;
use super::error::{Location, SessionError};
use super::json::{self, Object};
use super::{Role, Session, SessionFormat, ToolCall, ToolResult, Turn};

/// Parses Managed Agents events: a JSON array, a `{data: [...]}` page, or JSONL.
pub fn parse(bytes: &[u8], file: &str) -> Result<Vec<Session>, SessionError> {
    let bytes = json::strip_bom(bytes);
    let mut builder = Builder::default();
    match whole_document(bytes, file)? {
        Some(Value::Array(events)) => {
            for (i, event) in events.iter().enumerate() {
                builder.event(event, file, Location::Item(format!("event {i}")))?;
            }
        }
        Some(Value::Object(page)) if page.contains_key("data") => {
            builder.external_id = page.get("session_id").and_then(Value::as_str).map(str::to_owned);
            let Some(Value::Array(events)) = page.get("data") else {
                return Err(SessionError::malformed(
                    file,
                    Location::Item("data".into()),
                    "\"data\" must be a list",
                ));
            };
            for (i, event) in events.iter().enumerate() {
                builder.event(event, file, Location::Item(format!("data[{i}]")))?;
            }
        }
        // A single object or several lines: JSON Lines, one event each.
        _ => {
            for (number, line) in json::lines(bytes) {
                let obj = json::object_line(file, number, line)?;
                builder.event(&Value::Object(obj), file, Location::Line(number))?;
            }
        }
    }
    Ok(builder.finish().into_iter().collect())
}

/// The input as one JSON document when it is one: an array, or an object
/// spread over several lines (a syntax error there is reported by line and
/// column). `None` for JSON Lines.
fn whole_document(bytes: &[u8], file: &str) -> Result<Option<Value>, SessionError> {
    let first_line = json::lines(bytes).next().map(|(_, l)| l.trim_ascii());
    let spread = matches!(first_line, Some(l) if l.starts_with(b"[") || l == b"{");
    if spread {
        return json::document(file, bytes).map(Some);
    }
    Ok(serde_json::from_slice::<Value>(bytes).ok())
}

#[derive(Default)]
struct Builder {
    external_id: Option<String>,
    turns: Vec<Turn>,
}

impl Builder {
    fn finish(self) -> Option<Session> {
        (!self.turns.is_empty())
            .then(|| Session::new(SessionFormat::ManagedAgents, self.external_id, None, self.turns))
    }

    fn event(&mut self, event: &Value, file: &str, at: Location) -> Result<(), SessionError> {
        let Value::Object(event) = event else {
            let found = json::kind(event);
            return Err(SessionError::malformed(
                file,
                at,
                format!("expected an event object, found {found}"),
            ));
        };
        let Some(kind) = json::opt_str(event, "type", file, &at)? else {
            return Err(SessionError::malformed(file, at, "event has no \"type\" field"));
        };
        if self.external_id.is_none() {
            self.external_id = json::opt_str(event, "session_id", file, &at)?.map(str::to_owned);
        }
        let timestamp = match json::opt_timestamp(event, "processed_at", file, &at)? {
            Some(t) => Some(t),
            None => json::opt_timestamp(event, "created_at", file, &at)?,
        };
        let sidechain = json::opt_str(event, "session_thread_id", file, &at)?.is_some();
        let turn = |role: Role| Turn {
            role,
            author: None,
            text: String::new(),
            tool_calls: Vec::new(),
            tool_results: Vec::new(),
            timestamp,
            sidechain,
        };
        match kind {
            "user.message" | "system.message" => {
                let role = if kind == "user.message" { Role::User } else { Role::System };
                let text = blocks_text(event, file, &at)?;
                self.turns.push(Turn { text, ..turn(role) });
            }
            "agent.message" => {
                let text = blocks_text(event, file, &at)?;
                let last = self.open(Role::Assistant, sidechain, || turn(Role::Assistant));
                json::push_paragraph(&mut last.text, &text);
            }
            "agent.tool_use" | "agent.mcp_tool_use" | "agent.custom_tool_use" => {
                let Some(name) = json::opt_str(event, "name", file, &at)? else {
                    return Err(SessionError::malformed(file, at, format!("{kind} event has no \"name\"")));
                };
                let name = match json::opt_str(event, "mcp_server_name", file, &at)? {
                    Some(server) => format!("{server}/{name}"),
                    None => name.to_owned(),
                };
                let call = ToolCall {
                    id: json::opt_str(event, "id", file, &at)?.map(str::to_owned),
                    name,
                    input: event.get("input").map(json::compact).unwrap_or_else(|| "{}".to_owned()),
                };
                self.open(Role::Assistant, sidechain, || turn(Role::Assistant)).tool_calls.push(call);
            }
            "agent.tool_result" | "agent.mcp_tool_result" | "user.custom_tool_result" => {
                let id_field = match kind {
                    "agent.mcp_tool_result" => "mcp_tool_use_id",
                    "user.custom_tool_result" => "custom_tool_use_id",
                    _ => "tool_use_id",
                };
                let call_id = match json::opt_str(event, id_field, file, &at)? {
                    Some(id) => Some(id),
                    None => json::opt_str(event, "tool_use_id", file, &at)?,
                };
                let content = result_text(event.get("content"))
                    .map_err(|m| SessionError::malformed(file, at.clone(), m))?;
                let result = ToolResult {
                    call_id: call_id.map(str::to_owned),
                    content,
                    is_error: json::opt_bool(event, "is_error", file, &at)?,
                };
                self.open(Role::Tool, sidechain, || turn(Role::Tool)).tool_results.push(result);
            }
            "user.tool_confirmation" if json::opt_str(event, "result", file, &at)? == Some("deny") => {
                let mut content = "tool use denied".to_owned();
                if let Some(message) = json::opt_str(event, "deny_message", file, &at)? {
                    content = format!("{content}: {message}");
                }
                let result = ToolResult {
                    call_id: json::opt_str(event, "tool_use_id", file, &at)?.map(str::to_owned),
                    content,
                    is_error: true,
                };
                self.open(Role::Tool, sidechain, || turn(Role::Tool)).tool_results.push(result);
            }
            _ => {}
        }
        Ok(())
    }

    /// The last turn if it has `role` and the same thread, else a new one.
    fn open(&mut self, role: Role, sidechain: bool, new: impl FnOnce() -> Turn) -> &mut Turn {
        let reuse = self.turns.last().is_some_and(|t| t.role == role && t.sidechain == sidechain);
        if !reuse {
            self.turns.push(new());
        }
        let last = self.turns.len() - 1;
        &mut self.turns[last]
    }
}

/// The text blocks of an event's `content` (a list of blocks or a string).
fn blocks_text(event: &Object, file: &str, at: &Location) -> Result<String, SessionError> {
    result_text(event.get("content")).map_err(|m| SessionError::malformed(file, at.clone(), m))
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVENTS: &str = r#"[
      {"id":"ev1","type":"user.message","processed_at":"2026-05-06T10:00:00Z","content":[{"type":"text","text":"Deploy to staging"}]},
      {"id":"ev2","type":"span.model_request_start","processed_at":"2026-05-06T10:00:01Z"},
      {"id":"ev3","type":"agent.thinking","processed_at":"2026-05-06T10:00:02Z"},
      {"id":"ev4","type":"agent.message","processed_at":"2026-05-06T10:00:03Z","content":[{"type":"text","text":"Running the deploy."}]},
      {"id":"ev5","type":"agent.tool_use","processed_at":"2026-05-06T10:00:03Z","name":"bash","input":{"command":"make deploy"}},
      {"id":"ev6","type":"agent.tool_result","processed_at":"2026-05-06T10:00:09Z","tool_use_id":"ev5","is_error":true,"content":[{"type":"text","text":"port 5433 refused"}]},
      {"id":"ev7","type":"session.status_idle","processed_at":"2026-05-06T10:00:10Z","stop_reason":{"type":"end_turn"}}
    ]"#;

    #[test]
    fn reads_an_event_array() {
        let sessions = parse(EVENTS.as_bytes(), "e.json").unwrap();
        let s = &sessions[0];
        assert_eq!(
            s.turns.iter().map(|t| t.role).collect::<Vec<_>>(),
            [Role::User, Role::Assistant, Role::Tool]
        );
        assert_eq!(s.turns[1].text, "Running the deploy.");
        assert_eq!(s.turns[1].tool_calls[0].id.as_deref(), Some("ev5"));
        assert!(s.turns[2].tool_results[0].is_error);
        assert_eq!(s.turns[2].tool_results[0].call_id.as_deref(), Some("ev5"));
    }

    #[test]
    fn page_array_and_jsonl_agree() {
        let events: Vec<Value> = serde_json::from_str(EVENTS).unwrap();
        let page = serde_json::json!({"data": events, "next_page": null}).to_string();
        let jsonl: String = events.iter().map(|e| format!("{e}\n")).collect();
        let a = parse(EVENTS.as_bytes(), "a").unwrap();
        assert_eq!(parse(page.as_bytes(), "b").unwrap(), a);
        assert_eq!(parse(jsonl.as_bytes(), "c").unwrap(), a);
    }

    #[test]
    fn denial_is_a_tool_error_and_threads_are_sidechains() {
        let input = concat!(
            r#"{"type":"agent.mcp_tool_use","id":"e1","name":"query","mcp_server_name":"db","input":{},"session_thread_id":"th1"}"#,
            "\n",
            r#"{"type":"user.tool_confirmation","tool_use_id":"e1","result":"deny","deny_message":"not on prod"}"#,
            "\n",
            r#"{"type":"user.tool_confirmation","tool_use_id":"e1","result":"allow"}"#,
            "\n",
            r#"{"type":"brand.new_event","whatever":1}"#,
        );
        let s = &parse(input.as_bytes(), "e.jsonl").unwrap()[0];
        assert_eq!(s.turns[0].tool_calls[0].name, "db/query");
        assert!(s.turns[0].sidechain);
        assert_eq!(s.turns[1].tool_results[0].content, "tool use denied: not on prod");
        assert!(s.turns[1].tool_results[0].is_error);
        assert_eq!(s.turns.len(), 2);
    }

    #[test]
    fn malformed_events_are_named() {
        let err = parse(br#"[{"type":"user.message"}, 3]"#, "e.json").unwrap_err().to_string();
        assert_eq!(err, "e.json: event 1: expected an event object, found a number");
        let err = parse(b"{\"type\":\"user.message\"}\n{\"id\":1}\n", "e.jsonl").unwrap_err().to_string();
        assert_eq!(err, "e.jsonl: line 2: event has no \"type\" field");
        let err =
            parse(br#"{"data":[{"type":"agent.tool_use","id":"x"}]}"#, "p.json").unwrap_err().to_string();
        assert_eq!(err, "p.json: data[0]: agent.tool_use event has no \"name\"");
    }
}
