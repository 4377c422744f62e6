//! The word lists the text analysis reacts to, as data.
//!
//! The default lexicon is `src/text/lexicon.toml` (compiled in); its
//! comments say what each list means and how it was checked against public
//! labelled pairs. [`Lexicon::from_toml`] loads another one.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use super::{Phrase, plain_words};

/// The default lexicon's source text.
pub const DEFAULT_TOML: &str = include_str!("lexicon.toml");

/// Why a lexicon does not load.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LexiconError {
    /// The text is not valid TOML of the lexicon's shape.
    #[error("lexicon: {0}")]
    Parse(String),
    /// An entry breaks a rule (empty, not lower case, ...).
    #[error("lexicon: {list}: {message}")]
    Entry {
        /// The list, e.g. `same.equivalent`.
        list: &'static str,
        /// What is wrong.
        message: String,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    same: RawSame,
    values: RawValues,
    subjects: RawSubjects,
    changes: RawChanges,
    meaning: RawMeaning,
    patterns: RawPatterns,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPatterns {
    interjections: Vec<String>,
    acknowledgements: Vec<String>,
    correction_starts: Vec<String>,
    standing_cues: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMeaning {
    relations: Vec<String>,
    antonyms: Vec<(String, String)>,
    passive: Vec<String>,
    agents: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSame {
    ignorable: Vec<String>,
    equivalent: Vec<(String, String)>,
    expand: Vec<(String, String)>,
    units: Vec<(String, String)>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawValues {
    negations: Vec<String>,
    booleans: Vec<String>,
    dates: Vec<String>,
    not_negating_after_not: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSubjects {
    qualifiers: Vec<String>,
    grammar: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawChanges {
    cues: Vec<String>,
    cue_pairs: Vec<(String, String)>,
    auxiliaries: Vec<String>,
}

/// The word lists of the text analysis (see `lexicon.toml` for what each
/// one means). It serializes as its parsed lists (what a report keeps of
/// a lexicon other than the default), not as `lexicon.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lexicon {
    /// Words dropped before comparing word sequences.
    pub ignorable: BTreeSet<String>,
    /// Spellings folded to one form (word → words).
    pub equivalent: BTreeMap<String, Vec<String>>,
    /// Contractions expanded (word → words).
    pub expand: BTreeMap<String, Vec<String>>,
    /// Unit words folded into a preceding number (as written → canonical).
    pub units: BTreeMap<String, String>,
    /// Negation words.
    pub negations: BTreeSet<String>,
    /// Boolean-like states.
    pub booleans: BTreeSet<String>,
    /// Days, months and frequencies.
    pub dates: BTreeSet<String>,
    /// Words after "not" that make it no negation ("not only").
    pub not_negating_after_not: BTreeSet<String>,
    /// Environment, region and platform words.
    pub qualifiers: BTreeSet<String>,
    /// Grammar words, which never make two memories a blocking candidate.
    pub grammar: BTreeSet<String>,
    /// One-word update cues.
    pub cues: BTreeSet<String>,
    /// Two-word update cues.
    pub cue_pairs: BTreeSet<(String, String)>,
    /// Auxiliary verbs a stated change may carry ("was upgraded").
    pub auxiliaries: BTreeSet<String>,
    /// Words that place one thing relative to another ("behind", "after").
    pub relations: BTreeSet<String>,
    /// Words of opposite meaning, by stem (`text::stem`), each
    /// pair in both orders.
    pub antonyms: BTreeSet<(String, String)>,
    /// Words that put the verb after them in the passive voice ("being").
    pub passive: BTreeSet<String>,
    /// Words that introduce the doer in the passive voice ("by").
    pub agents: BTreeSet<String>,
    /// The lists of the pattern stage (section `[patterns]`).
    pub patterns: PatternLists,
}

/// The word lists the pattern stage reads user turns with (section
/// `[patterns]` of `lexicon.toml`), as `plain_words` phrases; phrase
/// lists are sorted longest first, so "do not" wins over "do".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatternLists {
    /// Stripped at the start of a sentence.
    pub interjections: Vec<Phrase>,
    /// Mark thanks and chit-chat.
    pub acknowledgements: Vec<Phrase>,
    /// Mark a correction at the start of a turn.
    pub correction_starts: Vec<Phrase>,
    /// Mark a standing rule in the opening request of a session.
    pub standing_cues: Vec<Phrase>,
}

impl PatternLists {
    fn parse(raw: RawPatterns) -> Result<Self, LexiconError> {
        let phrases = |list: &'static str, entries: Vec<String>| -> Result<Vec<Phrase>, LexiconError> {
            let mut out = entries.into_iter().map(|p| phrase(list, &p)).collect::<Result<Vec<_>, _>>()?;
            out.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
            out.dedup();
            Ok(out)
        };
        Ok(Self {
            interjections: phrases("patterns.interjections", raw.interjections)?,
            acknowledgements: phrases("patterns.acknowledgements", raw.acknowledgements)?,
            correction_starts: phrases("patterns.correction_starts", raw.correction_starts)?,
            standing_cues: phrases("patterns.standing_cues", raw.standing_cues)?,
        })
    }
}

/// A phrase entry: lower case, read with [`plain_words`], not empty.
fn phrase(list: &'static str, entry: &str) -> Result<Phrase, LexiconError> {
    if entry != entry.to_lowercase() {
        return Err(LexiconError::Entry { list, message: format!("{entry:?} is not lower case") });
    }
    let words = plain_words(entry);
    if words.is_empty() {
        return Err(LexiconError::Entry { list, message: format!("{entry:?} has no word") });
    }
    Ok(words)
}

impl Default for Lexicon {
    fn default() -> Self {
        Self::built_in().clone()
    }
}

impl Lexicon {
    /// The built-in lexicon (`lexicon.toml`), parsed once.
    pub fn built_in() -> &'static Self {
        static BUILT_IN: OnceLock<Lexicon> = OnceLock::new();
        BUILT_IN
            .get_or_init(|| Self::from_toml(DEFAULT_TOML).expect("the built-in lexicon is valid (tested)"))
    }

    /// Parses a lexicon in the format of `lexicon.toml`.
    pub fn from_toml(text: &str) -> Result<Self, LexiconError> {
        let raw: Raw = toml::from_str(text).map_err(|e| LexiconError::Parse(e.to_string()))?;
        let set = |list: &'static str, words: Vec<String>| -> Result<BTreeSet<String>, LexiconError> {
            words.into_iter().map(|w| checked(list, w)).collect()
        };
        let map = |list: &'static str,
                   pairs: Vec<(String, String)>|
         -> Result<BTreeMap<String, Vec<String>>, LexiconError> {
            pairs
                .into_iter()
                .map(|(from, to)| {
                    let from = checked(list, from)?;
                    let to: Vec<String> = to.split_whitespace().map(str::to_owned).collect();
                    if to.is_empty() {
                        return Err(LexiconError::Entry {
                            list,
                            message: format!("{from:?} maps to nothing"),
                        });
                    }
                    Ok((from, to))
                })
                .collect()
        };
        let units = raw
            .same
            .units
            .into_iter()
            .map(|(from, to)| Ok((checked("same.units", from)?, checked("same.units", to)?)))
            .collect::<Result<_, LexiconError>>()?;
        let cue_pairs = raw
            .changes
            .cue_pairs
            .into_iter()
            .map(|(a, b)| Ok((checked("changes.cue_pairs", a)?, checked("changes.cue_pairs", b)?)))
            .collect::<Result<_, LexiconError>>()?;
        let ignorable = set("same.ignorable", raw.same.ignorable)?;
        let grammar = set("subjects.grammar", raw.subjects.grammar)?;
        let mut antonyms = BTreeSet::new();
        for (a, b) in raw.meaning.antonyms {
            let (a, b) = (checked("meaning.antonyms", a)?, checked("meaning.antonyms", b)?);
            let (a, b) = (super::stem(&a), super::stem(&b));
            antonyms.insert((a.clone(), b.clone()));
            antonyms.insert((b, a));
        }
        Ok(Self {
            relations: set("meaning.relations", raw.meaning.relations)?,
            passive: set("meaning.passive", raw.meaning.passive)?,
            agents: set("meaning.agents", raw.meaning.agents)?,
            antonyms,
            ignorable,
            equivalent: map("same.equivalent", raw.same.equivalent)?,
            expand: map("same.expand", raw.same.expand)?,
            units,
            negations: set("values.negations", raw.values.negations)?,
            booleans: set("values.booleans", raw.values.booleans)?,
            dates: set("values.dates", raw.values.dates)?,
            not_negating_after_not: set("values.not_negating_after_not", raw.values.not_negating_after_not)?,
            qualifiers: set("subjects.qualifiers", raw.subjects.qualifiers)?,
            cues: set("changes.cues", raw.changes.cues)?,
            cue_pairs,
            auxiliaries: set("changes.auxiliaries", raw.changes.auxiliaries)?,
            patterns: PatternLists::parse(raw.patterns)?,
            grammar,
        })
    }
}

fn checked(list: &'static str, word: String) -> Result<String, LexiconError> {
    if word.trim().is_empty() {
        return Err(LexiconError::Entry { list, message: "an empty entry".into() });
    }
    if word != word.to_lowercase() || word.chars().any(char::is_whitespace) {
        return Err(LexiconError::Entry { list, message: format!("{word:?} is not one lower-case word") });
    }
    Ok(word)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_lexicon_loads() {
        let l = Lexicon::default();
        assert!(l.ignorable.contains("the"));
        assert_eq!(l.equivalent["db"], vec!["database".to_owned()]);
        assert_eq!(l.expand["dont"], vec!["do".to_owned(), "not".to_owned()]);
        assert!(l.qualifiers.contains("staging"));
        assert!(l.cue_pairs.contains(&("no".to_owned(), "longer".to_owned())));
    }

    #[test]
    fn bad_lexicons_are_refused_with_the_list_named() {
        let bad = DEFAULT_TOML.replace("\"a\", \"an\"", "\"A\", \"an\"");
        let err = Lexicon::from_toml(&bad).unwrap_err().to_string();
        assert!(err.contains("same.ignorable") && err.contains("\"A\""), "{err}");
        assert!(matches!(Lexicon::from_toml("same = 3"), Err(LexiconError::Parse(_))));
        let unknown = format!("{DEFAULT_TOML}\n[extra]\nx = []\n");
        assert!(Lexicon::from_toml(&unknown).is_err());
        let bad = DEFAULT_TOML.replace("\"nope\", \"nah\"", "\"Nope\", \"nah\"");
        let err = Lexicon::from_toml(&bad).unwrap_err().to_string();
        assert!(err.contains("patterns.correction_starts") && err.contains("\"Nope\""), "{err}");
        let bad = DEFAULT_TOML.replace("\"nope\", \"nah\"", "\"!!\", \"nah\"");
        let err = Lexicon::from_toml(&bad).unwrap_err().to_string();
        assert!(err.contains("patterns.correction_starts") && err.contains("no word"), "{err}");
    }

    #[test]
    fn the_pattern_lists_are_phrases_longest_first() {
        let l = Lexicon::default().patterns;
        assert!(l.correction_starts.iter().any(|p| p == &["dont".to_owned()]));
        assert!(l.standing_cues.first().is_some_and(|p| p.len() == 3), "longest phrases first");
        assert!(l.acknowledgements.iter().any(|p| p == &["thanks".to_owned()]));
    }
}
