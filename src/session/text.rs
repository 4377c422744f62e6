//! Importer for plain-text and Markdown transcripts.
//!
//! A turn starts at a *speaker line*, which begins (at column 0) with one of
//! these labels, in any letter case:
//!
//! | label | role |
//! |---|---|
//! | `User`, `Human` | [`Role::User`] |
//! | `Assistant`, `AI`, `Claude`, `Agent` | [`Role::Assistant`] |
//! | `System` | [`Role::System`] |
//! | `Tool` | [`Role::Tool`] (its text becomes a [`ToolResult`]) |
//!
//! written as `Label: text`, `**Label:** text`, `**Label**: text`, or as a
//! Markdown heading holding only the label (`## User`, `### Assistant:`).
//! A label may name its speaker in parentheses, `User (ana): text` or
//! `**Assistant (reviewer):**`; the name becomes the turn author.
//! The turn's text is the rest of the speaker line plus every line up to the
//! next speaker line, with surrounding blank lines removed. Text before the
//! first speaker line (a title, a date) belongs to no turn and is ignored.
//!
//! The session's external id is the file's name (see
//! [`origin_name`](super::origin_name)): a text transcript has no id of its
//! own, and its file name is how its owner finds it again.
//!
//! A file without any speaker line is refused: prose is not a transcript, and
//! this rule keeps `--format auto` unambiguous (JSON inputs are recognised
//! first, and no JSON document can begin a line with a speaker label).

use super::error::{Location, SessionError};
use super::{Role, Session, SessionFormat, ToolResult, Turn};

/// The labels a speaker line may start with, as listed in the module doc.
pub const SPEAKER_HINT: &str =
    "no speaker lines such as \"User:\", \"Assistant:\", \"**User:**\", \"## User\", \"Human:\" or \"AI:\"";

/// Parses a text or Markdown transcript.
pub fn parse(bytes: &[u8], file: &str) -> Result<Vec<Session>, SessionError> {
    let text = utf8(bytes, file)?;
    let mut turns: Vec<Turn> = Vec::new();
    let mut body = String::new();
    let close = |turns: &mut Vec<Turn>, body: &mut String| {
        if let Some(last) = turns.last_mut() {
            let content = body.trim().to_owned();
            if last.role == Role::Tool {
                last.tool_results.push(ToolResult { call_id: None, content, is_error: false });
            } else {
                last.text = content;
            }
        }
        body.clear();
    };
    for line in text.lines() {
        if let Some((role, author, rest)) = speaker(line) {
            close(&mut turns, &mut body);
            body.push_str(rest);
            body.push('\n');
            turns.push(Turn {
                role,
                author: author.map(str::to_owned),
                text: String::new(),
                tool_calls: Vec::new(),
                tool_results: Vec::new(),
                timestamp: None,
                sidechain: false,
            });
        } else if !turns.is_empty() {
            body.push_str(line);
            body.push('\n');
        }
    }
    close(&mut turns, &mut body);
    if turns.is_empty() {
        return Err(SessionError::UnknownFormat { file: file.to_owned(), reason: SPEAKER_HINT.to_owned() });
    }
    Ok(vec![Session::new(SessionFormat::Text, Some(super::origin_name(file)), None, turns)])
}

/// Whether the text has at least one speaker line.
pub fn has_speaker_line(bytes: &[u8]) -> bool {
    String::from_utf8_lossy(bytes).lines().any(|line| speaker(line).is_some())
}

/// The input as UTF-8 (without a byte order mark), or an error naming the
/// first line that is not.
fn utf8<'a>(bytes: &'a [u8], file: &str) -> Result<&'a str, SessionError> {
    let bytes = super::json::strip_bom(bytes);
    std::str::from_utf8(bytes).map_err(|e| {
        let line = bytes[..e.valid_up_to()].iter().filter(|&&b| b == b'\n').count() + 1;
        SessionError::malformed(file, Location::Line(line), "not valid UTF-8 text")
    })
}

/// The role, the author and the rest of the line, if `line` is a speaker
/// line.
fn speaker(line: &str) -> Option<(Role, Option<&str>, &str)> {
    let line = line.strip_suffix('\r').unwrap_or(line);
    if line.starts_with('#') {
        let heading = line.trim_start_matches('#');
        let level = line.len() - heading.len();
        let label = heading.strip_prefix(' ')?.trim();
        let label = label.strip_suffix(':').unwrap_or(label).trim_end();
        return (level <= 6).then(|| label_of(label)).flatten().map(|(r, a)| (r, a, ""));
    }
    if let Some(bold) = line.strip_prefix("**") {
        let (label, rest) = bold.split_once("**")?;
        let (label, rest) = match label.strip_suffix(':') {
            Some(label) => (label, rest),
            None => (label, rest.strip_prefix(':')?),
        };
        return label_of(label).map(|(r, a)| (r, a, rest.trim_start()));
    }
    let (label, rest) = line.split_once(':')?;
    label_of(label).map(|(r, a)| (r, a, rest.trim_start()))
}

/// The role and author of a label such as `User` or `User (ana)`.
fn label_of(label: &str) -> Option<(Role, Option<&str>)> {
    if let Some((name, author)) = label.strip_suffix(')').and_then(|l| l.split_once(" (")) {
        let author = author.trim();
        let plain = !author.is_empty() && author.len() <= 64 && !author.contains(['(', ')']);
        return if plain { role(name).map(|r| (r, Some(author))) } else { None };
    }
    role(label).map(|r| (r, None))
}

fn role(label: &str) -> Option<Role> {
    const LABELS: [(&str, Role); 8] = [
        ("user", Role::User),
        ("human", Role::User),
        ("assistant", Role::Assistant),
        ("ai", Role::Assistant),
        ("claude", Role::Assistant),
        ("agent", Role::Assistant),
        ("system", Role::System),
        ("tool", Role::Tool),
    ];
    LABELS.iter().find(|(name, _)| label.eq_ignore_ascii_case(name)).map(|&(_, role)| role)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_every_marker_form() {
        let cases = [
            ("User: hi", Some((Role::User, None, "hi"))),
            ("human:hi", Some((Role::User, None, "hi"))),
            ("**Assistant:** ok", Some((Role::Assistant, None, "ok"))),
            ("**AI**: ok", Some((Role::Assistant, None, "ok"))),
            ("## User", Some((Role::User, None, ""))),
            ("### Claude:", Some((Role::Assistant, None, ""))),
            ("System: be kind", Some((Role::System, None, "be kind"))),
            ("User (ana): tabs", Some((Role::User, Some("ana"), "tabs"))),
            ("**User (Jonas Ødegård):** hei", Some((Role::User, Some("Jonas Ødegård"), "hei"))),
            ("## Assistant (reviewer)", Some((Role::Assistant, Some("reviewer"), ""))),
            ("User (): x", None),
            ("User (a (b)): x", None),
            ("Note (ana): x", None),
            ("Note: not a speaker", None),
            ("## User guide", None),
            (" User: indented", None),
            ("**Bold** text", None),
            ("####### User", None),
        ];
        for (line, expected) in cases {
            assert_eq!(speaker(line), expected, "{line:?}");
        }
    }

    #[test]
    fn turns_span_until_the_next_speaker() {
        let input =
            "# Pairing session\n\nUser: Use tabs.\nAlways.\n\n**Assistant:** Noted.\n\n## Tool\n\nexit 1\n";
        let s = &parse(input.as_bytes(), "notes/pairing/t.md").unwrap()[0];
        assert_eq!(s.external_id.as_deref(), Some("t.md"), "known by its file name");
        assert_eq!(s.turns.len(), 3);
        assert_eq!(s.turns[0].text, "Use tabs.\nAlways.");
        assert_eq!(s.turns[1].text, "Noted.");
        assert_eq!(s.turns[2].tool_results[0].content, "exit 1");
    }

    #[test]
    fn refuses_prose_and_bad_utf8() {
        let err = parse(b"Just some notes.\nNothing else.", "n.txt").unwrap_err().to_string();
        assert!(err.starts_with("n.txt: not a recognised session transcript (no speaker lines"), "{err}");
        let err = parse(b"User: a\nUser: \xff\n", "b.txt").unwrap_err().to_string();
        assert_eq!(err, "b.txt: line 2: not valid UTF-8 text");
    }
}
