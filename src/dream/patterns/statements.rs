//! What users say: a user turn is a *directive* — a candidate statement of
//! how the agent should work — unless nothing but thanks, praise or
//! chit-chat is left of it. The reading is generous on purpose: which
//! directives state one recurring mistake or one shared preference is
//! decided by grouping them by meaning across sessions and, where the
//! device cannot prove it, by asking.
//!
//! - After the agent acted (an assistant turn came before), every user
//!   turn directs it: "no mocks for the repo please", "smaller PRs pls",
//!   "can we not MagicMock the repository?".
//! - Before the agent acted (the opening request, which states the task),
//!   only the sentences that state a standing rule are kept ("we always use
//!   pnpm here", "don't touch the lockfile"): the task itself is no rule.
//! - A turn that opens with a correction ("no, …", "don't …", "stop …") is
//!   marked a correction; the mark drafts the kind of a pattern (a mistake
//!   or a preference), it never decides whether there is one.

use crate::text::{PatternLists, contains_any, match_at, plain_words};

/// A user turn read as a directive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    /// The words, as written: the turn's sentences without thanks and
    /// chit-chat, clipped to [`MAX_TEXT`] characters.
    pub text: String,
    /// Whether it opens with a correction of what the agent did.
    pub correction: bool,
}

/// Longest directive text kept.
pub const MAX_TEXT: usize = 320;

/// The directive of one user turn, if any (see the module doc); `acted`
/// tells whether the agent did anything in the session before it.
pub fn directive(text: &str, acted: bool, lex: &PatternLists) -> Option<Directive> {
    let sentences: Vec<Sentence> = split_sentences(text)
        .into_iter()
        .map(|s| Sentence::new(s, lex))
        .filter(|s| !s.ack && !s.words.is_empty())
        .filter(|s| acted || contains_any(&s.words, &lex.standing_cues))
        .collect();
    let first = sentences.first()?;
    let correction = match_at(&first.words, 0, &lex.correction_starts).is_some();
    let joined = sentences.iter().map(|s| s.text.as_str()).collect::<Vec<_>>().join(" ");
    Some(Directive { text: clip(&joined, MAX_TEXT), correction })
}

struct Sentence {
    /// As written, trimmed.
    text: String,
    /// Its words, leading interjections removed.
    words: Vec<String>,
    /// Whether it holds thanks or chit-chat.
    ack: bool,
}

impl Sentence {
    fn new(text: String, lex: &PatternLists) -> Self {
        let mut w = plain_words(&text);
        let greeting = contains_any(&w, &lex.acknowledgements);
        while let Some(p) = match_at(&w, 0, &lex.interjections) {
            let n = p.len();
            w.drain(..n);
        }
        let ack = greeting || contains_any(&w, &lex.acknowledgements);
        Self { text: text.trim().to_owned(), words: w, ack }
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

/// The clauses of a text: its sentences, split again at `,`, `;`, `:`
/// followed by a space, and dashes between spaces; trimmed.
pub fn clauses(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for sentence in split_sentences(text) {
        let mut current = String::new();
        let chars: Vec<char> = sentence.chars().collect();
        for (i, &c) in chars.iter().enumerate() {
            let spaced = chars.get(i + 1).is_none_or(|n| n.is_whitespace());
            let dash = matches!(c, '-' | '–' | '—') && i > 0 && chars[i - 1].is_whitespace() && spaced;
            if matches!(c, ',' | ';') || c == ':' && spaced || dash {
                push_sentence(&mut out, &mut current);
            } else {
                current.push(c);
            }
        }
        push_sentence(&mut out, &mut current);
    }
    out
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

    fn read(text: &str, acted: bool) -> Option<Directive> {
        directive(text, acted, &crate::text::Lexicon::built_in().patterns)
    }

    #[test]
    fn thanks_and_chit_chat_are_never_directives() {
        for text in [
            "Thanks, Nate! Your support is greatly appreciated.",
            "No worries, thanks!",
            "Great job on the tests, I love how clean the code is now.",
            "Good morning! Hope you had a nice weekend.",
            "ok",
        ] {
            assert_eq!(read(text, true), None, "{text}");
        }
    }

    #[test]
    fn after_the_agent_acted_any_words_direct_it() {
        for text in [
            "no mocks for the repo please. we test against a real postgres here",
            "can we not MagicMock the repository? I want these tests hitting the actual database",
            "smaller PRs pls. just the profile flag in this one",
        ] {
            let d = read(text, true).expect("a directive");
            assert_eq!(d.text, text);
        }
        let d = read("Thanks! We test against a real postgres here.", true).expect("kept");
        assert_eq!(d.text, "We test against a real postgres here.", "the thanks is left out");
        assert!(!d.correction, "it does not open with a correction");
        assert!(read("Thanks. Also, don't force push.", true).expect("kept").correction);
    }

    #[test]
    fn an_opening_request_states_a_task_unless_it_states_a_rule() {
        assert_eq!(read("Can you look into why the billing build is slow?", false), None);
        assert_eq!(read("Please check the failing search tests.", false), None);
        let d = read("Set up the checkout service. We always use pnpm here.", false).expect("a rule");
        assert_eq!(d.text, "We always use pnpm here.");
    }

    #[test]
    fn clauses_split_at_commas_and_sentence_ends() {
        assert_eq!(
            clauses("please keep PRs small, put the refactor in its own branch. ok: done - yes"),
            ["please keep PRs small", "put the refactor in its own branch.", "ok", "done", "yes"]
        );
    }

    #[test]
    fn sentences_split_at_ends_not_inside_names() {
        assert_eq!(
            split_sentences("Use pnpm-lock.yaml. Really!\n- next one"),
            ["Use pnpm-lock.yaml.", "Really!", "next one"]
        );
    }
}
