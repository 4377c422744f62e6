//! The YAML frontmatter of a memory file, as agents write it: a first line
//! `---`, lines `key: value`, a closing `---` (or `...`), then the body.
//!
//! Only the flat `key: value` form is understood (plain, `"double"` or
//! `'single'` quoted values, and `|` / `>` blocks of indented lines); every
//! other line is kept as it was written, so a file whose frontmatter is
//! rewritten keeps its keys, order and comments. The one rewrite offered is
//! replacing a key's value ([`Frontmatter::set`]).

/// A file split into its frontmatter and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split<'a> {
    /// The frontmatter, if the file has one.
    pub frontmatter: Option<Frontmatter>,
    /// The blank lines between the frontmatter and the body, as written.
    pub gap: &'a str,
    /// The body (after the frontmatter and the gap).
    pub body: &'a str,
}

/// Why a frontmatter does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
#[non_exhaustive]
pub struct FrontmatterError {
    /// 1-based line of the file.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// The frontmatter's lines, as written, with the `key: value` pairs read.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Frontmatter {
    lines: Vec<String>,
}

/// Splits `text` into frontmatter and body. A file that does not start with
/// a `---` line has no frontmatter; one that opens it and never closes it
/// is an error naming the opening line.
pub fn split(text: &str) -> Result<Split<'_>, FrontmatterError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut rest = text;
    let Some(first) = next_line(&mut rest) else {
        return Ok(Split { frontmatter: None, gap: "", body: text });
    };
    if first.trim_end() != "---" {
        return Ok(Split { frontmatter: None, gap: "", body: text });
    }
    let mut lines = Vec::new();
    loop {
        let Some(line) = next_line(&mut rest) else {
            return Err(FrontmatterError {
                line: 1,
                message: "the frontmatter opened here is never closed by a `---` line".into(),
            });
        };
        let trimmed = line.trim_end();
        if trimmed == "---" || trimmed == "..." {
            break;
        }
        lines.push(trimmed.to_owned());
    }
    let body_start = rest.len() - rest.trim_start_matches(['\n', '\r']).len();
    let (gap, body) = rest.split_at(body_start);
    Ok(Split { frontmatter: Some(Frontmatter { lines }), gap, body })
}

/// Takes the next line (without its `\n`) off the front of `rest`.
fn next_line<'a>(rest: &mut &'a str) -> Option<&'a str> {
    if rest.is_empty() {
        return None;
    }
    let (line, after) = match rest.find('\n') {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (*rest, ""),
    };
    *rest = after;
    Some(line)
}

/// The key of a `key: value` line at the start of a line, if it is one.
fn key_of(line: &str) -> Option<(&str, &str)> {
    let (key, value) = line.split_once(':')?;
    let ok = !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    ok.then_some((key, value.trim()))
}

impl Frontmatter {
    /// A frontmatter of the given pairs, in order.
    pub fn new<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut f = Frontmatter::default();
        for (k, v) in pairs {
            f.set(k, v);
        }
        f
    }

    /// The value of `key` (unquoted; a block's lines joined: with newlines
    /// for `|`, spaces for `>`), if the frontmatter has it.
    pub fn get(&self, key: &str) -> Option<String> {
        let at = self.find(key)?;
        let (_, raw) = key_of(&self.lines[at])?;
        let continued = &self.lines[at + 1..at + self.extent(at)];
        if raw.starts_with('|') || raw.starts_with('>') {
            let parts: Vec<&str> = continued.iter().map(|l| l.trim()).collect();
            let sep = if raw.starts_with('|') { "\n" } else { " " };
            return Some(parts.join(sep).trim().to_owned());
        }
        let mut value = raw.to_owned();
        for l in continued {
            value.push(' ');
            value.push_str(l.trim());
        }
        Some(unquote(&value))
    }

    /// Sets `key` to `value`: its line (and continuation lines) is replaced
    /// in place, or a line is added at the end.
    pub fn set(&mut self, key: &str, value: &str) {
        let line = format!("{key}: {}", quote(value));
        match self.find(key) {
            Some(at) => {
                let n = self.extent(at);
                self.lines.splice(at..at + n, [line]);
            }
            None => self.lines.push(line),
        }
    }

    /// The frontmatter as written in a file: `---`, its lines, `---`, each
    /// ending in a newline.
    pub fn render(&self) -> String {
        let mut out = String::from("---\n");
        for l in &self.lines {
            out.push_str(l);
            out.push('\n');
        }
        out.push_str("---\n");
        out
    }

    /// The line index of `key`.
    fn find(&self, key: &str) -> Option<usize> {
        self.lines.iter().position(|l| key_of(l).is_some_and(|(k, _)| k == key))
    }

    /// Lines taken by the pair at `at`: its own and the indented ones after it.
    fn extent(&self, at: usize) -> usize {
        1 + self.lines[at + 1..].iter().take_while(|l| l.starts_with([' ', '\t'])).count()
    }
}

/// A YAML scalar read back: quotes removed and escapes undone, a trailing
/// comment dropped.
fn unquote(value: &str) -> String {
    if value.starts_with('"') {
        let mut escaped = false;
        for (i, c) in value.char_indices().skip(1) {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => {
                    let quoted = &value[..=i];
                    return serde_json::from_str::<String>(quoted)
                        .unwrap_or_else(|_| quoted[1..quoted.len() - 1].to_owned());
                }
                _ => {}
            }
        }
    } else if let Some(inner) = value.strip_prefix('\'') {
        let mut out = String::new();
        let mut chars = inner.chars().peekable();
        while let Some(c) = chars.next() {
            if c != '\'' {
                out.push(c);
            } else if chars.peek() == Some(&'\'') {
                chars.next();
                out.push('\'');
            } else {
                return out;
            }
        }
    }
    // A plain scalar (or an unclosed quote, read as written) ends at a comment.
    match value.find(" #") {
        Some(i) => value[..i].trim_end().to_owned(),
        None => value.to_owned(),
    }
}

/// `value` as a YAML scalar: plain where that reads back the same, else
/// double-quoted (a JSON string is a valid YAML double-quoted scalar).
fn quote(value: &str) -> String {
    let plain = !value.is_empty()
        && !value.starts_with(|c: char| "-?:,[]{}#&*!|>'\"%@`".contains(c) || c.is_whitespace())
        && !value.ends_with(char::is_whitespace)
        && !value.contains(": ")
        && !value.contains(" #")
        && !value.ends_with(':')
        && !value.chars().any(char::is_control);
    if plain && unquote(value) == value {
        value.to_owned()
    } else {
        serde_json::to_string(value).unwrap_or_else(|_| format!("{value:?}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_claude_code_frontmatter() {
        let text = "---\nname: Testing\ndescription: \"Run: cargo test\"\ntype: feedback\n---\n\nAlways run the tests.\n";
        let s = split(text).unwrap();
        let f = s.frontmatter.unwrap();
        assert_eq!(f.get("name").as_deref(), Some("Testing"));
        assert_eq!(f.get("description").as_deref(), Some("Run: cargo test"));
        assert_eq!(f.get("type").as_deref(), Some("feedback"));
        assert_eq!(f.get("missing"), None);
        assert_eq!(s.gap, "\n");
        assert_eq!(s.body, "Always run the tests.\n");
    }

    #[test]
    fn blocks_quotes_and_comments() {
        let text =
            "---\ndescription: >\n  folded\n  text\nname: 'it''s' # c\nnote: plain # comment\n---\nbody";
        let f = split(text).unwrap().frontmatter.unwrap();
        assert_eq!(f.get("description").as_deref(), Some("folded text"));
        assert_eq!(f.get("name").as_deref(), Some("it's"));
        assert_eq!(f.get("note").as_deref(), Some("plain"));
    }

    #[test]
    fn set_replaces_in_place_and_round_trips() {
        let text = "---\nname: A\ndescription: |\n  old\n  text\n# kept comment\ntype: user\n---\nbody\n";
        let mut f = split(text).unwrap().frontmatter.unwrap();
        f.set("description", "new: with colon");
        assert_eq!(
            f.render(),
            "---\nname: A\ndescription: \"new: with colon\"\n# kept comment\ntype: user\n---\n"
        );
        let again = split(&f.render()).unwrap().frontmatter.unwrap();
        assert_eq!(again.get("description").as_deref(), Some("new: with colon"));
        for v in ["plain words", "", " lead", "#x", "a # b", "q\"uote", "x'", "line\nbreak", "- dash"] {
            let f = Frontmatter::new([("k", v)]);
            let back = split(&f.render()).unwrap().frontmatter.unwrap();
            assert_eq!(back.get("k").as_deref(), Some(v), "{v:?} -> {}", f.render());
        }
    }

    #[test]
    fn no_frontmatter_and_unclosed() {
        let s = split("# Title\n---\n").unwrap();
        assert!(s.frontmatter.is_none());
        assert_eq!(s.body, "# Title\n---\n");
        let e = split("---\nname: x\n").unwrap_err();
        assert_eq!(e.line, 1);
        assert!(e.to_string().contains("never closed"));
        assert_eq!(split("").unwrap().body, "");
    }
}
