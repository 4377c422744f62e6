//! Word sequences: a text as the words a comparison looks at, in order.
//!
//! Lower-cased and in Unicode NFC; punctuation and Markdown marks dropped,
//! except inside versions, hosts, paths and identifiers (`3.11`,
//! `db-1.internal`, `/var/log`, `MAX_CONN` stays `max_conn`, distinct from
//! `maxconn`); contractions expanded and spellings folded as the
//! [`Lexicon`] says; a unit folded into its number (`30 seconds` → `30s`);
//! the lexicon's ignorable words dropped. Word order is kept: it is meaning.

use unicode_normalization::UnicodeNormalization;

use super::Lexicon;

/// What a word is, as far as telling subjects from values goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Kind {
    /// An ordinary word.
    Word,
    /// A number, possibly with a unit (`5432`, `30s`, `2.5`).
    Number,
    /// A version (`3.11`, `v2.4.1`).
    Version,
    /// A day, a month or a frequency.
    Date,
    /// A boolean-like state (`true`, `enabled`...).
    Boolean,
    /// A negation (`not`, `never`...).
    Negation,
}

impl Kind {
    /// Whether a change in this word keeps the subject and changes the
    /// value (negations excluded: they flip a statement, see
    /// [`Kind::Negation`]).
    pub fn is_value(self) -> bool {
        matches!(self, Kind::Number | Kind::Version | Kind::Date | Kind::Boolean)
    }
}

/// One word of a sequence.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Word {
    /// Its normalised text.
    pub text: String,
    /// Its kind.
    pub kind: Kind,
}

/// The words of `text`, in order (see the module doc).
pub fn words(text: &str, lexicon: &Lexicon) -> Vec<Word> {
    let mut out: Vec<Word> = Vec::new();
    let raw = raw_words(text);
    let mut i = 0;
    while i < raw.len() {
        let w = raw[i].as_str();
        let replaced: Vec<String> = match lexicon.expand.get(w).or_else(|| lexicon.equivalent.get(w)) {
            Some(to) => to.clone(),
            None => vec![w.to_owned()],
        };
        for word in replaced {
            push(&mut out, word, lexicon);
        }
        i += 1;
    }
    // "not only" / "not just" adds rather than negates.
    for k in 1..out.len() {
        if out[k - 1].kind == Kind::Negation && lexicon.not_negating_after_not.contains(&out[k].text) {
            out[k - 1].kind = Kind::Word;
        }
    }
    out
}

fn push(out: &mut Vec<Word>, word: String, lexicon: &Lexicon) {
    if lexicon.ignorable.contains(&word) {
        return;
    }
    // "30 seconds": fold the unit into the number before it.
    if let Some(unit) = lexicon.units.get(&word)
        && let Some(last) = out.last_mut()
        && last.kind == Kind::Number
        && last.text.chars().all(|c| c.is_ascii_digit() || c == '.')
        && word.chars().all(|c| c.is_alphabetic() || c == '%')
    {
        last.text.push_str(unit);
        return;
    }
    // "30s", "5min": a number with a unit attached.
    if let Some(cut) = word.find(|c: char| !(c.is_ascii_digit() || c == '.'))
        && cut > 0
        && word[..cut].chars().all(|c| c.is_ascii_digit() || c == '.')
        && let Some(unit) = lexicon.units.get(&word[cut..])
    {
        out.push(Word { text: format!("{}{unit}", &word[..cut]), kind: Kind::Number });
        return;
    }
    let kind = kind_of(&word, lexicon);
    out.push(Word { text: word, kind });
}

fn kind_of(word: &str, lexicon: &Lexicon) -> Kind {
    if lexicon.negations.contains(word) {
        Kind::Negation
    } else if lexicon.booleans.contains(word) {
        Kind::Boolean
    } else if lexicon.dates.contains(word) {
        Kind::Date
    } else if word.chars().all(|c| c.is_ascii_digit()) {
        Kind::Number
    } else if is_number(word) {
        // `2.5` with one dot is a number; `3.11.2` is a version; `3.11` could
        // be either, and both are values.
        if word.matches('.').count() == 1 && !word.ends_with('0') { Kind::Number } else { Kind::Version }
    } else if is_version(word) {
        Kind::Version
    } else {
        Kind::Word
    }
}

fn is_number(word: &str) -> bool {
    word.chars().next().is_some_and(|c| c.is_ascii_digit())
        && word.chars().all(|c| c.is_ascii_digit() || c == '.')
}

/// `v2.4.1`, `1.2.0-rc1`, `3.11`: digits first (or `v` then a digit).
/// Identifiers that merely contain digits (`s3`, `node18`, `billing-v2`)
/// are names, not versions.
fn is_version(word: &str) -> bool {
    let body = word.strip_prefix('v').unwrap_or(word);
    body.chars().next().is_some_and(|c| c.is_ascii_digit())
        && body.contains(['.', '-'])
        && body.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+'))
}

/// Splits text into lower-case words in NFC, keeping the inner
/// punctuation of versions, hosts, paths, identifiers and numbers
/// (`3.11`, `db-1.internal`, `/var/log`, `max_conn`, `1,000` → `1000`).
/// An apostrophe before `t` joins ("don't" → `dont`); other clitics become
/// their own word ("Marcus's" → `marcus`, `'s`).
pub fn raw_words(text: &str) -> Vec<String> {
    let lower: String = text.nfc().collect::<String>().to_lowercase();
    let chars: Vec<char> = lower.chars().collect();
    let mut words = Vec::new();
    let mut current = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let next_alnum = next.is_some_and(char::is_alphanumeric);
        if c.is_alphanumeric() || c == '%' {
            current.push(c);
        } else if c == ','
            && current.chars().last().is_some_and(|p| p.is_ascii_digit())
            && next.is_some_and(|n| n.is_ascii_digit())
        {
            // 1,000: a thousands separator.
        } else if matches!(c, '.' | '-' | '_' | '/' | ':' | '@' | '+' | '#')
            && !current.is_empty()
            && next_alnum
        {
            current.push(c);
        } else if c == '\'' || c == '\u{2019}' {
            let after = chars.get(i + 2).copied();
            let clitic_end = !after.is_some_and(char::is_alphanumeric);
            if next == Some('t') && clitic_end && !current.is_empty() {
                // don't, can't, isn't: one word, expanded by the lexicon.
            } else if next_alnum && !current.is_empty() {
                words.push(std::mem::take(&mut current));
                current.push('\'');
            } else if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
        } else if !current.is_empty() {
            words.push(std::mem::take(&mut current));
        }
        i += 1;
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

/// A phrase of a word list: one or more `plain_words`.
pub type Phrase = Vec<String>;

/// The words of `text` as a reader types them, for matching phrases of a
/// word list: `raw_words` with each clitic joined to its word and the
/// apostrophe dropped ("don't" → `dont`, "you're" → `youre`, "it's" →
/// `its`), so a list may be written in plain English; names keep their
/// inner `.`, `-`, `_` and `/` (`pnpm-lock.yaml`), while `:`, `@`, `+` and
/// `#` part words (`test:unit` → `test`, `unit`).
pub fn plain_words(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for w in raw_words(text) {
        match (w.strip_prefix('\''), out.last_mut()) {
            (Some(clitic), Some(last)) => last.push_str(clitic),
            (Some(clitic), None) => out.push(clitic.to_owned()),
            (None, _) => {
                out.extend(w.split([':', '@', '+', '#']).filter(|p| !p.is_empty()).map(str::to_owned))
            }
        }
    }
    out
}

/// Whether `phrase` occurs in `words` starting at `at`.
pub fn phrase_at(words: &[String], at: usize, phrase: &[String]) -> bool {
    words.len() >= at + phrase.len() && words[at..at + phrase.len()] == *phrase
}

/// The first of `phrases` found in `words` starting at `at` (a list sorted
/// longest first gives the longest match).
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

    fn texts(text: &str) -> Vec<String> {
        words(text, &Lexicon::default()).into_iter().map(|w| w.text).collect()
    }

    #[test]
    fn identifiers_and_versions_stay_whole() {
        assert_eq!(texts("MAX_CONN=10"), ["max_conn", "10"]);
        assert_ne!(texts("MAX_CONN=10"), texts("MAXCONN=10"));
        assert_eq!(texts("Upgrade to Python 3.12."), ["upgrade", "to", "python", "3.12"]);
        assert_eq!(texts("see db-1.internal:5432/app"), ["see", "db-1.internal:5432/app"]);
    }

    #[test]
    fn contractions_spellings_and_units_fold() {
        assert_eq!(texts("Don't use the prod DB"), texts("do not use production database"));
        assert_eq!(texts("timeout is 30 seconds"), texts("timeout is 30s"));
        assert_eq!(texts("Marcus's team"), ["marcus", "'s", "team"]);
        assert_eq!(texts("1,000 requests"), ["1000", "requests"]);
    }

    #[test]
    fn word_order_and_kinds_are_kept() {
        let w = words("Use tabs, not spaces, on Fridays since v2.4.1", &Lexicon::default());
        let kinds: Vec<Kind> = w.iter().map(|w| w.kind).collect();
        assert_eq!(
            kinds,
            [
                Kind::Word,
                Kind::Word,
                Kind::Negation,
                Kind::Word,
                Kind::Word,
                Kind::Date,
                Kind::Word,
                Kind::Version
            ]
        );
        assert_ne!(texts("Use tabs, not spaces."), texts("Use spaces, not tabs."));
        let not_only = words("not only tabs", &Lexicon::default());
        assert_eq!(not_only[0].kind, Kind::Word);
    }

    #[test]
    fn plain_words_join_clitics_and_keep_names() {
        assert_eq!(
            plain_words("Don't run `npm ci`, you're using pnpm-lock.yaml!"),
            ["dont", "run", "npm", "ci", "youre", "using", "pnpm-lock.yaml"]
        );
        assert_eq!(plain_words("Marcus's 'quoted' it\u{2019}s"), ["marcuss", "quoted", "its"]);
        assert_eq!(plain_words("npm run test:unit"), ["npm", "run", "test", "unit"]);
    }
}
