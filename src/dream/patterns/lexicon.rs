//! The word lists of stage 4, as data: [`Lexicon::builtin`] reads
//! `lexicon.json` beside this file; [`Lexicon::from_json`] reads another file
//! of the same shape, which a dream is given through
//! [`DreamOptions::pattern_lexicon`](crate::dream::DreamOptions::pattern_lexicon).
//!
//! Every phrase is matched on whole words of the lower-cased text with
//! apostrophes removed (`"don't"` and `"dont"` are one word), so a list may
//! be written in plain English. The lists:
//!
//! | key | what it does |
//! |---|---|
//! | `stop_words` | grammar words that never become a content term |
//! | `generic_words` | words that carry the speech act, not its subject ("prefer", "keep", "always"): no content term either |
//! | `negations` | a content term after one of these, in the same clause, is *rejected* ("pnpm, **not** npm": npm rejected) |
//! | `contrast_after_preference` | like a negation, but only after a preference cue in the clause ("prefer tabs **over** spaces") |
//! | `synonyms` | phrase → canonical term ("PRs", "pull requests" → `pull-request`), applied before comparing |
//! | `interjections` | leading words stripped before a sentence is classified ("OK, …", "Great, …") |
//! | `acknowledgements` | thanks, praise and chit-chat: a sentence holding one is never a preference nor a correction |
//! | `correction_starts` | a user turn starting with one corrects what the agent did ("No, …", "Don't …") |
//! | `correction_anywhere` | the same, anywhere in the turn ("I told you", "you keep") |
//! | `preference_cues` | a sentence needs one to state a preference ("we like", "please keep", "always") |
//! | `narrative_cues` | removed before looking for a preference cue: "I always wanted…" tells a story, not a rule |
//! | `practice_terms` | a preference must be about how work is done: it needs one of these terms (or a code-like token such as `pnpm-lock.yaml`, `CI`, `--frozen-lockfile`) |
//!
//! `about` (a string) describes the file. Unknown keys are refused, so a misspelt
//! list name is an error rather than a silently empty list.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

/// The built-in lexicon file.
pub const BUILTIN: &str = include_str!("lexicon.json");

/// Why a lexicon file was refused.
#[derive(Debug, thiserror::Error)]
#[error("{origin}: not a pattern lexicon: {message}")]
pub struct LexiconError {
    /// The file (or `built-in`).
    pub origin: String,
    /// What is wrong.
    pub message: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    about: String,
    stop_words: Vec<String>,
    generic_words: Vec<String>,
    negations: Vec<String>,
    contrast_after_preference: Vec<String>,
    synonyms: BTreeMap<String, String>,
    interjections: Vec<String>,
    acknowledgements: Vec<String>,
    correction_starts: Vec<String>,
    correction_anywhere: Vec<String>,
    preference_cues: Vec<String>,
    narrative_cues: Vec<String>,
    practice_terms: Vec<String>,
}

/// A phrase: one or more normalised words.
pub type Phrase = Vec<String>;

/// The word lists, normalised for matching (see the module doc).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lexicon {
    /// The file's `about` text.
    pub about: String,
    /// Never content terms.
    pub stop_words: BTreeSet<String>,
    /// Never content terms either (speech-act words).
    pub generic_words: BTreeSet<String>,
    /// Turn what follows in the clause into rejected terms.
    pub negations: Vec<Phrase>,
    /// Negations that count only after a preference cue in the clause.
    pub contrast_after_preference: Vec<Phrase>,
    /// Phrase → canonical term, longest phrases first.
    pub synonyms: Vec<(Phrase, String)>,
    /// Stripped at the start of a sentence.
    pub interjections: Vec<Phrase>,
    /// Mark thanks and chit-chat.
    pub acknowledgements: Vec<Phrase>,
    /// Mark a correction at the start of a turn.
    pub correction_starts: Vec<Phrase>,
    /// Mark a correction anywhere in a turn.
    pub correction_anywhere: Vec<Phrase>,
    /// Mark a preference.
    pub preference_cues: Vec<Phrase>,
    /// Removed before looking for preference cues.
    pub narrative_cues: Vec<Phrase>,
    /// Terms about how work is done (canonical, stemmed forms).
    pub practice_terms: BTreeSet<String>,
}

impl Default for Lexicon {
    fn default() -> Self {
        Self::builtin()
    }
}

impl Lexicon {
    /// The built-in lexicon (`src/dream/patterns/lexicon.json`).
    pub fn builtin() -> Self {
        // The built-in file is part of the program and a unit test parses
        // it: failing here is a build defect, not bad input.
        Self::from_json(BUILTIN, "built-in").expect("the built-in pattern lexicon parses")
    }

    /// Reads a lexicon file of the shape of `lexicon.json`; `origin` names
    /// it in errors.
    pub fn from_json(text: &str, origin: &str) -> Result<Self, LexiconError> {
        let file: File = serde_json::from_str(text)
            .map_err(|e| LexiconError { origin: origin.to_owned(), message: e.to_string() })?;
        let phrases = |list: &[String]| -> Vec<Phrase> {
            let mut out: Vec<Phrase> = list.iter().map(|p| words(p)).filter(|p| !p.is_empty()).collect();
            // Longest first, so "do not" wins over "do".
            out.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
            out.dedup();
            out
        };
        let singles = |list: &[String]| -> BTreeSet<String> { list.iter().flat_map(|w| words(w)).collect() };
        let mut synonyms: Vec<(Phrase, String)> = file
            .synonyms
            .iter()
            .map(|(from, to)| (words(from), to.to_lowercase()))
            .filter(|(from, _)| !from.is_empty())
            .collect();
        synonyms.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.cmp(b)));
        let mut lexicon = Self {
            about: file.about.clone(),
            stop_words: singles(&file.stop_words),
            generic_words: singles(&file.generic_words),
            negations: phrases(&file.negations),
            contrast_after_preference: phrases(&file.contrast_after_preference),
            synonyms,
            interjections: phrases(&file.interjections),
            acknowledgements: phrases(&file.acknowledgements),
            correction_starts: phrases(&file.correction_starts),
            correction_anywhere: phrases(&file.correction_anywhere),
            preference_cues: phrases(&file.preference_cues),
            narrative_cues: phrases(&file.narrative_cues),
            practice_terms: BTreeSet::new(),
        };
        // Practice terms are compared with content terms: give them the same form.
        lexicon.practice_terms =
            file.practice_terms.iter().map(|t| lexicon.canonical(&t.to_lowercase())).collect();
        Ok(lexicon)
    }

    /// The canonical form of one word: its synonym, else its stem.
    pub fn canonical(&self, word: &str) -> String {
        if let Some((_, to)) = self.synonyms.iter().find(|(from, _)| from.len() == 1 && from[0] == word) {
            return to.clone();
        }
        let stemmed = stem(word);
        match self.synonyms.iter().find(|(from, _)| from.len() == 1 && from[0] == stemmed) {
            Some((_, to)) => to.clone(),
            None => stemmed,
        }
    }
}

/// Lower-cased words of `text`, apostrophes removed, split at anything but
/// letters, digits and the inner `.`, `-`, `_`, `/` of names such as
/// `pnpm-lock.yaml` or `src/main.rs`.
pub fn words(text: &str) -> Vec<String> {
    let lower = text.to_lowercase();
    let chars: Vec<char> = lower.chars().filter(|c| *c != '\'' && *c != '\u{2019}').collect();
    let mut out = Vec::new();
    let mut current = String::new();
    for (i, &c) in chars.iter().enumerate() {
        let inner = matches!(c, '.' | '-' | '_' | '/')
            && !current.is_empty()
            && chars.get(i + 1).is_some_and(|n| n.is_alphanumeric());
        if c.is_alphanumeric() || inner {
            current.push(c);
        } else if !current.is_empty() {
            out.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// Light stemming of a plain word: plural `-s`/`-ies`, `-ing`, `-ed`, with
/// a doubled final consonant undone ("committing" → "commit"). Names with
/// digits or inner punctuation are left as written.
pub fn stem(word: &str) -> String {
    if !word.chars().all(|c| c.is_ascii_alphabetic()) || word.len() <= 3 {
        return word.to_owned();
    }
    let undouble = |base: &str| -> String {
        let b = base.as_bytes();
        let n = b.len();
        if n >= 4 && b[n - 1] == b[n - 2] && !matches!(b[n - 1], b'l' | b's' | b'z' | b'f') {
            base[..n - 1].to_owned()
        } else {
            base.to_owned()
        }
    };
    if let Some(base) = word.strip_suffix("ing")
        && base.len() >= 3
    {
        return undouble(base);
    }
    if let Some(base) = word.strip_suffix("ied")
        && base.len() >= 2
    {
        return format!("{base}y");
    }
    if let Some(base) = word.strip_suffix("ed")
        && base.len() >= 3
    {
        return undouble(base);
    }
    if let Some(base) = word.strip_suffix("ies")
        && base.len() >= 2
    {
        return format!("{base}y");
    }
    if word.ends_with("ss") || word.ends_with("us") || word.ends_with("is") {
        return word.to_owned();
    }
    word.strip_suffix('s').map_or_else(|| word.to_owned(), str::to_owned)
}

/// Whether `phrase` occurs in `words` starting at `at`.
pub fn phrase_at(words: &[String], at: usize, phrase: &[String]) -> bool {
    words.len() >= at + phrase.len() && words[at..at + phrase.len()] == *phrase
}

/// The first of `phrases` found in `words` starting at `at`, by length.
pub fn match_at<'p>(words: &[String], at: usize, phrases: &'p [Phrase]) -> Option<&'p Phrase> {
    phrases.iter().find(|p| phrase_at(words, at, p))
}

/// Whether any of `phrases` occurs anywhere in `words`.
pub fn contains_any(words: &[String], phrases: &[Phrase]) -> bool {
    (0..words.len()).any(|i| match_at(words, i, phrases).is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_lexicon_parses_and_is_normalised() {
        let l = Lexicon::builtin();
        assert!(l.practice_terms.contains("pull-request"));
        assert!(l.practice_terms.contains("test"), "stemmed like content terms");
        assert!(l.negations.iter().any(|p| p == &["dont".to_owned()]));
        assert!(l.negations.first().is_some_and(|p| p.len() == 2), "longest phrases first");
    }

    #[test]
    fn unknown_keys_and_bad_json_are_refused_with_the_origin() {
        let err = Lexicon::from_json("{\"stop_word\": []}", "mine.json").unwrap_err().to_string();
        assert!(err.starts_with("mine.json: not a pattern lexicon"), "{err}");
        assert!(Lexicon::from_json("[", "x").is_err());
    }

    #[test]
    fn words_keep_names_and_drop_apostrophes() {
        assert_eq!(
            words("Don't run `npm ci`, use pnpm-lock.yaml!"),
            ["dont", "run", "npm", "ci", "use", "pnpm-lock.yaml"]
        );
    }

    #[test]
    fn stems() {
        for (w, s) in [
            ("committing", "commit"),
            ("pushed", "push"),
            ("adding", "add"),
            ("tabs", "tab"),
            ("dependencies", "dependency"),
            ("class", "class"),
            ("node18", "node18"),
            ("spelling", "spell"),
        ] {
            assert_eq!(stem(w), s, "{w}");
        }
    }
}
