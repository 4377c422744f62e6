//! The memory-tool commands as JSON lines, so that an application in any
//! language that gives Claude the memory tool can hand its calls to
//! dreamwork (`dreamwork memory-tool STORE`).
//!
//! Each input line is either a command — the `input` of the model's
//! `tool_use` block, e.g. `{"command":"view","path":"/memories"}` — or the
//! whole `tool_use` block (`{"type":"tool_use","id":"toolu_…","name":"memory","input":{…}}`).
//! Each output line is a `tool_result` block ready to send back:
//! `{"type":"tool_result","tool_use_id":"toolu_…","content":"…","is_error":false}`
//! (`tool_use_id` only when the input carried an id). A line that is not a
//! valid command gets an error result, and the next line is read.

use std::io::{BufRead, Write};

use serde::Serialize;

use super::memory_tool::{Command, StoreAccess, ToolError, execute};

/// One decoded input line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The `tool_use` block's id, when the line was a whole block.
    pub id: Option<String>,
    /// The command, or why the line is not one.
    pub command: Result<Command, String>,
}

/// Decodes one input line; never fails (a bad line is a [`Request`] whose
/// `command` is the error text).
pub fn decode_line(line: &str) -> Request {
    let value: serde_json::Value = match serde_json::from_str(line) {
        Ok(value) => value,
        Err(e) => return Request { id: None, command: Err(format!("invalid memory-tool command: {e}")) },
    };
    let is_block = value.get("type").and_then(|t| t.as_str()) == Some("tool_use");
    let (id, input) = if is_block {
        let id = value.get("id").and_then(|i| i.as_str()).map(str::to_owned);
        (id, value.get("input").cloned().unwrap_or(serde_json::Value::Null))
    } else {
        (None, value)
    };
    let command = serde_json::from_value(input).map_err(|e| format!("invalid memory-tool command: {e}"));
    Request { id, command }
}

/// A `tool_result` block, as written on each output line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ToolResultLine {
    /// Always `tool_result`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The id of the `tool_use` block answered, if it was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_use_id: Option<String>,
    /// The text the model reads.
    pub content: String,
    /// Whether the command failed.
    pub is_error: bool,
}

impl ToolResultLine {
    /// The result of a command (or of a line that was not one).
    pub fn new(id: Option<String>, result: Result<String, String>) -> Self {
        let (content, is_error) = match result {
            Ok(text) => (text, false),
            Err(text) => (text, true),
        };
        Self { kind: "tool_result", tool_use_id: id, content, is_error }
    }
}

/// Decodes and executes one line.
pub fn answer_line(store: &mut impl StoreAccess, line: &str) -> ToolResultLine {
    let request = decode_line(line);
    let result = request.command.and_then(|c| execute(store, &c).map_err(|e: ToolError| e.to_string()));
    ToolResultLine::new(request.id, result)
}

/// Answers every non-blank line of `input` with one line on `output`,
/// flushed after each (so a caller can wait for each answer); returns how
/// many commands failed.
pub fn serve_lines(
    store: &mut impl StoreAccess,
    input: impl BufRead,
    mut output: impl Write,
) -> std::io::Result<u64> {
    let mut failed = 0;
    for line in input.lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let result = answer_line(store, &line);
        failed += u64::from(result.is_error);
        let json = serde_json::to_string(&result).map_err(std::io::Error::other)?;
        writeln!(output, "{json}")?;
        output.flush()?;
    }
    Ok(failed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    #[test]
    fn bare_commands_and_tool_use_blocks_decode() {
        let bare = decode_line(r#"{"command":"delete","path":"/memories/a"}"#);
        assert_eq!(bare, Request { id: None, command: Ok(Command::Delete { path: "/memories/a".into() }) });
        let block = decode_line(
            r#"{"type":"tool_use","id":"toolu_1","name":"memory","input":{"command":"delete","path":"/memories/a"}}"#,
        );
        assert_eq!(block.id.as_deref(), Some("toolu_1"));
        assert!(block.command.is_ok());
        let bad_input = decode_line(r#"{"type":"tool_use","id":"toolu_2","input":{"command":"fly"}}"#);
        assert_eq!(bad_input.id.as_deref(), Some("toolu_2"));
        assert!(bad_input.command.unwrap_err().contains("unknown variant `fly`"));
        assert!(decode_line("not json").command.unwrap_err().starts_with("invalid memory-tool command"));
        assert!(decode_line("[1,2]").command.is_err());
    }

    #[test]
    fn lines_in_results_out() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::create(dir.path()).unwrap();
        let input = concat!(
            r#"{"command":"create","path":"/memories/a.md","file_text":"hi"}"#,
            "\n\n",
            r#"{"type":"tool_use","id":"toolu_9","name":"memory","input":{"command":"create","path":"/memories/a.md","file_text":"again"}}"#,
            "\n",
            "{oops\n",
        );
        let mut out = Vec::new();
        let failed = serve_lines(&mut store, input.as_bytes(), &mut out).unwrap();
        assert_eq!(failed, 2);
        let lines: Vec<serde_json::Value> =
            String::from_utf8(out).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(
            lines[0],
            serde_json::json!({"type":"tool_result","content":"File created successfully at: /memories/a.md","is_error":false})
        );
        assert_eq!(lines[1]["tool_use_id"], "toolu_9");
        assert_eq!(lines[1]["content"], "File /memories/a.md already exists");
        assert_eq!(lines[2]["is_error"], true);
    }
}
