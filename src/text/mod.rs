//! Text analysis shared by the dream, the judge and the resolvers: one
//! tokeniser (`words::raw_words`), one stemmer (`stem`) and one
//! [`Lexicon`]. On top of them: word sequences ([`Word`]), content words,
//! phrases of a word list ([`Phrase`]), documents as facts ([`Document`]),
//! and the certain-or-ask comparison of two texts ([`compare()`]).
//!
//! Everything here is a pure function of its input text and the
//! [`Lexicon`], the word lists the analysis reacts to (data, in
//! `lexicon.toml`, documented there).

pub(crate) mod compare;
pub(crate) mod content;
pub(crate) mod facts;
pub(crate) mod lexicon;
mod stem;
pub(crate) mod tokens;
pub(crate) mod words;

pub use compare::{DistinctProof, Doubt, Relation, Side, compare};
pub(crate) use content::{ContentWord, content_words, stated_target};
pub use facts::{Document, Fact};
pub use lexicon::{Lexicon, LexiconError, PatternLists};
pub(crate) use stem::stem;
pub use words::{Kind, Phrase, Word};
pub(crate) use words::{contains_any, match_at, plain_words, words};
