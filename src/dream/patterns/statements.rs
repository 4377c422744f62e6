//! What users say: a user turn becomes a correction (it corrects what the
//! agent just did), zero or more preferences (statements about how work
//! should be done), or nothing (thanks, chit-chat, requests, questions).
//! Each statement carries its content terms, split into what it wants and
//! what it rejects, so that "pnpm, not npm" and "npm, not pnpm" are told
//! apart.

use std::collections::BTreeSet;

use crate::text::{PatternLists, contains_any, match_at, phrase_at, plain_words};

/// What a statement is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum StatementKind {
    /// The user corrects what the agent did.
    Correction,
    /// The user states how work should be done.
    Preference,
}

/// Content terms with their polarity.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Terms {
    /// Terms stated positively ("use **pnpm**").
    pub wanted: BTreeSet<String>,
    /// Terms negated or contrasted ("not **npm**", "prefer tabs over **spaces**").
    pub rejected: BTreeSet<String>,
}

impl Terms {
    /// Number of signed terms.
    pub fn len(&self) -> usize {
        self.wanted.len() + self.rejected.len()
    }

    /// Whether there is no term at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Terms of the same polarity in both.
    pub fn shared(&self, other: &Terms) -> usize {
        self.wanted.intersection(&other.wanted).count() + self.rejected.intersection(&other.rejected).count()
    }

    /// Whether one wants what the other rejects.
    pub fn opposes(&self, other: &Terms) -> bool {
        self.wanted.intersection(&other.rejected).next().is_some()
            || self.rejected.intersection(&other.wanted).next().is_some()
    }

    /// Every term, whatever its polarity.
    pub fn all(&self) -> BTreeSet<&str> {
        self.wanted.iter().chain(&self.rejected).map(String::as_str).collect()
    }

    fn extend(&mut self, other: Terms) {
        self.wanted.extend(other.wanted);
        self.rejected.extend(other.rejected);
        let both: Vec<String> = self.wanted.intersection(&self.rejected).cloned().collect();
        for t in both {
            self.rejected.remove(&t);
        }
    }
}

/// A correction or a preference, as said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// Its kind.
    pub kind: StatementKind,
    /// The words, as written (the sentences that make it, clipped).
    pub text: String,
    /// Its content terms.
    pub terms: Terms,
}

/// Longest statement text kept.
const MAX_TEXT: usize = 240;

/// A turn read as a correction whatever its wording (the words of its
/// sentences that are not thanks or chit-chat), for a turn that answers a
/// failure: "This repo is a pnpm workspace, use pnpm." corrects without
/// saying "no". `None` when nothing but thanks or chit-chat is left.
pub fn remark(text: &str, lex: &PatternLists) -> Option<Statement> {
    let sentences: Vec<Sentence> =
        split_sentences(text).into_iter().map(|s| Sentence::new(s, lex)).filter(|s| !s.ack).collect();
    let mut terms = Terms::default();
    for s in &sentences {
        terms.extend(s.terms(lex));
    }
    let joined = sentences.iter().map(|s| s.text.as_str()).collect::<Vec<_>>().join(" ");
    (!terms.is_empty()).then(|| Statement {
        kind: StatementKind::Correction,
        text: clip(&joined, MAX_TEXT),
        terms,
    })
}

/// The statements of one user turn (see the module doc).
pub fn statements(text: &str, lex: &PatternLists) -> Vec<Statement> {
    let sentences: Vec<Sentence> =
        split_sentences(text).into_iter().map(|s| Sentence::new(s, lex)).filter(|s| !s.ack).collect();
    let Some(first) = sentences.first() else { return Vec::new() };
    let all_words: Vec<String> = sentences.iter().flat_map(|s| s.words.clone()).collect();
    let correction = match_at(&first.words, 0, &lex.correction_starts).is_some()
        || contains_any(&all_words, &lex.correction_anywhere);
    if correction {
        let mut terms = Terms::default();
        for s in &sentences {
            terms.extend(s.terms(lex));
        }
        if terms.is_empty() {
            return Vec::new();
        }
        let joined = sentences.iter().map(|s| s.text.as_str()).collect::<Vec<_>>().join(" ");
        return vec![Statement { kind: StatementKind::Correction, text: clip(&joined, MAX_TEXT), terms }];
    }
    sentences
        .iter()
        .filter(|s| !s.question && s.is_preference(lex))
        .filter_map(|s| {
            let terms = s.terms(lex);
            let about_work = terms.all().iter().any(|t| lex.practice_terms.contains(*t)) || s.code_like;
            (about_work && !terms.is_empty()).then(|| Statement {
                kind: StatementKind::Preference,
                text: clip(&s.text, MAX_TEXT),
                terms,
            })
        })
        .collect()
}

struct Sentence {
    /// As written, trimmed.
    text: String,
    /// Its words, leading interjections removed.
    words: Vec<String>,
    /// Whether it ends with a question mark.
    question: bool,
    /// Whether it holds thanks or chit-chat.
    ack: bool,
    /// Whether it holds a code-like token (`a_b`, `x.yaml`, `--flag`, `CI`, backticks).
    code_like: bool,
}

impl Sentence {
    fn new(text: String, lex: &PatternLists) -> Self {
        let mut w = plain_words(&text);
        while let Some(p) = match_at(&w, 0, &lex.interjections) {
            let n = p.len();
            w.drain(..n);
        }
        let ack = contains_any(&w, &lex.acknowledgements);
        let question = text.trim_end().ends_with('?');
        let code_like = text.contains('`')
            || text.split_whitespace().any(|raw| {
                let t = raw.trim_matches(|c: char| !c.is_alphanumeric() && c != '-');
                let inner = t.trim_start_matches('-');
                t.starts_with("--") && inner.len() > 1
                    || inner.chars().skip(1).any(|c| matches!(c, '.' | '_' | '/'))
                        && inner.chars().last().is_some_and(char::is_alphanumeric)
                    || inner.len() >= 2
                        && inner.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
                        && inner.chars().any(|c| c.is_ascii_uppercase())
                        && inner != "OK"
            });
        Self { text: text.trim().to_owned(), words: w, question, ack, code_like }
    }

    fn is_preference(&self, lex: &PatternLists) -> bool {
        let mut w = self.words.clone();
        let mut i = 0;
        while i < w.len() {
            match match_at(&w, i, &lex.narrative_cues) {
                Some(p) => {
                    let n = p.len();
                    w.drain(i..i + n);
                }
                None => i += 1,
            }
        }
        contains_any(&w, &lex.preference_cues)
    }

    /// Content terms, clause by clause: after a negation (or a contrast
    /// after a preference cue) terms are rejected until the clause ends.
    fn terms(&self, lex: &PatternLists) -> Terms {
        let mut terms = Terms::default();
        for clause in clauses(&self.text) {
            let w = plain_words(&clause);
            let mut rejected = false;
            let mut cue = false;
            let mut i = 0;
            while i < w.len() {
                if let Some(p) = match_at(&w, i, &lex.negations) {
                    rejected = true;
                    i += p.len();
                    continue;
                }
                if cue && let Some(p) = match_at(&w, i, &lex.contrast_after_preference) {
                    rejected = true;
                    i += p.len();
                    continue;
                }
                if match_at(&w, i, &lex.preference_cues).is_some() {
                    cue = true;
                }
                let (term, used) =
                    match lex.synonyms.iter().find(|(from, _)| from.len() > 1 && phrase_at(&w, i, from)) {
                        Some((from, to)) => (to.clone(), from.len()),
                        None => (lex.canonical(&w[i]), 1),
                    };
                i += used;
                let skip = |t: &str| lex.stop_words.contains(t) || lex.generic_words.contains(t);
                if used == 1 && (skip(&w[i - 1]) || skip(&term)) || term.chars().all(|c| !c.is_alphanumeric())
                {
                    continue;
                }
                if rejected {
                    terms.rejected.insert(term);
                } else {
                    terms.wanted.insert(term);
                }
            }
        }
        let both: Vec<String> = terms.wanted.intersection(&terms.rejected).cloned().collect();
        for t in both {
            terms.rejected.remove(&t);
        }
        terms
    }
}

/// Sentences of a text: split after `.`, `!`, `?` followed by a space or
/// the end, and at line breaks; list bullets and quote marks removed.
pub fn split_sentences(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim().trim_start_matches(['-', '*', '>', '#']).trim();
        let chars: Vec<char> = line.chars().collect();
        let mut current = String::new();
        for (i, &c) in chars.iter().enumerate() {
            current.push(c);
            let end = matches!(c, '.' | '!' | '?') && chars.get(i + 1).is_none_or(|n| n.is_whitespace());
            if end {
                push_sentence(&mut out, &mut current);
            }
        }
        push_sentence(&mut out, &mut current);
    }
    out
}

fn push_sentence(out: &mut Vec<String>, current: &mut String) {
    let s = current.trim();
    if s.chars().any(char::is_alphanumeric) {
        out.push(s.to_owned());
    }
    current.clear();
}

/// Clauses of a sentence: split at `,`, `;`, `:`, parentheses, dashes
/// between spaces, and the word "but".
fn clauses(sentence: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let chars: Vec<char> = sentence.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        let spaced_dash = matches!(c, '-' | '–' | '—')
            && chars.get(i.wrapping_sub(1)).is_some_and(|p| p.is_whitespace())
            && chars.get(i + 1).is_none_or(|n| n.is_whitespace());
        if matches!(c, ',' | ';' | '(' | ')' | '–' | '—')
            || spaced_dash
            || c == ':' && chars.get(i + 1).is_none_or(|n| n.is_whitespace())
        {
            out.push(std::mem::take(&mut current));
        } else {
            current.push(c);
        }
    }
    out.push(current);
    out.into_iter()
        .flat_map(|c| {
            let mut parts = Vec::new();
            let mut part = String::new();
            for w in c.split_whitespace() {
                if w.eq_ignore_ascii_case("but") {
                    parts.push(std::mem::take(&mut part));
                } else {
                    part.push_str(w);
                    part.push(' ');
                }
            }
            parts.push(part);
            parts
        })
        .filter(|c| c.chars().any(char::is_alphanumeric))
        .collect()
}

/// `text` cut to `max` characters, with an ellipsis when cut.
pub fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let mut s: String = text.chars().take(max).collect();
        s.push('…');
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Option<Statement> {
        let mut s = statements(text, &crate::text::Lexicon::built_in().patterns);
        assert!(s.len() <= 1, "{s:#?}");
        s.pop()
    }

    fn set(words: &[&str]) -> BTreeSet<String> {
        words.iter().map(|w| (*w).to_owned()).collect()
    }

    #[test]
    fn thanks_and_chit_chat_are_never_preferences() {
        for text in [
            "Thanks, Nate! Your support is greatly appreciated.",
            "No worries, thanks!",
            "Great job on the tests, I love how clean the code is now.",
            "Good morning! Hope you had a nice weekend.",
            "I always wanted to learn to code.",
            "I love hiking on weekends, it clears my head.",
            "I prefer tea over coffee.",
        ] {
            assert_eq!(one(text), None, "{text}");
        }
    }

    #[test]
    fn requests_and_questions_are_not_preferences() {
        assert_eq!(one("Can you split this?"), None);
        assert_eq!(one("Add a health check endpoint to billing."), None);
        let s = one("Can you split this? We like small pull requests here.").expect("a preference");
        assert_eq!(s.kind, StatementKind::Preference);
        assert_eq!(s.text, "We like small pull requests here.");
        assert_eq!(s.terms.wanted, set(&["pull-request", "small"]));
    }

    #[test]
    fn paraphrases_get_the_same_terms() {
        let a = one("please keep PRs small").expect("a preference");
        let b = one("Can you split this? We like small pull requests here.").expect("a preference");
        assert_eq!(a.terms, b.terms);
    }

    #[test]
    fn polarity_tells_opposite_statements_apart() {
        let a = one("No, use pnpm, not npm.").expect("a correction");
        assert_eq!(a.kind, StatementKind::Correction);
        assert_eq!((a.terms.wanted.clone(), a.terms.rejected.clone()), (set(&["pnpm"]), set(&["npm"])));
        let b = one("Don't use npm here, we use pnpm.").expect("a correction");
        assert_eq!(a.terms, b.terms);
        let tabs = one("We always indent with tabs, not spaces.").expect("a preference");
        let spaces = one("We always indent with spaces, not tabs.").expect("a preference");
        assert!(tabs.terms.opposes(&spaces.terms));
        let over = one("I prefer tabs over spaces for indentation.").expect("a preference");
        assert!(over.terms.rejected.contains("space"), "{over:?}");
    }

    #[test]
    fn a_correction_takes_the_whole_turn() {
        let s = one("No, that's wrong. We never commit to main; open a PR.").expect("a correction");
        assert_eq!(s.kind, StatementKind::Correction);
        assert!(s.terms.wanted.contains("pull-request") && s.terms.rejected.contains("commit"), "{s:?}");
        assert_eq!(one("No, that's not right."), None, "no content: nothing to group by");
    }

    #[test]
    fn sentences_split_at_ends_not_inside_names() {
        assert_eq!(
            split_sentences("Use pnpm-lock.yaml. Really!\n- next one"),
            ["Use pnpm-lock.yaml.", "Really!", "next one"]
        );
    }
}
