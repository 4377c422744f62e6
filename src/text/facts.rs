//! Memories are documents: a memory's text as the facts it states.
//!
//! A fact is a sentence, a bullet or a line of prose; headings are not
//! facts but scope the facts under them ("## Staging" then "- port 5433").
//! Code fences are kept whole as one fact each, and so is a table row.

use super::{Kind, Lexicon, Word, words};

/// One fact of a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fact {
    /// The fact as written (Markdown marks around it trimmed).
    pub text: String,
    /// Its words (see `text::words`).
    pub words: Vec<Word>,
    /// The words of the heading it sits under, if any.
    pub scope: Vec<Word>,
    /// Its words joined by spaces (see [`Fact::key`]).
    key: String,
}

impl Fact {
    /// The fact's words joined by spaces: equal keys mean the same wording.
    pub fn key(&self) -> &str {
        &self.key
    }
}

/// The words' texts joined by spaces.
pub fn join(words: &[Word]) -> String {
    words.iter().map(|w| w.text.as_str()).collect::<Vec<_>>().join(" ")
}

/// A memory's text as facts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Document {
    /// The facts, in text order; facts without words are left out.
    pub facts: Vec<Fact>,
}

impl Document {
    /// Splits `text` into facts (see the module doc).
    pub fn parse(text: &str, lexicon: &Lexicon) -> Self {
        let mut facts = Vec::new();
        let mut scope: Vec<Word> = Vec::new();
        let mut fence: Option<String> = None;
        let push = |raw: &str, scope: &[Word], facts: &mut Vec<Fact>| {
            let ws = words(raw, lexicon);
            if !ws.is_empty() {
                let key = join(&ws);
                facts.push(Fact { text: raw.trim().to_owned(), words: ws, scope: scope.to_vec(), key });
            }
        };
        for line in text.lines() {
            let trimmed = line.trim();
            if let Some(code) = fence.as_mut() {
                if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
                    let whole = std::mem::take(code);
                    fence = None;
                    push(&whole, &scope, &mut facts);
                } else {
                    code.push_str(line);
                    code.push('\n');
                }
                continue;
            }
            if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
                fence = Some(String::new());
                continue;
            }
            if let Some(heading) = heading(trimmed) {
                scope = words(heading, lexicon);
                continue;
            }
            let body = strip_bullet(trimmed);
            if body.starts_with('|') {
                push(body, &scope, &mut facts);
                continue;
            }
            for sentence in sentences(body) {
                push(sentence, &scope, &mut facts);
            }
        }
        if let Some(code) = fence {
            push(&code, &scope, &mut facts);
        }
        Document { facts }
    }

    /// How many words the document has in all.
    pub fn word_count(&self) -> usize {
        self.facts.iter().map(|f| f.words.len()).sum()
    }

    /// How many negations it holds ("not", "never", "no").
    pub fn negations(&self) -> usize {
        self.facts.iter().flat_map(|f| &f.words).filter(|w| w.kind == Kind::Negation).count()
    }

    /// Whether it states a change: an update cue ("now", "moved", "no
    /// longer") anywhere in it.
    pub fn states_change(&self, lexicon: &Lexicon) -> bool {
        self.facts.iter().any(|f| {
            f.words.iter().any(|w| lexicon.cues.contains(&w.text))
                || f.words
                    .windows(2)
                    .any(|p| lexicon.cue_pairs.contains(&(p[0].text.clone(), p[1].text.clone())))
        })
    }
}

/// The text of a Markdown heading line (`# …`, `## …`), or `None`.
fn heading(line: &str) -> Option<&str> {
    let rest = line.trim_start_matches('#');
    (rest.len() < line.len() && line.len() - rest.len() <= 6 && (rest.is_empty() || rest.starts_with(' ')))
        .then(|| rest.trim())
}

fn strip_bullet(line: &str) -> &str {
    let mut l = line.trim_start_matches('>').trim_start();
    for bullet in ["- [ ] ", "- [x] ", "- ", "* ", "+ "] {
        if let Some(rest) = l.strip_prefix(bullet) {
            l = rest;
            break;
        }
    }
    // "1. " / "2) " numbered items.
    let digits = l.find(|c: char| !c.is_ascii_digit()).unwrap_or(0);
    if digits > 0 && (l[digits..].starts_with(". ") || l[digits..].starts_with(") ")) {
        l = &l[digits + 2..];
    }
    l.trim()
}

/// Splits a line into sentences at `.`, `!` or `?` followed by a space and
/// an upper-case letter (so `3.11`, `e.g. this` and `v2.` stay whole).
fn sentences(line: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let bytes: Vec<(usize, char)> = line.char_indices().collect();
    for k in 0..bytes.len() {
        let (i, c) = bytes[k];
        if !matches!(c, '.' | '!' | '?') {
            continue;
        }
        let space = bytes.get(k + 1).is_some_and(|(_, n)| n.is_whitespace());
        let upper = bytes.get(k + 2).is_some_and(|(_, n)| n.is_uppercase() || n.is_ascii_digit());
        if space && upper {
            out.push(&line[start..=i]);
            start = i + c.len_utf8();
        }
    }
    out.push(&line[start..]);
    out.into_iter().map(str::trim).filter(|s| !s.is_empty()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(text: &str) -> Vec<String> {
        Document::parse(text, &Lexicon::default()).facts.into_iter().map(|f| f.text).collect()
    }

    #[test]
    fn sentences_bullets_and_headings() {
        let doc = "# Billing\n\n- Runs Python 3.11. Deploys on Fridays.\n- Owner: Priya\n\n1. e.g. this stays whole";
        assert_eq!(
            facts(doc),
            ["Runs Python 3.11.", "Deploys on Fridays.", "Owner: Priya", "e.g. this stays whole"]
        );
        let parsed = Document::parse(doc, &Lexicon::default());
        assert_eq!(join(&parsed.facts[0].scope), "billing");
    }

    #[test]
    fn code_fences_are_one_fact() {
        let doc = "Build with:\n```sh\ncargo build --release\ncargo test\n```\n";
        assert_eq!(facts(doc).len(), 2);
        assert!(facts(doc)[1].contains("cargo test"));
    }

    #[test]
    fn empty_text_has_no_facts() {
        assert!(facts("").is_empty());
        assert!(facts("# Only a heading\n\n---\n").is_empty());
    }
}
