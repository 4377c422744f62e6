//! Helpers shared by the JSON-based importers: splitting JSONL into
//! numbered lines, reading optional fields with clear errors, and turning
//! tool inputs into compact JSON text.

use serde_json::{Map, Value};

use super::error::{Location, SessionError};
use crate::id::Timestamp;

/// A JSON object as parsed.
pub(crate) type Object = Map<String, Value>;

/// The non-blank lines of `bytes` with their 1-based numbers; a trailing
/// `\r` is removed, so CRLF files read like LF files.
pub(crate) fn lines(bytes: &[u8]) -> impl Iterator<Item = (usize, &[u8])> {
    bytes.split(|&b| b == b'\n').enumerate().filter_map(|(i, line)| {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) { None } else { Some((i + 1, line)) }
    })
}

/// Parses one JSONL line that must hold a JSON object.
pub(crate) fn object_line(file: &str, number: usize, line: &[u8]) -> Result<Object, SessionError> {
    match serde_json::from_slice::<Value>(line) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(SessionError::malformed(
            file,
            Location::Line(number),
            format!("expected a JSON object, found {}", kind(&other)),
        )),
        Err(e) => Err(SessionError::malformed(file, Location::Line(number), syntax_message(&e))),
    }
}

/// Parses a whole JSON document, reporting syntax errors by line and column.
pub(crate) fn document(file: &str, bytes: &[u8]) -> Result<Value, SessionError> {
    serde_json::from_slice(strip_bom(bytes)).map_err(|e| {
        SessionError::malformed(file, Location::LineColumn(e.line(), e.column()), syntax_message(&e))
    })
}

/// A JSON syntax error without serde_json's own position suffix (the
/// [`Location`] carries it).
pub(crate) fn syntax_message(e: &serde_json::Error) -> String {
    let full = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    format!("invalid JSON: {}", full.strip_suffix(&suffix).unwrap_or(&full))
}

/// `bytes` without a leading UTF-8 byte order mark.
pub(crate) fn strip_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)
}

/// A short name of a JSON value's kind, for error messages.
pub(crate) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Reads an optional string field: absent or null is `None`, a string is
/// `Some`, anything else is an error naming the field.
pub(crate) fn opt_str<'a>(
    obj: &'a Object,
    field: &str,
    file: &str,
    at: &Location,
) -> Result<Option<&'a str>, SessionError> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(SessionError::malformed(
            file,
            at.clone(),
            format!("field \"{field}\" must be a string, found {}", kind(other)),
        )),
    }
}

/// Reads an optional boolean field: absent or null is `false`.
pub(crate) fn opt_bool(obj: &Object, field: &str, file: &str, at: &Location) -> Result<bool, SessionError> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(other) => Err(SessionError::malformed(
            file,
            at.clone(),
            format!("field \"{field}\" must be a boolean, found {}", kind(other)),
        )),
    }
}

/// Reads an optional RFC 3339 timestamp field.
pub(crate) fn opt_timestamp(
    obj: &Object,
    field: &str,
    file: &str,
    at: &Location,
) -> Result<Option<Timestamp>, SessionError> {
    match opt_str(obj, field, file, at)? {
        None => Ok(None),
        Some(text) => Timestamp::parse_rfc3339(text).map(Some).ok_or_else(|| {
            SessionError::malformed(
                file,
                at.clone(),
                format!("field \"{field}\" is not an RFC 3339 time: {text:?}"),
            )
        }),
    }
}

/// A tool input as compact JSON text (object keys in a stable order).
pub(crate) fn compact(value: &Value) -> String {
    value.to_string()
}

/// Tool arguments given as a JSON-encoded string (OpenAI style): re-encoded
/// compactly when they parse, kept verbatim otherwise.
pub(crate) fn compact_str(text: &str) -> String {
    match serde_json::from_str::<Value>(text) {
        Ok(value) => compact(&value),
        Err(_) => text.to_owned(),
    }
}

/// Appends `piece` to `text` as a new paragraph, ignoring empty pieces.
pub(crate) fn push_paragraph(text: &mut String, piece: &str) {
    let piece = piece.trim_matches('\n');
    if piece.trim().is_empty() {
        return;
    }
    if !text.is_empty() {
        text.push_str("\n\n");
    }
    text.push_str(piece);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_numbered_and_blank_lines_skipped() {
        let got: Vec<(usize, &[u8])> = lines(b"a\r\n\n  \nb\n").collect();
        assert_eq!(got, vec![(1, &b"a"[..]), (4, &b"b"[..])]);
    }

    #[test]
    fn object_line_names_the_line() {
        let err = object_line("f.jsonl", 7, b"[1]").unwrap_err().to_string();
        assert_eq!(err, "f.jsonl: line 7: expected a JSON object, found an array");
        let err = object_line("f.jsonl", 3, b"{\"a\":").unwrap_err().to_string();
        assert!(err.starts_with("f.jsonl: line 3: invalid JSON"), "{err}");
    }

    #[test]
    fn compact_str_reencodes_valid_json_only() {
        assert_eq!(compact_str("{ \"b\": 1,\n \"a\": [1, 2] }"), r#"{"a":[1,2],"b":1}"#);
        assert_eq!(compact_str("not json"), "not json");
    }

    #[test]
    fn paragraphs_skip_empty_pieces() {
        let mut text = String::new();
        push_paragraph(&mut text, "one\n");
        push_paragraph(&mut text, "  ");
        push_paragraph(&mut text, "two");
        assert_eq!(text, "one\n\ntwo");
    }
}
