//! The index file of a memory folder (`MEMORY.md`): one line per entry,
//! each linking a topic file (`- [Title](file.md) — hook`), plus headings,
//! blank lines and one-line facts written straight into the index.
//!
//! [`parse`] classifies each line; the folder decides which links resolve.
//! [`fit`] splits rendered lines so that the index stays within what an
//! agent loads ([`MAX_LINES`] lines, [`MAX_BYTES`] bytes).

/// Most lines of an index an agent loads (Claude Code reads the first 200).
pub const MAX_LINES: usize = 200;
/// Most bytes of an index an agent loads (Claude Code: 25 KB; kept under
/// 25,000 so that either reading of "KB" holds).
pub const MAX_BYTES: usize = 25_000;

/// One line of an index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexLine {
    /// 1-based line number.
    pub number: usize,
    /// The line as written (without its newline).
    pub raw: String,
    /// What it is.
    pub kind: LineKind,
}

/// What a line of an index is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineKind {
    /// A heading, a blank line, a rule, a label ending in `:`, a comment or
    /// a code fence (and the lines inside one): kept as written.
    Structure,
    /// A line whose first link points to a relative path in the folder.
    Link {
        /// The link's target, relative to the folder, `/`-separated, without
        /// `./`, fragment or percent-escapes.
        target: String,
        /// The line with that link's markup removed (`[Title](x.md)` →
        /// `Title`), as a fact, should the target not exist.
        as_fact: IndexFact,
    },
    /// A fact written straight into the index.
    Fact(IndexFact),
}

/// A one-line fact: its list marker (with indentation) and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexFact {
    /// Indentation and list marker (`"- "`, `"  * "`, `"3. "`, or `""`).
    pub prefix: String,
    /// The text after it, without trailing whitespace.
    pub text: String,
}

/// Classifies every line of `text`.
pub fn parse(text: &str) -> Vec<IndexLine> {
    let mut fenced = false;
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let raw = raw.trim_end_matches('\r');
        let trimmed = raw.trim();
        let fence = trimmed.starts_with("```") || trimmed.starts_with("~~~");
        if fence {
            fenced = !fenced;
        }
        let kind = if fence || fenced || is_structure(trimmed) {
            LineKind::Structure
        } else {
            let fact = fact_of(raw);
            if fact.text.is_empty() {
                LineKind::Structure
            } else {
                match first_link(&fact.text) {
                    Some((start, end, label, target)) => match local_target(target) {
                        Some(target) => {
                            let text = format!("{}{label}{}", &fact.text[..start], &fact.text[end..]);
                            LineKind::Link { target, as_fact: IndexFact { prefix: fact.prefix, text } }
                        }
                        None => LineKind::Fact(fact),
                    },
                    None => LineKind::Fact(fact),
                }
            }
        };
        out.push(IndexLine { number: i + 1, raw: raw.to_owned(), kind });
    }
    out
}

fn is_structure(trimmed: &str) -> bool {
    trimmed.is_empty()
        || trimmed.starts_with('#')
        || trimmed.starts_with("<!--")
        || trimmed.starts_with('|')
        || (trimmed.len() >= 3 && trimmed.chars().all(|c| matches!(c, '-' | '*' | '_' | ' ')))
        || trimmed.ends_with(':')
}

/// Splits off the indentation and list marker.
fn fact_of(raw: &str) -> IndexFact {
    let indent = raw.len() - raw.trim_start().len();
    let rest = &raw[indent..];
    let marker = if let Some(r) = rest.strip_prefix(['-', '*', '+']) {
        if r.starts_with(' ') || r.is_empty() { 1 } else { 0 }
    } else {
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        let after = &rest[digits..];
        if digits > 0 && (after.starts_with(". ") || after.starts_with(") ")) { digits + 1 } else { 0 }
    };
    let body = &rest[marker..];
    let spaces = body.len() - body.trim_start().len();
    let cut = indent + marker + if marker > 0 { spaces } else { 0 };
    IndexFact { prefix: raw[..cut].to_owned(), text: raw[cut..].trim_end().to_owned() }
}

/// The first Markdown link `[label](target)` in `text`: (start, end, label, target).
fn first_link(text: &str) -> Option<(usize, usize, &str, &str)> {
    let mut from = 0;
    while let Some(open) = text[from..].find('[').map(|i| i + from) {
        let close = text[open + 1..].find(']').map(|i| i + open + 1)?;
        if text[close + 1..].starts_with('(') {
            let inner_start = close + 2;
            let inner_end = if text[inner_start..].starts_with('<') {
                text[inner_start..]
                    .find('>')
                    .and_then(|g| text[inner_start + g..].find(')').map(|p| inner_start + g + p))
            } else {
                text[inner_start..].find(')').map(|p| inner_start + p)
            };
            if let Some(end) = inner_end {
                return Some((open, end + 1, &text[open + 1..close], &text[inner_start..end]));
            }
        }
        from = close;
    }
    None
}

/// A link target as a path relative to the folder, or `None` for a URL, an
/// anchor, an absolute path or one that leaves the folder.
fn local_target(target: &str) -> Option<String> {
    let target = target.trim();
    let target = match target.strip_prefix('<') {
        Some(t) => t.split('>').next().unwrap_or(t),
        None => target.split_whitespace().next().unwrap_or(""),
    };
    let target = target.split('#').next().unwrap_or("");
    if target.is_empty() || target.starts_with('/') || target.contains(':') {
        return None;
    }
    let decoded = percent_decode(target)?;
    let mut parts: Vec<&str> = Vec::new();
    for seg in decoded.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            s => parts.push(s),
        }
    }
    if parts.is_empty() { None } else { Some(parts.join("/")) }
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = s.get(i + 1..i + 3)
            && let Ok(b) = u8::from_str_radix(hex, 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// A link to `target` (relative, `/`-separated) as written in an index:
/// white space, control characters and the characters Markdown or
/// [`parse`] give a meaning in a link percent-escaped, so it parses back.
pub fn link_target(target: &str) -> String {
    let mut out = String::new();
    for c in target.chars() {
        if c.is_whitespace() || c.is_control() || "%()#:<>[]".contains(c) {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// An entry line: `- [title](target) — hook` (without the hook if empty).
pub fn entry_line(title: &str, target: &str, hook: &str) -> String {
    let title: String =
        title.chars().map(|c| if matches!(c, '[' | ']' | '\n' | '\r') { ' ' } else { c }).collect();
    let hook = one_line(hook);
    if hook.is_empty() {
        format!("- [{}]({})", title.trim(), link_target(target))
    } else {
        format!("- [{}]({}) — {hook}", title.trim(), link_target(target))
    }
}

/// `text` on one line (line breaks as spaces, runs of spaces as one).
pub fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Splits `lines` into what stays in the index and what moves out: the
/// longest head that fits within [`MAX_LINES`] and [`MAX_BYTES`] together
/// with `pointer` (the line linking the rest), and the tail. When all of
/// `lines` fit, the tail is empty and no pointer is needed.
pub fn fit(lines: Vec<String>, pointer: &str) -> (Vec<String>, Vec<String>) {
    let size = |ls: &[String]| ls.iter().map(|l| l.len() + 1).sum::<usize>();
    if lines.len() <= MAX_LINES && size(&lines) <= MAX_BYTES {
        return (lines, Vec::new());
    }
    let budget_lines = MAX_LINES - 1;
    let budget_bytes = MAX_BYTES.saturating_sub(pointer.len() + 1);
    let mut used = 0;
    let mut keep = 0;
    for l in &lines {
        if keep == budget_lines || used + l.len() + 1 > budget_bytes {
            break;
        }
        used += l.len() + 1;
        keep += 1;
    }
    let mut head = lines;
    let tail = head.split_off(keep);
    (head, tail)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<LineKind> {
        parse(text).into_iter().map(|l| l.kind).collect()
    }

    #[test]
    fn classifies_lines() {
        let text = "# Memory\n\n- [Testing](feedback_testing.md) — run cargo test\n- The staging DB is on port 5433.\nUser:\n* see [docs](https://x.y/z) for more\n- [Gone](./sub/../gone%20file.md#top)\n```\n- in a fence\n```\n";
        let k = kinds(text);
        assert_eq!(k[0], LineKind::Structure);
        assert_eq!(k[1], LineKind::Structure);
        assert_eq!(
            k[2],
            LineKind::Link {
                target: "feedback_testing.md".into(),
                as_fact: IndexFact { prefix: "- ".into(), text: "Testing — run cargo test".into() }
            }
        );
        assert_eq!(
            k[3],
            LineKind::Fact(IndexFact { prefix: "- ".into(), text: "The staging DB is on port 5433.".into() })
        );
        assert_eq!(k[4], LineKind::Structure);
        assert!(matches!(&k[5], LineKind::Fact(f) if f.prefix == "* "));
        assert!(matches!(&k[6], LineKind::Link { target, .. } if target == "gone file.md"));
        assert!(k[7..].iter().all(|k| *k == LineKind::Structure));
    }

    #[test]
    fn numbered_and_indented_facts() {
        assert_eq!(fact_of("  12. text "), IndexFact { prefix: "  12. ".into(), text: "text".into() });
        assert_eq!(fact_of("-no space"), IndexFact { prefix: "".into(), text: "-no space".into() });
        assert_eq!(local_target("../outside.md"), None);
        assert_eq!(local_target("<a b.md>"), Some("a b.md".into()));
        assert_eq!(local_target("a.md \"title\""), Some("a.md".into()));
    }

    #[test]
    fn entry_lines_parse_back() {
        let line = entry_line("A [b]", "dir/x (1)#.md", "hook\nline");
        let odd = "a\u{b}b\0c%20:d.md";
        assert!(
            matches!(&parse(&entry_line("t", odd, ""))[0].kind, LineKind::Link { target, .. } if target == odd)
        );
        match &parse(&line)[0].kind {
            LineKind::Link { target, as_fact } => {
                assert_eq!(target, "dir/x (1)#.md");
                assert_eq!(as_fact.text, "A  b — hook line");
            }
            k => panic!("{k:?}"),
        }
    }

    #[test]
    fn fit_moves_the_tail_out() {
        let lines: Vec<String> = (0..250).map(|i| format!("- fact {i}")).collect();
        let (head, tail) = fit(lines.clone(), "- [More](MEMORY-more.md)");
        assert_eq!(head.len(), MAX_LINES - 1);
        assert_eq!(head.len() + tail.len(), 250);
        let (head, tail) = fit(lines[..10].to_vec(), "p");
        assert_eq!((head.len(), tail.len()), (10, 0));
        let long: Vec<String> = (0..100).map(|_| "x".repeat(400)).collect();
        let (head, _) = fit(long, "pointer");
        assert!(head.iter().map(|l| l.len() + 1).sum::<usize>() + 8 <= MAX_BYTES);
    }
}
