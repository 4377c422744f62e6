//! Importer for OpenAI-style chat transcripts: `{"messages": [...]}` (with
//! an optional string `id`, kept as the external id), a bare array of
//! messages, or JSON Lines holding either one such conversation per line
//! (as in fine-tuning files; one session each) or one message per line (one
//! session in all).
//!
//! A session without an `id` is known by its file name (see
//! [`origin_name`](super::origin_name)), and a conversation on line N of a
//! JSON Lines file without one by `NAME:N`, so a report can always name the
//! transcript the way its owner knows it.
//!
//! Each message becomes one turn. Roles: `user`; `assistant`; `system` and
//! `developer` as [`Role::System`]; `tool` and the legacy `function` as
//! [`Role::Tool`]. `content` is a string, null, or a list of parts whose
//! `text`, `input_text`, `output_text` and `refusal` parts are kept (images,
//! audio and files are skipped). `tool_calls` (`function.name`,
//! `function.arguments`) and the legacy `function_call` become
//! [`ToolCall`]s, with arguments re-encoded as compact JSON when they parse.
//! A `tool` message becomes a [`ToolResult`] answering its `tool_call_id`;
//! the format has no error flag, so `is_error` is false. `name` is the turn
//! author (for tool messages it names the tool, so it is not an author
//! there). An unknown role is an error naming the message.

use serde_json::Value;

use super::error::{Location, SessionError};
use super::json::{self, Object};
use super::{Role, Session, SessionFormat, ToolCall, ToolResult, Turn};

/// Parses an OpenAI-style chat transcript (a JSON document or JSONL).
pub fn parse(bytes: &[u8], file: &str) -> Result<Vec<Session>, SessionError> {
    let bytes = json::strip_bom(bytes);
    let syntax = match serde_json::from_slice::<Value>(bytes) {
        Ok(doc) => return document(doc, file),
        Err(e) => e,
    };
    let first = json::lines(bytes).next().and_then(|(n, line)| json::object_line(file, n, line).ok());
    let Some(first) = first else {
        let at = Location::LineColumn(syntax.line(), syntax.column());
        return Err(SessionError::malformed(file, at, json::syntax_message(&syntax)));
    };
    // JSON Lines: one conversation per line, or one message per line.
    let conversations = first.contains_key("messages");
    let mut sessions = Vec::new();
    let mut loose = Vec::new();
    for (number, line) in json::lines(bytes) {
        let obj = json::object_line(file, number, line)?;
        if conversations {
            let at = |item: String| Location::Item(format!("line {number}, {item}"));
            let fallback = format!("{}:{number}", super::origin_name(file));
            sessions.extend(conversation(obj, file, fallback, &at)?);
        } else {
            loose.push(turn(&obj, file, &Location::Line(number))?);
        }
    }
    if !loose.is_empty() {
        sessions.push(Session::new(SessionFormat::OpenAi, Some(super::origin_name(file)), None, loose));
    }
    Ok(sessions)
}

/// One JSON document: a list of messages or a conversation object.
fn document(doc: Value, file: &str) -> Result<Vec<Session>, SessionError> {
    match doc {
        Value::Array(messages) => {
            let turns = messages_turns(&messages, file, &|item| Location::Item(item))?;
            Ok(session(Some(super::origin_name(file)), turns).into_iter().collect())
        }
        Value::Object(obj) => {
            let fallback = super::origin_name(file);
            Ok(conversation(obj, file, fallback, &|item| Location::Item(item))?.into_iter().collect())
        }
        other => {
            let found = json::kind(&other);
            Err(SessionError::malformed(
                file,
                Location::Item("top level".into()),
                format!("expected a list of messages or an object with \"messages\", found {found}"),
            ))
        }
    }
}

/// A conversation object `{"id"?, "messages": [...]}`, known by `fallback`
/// when it has no `id`; `at` places an item of it in the file.
fn conversation(
    mut obj: Object,
    file: &str,
    fallback: String,
    at: &dyn Fn(String) -> Location,
) -> Result<Option<Session>, SessionError> {
    let top = at("top level".into());
    let id = json::opt_str(&obj, "id", file, &top)?.map(str::to_owned).unwrap_or(fallback);
    let messages = match obj.remove("messages") {
        Some(Value::Array(messages)) => messages,
        Some(other) => {
            let found = json::kind(&other);
            return Err(SessionError::malformed(
                file,
                top,
                format!("\"messages\" must be a list, found {found}"),
            ));
        }
        None => return Err(SessionError::malformed(file, top, "no \"messages\" list")),
    };
    Ok(session(Some(id), messages_turns(&messages, file, at)?))
}

fn messages_turns(
    messages: &[Value],
    file: &str,
    at: &dyn Fn(String) -> Location,
) -> Result<Vec<Turn>, SessionError> {
    let mut turns = Vec::with_capacity(messages.len());
    for (i, message) in messages.iter().enumerate() {
        let at = at(format!("messages[{i}]"));
        let Value::Object(message) = message else {
            let found = json::kind(message);
            return Err(SessionError::malformed(
                file,
                at,
                format!("expected a message object, found {found}"),
            ));
        };
        turns.push(turn(message, file, &at)?);
    }
    Ok(turns)
}

/// A session of `turns`, or none when there are no turns.
fn session(external_id: Option<String>, turns: Vec<Turn>) -> Option<Session> {
    (!turns.is_empty()).then(|| Session::new(SessionFormat::OpenAi, external_id, None, turns))
}

fn turn(message: &Object, file: &str, at: &Location) -> Result<Turn, SessionError> {
    let bad = |m: String| SessionError::malformed(file, at.clone(), m);
    let role = match json::opt_str(message, "role", file, at)? {
        Some("user") => Role::User,
        Some("assistant") => Role::Assistant,
        Some("system" | "developer") => Role::System,
        Some("tool" | "function") => Role::Tool,
        Some(other) => return Err(bad(format!("unknown role {other:?}"))),
        None => return Err(bad("message has no \"role\"".to_owned())),
    };
    let text = content_text(message.get("content")).map_err(bad)?;
    let name = json::opt_str(message, "name", file, at)?;
    let mut turn = Turn {
        role,
        author: None,
        text: String::new(),
        tool_calls: Vec::new(),
        tool_results: Vec::new(),
        timestamp: None,
        sidechain: false,
    };
    if role == Role::Tool {
        let call_id = json::opt_str(message, "tool_call_id", file, at)?.or(name);
        turn.tool_results.push(ToolResult {
            call_id: call_id.map(str::to_owned),
            content: text,
            is_error: false,
        });
        return Ok(turn);
    }
    turn.author = name.map(str::to_owned);
    turn.text = text;
    match message.get("tool_calls") {
        None | Some(Value::Null) => {}
        Some(Value::Array(calls)) => {
            for (j, call) in calls.iter().enumerate() {
                let call = tool_call(call).map_err(|m| bad(format!("tool_calls[{j}]: {m}")))?;
                turn.tool_calls.push(call);
            }
        }
        Some(other) => {
            return Err(bad(format!("\"tool_calls\" must be a list, found {}", json::kind(other))));
        }
    }
    if let Some(Value::Object(function)) = message.get("function_call") {
        let (name, input) = function_parts(function).map_err(|m| bad(format!("function_call: {m}")))?;
        turn.tool_calls.push(ToolCall { id: None, name, input });
    }
    Ok(turn)
}

fn tool_call(call: &Value) -> Result<ToolCall, String> {
    let Value::Object(call) = call else {
        return Err(format!("expected an object, found {}", json::kind(call)));
    };
    let Some(Value::Object(function)) = call.get("function") else {
        return Err("no \"function\" object".to_owned());
    };
    let (name, input) = function_parts(function)?;
    Ok(ToolCall { id: call.get("id").and_then(Value::as_str).map(str::to_owned), name, input })
}

/// The `name` and compact `arguments` of a function call.
fn function_parts(function: &Object) -> Result<(String, String), String> {
    let Some(name) = function.get("name").and_then(Value::as_str) else {
        return Err("function has no \"name\" string".to_owned());
    };
    let input = match function.get("arguments") {
        None | Some(Value::Null) => "{}".to_owned(),
        Some(Value::String(s)) => json::compact_str(s),
        Some(other) => json::compact(other),
    };
    Ok((name.to_owned(), input))
}

/// The text of a message `content`: a string, null, or a list of parts.
fn content_text(content: Option<&Value>) -> Result<String, String> {
    match content {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Array(parts)) => {
            let mut text = String::new();
            for (k, part) in parts.iter().enumerate() {
                match part {
                    Value::String(s) => json::push_paragraph(&mut text, s),
                    Value::Object(p) => {
                        let kind = p.get("type").and_then(Value::as_str).unwrap_or("text");
                        let field = if kind == "refusal" { "refusal" } else { "text" };
                        if matches!(kind, "text" | "input_text" | "output_text" | "refusal")
                            && let Some(t) = p.get(field).and_then(Value::as_str)
                        {
                            json::push_paragraph(&mut text, t);
                        }
                    }
                    other => return Err(format!("content[{k}] is {}", json::kind(other))),
                }
            }
            Ok(text)
        }
        Some(other) => {
            Err(format!("\"content\" must be a string, null or a list, found {}", json::kind(other)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_messages_with_tools_and_names() {
        let input = r#"{"id":"chat-1","messages":[
          {"role":"system","content":"Be brief."},
          {"role":"user","name":"alice","content":[{"type":"text","text":"Weather in Zürich?"},{"type":"image_url","image_url":{"url":"x"}}]},
          {"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"weather","arguments":"{\"city\": \"Zürich\"}"}}]},
          {"role":"tool","tool_call_id":"c1","content":"12°C"},
          {"role":"assistant","name":"helper","content":"It is 12°C."}
        ]}"#;
        let s = &parse(input.as_bytes(), "c.json").unwrap()[0];
        assert_eq!(s.external_id.as_deref(), Some("chat-1"));
        let roles: Vec<_> = s.turns.iter().map(|t| t.role).collect();
        assert_eq!(roles, [Role::System, Role::User, Role::Assistant, Role::Tool, Role::Assistant]);
        assert_eq!(s.turns[1].author.as_deref(), Some("alice"));
        assert_eq!(s.turns[1].text, "Weather in Zürich?");
        assert_eq!(s.turns[2].tool_calls[0].input, r#"{"city":"Zürich"}"#);
        assert_eq!(s.turns[3].tool_results[0].call_id.as_deref(), Some("c1"));
        assert_eq!(s.turns[4].author.as_deref(), Some("helper"));
    }

    #[test]
    fn bare_array_and_legacy_function_call() {
        let input = r#"[{"role":"assistant","function_call":{"name":"f","arguments":"not json"}},
                        {"role":"function","name":"f","content":"done"}]"#;
        let s = &parse(input.as_bytes(), "chats/c.json").unwrap()[0];
        assert_eq!(s.external_id.as_deref(), Some("c.json"), "no id: known by its file name");
        assert_eq!(s.turns[0].tool_calls[0].input, "not json");
        assert_eq!(s.turns[1].tool_results[0].call_id.as_deref(), Some("f"));
    }

    #[test]
    fn jsonl_of_conversations_or_of_messages() {
        let conversations = concat!(
            r#"{"id":"a","messages":[{"role":"user","content":"x"},{"role":"assistant","content":"y"}]}"#,
            "\n",
            r#"{"messages":[{"role":"user","content":"z"}]}"#,
            "\n",
        );
        let sessions = parse(conversations.as_bytes(), "t.jsonl").unwrap();
        assert_eq!(sessions.len(), 2);
        assert_eq!(sessions[0].external_id.as_deref(), Some("a"));
        assert_eq!(sessions[1].external_id.as_deref(), Some("t.jsonl:2"), "no id: file and line");
        let messages = "{\"role\":\"user\",\"content\":\"x\"}\n{\"role\":\"assistant\",\"content\":\"y\"}\n";
        let sessions = parse(messages.as_bytes(), "m.jsonl").unwrap();
        assert_eq!(sessions.len(), 1);
        assert_eq!(sessions[0].turns.len(), 2);
        assert_eq!(sessions[0].external_id.as_deref(), Some("m.jsonl"));
        let bad = concat!(r#"{"messages":[]}"#, "\n", r#"{"messages":[{"role":"bot"}]}"#);
        let err = parse(bad.as_bytes(), "b.jsonl").unwrap_err().to_string();
        assert_eq!(err, "b.jsonl: line 2, messages[0]: unknown role \"bot\"");
        let err = parse(b"{\"role\":\"user\"}\n{\"role\":", "c.jsonl").unwrap_err().to_string();
        assert!(err.starts_with("c.jsonl: line 2: invalid JSON"), "{err}");
    }

    #[test]
    fn errors_name_the_message() {
        let err = parse(br#"{"messages":[{"role":"user","content":"a"},{"role":"robot"}]}"#, "c.json");
        assert_eq!(err.unwrap_err().to_string(), "c.json: messages[1]: unknown role \"robot\"");
        let err = parse(b"{\"messages\": [\n  {\"role\": }\n]}", "c.json").unwrap_err().to_string();
        assert_eq!(err, "c.json: line 2, column 12: invalid JSON: expected value");
        let err = parse(br#"{"chat":[]}"#, "c.json").unwrap_err().to_string();
        assert_eq!(err, "c.json: top level: no \"messages\" list");
    }
}
